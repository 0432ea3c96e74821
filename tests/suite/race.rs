//! Data races on `harness::cell::RaceCell`, under each of the four checkers (loom, shuttle
//! random, shuttle PCT, a real tokio runtime).
//!
//! Two halves: each kind of missing synchronisation is flagged as `FailureKind::Race` by every
//! checker, and each happens-before edge the harness's primitives create is honoured: two
//! accesses ordered *only* by that edge raise no false alarm under any checker. On tokio a
//! race is found whenever both accesses happen in the run, whatever the real timing: the
//! vector clocks say they are unordered, which is the point of them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use harness::cell::RaceCell;
use harness::check::{Check, Checker, Failure, FailureKind};
use harness::context::Context;
use harness::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use harness::sync::{Cond, Mutex, Once, RwLock, Semaphore, WaitGroup};
use harness::track::snapshot;
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
            r.contains("\"writer\" spawned at:\n    tests/suite/race.rs:"),
            "{r}"
        );
        assert!(r.contains("tests/suite/race.rs:"), "access sites: {r}");
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

#[test]
fn a_flag_published_with_relaxed_orderings_races() {
    let failures = races("relaxed flag", || async {
        let data = Arc::new(RaceCell::new(0u32));
        let ready = Arc::new(AtomicBool::new(false));
        let (d, r) = (data.clone(), ready.clone());
        task::spawn_named("publisher", async move {
            d.set(42);
            r.store(true, Ordering::Relaxed);
        });
        while !ready.load(Ordering::Relaxed) {
            task::yield_now().await;
        }
        let _ = data.get();
    });
    for f in &failures {
        assert!(f.report.contains("read by task 0 \"main\""), "{f}");
        assert!(f.report.contains("previous write by task"), "{f}");
    }
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
fn a_write_after_the_send_races_with_the_receiver() {
    // The twin of `a_send_orders_before_the_matching_receive`: the send orders only what came
    // before it. The receive usually parks before the execution's first `RaceCell` access,
    // which switches the detector on; a channel keeps no clock released before then (it
    // would be empty), and that must neither order nor hide anything.
    for cap in [0usize, 1] {
        races(
            &format!("written after the send, cap {cap}"),
            move || async move {
                let cell = Arc::new(RaceCell::new(0u32));
                let (tx, rx) = chan::bounded(cap);
                let c = cell.clone();
                task::spawn(async move {
                    tx.send(()).await.unwrap();
                    c.set(5);
                });
                rx.recv().await.unwrap();
                let _ = cell.get();
            },
        );
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

#[test]
fn rwlock_write_unlock_orders_before_later_reads_and_writes() {
    no_race("rwlock write edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let lock = Arc::new(RwLock::new(()));
        let mut handles = Vec::new();
        for i in 0..2u32 {
            let (c, l) = (cell.clone(), lock.clone());
            handles.push(task::spawn(async move {
                if i == 0 {
                    let _w = l.write().await;
                    c.set(1);
                } else {
                    let _r = l.read().await;
                    let _ = c.get();
                }
            }));
        }
        {
            let _w = lock.write().await;
            cell.set(2);
        }
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn rwlock_read_unlock_orders_before_the_next_write() {
    no_race("rwlock read edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let lock = Arc::new(RwLock::new(()));
        let (c, l) = (cell.clone(), lock.clone());
        let t = task::spawn(async move {
            let _r = l.read().await;
            let _ = c.get();
        });
        {
            let _w = lock.write().await;
            cell.set(2);
        }
        t.await.unwrap();
    });
}

#[test]
fn try_read_and_try_write_order_like_read_and_write() {
    no_race("rwlock try edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let lock = Arc::new(RwLock::new(()));
        let (c, l) = (cell.clone(), lock.clone());
        let t = task::spawn(async move {
            loop {
                if let Some(_r) = l.try_read() {
                    let _ = c.get();
                    break;
                }
                task::yield_now().await;
            }
        });
        loop {
            if let Some(_w) = lock.try_write() {
                cell.set(2);
                break;
            }
            task::yield_now().await;
        }
        t.await.unwrap();
    });
}

/// The signaller never touches the mutex and the flag that ends its loop is relaxed: only
/// the signal orders its write before the woken waiter's read.
#[test]
fn a_signal_orders_before_the_woken_wait_returns() {
    for broadcast in [false, true] {
        no_race(
            &format!("cond edge (broadcast: {broadcast})"),
            move || async move {
                let cell = Arc::new(RaceCell::new(0u32));
                let m = Arc::new(Mutex::new(()));
                let cond = Arc::new(Cond::new());
                let woke = Arc::new(AtomicBool::new(false));
                let guard = m.lock().await;
                let (c, cv, w) = (cell.clone(), cond.clone(), woke.clone());
                task::spawn(async move {
                    c.set(5);
                    while !w.load(Ordering::Relaxed) {
                        if broadcast {
                            cv.broadcast();
                        } else {
                            cv.signal();
                        }
                        task::yield_now().await;
                    }
                });
                let guard = cond.wait(guard).await;
                woke.store(true, Ordering::Relaxed);
                assert_eq!(cell.get(), 5);
                drop(guard);
            },
        );
    }
}

#[test]
fn cond_wait_keeps_the_mutex_edges() {
    no_race("cond mutex edge", || async {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let cell = Arc::new(RaceCell::new(0u32));
        let (s, c) = (state.clone(), cell.clone());
        task::spawn(async move {
            let mut ready = s.0.lock().await;
            c.set(5);
            *ready = true;
            drop(ready);
            s.1.signal();
        });
        let mut ready = state.0.lock().await;
        while !*ready {
            ready = state.1.wait(ready).await;
        }
        assert_eq!(cell.get(), 5);
    });
}

#[test]
fn waitgroup_done_orders_before_wait_returns() {
    no_race("waitgroup edge", || async {
        let cells: Arc<Vec<RaceCell<u32>>> = Arc::new((0..2).map(|_| RaceCell::new(0)).collect());
        let wg = WaitGroup::new();
        for i in 0..2 {
            wg.add(1);
            let (cells, wg) = (cells.clone(), wg.clone());
            task::spawn(async move {
                cells[i].set(i as u32 + 1);
                wg.done();
            });
        }
        wg.wait().await;
        assert_eq!(cells[0].get() + cells[1].get(), 3);
    });
}

#[test]
fn once_orders_the_initialisation_before_every_caller() {
    no_race("once edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let once = Arc::new(Once::new());
        let (c, o) = (cell.clone(), once.clone());
        let t = task::spawn(async move {
            o.call_once(|| async { c.set(1) }).await;
            assert_eq!(c.get(), 1);
        });
        let c = cell.clone();
        once.call_once(|| async move { c.set(1) }).await;
        assert_eq!(cell.get(), 1);
        t.await.unwrap();
    });
}

#[test]
fn a_semaphore_release_orders_before_the_next_acquire() {
    no_race("semaphore edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let sem = Arc::new(Semaphore::new(1));
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (c, s) = (cell.clone(), sem.clone());
            handles.push(task::spawn(async move {
                let _p = s.acquire().await;
                c.with_mut(|n| *n += 1);
            }));
        }
        let _p = loop {
            if let Some(p) = sem.try_acquire() {
                break p;
            }
            task::yield_now().await;
        };
        cell.with_mut(|n| *n += 1);
        drop(_p);
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn cancel_orders_before_done_returns() {
    no_race("context edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (ctx, cancel) = Context::background().with_cancel();
        let c = cell.clone();
        task::spawn(async move {
            c.set(5);
            cancel.cancel();
        });
        ctx.done().await;
        assert_eq!(cell.get(), 5);
        assert!(ctx.err().is_some());
    });
}

#[test]
fn a_winning_select_arm_gets_the_edge_of_its_operation() {
    no_race("select recv edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<u32>(0);
        let (_never_tx, never_rx) = chan::bounded::<u32>(0);
        let c = cell.clone();
        task::spawn(async move {
            c.set(5);
            tx.send(1).await.unwrap();
        });
        harness::select! {
            v = rx.recv() => assert_eq!(v, Some(1)),
            _ = never_rx.recv() => unreachable!(),
        }
        assert_eq!(cell.get(), 5);
    });
    no_race("select send edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<u32>(0);
        let (_never_tx, never_rx) = chan::bounded::<u32>(0);
        let c = cell.clone();
        let t = task::spawn(async move {
            c.set(5);
            assert_eq!(rx.recv().await, Some(1));
        });
        harness::select! {
            r = tx.send(1) => r.unwrap(),
            _ = never_rx.recv() => unreachable!(),
        }
        // The receive completed before our select's send arm did.
        assert_eq!(cell.get(), 5);
        drop(t);
    });
    no_race("select done edge", || async {
        let cell = Arc::new(RaceCell::new(0u32));
        let (ctx, cancel) = Context::background().with_cancel();
        let (_never_tx, never_rx) = chan::bounded::<u32>(0);
        let c = cell.clone();
        task::spawn(async move {
            c.set(5);
            cancel.cancel();
        });
        harness::select! {
            _ = ctx.done() => {}
            _ = never_rx.recv() => unreachable!(),
        }
        assert_eq!(cell.get(), 5);
    });
}

