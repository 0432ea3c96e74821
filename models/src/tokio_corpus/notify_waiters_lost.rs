//! A flush that checks a counter and then waits on `notified()` misses a `notify_waiters`
//! sent in between: fwdai/fletch#194, <https://github.com/fwdai/fletch/pull/194>
//! ("fix(telemetry): use notify_one to avoid lost-wakeup flush stall").
//!
//! The report: "`Notify::notified()` registers lazily (only when polled), and
//! `notify_waiters()` only wakes already-registered waiters. A task draining inflight to zero
//! in the gap between flush's counter check and its await would fire into the void,
//! stalling flush". Here the telemetry sink counts the sends in flight under a mutex; each
//! sender task, once done, decrements the count and, at zero, calls `notify_waiters()`;
//! `flush` reads the count and, if it is not zero, waits on `notified()`. When the last
//! sender finishes between the read and the `notified()` call, its notification finds no
//! waiter and is gone: `flush` waits forever (the original stalled until a timeout; here
//! there is none, so it is a deadlock).
//!
//! The fix is the pull request's: `notify_one`, which stores a permit when nobody waits, so
//! the next `notified()` returns at once whatever the order.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::{Mutex, Notify};

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The notify-waiters-lost models: `notify_waiters` and `notify_one`.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/notify-waiters-lost",
            pattern: "models/src/tokio_corpus/notify_waiters_lost.rs",
            summary: "the last sender calls notify_waiters between flush's counter check and its notified(): flush waits forever",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/notify-waiters-lost-fixed",
            pattern: "models/src/tokio_corpus/notify_waiters_lost.rs",
            summary: "the last sender calls notify_one, whose stored permit wakes flush whatever the order",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

struct Telemetry {
    inflight: Mutex<usize>,
    drained: Notify,
    fixed: bool,
}

impl Telemetry {
    async fn start_send(&self) {
        *self.inflight.lock().await += 1;
    }

    async fn finish_send(&self) {
        let mut inflight = self.inflight.lock().await;
        *inflight -= 1;
        if *inflight == 0 {
            if self.fixed {
                self.drained.notify_one();
            } else {
                self.drained.notify_waiters();
            }
        }
    }

    async fn flush(&self) {
        loop {
            if *self.inflight.lock().await == 0 {
                return;
            }
            self.drained.notified().await;
        }
    }
}

fn scenario(check: Check, size: Size, fixed: bool) -> Result<Stats, Failure> {
    let senders = size.pick(1, 2);
    check.run(move || async move {
        let telemetry = Arc::new(Telemetry {
            inflight: Mutex::new(0),
            drained: Notify::new(),
            fixed,
        });
        for _ in 0..senders {
            telemetry.start_send().await;
            let t = telemetry.clone();
            tokio::task::Builder::new()
                .name("event-sender")
                .spawn(async move { t.finish_send().await })
                .expect("spawn a sender");
        }
        telemetry.flush().await;
        assert_eq!(*telemetry.inflight.lock().await, 0);
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
