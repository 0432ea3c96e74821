//! TiKV #539 (Qin et al., PLDI 2020, reproduced blocking bug `tikv-blocking-3`): an event
//! whose waiters decide "nobody is left to wake me" with `Arc::strong_count`.
//!
//! An `Event` is a value slot and a condvar behind an `Arc`, one clone per party. A
//! waiter loops until the slot is set (or cleared); before each wait it checks
//! `Arc::strong_count(&inner) == 1`, meaning "I am the last handle, nobody can ever wake
//! me", and gives up. Closing a handle (tikv's `Drop`) locks the slot, notifies every
//! waiter and unlocks; the `Arc` itself is released only afterwards. A waiter woken by
//! that notify can run its check before the count drops (or while any other clone of the
//! `Arc` is alive, as in the study's reproduction, which keeps one across the close): it
//! sees two references, waits again, and nobody is left to notify it.
//!
//! The fix counts the parties in the state the mutex guards: closing a handle decrements
//! the count under the mutex before it notifies, so a woken waiter always sees it.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::{Cond, Mutex};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The tikv-539 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/tikv-539",
            pattern: "models/src/corpus/tikv_539.rs",
            summary: "a woken waiter reads Arc::strong_count before the closing handle's Arc is gone and waits again, forever",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/tikv-539-fixed",
            pattern: "models/src/corpus/tikv_539.rs",
            summary: "handles are counted under the event's mutex: the waiter sees the close and returns",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// What the event's mutex guards: the value and, in the fix, the open handles.
struct Slot {
    value: Option<u32>,
    handles: usize,
}

/// One party's handle on a shared event.
struct Event {
    inner: Arc<(Mutex<Slot>, Cond)>,
    fixed: bool,
}

impl Event {
    fn new(fixed: bool) -> Event {
        Event {
            inner: Arc::new((
                Mutex::new(Slot {
                    value: None,
                    handles: 1,
                }),
                Cond::new(),
            )),
            fixed,
        }
    }

    async fn handle(&self) -> Event {
        self.inner.0.lock().await.handles += 1;
        Event {
            inner: self.inner.clone(),
            fixed: self.fixed,
        }
    }

    async fn set(&self, v: u32) {
        self.inner.0.lock().await.value = Some(v);
        self.inner.1.broadcast();
    }

    /// Waits until the value is set (`want_set`) or cleared; false when no other party is
    /// left to change it.
    async fn wait(&self, want_set: bool) -> bool {
        let (mutex, cond) = &*self.inner;
        let mut slot = mutex.lock().await;
        while slot.value.is_some() != want_set {
            let alone = if self.fixed {
                slot.handles == 1
            } else {
                Arc::strong_count(&self.inner) == 1
            };
            if alone {
                return false;
            }
            slot = cond.wait(slot).await;
        }
        true
    }

    /// Closes this handle (tikv's `Drop`): wakes the waiters; the `Arc` goes when `self` does.
    async fn close(self) {
        let mut slot = self.inner.0.lock().await;
        if self.fixed {
            slot.handles -= 1;
        }
        self.inner.1.broadcast();
        drop(slot);
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let e2 = Event::new(fixed);
        let e1 = e2.handle().await;
        let worker = task::spawn_named("waiter", async move {
            e1.set(2).await;
            // Waits for someone to clear the value; once every other party is gone, gives up.
            let cleared = e1.wait(false).await;
            assert!(!cleared, "nobody clears the value");
        });
        assert!(e2.wait(true).await);
        // As in the study's reproduction: another reference to the shared state outlives
        // the close for a moment.
        let pending = e2.inner.clone();
        e2.close().await;
        task::yield_now().await;
        drop(pending);
        worker.await.unwrap();
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
