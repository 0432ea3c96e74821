#!/usr/bin/env bash
# leakproof from outside: builds scripts/user-crate (its own workspace, depending on leakproof
# by path, with its own `tracing` subscriber installed) and shows, failing loudly otherwise:
#   1. its leaky check fails with a leak, and the schedule is saved to leakproof-regressions/;
#   2. the next run replays the saved schedule first, before any checker;
#   3. with LEAKPROOF_SAVE_REGRESSIONS=0 (a read-only CI run) nothing is written;
#   4. its correct check passes every checker, its subscriber seeing the checked code;
#   5. a short LEAKPROOF_HUNT (sharded) over the correct check: no false alarm;
#   6. a short LEAKPROOF_HUNT over the leaky check finds the leak and saves it;
#   7. two checks with one name are an error: in one test, and in two tests (test threads);
#   8. README's first check is tests/first_check.rs byte for byte, and it passes;
#   9. under cargo-nextest (a process per test), when it is installed: the leak found, saved
#      and replayed first; two tests claiming one check name (in two processes) an error; a
#      LEAKPROOF_HUNT budget shared by the binary's processes.
# Cheap to build: the crate gets leakproof's Cargo.lock (the same dependency versions) and
# shares target/ with the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
crate=$root/scripts/user-crate
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
# This repository's .cargo/config.toml turns saved schedules off for its own test suite (it is
# full of deliberately failing checks); a user's crate has them on, as here.
export LEAKPROOF_SAVE_REGRESSIONS=1 LEAKPROOF_REPLAY_REGRESSIONS=1
unset LEAKPROOF_HUNT LEAKPROOF_SHARD

cp "$root/Cargo.lock" "$crate/Cargo.lock"
cd "$crate"
regs=leakproof-regressions
file=$regs/squares__leaky.txt
rm -rf "$regs"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
    echo "user-crate.sh: FAILED: $*" >&2
    echo "---- output of the last run ----" >&2
    cat "$out" >&2
    exit 1
}
expect() { grep -qE -- "$1" "$out" || fail "expected /$1/ in the output"; }
refuse() { ! grep -qE -- "$1" "$out" || fail "did not expect /$1/ in the output"; }
tokens() { grep -c '^lp1:' "$1" 2>/dev/null || true; }
# cargo test, expecting it to pass (0) or fail (101, a test failed).
run() {
    local want=$1
    shift
    echo "== cargo test --test checks $*"
    set +e
    cargo test --offline --test checks "$@" >"$out" 2>&1
    local rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "exit code $rc, expected $want"
}
# cargo nextest run, expecting it to pass (0) or fail (100, a test failed).
nextest() {
    local want=$1
    shift
    echo "== cargo nextest run --test checks $*"
    set +e
    CARGO_NET_OFFLINE=true cargo nextest run --test checks --no-fail-fast "$@" >"$out" 2>&1
    local rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "exit code $rc, expected $want"
}

