#!/usr/bin/env bash
# Mutation check of the channels' happens-before edges (harness/src/chan/race.rs): drops each
# edge in turn (harness feature `mutants`, LEAKPROOF_MUTANT=<edge>) and runs the race suite,
# which must then fail. Prints, per edge, the tests that failed, or NO FAILING TEST.
set -uo pipefail
cd "$(dirname "$0")/.."
edges=(take_slot debt hand_over sent handed handed_rendezvous handed_buffered returned offered
       refilled send_completed receiver_waits received_buffered received_buffered_frees
       received_offer received_offer_acks received_handed close close_seen)
[ "$#" -gt 0 ] && edges=("$@")
cargo test -q --features harness/mutants --test suite --no-run 2>&1 | tail -3
for e in "${edges[@]}"; do
    out=$(LEAKPROOF_MUTANT="$e" cargo test -q --features harness/mutants --test suite race:: 2>&1)
    failed=$(printf '%s\n' "$out" | sed -n 's/^    \([a-z_:]*\)$/\1/p' | tr '\n' ' ')
    if [ -n "$failed" ]; then
        echo "edge $e: caught by $failed"
    else
        echo "edge $e: NO FAILING TEST"
    fi
done
