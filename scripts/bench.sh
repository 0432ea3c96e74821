#!/usr/bin/env bash
# leakproof's benchmarks next to their anchors (plain tokio, flume, shuttle, shuttle-tokio and loom
# used directly): builds and runs the `bench` binary in release mode, prints its markdown report
# and keeps it in scripts/bench-results.md. Works from any directory.
#
#   scripts/bench.sh                    # every section (channel, tokio, explore, find, scale, race, leakcheck, shrink): ~5 min
#   scripts/bench.sh channel explore    # some sections only
#   scripts/bench.sh --quick            # smoke run with small sizes (seconds)
#   scripts/bench.sh --reps 9 channel   # more repetitions per figure (median reported)
#
# Set BENCH_OUT to write the report elsewhere (e.g. BENCH_OUT=/dev/null for a smoke run that
# must not replace the kept results). Progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BENCH_OUT:-$root/scripts/bench-results.md}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cd "$root"
cargo build --release --bin bench
# Written to a temporary file first, so that a failed run leaves the kept results alone.
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
LEAKPROOF_BENCH_CMD="scripts/bench.sh${*:+ $*}" "$root/target/release/bench" "$@" | tee "$tmp"
cat "$tmp" >"$out"
