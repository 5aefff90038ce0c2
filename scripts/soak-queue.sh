#!/usr/bin/env bash
# Runs the queue's kill -9 crash tests many times (embedded producer, piper queue serve under
# load, a consumer killed mid-lease). Usage: bash scripts/soak-queue.sh [ROUNDS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-30}"
for i in $(seq 1 "$rounds"); do
  node_modules/.bin/node --test test/queue/crash.test.ts > /tmp/piper-soak-queue.out 2>&1 || {
    cat /tmp/piper-soak-queue.out
    echo "soak: failed in round $i of $rounds" >&2
    exit 1
  }
  echo "round $i/$rounds ok"
done
