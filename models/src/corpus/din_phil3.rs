//! SCTBench `din_phil3` (from the ESBMC concurrent-software benchmarks): three dining
//! philosophers, each taking the fork on its right, then the fork on its left.
//!
//! Philosopher `i` sits between forks `i` and `(i+1) % 3` and locks `(i+1) % 3` first. When
//! all three have their first fork, each waits for the fork its neighbour holds: a cycle of
//! three tasks, each holding one mutex and waiting for the next (a bug of depth 3: three
//! first locks before any second one). The C benchmark asserts when all three have
//! eaten; this port keeps its lock order and reports the deadlock that order permits.
//!
//! The fix breaks the cycle with a global order: every philosopher takes the lower-numbered
//! of its two forks first.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The din-phil3 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/din-phil3",
            pattern: "models/src/corpus/din_phil3.rs",
            summary:
                "three philosophers each lock their right fork, then their left: a cycle of three",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/din-phil3-fixed",
            pattern: "models/src/corpus/din_phil3.rs",
            summary: "each philosopher locks the lower-numbered fork first: all three eat",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

const N: usize = 3;

fn scenario(check: Check, ordered: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let forks: Arc<Vec<Mutex<u32>>> = Arc::new((0..N).map(|_| Mutex::new(0)).collect());
        let fed = Arc::new(Mutex::new(0usize));
        let mut philosophers = Vec::new();
        for id in 0..N {
            let (forks, fed) = (forks.clone(), fed.clone());
            philosophers.push(task::spawn_named(format!("philosopher-{id}"), async move {
                let (left, right) = (id, (id + 1) % N);
                let (first, second) = if ordered {
                    (left.min(right), left.max(right))
                } else {
                    (right, left)
                };
                let mut a = forks[first].lock().await;
                let mut b = forks[second].lock().await;
                *a += 1;
                *b += 1;
                drop(b);
                drop(a);
                *fed.lock().await += 1;
            }));
        }
        for p in philosophers {
            p.await.unwrap();
        }
        assert_eq!(*fed.lock().await, N, "every philosopher ate");
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
