//! Tasks: Go's goroutines on every backend.
//!
//! Use [`spawn`] (or [`spawn_named`], whose name shows in reports) wherever Go code says
//! `go f()`. Under loom a task is a loom thread, under shuttle a shuttle task, on tokio a
//! tokio task; the checker joins every task that is still alive when the body returns, and
//! any that can never finish is reported as a leak.
//!
//! ```
//! use leakproof::check::Check;
//! use leakproof::task;
//!
//! Check::new("doc-spawn").shuttle(10).run(|| async {
//!     let h = task::spawn_named("adder", async { 2 + 2 });
//!     assert_eq!(h.await.unwrap(), 4);
//! }).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::check::FailureKind;
use crate::rt::backend::{self, Backend, Lock};
use crate::rt::exec::{self, Exec, Finding, TaskEnd};
use crate::rt::panic as rtpanic;
use crate::rt::race::SyncClock;
use crate::track;

/// Why a task did not produce its output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinError {
    panic: Option<String>,
}

impl JoinError {
    /// Whether the task was stopped by [`JoinHandle::abort`].
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic message, if the task panicked.
    pub fn panic_message(&self) -> Option<&str> {
        self.panic.as_deref()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            Some(msg) => write!(f, "task panicked: {msg}"),
            None => write!(f, "task was cancelled"),
        }
    }
}

impl std::error::Error for JoinError {}

struct Outcome<T> {
    result: Option<Result<T, JoinError>>,
    done: bool,
    joiners: Vec<Waker>,
    /// The task's clock when it ended: a join acquires it (happens-before for `RaceCell`).
    end: SyncClock,
}

/// What a task and its handle share.
struct Core<T> {
    id: u64,
    outcome: Lock<Outcome<T>>,
    /// Mirrors `outcome.done` for the checker's bookkeeping (not a synchronisation point).
    finished: AtomicBool,
    aborted: AtomicBool,
    /// The task's own waker, so that `abort` can wake it.
    waker: Mutex<Option<Waker>>,
}

impl<T> Core<T> {
    fn finish(&self, exec: Option<&Exec>, result: Result<T, JoinError>, in_drop: bool) {
        let how = match &result {
            Ok(_) => "ok",
            Err(e) if e.is_panic() => "panicked",
            Err(_) => "aborted",
        };
        let guard = if in_drop {
            self.outcome.lock_in_drop()
        } else {
            Some(self.outcome.lock())
        };
        let Some(mut out) = guard else { return };
        if out.done {
            return;
        }
        out.done = true;
        out.result = Some(result);
        if !in_drop {
            out.end.release();
        }
        // Set while the lock is held, so that a joiner that sees `done` also sees `finished`.
        self.finished.store(true, Ordering::Release);
        if let Some(e) = exec {
            e.task_finished();
        }
        let joiners = std::mem::take(&mut out.joiners);
        drop(out);
        // Under loom a waker holds a loom `Arc`, which must not outlive the execution.
        self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        track::task_ended(exec, self.id, how);
        for w in joiners {
            w.wake();
        }
    }
}

