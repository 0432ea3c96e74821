//! tokio's tests/sync_watch.rs, ported onto `harness::tokio::sync::watch` and run under every
//! checker; then changes across tasks, and a config watcher whose sender is kept alive after
//! its last update as a buggy twin (a leak naming the channel).

use harness::check::FailureKind;
use harness::tokio::sync::watch;

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

#[test]
fn single_rx_recv() {
    each_checker("watch-single-rx-recv", || async {
        let (tx, mut rx) = watch::channel("one");
        {
            let mut t = spawn(rx.changed());
            pending(t.poll());
        }
        assert_eq!(*rx.borrow(), "one");
        {
            let mut t = spawn(rx.changed());
            pending(t.poll());
            tx.send("two").unwrap();
            assert!(t.is_woken());
            ready(t.poll()).unwrap();
        }
        assert_eq!(*rx.borrow(), "two");
        {
            let mut t = spawn(rx.changed());
            pending(t.poll());
            drop(tx);
            assert!(t.is_woken());
            ready(t.poll()).unwrap_err();
        }
        assert_eq!(*rx.borrow(), "two");
    });
}

#[test]
fn rx_version_underflow() {
    each_checker("watch-version-underflow", || async {
        let (_tx, mut rx) = watch::channel("one");
        rx.mark_changed();
        rx.mark_changed();
    });
}

#[test]
fn rx_mark_changed() {
    each_checker("watch-mark-changed", || async {
        let (tx, mut rx) = watch::channel("one");
        let mut rx2 = rx.clone();
        let mut rx3 = rx.clone();
        let mut rx4 = rx.clone();
        {
            rx.mark_changed();
            assert!(rx.has_changed().unwrap());
            let mut t = spawn(rx.changed());
            ready(t.poll()).unwrap();
        }
        {
            assert!(!rx2.has_changed().unwrap());
            let mut t = spawn(rx2.changed());
            pending(t.poll());
        }
        {
            rx3.mark_changed();
            assert_eq!(*rx3.borrow(), "one");
            assert!(rx3.has_changed().unwrap());
            assert_eq!(*rx3.borrow_and_update(), "one");
            assert!(!rx3.has_changed().unwrap());
            let mut t = spawn(rx3.changed());
            pending(t.poll());
        }
        {
            tx.send("two").unwrap();
            assert!(rx4.has_changed().unwrap());
            assert_eq!(*rx4.borrow_and_update(), "two");
            rx4.mark_changed();
            assert!(rx4.has_changed().unwrap());
            assert_eq!(*rx4.borrow_and_update(), "two")
        }
        assert_eq!(*rx.borrow(), "two");
    });
}

#[test]
fn rx_mark_unchanged() {
    each_checker("watch-mark-unchanged", || async {
        let (tx, mut rx) = watch::channel("one");
        let mut rx2 = rx.clone();
        {
            assert!(!rx.has_changed().unwrap());
            rx.mark_changed();
            assert!(rx.has_changed().unwrap());
            rx.mark_unchanged();
            assert!(!rx.has_changed().unwrap());
            let mut t = spawn(rx.changed());
            pending(t.poll());
        }
        {
            assert!(!rx2.has_changed().unwrap());
            tx.send("two").unwrap();
            assert!(rx2.has_changed().unwrap());
            rx2.mark_unchanged();
            assert!(!rx2.has_changed().unwrap());
            assert_eq!(*rx2.borrow_and_update(), "two");
        }
        assert_eq!(*rx.borrow(), "two");
    });
}

#[test]
fn multi_rx() {
    each_checker("watch-multi-rx", || async {
        let (tx, mut rx1) = watch::channel("one");
        let mut rx2 = rx1.clone();
        {
            let mut t1 = spawn(rx1.changed());
            let mut t2 = spawn(rx2.changed());
            pending(t1.poll());
            pending(t2.poll());
        }
        assert_eq!(*rx1.borrow(), "one");
        assert_eq!(*rx2.borrow(), "one");
        let mut t2 = spawn(rx2.changed());
        {
            let mut t1 = spawn(rx1.changed());
            pending(t1.poll());
            pending(t2.poll());
            tx.send("two").unwrap();
            assert!(t1.is_woken());
            assert!(t2.is_woken());
            ready(t1.poll()).unwrap();
        }
        assert_eq!(*rx1.borrow(), "two");
        {
            let mut t1 = spawn(rx1.changed());
            pending(t1.poll());
            tx.send("three").unwrap();
            assert!(t1.is_woken());
            assert!(t2.is_woken());
            ready(t1.poll()).unwrap();
            ready(t2.poll()).unwrap();
        }
        assert_eq!(*rx1.borrow(), "three");
        drop(t2);
        assert_eq!(*rx2.borrow(), "three");
        {
            let mut t1 = spawn(rx1.changed());
            let mut t2 = spawn(rx2.changed());
            pending(t1.poll());
            pending(t2.poll());
            tx.send("four").unwrap();
            ready(t1.poll()).unwrap();
            ready(t2.poll()).unwrap();
        }
        assert_eq!(*rx1.borrow(), "four");
        assert_eq!(*rx2.borrow(), "four");
    });
}