#[test]
fn release_and_acquire_atomics_order_like_go_atomics() {
    for (store, load) in [
        (Ordering::Release, Ordering::Acquire),
        (Ordering::SeqCst, Ordering::SeqCst),
    ] {
        no_race(
            &format!("atomic edge {store:?}/{load:?}"),
            move || async move {
                let data = Arc::new(RaceCell::new(0u32));
                let ready = Arc::new(AtomicBool::new(false));
                let (d, r) = (data.clone(), ready.clone());
                task::spawn(async move {
                    d.set(42);
                    r.store(true, store);
                });
                while !ready.load(load) {
                    task::yield_now().await;
                }
                assert_eq!(data.get(), 42);
            },
        );
    }
}

/// A counter bumped with `AcqRel` read-modify-writes: the last task to finish (it sees the
/// count of the others) reads what every other task wrote.
#[test]
fn acq_rel_read_modify_writes_order_the_tasks() {
    no_race("atomic rmw edge", || async {
        let cells: Arc<Vec<RaceCell<u32>>> = Arc::new((0..2).map(|_| RaceCell::new(0)).collect());
        let finished = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::unbounded::<u32>();
        for i in 0..2 {
            let (cells, finished, tx) = (cells.clone(), finished.clone(), tx.clone());
            task::spawn(async move {
                cells[i].set(1);
                if finished.fetch_add(1, Ordering::AcqRel) == 1 {
                    let sum = cells[0].get() + cells[1].get();
                    let _ = tx.try_send(sum);
                }
            });
        }
        drop(tx);
        assert_eq!(rx.recv().await, Some(2));
    });
}

