//! tokio-util's `CancellationToken` and `TaskTracker` on leakproof (`harness::tokio_util`),
//! under every checker: the semantics tokio-util documents, graceful shutdown across tasks,
//! and the two classic shutdown mistakes as buggy twins (a worker that never listens to its
//! token's parent, a tracker never closed).

use std::sync::Arc;

use harness::check::FailureKind;
use harness::tokio_util::sync::CancellationToken;
use harness::tokio_util::task::TaskTracker;

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

#[test]
fn cancel_token() {
    each_checker("cancel-token", || async {
        let token = CancellationToken::new();
        assert!(!token.is_cancelled());
        let mut wait = spawn(token.cancelled());
        pending(wait.poll());
        token.cancel();
        assert!(wait.is_woken());
        ready(wait.poll());
        assert!(token.is_cancelled());
        ready(spawn(token.cancelled()).poll());
    });
}

#[test]
fn cancel_child_token_through_parent() {
    each_checker("cancel-child-through-parent", || async {
        let token = CancellationToken::new();
        let child = token.child_token();
        assert!(!child.is_cancelled());
        let mut child_wait = spawn(child.cancelled());
        let mut parent_wait = spawn(token.cancelled());
        pending(child_wait.poll());
        pending(parent_wait.poll());
        token.cancel();
        assert!(child_wait.is_woken());
        assert!(parent_wait.is_woken());
        ready(child_wait.poll());
        ready(parent_wait.poll());
        assert!(child.is_cancelled());
    });
}

#[test]
fn cancel_child_token_without_parent() {
    each_checker("cancel-child-alone", || async {
        let token = CancellationToken::new();
        let child1 = token.child_token();
        let child2 = child1.child_token();
        let mut parent_wait = spawn(token.cancelled());
        pending(parent_wait.poll());
        child1.cancel();
        assert!(child1.is_cancelled());
        assert!(
            child2.is_cancelled(),
            "a grandchild is cancelled with its parent"
        );
        assert!(
            !token.is_cancelled(),
            "cancelling a child leaves the parent alone"
        );
        assert!(!parent_wait.is_woken());
        pending(parent_wait.poll());
        let child3 = token.child_token();
        assert!(!child3.is_cancelled());
        token.cancel();
        assert!(child3.is_cancelled());
    });
}

#[test]
fn create_child_token_after_parent_was_cancelled() {
    each_checker("cancel-child-after-parent", || async {
        let token = CancellationToken::new();
        token.cancel();
        let child = token.child_token();
        assert!(child.is_cancelled());
        ready(spawn(child.cancelled()).poll());
    });
}

#[test]
fn drop_guard() {
    each_checker("cancel-drop-guard", || async {
        let token = CancellationToken::new();
        drop(token.clone().drop_guard());
        assert!(token.is_cancelled());
        let token = CancellationToken::new();
        let kept = token.clone().drop_guard().disarm();
        assert!(!kept.is_cancelled());
        assert!(!token.is_cancelled());
    });
}

#[test]
fn cancelled_owned_and_run_until_cancelled() {
    each_checker("cancel-owned-run-until", || async {
        let token = CancellationToken::new();
        assert_eq!(token.run_until_cancelled(async { 7 }).await, Some(7));
        let mut owned = spawn(token.clone().cancelled_owned());
        pending(owned.poll());
        let mut pending_work = spawn(token.run_until_cancelled(std::future::pending::<()>()));
        pending(pending_work.poll());
        token.cancel();
        ready(owned.poll());
        assert_eq!(ready(pending_work.poll()), None);
    });
}

/// Graceful shutdown across tasks: workers select on the token next to their work, the
/// tracker waits for them, and none is left when the body returns.
#[test]
fn graceful_shutdown() {
    check_all("tokio-util-graceful-shutdown", Some(3), || async {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let done = Arc::new(harness::sync::atomic::AtomicUsize::new(0));
        for _ in 0..2 {
            let (token, done) = (token.child_token(), done.clone());
            tracker.spawn(async move {
                token.cancelled().await;
                done.fetch_add(1, harness::sync::atomic::Ordering::SeqCst);
            });
        }
        tracker.close();
        token.cancel();
        tracker.wait().await;
        assert_eq!(done.load(harness::sync::atomic::Ordering::SeqCst), 2);
        assert!(tracker.is_empty());
    });
}

/// The buggy twin: the worker waits on a token of its own instead of a child of the shutdown
/// token, so cancelling the shutdown token never reaches it and the tracker waits forever: a
/// deadlock, naming the tracker and the token.
#[test]
fn unrelated_token_deadlocks_shutdown() {
    let failures = expect_failure(
        "tokio-util-unrelated-token",
        FailureKind::Deadlock,
        &ALL,
        None,
        || async {
            let shutdown = CancellationToken::new();
            let tracker = TaskTracker::new();
            let own = CancellationToken::new(); // should be shutdown.child_token()
            tracker.spawn(async move { own.cancelled().await });
            tracker.close();
            shutdown.cancel();
            tracker.wait().await;
        },
    );
    for f in failures {
        assert!(f.report.contains("[cancelled]"), "{f}");
        assert!(f.report.contains("on cancellation token #"), "{f}");
        assert!(f.report.contains("[task tracker wait]"), "{f}");
    }
}

#[test]
fn task_tracker_basics() {
    each_checker("tracker-basics", || async {
        let tracker = TaskTracker::new();
        assert!(tracker.is_empty());
        assert!(!tracker.is_closed());
        let token = tracker.token();
        assert_eq!(tracker.len(), 1);
        let mut wait = spawn(tracker.wait());
        pending(wait.poll());
        assert!(tracker.close());
        assert!(!tracker.close(), "close reports whether it was open");
        assert!(!wait.is_woken(), "a token is still alive");
        drop(token);
        assert!(wait.is_woken());
        ready(wait.poll());
        assert!(tracker.reopen());
        pending(spawn(tracker.wait()).poll());
        let tracked = tracker.track_future(async { 5 });
        assert_eq!(tracker.len(), 1);
        assert_eq!(tracked.await, 5);
        assert_eq!(tracker.len(), 0);
    });
}

/// The buggy twin: the tracker is never closed, so `wait` never returns even though every
/// task finished: a deadlock under every checker, naming the tracker.
#[test]
fn tracker_never_closed_deadlocks() {
    let failures = expect_failure(
        "tokio-util-tracker-not-closed",
        FailureKind::Deadlock,
        &ALL,
        None,
        || async {
            let tracker = TaskTracker::new();
            tracker.spawn(async {});
            tracker.wait().await; // forgot tracker.close()
        },
    );
    for f in failures {
        assert!(f.report.contains("[task tracker wait]"), "{f}");
        assert!(f.report.contains("on task tracker #"), "{f}");
    }
}
