#!/usr/bin/env bash
# Runs one crash-test file many times, stopping at the first failure with its output.
# Usage: bash scripts/soak.sh TEST_FILE [ROUNDS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
file="$1"
rounds="${2:-30}"
out="/tmp/piper-soak-$(basename "$file" .ts).out"
for i in $(seq 1 "$rounds"); do
  node_modules/.bin/node --test "$file" > "$out" 2>&1 || {
    cat "$out"
    echo "soak: $file failed in round $i of $rounds" >&2
    exit 1
  }
  echo "round $i/$rounds ok"
done
