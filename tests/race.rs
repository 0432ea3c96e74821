//! Data races on `harness::cell::RaceCell`, under each of the four checkers (loom, shuttle
//! random, shuttle PCT, a real tokio runtime).
//!
//! Two halves: each kind of missing synchronisation is flagged as `FailureKind::Race` by every
//! checker, and each happens-before edge the harness's primitives create is honoured: two
//! accesses ordered *only* by that edge raise no false alarm under any checker. On tokio a
//! race is found whenever both accesses happen in the run, whatever the real timing: the
//! vector clocks say they are unordered, which is the point of them.

use std::future::Future;
use std::sync::Arc;

use harness::cell::RaceCell;
use harness::check::{Check, Checker, Failure, FailureKind};
use harness::sync::Mutex;
use harness::{chan, task};

const ALL: [Checker; 4] = [
    Checker::Loom,
    Checker::Shuttle,
    Checker::Pct,
    Checker::Tokio,
];

/// A check named `name` that runs only `checker`, with this suite's bounds.
fn check_with(name: &str, checker: Checker) -> Check {
    let check = Check::new(format!("{name} [{checker}]"));
    match checker {
        Checker::Loom => check.loom().preemption_bound(Some(3)),
        Checker::Shuttle => check.shuttle(100),
        Checker::Pct => check.pct(100, 3),
        Checker::Tokio => check.tokio(3),
        Checker::Replay => unreachable!("the suite never replays through this helper"),
    }
}

/// Runs `body` under every checker; panics naming the checker that raised an alarm.
fn no_race<F, Fut>(name: &str, body: F)
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    for checker in ALL {
        if let Err(f) = check_with(name, checker).run(body.clone()) {
            panic!("{name}: false alarm under {checker}:\n{f}");
        }
    }
}

/// Runs `body` under every checker and asserts each one reports a race; returns the failures.
fn races<F, Fut>(name: &str, body: F) -> Vec<Failure>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    ALL.iter()
        .map(
            |&checker| match check_with(name, checker).run(body.clone()) {
                Ok(stats) => panic!("{name}: no race found under {checker} ({stats:?})"),
                Err(f) => {
                    assert_eq!(f.kind, FailureKind::Race, "{name} under {checker}:\n{f}");
                    assert_eq!(f.checker, checker);
                    f
                }
            },
        )
        .collect()
}

// ---------------------------------------------------------------------------------------
// Races that must be found.

#[test]
fn concurrent_writes_race() {
    let failures = races("concurrent writes", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let c = cell.clone();
        let t = task::spawn_named("writer", async move { c.set(1) });
        cell.set(2);
        t.await.unwrap();
    });
    for f in &failures {
        let r = &f.report;
        assert!(r.contains("WARNING: DATA RACE on RaceCell #"), "{r}");
        assert!(r.contains("write by task"), "{r}");
        assert!(r.contains("previous write by task"), "{r}");
        assert!(r.contains("\"writer\""), "names the spawned task: {r}");
        assert!(
            r.contains("\"writer\" spawned at:\n    tests/race.rs:"),
            "{r}"
        );
        assert!(r.contains("tests/race.rs:"), "access sites: {r}");
        assert!(r.contains(&format!("checker: {}", f.checker)), "{r}");
        if f.checker != Checker::Tokio {
            assert!(f.replay.is_some(), "{r}");
        }
    }
}

#[test]
fn write_then_read_without_an_edge_races() {
    races("write then read", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let c = cell.clone();
        let t = task::spawn_named("reader", async move {
            let _ = c.get();
        });
        cell.set(7);
        t.await.unwrap();
    });
}

