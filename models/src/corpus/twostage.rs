//! SCTBench `twostage` (from the concurrency-bug benchmarks of the ESBMC suite): a value
//! published in two stages under two locks, and a reader that sees the first stage
//! without the second.
//!
//! The writer stores `data1` under lock 1, releases it, then stores `data2 = data1 + 1`
//! under lock 2. The reader, under lock 1, skips if `data1` is unset and otherwise reads
//! it; then, under lock 2, reads `data2` and asserts `data2 == data1 + 1`. Every access is
//! locked, so there is no data race, yet the pair is not atomic: a reader that runs
//! between the writer's two stages sees the new `data1` and the old `data2` (an atomicity
//! violation of depth 2).
//!
//! The fix holds lock 1 across both stages in the writer and across both reads in the
//! reader (always lock 1 before lock 2, so the nesting cannot deadlock).

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The twostage models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/twostage",
            pattern: "models/src/corpus/twostage.rs",
            summary: "a reader between the writer's two locked stages sees data1 set and data2 stale: assertion fails",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/twostage-fixed",
            pattern: "models/src/corpus/twostage.rs",
            summary: "lock 1 held across both stages and both reads: the reader sees both or neither",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The two stages, each under its own lock.
#[derive(Default)]
struct Stages {
    data1: Mutex<i64>,
    data2: Mutex<i64>,
}

impl Stages {
    async fn write(&self, v: i64, atomic: bool) {
        let mut d1 = self.data1.lock().await;
        *d1 = v;
        if atomic {
            *self.data2.lock().await = v + 1;
            return;
        }
        drop(d1);
        *self.data2.lock().await = v + 1;
    }

    async fn read(&self, atomic: bool) {
        let d1 = self.data1.lock().await;
        if *d1 == 0 {
            return;
        }
        let t1 = *d1;
        let held = if atomic { Some(d1) } else { None };
        let t2 = *self.data2.lock().await;
        drop(held);
        assert_eq!(t2, t1 + 1, "data2 is always data1 + 1 once data1 is set");
    }
}

fn scenario(check: Check, size: Size, atomic: bool) -> Result<Stats, Failure> {
    let writers = size.pick(1, 2);
    check.run(move || async move {
        let stages = Arc::new(Stages::default());
        let mut tasks = Vec::new();
        for w in 0..writers {
            let s = stages.clone();
            tasks.push(task::spawn_named(format!("writer-{w}"), async move {
                s.write(w + 1, atomic).await;
            }));
        }
        let s = stages.clone();
        tasks.push(task::spawn_named("reader", async move {
            s.read(atomic).await;
        }));
        for t in tasks {
            t.await.unwrap();
        }
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
