//! Contexts: Go's `context.Context` for cancellation and deadlines.
//!
//! Start from [`Context::background`], derive children with [`Context::with_cancel`],
//! [`Context::with_timeout`] or [`Context::with_deadline`], hand them to tasks, and stop the
//! tasks by cancelling: [`CancelHandle::cancel`], or dropping the handle, cancels the context
//! and every context derived from it. Tasks wait for that with [`Context::done`] (typically
//! as an arm of `select!`) and ask why with [`Context::err`].
//!
//! A context's deadline is the earlier of its own and its parent's. No helper task runs per
//! context: `done()` waits for the cancellation or for its deadline's timer, and a context
//! cancelled before its deadline leaves no timer behind. Timers follow [`crate::time`]:
//! virtual under loom and shuttle, real on tokio. In a model a deadline may pass at any
//! scheduling point after it was set (virtual time does not know how long work takes):
//! `with_timeout(1 h)` and `with_timeout(1 ms)` differ only in their order against other
//! timers, so a model must accept `DeadlineExceeded` wherever a real run merely makes it
//! unlikely.
//!
//! A task waiting on `done()` of a context that nobody cancels and that has no deadline
//! (`background()` included) waits forever; if it is still waiting when the body returns it
//! is reported as a leak, `[done]` on `context #N`.
//!
//! ```
//! use leakproof::context::{Context, ContextError};
//! use leakproof::{check::Check, task};
//!
//! Check::new("doc-context").shuttle(20).run(|| async {
//!     let (ctx, cancel) = Context::background().with_cancel();
//!     let worker = task::spawn({
//!         let ctx = ctx.clone();
//!         async move {
//!             ctx.done().await; // until cancelled
//!             ctx.err()
//!         }
//!     });
//!     cancel.cancel();
//!     assert_eq!(worker.await.unwrap(), Some(ContextError::Canceled));
//! }).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use crate::rt::backend::Lock;
use crate::rt::exec;
use crate::rt::race::SyncClock;
use crate::time::{Instant, Timer, Waiting};
use crate::track;

/// Why a context is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// It (or an ancestor) was cancelled.
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// A cancellation signal with an optional deadline, shared by clones, like Go's
/// `context.Context`. See the [module docs](self).
#[derive(Clone, Default)]
pub struct Context {
    /// `None` for the background context, which is never done.
    node: Option<Arc<Node>>,
}

/// One derived context: what its clones, its handle and its children's links point to.
struct Node {
    /// The resource id reports show (`context #N`).
    id: u64,
    /// The earlier of its own deadline and its parent's.
    deadline: Option<Instant>,
    state: Lock<State>,
    site: &'static Location<'static>,
}

struct State {
    err: Option<ContextError>,
    /// Tasks waiting in `done()`.
    waiters: Vec<(u64, Waker)>,
    next_waiter: u64,
    /// Contexts derived from this one, cancelled with it.
    children: Vec<Weak<Node>>,
    /// What cancelling released: `done()` returning and `err()` seeing it acquire it.
    race: SyncClock,
}

/// What setting a context's error leaves to do once its lock is released.
struct Fallout {
    err: ContextError,
    waiters: Vec<(u64, Waker)>,
    children: Vec<Weak<Node>>,
}

impl State {
    /// Records `err` unless the context is done already; returns who to tell.
    fn set(&mut self, err: ContextError) -> Option<Fallout> {
        if self.err.is_some() {
            return None;
        }
        self.err = Some(err);
        self.race.release();
        Some(Fallout {
            err,
            waiters: std::mem::take(&mut self.waiters),
            children: std::mem::take(&mut self.children),
        })
    }
}

impl Fallout {
    /// Wakes the waiters and cancels the children (each with the same error).
    fn release(self, in_drop: bool) {
        for (_, w) in self.waiters {
            w.wake();
        }
        for child in self.children.iter().filter_map(Weak::upgrade) {
            child.cancel(self.err, in_drop);
        }
    }
}

