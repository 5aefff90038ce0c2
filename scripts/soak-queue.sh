#!/usr/bin/env bash
# Runs the queue's kill -9 crash tests many times (embedded producer, piper queue serve under
# load, a consumer killed mid-lease). Usage: bash scripts/soak-queue.sh [ROUNDS]   (default 30)
exec bash "$(dirname "$0")/soak.sh" test/queue/crash.test.ts "${1:-30}"
