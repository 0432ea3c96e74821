//! Models of `patterns/src/fan_in.rs`: the fan-in, the leaky "first response wins" and its
//! fix, and the merge of several producers closed from the right and the wrong side.

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
        Model {
            name: "fan-in/merge",
            pattern: "patterns/src/fan_in.rs",
            summary: "2 (loom) or 3 producers share one channel, closed once after all are done: every value once, each producer's in order",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: merge,
        },
        Model {
            name: "fan-in/merge-each-closes",
            pattern: "patterns/src/fan_in.rs",
            summary: "each producer closes the shared channel when it is done: the first to finish closes it under the others' sends",
            expect: Expect::Fail(FailureKind::ClosedSend),
            checkers: ALL_CHECKERS,
            run: merge_each_closes,
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

/// The producers' values: producer `p` sends `p*100 + 1 ..`; under the full size a quick
/// producer and slower ones, so that the quick one is done while the others still send.
fn producers(size: Size) -> Vec<Vec<u64>> {
    let lens: &[u64] = size.pick(&[1, 1], &[1, 4, 3]);
    lens.iter()
        .enumerate()
        .map(|(p, &len)| (1..=len).map(|i| p as u64 * 100 + i).collect())
        .collect()
}

/// Each producer's values arrive in the order it sent them.
fn assert_producer_order(all: &[u64], producers: usize) {
    for p in 0..producers as u64 {
        let mine: Vec<u64> = all.iter().copied().filter(|v| v / 100 == p).collect();
        let want: Vec<u64> = (1..=mine.len() as u64).map(|i| p * 100 + i).collect();
        assert_eq!(mine, want, "producer {p}'s values must arrive in its order");
    }
}

fn merge(check: Check, size: Size) -> Result<Stats, Failure> {
    let producers = producers(size);
    check.run(move || {
        let producers = producers.clone();
        async move {
            let mut want: Vec<u64> = producers.iter().flatten().copied().collect();
            let count = producers.len();
            let all = fan_in::merge(producers).await;
            assert_producer_order(&all, count);
            let mut got = all.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "every value exactly once");
        }
    })
}

fn merge_each_closes(check: Check, size: Size) -> Result<Stats, Failure> {
    let producers = producers(size);
    check.run(move || {
        let producers = producers.clone();
        async move {
            let count = producers.len();
            // What arrives is a prefix of each producer's values; the values lost to the
            // early close are the closed-send finding's business.
            let all = fan_in::merge_each_closes(producers).await;
            assert_producer_order(&all, count);
        }
    })
}
