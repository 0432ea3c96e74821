#!/usr/bin/env bash
# A long regression hunt over every model expected to pass, with the random and PCT
# schedulers in turn. Split it over CI machines with SHARD: machine I of N runs
#   SHARD=I/N scripts/hunt.sh 30m
# and the N machines hunt disjoint schedules. A failure is saved to models/regressions/
# (commit it: every `cargo test` replays it first) and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
time_per_run="${1:-10m}"
shard="${SHARD:-1/1}"
cargo build --release --bin leakproof
status=0
for model in $(./target/release/leakproof list | awk 'NR > 1 && $3 == "pass" { print $1 }'); do
    for scheduler in random pct; do
        echo "== hunt $model ($scheduler, $time_per_run, shard $shard)"
        ./target/release/leakproof hunt "$model" --time "$time_per_run" --shard "$shard" --scheduler "$scheduler" || status=$?
        if [ "$status" -ne 0 ]; then
            exit "$status"
        fi
    done
done
