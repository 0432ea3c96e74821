//! Models of `patterns/src/fan_in.rs`: the fan-in, the leaky "first response wins" and its fix.

use harness::check::{Check, Failure, FailureKind, Stats};
use patterns::fan_in;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The fan-in models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "fan-in",
            pattern: "patterns/src/fan_in.rs",
            summary: "square 2 (loom) or 4 inputs in one task each; results come back in input order, no task outlives the call",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fan_in_squares,
        },
        Model {
            name: "fan-in/first-wins-leaky",
            pattern: "patterns/src/fan_in.rs",
            summary: "first response wins on a rendezvous channel: the losing replicas block forever on send",
            expect: Expect::Fail(FailureKind::Leak),
            checkers: ALL_CHECKERS,
            run: first_wins_leaky,
        },
        Model {
            name: "fan-in/first-wins",
            pattern: "patterns/src/fan_in.rs",
            summary: "first response wins with a buffer for every reply: the answer is one of the replies, nobody leaks",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: first_wins,
        },
    ]
}

fn fan_in_squares(check: Check, size: Size) -> Result<Stats, Failure> {
    let n = size.pick(2, 4);
    check.run(move || async move {
        let inputs: Vec<u64> = (1..=n).collect();
        let out = fan_in::square_all(inputs.clone()).await;
        let want: Vec<u64> = inputs.iter().map(|x| x * x).collect();
        assert_eq!(out, want, "fan-in must return every square, in input order");
    })
}

fn first_wins_leaky(check: Check, size: Size) -> Result<Stats, Failure> {
    let n = size.pick(2, 3);
    check.run(move || async move {
        let replicas: Vec<u64> = (1..=n).collect();
        let first = fan_in::first_response_leaky(replicas, |r| async move { r * 100 }).await;
        assert!(
            first % 100 == 0 && first / 100 <= n,
            "the answer must come from a replica"
        );
    })
}

fn first_wins(check: Check, size: Size) -> Result<Stats, Failure> {
    let n = size.pick(2, 3);
    check.run(move || async move {
        let replicas: Vec<u64> = (1..=n).collect();
        let first = fan_in::first_response(replicas, |r| async move { r * 100 }).await;
        assert!(
            first % 100 == 0 && first / 100 <= n,
            "the answer must come from a replica"
        );
    })
}
