#!/usr/bin/env bash
# Runs the log's kill -9 crash test many times (each run kills the producer 4 times).
# Usage: bash scripts/soak-log.sh [ROUNDS]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-50}"
for i in $(seq 1 "$rounds"); do
  node_modules/.bin/node --test test/log/crash.test.ts > /tmp/piper-soak-log.out 2>&1 || {
    cat /tmp/piper-soak-log.out
    echo "soak: failed in round $i of $rounds" >&2
    exit 1
  }
  echo "round $i/$rounds ok"
done
