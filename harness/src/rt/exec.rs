//! The execution context: which backend and checker run this execution, its task table,
//! its findings and its tracking registry. Primitives reach it through a thread-local.
//!
//! Under loom and shuttle every task of an execution runs on the checker's OS thread, so
//! one thread-local serves them all; on tokio each worker thread sets it when it starts.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::backend::Backend;
use super::verdict::FailureKind;
use crate::track::{Registry, Snapshot};

/// Something an execution found wrong while it ran (a panic, a send on a closed channel).
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub kind: FailureKind,
    /// The headline and details, already formatted for the report.
    pub text: String,
}

/// Completion bookkeeping of a spawned task, shared by its `JoinHandle` and the checker.
pub(crate) trait TaskEnd: Send + Sync {
    /// Whether the task has finished (completed, panicked or been aborted).
    fn finished(&self) -> bool;
    /// Waits for the task to finish, without taking its output: the end-of-body join's
    /// (under loom it is never a scheduling point, since no program can observe it).
    fn wait(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>;
}

/// One execution of a body under one checker.
pub(crate) struct Exec {
    pub backend: Backend,
    /// Which execution of its checker this is (1-based).
    pub execution: u64,
    /// Whether primitives report to the tracking layer.
    pub tracking: bool,
    /// Whether primitives also report message hand-offs, for the execution log.
    pub log: bool,
    /// Whether each task runs inside a `task` span (for printed traces; costs a span per
    /// task and an enter/exit per poll, so only when someone prints them).
    pub spans: bool,
    pub registry: Arc<Registry>,
    next_id: AtomicU64,
    /// The spawned tasks, for the end-of-body join under loom and shuttle (see `add_task`).
    tasks: Mutex<Vec<Arc<dyn TaskEnd>>>,
    /// Under shuttle, the harness id of each shuttle task, indexed by shuttle's own task id
    /// (which counts up from 0 in each execution). A lookup here is an index; shuttle's
    /// task-local storage hashes its key with SipHash on every access, and the running
    /// task's id is asked for a dozen times per execution of even a small program.
    shuttle_ids: Mutex<Vec<u64>>,
    spawned: AtomicU64,
    /// How many of the spawned tasks have finished (see [`Exec::task_finished`]).
    finished: AtomicU64,
    /// The task list's length after its last prune.
    pruned_len: std::sync::atomic::AtomicUsize,
    finding: Mutex<Option<Finding>>,
    /// On tokio, the registry as it was when the first finding was recorded: the other tasks
    /// run on until the checker notices, and the report must show them as they were then.
    at_finding: Mutex<Option<Snapshot>>,
    /// Set once the body's future has completed.
    pub body_done: AtomicBool,
    /// Set once the execution has failed or ended: destructors stop calling into the backend.
    pub torn_down: AtomicBool,
    /// Bumped on every task poll and completed operation (tokio's quiescence test). On a
    /// cache line of its own: the fields read on every operation stay in every core's cache.
    pub progress: Padded<AtomicU64>,
    /// The task being polled now under loom and shuttle (0, the body, between task polls):
    /// what the watchdog names when the checker's thread stops (see `check/watchdog.rs`).
    pub running: AtomicU64,
    /// State of the execution's random source on tokio and loom (shuttle has its own); on a
    /// cache line of its own, as `progress`.
    pub rng: Padded<AtomicU64>,
    /// The execution's virtual clock (inert on tokio, where time is real).
    pub clock: super::clock::Clock,
    /// Happens-before state for `RaceCell` (inert until a cell is accessed).
    pub race: super::race::Detector,
}

/// A value alone on its cache line(s), for a counter that every core writes: the fields
/// beside it, read on every operation, are not invalidated by each write.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Exec {
    /// A fresh execution; `tick_limit` bounds its virtual clock (see `Clock`).
    pub(crate) fn new(
        backend: Backend,
        execution: u64,
        registry: Arc<Registry>,
        tick_limit: usize,
    ) -> Arc<Exec> {
        Arc::new(Exec {
            backend,
            execution,
            tracking: true,
            log: false,
            spans: false,
            registry,
            // id 0 is the body ("main"), spawned tasks and resources count up from 1.
            next_id: AtomicU64::new(1),
            tasks: Mutex::new(Vec::new()),
            shuttle_ids: Mutex::new(Vec::new()),
            spawned: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            pruned_len: std::sync::atomic::AtomicUsize::new(0),
            finding: Mutex::new(None),
            at_finding: Mutex::new(None),
            body_done: AtomicBool::new(false),
            torn_down: AtomicBool::new(false),
            progress: Padded(AtomicU64::new(0)),
            running: AtomicU64::new(0),
            // The same start in every execution: loom replays each execution's prefix and needs
            // every draw to come out the same (tokio's runs reseed it from the check's seed).
            rng: Padded(AtomicU64::new(0x9e37_79b9_7f4a_7c15)),
            clock: super::clock::Clock::new(backend, tick_limit),
            race: super::race::Detector::default(),
        })
    }