#[test]
fn check_then_set_lazy_init_from_three_tasks_races() {
    races("lazy init", || async {
        let cell: Arc<RaceCell<Option<u32>>> = Arc::new(RaceCell::new(None));
        let mut handles = Vec::new();
        for i in 0..3u32 {
            let c = cell.clone();
            handles.push(task::spawn(async move {
                if c.get().is_none() {
                    c.set(Some(i));
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
}

/// The race is seen the same way whatever the real timing on tokio: the reader runs long
/// after the writer here, with nothing ordering them but the passing of time.
#[test]
fn tokio_finds_a_race_whatever_the_timing() {
    let f = Check::new("late reader")
        .tokio(3)
        .run(|| async {
            let cell = Arc::new(RaceCell::new(0u32));
            cell.set(1);
            let c = cell.clone();
            let t = task::spawn(async move {
                let _ = c.get();
            });
            // Spawned after the write: the read is ordered, no race.
            t.await.unwrap();
            let c = cell.clone();
            let t = task::spawn(async move {
                std::thread::sleep(std::time::Duration::from_millis(20));
                c.set(3);
            });
            std::thread::sleep(std::time::Duration::from_millis(1));
            let _ = cell.get(); // long before the write happens in real time: still a race
            t.await.unwrap();
        })
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Race, "{f}");
}

// ---------------------------------------------------------------------------------------
// Edges that must be honoured: the two accesses are ordered only by the edge under test.

#[test]
fn spawn_orders_the_parent_before_the_child() {
    no_race("spawn edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        cell.set(1);
        let c = cell.clone();
        task::spawn(async move { assert_eq!(c.get(), 1) })
            .await
            .unwrap();
    });
}

#[test]
fn join_orders_the_child_before_the_joiner() {
    no_race("join edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let c = cell.clone();
        let t = task::spawn(async move { c.set(1) });
        t.await.unwrap();
        assert_eq!(cell.get(), 1);
        cell.set(2);
    });
}

#[test]
fn unlock_orders_before_the_next_lock() {
    no_race("mutex edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let lock = Arc::new(Mutex::new(()));
        let (c, l) = (cell.clone(), lock.clone());
        let t = task::spawn(async move {
            let _g = l.lock().await;
            c.with_mut(|n| *n += 1);
        });
        {
            let _g = lock.lock().await;
            cell.with_mut(|n| *n += 1);
        }
        t.await.unwrap();
    });
}

#[test]
fn try_lock_orders_like_lock() {
    no_race("try_lock edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let lock = Arc::new(Mutex::new(()));
        let (c, l) = (cell.clone(), lock.clone());
        let t = task::spawn(async move {
            loop {
                if let Some(_g) = l.try_lock() {
                    c.with_mut(|n| *n += 1);
                    break;
                }
                task::yield_now().await;
            }
        });
        {
            let _g = lock.lock().await;
            cell.with_mut(|n| *n += 1);
        }
        t.await.unwrap();
    });
}

#[test]
fn a_send_orders_before_the_matching_receive() {
    for cap in [0usize, 1, 2] {
        no_race(&format!("send edge cap {cap}"), move || async move {
            let cell = Arc::new(RaceCell::new(0u32));
            let (tx, rx) = chan::bounded(cap);
            let c = cell.clone();
            task::spawn(async move {
                c.set(5);
                tx.send(()).await.unwrap();
            });
            rx.recv().await.unwrap();
            assert_eq!(cell.get(), 5);
        });
    }
}

#[test]
fn an_unbounded_send_orders_before_the_receive() {
    no_race("unbounded send edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::unbounded();
        let c = cell.clone();
        task::spawn(async move {
            c.set(5);
            tx.try_send(()).unwrap();
        });
        rx.recv().await.unwrap();
        assert_eq!(cell.get(), 5);
    });
}

#[test]
fn a_rendezvous_receive_orders_before_the_send_completes() {
    no_race("rendezvous edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<()>(0);
        let c = cell.clone();
        let t = task::spawn(async move {
            c.set(5);
            rx.recv().await.unwrap();
        });
        tx.send(()).await.unwrap();
        // The receive completed before our send did, and the write came before it.
        assert_eq!(cell.get(), 5);
        drop(t);
    });
}

#[test]
fn the_kth_receive_orders_before_the_k_plus_cap_send() {
    // A channel of capacity 1 as a lock: send to acquire, receive to release.
    no_race("buffered slot edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<()>(1);
        let (tx, rx) = (Arc::new(tx), Arc::new(rx));
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (c, tx, rx) = (cell.clone(), tx.clone(), rx.clone());
            handles.push(task::spawn(async move {
                tx.send(()).await.unwrap();
                c.with_mut(|n| *n += 1);
                rx.recv().await.unwrap();
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn close_orders_before_a_receive_that_sees_it() {
    no_race("close edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<()>(1);
        let c = cell.clone();
        task::spawn(async move {
            c.set(5);
            tx.close();
        });
        assert_eq!(rx.recv().await, None);
        assert_eq!(cell.get(), 5);
    });
}

#[test]
fn dropping_the_last_sender_orders_like_close() {
    no_race("drop-close edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<()>(0);
        let c = cell.clone();
        task::spawn(async move {
            c.set(5);
            drop(tx);
        });
        assert_eq!(rx.recv().await, None);
        assert_eq!(cell.get(), 5);
    });
}
