//! `tokio::time` on leakproof's clock: `sleep`, `sleep_until`, `timeout`, `timeout_at`,
//! `interval` with `MissedTickBehavior`, `Instant`, `Duration`, `error::Elapsed`, and
//! `pause` / `resume` / `advance`.
//!
//! Time is [`crate::time`]'s: virtual under loom and shuttle, real on the tokio checker.
//! Virtual time behaves like tokio's paused clock with auto-advance: it moves only when a
//! timer fires, timers fire in deadline order, and a sleep of `d` moves
//! [`Instant::now`] by exactly `d`. Unlike a paused tokio clock, a timer may fire at any
//! scheduling point after it was set (the checkers explore "the timeout won" as well as
//! "the work won"), so code that asserts a timer has *not* fired yet at some point is
//! outside what a model can promise.
//!
//! - [`pause`] and [`resume`] do nothing: virtual time is always "paused and
//!   auto-advancing", real time on the tokio checker cannot be paused (it runs a
//!   multi-thread runtime). `#[tokio::test(start_paused = true)]` is accepted for the same
//!   reason.
//! - [`advance`]`(d)` waits until the clock has moved by `d`: under virtual time every timer
//!   due before then fires first, as with tokio's `advance`; on the tokio checker it
//!   sleeps for real.
//! - An [`Interval`] fires at most `LEAKPROOF_INTERVAL_LIMIT` times (default 16) in one
//!   loom or shuttle execution; after that its `tick()` never completes, so a task that
//!   ticks forever ends up reported as a leak (`[interval exhausted]`) instead of running
//!   the model into its step limit.
//!
//! ```
//! use leakproof::tokio::time::{self, Duration, Instant};
//!
//! leakproof::check::Check::new("doc-tokio-interval").shuttle(10).run(|| async {
//!     let start = Instant::now();
//!     let mut interval = time::interval(Duration::from_millis(10));
//!     assert_eq!(interval.tick().await, start); // the first tick is immediate
//!     assert_eq!(interval.tick().await, start + Duration::from_millis(10));
//!     let slow = time::timeout(Duration::from_millis(5), time::sleep(Duration::from_millis(50)));
//!     assert!(slow.await.is_err());
//! }).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use crate::time::{sleep, sleep_until, timeout, Instant, Sleep, Timeout};
pub use std::time::Duration;

use crate::rt::clock;
use crate::rt::exec;
use crate::time::Waiting;
use crate::track;

/// The error of `timeout`, at tokio's path.
pub mod error {
    pub use crate::time::Elapsed;
}

/// Runs `future` until `deadline`: `Err(Elapsed)` if the deadline comes first.
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    timeout(deadline.saturating_duration_since(Instant::now()), future)
}

/// Does nothing: virtual time is always paused and auto-advancing; real time on the tokio
/// checker cannot be paused (see the [module docs](self)).
pub fn pause() {}

/// Does nothing (see [`pause`]).
pub fn resume() {}

/// Waits until the clock has moved by `duration`; timers due before then fire first.
#[track_caller]
pub fn advance(duration: Duration) -> impl Future<Output = ()> {
    sleep(duration)
}

/// What an [`Interval`] does with ticks it missed (the task came late), as tokio's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one after the other, then keep the schedule.
    #[default]
    Burst,
    /// Start a new schedule from the late tick: the next one is a period after it.
    Delay,
    /// Skip the missed ticks: the next one is the next on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let late = (now - timeout).as_nanos() % period.as_nanos();
                now.saturating_add(period - Duration::from_nanos(late as u64))
            }
        }
    }
}

/// An interval that fires first at once, then every `period`, as `tokio::time::interval`.
///
/// Panics if `period` is zero.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval::new(Instant::now(), period, Location::caller())
}

/// An interval that fires first at `start`, then every `period`.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval::new(start, period, Location::caller())
}

/// A stream of ticks, as tokio's `time::Interval`.
pub struct Interval {
    /// When the next tick is due.
    next: Instant,
    period: Duration,
    behavior: MissedTickBehavior,
    sleep: Option<Pin<Box<Sleep>>>,
    /// Ticks fired, and how many may fire (virtual time only).
    fired: usize,
    limit: Option<usize>,
    id: u64,
    waiting: Waiting,
}

/// How many times an interval may fire in one model execution.
fn interval_limit() -> usize {
    std::env::var("LEAKPROOF_INTERVAL_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(16)
}

impl Interval {
    fn new(start: Instant, period: Duration, site: &'static Location<'static>) -> Interval {
        let exec = exec::current();
        let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
        track::lock_created(exec.as_deref(), id, "interval", site);
        Interval {
            next: start,
            period,
            behavior: MissedTickBehavior::default(),
            sleep: None,
            fired: 0,
            limit: clock::virtual_exec().map(|_| interval_limit()),
            id,
            waiting: Waiting::new(),
        }
    }

    /// Waits for the next tick and returns the instant it was due.
    #[track_caller]
    pub fn tick(&mut self) -> impl Future<Output = Instant> + '_ {
        if self.sleep.is_none() && !self.exhausted() && self.next > Instant::now() {
            // Made here so that the wait is reported at the caller's `tick()`.
            self.sleep = Some(Box::pin(sleep_until(self.next)));
        }
        let site = Location::caller();
        std::future::poll_fn(move |cx| self.poll_tick_at(cx, site))
    }

    /// Polls for the next tick.
    #[track_caller]
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        self.poll_tick_at(cx, Location::caller())
    }

    fn exhausted(&self) -> bool {
        self.limit.is_some_and(|l| self.fired >= l)
    }

    fn poll_tick_at(
        &mut self,
        cx: &mut Context<'_>,
        site: &'static Location<'static>,
    ) -> Poll<Instant> {
        if self.exhausted() {
            // Never completes, and is no timer wait: nothing will ever end it.
            self.waiting.wait(self.id, "interval exhausted", site);
            return Poll::Pending;
        }
        let next = self.next;
        // A tick already due needs no timer (the first tick, the missed ones of a burst).
        if next > Instant::now() {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(sleep_until(next)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.sleep = None;
        self.fired += 1;
        let now = Instant::now();
        let timeout = self.next;
        self.next = if now > timeout.saturating_add(Duration::from_millis(5)) {
            self.behavior.next_timeout(timeout, now, self.period)
        } else {
            timeout.saturating_add(self.period)
        };
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(Instant::now().saturating_add(self.period));
    }

    /// Restarts the schedule: the next tick is due now.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(Instant::now().saturating_add(after));
    }

    /// Restarts the schedule: the next tick is due at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.next = deadline;
        self.sleep = None;
    }

    /// What the interval does with missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Sets what the interval does with missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.next)
            .field("missed_tick_behavior", &self.behavior)
            .finish_non_exhaustive()
    }
}
