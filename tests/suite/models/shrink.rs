//! Shrinking failing schedules (`harness/src/check/shrink.rs`): a bug that needs no
//! preemption shrinks to none, the PCT figure's deadlock and atomicity violation shrink to
//! the one they need, the kind and the stuck operations are kept, and the shrunk token
//! replays to the same failure; under shuttle's random scheduler and PCT alike.

use harness::check::{Check, Checker, Failure, FailureKind};
use models::{Model, Size};

fn model(name: &str) -> Model {
    models::find(name).unwrap_or_else(|| panic!("no model {name}"))
}

fn explore(checker: Checker, model: &Model, seed: u64) -> Check {
    let check = Check::new(model.name).seed(seed).record(true);
    match checker {
        Checker::Pct => check.pct(200, 3),
        _ => check.shuttle(200),
    }
}

/// The failure `checker` finds from `seed`, as found and as shrunk.
fn found_and_shrunk(checker: Checker, model: &Model, seed: u64) -> (Failure, Failure) {
    let as_found = (model.run)(explore(checker, model, seed).shrink(false), Size::Full)
        .expect_err("the buggy model fails");
    let shrunk =
        (model.run)(explore(checker, model, seed), Size::Full).expect_err("the buggy model fails");
    (as_found, shrunk)
}

/// Replays a token without shrinking it.
fn replayed(model: &Model, token: &str) -> Failure {
    (model.run)(
        Check::new(model.name).replay(token).shrink(false),
        Size::Full,
    )
    .expect_err("the token replays to a failure")
}

/// Seeds whose failures every `shrinks_to` shrinks, under each checker: all of them must end
/// at exactly the expected preemptions (none may stop above it), so that a seed the search
/// cannot bring down is seen.
const SEEDS: u64 = 12;

/// Shrinks the failures of seeds `1..=SEEDS`; checks that every one shrinks to exactly `to`
/// preemptions, keeps the failure and replays to it, and that at least one had more than `to`
/// preemptions as found.
fn shrinks_to(name: &str, kind: FailureKind, to: usize) {
    let m = model(name);
    for checker in [Checker::Shuttle, Checker::Pct] {
        let mut shrunk_some = false;
        for seed in 1..=SEEDS {
            let (as_found, shrunk) = found_and_shrunk(checker, &m, seed);
            assert_eq!(as_found.kind, kind, "{}", as_found.report);
            assert!(as_found.shrunk.is_none(), "shrink(false) shrinks nothing");
            let s = shrunk.shrunk.clone().unwrap_or_else(|| {
                panic!("{name} under {checker}: not shrunk:\n{}", shrunk.report)
            });
            assert!(
                !s.bounded,
                "{name} under {checker} seed {seed}: the default bounds were hit:\n{}",
                shrunk.report
            );
            assert_eq!(
                s.to,
                to,
                "{name} under {checker} seed {seed}: {}\n{}",
                s.line(),
                shrunk.report
            );
            assert!(s.from >= s.to && s.switches_to <= s.switches_from.max(s.switches_to));
            // The same failure: kind, and for leaks and deadlocks the stuck operations.
            assert_eq!(shrunk.kind, kind);
            assert!(
                shrunk.same_as(&as_found),
                "as found:\n{}\nshrunk:\n{}",
                as_found.report,
                shrunk.report
            );
            assert_eq!(shrunk.checker, checker);
            assert_eq!(shrunk.execution, as_found.execution);
            assert!(shrunk.report.contains(&format!("shrunk:  {}", s.line())));
            // The token and the report show the shrunk schedule...
            let token = shrunk
                .replay
                .clone()
                .expect("a shuttle failure has a token");
            let prefix = if checker == Checker::Pct {
                "lp1:pct:"
            } else {
                "lp1:shuttle:"
            };
            assert!(token.starts_with(prefix), "{token}");
            assert!(shrunk.report.contains(&token));
            // ...which replays to the same failure.
            let again = replayed(&m, &token);
            assert!(again.same_as(&as_found), "{}", again.report);
            if s.from > to {
                assert_ne!(shrunk.replay, as_found.replay);
                shrunk_some = true;
            }
        }
        assert!(
            shrunk_some,
            "{name} under {checker}: no seed in 1..={SEEDS} found a schedule with more than {to} preemption(s)"
        );
    }
}

#[test]
fn the_first_response_leak_needs_no_preemption_and_shrinks_to_none() {
    shrinks_to("fan-in/first-wins-leaky", FailureKind::Leak, 0);
}

#[test]
fn the_pct_figure_deadlock_shrinks_to_the_one_preemption_it_needs() {
    shrinks_to("corpus/pct-deadlock", FailureKind::Deadlock, 1);
}

#[test]
fn the_pct_figure_atomicity_violation_shrinks_to_the_one_preemption_it_needs() {
    shrinks_to("corpus/pct-atomicity", FailureKind::Panic, 1);
}

#[test]
fn a_replayed_token_is_shrunk_only_when_asked_and_loom_tokens_say_why_not() {
    let m = model("corpus/pct-deadlock");
    let (as_found, _) = found_and_shrunk(Checker::Pct, &m, 1);
    let token = as_found.replay.clone().unwrap();
    let plain = (m.run)(Check::new(m.name).replay(&token), Size::Full).unwrap_err();
    assert!(plain.shrunk.is_none());
    assert!(!plain.report.contains("shrunk:"), "{}", plain.report);
    let shrunk = (m.run)(Check::new(m.name).replay(&token).shrink(true), Size::Full).unwrap_err();
    assert_eq!(shrunk.checker, Checker::Replay);
    assert_eq!(
        shrunk.shrunk.as_ref().map(|s| s.to),
        Some(1),
        "{}",
        shrunk.report
    );
    assert!(shrunk.same_as(&as_found));
    assert!(shrunk.replay.as_deref().unwrap().starts_with("lp1:pct:"));
    // loom: the failing path stays loom's own, and the report says why.
    let loom = (m.run)(Check::new(m.name).loom(), Size::Loom).unwrap_err();
    assert!(loom.shrunk.is_none());
    let loom_token = loom.replay.clone().unwrap();
    let replayed = (m.run)(
        Check::new(m.name).replay(&loom_token).shrink(true),
        Size::Loom,
    )
    .unwrap_err();
    assert!(replayed.shrunk.is_none());
    assert!(
        replayed.report.contains("shrunk:  not shrunk: loom"),
        "{}",
        replayed.report
    );
}

#[test]
fn a_passing_model_is_never_turned_into_a_failure() {
    let fixed = model("corpus/pct-deadlock-fixed");
    for checker in [Checker::Shuttle, Checker::Pct] {
        assert!((fixed.run)(explore(checker, &fixed, 1), Size::Full).is_ok());
    }
}