impl<T: Send> TaskEnd for Core<T> {
    fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn wait(&self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(std::future::poll_fn(move |cx| {
            // Only the harness joins this way, once the body has returned: no program can
            // tell when it looked, so under loom the look is never a scheduling point (one
            // would make loom run every task's end both before and after it).
            let mut out = self.outcome.quiet().unwrap_or_else(|| self.outcome.lock());
            if out.done {
                Poll::Ready(())
            } else {
                out.joiners.push(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}

/// An owned permission to await a task's output; dropping it detaches the task.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was aborted.
pub struct JoinHandle<T> {
    core: Arc<Core<T>>,
    exec: Option<Arc<Exec>>,
    waiting: bool,
}

impl<T> JoinHandle<T> {
    /// Asks the task to stop at its next scheduling point; awaiting it then gives a cancelled
    /// [`JoinError`]. Aborting a finished task does nothing.
    pub fn abort(&self) {
        self.core.aborted.store(true, Ordering::Release);
        if let Some(w) = self
            .core
            .waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            w.wake();
        }
    }

    /// Whether the task has finished (returned, panicked or was aborted).
    pub fn is_finished(&self) -> bool {
        self.core.outcome.lock().done
    }

    /// The task's harness id, as reports show it.
    pub fn id(&self) -> u64 {
        self.core.id
    }
}

impl<T> JoinHandle<T> {
    /// Polls for the task's output. With `report`, a pending poll is reported as a `join`
    /// wait (once); without, the caller reports its own wait (a `JoinSet` waiting on many).
    #[track_caller]
    pub(crate) fn poll_join(
        &mut self,
        cx: &mut Context<'_>,
        report: bool,
    ) -> Poll<Result<T, JoinError>> {
        let this = self;
        let mut out = this.core.outcome.lock();
        if out.done {
            let result = out.result.take().unwrap_or(Err(JoinError {
                panic: Some("JoinHandle polled after it returned".into()),
            }));
            out.end.acquire();
            drop(out);
            if this.waiting {
                this.waiting = false;
                track::op_done(this.exec.as_deref(), backend::current_task_id());
            }
            return Poll::Ready(result);
        }
        out.joiners.retain(|w| !w.will_wake(cx.waker()));
        out.joiners.push(cx.waker().clone());
        drop(out);
        if report && !this.waiting {
            this.waiting = true;
            let me = backend::current_task_id();
            track::op_wait(
                this.exec.as_deref(),
                me,
                this.core.id,
                "join",
                0,
                Location::caller(),
            );
        }
        Poll::Pending
    }

    /// A handle that can abort the task and ask whether it finished, without its output.
    pub(crate) fn aborter(&self) -> Arc<dyn Abort>
    where
        T: Send + 'static,
    {
        self.core.clone()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_join(cx, true)
    }
}

/// A task seen without its output type: what an abort handle needs.
pub(crate) trait Abort: Send + Sync {
    /// See [`JoinHandle::abort`].
    fn abort(&self);
    /// See [`JoinHandle::is_finished`].
    fn is_finished(&self) -> bool;
    /// The task's harness id.
    fn id(&self) -> u64;
}

impl<T: Send> Abort for Core<T> {
    fn abort(&self) {
        self.aborted.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }
    fn is_finished(&self) -> bool {
        self.outcome.lock().done
    }
    fn id(&self) -> u64 {
        self.id
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.core.id)
            .finish()
    }
}

/// The future a spawned task runs: the user's future plus completion, abort and panic handling.
/// Generic over the output only: the tasks of one output type share one copy of it and of
/// the backends' spawn machinery, however many futures are spawned.
struct TaskFuture<T> {
    future: Option<Pin<Box<dyn Future<Output = T> + Send>>>,
    core: Arc<Core<T>>,
    exec: Option<Arc<Exec>>,
    /// The name given to `spawn_named`; `None` for the default `task-N`.
    name: Option<String>,
}

impl<T> Future for TaskFuture<T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if let Some(e) = &this.exec {
            e.bump();
        }
        {
            // Kept for `abort`; most polls come with the waker of the poll before.
            let mut slot = this.core.waker.lock().unwrap_or_else(|e| e.into_inner());
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        if this.core.aborted.load(Ordering::Acquire) {
            this.future = None;
            track::op_done(this.exec.as_deref(), this.core.id);
            this.core
                .finish(this.exec.as_deref(), Err(JoinError { panic: None }), false);
            return Poll::Ready(());
        }
        let Some(fut) = this.future.as_mut() else {
            return Poll::Ready(());
        };
        // Read by the watchdog under loom and shuttle only: on tokio, a store per poll from
        // every worker would only move the cache line between cores.
        let modelled = this.exec.as_ref().filter(|e| e.backend != Backend::Tokio);
        if let Some(e) = modelled {
            e.running.store(this.core.id, Ordering::Relaxed);
        }
        // The tokio checker reports a poll that holds its thread too long (blocking in async).
        let timer = crate::check::tokio_run::time_poll(this.exec.as_deref(), this.core.id);
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)));
        drop(timer);
        if let Some(e) = modelled {
            e.running.store(0, Ordering::Relaxed);
        }
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => {
                this.future = None;
                this.core.finish(this.exec.as_deref(), Ok(value), false);
                Poll::Ready(())
            }
            Err(payload) => {
                this.future = None;
                if crate::rt::verdict::Stop::of(&*payload).is_checker_panic() {
                    std::panic::resume_unwind(payload);
                }
                let msg = rtpanic::message(&*payload);
                let at = rtpanic::take_note()
                    .map(|n| n.location)
                    .unwrap_or_else(|| "<unknown>".into());
                if let Some(e) = &this.exec {
                    let who = match &this.name {
                        Some(name) => format!("task {} \"{name}\"", this.core.id),
                        None => format!("task {} \"task-{}\"", this.core.id, this.core.id),
                    };
                    e.record(rtpanic::finding(&msg, &who, &at));
                }
                this.core.finish(
                    this.exec.as_deref(),
                    Err(JoinError { panic: Some(msg) }),
                    false,
                );
                raise_if_modelled(this.exec.as_deref());
                Poll::Ready(())
            }
        }
    }
}

impl<T> Drop for TaskFuture<T> {
    fn drop(&mut self) {
        if self.future.is_some() {
            // Dropped before it finished: a runtime shut down or an execution was torn down.
            self.future = None;
            self.core
                .finish(self.exec.as_deref(), Err(JoinError { panic: None }), true);
        }
    }
}

