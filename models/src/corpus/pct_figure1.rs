//! The three bugs of figure 1 of the PCT paper (Burckhardt, Kothari, Musuvathi and
//! Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
//! ASPLOS 2010), which introduce the idea of a bug's *depth*: how many ordering
//! constraints between threads a schedule must meet to expose it.
//!
//! - **order violation, depth 1**: a task is started before the state it uses is
//!   initialised. One constraint exposes it: the use runs before the initialisation.
//! - **atomicity violation, depth 2**: a task checks that a shared value is present, then
//!   uses it in a second critical section, while another task clears it. Two constraints:
//!   the clear runs after the check and before the use.
//! - **deadlock, depth 2**: two tasks take two locks in opposite orders. Two constraints:
//!   each task takes its first lock before the other takes its second.
//!
//! PCT finds a bug of depth `d` among `n` tasks and `k` steps with probability at least
//! `1/(n·k^(d-1))` per execution; the table in README shows how quickly each checker
//! finds each one.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The PCT figure 1 models: three bugs and their fixes.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/pct-order",
            pattern: "models/src/corpus/pct_figure1.rs",
            summary: "depth 1: the worker reads the shared state before the spawner initialises it",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: super::MODEL_CHECKERS,
            run: order_buggy,
        },
        Model {
            name: "corpus/pct-order-fixed",
            pattern: "models/src/corpus/pct_figure1.rs",
            summary: "the state is initialised before the worker starts",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: order_fixed,
        },
        Model {
            name: "corpus/pct-atomicity",
            pattern: "models/src/corpus/pct_figure1.rs",
            summary: "depth 2: check-then-use over two critical sections while another task clears the value",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: super::MODEL_CHECKERS,
            run: atomicity_buggy,
        },
        Model {
            name: "corpus/pct-atomicity-fixed",
            pattern: "models/src/corpus/pct_figure1.rs",
            summary: "check and use in one critical section",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: atomicity_fixed,
        },
        Model {
            name: "corpus/pct-deadlock",
            pattern: "models/src/corpus/pct_figure1.rs",
            summary: "depth 2: two tasks take locks A and B in opposite orders",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: deadlock_buggy,
        },
        Model {
            name: "corpus/pct-deadlock-fixed",
            pattern: "models/src/corpus/pct_figure1.rs",
            summary: "both tasks take A before B",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: deadlock_fixed,
        },
    ]
}

/// The state the order-violation worker uses.
struct Table {
    slots: Vec<u32>,
}

fn order(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let shared: Arc<Mutex<Option<Table>>> = Arc::new(Mutex::new(None));
        let init = || Table { slots: vec![0; 4] };
        if fixed {
            *shared.lock().await = Some(init());
        }
        let s = shared.clone();
        let worker = task::spawn_named("worker", async move {
            let table = s.lock().await;
            let table = table.as_ref().expect("the table is initialised before use");
            table.slots.len()
        });
        if !fixed {
            *shared.lock().await = Some(init());
        }
        assert_eq!(worker.await.unwrap(), 4);
    })
}

fn order_buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    order(check, false)
}

fn order_fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    order(check, true)
}

fn atomicity(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let current: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(Some("conn-1".into())));
        let c = current.clone();
        let printer = task::spawn_named("printer", async move {
            if fixed {
                let guard = c.lock().await;
                guard.as_ref().map(|name| name.len())
            } else {
                let present = c.lock().await.is_some();
                if present {
                    let guard = c.lock().await;
                    let name = guard.as_ref().expect("checked just before");
                    Some(name.len())
                } else {
                    None
                }
            }
        });
        let c = current.clone();
        let closer = task::spawn_named("closer", async move {
            *c.lock().await = None;
        });
        closer.await.unwrap();
        let printed = printer.await.unwrap();
        assert!(printed.is_none() || printed == Some(6));
    })
}

fn atomicity_buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    atomicity(check, false)
}

fn atomicity_fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    atomicity(check, true)
}

fn deadlock(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let a = Arc::new(Mutex::new(0u32));
        let b = Arc::new(Mutex::new(0u32));
        let (a1, b1) = (a.clone(), b.clone());
        let t1 = task::spawn_named("t1", async move {
            let mut ga = a1.lock().await;
            let mut gb = b1.lock().await;
            *ga += 1;
            *gb += 1;
        });
        let (a2, b2) = (a.clone(), b.clone());
        let t2 = task::spawn_named("t2", async move {
            if fixed {
                let mut ga = a2.lock().await;
                let mut gb = b2.lock().await;
                *ga += 1;
                *gb += 1;
            } else {
                let mut gb = b2.lock().await;
                let mut ga = a2.lock().await;
                *ga += 1;
                *gb += 1;
            }
        });
        t1.await.unwrap();
        t2.await.unwrap();
        assert_eq!((*a.lock().await, *b.lock().await), (2, 2));
    })
}

fn deadlock_buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    deadlock(check, false)
}

fn deadlock_fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    deadlock(check, true)
}