impl Node {
    /// Sets the error (if it is not set yet) and passes it on to the children.
    fn cancel(&self, err: ContextError, in_drop: bool) {
        let guard = if in_drop {
            self.state.lock_in_drop()
        } else {
            Some(self.state.lock())
        };
        let Some(mut st) = guard else { return };
        let fallout = st.set(err);
        drop(st);
        if let Some(f) = fallout {
            f.release(in_drop);
        }
    }

    fn deadline_passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Context {
    /// The root context: never cancelled, no deadline. `done()` on it never completes.
    pub fn background() -> Context {
        Context { node: None }
    }

    /// A child that is done when `cancel` is called on (or drops) the returned handle, or
    /// when this context is done.
    #[track_caller]
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        self.child(None, Location::caller())
    }

    /// A child that is also done, with [`ContextError::DeadlineExceeded`], once `timeout`
    /// has passed (by the execution's clock: virtual in models).
    #[track_caller]
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelHandle) {
        let deadline = Instant::now().saturating_add(timeout);
        self.child(Some(deadline), Location::caller())
    }

    /// A child that is also done, with [`ContextError::DeadlineExceeded`], at `deadline`
    /// (or at this context's deadline, if that is earlier).
    ///
    /// ```
    /// use std::time::Duration;
    /// use leakproof::context::Context;
    /// use leakproof::time::Instant;
    ///
    /// leakproof::check::Check::new("doc-deadline").shuttle(10).run(|| async {
    ///     let (parent, _p) = Context::background().with_timeout(Duration::from_millis(5));
    ///     let (child, _c) = parent.with_deadline(Instant::now() + Duration::from_secs(60));
    ///     assert_eq!(child.deadline(), parent.deadline()); // capped by the parent's
    /// }).unwrap();
    /// ```
    #[track_caller]
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelHandle) {
        self.child(Some(deadline), Location::caller())
    }

    fn child(
        &self,
        own: Option<Instant>,
        site: &'static Location<'static>,
    ) -> (Context, CancelHandle) {
        let exec = exec::current();
        let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
        track::lock_created(exec.as_deref(), id, "context", site);
        let deadline = match (own, self.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let make = |err| {
            Arc::new(Node {
                id,
                deadline,
                state: Lock::new(State {
                    err,
                    waiters: Vec::new(),
                    next_waiter: 0,
                    children: Vec::new(),
                    race: SyncClock::default(),
                }),
                site,
            })
        };
        let node = match &self.node {
            None => make(None),
            Some(parent) => {
                let mut st = parent.state.lock();
                match st.err {
                    // A child of a done context is born done, with the parent's error.
                    Some(err) => make(Some(err)),
                    None => {
                        let node = make(None);
                        st.children.retain(|c| c.strong_count() > 0);
                        st.children.push(Arc::downgrade(&node));
                        node
                    }
                }
            }
        };
        (
            Context {
                node: Some(node.clone()),
            },
            CancelHandle { node },
        )
    }

    /// Completes once the context is done (cancelled, or its deadline passed).
    ///
    /// While it waits the task shows in reports as `[done]` on `context #N`; if the context
    /// has a deadline, as `[sleep]` (a timer will end the wait).
    #[track_caller]
    pub fn done(&self) -> Done<'_> {
        Done {
            ctx: self,
            waiter: None,
            timer: None,
            waiting: Waiting::new(),
            site: Location::caller(),
        }
    }

    /// `None` while the context is live; why it is done once it is.
    ///
    /// ```
    /// use leakproof::context::{Context, ContextError};
    ///
    /// leakproof::check::Check::new("doc-err").shuttle(5).run(|| async {
    ///     let (ctx, cancel) = Context::background().with_cancel();
    ///     assert_eq!(ctx.err(), None);
    ///     drop(cancel); // dropping the handle cancels too
    ///     assert_eq!(ctx.err(), Some(ContextError::Canceled));
    ///     assert_eq!(Context::background().err(), None);
    /// }).unwrap();
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        let node = self.node.as_ref()?;
        let mut st = node.state.lock();
        if let Some(err) = st.err {
            st.race.acquire();
            return Some(err);
        }
        if !node.deadline_passed() {
            return None;
        }
        let fallout = st.set(ContextError::DeadlineExceeded);
        drop(st);
        if let Some(f) = fallout {
            f.release(false);
        }
        Some(ContextError::DeadlineExceeded)
    }

    /// The context's deadline: the earlier of its own and its ancestors'.
    pub fn deadline(&self) -> Option<Instant> {
        self.node.as_ref().and_then(|n| n.deadline)
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            None => f.write_str("Context(background)"),
            Some(n) => f
                .debug_struct("Context")
                .field("id", &n.id)
                .field("deadline", &n.deadline)
                .field("created_at", &format_args!("{}", n.site))
                .finish(),
        }
    }
}

