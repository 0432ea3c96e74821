//! SCTBench `wronglock` (from the concurrency-bug benchmarks of the ESBMC suite): one
//! shared counter, guarded by two different locks.
//!
//! Task A increments the counter under `data_lock` and checks, still under the lock, that
//! the counter is exactly one more than it read. The B tasks increment the same counter
//! under `this_lock`. A's lock does not exclude them, so an increment landing between A's
//! read and A's check breaks A's assertion (and two Bs can lose an update). SCTBench runs
//! one A and seven Bs (`wronglock_3`: three). In C the counter is a plain variable (a data
//! race); this port keeps it in an atomic whose increments are a separate load and store,
//! as compiled C code does, so the lost atomicity shows as A's assertion failing.
//!
//! The fix guards every access with the same lock.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::atomic::{AtomicI64, Ordering};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The wronglock models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/wronglock",
            pattern: "models/src/corpus/wronglock.rs",
            summary: "task A and tasks B increment one counter under two different locks: A sees a foreign increment",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/wronglock-fixed",
            pattern: "models/src/corpus/wronglock.rs",
            summary: "every increment under the same lock: A's check holds and no increment is lost",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The counter and the two locks of the C program.
#[derive(Default)]
struct Shared {
    data_value: AtomicI64,
    data_lock: Mutex<()>,
    this_lock: Mutex<()>,
}

impl Shared {
    /// `dataValue++` as the compiled C does it: a load, then a store.
    fn increment(&self) -> i64 {
        let x = self.data_value.load(Ordering::SeqCst);
        self.data_value.store(x + 1, Ordering::SeqCst);
        x
    }

    async fn func_a(&self) {
        let _g = self.data_lock.lock().await;
        let x = self.increment();
        let now = self.data_value.load(Ordering::SeqCst);
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
            shared.data_value.load(Ordering::SeqCst),
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
