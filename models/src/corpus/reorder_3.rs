//! SCTBench `reorder_3` (from the concurrency-bug benchmarks of the ESBMC suite): setters
//! write two shared variables one after the other while a checker reads them, unordered.
//!
//! Each setter stores `a = 1`, then `b = -1`; the checker asserts that it sees either
//! both initial values or both new ones. A checker that reads `a` after a setter's first
//! store and `b` before its second sees `a == 1, b == 0`. Two setters and one checker
//! (`reorder_3`: three threads). In C these are plain, unsynchronised variables (a data
//! race); this port stores them in atomics, so each access is a scheduling point and the
//! torn read shows as the checker's assertion failing.
//!
//! The fix writes and reads the pair under one mutex.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::atomic::{AtomicI64, Ordering};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The reorder-3 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/reorder-3",
            pattern: "models/src/corpus/reorder_3.rs",
            summary: "two setters store a then b, a checker reads both: it can see a new a with an old b",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/reorder-3-fixed",
            pattern: "models/src/corpus/reorder_3.rs",
            summary: "the pair is written and read under one mutex: the checker sees old or new, never mixed",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

const SETTERS: usize = 2;

/// A consistent pair: both initial or both set.
fn consistent(a: i64, b: i64) -> bool {
    (a == 0 && b == 0) || (a == 1 && b == -1)
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    check.run(|| async {
        let vars = Arc::new((AtomicI64::new(0), AtomicI64::new(0)));
        let mut tasks = Vec::new();
        for i in 0..SETTERS {
            let v = vars.clone();
            tasks.push(task::spawn_named(format!("set-{i}"), async move {
                v.0.store(1, Ordering::SeqCst);
                v.1.store(-1, Ordering::SeqCst);
            }));
        }
        let v = vars.clone();
        tasks.push(task::spawn_named("check", async move {
            let (a, b) = (v.0.load(Ordering::SeqCst), v.1.load(Ordering::SeqCst));
            assert!(consistent(a, b), "torn read: a = {a}, b = {b}");
        }));
        for t in tasks {
            t.await.unwrap();
        }
    })
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    check.run(|| async {
        let vars = Arc::new(Mutex::new((0i64, 0i64)));
        let mut tasks = Vec::new();
        for i in 0..SETTERS {
            let v = vars.clone();
            tasks.push(task::spawn_named(format!("set-{i}"), async move {
                let mut pair = v.lock().await;
                pair.0 = 1;
                pair.1 = -1;
            }));
        }
        let v = vars.clone();
        tasks.push(task::spawn_named("check", async move {
            let (a, b) = *v.lock().await;
            assert!(consistent(a, b), "torn read: a = {a}, b = {b}");
        }));
        for t in tasks {
            t.await.unwrap();
        }
    })
}
