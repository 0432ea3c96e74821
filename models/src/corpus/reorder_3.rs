//! SCTBench `reorder_3` (from the concurrency-bug benchmarks of the ESBMC suite): setters
//! write two shared variables one after the other while a checker reads them, unordered.
//!
//! Each setter stores `a = 1`, then `b = -1`; the checker asserts that it sees either
//! both initial values or both new ones. A checker that reads `a` after a setter's first
//! store and `b` before its second sees `a == 1, b == 0`. Two setters and one checker
//! (`reorder_3`: three threads). In C these are plain, unsynchronised variables: the port
//! keeps them in `RaceCell`s, and the unordered accesses are a data race whatever the
//! schedule (the torn read is one of its effects; the checker's assertion catches it when the
//! race detector is not the first to speak).
//!
//! The fix writes and reads the pair under one mutex, which orders every access.

use std::sync::Arc;

use harness::cell::RaceCell;
use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The reorder-3 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/reorder-3",
            pattern: "models/src/corpus/reorder_3.rs",
            summary: "two setters store a then b, a checker reads both, nothing orders them: a data race",
            expect: Expect::Fail(FailureKind::Race),
            // Happens-before does not depend on the schedule: every run, tokio's too, finds it.
            checkers: ALL_CHECKERS,
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

/// The two variables; `lock` is used by the fix only.
struct Vars {
    a: RaceCell<i64>,
    b: RaceCell<i64>,
    lock: Mutex<()>,
}

fn scenario(check: Check, locked: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let vars = Arc::new(Vars {
            a: RaceCell::new(0),
            b: RaceCell::new(0),
            lock: Mutex::new(()),
        });
        let mut tasks = Vec::new();
        for i in 0..SETTERS {
            let v = vars.clone();
            tasks.push(task::spawn_named(format!("set-{i}"), async move {
                let _g = if locked {
                    Some(v.lock.lock().await)
                } else {
                    None
                };
                v.a.set(1);
                v.b.set(-1);
            }));
        }
        let v = vars.clone();
        tasks.push(task::spawn_named("check", async move {
            let _g = if locked {
                Some(v.lock.lock().await)
            } else {
                None
            };
            let (a, b) = (v.a.get(), v.b.get());
            assert!(consistent(a, b), "torn read: a = {a}, b = {b}");
        }));
        for t in tasks {
            t.await.unwrap();
        }
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
