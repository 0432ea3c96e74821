//! What tokio's tests take from `tokio_test`, written for this suite: a future polled by
//! hand with a waker that remembers being woken (`spawn`), the `assert_*!` macros, and
//! the checker configurations the ported tests run under.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use harness::check::Check;

/// Every checker, small: loom (preemption bound 1), shuttle, PCT and one tokio run.
pub fn light(name: &str) -> Check {
    Check::new(name)
        .loom()
        .preemption_bound(Some(1))
        .shuttle(40)
        .pct(40, 2)
        .tokio(1)
}

/// Every checker but loom, for tests that spawn more tasks than loom allows (4) or loop
/// too long for exhaustive exploration.
pub fn no_loom(name: &str) -> Check {
    Check::new(name).shuttle(40).pct(40, 2).tokio(1)
}

/// The model checkers only (virtual time): for tests that assert exact instants, which
/// real time on the tokio checker cannot promise.
pub fn virtual_time(name: &str) -> Check {
    Check::new(name)
        .loom()
        .preemption_bound(Some(1))
        .shuttle(40)
        .pct(40, 2)
}

/// Virtual time without loom.
pub fn virtual_no_loom(name: &str) -> Check {
    Check::new(name).shuttle(40).pct(40, 2)
}

#[derive(Default)]
struct Flag(AtomicUsize);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future polled by hand, as `tokio_test::task::spawn` gives.
pub struct Spawn<F> {
    future: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

/// Wraps a future to poll it by hand.
pub fn spawn<F>(future: F) -> Spawn<F> {
    let flag = Arc::new(Flag::default());
    Spawn {
        future: Box::pin(future),
        waker: Waker::from(flag.clone()),
        flag,
    }
}

impl<F: Future> Spawn<F> {
    /// Polls once (clearing the woken flag).
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.flag.0.store(0, Ordering::SeqCst);
        let mut cx = Context::from_waker(&self.waker);
        self.future.as_mut().poll(&mut cx)
    }
}

impl<F> Spawn<F> {
    /// How many wakers of this task exist besides the task's own.
    pub fn waker_ref_count(&self) -> usize {
        Arc::strong_count(&self.flag) - 1
    }

    /// Whether the future was woken since its last poll.
    pub fn is_woken(&self) -> bool {
        self.flag.0.load(Ordering::SeqCst) > 0
    }

    /// The future back.
    pub fn into_inner(self) -> F
    where
        F: Unpin,
    {
        *Pin::into_inner(self.future)
    }

    /// The future, to call its methods.
    pub fn get_mut(&mut self) -> &mut F
    where
        F: Unpin,
    {
        Pin::into_inner(self.future.as_mut())
    }

    /// Runs `f` with this task's context and the future (for hand-written polls).
    pub fn enter<R>(&mut self, f: impl FnOnce(&mut Context<'_>, Pin<&mut F>) -> R) -> R {
        self.flag.0.store(0, Ordering::SeqCst);
        let mut cx = Context::from_waker(&self.waker);
        f(&mut cx, self.future.as_mut())
    }
}

#[macro_export]
macro_rules! assert_ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!("assertion failed: Err({:?})", e),
        }
    };
}

#[macro_export]
macro_rules! assert_err {
    ($e:expr) => {
        match $e {
            Ok(_) => panic!("assertion failed: expected Err, got Ok"),
            Err(e) => e,
        }
    };
}

#[macro_export]
macro_rules! assert_pending {
    ($e:expr) => {
        match $e {
            std::task::Poll::Pending => {}
            std::task::Poll::Ready(_) => panic!("ready; expected pending"),
        }
    };
}

#[macro_export]
macro_rules! assert_ready {
    ($e:expr) => {
        match $e {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending; expected ready"),
        }
    };
}

#[macro_export]
macro_rules! assert_ready_ok {
    ($e:expr) => {
        $crate::assert_ok!($crate::assert_ready!($e))
    };
}

#[macro_export]
macro_rules! assert_ready_err {
    ($e:expr) => {
        $crate::assert_err!($crate::assert_ready!($e))
    };
}
