//! What the `tokio::sync` ports share: a mock task that polls a future by hand and records
//! whether it was woken (tokio-test's `task::spawn`, written here for the checkers), the
//! `assert_ready!`/`assert_pending!` family, and `each_checker`, which runs a body once under
//! each of loom, shuttle, PCT and tokio (for single-task bodies with one schedule).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use harness::check::{Check, Checker};

use crate::common::ALL;

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A future polled by hand, as tokio-test's `task::Spawn`.
pub struct Mock<F> {
    fut: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

/// Wraps `fut` in a mock task.
pub fn spawn<F: Future>(fut: F) -> Mock<F> {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    Mock {
        fut: Box::pin(fut),
        waker: Waker::from(flag.clone()),
        flag,
    }
}

impl<F: Future> Mock<F> {
    /// Polls once with this task's waker (clearing the woken flag first).
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.flag.0.store(false, Ordering::SeqCst);
        let mut cx = Context::from_waker(&self.waker);
        self.fut.as_mut().poll(&mut cx)
    }

    /// Whether the future was woken since the last poll.
    pub fn is_woken(&self) -> bool {
        self.flag.0.load(Ordering::SeqCst)
    }

    /// Runs `f` on the pinned future with this task's context.
    pub fn enter<R>(&mut self, f: impl FnOnce(&mut Context<'_>, Pin<&mut F>) -> R) -> R {
        let mut cx = Context::from_waker(&self.waker);
        f(&mut cx, self.fut.as_mut())
    }
}

/// The value of a ready poll; panics if pending.
#[track_caller]
pub fn ready<T>(p: Poll<T>) -> T {
    match p {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected Ready, got Pending"),
    }
}

/// Panics unless the poll is pending.
#[track_caller]
pub fn pending<T: std::fmt::Debug>(p: Poll<T>) {
    if let Poll::Ready(v) = p {
        panic!("expected Pending, got Ready({v:?})");
    }
}

/// Runs `body` under loom, shuttle, PCT and tokio, a few executions each: for bodies that
/// run in one task (mock tasks polled by hand), whose schedule does not vary.
pub fn each_checker<F, Fut>(name: &str, body: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let body = Arc::new(body);
    for checker in ALL {
        let check = Check::new(format!("{name} [{checker}]"));
        let check = match checker {
            Checker::Loom => check.loom(),
            Checker::Shuttle => check.shuttle(3),
            Checker::Pct => check.pct(3, 2),
            Checker::Tokio => check.tokio(1),
            Checker::Replay => unreachable!(),
        };
        let b = body.clone();
        if let Err(f) = check.run(move || b()) {
            panic!("{name}: failed under {checker} ({:?}):\n{f}", f.kind);
        }
    }
}
