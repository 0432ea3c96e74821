//! What `#[tokio::test(crate = "leakproof::leakcheck")]` expands to: tokio's runtime `Builder`,
//! whose runtimes run the test body for real and then check that no task outlived it.

use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::watch::Shared;
use super::LeakCheck;
#[cfg(tokio_unstable)]
pub use tokio::runtime::UnhandledPanic;
pub use tokio::runtime::{Handle, LocalOptions};

/// tokio's runtime builder with the leak check on: the same methods, and `build` gives a
/// [`Runtime`] whose `block_on` fails (panics) when tasks outlive the body.
///
/// ```
/// let rt = leakproof::leakcheck::runtime::Builder::new_current_thread()
///     .enable_all()
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     tokio::spawn(async {}).await.unwrap();
/// });
/// ```
pub struct Builder {
    inner: tokio::runtime::Builder,
    flavor: &'static str,
    check: LeakCheck,
}

impl Builder {
    /// A current-thread runtime, as `tokio::runtime::Builder::new_current_thread`.
    pub fn new_current_thread() -> Builder {
        Builder {
            inner: tokio::runtime::Builder::new_current_thread(),
            flavor: "current_thread",
            check: LeakCheck::new(),
        }
    }

    /// A multi-thread runtime, as `tokio::runtime::Builder::new_multi_thread`.
    pub fn new_multi_thread() -> Builder {
        Builder {
            inner: tokio::runtime::Builder::new_multi_thread(),
            flavor: "multi_thread",
            check: LeakCheck::new(),
        }
    }

    /// The leak check's options (grace period, slow-poll threshold, ignore rules) for this
    /// runtime instead of the defaults from the environment.
    pub fn leak_check(&mut self, check: LeakCheck) -> &mut Self {
        self.check = check;
        self
    }

    /// Enables the I/O and time drivers, as tokio's.
    pub fn enable_all(&mut self) -> &mut Self {
        self.inner.enable_all();
        self
    }

    /// Enables the time driver, as tokio's.
    pub fn enable_time(&mut self) -> &mut Self {
        self.inner.enable_time();
        self
    }

    /// Sets the number of worker threads, as tokio's.
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.inner.worker_threads(n);
        self
    }

    /// Names the runtime, as tokio's.
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.inner.name(name);
        self
    }

    /// Starts with the clock paused, as tokio's (needs this crate's `test-util` feature, which
    /// turns on tokio's).
    #[cfg(feature = "test-util")]
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.inner.start_paused(paused);
        self
    }

    /// What a panic in a spawned task does, as tokio's (`--cfg tokio_unstable` only, as tokio's).
    #[cfg(tokio_unstable)]
    pub fn unhandled_panic(&mut self, behavior: UnhandledPanic) -> &mut Self {
        self.inner.unhandled_panic(behavior);
        self
    }

    /// Builds the runtime with the leak check's hooks.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let shared = Shared::new(self.check.clone());
        shared.instrument(&mut self.inner);
        let rt = self.inner.build()?;
        Ok(Runtime {
            inner: Some(Inner::Shared(rt)),
            shared,
            flavor: self.flavor,
        })
    }

    /// Builds a `LocalRuntime` (the `local` flavor) with the leak check's hooks.
    pub fn build_local(&mut self, options: LocalOptions) -> io::Result<LocalRuntime> {
        let shared = Shared::new(self.check.clone());
        shared.instrument(&mut self.inner);
        let rt = self.inner.build_local(options)?;
        Ok(LocalRuntime {
            rt: Runtime {
                inner: Some(Inner::Local(rt)),
                shared,
                flavor: "local",
            },
            _not_send: std::marker::PhantomData,
        })
    }
}

enum Inner {
    Shared(tokio::runtime::Runtime),
    Local(tokio::runtime::LocalRuntime),
}

/// A tokio runtime whose `block_on` checks, once the future returns, that every task it
/// spawned has ended (waiting up to the grace period), and panics with the report otherwise.
/// Dropping it shuts tokio down without waiting forever for `spawn_blocking` tasks: one still
/// running after the grace period is reported too.
pub struct Runtime {
    inner: Option<Inner>,
    shared: Arc<Shared>,
    flavor: &'static str,
}

/// The `local` flavor's runtime (tokio's `LocalRuntime`), leak-checked like [`Runtime`].
pub struct LocalRuntime {
    rt: Runtime,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LocalRuntime {
    /// Runs the future, then the leak check, as [`Runtime::block_on`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        self.rt.handle()
    }
}

/// Polls a future, turning a panic into `Err(payload)`.
pub(crate) struct CatchPanic<F>(pub(crate) Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = std::thread::Result<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

impl Runtime {
    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        match self.inner.as_ref().expect("runtime is alive") {
            Inner::Shared(rt) => rt.handle(),
            Inner::Local(rt) => rt.handle(),
        }
    }

    /// Runs the future to completion, then waits (with backoff, up to the grace period) for
    /// every task spawned on the runtime to end. Panics with a leak report when some are still
    /// alive, or when a poll held its worker thread too long. A future that panics fails as
    /// itself: its panic goes on, with any leak report printed after it.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = self.shared.enter();
        let shared = &self.shared;
        let flavor = self.flavor;
        let checked = async move {
            let out = CatchPanic(Box::pin(future)).await;
            let report = shared.settle(flavor).await;
            (out, report)
        };
        let (out, report) = match self.inner.as_ref().expect("runtime is alive") {
            Inner::Shared(rt) => rt.block_on(checked),
            Inner::Local(rt) => rt.block_on(checked),
        };
        match (out, report) {
            (Ok(v), None) => v,
            (Ok(_), Some(report)) => panic!("{report}"),
            (Err(payload), report) => {
                if let Some(report) = report {
                    eprintln!("{report}");
                }
                panic::resume_unwind(payload)
            }
        }
    }

    /// Shuts the runtime down and reports what is still running: `spawn_blocking` tasks
    /// that have not returned within the grace period (left running in the background
    /// rather than waited for forever) or a worker stuck in a poll.
    pub fn shutdown(mut self) -> Result<(), super::LeakReport> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), super::LeakReport> {
        let Some(inner) = self.inner.take() else {
            return Ok(());
        };
        let report = self.shared.shutdown(
            move |grace| match inner {
                Inner::Shared(rt) => rt.shutdown_timeout(grace),
                Inner::Local(rt) => rt.shutdown_timeout(grace),
            },
            self.flavor,
        );
        report.map_or(Ok(()), Err)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if std::thread::panicking() {
            match self.inner.take() {
                Some(Inner::Shared(rt)) => rt.shutdown_background(),
                Some(Inner::Local(rt)) => rt.shutdown_background(),
                None => {}
            }
            return;
        }
        if let Err(report) = self.shutdown_inner() {
            panic!("{report}");
        }
    }
}
