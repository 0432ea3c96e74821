//! tokio-util's [`CancellationToken`]: a cancellation signal with child tokens.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;
use crate::sync::waiters::Tracked;
use crate::tokio::sync::wait_set::{park_on, WaitSet};

struct Node {
    res: Tracked,
    state: Lock<State>,
}

struct State {
    cancelled: bool,
    /// Tokens made by `child_token`, cancelled with this one.
    children: Vec<Weak<Node>>,
    waiters: WaitSet,
    /// What `cancel` released: whoever sees the token cancelled acquires it.
    clock: SyncClock,
}

impl Node {
    fn new(cancelled: bool, clock: SyncClock, site: &'static Location<'static>) -> Arc<Node> {
        Arc::new(Node {
            res: Tracked::new("cancellation token", site),
            state: Lock::new(State {
                cancelled,
                children: Vec::new(),
                waiters: WaitSet::default(),
                clock,
            }),
        })
    }

    fn cancel(&self) {
        let mut st = self.state.lock();
        if st.cancelled {
            return;
        }
        st.cancelled = true;
        st.clock.release();
        let wake = st.waiters.take_all();
        let children = std::mem::take(&mut st.children);
        drop(st);
        for k in wake {
            k.wake();
        }
        for child in children.iter().filter_map(Weak::upgrade) {
            child.cancel();
        }
    }
}

/// A token that tells tasks to stop, tokio-util's `CancellationToken`: use it for graceful
/// shutdown, handing each task a clone (or a [`child_token`](CancellationToken::child_token))
/// and having it `select!` on [`cancelled`](CancellationToken::cancelled) next to its work.
///
/// [`cancel`](CancellationToken::cancel) cancels this token, its clones and every child
/// token, and wakes every task waiting in `cancelled`; cancelling a child leaves the parent
/// alone. A task waiting for a token nobody cancels shows in reports as `[cancelled]` "on
/// cancellation token #N created at …": the classic leak of a worker whose shutdown signal
/// never comes.
///
/// ```
/// use leakproof::{check::Check, tokio_util::sync::CancellationToken};
///
/// Check::new("doc-cancel").shuttle(10).run(|| async {
///     let token = CancellationToken::new();
///     let child = token.child_token();
///     let worker = leakproof::task::spawn(async move {
///         child.cancelled().await; // ... a real worker selects on this next to its work
///     });
///     token.cancel();
///     worker.await.unwrap();
///     assert!(token.is_cancelled());
/// }).unwrap();
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

impl CancellationToken {
    /// A new token, not cancelled, with no parent.
    #[track_caller]
    pub fn new() -> Self {
        CancellationToken {
            node: Node::new(false, SyncClock::default(), Location::caller()),
        }
    }

    /// A token cancelled with this one (and which can be cancelled alone). A child of a
    /// cancelled token starts cancelled.
    #[track_caller]
    pub fn child_token(&self) -> CancellationToken {
        let site = Location::caller();
        let mut st = self.node.state.lock();
        let child = Node::new(st.cancelled, st.clock.clone(), site);
        if !st.cancelled {
            st.children.retain(|c| c.strong_count() > 0);
            st.children.push(Arc::downgrade(&child));
        }
        drop(st);
        CancellationToken { node: child }
    }

    /// Cancels this token and every child token; wakes every task waiting on them.
    pub fn cancel(&self) {
        self.node.cancel();
    }

    /// Whether this token was cancelled (itself or through a parent).
    pub fn is_cancelled(&self) -> bool {
        let st = self.node.state.lock();
        if st.cancelled {
            st.clock.acquire();
        }
        st.cancelled
    }

    /// Waits until the token is cancelled. Cancel-safe.
    #[track_caller]
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            inner: Box::pin(wait(&self.node, Location::caller())),
        }
    }

    /// [`cancelled`](CancellationToken::cancelled), owning the token: a `'static` future.
    #[track_caller]
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        let site = Location::caller();
        WaitForCancellationFutureOwned {
            inner: Box::pin(async move { wait(&self.node, site).await }),
        }
    }

    /// A guard that cancels the token when dropped (unless disarmed).
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// Runs `fut` until it completes (`Some(output)`) or the token is cancelled (`None`,
    /// and `fut` is dropped). Cancellation is checked first.
    #[track_caller]
    pub fn run_until_cancelled<'a, F: Future + 'a>(
        &'a self,
        fut: F,
    ) -> impl Future<Output = Option<F::Output>> + 'a {
        let mut cancelled = self.cancelled();
        async move {
            let mut fut = std::pin::pin!(fut);
            std::future::poll_fn(|cx| {
                if Pin::new(&mut cancelled).poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                fut.as_mut().poll(cx).map(Some)
            })
            .await
        }
    }
}

impl Default for CancellationToken {
    #[track_caller]
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("id", &self.node.res.id)
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

fn wait<'a>(
    node: &'a Node,
    site: &'static Location<'static>,
) -> impl Future<Output = ()> + Send + 'a {
    park_on(
        &node.res,
        "cancelled",
        site,
        &node.state,
        |st| &mut st.waiters,
        |st| st.cancelled.then(|| st.clock.acquire()),
    )
}

/// The future of [`CancellationToken::cancelled`].
pub struct WaitForCancellationFuture<'a> {
    inner: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitForCancellationFuture")
    }
}

/// The future of [`CancellationToken::cancelled_owned`].
pub struct WaitForCancellationFutureOwned {
    inner: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for WaitForCancellationFutureOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitForCancellationFutureOwned")
    }
}

/// Cancels its token when dropped; [`disarm`](DropGuard::disarm) gives the token back
/// instead.
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("the token is there until disarmed")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            if t.node.state.lock_in_drop().is_some() {
                t.cancel();
            }
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard").finish_non_exhaustive()
    }
}
