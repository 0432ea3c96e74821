//! `tokio::task` on leakproof's tasks: `spawn`, `yield_now`, `JoinHandle`, `JoinError`,
//! `AbortHandle`, `JoinSet` and a `Builder` that names tasks.
//!
//! A task spawned here is a harness task ([`crate::task`]): a loom thread, a shuttle task or
//! a tokio task, tracked and joined by the checker, and reported as a leak when it outlives
//! the body blocked forever. Names given with [`Builder::name`] show in reports.
//!
//! ```
//! use leakproof::tokio;
//!
//! leakproof::check::Check::new("doc-tokio-task").shuttle(10).run(|| async {
//!     let h = tokio::spawn(async { 6 * 7 });
//!     assert_eq!(h.await.unwrap(), 42);
//!     let mut set = tokio::task::JoinSet::new();
//!     for i in 0..3u32 {
//!         set.spawn(async move { i });
//!     }
//!     let mut sum = 0;
//!     while let Some(r) = set.join_next().await {
//!         sum += r.unwrap();
//!     }
//!     assert_eq!(sum, 3);
//! }).unwrap();
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::rt::backend;
use crate::rt::exec;
use crate::task::Abort;
use crate::track;

pub use crate::task::{JoinError, JoinHandle};

/// Spawns a task, as `tokio::spawn` does; its name in reports is `task-N`.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    speaks_tokio();
    crate::task::spawn(future)
}

/// Marks the running execution as one that speaks tokio's API (its reports say "task
/// leak", not Go's "goroutine leak").
fn speaks_tokio() {
    exec::with_current(|e| {
        if let Some(e) = e {
            e.registry.mark_tokio_api();
        }
    });
}

/// Yields to the scheduler once, as tokio's: a scheduling point under the checkers, and
/// the future returns `Pending` once (waking itself), so that whatever polls it (a
/// `join!`, a `select!`) gets to poll its other futures meanwhile.
pub async fn yield_now() {
    // A scheduling point for the model checkers (on tokio, tokio's own yield would return
    // `Pending` a second time).
    if crate::rt::backend::current() != crate::rt::backend::Backend::Tokio {
        crate::task::yield_now().await;
    }
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

impl JoinError {
    /// The panic's payload, as tokio's `JoinError::into_panic`: the panic message as a
    /// `String` (leakproof keeps the message, not the original payload).
    ///
    /// Panics if the task was cancelled rather than panicked, as tokio does.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError` reason is not a panic.")
    }

    /// The panic's payload (its message as a `String`) if the task panicked, else the error.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.panic_message() {
            Some(msg) => Ok(Box::new(msg.to_string())),
            None => Err(self),
        }
    }
}

impl<T> JoinHandle<T> {
    /// A handle that aborts the task without awaiting it.
    pub fn abort_handle(&self) -> AbortHandle
    where
        T: Send + 'static,
    {
        AbortHandle {
            task: self.aborter(),
        }
    }
}

/// Aborts a task without owning its output (tokio's `task::AbortHandle`).
#[derive(Clone)]
pub struct AbortHandle {
    task: Arc<dyn Abort>,
}

impl AbortHandle {
    /// Asks the task to stop at its next scheduling point.
    pub fn abort(&self) {
        self.task.abort()
    }

    /// Whether the task has finished (returned, panicked or was aborted).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's harness id, as reports show it.
    pub fn id(&self) -> u64 {
        self.task.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("task", &self.task.id())
            .finish()
    }
}

/// Builds a task with a name, as tokio's (unstable) `task::Builder`: the name shows in
/// every report about the task.
///
/// ```
/// # leakproof::check::Check::new("doc-builder").shuttle(5).run(|| async {
/// let h = leakproof::tokio::task::Builder::new()
///     .name("actor")
///     .spawn(async { 1 })
///     .unwrap();
/// assert_eq!(h.await.unwrap(), 1);
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(name.to_string());
        self
    }

    /// Spawns the task; never fails (the `Result` is tokio's signature).
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> std::io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        speaks_tokio();
        Ok(match self.name {
            Some(name) => crate::task::spawn_named(name, future),
            None => crate::task::spawn(future),
        })
    }
}

/// A set of tasks awaited in the order they finish, as tokio's `JoinSet`.
///
/// Dropping the set aborts every task still in it, as tokio does.
pub struct JoinSet<T> {
    tasks: Vec<JoinHandle<T>>,
    /// Where the set waits from in reports (the last `join_next` call site).
    waiting: bool,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet {
            tasks: Vec::new(),
            waiting: false,
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tasks are in the set (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Aborts every task in the set; they stay in it until joined.
    pub fn abort_all(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Removes every task from the set without aborting it.
    pub fn detach_all(&mut self) {
        self.tasks.clear();
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns a task into the set.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        speaks_tokio();
        let h = crate::task::spawn(future);
        let abort = h.abort_handle();
        self.tasks.push(h);
        abort
    }

    /// Waits for the next task to finish and returns its result; `None` once the set is
    /// empty.
    #[track_caller]
    pub fn join_next(&mut self) -> JoinNext<'_, T> {
        JoinNext {
            set: self,
            site: Location::caller(),
        }
    }

    /// A finished task's result, if one has finished; does not wait.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        self.poll_any(&mut cx)
    }

    /// Aborts every task and waits until all of them have ended.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they finished; panics
    /// (resuming the task's panic message) if a task panicked, as tokio does.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => {
                    panic!("{}", e.panic_message().unwrap_or("task panicked"))
                }
                Err(e) => panic!("{e}"),
            }
        }
        out
    }

    /// Polls every task once; the first finished one leaves the set with its result.
    fn poll_any(&mut self, cx: &mut Context<'_>) -> Option<Result<T, JoinError>> {
        for i in 0..self.tasks.len() {
            if let Poll::Ready(r) = self.tasks[i].poll_join(cx, false) {
                self.tasks.swap_remove(i);
                return Some(r);
            }
        }
        None
    }

    fn stop_waiting(&mut self) {
        if std::mem::take(&mut self.waiting) {
            let exec = exec::current();
            track::op_done(exec.as_deref(), backend::current_task_id());
        }
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.tasks.push(crate::task::spawn(f));
        }
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}

/// The future of [`JoinSet::join_next`].
pub struct JoinNext<'a, T> {
    set: &'a mut JoinSet<T>,
    site: &'static Location<'static>,
}

impl<T: Send + 'static> Future for JoinNext<'_, T> {
    type Output = Option<Result<T, JoinError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.set.tasks.is_empty() {
            this.set.stop_waiting();
            return Poll::Ready(None);
        }
        if let Some(r) = this.set.poll_any(cx) {
            this.set.stop_waiting();
            return Poll::Ready(Some(r));
        }
        // Reported as a join of the first task still in the set (reports name it).
        this.set.waiting = true;
        let exec = exec::current();
        track::op_wait(
            exec.as_deref(),
            backend::current_task_id(),
            this.set.tasks[0].id(),
            "join",
            0,
            this.site,
        );
        Poll::Pending
    }
}

impl<T> Drop for JoinNext<'_, T> {
    fn drop(&mut self) {
        if self.set.waiting && !std::thread::panicking() && exec::is_live() {
            self.set.waiting = false;
            let exec = exec::current();
            track::op_done(exec.as_deref(), backend::current_task_id());
        }
    }
}
