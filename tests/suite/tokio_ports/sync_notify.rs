//! tokio's tests/sync_notify.rs, ported onto `harness::tokio::sync::Notify` and run under
//! every checker; then notifications across tasks, and the classic mistake (a `notified()`
//! nobody notifies, or one created after the `notify_waiters` it was meant to see) as buggy
//! twins reported as a leak and a deadlock naming the notify.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use harness::check::FailureKind;
use harness::tokio::sync::Notify;

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

#[test]
fn notify_notified_one() {
    each_checker("notify-notified-one", || async {
        let notify = Notify::new();
        let mut notified = spawn(async { notify.notified().await });
        notify.notify_one();
        ready(notified.poll());
    });
}

#[test]
fn notify_multi_notified_one() {
    each_checker("notify-multi-notified-one", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        pending(notified2.poll());
        notify.notify_one();
        ready(notified1.poll());
        pending(notified2.poll());
    });
}

#[test]
fn notify_multi_notified_last() {
    each_checker("notify-multi-notified-last", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        pending(notified2.poll());
        notify.notify_last();
        pending(notified1.poll());
        ready(notified2.poll());
    });
}

#[test]
fn notified_one_notify() {
    each_checker("notify-notified-one-notify", || async {
        let notify = Notify::new();
        let mut notified = spawn(async { notify.notified().await });
        pending(notified.poll());
        notify.notify_one();
        assert!(notified.is_woken());
        ready(notified.poll());
    });
}

#[test]
fn notified_multi_notify() {
    each_checker("notify-notified-multi-notify", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        pending(notified2.poll());
        notify.notify_one();
        assert!(notified1.is_woken());
        assert!(!notified2.is_woken());
        ready(notified1.poll());
        pending(notified2.poll());
    });
}

#[test]
fn notify_notified_multi() {
    each_checker("notify-notify-notified-multi", || async {
        let notify = Notify::new();
        notify.notify_one();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        ready(notified1.poll());
        pending(notified2.poll());
        notify.notify_one();
        assert!(notified2.is_woken());
        ready(notified2.poll());
    });
}

#[test]
fn notified_drop_notified_notify() {
    each_checker("notify-drop-notified-notify", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        drop(notified1);
        pending(notified2.poll());
        notify.notify_one();
        assert!(notified2.is_woken());
        ready(notified2.poll());
    });
}

#[test]
fn notified_multi_notify_drop_one() {
    each_checker("notify-multi-notify-drop-one", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        pending(notified2.poll());
        notify.notify_one();
        assert!(notified1.is_woken());
        assert!(!notified2.is_woken());
        drop(notified1);
        assert!(notified2.is_woken());
        ready(notified2.poll());
    });
}

#[test]
fn notified_multi_notify_one_drop() {
    each_checker("notify-multi-notify-one-drop", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        let mut notified3 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        pending(notified2.poll());
        pending(notified3.poll());
        notify.notify_one();
        drop(notified1);
        ready(notified2.poll());
        pending(notified3.poll());
    });
}

#[test]
fn notified_multi_notify_last_drop() {
    each_checker("notify-multi-notify-last-drop", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        let mut notified2 = spawn(async { notify.notified().await });
        let mut notified3 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        pending(notified2.poll());
        pending(notified3.poll());
        notify.notify_last();
        drop(notified3);
        ready(notified2.poll());
        pending(notified1.poll());
    });
}

struct NotifyOnDrop(Arc<Notify>);

impl Wake for NotifyOnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        self.0.notify_waiters();
    }
}