pub(crate) use crate::rt::panic::raise_if_modelled;

/// Spawns a task, like Go's `go` statement; its name in reports is `task-N`.
///
/// ```
/// # leakproof::check::Check::new("doc-spawn-plain").shuttle(5).run(|| async {
/// let (tx, rx) = leakproof::chan::bounded(1);
/// leakproof::task::spawn(async move { tx.send(7).await.unwrap() });
/// assert_eq!(rx.recv().await, Some(7));
/// # }).unwrap();
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_inner(None, Box::pin(future), Location::caller())
}

/// Spawns a task with a name that reports and snapshots show.
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_inner(Some(name.into()), Box::pin(future), Location::caller())
}

/// What `spawn` and `spawn_named` share, on the future already boxed: compiled once per
/// output type, not once per spawned future.
fn spawn_inner<T: Send + 'static>(
    name: Option<String>,
    future: Pin<Box<dyn Future<Output = T> + Send>>,
    site: &'static Location<'static>,
) -> JoinHandle<T> {
    let exec = exec::current();
    let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
    if let Some(e) = &exec {
        if e.backend == Backend::Loom && e.spawned() >= LOOM_MAX_TASKS as u64 {
            e.record(Finding {
                kind: FailureKind::Panic,
                text: format!(
                    "too many tasks for loom: spawning \"{}\" at {site} would make {} spawned tasks in one \
                     execution, and loom allows {LOOM_MAX_TASKS} besides the body (5 threads); shrink the model for loom or check it \
                     with shuttle",
                    name.clone().unwrap_or_else(|| format!("task-{id}")),
                    LOOM_MAX_TASKS + 1,
                ),
            });
            raise_if_modelled(Some(e));
        }
    }
    if let Some(e) = &exec {
        if e.backend == Backend::Shuttle && e.spawned() >= SHUTTLE_MAX_TASKS as u64 {
            e.record(Finding {
                kind: FailureKind::Panic,
                text: format!(
                    "too many tasks for shuttle: spawning \"{}\" at {site} would make {} spawned tasks in one \
                     execution, and leakproof allows shuttle {SHUTTLE_MAX_TASKS} (each live task has its own \
                     mapped stack, and the system's limit on mappings would crash the process); shrink the model",
                    name.clone().unwrap_or_else(|| format!("task-{id}")),
                    SHUTTLE_MAX_TASKS + 1,
                ),
            });
            raise_if_modelled(Some(e));
        }
    }
    let core = Arc::new(Core {
        id,
        // No task holds it across a scheduling point: a leaf lock.
        outcome: Lock::new_leaf(Outcome {
            result: None,
            done: false,
            joiners: Vec::new(),
            end: SyncClock::default(),
        }),
        finished: AtomicBool::new(false),
        aborted: AtomicBool::new(false),
        waker: Mutex::new(None),
    });
    if let Some(e) = &exec {
        e.race.spawned(backend::current_task_id(), id);
        e.add_task(|| core.clone());
        track::task_spawned(
            Some(e),
            id,
            name.as_deref(),
            backend::current_task_id(),
            site,
        );
    }
    let task = TaskFuture {
        future: Some(future),
        core: core.clone(),
        exec: exec.clone(),
        name: name.clone(),
    };
    if exec.as_ref().is_some_and(|e| e.spans) {
        let name = name.unwrap_or_else(|| format!("task-{id}"));
        let span = tracing::trace_span!(target: track::TARGET, "task", id, name = name.as_str());
        backend::spawn_raw(id, tracing::Instrument::instrument(task, span));
    } else {
        backend::spawn_raw(id, task);
    }
    JoinHandle {
        core,
        exec,
        waiting: false,
    }
}

/// How many tasks loom can run besides the body.
pub(crate) const LOOM_MAX_TASKS: usize = 4;

/// How many tasks one shuttle execution may spawn: shuttle gives each live task a mapped
/// stack (two mappings with its guard page), and Linux allows about 65,000 mappings.
pub(crate) const SHUTTLE_MAX_TASKS: usize = 10_000;

/// Yields to the scheduler, letting other tasks run (a scheduling point under the checkers).
pub async fn yield_now() {
    backend::yield_now().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tasks_shared_state_is_not_sized_by_shuttles_mutex() {
        // Every spawned task allocates one `Core`, on tokio too: a lock variant holding
        // shuttle's mutex inline (256 bytes with this value) made each one 296 bytes, and
        // an unboxed race clock (three words, empty unless a `RaceCell` is touched) 144.
        let core = std::mem::size_of::<super::Core<()>>();
        assert!(core <= 128, "Core<()> is {core} bytes");
    }
}