    /// A fresh id for a task, channel or other resource of this execution.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a spawned task, and under loom and shuttle keeps it (`task` makes the handle)
    /// so that the end-of-body join can wait for each one.
    ///
    /// The tokio checker's join waits on the counts alone ([`Exec::unfinished_count`]): it
    /// keeps no list, so a finished task's state is freed when the task ends, on the thread
    /// that ran it, instead of all at once when the run ends. Finished tasks are pruned from
    /// the list only when it has doubled since the last prune, so spawning stays amortised
    /// O(1) with many tasks alive.
    pub(crate) fn add_task(&self, task: impl FnOnce() -> Arc<dyn TaskEnd>) {
        if self.backend != Backend::Tokio {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            if tasks.len() >= 64 && tasks.len() >= 2 * self.pruned_len.load(Ordering::Relaxed) {
                tasks.retain(|t| !t.finished());
                self.pruned_len.store(tasks.len(), Ordering::Relaxed);
            }
            tasks.push(task());
        }
        self.spawned.fetch_add(1, Ordering::Release);
    }

    /// Records that shuttle task `shuttle_task` runs harness task `id`.
    pub(crate) fn set_shuttle_task(&self, shuttle_task: usize, id: u64) {
        let mut ids = self.shuttle_ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() <= shuttle_task {
            ids.resize(shuttle_task + 1, super::backend::NO_TASK);
        }
        ids[shuttle_task] = id;
    }

    /// The harness task shuttle task `shuttle_task` runs (`NO_TASK` if none was recorded).
    pub(crate) fn shuttle_task(&self, shuttle_task: usize) -> u64 {
        let ids = self.shuttle_ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.get(shuttle_task)
            .copied()
            .unwrap_or(super::backend::NO_TASK)
    }

    /// How many tasks this execution has spawned so far.
    pub(crate) fn spawned(&self) -> u64 {
        self.spawned.load(Ordering::Relaxed)
    }

    /// Counts one spawned task as finished; called once per task, when its end is recorded.
    pub(crate) fn task_finished(&self) {
        self.finished.fetch_add(1, Ordering::Release);
    }

    /// How many spawned tasks have not finished yet: two counters read, so the end-of-body
    /// join asks it as often as it likes without walking (or locking) the task list while
    /// many tasks end.
    pub(crate) fn unfinished_count(&self) -> u64 {
        // The finished count first: a task that spawned another before it finished made the
        // spawn count include its child by then.
        let finished = self.finished.load(Ordering::Acquire);
        self.spawned
            .load(Ordering::Acquire)
            .saturating_sub(finished)
    }

    /// The spawned tasks that have not finished yet (loom and shuttle; the tokio checker
    /// keeps counts only).
    pub(crate) fn unfinished_tasks(&self) -> Vec<Arc<dyn TaskEnd>> {
        debug_assert!(
            self.backend != Backend::Tokio,
            "the tokio checker keeps no task list"
        );
        let tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.iter().filter(|t| !t.finished()).cloned().collect()
    }

    /// Records a finding; only the first one of an execution is kept.
    ///
    /// On tokio it also keeps the registry as it is now (see [`Exec::snapshot_at_finding`]);
    /// loom and shuttle stop the execution at its finding, so theirs stays as it was.
    pub(crate) fn record(&self, finding: Finding) {
        let mut slot = self.finding.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            if self.backend == Backend::Tokio {
                *self.at_finding.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(self.registry.snapshot());
            }
            *slot = Some(finding);
        }
    }

    /// The registry as it was when the first finding was recorded on tokio, where the
    /// execution's other tasks go on running (and ending) until the checker notices it.
    pub(crate) fn snapshot_at_finding(&self) -> Option<Snapshot> {
        self.at_finding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The first finding of this execution, if any.
    pub(crate) fn finding(&self) -> Option<Finding> {
        self.finding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn bump(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Exec>>> = const { RefCell::new(None) };
}

/// Runs `f` with the execution of this thread, if there is one.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Arc<Exec>>) -> R) -> R {
    CURRENT.with(|c| match c.try_borrow() {
        Ok(exec) => f(exec.as_ref()),
        Err(_) => f(None),
    })
}

/// The execution of this thread, if there is one.
pub(crate) fn current() -> Option<Arc<Exec>> {
    with_current(|e| e.cloned())
}

/// Whether this thread runs an execution that is still live (not failed, not torn down).
pub(crate) fn is_live() -> bool {
    with_current(|e| e.is_some_and(|e| !e.torn_down.load(Ordering::Acquire)))
}

/// Makes `exec` the execution of this thread until the returned guard drops.
pub(crate) fn enter(exec: Arc<Exec>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(exec));
    EnterGuard { previous }
}

/// Restores the thread's previous execution when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Arc<Exec>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Puts back this thread's execution as it is now when dropped, whatever a checker left
/// behind (shuttle leaks the stacks of tasks it abandons, and their guards with them).
pub(crate) fn preserve() -> EnterGuard {
    EnterGuard {
        previous: current(),
    }
}

/// Sets this thread's execution without a guard (tokio worker threads, for their lifetime).
pub(crate) fn set_thread_exec(exec: Option<Arc<Exec>>) {
    CURRENT.with(|c| *c.borrow_mut() = exec);
}
