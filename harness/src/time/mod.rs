//! Time: Go's `time.Sleep`, `time.After`-style timeouts, `time.Ticker` and `time.Now`.
//!
//! On tokio (and outside any checker) time is real: these are `tokio::time` underneath.
//! Under loom and shuttle time is **virtual**, one clock per execution, and no clock ticks:
//!
//! - a timer may fire at any scheduling point after it was set, so the checkers explore
//!   both "the timeout won the race" and "the work won", the interleaving behind many real
//!   leaks;
//! - but timers fire in deadline order: a 10 ms timer never fires before a 5 ms timer set at
//!   the same moment (equal deadlines fire in the order they were set). A timer is set when
//!   it is made (`sleep(d)` takes its deadline and sets it in one step), and a spawned task
//!   starts at the moment of its spawn: no timer fires while a spawned task has not started;
//! - a timer fires when its task polls it, and that task runs on in the same step: what it
//!   does before its next scheduling point (a `std` send, say) happens before any later
//!   timer fires. What it does after a scheduling point (a channel send) may be overtaken:
//!   the models explore the task being slow to run again;
//! - firing a timer moves the virtual now ([`Instant::now`]) to its deadline; nothing else
//!   moves it;
//! - a [`Ticker`] fires a bounded number of times per execution (`LEAKPROOF_TICK_LIMIT`,
//!   default 3).
//!
//! Virtual time does not know how long work takes: in a model `sleep(1 h)` may end as soon
//! as `sleep(1 ms)` would; durations only order timers. A task that sleeps in a loop
//! forever never ends in a model (it hits the step limit), and on tokio it is reported as a
//! leak once the grace period is over.
//!
//! A task whose only wait is a pending timer is not stuck: time will wake it. Such waits
//! show in reports as `[sleep]` or `[tick]` and never count as a leak or a deadlock by
//! themselves. A ticker that is stopped (or, in a model, has used up its ticks) never ticks
//! again, and a task waiting on it is stuck.
//!
//! ```
//! use std::time::Duration;
//! use leakproof::{chan, check::Check, task, time};
//!
//! Check::new("doc-time").shuttle(20).run(|| async {
//!     let (tx, rx) = chan::bounded::<&str>(1);
//!     task::spawn(async move {
//!         time::sleep(Duration::from_millis(10)).await;
//!         let _ = tx.send("slow").await;
//!     });
//!     // The 5 ms timeout always fires before the worker's 10 ms sleep ends.
//!     assert!(time::timeout(Duration::from_millis(5), rx.recv()).await.is_err());
//! }).unwrap();
//! ```

mod instant;
mod sleep;
mod ticker;

pub use instant::Instant;
pub use sleep::{sleep, sleep_until, timeout, Elapsed, Sleep, Timeout};
pub use ticker::{Tick, Ticker};

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::rt::backend::{self, Backend};
use crate::rt::clock::{self, VTimer};
use crate::rt::exec::{self, Exec};
use crate::track;

/// Whether the running execution keeps virtual time (under loom and shuttle); `false` on
/// tokio and outside any checker, where time is real.
///
/// Useful in a model that asserts exact times: with virtual time, `sleep(d)` alone moves
/// [`Instant::now`] by exactly `d`; with real time, by at least `d`.
pub fn is_virtual() -> bool {
    clock::virtual_now().is_some()
}

/// A one-shot timer on the current execution's clock: virtual in models, tokio's on tokio.
pub(crate) enum Timer {
    Virtual(VTimer),
    Real {
        deadline: tokio::time::Instant,
        /// Made on the first poll (tokio's sleep needs a runtime).
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl Timer {
    /// A timer for `deadline`, on the clock of the execution running now.
    pub(crate) fn at(deadline: Instant) -> Timer {
        match clock::virtual_exec() {
            Some(e) => Timer::Virtual(VTimer::new(e, deadline.to_virtual())),
            None => Timer::Real {
                deadline: tokio::time::Instant::from_std(deadline.into_std()),
                sleep: None,
            },
        }
    }

    /// Ready once the timer has fired, with the time it fired at.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        match self {
            Timer::Virtual(t) => t.poll(cx).map(Instant::from_virtual),
            Timer::Real { deadline, sleep } => sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(*deadline)))
                .as_mut()
                .poll(cx)
                .map(|()| Instant::now()),
        }
    }
}

/// A pending operation's record in the tracking registry: reported while the operation
/// waits, ended when it completes or is dropped.
pub(crate) struct Waiting {
    exec: Option<Arc<Exec>>,
    reported: bool,
}

impl Waiting {
    pub(crate) fn new() -> Waiting {
        Waiting {
            exec: exec::current(),
            reported: false,
        }
    }

    /// Reports (again) that the current task waits on `op` of resource `res`. Reported on
    /// every pending poll, so that when several operations of one task wait at once (a
    /// timeout around a receive) the one polled last, the timer, is what the registry shows.
    pub(crate) fn wait(&mut self, res: u64, op: &'static str, site: &'static Location<'static>) {
        self.reported = true;
        track::op_wait(
            self.exec.as_deref(),
            backend::current_task_id(),
            res,
            op,
            0,
            site,
        );
    }

    /// The operation completed.
    pub(crate) fn done(&mut self) {
        if std::mem::take(&mut self.reported) {
            track::op_done(self.exec.as_deref(), backend::current_task_id());
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.reported {
            return;
        }
        // A model execution being torn down keeps its registry as it was for the report.
        let tearing_down = std::thread::panicking()
            || self
                .exec
                .as_ref()
                .is_some_and(|e| e.backend != Backend::Tokio && !exec::is_live());
        if !tearing_down {
            self.done();
        }
    }
}
