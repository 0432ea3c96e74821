//! `Instant`: a point in the execution's time, virtual under loom and shuttle.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::OnceLock;
use std::time::Duration;

use crate::rt::clock;

/// A point in time, like `std::time::Instant`, read from the execution's clock.
///
/// On tokio (and outside any checker) it is real time. Under loom and shuttle it is the
/// execution's virtual time: it starts at the same point in every execution and moves only
/// when a timer fires (to that timer's deadline), so `Instant::now()` read twice with no
/// timer fired in between gives the same instant, and after `sleep(d)` alone it has moved
/// by exactly `d`.
///
/// ```
/// use std::time::Duration;
/// use leakproof::time::{self, Instant};
///
/// leakproof::check::Check::new("doc-instant").shuttle(10).run(|| async {
///     let start = Instant::now();
///     time::sleep(Duration::from_millis(5)).await;
///     // virtual time: exactly the sleep's duration (on tokio: at least that)
///     assert_eq!(start.elapsed(), Duration::from_millis(5));
///     assert_eq!(Instant::now() - start, Duration::from_millis(5));
///     assert!(start + Duration::from_millis(5) <= Instant::now());
/// }).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

/// Where virtual time starts, the same for every execution of the process.
fn base() -> std::time::Instant {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    *BASE.get_or_init(std::time::Instant::now)
}

/// Far enough in the future to mean "never" (as tokio does for an overflowing deadline).
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

impl Instant {
    /// The current time of this execution's clock (real on tokio, virtual in models).
    pub fn now() -> Instant {
        match clock::virtual_now() {
            Some(at) => Instant::from_virtual(at),
            None => Instant(tokio::time::Instant::now().into_std()),
        }
    }

    /// The instant `at` after the start of virtual time.
    pub(crate) fn from_virtual(at: Duration) -> Instant {
        Instant(base().checked_add(at).unwrap_or_else(|| base() + FAR))
    }

    /// This instant as virtual time since the start (zero for instants before it).
    pub(crate) fn to_virtual(self) -> Duration {
        self.0.saturating_duration_since(base())
    }

    /// The same instant as a `std::time::Instant`.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// An instant from a `std::time::Instant` (meaningful on tokio, where time is real).
    pub fn from_std(instant: std::time::Instant) -> Instant {
        Instant(instant)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time since this instant, by the execution's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + duration`, or `None` on overflow.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, or `None` on overflow.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }

    /// `self + duration`, or far in the future if that overflows.
    pub(crate) fn saturating_add(&self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .or_else(|| self.checked_add(FAR))
            .unwrap_or(*self)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.checked_duration_since(base()) {
            Some(d) => write!(f, "Instant(start + {d:?})"),
            None => write!(f, "Instant(start - {:?})", base() - self.0),
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, like `std::time::Instant`.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, like `std::time::Instant`.
    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0 - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// The time from `rhs` to `self`; zero if `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(instant: std::time::Instant) -> Instant {
        Instant(instant)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.0
    }
}