#[test]
fn rx_observes_final_value() {
    each_checker("watch-final-value", || async {
        let (tx, mut rx) = watch::channel("one");
        drop(tx);
        {
            let mut t1 = spawn(rx.changed());
            ready(t1.poll()).unwrap_err();
        }
        assert_eq!(*rx.borrow(), "one");

        let (tx, mut rx) = watch::channel("one");
        tx.send("two").unwrap();
        {
            let mut t1 = spawn(rx.changed());
            ready(t1.poll()).unwrap();
        }
        assert_eq!(*rx.borrow(), "two");
        {
            let mut t1 = spawn(rx.changed());
            pending(t1.poll());
            tx.send("three").unwrap();
            drop(tx);
            assert!(t1.is_woken());
            ready(t1.poll()).unwrap();
        }
        assert_eq!(*rx.borrow(), "three");
        {
            let mut t1 = spawn(rx.changed());
            ready(t1.poll()).unwrap_err();
        }
        assert_eq!(*rx.borrow(), "three");
    });
}

#[test]
fn poll_close() {
    each_checker("watch-poll-close", || async {
        let (tx, rx) = watch::channel("one");
        {
            let mut t = spawn(tx.closed());
            pending(t.poll());
            drop(rx);
            assert!(t.is_woken());
            ready(t.poll());
        }
        assert!(tx.send("two").is_err());
    });
}

#[test]
fn borrow_and_update() {
    each_checker("watch-borrow-and-update", || async {
        let (tx, mut rx) = watch::channel("one");
        assert!(!rx.has_changed().unwrap());
        tx.send("two").unwrap();
        assert!(rx.has_changed().unwrap());
        ready(spawn(rx.changed()).poll()).unwrap();
        pending(spawn(rx.changed()).poll());
        assert!(!rx.has_changed().unwrap());
        tx.send("three").unwrap();
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), "three");
        pending(spawn(rx.changed()).poll());
        assert!(!rx.has_changed().unwrap());
        drop(tx);
        assert_eq!(*rx.borrow_and_update(), "three");
        ready(spawn(rx.changed()).poll()).unwrap_err();
        assert!(rx.has_changed().is_err());
    });
}

#[test]
fn reopened_after_subscribe() {
    each_checker("watch-reopened-after-subscribe", || async {
        let (tx, rx) = watch::channel("one");
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        let rx = tx.subscribe();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
    });
}

/// A `send_modify` closure that panics leaves the value modified but notifies nobody
/// (outside any checker: a panic inside a model's execution is a finding).
#[test]
fn send_modify_panic() {
    let (tx, mut rx) = watch::channel("one");
    tx.send_modify(|old| *old = "two");
    assert_eq!(*rx.borrow_and_update(), "two");
    let mut rx2 = rx.clone();
    assert_eq!(*rx2.borrow_and_update(), "two");
    let mut task = spawn(rx2.changed());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tx.send_modify(|old| {
            *old = "panicked";
            panic!();
        })
    }));
    assert!(result.is_err());
    pending(task.poll());
    assert_eq!(*rx.borrow(), "panicked");
    tx.send_modify(|old| *old = "three");
    ready(task.poll()).unwrap();
    assert_eq!(*rx.borrow_and_update(), "three");
}

#[test]
fn multiple_sender() {
    each_checker("watch-multiple-sender", || async {
        let (tx1, mut rx) = watch::channel(0);
        let tx2 = tx1.clone();
        let mut t = spawn(async {
            rx.changed().await.unwrap();
            let v1 = *rx.borrow_and_update();
            rx.changed().await.unwrap();
            let v2 = *rx.borrow_and_update();
            (v1, v2)
        });
        tx1.send(1).unwrap();
        pending(t.poll());
        tx2.send(2).unwrap();
        assert_eq!(ready(t.poll()), (1, 2));
    });
}