// ---------------------------------------------------------------------------------------
// Every happens-before edge of a channel (`harness/src/chan/race.rs`), each on the path where
// the partner is already parked when the operation comes and on the path where it is not.
// The tests force the path without adding an edge: a task waits until the tracking registry
// shows its partner parked (reading the registry orders nothing), or until a relaxed flag
// says the partner's operation is done (a relaxed load acquires nothing).

/// Yields until task `id` is parked on operation `op` ("send", "recv").
async fn until_parked(id: u64, op: &str) {
    while snapshot().wait_of(id).is_none_or(|w| w.op != op) {
        task::yield_now().await;
    }
}

/// Yields until `flag` is set, reading it with a relaxed load (no edge).
async fn until_set(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        task::yield_now().await;
    }
}

/// Polls `f` once: a receive that cannot complete parks (its waiting entry stays queued
/// until `f` completes or is dropped). `None` when `f` is not ready.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// The body's own task id, as `until_parked` takes it.
const BODY: u64 = 0;

/// The program: Go orders the first receive before the second send of a channel of
/// capacity 1 also when the first value went straight to a receiver that was waiting.
#[test]
fn a_receive_completed_by_a_hand_over_orders_before_the_send_that_takes_its_slot() {
    no_race("hand-over slot edge (issue 14)", || async {
        let c = Arc::new(RaceCell::new(0u32));
        let (tx, rx) = chan::bounded::<u32>(1);
        let c2 = c.clone();
        let t = task::spawn_named("writer", async move {
            c2.set(7);
            rx.recv().await;
            rx.recv().await;
        });
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert_eq!(c.get(), 7);
        drop(tx);
        let _ = t.await;
    });
}

