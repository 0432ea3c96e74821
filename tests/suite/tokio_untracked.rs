//! Tasks spawned with tokio's own `spawn` on the tokio checker (a library's background task, a
//! client's connection driver): leakproof tracks neither their names nor their waits, yet one
//! still alive after the grace period is a leak listed as untracked with its spawn site, and
//! while one is alive the tasks it may wake are not called stuck for being quiet.

use std::time::Duration;

use harness::check::{Check, FailureKind};
use harness::tokio::sync::{mpsc, oneshot};

fn check(name: &str) -> Check {
    Check::new(name)
        .tokio(2)
        .tokio_grace(Duration::from_millis(400))
}

#[test]
fn a_library_task_that_never_ends_is_an_untracked_leak() {
    let failure = check("untracked-leak")
        .run(|| async {
            for _ in 0..2 {
                ::tokio::spawn(std::future::pending::<()>());
            }
        })
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Leak, "{}", failure.report);
    let r = &failure.report;
    assert!(r.starts_with("leakproof: task leak in check"), "{r}");
    assert!(r.contains("still running after the grace period"), "{r}");
    assert!(
        r.contains("2 untracked task(s) alive, spawned with tokio's own spawn"),
        "{r}"
    );
    if cfg!(tokio_unstable) {
        assert!(
            r.contains("    2 task(s) spawned at tests/suite/tokio_untracked.rs:"),
            "{r}"
        );
    } else {
        assert!(r.contains("--cfg tokio_unstable"), "{r}");
    }
}

#[test]
fn an_untracked_leak_is_listed_beside_the_tracked_tasks_it_leaves_blocked() {
    let failure = check("untracked-beside-tracked")
        .run(|| async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            harness::tokio::task::Builder::new()
                .name("consumer")
                .spawn(async move { while rx.recv().await.is_some() {} })
                .unwrap();
            // The sender lives in a task nobody stops: the consumer waits for ever.
            ::tokio::spawn(async move {
                let _tx = tx;
                std::future::pending::<()>().await
            });
        })
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Leak, "{}", failure.report);
    let r = &failure.report;
    // Shown with `--nocapture` (README quotes it).
    println!("{r}");
    assert!(r.contains("\"consumer\" [mpsc recv]"), "{r}");
    assert!(r.contains("1 untracked task(s) alive"), "{r}");
    // The untracked task holds the sender: the consumer may yet be woken.
    assert!(!r.contains("nothing left to wake them"), "{r}");
    assert!(
        r.contains("no tracked task is sending on it (an untracked task may hold a sender)"),
        "{r}"
    );
    assert!(!r.contains("the live senders are never dropped"), "{r}");
}

#[test]
fn a_library_task_that_ends_within_the_grace_period_passes() {
    check("untracked-ends")
        .run(|| async {
            ::tokio::spawn(::tokio::time::sleep(Duration::from_millis(50)));
        })
        .unwrap();
}

#[test]
fn a_quiet_spell_while_an_untracked_task_lives_is_no_leak() {
    // The consumer is blocked with nothing of leakproof's moving for longer than the checker's
    // quiet spell (100 ms), but the untracked task wakes it: a pass, no false alarm.
    check("untracked-wakes-tracked")
        .run(|| async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            harness::tokio::spawn(async move { while rx.recv().await.is_some() {} });
            ::tokio::spawn(async move {
                ::tokio::time::sleep(Duration::from_millis(250)).await;
                tx.send(1).await.unwrap();
            });
        })
        .unwrap();
}

#[test]
fn a_body_woken_by_an_untracked_task_is_no_deadlock() {
    // The body itself waits, blocked on a oneshot, for longer than the quiet spell.
    check("untracked-wakes-body")
        .run(|| async {
            let (tx, rx) = oneshot::channel::<u32>();
            ::tokio::spawn(async move {
                ::tokio::time::sleep(Duration::from_millis(250)).await;
                let _ = tx.send(7);
            });
            assert_eq!(rx.await.unwrap(), 7);
        })
        .unwrap();
}
