//! tokio's API on leakproof's primitives, at tokio's own paths, so that a file written for
//! tokio compiles unchanged with `use leakproof::tokio;` at its top and runs under loom,
//! shuttle, PCT and the tokio checker like any pattern.
//!
//! What is here: [`spawn`], [`task`] (`spawn`, `yield_now`, `JoinHandle`, `JoinError`,
//! `AbortHandle`, `JoinSet`, `Builder`), [`net`] (`TcpListener`, `TcpStream` and its owned
//! halves: real sockets, on the tokio checker only), [`io`] (tokio's own), [`sync::mpsc`], [`sync::oneshot`], the locks and
//! signals of [`sync`] (`Mutex`, `RwLock`, `Semaphore`, `Notify`, `Barrier`, [`sync::watch`],
//! [`sync::broadcast`]), [`time`]
//! (`sleep`, `sleep_until`, `timeout`, `timeout_at`, `interval`, `MissedTickBehavior`,
//! `Instant`, `Duration`, `error::Elapsed`, `pause`, `resume`, `advance`), the macros
//! [`select!`](crate::tokio::select), [`join!`](crate::tokio::join),
//! [`try_join!`](crate::tokio::try_join), [`pin!`](crate::tokio::pin), and the test
//! attribute [`test`]. Anything of tokio's not listed in these modules is not mirrored yet
//! and fails to compile (there is no run-time `todo!`): `spawn_blocking`, `task::LocalSet`,
//! `runtime`, `net::{UdpSocket, UnixStream, UnixListener, TcpSocket}`, `fs`, `signal`,
//! `process`, `main`.
//!
//! Each type is a thin adapter: tasks are harness tasks, waits go to the same tracking
//! registry and reports, time is the harness clock (virtual in models). Semantics are
//! tokio's where they differ from Go's: `mpsc::channel(0)` panics, a send to a closed or
//! dropped receiver returns the value in `SendError` (a result, not a finding), `recv`
//! returns `None` once every sender is gone and the buffer is drained, and a send that
//! loses a `select!` has sent nothing.
//!
//! # Tasks spawned outside leakproof
//!
//! A library that spawns with tokio's own `tokio::spawn` (hyper-util's executor, a client's
//! connection driver) starts tasks leakproof does not track. They run on the tokio checker
//! (under loom, shuttle and PCT there is no tokio runtime: tokio's `spawn` panics, and the
//! check reports that panic), and the checker does not ignore them: one still alive when
//! the grace period ([`Check::tokio_grace`](crate::check::Check::tokio_grace)) is over makes
//! the run a [`Leak`](crate::check::FailureKind::Leak), listed in the report as untracked with
//! its spawn site (with `--cfg tokio_unstable`, from tokio's task hooks; without it, counted
//! only). While one is alive, tasks blocked on leakproof's primitives are not called stuck
//! for being quiet, since the untracked task may still wake them.
//!
//! ```
//! use std::time::Duration;
//! use leakproof::check::{Check, FailureKind};
//!
//! let check = Check::new("doc-untracked").tokio(1).tokio_grace(Duration::from_millis(200));
//! let failure = check.run(|| async {
//!     // A library's background task that nothing ever stops.
//!     tokio::spawn(std::future::pending::<()>());
//! }).unwrap_err();
//! assert_eq!(failure.kind, FailureKind::Leak);
//! assert!(failure.report.contains("1 untracked task(s) alive"), "{}", failure.report);
//! ```
//!
//! # Swapping it in for a whole crate
//!
//! One shim module, as loom documents for its types:
//!
//! ```ignore
//! // src/rt.rs
//! #[cfg(leakproof)]
//! pub use leakproof::tokio;
//! #[cfg(not(leakproof))]
//! pub use ::tokio;
//! ```
//!
//! and `use crate::rt::tokio;` wherever the crate said `use tokio;` (build the checks with
//! `RUSTFLAGS="--cfg leakproof"`). A test module needs only `use leakproof::tokio;`:
//! `#[tokio::test]` then resolves to [`test`], which runs the body under every checker.
//!
//! ```
//! use leakproof::tokio::{self, sync::mpsc};
//!
//! leakproof::check::Check::new("doc-tokio").shuttle(20).tokio(1).run(|| async {
//!     let (tx, mut rx) = mpsc::channel(4);
//!     let worker = tokio::task::Builder::new()
//!         .name("worker")
//!         .spawn(async move {
//!             while let Some(n) = rx.recv().await {
//!                 let _: u32 = n;
//!             }
//!         })
//!         .unwrap();
//!     tx.send(1).await.unwrap();
//!     drop(tx); // the worker's recv returns None: it ends
//!     worker.await.unwrap();
//! }).unwrap();
//! ```

pub mod io;
mod macros;
pub mod net;
pub mod sync;
pub mod task;
pub mod time;

pub use task::spawn;

