#!/usr/bin/env bash
# Runs the log's kill -9 crash test many times (each run kills the producer 4 times).
# Usage: bash scripts/soak-log.sh [ROUNDS]   (default 50)
exec bash "$(dirname "$0")/soak.sh" test/log/crash.test.ts "${1:-50}"