mod channel_edges {
    use super::*;

    /// Send before receive, the receiver parked first (the value is handed over).
    #[test]
    fn send_to_a_parked_receiver_orders_before_its_receive() {
        for cap in [Some(0usize), Some(1), None] {
            for try_send in [false, true] {
                no_race(
                    &format!("send->parked recv cap {cap:?} try_send {try_send}"),
                    move || async move {
                        let cell = Arc::new(RaceCell::new(0u32));
                        let (tx, rx) = match cap {
                            Some(c) => chan::bounded::<u32>(c),
                            None => chan::unbounded(),
                        };
                        let c = cell.clone();
                        let r = task::spawn(async move {
                            assert_eq!(rx.recv().await, Some(1));
                            assert_eq!(c.get(), 5);
                        });
                        cell.set(5);
                        until_parked(r.id(), "recv").await;
                        if try_send {
                            tx.try_send(1).unwrap();
                        } else {
                            tx.send(1).await.unwrap();
                        }
                        r.await.unwrap();
                    },
                );
            }
        }
    }

    /// Send before receive, the value waiting in the buffer for a receiver that comes later.
    #[test]
    fn a_buffered_send_orders_before_a_later_receive() {
        for cap in [Some(1usize), None] {
            for try_recv in [false, true] {
                no_race(
                    &format!("buffered send->recv cap {cap:?} try_recv {try_recv}"),
                    move || async move {
                        let cell = Arc::new(RaceCell::new(0u32));
                        let sent = Arc::new(AtomicBool::new(false));
                        let (tx, rx) = match cap {
                            Some(c) => chan::bounded::<u32>(c),
                            None => chan::unbounded(),
                        };
                        let (c, s) = (cell.clone(), sent.clone());
                        let r = task::spawn(async move {
                            until_set(&s).await;
                            if try_recv {
                                assert_eq!(rx.try_recv(), Ok(1));
                            } else {
                                assert_eq!(rx.recv().await, Some(1));
                            }
                            assert_eq!(c.get(), 5);
                        });
                        cell.set(5);
                        tx.send(1).await.unwrap();
                        sent.store(true, Ordering::Relaxed);
                        r.await.unwrap();
                    },
                );
            }
        }
    }

    /// Send before receive, the sender parked first: on a rendezvous channel the receiver
    /// takes the offer directly; on a buffered one the receive that makes room moves the
    /// offer into the buffer, and a later receive takes it from there.
    #[test]
    fn a_parked_send_orders_before_the_receive_that_gets_its_value() {
        for cap in [0usize, 1] {
            no_race(
                &format!("parked send->recv cap {cap}"),
                move || async move {
                    let cell = Arc::new(RaceCell::new(0u32));
                    let (tx, rx) = chan::bounded::<u32>(cap);
                    let c = cell.clone();
                    let s = task::spawn(async move {
                        for i in 0..cap as u32 {
                            tx.send(i).await.unwrap(); // fills the buffer
                        }
                        c.set(5);
                        tx.send(9).await.unwrap();
                    });
                    until_parked(s.id(), "send").await;
                    for i in 0..cap as u32 {
                        assert_eq!(rx.recv().await, Some(i));
                    }
                    assert_eq!(rx.recv().await, Some(9));
                    assert_eq!(cell.get(), 5);
                    drop(s);
                },
            );
        }
    }

