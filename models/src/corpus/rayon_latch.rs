//! rayon f17d745 (Qin et al., PLDI 2020, reproduced blocking bug `rayon-blocking-1`): a
//! latch whose waiter checks the flag outside the mutex and can miss the condvar notify.
//!
//! The latch is a flag (an atomic bool), a mutex that guards nothing and a condvar.
//! `wait` loops "while the flag is clear: lock the mutex, wait on the condvar"; `set`
//! stores the flag and notifies every waiter, without the mutex. When `set` runs after the
//! waiter has read the flag but before it waits on the condvar, the notify finds nobody
//! waiting, and the waiter then waits for a notify that already happened: it blocks for
//! ever.
//!
//! The fix makes the flag and the wait one critical section: `set` stores the flag under
//! the mutex, and `wait` re-checks the flag under the mutex before every wait.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::atomic::{AtomicBool, Ordering};
use harness::sync::{Cond, Mutex};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The rayon-latch models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/rayon-latch",
            pattern: "models/src/corpus/rayon_latch.rs",
            summary: "the latch's waiter reads the flag outside the mutex and misses set()'s notify: it waits forever",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/rayon-latch-fixed",
            pattern: "models/src/corpus/rayon_latch.rs",
            summary: "flag set and checked under the latch's mutex: the waiter always wakes",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// A latch: set once, waited on by anyone.
struct LockLatch {
    flag: AtomicBool,
    mutex: Mutex<()>,
    cond: Cond,
}

impl LockLatch {
    fn new() -> Self {
        LockLatch {
            flag: AtomicBool::new(false),
            mutex: Mutex::new(()),
            cond: Cond::new(),
        }
    }

    /// As shipped.
    async fn wait_buggy(&self) {
        while !self.flag.load(Ordering::SeqCst) {
            let guard = self.mutex.lock().await;
            let _guard = self.cond.wait(guard).await;
        }
    }

    /// As shipped.
    fn set_buggy(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.cond.broadcast();
    }

    /// Fixed: the check and the wait happen under the mutex.
    async fn wait_fixed(&self) {
        let mut guard = self.mutex.lock().await;
        while !self.flag.load(Ordering::SeqCst) {
            guard = self.cond.wait(guard).await;
        }
    }

    /// Fixed: the flag changes under the mutex.
    async fn set_fixed(&self) {
        let _guard = self.mutex.lock().await;
        self.flag.store(true, Ordering::SeqCst);
        self.cond.broadcast();
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let latch = Arc::new(LockLatch::new());
        let l = latch.clone();
        let job = task::spawn_named("job", async move {
            if fixed {
                l.set_fixed().await;
            } else {
                l.set_buggy();
            }
        });
        if fixed {
            latch.wait_fixed().await;
        } else {
            latch.wait_buggy().await;
        }
        job.await.unwrap();
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
