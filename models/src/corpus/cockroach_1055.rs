//! CockroachDB #1055 (GoBench GoKer `blocking/cockroach/1055`): a stopper that waits for
//! its workers with its mutex held, and a worker that needs that mutex before it can
//! notice the stop.
//!
//! Each worker starts a task through its stopper (`start_task`): it reads the `draining`
//! flag *without* the mutex and, seeing it clear, locks the mutex to register the task.
//! `stop` locks the mutex, sets `draining`, waits for running tasks, closes the stop
//! channel and then, still holding the mutex, waits on a `WaitGroup` for every worker to
//! report stopped. A worker that read `draining == false` just before `stop` took the
//! mutex now waits for the mutex; `stop` waits for the worker: the stopper and the worker
//! wait on each other through a mutex and a `WaitGroup` (GoBench files it as "Channel &
//! WaitGroup"). The Go test used three stoppers stopped in turn by one goroutine.
//!
//! The fix checks `draining` under the mutex and releases the mutex before waiting for
//! the workers.

use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::atomic::{AtomicBool, Ordering};
use harness::sync::{Mutex, WaitGroup};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The cockroach-1055 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/cockroach-1055",
            pattern: "models/src/corpus/cockroach_1055.rs",
            summary: "stop waits for the workers with the stopper's mutex held; a worker past its draining check waits for that mutex",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/cockroach-1055-fixed",
            pattern: "models/src/corpus/cockroach_1055.rs",
            summary: "draining is checked under the mutex and stop waits without it: every stopper stops",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// A stopper: the stop channel, the workers' `WaitGroup`, the running tasks' `WaitGroup`
/// and the draining flag, as Go's `Stopper` holds them.
struct Stopper {
    stop_tx: Sender<()>,
    stop_rx: Receiver<()>,
    workers: WaitGroup,
    tasks: WaitGroup,
    mu: Mutex<()>,
    draining: AtomicBool,
    fixed: bool,
}

impl Stopper {
    fn new(fixed: bool) -> Arc<Self> {
        let (stop_tx, stop_rx) = chan::bounded(0);
        Arc::new(Stopper {
            stop_tx,
            stop_rx,
            workers: WaitGroup::new(),
            tasks: WaitGroup::new(),
            mu: Mutex::new(()),
            draining: AtomicBool::new(false),
            fixed,
        })
    }

    /// Registers a task unless the stopper drains; the caller ends it with `finish_task`.
    async fn start_task(&self) -> bool {
        if self.fixed {
            let _mu = self.mu.lock().await;
            if self.draining.load(Ordering::SeqCst) {
                return false;
            }
            self.tasks.add(1);
            return true;
        }
        // Shipped: the flag is read before the mutex is taken.
        if !self.draining.load(Ordering::SeqCst) {
            let _mu = self.mu.lock().await;
            self.tasks.add(1);
            return true;
        }
        false
    }

    fn finish_task(&self) {
        self.tasks.done();
    }

    async fn stop(&self) {
        if self.fixed {
            {
                let _mu = self.mu.lock().await;
                self.draining.store(true, Ordering::SeqCst);
            }
            self.tasks.wait().await;
            self.stop_tx.close();
            self.workers.wait().await;
            return;
        }
        let _mu = self.mu.lock().await;
        self.draining.store(true, Ordering::SeqCst);
        self.tasks.wait().await;
        self.stop_tx.close();
        self.workers.wait().await;
    }
}

fn scenario(check: Check, size: Size, fixed: bool) -> Result<Stats, Failure> {
    let n = size.pick(1, 3);
    check.run(move || async move {
        let stoppers: Vec<Arc<Stopper>> = (0..n).map(|_| Stopper::new(fixed)).collect();
        for (i, s) in stoppers.iter().enumerate() {
            s.workers.add(1);
            let s = s.clone();
            task::spawn_named(format!("worker-{i}"), async move {
                if s.start_task().await {
                    s.finish_task();
                }
                // Wait for the stop: the channel is closed, never sent on.
                assert!(s.stop_rx.recv().await.is_none());
                s.workers.done();
            });
        }
        let (done_tx, done_rx) = chan::bounded::<()>(0);
        let all = stoppers.clone();
        task::spawn_named("stop-all", async move {
            for s in &all {
                s.stop().await;
            }
            done_tx.close();
        });
        assert!(done_rx.recv().await.is_none());
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
