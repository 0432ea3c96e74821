//! `Ticker`: Go's `time.Ticker`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Waiting};
use crate::rt::clock::{self, VTimer};
use crate::rt::exec::{self, Exec};
use crate::track;

/// Fires every `period`, like Go's `time.NewTicker`: at `start + period`, `start + 2·period`,
/// … where `start` is when the ticker was made. A tick that comes late (the task was busy)
/// fires at once, and the ticks missed meanwhile are skipped.
///
/// Under loom and shuttle a ticker fires at most `LEAKPROOF_TICK_LIMIT` times (default 3)
/// in one execution, which keeps the state space finite; after that, and after
/// [`stop`](Ticker::stop) on every checker, [`tick`](Ticker::tick) never completes. A task
/// still waiting on such a tick when the body returns is reported as a leak
/// (`[ticker exhausted]` or `[ticker stopped]`): stop tickers, and leave ticker loops on a
/// cancellation signal, not on the ticker.
///
/// ```
/// use std::time::Duration;
/// use leakproof::time::{self, Ticker};
///
/// leakproof::check::Check::new("doc-ticker").shuttle(10).run(|| async {
///     let mut ticker = Ticker::new(Duration::from_millis(5));
///     let first = ticker.tick().await;
///     let second = ticker.tick().await;
///     assert!(second - first >= Duration::from_millis(5));
///     ticker.stop();
///     // a stopped ticker never ticks again
///     let after = time::timeout(Duration::from_millis(20), ticker.tick()).await;
///     assert!(after.is_err());
/// }).unwrap();
/// ```
pub struct Ticker {
    period: Duration,
    /// The resource id that reports show (`ticker #N`).
    id: u64,
    kind: Kind,
    stopped: bool,
}

enum Kind {
    /// Virtual time: the next deadline and how many ticks fired.
    Virtual {
        exec: Arc<Exec>,
        next: Duration,
        fired: usize,
    },
    /// Real time: tokio's interval, made on the first tick (it needs a runtime).
    Real {
        first: tokio::time::Instant,
        interval: Option<tokio::time::Interval>,
    },
}

impl Ticker {
    /// A ticker that fires every `period`, first at one `period` from now.
    ///
    /// Panics if `period` is zero, as Go's `NewTicker` does.
    #[track_caller]
    pub fn new(period: Duration) -> Ticker {
        assert!(
            !period.is_zero(),
            "harness::time::Ticker::new: the period must be greater than zero"
        );
        let site = Location::caller();
        let exec = exec::current();
        let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
        track::lock_created(exec.as_deref(), id, "ticker", site);
        let kind = match clock::virtual_exec() {
            Some(e) => {
                let now = e.clock.virtual_now().unwrap_or_default();
                Kind::Virtual {
                    exec: e,
                    next: now.saturating_add(period),
                    fired: 0,
                }
            }
            None => Kind::Real {
                first: tokio::time::Instant::from_std(
                    Instant::now().saturating_add(period).into_std(),
                ),
                interval: None,
            },
        };
        Ticker {
            period,
            id,
            kind,
            stopped: false,
        }
    }

    /// Waits for the next tick and returns when it fired.
    #[track_caller]
    pub fn tick(&mut self) -> Tick<'_> {
        Tick {
            ticker: self,
            timer: None,
            waiting: Waiting::new(),
            site: Location::caller(),
        }
    }

    /// Stops the ticker: no tick fires after this, and a later `tick()` never completes.
    pub fn stop(&mut self) {
        self.stopped = true;
        if let Kind::Real { interval, .. } = &mut self.kind {
            *interval = None;
        }
    }

    /// The ticker's period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Whether [`stop`](Ticker::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("id", &self.id)
            .field("period", &self.period)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// The future of [`Ticker::tick`].
#[must_use = "a tick does nothing unless awaited"]
pub struct Tick<'a> {
    ticker: &'a mut Ticker,
    /// The virtual timer of this tick, once set.
    timer: Option<VTimer>,
    waiting: Waiting,
    site: &'static Location<'static>,
}

impl Future for Tick<'_> {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let this = &mut *self;
        let id = this.ticker.id;
        if this.ticker.stopped {
            // Never completes, and is no timer wait: nothing will ever end it.
            this.waiting.wait(id, "ticker stopped", this.site);
            return Poll::Pending;
        }
        let period = this.ticker.period;
        let fired_at = match &mut this.ticker.kind {
            Kind::Virtual { exec, next, fired } => {
                if *fired >= exec.clock.tick_limit() {
                    this.waiting.wait(id, "ticker exhausted", this.site);
                    return Poll::Pending;
                }
                let timer = this
                    .timer
                    .get_or_insert_with(|| VTimer::new(exec.clone(), *next));
                match timer.poll(cx) {
                    Poll::Ready(at) => {
                        this.timer = None;
                        *fired += 1;
                        // The next tick is one period after this one's deadline; ticks
                        // missed while the task was late are skipped.
                        let due = *next;
                        let mut following = due.saturating_add(period);
                        if following <= at {
                            let missed = (at - due).as_nanos() / period.as_nanos() + 1;
                            let missed = u32::try_from(missed).unwrap_or(u32::MAX);
                            following = due.saturating_add(period.saturating_mul(missed));
                        }
                        *next = following;
                        Instant::from_virtual(at)
                    }
                    Poll::Pending => {
                        this.waiting.wait(id, "tick", this.site);
                        return Poll::Pending;
                    }
                }
            }
            Kind::Real { first, interval } => {
                let interval = interval.get_or_insert_with(|| {
                    let mut i = tokio::time::interval_at(*first, period);
                    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    i
                });
                match interval.poll_tick(cx) {
                    Poll::Ready(_) => Instant::now(),
                    Poll::Pending => {
                        this.waiting.wait(id, "tick", this.site);
                        return Poll::Pending;
                    }
                }
            }
        };
        this.waiting.done();
        Poll::Ready(fired_at)
    }
}

impl fmt::Debug for Tick<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tick")
            .field("ticker", &self.ticker)
            .finish_non_exhaustive()
    }
}