# README's first check is the file this crate compiles.
awk '/<!-- This block is scripts\/user-crate\/tests\/first_check.rs/ { on = 1; next }
     on && /^```rust$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$root/README.md" >"$out"
[ -s "$out" ] || fail "README has no block marked as tests/first_check.rs"
diff -u "$out" tests/first_check.rs >&2 || fail "README's first check differs from tests/first_check.rs"
echo "== cargo test --test first_check"
cargo test --offline --test first_check >"$out" 2>&1 || fail "README's first check fails"
expect 'test squares_leak_free \.\.\. ok'
echo "   README's first check is tests/first_check.rs, and it passes"

run 101 -- squares_leaky
expect 'goroutine leak in check "squares/leaky"'
expect '"monitor"'
expect "saved to $file"
expect 'our own subscriber saw [1-9][0-9]* events of our code inside the check'
[ "$(tokens "$file")" = 1 ] || fail "$file should hold one token"
echo "   the leak is found and saved: $(grep '^lp1:' "$file")"

run 101 -- squares_leaky
expect "the saved schedule $file:2 \(leak\) fails again, replayed before any checker ran"
expect 'our own subscriber saw [1-9][0-9]* events of our code inside the check'
[ "$(tokens "$file")" = 1 ] || fail "the replayed token must not be saved twice"
echo "   the saved schedule is replayed first"

rm -rf "$regs"
LEAKPROOF_SAVE_REGRESSIONS=0 run 101 -- squares_leaky
expect 'goroutine leak in check "squares/leaky"'
refuse 'saved to'
[ ! -e "$regs" ] || fail "LEAKPROOF_SAVE_REGRESSIONS=0 must write nothing"
echo "   LEAKPROOF_SAVE_REGRESSIONS=0 writes nothing"

run 0 -- squares_correct --nocapture
expect 'our own subscriber saw [1-9][0-9]* events of our code inside the check'
expect 'squares/correct passed [1-9][0-9]* executions'
echo "   the correct check passes every checker, with our subscriber seeing inside it"

LEAKPROOF_HUNT=12s LEAKPROOF_SHARD=2/4 LEAKPROOF_HUNT_PROGRESS_SECS=4 \
    run 0 -- squares_correct
expect 'leakproof hunt: 12.0s for this test binary, shard 2/4, 1 test\(s\) on 1 thread\(s\)'
expect 'leakproof hunt: [0-9]+ executions .*check\(s\) hunting'
expect 'leakproof hunt: check "squares/correct": [1-9][0-9]* random \+ [1-9][0-9]* pct executions .*shard 2/4\): no failure'
[ ! -e "$regs/squares__correct.txt" ] || fail "a passing hunt must save nothing"
grep -E '^leakproof hunt' "$out" | sed 's/^/   /'
echo "   LEAKPROOF_HUNT over the correct check: no false alarm"

rm -rf "$regs"
LEAKPROOF_HUNT=5s run 101 -- squares_leaky
expect 'FOUND a leak'
expect 'found by LEAKPROOF_HUNT in batch 1'
expect "saved to $file"
[ "$(tokens "$file")" = 1 ] || fail "the hunt's find should be saved"
echo "   LEAKPROOF_HUNT over the leaky check finds the leak and saves it"

run 0 -- two_checks_with_one_name_are_an_error
expect 'test two_checks_with_one_name_are_an_error - should panic \.\.\. ok'
echo "   two checks with one name are an error"

run 101 -- name_clash --ignored
expect 'two checks share the regressions file leakproof-regressions/squares__clash.txt'
expect '\(test name_clash_a, Check::new at tests/checks.rs:[0-9]+:[0-9]+\)'
expect '\(test name_clash_b, Check::new at tests/checks.rs:[0-9]+:[0-9]+\)'
expect '1 passed; 1 failed'
echo "   two tests running one check name: the second fails, naming both tests"

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "   (cargo-nextest is not installed: its part is skipped; cargo install cargo-nextest runs it)"
    rm -rf "$regs"
    echo "user-crate.sh: all good (without the cargo-nextest part)"
    exit 0
fi
echo "-- under $(cargo nextest --version 2>/dev/null | head -1): a process per test"
rm -rf "$regs"
nextest 100 squares_leaky
expect 'goroutine leak in check "squares/leaky"'
expect "saved to $file"
[ "$(tokens "$file")" = 1 ] || fail "$file should hold one token"
nextest 100 squares_leaky
expect "the saved schedule $file:2 \(leak\) fails again, replayed before any checker ran"
[ "$(tokens "$file")" = 1 ] || fail "the replayed token must not be saved twice"
echo "   the leak is found and saved, and replayed first by the next run"

nextest 100 --run-ignored only name_clash
expect 'two checks share the regressions file leakproof-regressions/squares__clash.txt'
expect '\(test name_clash_a, Check::new at tests/checks.rs:[0-9]+:[0-9]+\)'
expect '\(test name_clash_b, Check::new at tests/checks.rs:[0-9]+:[0-9]+\)'
expect 'made by another process of test binary checks-'
expect '2 tests run: 1 passed, 1 failed'
echo "   two tests (two processes) running one check name: the second fails, naming both tests"

# --no-capture runs the tests one at a time (NEXTEST_TEST_THREADS=1) and shows their stderr:
# the second process hunts in what the first left of the budget.
LEAKPROOF_HUNT=6s LEAKPROOF_HUNT_PROGRESS_SECS=60 nextest 0 --no-capture squares_correct squares_empty
expect 'leakproof hunt: 6.0s for this test binary, shared by its processes in nextest run [0-9a-f]+ \(0\.[0-9]s used before this one\), shard 1/1, [0-9]+ test\(s\) in the binary on 1 nextest thread\(s\)'
expect 'leakproof hunt: 6.0s for this test binary, shared by its processes in nextest run [0-9a-f]+ \([1-9][0-9.]*s used before this one\)'
expect 'leakproof hunt: check "squares/correct": .*: no failure; this process so far'
expect 'leakproof hunt: check "squares/empty": .*: no failure; this process so far'
[ ! -e "$regs/squares__correct.txt" ] || fail "a passing hunt must save nothing"
grep -E '^leakproof hunt' "$out" | sed 's/^/   /'
echo "   LEAKPROOF_HUNT under nextest: one budget for the binary's processes, no false alarm"

rm -rf "$regs"
echo "user-crate.sh: all good"