    /// Rendezvous: the receive orders before the send completes, the receiver parked first.
    #[test]
    fn a_parked_rendezvous_receive_orders_before_the_send_completes() {
        no_race("parked rendezvous recv->send", || async {
            let cell = Arc::new(RaceCell::new(0u32));
            let (tx, rx) = chan::bounded::<u32>(0);
            let c = cell.clone();
            let r = task::spawn(async move {
                c.set(5);
                rx.recv().await;
            });
            until_parked(r.id(), "recv").await;
            tx.send(1).await.unwrap();
            assert_eq!(cell.get(), 5);
            drop(r);
        });
    }

    /// Rendezvous: the receive orders before the send completes, the sender parked first.
    #[test]
    fn a_rendezvous_receive_orders_before_a_parked_send_completes() {
        no_race("rendezvous recv->parked send", || async {
            let cell = Arc::new(RaceCell::new(0u32));
            let (tx, rx) = chan::bounded::<u32>(0);
            let c = cell.clone();
            let s = task::spawn(async move {
                tx.send(1).await.unwrap();
                assert_eq!(c.get(), 5);
            });
            until_parked(s.id(), "send").await;
            cell.set(5);
            assert_eq!(rx.recv().await, Some(1));
            s.await.unwrap();
        });
    }

    /// Capacity 1: the first receive orders before the second send. Here the receiver was
    /// parked when the first value came (the hand-over frees the slot).
    #[test]
    fn a_handed_over_receive_orders_before_the_next_slot_send() {
        no_race("slot edge, receiver parked", || async {
            let cell = Arc::new(RaceCell::new(0u32));
            let (tx, rx) = chan::bounded::<u32>(1);
            let c = cell.clone();
            let w = task::spawn(async move {
                c.set(7);
                rx.recv().await;
                rx.recv().await;
            });
            until_parked(w.id(), "recv").await;
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
            assert_eq!(cell.get(), 7);
            drop(tx);
            w.await.unwrap();
        });
    }

    /// Capacity 1: the first receive orders before the second send, nobody parked: the
    /// value waits in the buffer, the receive frees the slot, the send takes it later.
    #[test]
    fn a_buffered_receive_orders_before_the_next_slot_send() {
        no_race("slot edge, nobody parked", || async {
            let cell = Arc::new(RaceCell::new(0u32));
            let (sent, received) = (
                Arc::new(AtomicBool::new(false)),
                Arc::new(AtomicBool::new(false)),
            );
            let (tx, rx) = chan::bounded::<u32>(1);
            let (c, s, r) = (cell.clone(), sent.clone(), received.clone());
            let w = task::spawn(async move {
                c.set(7);
                until_set(&s).await;
                assert_eq!(rx.try_recv(), Ok(1));
                r.store(true, Ordering::Relaxed);
                rx.recv().await;
            });
            tx.send(1).await.unwrap();
            sent.store(true, Ordering::Relaxed);
            until_set(&received).await;
            tx.try_send(2).unwrap();
            assert_eq!(cell.get(), 7);
            drop(tx);
            w.await.unwrap();
        });
    }

    /// Capacity 1: the first receive orders before the second send, the second sender
    /// parked (the receive moves its value into the freed slot).
    #[test]
    fn a_receive_orders_before_the_parked_send_it_lets_in() {
        no_race("slot edge, sender parked", || async {
            let cell = Arc::new(RaceCell::new(0u32));
            let (tx, rx) = chan::bounded::<u32>(1);
            let c = cell.clone();
            let w = task::spawn(async move {
                c.set(7);
                until_parked(BODY, "send").await;
                rx.recv().await;
                rx.recv().await;
            });
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
            assert_eq!(cell.get(), 7);
            w.await.unwrap();
        });
    }

