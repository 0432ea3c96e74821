#!/usr/bin/env bash
# Regression guard for leakproof's hot paths, meant for CI on shared, noisy machines: it never
# looks at a clock. Each workload of `bench count` (src/bin/bench/count.rs) runs twice
# under valgrind's callgrind, with two sizes; the difference of the two instruction counts over
# the difference of the sizes is the cost of one unit (a message, a round trip, an execution),
# the same from run to run whatever the load. Loom workloads are counted in executions to
# exhaust (deterministic). The figures are compared with scripts/perf-baseline.txt: a cost
# more than its margin above the baseline fails the guard.
#
#   scripts/perf-guard.sh             # check against the baseline (about a minute)
#   scripts/perf-guard.sh --update    # measure and rewrite the baseline (commit it)
#   scripts/perf-guard.sh --report    # measure and print, compare with nothing
#
# Without valgrind the guard says so and passes, unless LEAKPROOF_PERF_GUARD_REQUIRED=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
baseline="$root/scripts/perf-baseline.txt"
cd "$root"

update=false
report=false
case "${1:-}" in
  --update) update=true ;;
  --report) report=true ;;
  "") ;;
  *) echo "usage: scripts/perf-guard.sh [--update | --report]" >&2; exit 2 ;;
esac

if ! command -v valgrind >/dev/null 2>&1; then
  if [ "${LEAKPROOF_PERF_GUARD_REQUIRED:-0}" = 1 ]; then
    echo "perf-guard: valgrind is not installed (LEAKPROOF_PERF_GUARD_REQUIRED=1)" >&2
    exit 1
  fi
  echo "perf-guard: SKIPPED: valgrind is not installed (install it to guard the hot paths)" >&2
  exit 0
fi

# LEAKPROOF_BENCH_BIN: an already built `bench` binary to count (e.g. an older build, to
# compare); by default the current tree's, built here.
bench="${LEAKPROOF_BENCH_BIN:-}"
if [ -z "$bench" ]; then
  cargo build --release --quiet --bin bench
  bench="$root/target/release/bench"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Instructions callgrind counted inside `count::measured` for one run of WORKLOAD N.
count() {
  local out="$tmp/cg.$1.$2"
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*count::measured*' \
    --callgrind-out-file="$out" "$bench" count "$1" "$2" >/dev/null 2>"$tmp/log"
  local ir
  ir="$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")"
  if [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
    echo "perf-guard: callgrind counted nothing for $1 $2:" >&2
    tail -20 "$tmp/log" >&2
    exit 1
  fi
  echo "$ir"
}

# Instructions per unit of WORKLOAD, from sizes N1 < N2.
per_unit() {
  local a b
  a="$(count "$1" "$2")"
  b="$(count "$1" "$3")"
  echo $(( (b - a) / ($3 - $2) ))
}

# name, small size, large size: sizes keep the whole guard near a minute.
measures=(
  "chan-1to1 2000 12000"
  "chan-4to1 2000 12000"
  "chan-pingpong 1000 6000"
  "tokio-1to1 2000 12000"
  "tokio-pingpong 1000 6000"
  "tracked-1to1 2000 12000"
  "tracked-pingpong 1000 6000"
  "shuttle-exec 20 120"
  "shuttle-direct 20 120"
)

declare -A got
for m in "${measures[@]}"; do
  set -- $m
  got[$1]="$(per_unit "$1" "$2" "$3")"
  echo "perf-guard: $1: ${got[$1]} instructions per unit" >&2
done
loom="$("$bench" count loom-execs 2 1)"
got[loom-2x1-execs]="$(sed -n 's/^leakproof //p' <<<"$loom")"
echo "perf-guard: loom, 2 producers × 1 msg, unbounded: ${got[loom-2x1-execs]} executions ($(sed -n 's/^loom-mpsc //p' <<<"$loom") on loom::sync::mpsc)" >&2

if $report; then
  exit 0
fi
if $update; then
  {
    echo "# scripts/perf-guard.sh baseline: instructions per unit under callgrind (loom: executions)."
    echo "# name value margin-percent ('-': an anchor, shown but not gated); regenerate with"
    echo "# scripts/perf-guard.sh --update and commit."
    for m in "${measures[@]}"; do
      set -- $m
      # Anchors (tokio, shuttle used directly) are counted for comparison, not gated.
      case "$1" in tokio-*|shuttle-direct) echo "$1 ${got[$1]} -" ;; *) echo "$1 ${got[$1]} 15" ;; esac
    done
    echo "loom-2x1-execs ${got[loom-2x1-execs]} 0"
  } >"$baseline"
  echo "perf-guard: baseline written to scripts/perf-baseline.txt" >&2
  exit 0
fi

[ -f "$baseline" ] || { echo "perf-guard: no baseline; run scripts/perf-guard.sh --update" >&2; exit 1; }
failed=0
while read -r name base margin; do
  case "$name" in ''|'#'*) continue ;; esac
  now="${got[$name]:-}"
  if [ -z "$now" ]; then
    echo "perf-guard: FAIL: $name is in the baseline but was not measured" >&2
    failed=1
    continue
  fi
  if [ "$margin" = "-" ]; then
    echo "perf-guard: info: $name (an anchor) costs $now (when the baseline was taken: $base)" >&2
    continue
  fi
  limit=$(( base + base * margin / 100 ))
  if [ "$now" -gt "$limit" ]; then
    echo "perf-guard: FAIL: $name costs $now, baseline $base (+$margin% allowed: $limit)" >&2
    failed=1
  elif [ "$now" -lt $(( base - base * 30 / 100 )) ]; then
    echo "perf-guard: ok: $name costs $now, well under its baseline $base: consider --update" >&2
  else
    echo "perf-guard: ok: $name costs $now (baseline $base, limit $limit)" >&2
  fi
done <"$baseline"
exit $failed