/// Cancels its context (and every context derived from it) on [`cancel`](Self::cancel) or
/// when dropped, like the `cancel` function Go's `context.WithCancel` returns.
pub struct CancelHandle {
    node: Arc<Node>,
}

impl CancelHandle {
    /// Cancels the context with [`ContextError::Canceled`]; does nothing if it is done
    /// already (a context keeps its first error).
    pub fn cancel(&self) {
        self.node.cancel(ContextError::Canceled, false);
    }
}

impl Drop for CancelHandle {
    fn drop(&mut self) {
        self.node.cancel(ContextError::Canceled, true);
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancelHandle(context #{})", self.node.id)
    }
}

/// The future of [`Context::done`].
#[must_use = "done() does nothing unless awaited"]
pub struct Done<'a> {
    ctx: &'a Context,
    /// Our entry among the context's waiters while we wait.
    waiter: Option<u64>,
    /// The timer of the context's deadline, while we wait.
    timer: Option<Timer>,
    waiting: Waiting,
    site: &'static Location<'static>,
}

impl Done<'_> {
    fn finish(&mut self) -> Poll<()> {
        self.waiter = None;
        self.timer = None;
        self.waiting.done();
        Poll::Ready(())
    }
}

impl Future for Done<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(node) = this.ctx.node.as_ref() else {
            // background(): never done, and no timer will end the wait.
            this.waiting.wait(0, "done", this.site);
            return Poll::Pending;
        };
        let mut st = node.state.lock();
        if st.err.is_some() {
            // Whoever set the error took our waiter entry with the others.
            st.race.acquire();
            drop(st);
            return this.finish();
        }
        if node.deadline_passed() {
            let fallout = st.set(ContextError::DeadlineExceeded);
            drop(st);
            if let Some(f) = fallout {
                f.release(false);
            }
            return this.finish();
        }
        match this.waiter {
            Some(id) => {
                if let Some((_, w)) = st.waiters.iter_mut().find(|(i, _)| *i == id) {
                    if !w.will_wake(cx.waker()) {
                        *w = cx.waker().clone();
                    }
                }
            }
            None => {
                st.next_waiter += 1;
                let id = st.next_waiter;
                st.waiters.push((id, cx.waker().clone()));
                this.waiter = Some(id);
            }
        }
        drop(st);
        let op = match node.deadline {
            Some(deadline) => {
                let timer = this.timer.get_or_insert_with(|| Timer::at(deadline));
                if timer.poll(cx).is_ready() {
                    node.cancel(ContextError::DeadlineExceeded, false);
                    return this.finish();
                }
                // A timer ends this wait: like a sleep, it is not stuck.
                "sleep"
            }
            None => "done",
        };
        this.waiting.wait(node.id, op, this.site);
        Poll::Pending
    }
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let (Some(id), Some(node)) = (self.waiter, self.ctx.node.as_ref()) else {
            return;
        };
        if let Some(mut st) = node.state.lock_in_drop() {
            st.waiters.retain(|(i, _)| *i != id);
        }
    }
}

impl fmt::Debug for Done<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done")
            .field("ctx", self.ctx)
            .finish_non_exhaustive()
    }
}