/// Marks an `async fn` as a test that runs under every checker, as `#[tokio::test]` does
/// on tokio's runtime.
///
/// With `use leakproof::tokio;` in scope an unmodified `#[tokio::test] async fn` resolves
/// here. The body becomes a [`Check`](crate::check::Check) named after the function and
/// runs under loom, shuttle, PCT and tokio (the defaults of
/// [`Defaults`](crate::check::Defaults), which environment variables change), the body
/// made afresh for every execution; a failure panics with the report. tokio's arguments
/// (`flavor`, `worker_threads`, `start_paused`, `unhandled_panic`) are accepted and do not
/// change the checking. `check = path::to::fn` picks the checkers instead: a
/// `fn(&str) -> Check` given the test's name. A test may return `()` or a `Result` whose
/// `Err` fails it. `crate = "path::to::tokio"` names this module, as tokio's `crate` names
/// the tokio crate; by default the macro reads the calling package's `Cargo.toml` and uses
/// `::leakproof::tokio`, or `::NAME::tokio` for a dependency renamed
/// `NAME = { package = "leakproof", … }` (this workspace's crates: `::harness::tokio`).
///
/// ```
/// use leakproof::tokio;
///
/// #[tokio::test(check = light)]
/// async fn sends_and_receives() {
///     let (tx, rx) = tokio::sync::oneshot::channel();
///     tokio::spawn(async move { tx.send(1).unwrap() });
///     assert_eq!(rx.await.unwrap(), 1);
/// }
///
/// fn light(name: &str) -> leakproof::check::Check {
///     leakproof::check::Check::new(name).shuttle(10).tokio(1)
/// }
/// # fn main() {}
/// ```
pub use harness_macros::test;

pub use crate::__tokio_join as join;
pub use crate::__tokio_pin as pin;
pub use crate::__tokio_select as select;
pub use crate::__tokio_try_join as try_join;

#[doc(hidden)]
pub mod __private {
    //! What the macros expand to. Not public API.
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub use crate::check::Check;
    pub use harness_macros::clean_pattern;
    pub use std::future::poll_fn;

    /// `x` modulo `n` (a function, so that lints do not see a constant `n` of 1).
    pub fn rot(x: u32, n: u32) -> u32 {
        x % n
    }

    /// A branch index below `n`, from the checker's random source.
    pub fn random_below(n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        (crate::rt::backend::random_u64() % u64::from(n)) as u32
    }

    /// A future of `join!` and its output once it has one.
    pub enum MaybeDone<F: Future> {
        /// Still running.
        Future(F),
        /// Finished, output not taken yet.
        Done(F::Output),
        /// Output taken.
        Gone,
    }

    impl<F: Future> MaybeDone<F> {
        /// Wraps a future.
        pub fn new(future: F) -> Self {
            MaybeDone::Future(future)
        }

        /// Polls the future if it is still running; whether it has finished.
        pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
            // SAFETY: the future is never moved out; it is replaced (dropped in place) once
            // it has finished.
            let this = unsafe { self.get_unchecked_mut() };
            if let MaybeDone::Future(f) = this {
                match unsafe { Pin::new_unchecked(f) }.poll(cx) {
                    Poll::Ready(v) => *this = MaybeDone::Done(v),
                    Poll::Pending => return false,
                }
            }
            true
        }

        /// The output; panics if there is none.
        pub fn take_output(self: Pin<&mut Self>) -> F::Output {
            // SAFETY: only a finished future's output moves out.
            let this = unsafe { self.get_unchecked_mut() };
            match std::mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(v) => v,
                _ => panic!("join!: output taken twice or before the future finished"),
            }
        }
    }

    impl<T, E, F: Future<Output = Result<T, E>>> MaybeDone<F> {
        /// The error, if the future finished with one (taken out).
        pub fn take_err(self: Pin<&mut Self>) -> Option<E> {
            // SAFETY: only a finished future's output moves out.
            let this = unsafe { self.get_unchecked_mut() };
            if matches!(this, MaybeDone::Done(Err(_))) {
                if let MaybeDone::Done(Err(e)) = std::mem::replace(this, MaybeDone::Gone) {
                    return Some(e);
                }
            }
            None
        }
    }

    /// The `Ok` value of a `try_join!` output known to be `Ok`.
    pub fn ok_value<T, E>(r: Result<T, E>) -> T {
        match r {
            Ok(v) => v,
            Err(_) => unreachable!("try_join!: errors return early"),
        }
    }

    /// What a test body may return: `()` or a `Result` whose `Err` fails the test.
    pub trait TestReturn {
        /// Panics on a failure.
        fn finish(self);
    }

    impl TestReturn for () {
        fn finish(self) {}
    }

    impl<E: std::fmt::Debug> TestReturn for Result<(), E> {
        fn finish(self) {
            if let Err(e) = self {
                panic!("the test returned an error: {e:?}");
            }
        }
    }

    /// Runs a `#[tokio::test]` body under the checkers `check` picks (every checker with
    /// the defaults when `None`); panics with the report on a failure.
    #[track_caller]
    pub fn run_test<F, Fut>(name: &str, check: Option<fn(&str) -> Check>, body: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        // Erased here: the checkers and the panic below are compiled once, not per test.
        run_boxed(name, check, crate::check::body(body));
    }

    #[track_caller]
    fn run_boxed(name: &str, check: Option<fn(&str) -> Check>, body: crate::check::Body) {
        let check = match check {
            Some(make) => make(name),
            None => Check::new(name),
        };
        if let Err(failure) = check.run_body(body) {
            panic!("{failure}");
        }
    }
}
