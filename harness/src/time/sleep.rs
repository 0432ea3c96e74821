//! `sleep`, `sleep_until` and `timeout`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Timer, Waiting};

/// Waits until `duration` has passed: real time on tokio, virtual time under loom and
/// shuttle (see the [module docs](super)).
///
/// The deadline is taken when `sleep` is called. While it waits, the task shows in reports
/// as `[sleep]`, a wait that time ends (never counted as stuck).
///
/// ```
/// use std::time::Duration;
/// leakproof::check::Check::new("doc-sleep").shuttle(10).run(|| async {
///     leakproof::time::sleep(Duration::from_millis(1)).await;
/// }).unwrap();
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().saturating_add(duration), Location::caller())
}

/// Waits until `deadline`; at once (at the next scheduling point) if it has passed.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, Location::caller())
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// Under loom and shuttle the timer is set when the sleep is made and removed when it is
/// dropped. While its task waits on it, no later timer fires before it; a sleep made and
/// not awaited yet, or kept across other awaits, holds nothing back: it fires in its turn
/// when a later timer needs it to, and is found elapsed when it is awaited.
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    timer: Timer,
    waiting: Waiting,
    site: &'static Location<'static>,
}

impl Sleep {
    fn new(deadline: Instant, site: &'static Location<'static>) -> Sleep {
        Sleep {
            deadline,
            timer: Timer::at(deadline),
            waiting: Waiting::new(),
            site,
        }
    }

    /// When the sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Ends the wait's record (the sleep completed inside a larger future).
    fn finish(&mut self) {
        self.waiting.done();
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match this.timer.poll(cx) {
            Poll::Ready(_) => {
                this.waiting.done();
                Poll::Ready(())
            }
            Poll::Pending => {
                this.waiting.wait(0, "sleep", this.site);
                Poll::Pending
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Runs `future` for at most `duration`: `Ok(output)` if it completes first,
/// `Err(Elapsed)` if the time runs out first (the future is then dropped).
///
/// The future is polled before the timer, so a future that is ready wins even when the
/// deadline has passed. Under loom and shuttle the timer may fire at any scheduling point
/// after the first poll, so the checkers explore both "the work won" and "the timeout won".
///
/// ```
/// use std::time::Duration;
/// use leakproof::{chan, time};
///
/// leakproof::check::Check::new("doc-timeout").shuttle(10).run(|| async {
///     let (tx, rx) = chan::bounded::<u32>(1);
///     tx.send(1).await.unwrap();
///     assert_eq!(time::timeout(Duration::from_millis(5), rx.recv()).await, Ok(Some(1)));
///     // nothing more will come: the timeout fires
///     let late = time::timeout(Duration::from_millis(5), rx.recv()).await;
///     assert_eq!(late, Err(time::Elapsed::new()));
/// }).unwrap();
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future: Box::pin(future),
        sleep: Some(sleep(duration)),
    }
}

/// The future of [`timeout`].
#[must_use = "a timeout does nothing unless awaited"]
pub struct Timeout<F> {
    future: Pin<Box<F>>,
    /// Dropped (and its timer with it) as soon as the outcome is known.
    sleep: Option<Sleep>,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(v) = this.future.as_mut().poll(cx) {
            if let Some(mut s) = this.sleep.take() {
                s.finish();
            }
            return Poll::Ready(Ok(v));
        }
        let Some(sleep) = this.sleep.as_mut() else {
            return Poll::Ready(Err(Elapsed::new()));
        };
        match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => {
                this.sleep = None;
                Poll::Ready(Err(Elapsed::new()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("sleep", &self.sleep)
            .finish_non_exhaustive()
    }
}

/// The error of [`timeout`]: the time ran out before the future completed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    /// The error value (for comparisons in tests).
    pub fn new() -> Elapsed {
        Elapsed(())
    }
}

impl Default for Elapsed {
    fn default() -> Self {
        Elapsed::new()
    }
}

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elapsed")
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
