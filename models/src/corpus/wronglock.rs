//! SCTBench `wronglock` (from the concurrency-bug benchmarks of the ESBMC suite): one
//! shared counter, guarded by two different locks.
//!
//! Task A increments the counter under `data_lock` and checks, still under the lock, that
//! the counter is exactly one more than it read. The B tasks increment the same counter
//! under `this_lock`. A's lock does not exclude them, so an increment landing between A's
//! read and A's check breaks A's assertion (and two Bs can lose an update). SCTBench runs
//! one A and seven Bs (`wronglock_3`: three). In C the counter is a plain variable; the port
//! keeps it in a `RaceCell`, and A's accesses race with every B's: the two locks order
//! nothing between them.
//!
//! The fix guards every access with the same lock.

use std::sync::Arc;

use harness::cell::RaceCell;
use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The wronglock models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/wronglock",
            pattern: "models/src/corpus/wronglock.rs",
            summary:
                "task A and tasks B increment one counter under two different locks: a data race",
            expect: Expect::Fail(FailureKind::Race),
            // Happens-before does not depend on the schedule: every run, tokio's too, finds it.
            checkers: ALL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/wronglock-fixed",
            pattern: "models/src/corpus/wronglock.rs",
            summary:
                "every increment under the same lock: A's check holds and no increment is lost",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The counter and the two locks of the C program.
#[derive(Default)]
struct Shared {
    data_value: RaceCell<i64>,
    data_lock: Mutex<()>,
    this_lock: Mutex<()>,
}

impl Shared {
    /// `dataValue++`: a read, then a write.
    fn increment(&self) -> i64 {
        let x = self.data_value.get();
        self.data_value.set(x + 1);
        x
    }

    async fn func_a(&self) {
        let _g = self.data_lock.lock().await;
        let x = self.increment();
        let now = self.data_value.get();
        assert_eq!(
            now,
            x + 1,
            "nobody else may change the counter under data_lock"
        );
    }

    async fn func_b(&self, right_lock: bool) {
        let _g = if right_lock {
            self.data_lock.lock().await
        } else {
            self.this_lock.lock().await
        };
        self.increment();
    }
}

fn scenario(check: Check, size: Size, right_lock: bool) -> Result<Stats, Failure> {
    let bs = size.pick(2, 7);
    check.run(move || async move {
        let shared = Arc::new(Shared::default());
        let mut tasks = Vec::new();
        let s = shared.clone();
        tasks.push(task::spawn_named("func-a", async move { s.func_a().await }));
        for i in 0..bs {
            let s = shared.clone();
            tasks.push(task::spawn_named(format!("func-b-{i}"), async move {
                s.func_b(right_lock).await
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            shared.data_value.get(),
            bs as i64 + 1,
            "every increment counted"
        );
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