    /// Closing (or dropping the last sender) orders before a receive that sees the close,
    /// the receiver parked first or arriving later.
    #[test]
    fn close_orders_before_a_receive_parked_or_not() {
        for by_drop in [false, true] {
            for parked in [false, true] {
                no_race(
                    &format!("close->recv by_drop {by_drop} parked {parked}"),
                    move || async move {
                        let cell = Arc::new(RaceCell::new(0u32));
                        let closed = Arc::new(AtomicBool::new(false));
                        let (tx, rx) = chan::bounded::<u32>(1);
                        let (c, cl) = (cell.clone(), closed.clone());
                        let r = task::spawn(async move {
                            if !parked {
                                until_set(&cl).await;
                            }
                            assert_eq!(rx.recv().await, None);
                            assert_eq!(c.get(), 5);
                        });
                        cell.set(5);
                        if parked {
                            until_parked(r.id(), "recv").await;
                        }
                        if by_drop {
                            drop(tx);
                        } else {
                            tx.close();
                        }
                        closed.store(true, Ordering::Relaxed);
                        r.await.unwrap();
                    },
                );
            }
        }
    }

    // A receive that was handed a value and then dropped before taking it (the value goes
    // back into the buffer) never happened: the slot its hand-over freed is taken back
    // (edge `returned`), or, when a send already took that slot, the next free is spent
    // (edge `debt`); a value given back and handed to the next parked receiver completes
    // that receive (edge `handed_buffered`). The first two must keep a real race visible
    // (without them a send acquires the clock of a receive that did not happen), the
    // third must raise no false alarm. Each with the send that takes the slot parked or not.

    /// Capacity 1: a receive handed value 1 is dropped before any send took the slot its
    /// hand-over freed. The send that takes the next slot acquires only the receive that
    /// really freed it (the body's), so the quitter's earlier write still races.
    #[test]
    fn a_dropped_handed_receive_frees_no_slot() {
        for parked_sender in [false, true] {
            races(
                &format!("undone receive, slot not taken, sender parked {parked_sender}"),
                move || async move {
                    let cell = Arc::new(RaceCell::new(0u32));
                    let (handed, dropped) = (
                        Arc::new(AtomicBool::new(false)),
                        Arc::new(AtomicBool::new(false)),
                    );
                    let (tx, rx) = chan::bounded::<u32>(1);
                    let (tx, rx) = (Arc::new(tx), Arc::new(rx));
                    let (c, r, h, d) = (cell.clone(), rx.clone(), handed.clone(), dropped.clone());
                    let q = task::spawn_named("quitter", async move {
                        c.set(7);
                        let mut f = r.recv();
                        assert!(poll_once(&mut f).await.is_none());
                        until_set(&h).await;
                        drop(f); // value 1 goes back into the buffer
                        d.store(true, Ordering::Relaxed);
                    });
                    until_parked(q.id(), "recv").await;
                    tx.send(1).await.unwrap(); // handed to the quitter
                    handed.store(true, Ordering::Relaxed);
                    until_set(&dropped).await;
                    if parked_sender {
                        let (c, t) = (cell.clone(), tx.clone());
                        let s = task::spawn_named("late sender", async move {
                            t.send(2).await.unwrap(); // parked: the buffer holds value 1
                            let _ = c.get(); // races with the quitter's write
                        });
                        until_parked(s.id(), "send").await;
                        assert_eq!(rx.recv().await, Some(1)); // lets the late sender in
                        s.await.unwrap();
                    } else {
                        assert_eq!(rx.recv().await, Some(1));
                        tx.send(2).await.unwrap(); // takes the slot our receive freed
                        let _ = cell.get(); // races with the quitter's write
                    }
                    q.await.unwrap();
                },
            );
        }
    }