#[test]
fn receiver_is_notified_when_last_sender_is_dropped() {
    each_checker("watch-notified-last-sender-dropped", || async {
        let (tx1, mut rx) = watch::channel(0);
        let tx2 = tx1.clone();
        let mut t = spawn(rx.changed());
        pending(t.poll());
        drop(tx1);
        assert!(!t.is_woken());
        drop(tx2);
        assert!(t.is_woken());
    });
}

#[test]
fn changed_succeeds_on_closed_channel_with_unseen_value() {
    each_checker("watch-changed-closed-unseen", || async {
        let (tx, mut rx) = watch::channel("A");
        tx.send("B").unwrap();
        drop(tx);
        rx.changed()
            .await
            .expect("should not return error as long as the current value is not seen");
    });
}

#[test]
fn changed_errors_on_closed_channel_with_seen_value() {
    each_checker("watch-changed-closed-seen", || async {
        let (tx, mut rx) = watch::channel("A");
        drop(tx);
        rx.changed()
            .await
            .expect_err("should return error if the tx is closed and the current value is seen");
    });
}

#[test]
fn has_changed_errors_on_closed_channel_with_unseen_value() {
    each_checker("watch-has-changed-closed-unseen", || async {
        let (tx, rx) = watch::channel("A");
        tx.send("B").unwrap();
        drop(tx);
        rx.has_changed().expect_err("closed");
    });
}

#[test]
fn has_changed_errors_on_closed_channel_with_seen_value() {
    each_checker("watch-has-changed-closed-seen", || async {
        let (tx, rx) = watch::channel("A");
        drop(tx);
        rx.has_changed().expect_err("closed");
    });
}

#[test]
fn receiver_is_closed_after_all_senders_are_dropped() {
    each_checker("watch-receiver-is-closed", || async {
        let (tx, rx) = watch::channel("A");
        let tx2 = tx.clone();
        assert!(!rx.is_closed());
        drop(tx);
        assert!(!rx.is_closed());
        drop(tx2);
        assert!(rx.is_closed());
    });
}

#[test]
fn wait_for_errors_on_closed_channel_true_predicate() {
    each_checker("watch-wait-for-closed-true", || async {
        let (tx, mut rx) = watch::channel("A");
        tx.send("B").unwrap();
        drop(tx);
        rx.wait_for(|_| true)
            .await
            .expect("the predicate holds for the last value");
    });
}

// Across tasks

/// `wait_for` in another task sees the value it waits for, whichever order the sends and
/// the waits interleave in; `send_replace` returns the old value.
#[test]
fn wait_for_across_tasks() {
    check_all("watch-wait-for-across-tasks", None, || async {
        let (tx, mut rx) = watch::channel(0u32);
        let waiter = harness::task::spawn(async move {
            let v = *rx.wait_for(|v| *v >= 2).await.unwrap();
            v
        });
        tx.send_modify(|v| *v += 1);
        assert_eq!(tx.send_replace(2), 1);
        assert_eq!(waiter.await.unwrap(), 2);
    });
}

/// `changed` across tasks: the last value sent before the sender goes is always seen, then
/// the channel reports closed.
#[test]
fn last_value_seen_before_close() {
    check_all("watch-last-value-across-tasks", None, || async {
        let (tx, mut rx) = watch::channel(0u32);
        let reader = harness::task::spawn(async move {
            while rx.changed().await.is_ok() {}
            let last = *rx.borrow();
            last
        });
        tx.send(1).unwrap_or(());
        tx.send(2).unwrap_or(());
        drop(tx);
        assert_eq!(reader.await.unwrap(), 2);
    });
}

/// The buggy twin: a watcher loops until the channel closes, but the sender is stored in
/// something that outlives the body (forgotten here), so the watcher waits forever after
/// the last update: a leak, naming the channel.
#[test]
fn sender_kept_alive_leaks_watcher() {
    let failures = expect_failure(
        "tokio-watch-sender-kept",
        FailureKind::Leak,
        &ALL,
        None,
        || async {
            let (tx, mut rx) = watch::channel(0u32);
            harness::task::spawn(async move { while rx.changed().await.is_ok() {} });
            tx.send(1).unwrap_or(());
            harness::task::yield_now().await;
            std::mem::forget(tx);
        },
    );
    for f in failures {
        assert!(f.report.contains("[watch changed]"), "{f}");
        assert!(f.report.contains("on watch #"), "{f}");
    }
}
