//! tokio-util's [`TaskTracker`]: wait for a group of tasks to finish, for graceful shutdown.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;
use crate::sync::waiters::Tracked;
use crate::task::JoinHandle;
use crate::tokio::sync::wait_set::{park_on, WaitSet};

struct Inner {
    res: Tracked,
    state: Lock<State>,
}

struct State {
    closed: bool,
    /// Live tokens (tracked tasks and futures).
    count: usize,
    waiters: WaitSet,
    /// What finished tasks released: `wait` acquires it.
    clock: SyncClock,
}

impl State {
    fn done(&self) -> bool {
        self.closed && self.count == 0
    }
}

/// A set of tasks to wait for, tokio-util's `TaskTracker`: use it for graceful shutdown,
/// spawning every task through it, then [`close`](TaskTracker::close) and
/// [`wait`](TaskTracker::wait) for all of them to finish.
///
/// `wait` returns once the tracker is closed and every tracked task (or future, or token)
/// is gone; an open tracker never lets `wait` return, so forgetting `close` shows in reports
/// as a task stuck in `[task tracker wait]` "on task tracker #N created at …". Unlike a
/// `JoinSet` it keeps no results, so it does not grow with finished tasks.
///
/// ```
/// use leakproof::{check::Check, tokio_util::task::TaskTracker};
///
/// Check::new("doc-tracker").shuttle(10).run(|| async {
///     let tracker = TaskTracker::new();
///     for i in 0..2 {
///         tracker.spawn(async move { i * 2 });
///     }
///     tracker.close();
///     tracker.wait().await;
///     assert!(tracker.is_empty());
/// }).unwrap();
/// ```
#[derive(Clone)]
pub struct TaskTracker {
    inner: Arc<Inner>,
}

impl TaskTracker {
    /// A new, open tracker with no task.
    #[track_caller]
    pub fn new() -> Self {
        TaskTracker {
            inner: Arc::new(Inner {
                res: Tracked::new("task tracker", Location::caller()),
                state: Lock::new(State {
                    closed: false,
                    count: 0,
                    waiters: WaitSet::default(),
                    clock: SyncClock::default(),
                }),
            }),
        }
    }

    /// Spawns `task` as a tracked task.
    #[track_caller]
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::task::spawn(self.track_future(task))
    }

    /// Wraps `future` so that the tracker counts it until it is dropped.
    pub fn track_future<F: Future>(&self, future: F) -> TrackedFuture<F> {
        TrackedFuture {
            future: Box::pin(future),
            _token: self.token(),
        }
    }

    /// A token the tracker counts until it is dropped (a task of one's own making).
    pub fn token(&self) -> TaskTrackerToken {
        self.inner.state.lock().count += 1;
        TaskTrackerToken {
            inner: self.inner.clone(),
        }
    }

    /// Closes the tracker: `wait` returns once no tracked task is left. Returns `true` if
    /// it was open.
    pub fn close(&self) -> bool {
        let mut st = self.inner.state.lock();
        let was_open = !st.closed;
        st.closed = true;
        let wake = if st.done() {
            st.waiters.take_all()
        } else {
            Vec::new()
        };
        drop(st);
        for k in wake {
            k.wake();
        }
        was_open
    }

    /// Opens the tracker again; returns `true` if it was closed.
    pub fn reopen(&self) -> bool {
        let mut st = self.inner.state.lock();
        std::mem::replace(&mut st.closed, false)
    }

    /// Whether the tracker is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().closed
    }

    /// How many tracked tasks (futures, tokens) are alive.
    pub fn len(&self) -> usize {
        self.inner.state.lock().count
    }

    /// Whether no tracked task is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until the tracker is closed and empty.
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = ()> + Send + '_ {
        let inner = &*self.inner;
        park_on(
            &inner.res,
            "task tracker wait",
            Location::caller(),
            &inner.state,
            |st| &mut st.waiters,
            |st| st.done().then(|| st.clock.acquire()),
        )
    }
}

impl Default for TaskTracker {
    #[track_caller]
    fn default() -> Self {
        TaskTracker::new()
    }
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("TaskTracker")
            .field("len", &st.count)
            .field("is_closed", &st.closed)
            .finish()
    }
}

/// Counted by its [`TaskTracker`] until dropped.
pub struct TaskTrackerToken {
    inner: Arc<Inner>,
}

impl TaskTrackerToken {
    /// The tracker counting this token.
    pub fn task_tracker(&self) -> TaskTracker {
        TaskTracker {
            inner: self.inner.clone(),
        }
    }
}

impl Clone for TaskTrackerToken {
    fn clone(&self) -> Self {
        self.task_tracker().token()
    }
}

impl Drop for TaskTrackerToken {
    fn drop(&mut self) {
        let Some(mut st) = self.inner.state.lock_in_drop() else {
            return;
        };
        st.count -= 1;
        st.clock.release();
        let wake = if st.done() {
            st.waiters.take_all()
        } else {
            Vec::new()
        };
        drop(st);
        for k in wake {
            k.wake();
        }
    }
}

impl fmt::Debug for TaskTrackerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTrackerToken").finish_non_exhaustive()
    }
}

/// A future counted by a [`TaskTracker`] until it is dropped.
pub struct TrackedFuture<F> {
    future: Pin<Box<F>>,
    _token: TaskTrackerToken,
}

impl<F: Future> Future for TrackedFuture<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl<F> fmt::Debug for TrackedFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedFuture").finish_non_exhaustive()
    }
}