    /// Capacity 1: a receive handed value 1 is dropped after send 2 took the slot its
    /// hand-over freed. The next receive's free is spent on that, so send 3 acquires the
    /// receive after it (the body's), and the quitter's write after dropping still races.
    #[test]
    fn a_dropped_handed_receive_spends_the_next_free_once_its_slot_is_taken() {
        for parked_sender in [false, true] {
            races(
                &format!("undone receive, slot taken, sender parked {parked_sender}"),
                move || async move {
                    let cell = Arc::new(RaceCell::new(0u32));
                    let (handed, mine) = (
                        Arc::new(AtomicBool::new(false)),
                        Arc::new(AtomicBool::new(false)),
                    );
                    let (tx, rx) = chan::bounded::<u32>(1);
                    let (tx, rx) = (Arc::new(tx), Arc::new(rx));
                    let (c, r, h, m) = (cell.clone(), rx.clone(), handed.clone(), mine.clone());
                    let q = task::spawn_named("quitter", async move {
                        let mut f = r.recv();
                        assert!(poll_once(&mut f).await.is_none());
                        until_set(&h).await;
                        drop(f); // value 1 goes back, in front of value 2
                        c.set(7);
                        assert_eq!(r.recv().await, Some(1)); // its free is already spent
                        m.store(true, Ordering::Relaxed);
                    });
                    until_parked(q.id(), "recv").await;
                    tx.send(1).await.unwrap(); // handed to the quitter
                    tx.send(2).await.unwrap(); // buffered: takes the hand-over's slot
                    let late = parked_sender.then(|| {
                        let (c, t) = (cell.clone(), tx.clone());
                        task::spawn_named("late sender", async move {
                            t.send(3).await.unwrap(); // parked: the buffer is full
                            let _ = c.get(); // races with the quitter's write
                        })
                    });
                    if let Some(s) = &late {
                        until_parked(s.id(), "send").await;
                    }
                    handed.store(true, Ordering::Relaxed);
                    until_set(&mine).await;
                    assert_eq!(rx.recv().await, Some(2)); // frees the slot
                    match late {
                        Some(s) => s.await.unwrap(),
                        None => {
                            tx.send(3).await.unwrap(); // takes it
                            let _ = cell.get(); // races with the quitter's write
                        }
                    }
                    q.await.unwrap();
                },
            );
        }
    }

    /// Capacity 1: value 1 is handed to the first parked receiver, which drops its receive;
    /// the value goes back and on to the next parked receiver, whose receive completes
    /// there and frees the slot that send 2 takes: its write is ordered before send 2. (The
    /// sender cannot be parked here: the buffer has room once the value is handed on.)
    #[test]
    fn a_value_given_back_and_handed_on_frees_the_slot_for_the_next_send() {
        no_race(
            "value given back, handed on to a parked receiver",
            || async {
                let cell = Arc::new(RaceCell::new(0u32));
                let (handed, dropped) = (
                    Arc::new(AtomicBool::new(false)),
                    Arc::new(AtomicBool::new(false)),
                );
                let (tx, rx) = chan::bounded::<u32>(1);
                let rx = Arc::new(rx);
                let (r, h, d) = (rx.clone(), handed.clone(), dropped.clone());
                let q = task::spawn_named("quitter", async move {
                    let mut f = r.recv();
                    assert!(poll_once(&mut f).await.is_none());
                    until_set(&h).await;
                    drop(f); // value 1 goes back, on to the waiter
                    d.store(true, Ordering::Relaxed);
                });
                until_parked(q.id(), "recv").await;
                let (c, r) = (cell.clone(), rx.clone());
                let w = task::spawn_named("waiter", async move {
                    c.set(7);
                    assert_eq!(r.recv().await, Some(1));
                });
                until_parked(w.id(), "recv").await;
                tx.send(1).await.unwrap(); // handed to the quitter, first in line
                handed.store(true, Ordering::Relaxed);
                until_set(&dropped).await;
                tx.send(2).await.unwrap(); // takes the slot the waiter's receive freed
                assert_eq!(cell.get(), 7);
                q.await.unwrap();
                w.await.unwrap();
            },
        );
    }
}