/// A waker whose destructor notifies: the `Notify` must not drop wakers under its lock.
#[test]
fn notify_in_drop_after_wake() {
    each_checker("notify-in-drop-after-wake", || async {
        let notify = Arc::new(Notify::new());
        let mut fut = Box::pin(async {
            notify.notified().await;
        });
        {
            let waker = Waker::from(Arc::new(NotifyOnDrop(notify.clone())));
            let mut cx = Context::from_waker(&waker);
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
        notify.notify_waiters();
    });
}

#[test]
fn notify_one_after_dropped_all() {
    each_checker("notify-one-after-dropped-all", || async {
        let notify = Notify::new();
        let mut notified1 = spawn(async { notify.notified().await });
        pending(notified1.poll());
        notify.notify_waiters();
        notify.notify_one();
        drop(notified1);
        let mut notified2 = spawn(async { notify.notified().await });
        ready(notified2.poll());
    });
}

#[test]
fn test_notify_one_not_enabled() {
    each_checker("notify-one-not-enabled", || async {
        let notify = Notify::new();
        let mut future = spawn(notify.notified());
        notify.notify_one();
        ready(future.poll());
    });
}

#[test]
fn test_notify_one_after_enable() {
    each_checker("notify-one-after-enable", || async {
        let notify = Notify::new();
        let mut future = spawn(notify.notified());
        future.enter(|_, fut| assert!(!fut.enable()));
        notify.notify_one();
        ready(future.poll());
        future.enter(|_, fut| assert!(fut.enable()));
    });
}

#[test]
fn test_poll_after_enable() {
    each_checker("notify-poll-after-enable", || async {
        let notify = Notify::new();
        let mut future = spawn(notify.notified());
        future.enter(|_, fut| assert!(!fut.enable()));
        pending(future.poll());
    });
}

#[test]
fn test_enable_after_poll() {
    each_checker("notify-enable-after-poll", || async {
        let notify = Notify::new();
        let mut future = spawn(notify.notified());
        pending(future.poll());
        future.enter(|_, fut| assert!(!fut.enable()));
    });
}

#[test]
fn test_enable_consumes_permit() {
    each_checker("notify-enable-consumes-permit", || async {
        let notify = Notify::new();
        notify.notify_one();
        let mut future1 = spawn(notify.notified());
        future1.enter(|_, fut| assert!(fut.enable()));
        let mut future2 = spawn(notify.notified());
        future2.enter(|_, fut| assert!(!fut.enable()));
    });
}

#[test]
fn test_waker_update() {
    each_checker("notify-waker-update", || async {
        let notify = Notify::new();
        let mut future = spawn(notify.notified());
        future.enter(|_, fut| pending(fut.poll(&mut Context::from_waker(Waker::noop()))));
        pending(future.poll());
        notify.notify_one();
        assert!(future.is_woken());
    });
}

#[test]
fn unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit() {
    each_checker("notify-unpolled-preserves-permit", || async {
        let notify = Notify::new();
        let notified1 = notify.notified();
        notify.notify_waiters();
        notify.notify_one();
        ready(spawn(notified1).poll());
        let notified2 = notify.notified();
        ready(spawn(notified2).poll());
    });
}

// sync_notify_owned.rs: the same semantics through `notified_owned`

#[test]
fn owned_notify_multi_notified_one() {
    each_checker("notify-owned-multi-notified-one", || async {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(notify.clone().notified_owned());
        let mut notified2 = spawn(notify.clone().notified_owned());
        pending(notified1.poll());
        pending(notified2.poll());
        notify.notify_one();
        ready(notified1.poll());
        pending(notified2.poll());
    });
}

#[test]
fn owned_test_enable_consumes_permit() {
    each_checker("notify-owned-enable-consumes-permit", || async {
        let notify = Arc::new(Notify::new());
        notify.notify_one();
        let mut future1 = spawn(notify.clone().notified_owned());
        future1.enter(|_, fut| assert!(fut.enable()));
        let mut future2 = spawn(notify.clone().notified_owned());
        future2.enter(|_, fut| assert!(!fut.enable()));
    });
}

#[test]
fn owned_notified_multi_notify_drop_one() {
    each_checker("notify-owned-multi-notify-drop-one", || async {
        let notify = Arc::new(Notify::new());
        let mut notified1 = spawn(notify.clone().notified_owned());
        let mut notified2 = spawn(notify.clone().notified_owned());
        pending(notified1.poll());
        pending(notified2.poll());
        notify.notify_one();
        assert!(notified1.is_woken());
        assert!(!notified2.is_woken());
        drop(notified1);
        assert!(notified2.is_woken());
        ready(notified2.poll());
    });
}

// Across tasks

/// The permit: a `notify_one` before the waiter starts waiting is not lost, whichever task
/// runs first.
#[test]
fn notify_one_before_or_after_wait() {
    check_all("notify-one-either-order", None, || async {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let waiter = harness::task::spawn(async move { n.notified().await });
        notify.notify_one();
        waiter.await.unwrap();
    });
}

/// `notify_waiters` wakes every `Notified` created before it: the waiters create theirs
/// before announcing themselves, so none is missed.
#[test]
fn notify_waiters_wakes_everyone_registered() {
    check_all("notify-waiters-all", Some(3), || async {
        let notify = Arc::new(Notify::new());
        let (tx, rx) = harness::chan::bounded(2);
        let mut waiters = Vec::new();
        for _ in 0..2 {
            let (n, tx) = (notify.clone(), tx.clone());
            waiters.push(harness::task::spawn(async move {
                let notified = n.notified(); // counts from here, even unpolled
                tx.send(()).await.unwrap();
                notified.await;
            }));
        }
        for _ in 0..2 {
            rx.recv().await.unwrap();
        }
        notify.notify_waiters();
        for w in waiters {
            w.await.unwrap();
        }
    });
}

/// The buggy twin of the last test: each waiter creates its `Notified` only after
/// announcing itself, so a `notify_waiters` that runs in between is missed (it stores no
/// permit) and the waiter is left behind when the body returns: a leak, found by the model
/// checkers, naming the notify.
#[test]
fn notified_created_too_late_leaks() {
    let failures = expect_failure(
        "tokio-notify-created-too-late",
        FailureKind::Leak,
        &ALL[..3],
        Some(3),
        || async {
            let notify = Arc::new(Notify::new());
            let (tx, rx) = harness::chan::bounded(1);
            let n = notify.clone();
            harness::task::spawn(async move {
                tx.send(()).await.unwrap();
                n.notified().await; // too late: notify_waiters may already have run
            });
            rx.recv().await.unwrap();
            notify.notify_waiters();
        },
    );
    for f in failures {
        assert!(f.report.contains("[notified]"), "{f}");
        assert!(f.report.contains("on notify #"), "{f}");
        assert!(
            f.report.contains("tests/suite/tokio_ports/sync_notify.rs"),
            "{f}"
        );
    }
}

/// A `notified()` nobody ever notifies, awaited by a detached task: a leak under every
/// checker.
#[test]
fn never_notified_leaks() {
    let failures = expect_failure(
        "tokio-notify-never",
        FailureKind::Leak,
        &ALL,
        None,
        || async {
            let notify = Arc::new(Notify::new());
            let n = notify.clone();
            harness::task::spawn(async move { n.notified().await });
            harness::task::yield_now().await;
        },
    );
    for f in failures {
        assert!(f.report.contains("[notified]"), "{f}");
        assert!(f.report.contains("on notify #"), "{f}");
    }
}
