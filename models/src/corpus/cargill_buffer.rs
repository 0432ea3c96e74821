//! Cargill's bounded buffer (Tom Cargill, "Java gotcha", 1990s; the example behind
//! "never `signal` when waiters wait for different conditions"): one writer, two readers,
//! one condition variable for both "not full" and "not empty", and `signal`.
//!
//! Readers wait while the buffer is empty, the writer while it is full, all on the same
//! `Cond`, and each `put`/`take` signals one waiter. A signal meant for the writer ("there
//! is room now") can wake a reader instead; the reader finds the buffer empty and waits
//! again, and the writer is never woken. With both readers waiting first, the writer's
//! first put wakes one reader, the writer then waits on the full buffer, the woken reader
//! takes the item and signals: the longest waiter is the other reader, who re-waits. All
//! three tasks now wait on the one condvar.
//!
//! The fix wakes everybody (`broadcast`), so the task that can proceed always learns of the
//! change. (Two condvars, one per condition, fix it too.)

use std::collections::VecDeque;
use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::{Cond, Mutex};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The Cargill bounded-buffer models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/cargill-buffer",
            pattern: "models/src/corpus/cargill_buffer.rs",
            summary: "two readers and a writer share one Cond with signal: a wake-up meant for the writer goes to a reader",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/cargill-buffer-fixed",
            pattern: "models/src/corpus/cargill_buffer.rs",
            summary: "the same buffer with broadcast: every item is read, nobody waits forever",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// A buffer of `capacity` items guarded by one mutex and one condvar.
struct BoundedBuffer {
    items: Mutex<VecDeque<u32>>,
    changed: Cond,
    capacity: usize,
    broadcast: bool,
}

impl BoundedBuffer {
    fn notify(&self) {
        if self.broadcast {
            self.changed.broadcast();
        } else {
            self.changed.signal();
        }
    }

    async fn put(&self, v: u32) {
        let mut items = self.items.lock().await;
        while items.len() == self.capacity {
            items = self.changed.wait(items).await;
        }
        items.push_back(v);
        self.notify();
    }

    async fn take(&self) -> u32 {
        let mut items = self.items.lock().await;
        loop {
            if let Some(v) = items.pop_front() {
                self.notify();
                return v;
            }
            items = self.changed.wait(items).await;
        }
    }
}

fn scenario(check: Check, size: Size, broadcast: bool) -> Result<Stats, Failure> {
    let per_reader = size.pick(1, 2);
    check.run(move || async move {
        let buf = Arc::new(BoundedBuffer {
            items: Mutex::new(VecDeque::new()),
            changed: Cond::new(),
            capacity: 1,
            broadcast,
        });
        let mut readers = Vec::new();
        for r in 0..2 {
            let buf = buf.clone();
            readers.push(task::spawn_named(format!("reader-{r}"), async move {
                let mut sum = 0;
                for _ in 0..per_reader {
                    sum += buf.take().await;
                }
                sum
            }));
        }
        let b = buf.clone();
        let writer = task::spawn_named("writer", async move {
            for v in 1..=2 * per_reader {
                b.put(v).await;
            }
        });
        writer.await.unwrap();
        let mut total = 0;
        for r in readers {
            total += r.await.unwrap();
        }
        let n = 2 * per_reader;
        assert_eq!(total, n * (n + 1) / 2, "every item read exactly once");
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
