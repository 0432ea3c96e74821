//! tokio's tests/task_join_set.rs, ported: `harness::tokio::task::JoinSet` against tokio's
//! own expectations. Tests that spawn more than loom's four tasks run under shuttle, PCT
//! and tokio; the rest under every checker.

use harness::tokio;
use harness::tokio::sync::oneshot;
use harness::tokio::task::JoinSet;
use harness::tokio::time::Duration;

use super::support;

#[tokio::test(check = support::no_loom)]
async fn test_with_sleep() {
    let mut set = JoinSet::new();
    for i in 0..6 {
        set.spawn(async move { i });
        assert_eq!(set.len(), 1 + i);
    }
    set.detach_all();
    assert_eq!(set.len(), 0);
    assert!(set.join_next().await.is_none());
    for _round in 0..2 {
        for i in 0..6 {
            set.spawn(async move {
                tokio::time::sleep(Duration::from_millis(i as u64)).await;
                i
            });
        }
        let mut seen = [false; 6];
        while let Some(i) = set.join_next().await.transpose().unwrap() {
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert!(set.join_next().await.is_none());
    }
}

#[tokio::test(check = support::no_loom)]
async fn test_abort_on_drop() {
    let mut set = JoinSet::new();
    let mut recvs = Vec::new();
    for _ in 0..8 {
        let (send, recv) = oneshot::channel::<()>();
        recvs.push(recv);
        set.spawn(async {
            std::future::pending::<()>().await;
            drop(send);
        });
    }
    // Dropping the set aborts its tasks: their senders go away unsent.
    drop(set);
    for recv in recvs {
        assert!(recv.await.is_err());
    }
}

#[tokio::test(check = support::no_loom)]
async fn alternating() {
    let mut set = JoinSet::new();
    assert_eq!(set.len(), 0);
    set.spawn(async {});
    set.spawn(async {});
    assert_eq!(set.len(), 2);
    for _ in 0..8 {
        let () = set.join_next().await.unwrap().unwrap();
        assert_eq!(set.len(), 1);
        set.spawn(async {});
        assert_eq!(set.len(), 2);
    }
}

#[tokio::test(check = support::no_loom)]
async fn abort_tasks() {
    let mut set = JoinSet::new();
    for i in 0..8 {
        let abort = set.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i as u64)).await;
            i
        });
        if i % 2 != 0 {
            abort.abort();
        }
    }
    let (mut canceled, mut completed) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r {
            Ok(i) => {
                completed += 1;
                assert_eq!(i % 2, 0);
            }
            Err(e) => {
                assert!(e.is_cancelled());
                canceled += 1;
            }
        }
    }
    assert_eq!((canceled, completed), (4, 4));
}

#[tokio::test(check = support::light)]
async fn join_all() {
    let mut set: JoinSet<i32> = JoinSet::new();
    for _ in 0..3 {
        set.spawn(async { 1 });
    }
    let res = set.join_all().await;
    assert_eq!(res, [1, 1, 1]);
}

#[tokio::test(check = support::no_loom)]
async fn abort_all() {
    let mut set: JoinSet<()> = JoinSet::new();
    for _ in 0..3 {
        set.spawn(std::future::pending());
    }
    for _ in 0..3 {
        set.spawn(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
        });
    }
    tokio::time::sleep(Duration::from_millis(2)).await;
    set.abort_all();
    assert_eq!(set.len(), 6);
    let mut count = 0;
    while let Some(r) = set.join_next().await {
        if let Err(e) = r {
            assert!(e.is_cancelled());
        }
        count += 1;
    }
    assert_eq!(count, 6);
    assert_eq!(set.len(), 0);
}

#[tokio::test(check = support::no_loom)]
async fn try_join_next() {
    let mut set = JoinSet::new();
    for _ in 0..6 {
        let (tx, rx) = oneshot::channel::<()>();
        drop(tx);
        set.spawn(async move {
            let _ = rx.await;
        });
    }
    // Wait until every task has ended, then take them all without waiting.
    while !set.is_empty() {
        match set.try_join_next() {
            Some(r) => r.unwrap(),
            None => tokio::task::yield_now().await,
        }
    }
    assert!(set.try_join_next().is_none());
}

#[tokio::test(check = support::no_loom)]
async fn extend() {
    let mut set: JoinSet<_> = (0..3).map(|i| async move { i }).collect();
    set.extend((3..6).map(|i| async move { i }));
    let mut seen = [false; 6];
    while let Some(r) = set.join_next().await {
        seen[r.unwrap()] = true;
    }
    assert!(seen.iter().all(|s| *s));
}

#[tokio::test(check = support::light)]
async fn shutdown() {
    let mut set: JoinSet<()> = JoinSet::new();
    set.spawn(std::future::pending());
    set.spawn(async {});
    set.shutdown().await;
    assert!(set.is_empty());
}

// Beyond tokio's suite: a set whose task outlives it only by `detach_all` is a leak.

#[test]
fn a_detached_task_blocked_forever_is_a_leak() {
    let failure = support::no_loom("detached-join-set-task")
        .run(|| async {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u8>(1);
            let mut set = JoinSet::new();
            set.spawn(async move {
                let _ = rx.recv().await;
            });
            set.detach_all();
            std::mem::forget(tx);
        })
        .unwrap_err();
    assert_eq!(failure.kind, harness::check::FailureKind::Leak, "{failure}");
    assert!(failure.report.contains("[mpsc recv]"), "{failure}");
    assert!(failure.report.contains("on mpsc channel #"), "{failure}");
    assert!(
        failure.report.contains("(capacity 1, 0 queued)"),
        "{failure}"
    );
    assert!(failure.report.contains("1 sender alive"), "{failure}");
}
