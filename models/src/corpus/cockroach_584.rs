//! CockroachDB #584 (GoBench GoKer `blocking/cockroach/584`): a lock taken in a loop and
//! not released on the `break` path, so the next lock of the same mutex never returns.
//!
//! The gossip's `bootstrap` and `manage` loops each lock the gossip mutex, check whether
//! the gossip is closed and, if so, break out of the loop. The break skipped the unlock
//! (Go's `defer` was not an option inside the loop). One task runs `bootstrap` then
//! `manage` during shutdown: `manage` locks a mutex its own task still holds. In Rust the
//! same mistake is a guard kept alive past the loop, here in a variable declared outside
//! it.
//!
//! The fix releases the lock on every path out of the loop (the guard's scope ends inside
//! the loop body).

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::{Mutex, MutexGuard};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The cockroach-584 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/cockroach-584",
            pattern: "models/src/corpus/cockroach_584.rs",
            summary: "bootstrap breaks out of its loop with the gossip mutex still held; manage locks it again",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: ALL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/cockroach-584-fixed",
            pattern: "models/src/corpus/cockroach_584.rs",
            summary: "the mutex is released on the break path too: shutdown completes",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// How many times the loops poll before giving up.
const RETRIES: usize = 3;

/// The gossip node's state.
struct Gossip {
    closed: Mutex<bool>,
}

impl Gossip {
    /// As shipped: on `closed` the loop breaks with the guard parked in `held`, which
    /// lives until the caller is done with it.
    async fn bootstrap_buggy(&self) -> Option<MutexGuard<'_, bool>> {
        let mut held = None;
        for _attempt in 0..RETRIES {
            let closed = self.closed.lock().await;
            if *closed {
                held = Some(closed);
                break;
            }
            drop(closed);
            task::yield_now().await;
        }
        held
    }

    /// Fixed: the guard ends with the loop body on every path.
    async fn bootstrap_fixed(&self) {
        for _attempt in 0..RETRIES {
            let closed = self.closed.lock().await;
            if *closed {
                break;
            }
            drop(closed);
            task::yield_now().await;
        }
    }

    /// The manage loop: the same shape, correct.
    async fn manage(&self) {
        for _attempt in 0..RETRIES {
            let closed = self.closed.lock().await;
            if *closed {
                break;
            }
            drop(closed);
            task::yield_now().await;
        }
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let gossip = Arc::new(Gossip {
            closed: Mutex::new(true),
        });
        let g = gossip.clone();
        let node = task::spawn_named("gossip", async move {
            if fixed {
                g.bootstrap_fixed().await;
                g.manage().await;
            } else {
                let _still_locked = g.bootstrap_buggy().await;
                g.manage().await;
            }
        });
        node.await.unwrap();
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
