//! `harness::sync` conformance: every primitive's semantics under each of the four checkers
//! (loom, shuttle random, shuttle PCT, a real tokio runtime), and the classic mistakes with
//! each primitive as buggy twins that leakproof must flag, each next to its correct version,
//! which must pass every checker.
//!
//! loom models are kept small (at most three spawned tasks). loom explores every
//! interleaving of most correct versions (`None`: no preemption bound); the four largest
//! (cond broadcast, semaphore cap, once, waitgroup fan-out) use a bound of 2 or 3, chosen so
//! that loom finishes its exploration (well under its 100 000-execution cap) in about a
//! second. The whole file runs in a few seconds.
//!
//! Twins whose bug shows on every schedule (a handshake forces the ABBA interleaving, the body
//! waits until the writer is queued) are asserted under all four checkers; racy twins only
//! under the model checkers, since a tokio run may never hit the window.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use harness::check::{Check, Checker, FailureKind};
use harness::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use harness::sync::{Cond, Mutex, Once, RwLock, Semaphore, WaitGroup};
use harness::{chan, task, track};

use crate::common;

use common::{check_all, expect_failure, yield_a_few, ALL};

/// The checkers that explore schedules (a tokio run may never hit a narrow race window).
const MODEL: [Checker; 3] = [Checker::Loom, Checker::Shuttle, Checker::Pct];

/// Polls a future once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// Asserts that nobody holds or waits on any lock-like resource now.
fn assert_no_holders_or_waits() {
    let snap = track::snapshot();
    for r in snap.resources.iter().filter(|r| r.kind != "channel") {
        assert!(
            r.holders.is_empty(),
            "{} #{} still held by {:?}",
            r.kind,
            r.id,
            r.holders
        );
    }
    assert!(
        snap.waits.iter().all(|w| w.op == "join"),
        "stale waits: {:?}",
        snap.waits
    );
}

// ---------------------------------------------------------------------------------------
// Static properties
// ---------------------------------------------------------------------------------------

#[test]
fn guards_and_futures_are_send() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<harness::sync::MutexGuard<'static, Vec<u8>>>();
    send::<harness::sync::MutexLockFuture<'static, Vec<u8>>>();
    send::<harness::sync::RwLockReadGuard<'static, Vec<u8>>>();
    send::<harness::sync::RwLockWriteGuard<'static, Vec<u8>>>();
    send::<harness::sync::RwLockReadFuture<'static, Vec<u8>>>();
    send::<harness::sync::RwLockWriteFuture<'static, Vec<u8>>>();
    send::<harness::sync::CondWaitFuture<'static, 'static, Vec<u8>>>();
    send::<harness::sync::SemaphorePermit<'static>>();
    send::<harness::sync::AcquireFuture<'static>>();
    send::<harness::sync::WaitGroupFuture<'static>>();
    sync::<Mutex<std::cell::Cell<u8>>>();
    sync::<RwLock<Vec<u8>>>();
    sync::<Cond>();
    sync::<WaitGroup>();
    sync::<Semaphore>();
    sync::<Once>();
    sync::<AtomicUsize>();
    sync::<AtomicBool>();
}

// ---------------------------------------------------------------------------------------
// Mutex
// ---------------------------------------------------------------------------------------

/// Two tasks each read the counter, yield inside the critical section, then write it back:
/// only mutual exclusion keeps the count exact.
#[test]
fn mutex_gives_mutual_exclusion() {
    check_all("mutex-counter", None, || async {
        let count = Arc::new(Mutex::new(0u32));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let c = count.clone();
                task::spawn(async move {
                    let mut g = c.lock().await;
                    let v = *g;
                    task::yield_now().await; // the guard is held across an await
                    *g = v + 1;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*count.lock().await, 2);
        assert_no_holders_or_waits();
    });
}

#[test]
fn mutex_try_lock() {
    check_all("mutex-try-lock", None, || async {
        let m = Arc::new(Mutex::new(0u32));
        let g = m.lock().await;
        assert!(m.try_lock().is_none(), "try_lock on a held mutex");
        let m2 = m.clone();
        let other = task::spawn(async move { m2.try_lock().is_none() });
        assert!(other.await.unwrap(), "another task got a held mutex");
        drop(g);
        *m.try_lock().expect("the mutex is free") += 1;
        assert_eq!(*m.lock().await, 1);
        assert_no_holders_or_waits();
    });
}

#[test]
fn a_waiting_lock_gets_the_mutex_when_it_is_unlocked() {
    check_all("mutex-wait", None, || async {
        let m = Arc::new(Mutex::new(Vec::new()));
        let g = m.lock().await;
        let m2 = m.clone();
        let waiter = task::spawn(async move { m2.lock().await.push("task") });
        yield_a_few().await;
        assert!(
            !waiter.is_finished(),
            "lock completed while the mutex was held"
        );
        drop(g);
        waiter.await.unwrap();
        assert_eq!(*m.lock().await, ["task"]);
    });
}

/// A dropped lock future leaves no waiter behind, and one dropped after the lock was handed
/// to it passes the lock on.
#[test]
fn a_dropped_lock_future_leaves_no_trace_and_passes_the_lock_on() {
    check_all("mutex-cancel", None, || async {
        let m = Mutex::new(0);
        let g = m.lock().await;
        let mut first = m.lock();
        let mut second = m.lock();
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut second).is_pending());
        {
            let mut gone = m.lock();
            assert!(poll_once(&mut gone).is_pending());
        } // queued, then dropped: no stale waiter
        drop(g); // hands the lock to `first`
        assert!(m.try_lock().is_none(), "the lock was handed over");
        drop(first); // handed the lock, never took it: passes it on
        let Poll::Ready(g2) = poll_once(&mut second) else {
            panic!("the lock was not passed on");
        };
        drop(g2);
        drop(second);
        assert!(m.try_lock().is_some(), "nobody holds or waits for it now");
        assert_no_holders_or_waits();
    });
}

// ---------------------------------------------------------------------------------------
// RwLock
// ---------------------------------------------------------------------------------------

#[test]
fn rwlock_readers_share() {
    check_all("rwlock-readers-share", None, || async {
        let l = Arc::new(RwLock::new(5));
        let r = l.read().await;
        let l2 = l.clone();
        // Completes while the body still holds its read lock.
        let reader = task::spawn(async move { *l2.read().await });
        assert_eq!(reader.await.unwrap(), 5);
        assert_eq!(*r, 5);
        assert!(l.try_write().is_none(), "a writer got in beside a reader");
        drop(r);
        assert!(l.try_write().is_some());
        assert_no_holders_or_waits();
    });
}

/// A writer updates two fields with a scheduling point in between; readers and the other
/// writer must never see (or make) a half-done update.
#[test]
fn rwlock_writer_excludes_readers_and_writers() {
    check_all("rwlock-writer-excludes", None, || async {
        let l = Arc::new(RwLock::new((0u32, 0u32)));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let l = l.clone();
                task::spawn(async move {
                    let mut g = l.write().await;
                    g.0 += 1;
                    task::yield_now().await;
                    g.1 += 1;
                })
            })
            .collect();
        {
            let g = l.read().await;
            assert_eq!(g.0, g.1, "a reader saw a writer's half-done update");
        }
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(*l.read().await, (2, 2));
    });
}

/// Go's RWMutex: once a writer waits, a new reader waits behind it, and the writer goes first.
#[test]
fn rwlock_is_writer_preferring() {
    check_all("rwlock-writer-preferring", None, || async {
        let l = Arc::new(RwLock::new(Vec::<&str>::new()));
        let r = l.read().await;
        let lw = l.clone();
        let writer = task::spawn(async move { lw.write().await.push("writer") });
        // Wait until the writer is queued: from then on, new readers are turned away.
        while let Some(g) = l.try_read() {
            drop(g);
            task::yield_now().await;
        }
        let lr = l.clone();
        let late_reader = task::spawn(async move { lr.read().await.clone() });
        yield_a_few().await;
        assert!(
            !late_reader.is_finished(),
            "a reader overtook a waiting writer"
        );
        drop(r);
        assert_eq!(
            late_reader.await.unwrap(),
            ["writer"],
            "the writer goes first"
        );
        writer.await.unwrap();
        assert_no_holders_or_waits();
    });
}

#[test]
fn a_dropped_waiting_writer_lets_the_readers_behind_it_in() {
    check_all("rwlock-cancel", None, || async {
        let l = RwLock::new(1);
        let r = l.read().await;
        let mut w = l.write();
        assert!(poll_once(&mut w).is_pending());
        let mut r2 = l.read();
        assert!(
            poll_once(&mut r2).is_pending(),
            "a reader overtook a writer"
        );
        drop(w); // the writer gives up: the reader behind it is let in
        let Poll::Ready(g) = poll_once(&mut r2) else {
            panic!("the reader still waits for a writer that left");
        };
        assert_eq!(*g, 1);
        drop((g, r, r2));
        // A writer handed the lock that never takes it gives it back.
        let r = l.read().await;
        let mut w = l.write();
        assert!(poll_once(&mut w).is_pending());
        drop(r); // hands the lock to `w`
        assert!(l.try_read().is_none());
        drop(w);
        assert!(l.try_write().is_some(), "the lock was not given back");
        assert_no_holders_or_waits();
    });
}

// ---------------------------------------------------------------------------------------
// Cond
// ---------------------------------------------------------------------------------------

#[test]
fn cond_signal_wakes_a_waiter() {
    check_all("cond-signal", None, || async {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let s = state.clone();
        let waiter = task::spawn(async move {
            let (ready, cond) = &*s;
            let mut g = ready.lock().await;
            while !*g {
                g = cond.wait(g).await;
            }
        });
        let (ready, cond) = &*state;
        *ready.lock().await = true;
        cond.signal();
        waiter.await.unwrap();
        assert_no_holders_or_waits();
    });
}

#[test]
fn cond_broadcast_wakes_every_waiter() {
    check_all("cond-broadcast", Some(3), || async {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let s = state.clone();
                task::spawn(async move {
                    let (ready, cond) = &*s;
                    let mut g = ready.lock().await;
                    while !*g {
                        g = cond.wait(g).await;
                    }
                })
            })
            .collect();
        let (ready, cond) = &*state;
        *ready.lock().await = true;
        cond.broadcast();
        for w in waiters {
            w.await.unwrap();
        }
    });
}

/// The classic bounded buffer: a producer and a consumer on a buffer of one slot, with
/// `not_full` and `not_empty` conditions.
#[test]
fn cond_bounded_buffer() {
    check_all("cond-bounded-buffer", None, || async {
        struct Buffer {
            slot: Mutex<Option<u32>>,
            not_full: Cond,
            not_empty: Cond,
        }
        let buf = Arc::new(Buffer {
            slot: Mutex::new(None),
            not_full: Cond::new(),
            not_empty: Cond::new(),
        });
        let b = buf.clone();
        let producer = task::spawn(async move {
            for i in 1..=2 {
                let mut g = b.slot.lock().await;
                while g.is_some() {
                    g = b.not_full.wait(g).await;
                }
                *g = Some(i);
                b.not_empty.signal();
            }
        });
        let mut got = Vec::new();
        for _ in 0..2 {
            let mut g = buf.slot.lock().await;
            while g.is_none() {
                g = buf.not_empty.wait(g).await;
            }
            got.push(g.take().unwrap());
            buf.not_full.signal();
        }
        producer.await.unwrap();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn a_signal_to_a_dropped_waiter_passes_on() {
    check_all("cond-cancel", None, || async {
        let m = Mutex::new(());
        let cond = Cond::new();
        let mut first = cond.wait(m.lock().await);
        assert!(poll_once(&mut first).is_pending());
        let mut second = cond.wait(m.lock().await); // the first wait unlocked the mutex
        assert!(poll_once(&mut second).is_pending());
        cond.signal(); // goes to `first`
        drop(first); // which is gone: the signal goes to `second`
        let Poll::Ready(g) = poll_once(&mut second) else {
            panic!("the signal was lost with the dropped waiter");
        };
        drop(g);
        drop(second);
        cond.signal(); // nobody waits: nothing happens
        assert!(m.try_lock().is_some());
        assert_no_holders_or_waits();
    });
}

// ---------------------------------------------------------------------------------------
// WaitGroup
// ---------------------------------------------------------------------------------------

#[test]
fn waitgroup_wait_returns_after_every_done() {
    check_all("waitgroup", None, || async {
        let wg = WaitGroup::new();
        wg.wait().await; // zero: returns at once
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            wg.add(1);
            let (wg, finished) = (wg.clone(), finished.clone());
            task::spawn(async move {
                finished.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait().await;
        assert_eq!(finished.load(Ordering::SeqCst), 2);
        assert_eq!(wg.count(), 0);
    });
}

#[test]
fn a_negative_waitgroup_counter_panics_outside_any_checker() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done()))
        .expect_err("done() below zero must panic");
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("negative WaitGroup counter"), "{msg}");
    assert_eq!(wg.count(), 0);
}

#[test]
fn a_negative_waitgroup_counter_is_a_panic_under_every_checker() {
    let failures = expect_failure(
        "waitgroup-negative",
        FailureKind::Panic,
        &ALL,
        Some(2),
        || async {
            let wg = WaitGroup::new();
            wg.add(1);
            let w = wg.clone();
            let t = task::spawn_named("double-done", async move {
                w.done();
                w.done();
            });
            let _ = t.await;
            wg.wait().await;
        },
    );
    for f in failures {
        assert!(
            f.report.contains("negative WaitGroup counter"),
            "{}",
            f.report
        );
        assert!(f.report.contains("\"double-done\""), "{}", f.report);
        assert!(f.report.contains("tests/suite/sync.rs:"), "{}", f.report);
    }
}

// ---------------------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------------------

#[test]
fn semaphore_caps_concurrency() {
    check_all("semaphore-cap", Some(2), || async {
        let sem = Arc::new(Semaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
                task::spawn(async move {
                    let _permit = sem.acquire().await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&most),
            "{most} holders at once with 2 permits"
        );
        assert_eq!(sem.available_permits(), 2);
        assert_no_holders_or_waits();
    });
}

#[test]
fn semaphore_try_acquire_and_available_permits() {
    check_all("semaphore-try", None, || async {
        let sem = Arc::new(Semaphore::new(1));
        assert_eq!(sem.available_permits(), 1);
        let p = sem.try_acquire().expect("one permit is free");
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire().is_none());
        let s = sem.clone();
        let waiter = task::spawn(async move {
            let _p = s.acquire().await;
        });
        yield_a_few().await;
        assert!(
            !waiter.is_finished(),
            "acquire completed with no permit free"
        );
        drop(p);
        waiter.await.unwrap();
        assert_eq!(sem.available_permits(), 1);
        // A permit handed to an acquire that is then dropped goes back.
        let p = sem.acquire().await;
        let mut pending = sem.acquire();
        assert!(poll_once(&mut pending).is_pending());
        drop(p);
        assert_eq!(sem.available_permits(), 0, "the permit was handed over");
        drop(pending);
        assert_eq!(sem.available_permits(), 1, "the permit came back");
        sem.add_permits(1);
        assert_eq!(sem.available_permits(), 2);
        assert_no_holders_or_waits();
    });
}

// ---------------------------------------------------------------------------------------
// Once
// ---------------------------------------------------------------------------------------

#[test]
fn once_runs_once_and_every_caller_sees_it_done() {
    check_all("once", Some(3), || async {
        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let value = Arc::new(Mutex::new(None));
        let call = |once: Arc<Once>, runs: Arc<AtomicUsize>, value: Arc<Mutex<Option<u32>>>| async move {
            let v = value.clone();
            once.call_once(|| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                task::yield_now().await; // the initialisation may await
                *v.lock().await = Some(42);
            })
            .await;
            // Whoever ran it, it is complete when call_once returns.
            assert_eq!(*value.lock().await, Some(42));
        };
        let tasks: Vec<_> = (0..2)
            .map(|_| task::spawn(call(once.clone(), runs.clone(), value.clone())))
            .collect();
        call(once.clone(), runs.clone(), value.clone()).await;
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(once.is_completed());
        assert_no_holders_or_waits();
    });
}

// ---------------------------------------------------------------------------------------
// Atomics
// ---------------------------------------------------------------------------------------

/// Two tasks increment a shared counter with `f`; the body asserts the total.
async fn two_increments(f: fn(&AtomicU64)) {
    let n = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let n = n.clone();
            task::spawn(async move { f(&n) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(n.load(Ordering::SeqCst), 2, "an increment was lost");
}

#[test]
fn a_separate_load_and_store_loses_an_update() {
    let failures = expect_failure(
        "atomic-lost-update",
        FailureKind::Panic,
        &MODEL,
        Some(3),
        || {
            two_increments(|n| {
                let v = n.load(Ordering::SeqCst);
                n.store(v + 1, Ordering::SeqCst);
            })
        },
    );
    for f in failures {
        assert!(f.report.contains("an increment was lost"), "{}", f.report);
    }
}

#[test]
fn fetch_add_loses_no_update() {
    check_all("atomic-fetch-add", None, || {
        two_increments(|n| {
            n.fetch_add(1, Ordering::Relaxed);
        })
    });
    check_all("atomic-cas-loop", None, || {
        two_increments(|n| {
            let mut v = n.load(Ordering::Relaxed);
            while let Err(now) = n.compare_exchange(v, v + 1, Ordering::AcqRel, Ordering::Relaxed) {
                v = now;
            }
        })
    });
}

#[test]
fn atomics_have_std_methods() {
    check_all("atomic-methods", None, || async {
        let b = AtomicBool::new(false);
        assert!(!b.swap(true, Ordering::SeqCst));
        assert!(b.fetch_and(false, Ordering::SeqCst));
        assert!(!b.fetch_or(true, Ordering::SeqCst));
        assert!(b.fetch_not(Ordering::SeqCst));
        assert_eq!(
            b.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst),
            Ok(false)
        );
        let i = AtomicI64::new(-5);
        assert_eq!(i.fetch_add(10, Ordering::SeqCst), -5);
        assert_eq!(i.fetch_min(-1, Ordering::SeqCst), 5);
        assert_eq!(i.fetch_max(3, Ordering::SeqCst), -1);
        assert_eq!(
            i.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v * 2)),
            Ok(3)
        );
        assert_eq!(i.into_inner(), 6);
        let u = AtomicUsize::default();
        assert_eq!(u.fetch_sub(1, Ordering::SeqCst), 0); // wraps, like std
        assert_eq!(u.load(Ordering::SeqCst), usize::MAX);
        assert_eq!(format!("{:?}", AtomicU64::from(7)), "7");
    });
}

// ---------------------------------------------------------------------------------------
// Buggy twins: the classic mistakes, which leakproof must flag, next to their fixes
// ---------------------------------------------------------------------------------------

/// Two tasks take two mutexes in opposite orders. With `handshake`, each has taken its
/// first lock before either tries its second (the deadlock then happens on every schedule,
/// on tokio too); without, only the schedules that interleave the two acquisitions deadlock.
async fn abba(handshake: bool, same_order: bool) {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a_tx, a_rx) = chan::bounded::<()>(1);
    let (b_tx, b_rx) = chan::bounded::<()>(1);
    let (a1, b1) = (a.clone(), b.clone());
    let t1 = task::spawn_named("A", async move {
        let _first = a1.lock().await;
        if handshake {
            a_tx.send(()).await.unwrap();
            b_rx.recv().await;
        }
        *b1.lock().await += 1;
    });
    let (first, second) = if same_order { (a, b) } else { (b, a) };
    let t2 = task::spawn_named("B", async move {
        let _first = first.lock().await;
        if handshake {
            b_tx.send(()).await.unwrap();
            a_rx.recv().await;
        }
        *second.lock().await += 1;
    });
    t1.await.unwrap();
    t2.await.unwrap();
}

#[test]
fn abba_lock_order_is_a_deadlock_with_a_wait_for_cycle() {
    let failures = expect_failure("abba", FailureKind::Deadlock, &ALL, Some(2), || {
        abba(true, false)
    });
    for f in failures {
        let r = &f.report;
        assert!(r.contains("wait-for cycle"), "{r}");
        assert!(r.contains("\"A\" holds mutex #"), "{r}");
        assert!(r.contains("\"B\" holds mutex #"), "{r}");
        assert!(r.contains("waits for mutex #"), "{r}");
        assert!(r.contains("held by task"), "{r}");
        assert!(
            r.contains("\"A\" [lock]") && r.contains("\"B\" [lock]"),
            "{r}"
        );
        assert!(r.contains("on mutex #"), "{r}");
        let cycle = f.snapshot.wait_cycle().expect("a wait-for cycle");
        assert_eq!(cycle.len(), 2, "{cycle:?}");
    }
}

#[test]
fn abba_without_a_handshake_is_found_by_the_model_checkers() {
    let failures = expect_failure("abba-racy", FailureKind::Deadlock, &MODEL, Some(2), || {
        abba(false, false)
    });
    for f in &failures {
        assert!(f.report.contains("wait-for cycle"), "{}", f.report);
    }
    // The schedule replays.
    let token = failures[2].replay.clone().expect("pct failures replay");
    let again = Check::new("abba-racy")
        .replay(&token)
        .run(|| abba(false, false))
        .unwrap_err();
    assert_eq!(again.kind, FailureKind::Deadlock, "{again}");
    assert_eq!(again.checker, Checker::Replay);
}

#[test]
fn one_lock_order_never_deadlocks() {
    check_all("abba-fixed", None, || abba(false, true));
}

/// A task holds a read lock and takes it again, while a writer waits in between. With
/// `deterministic`, the body makes sure the writer is queued before the second read.
async fn recursive_read(recursive: bool, deterministic: bool) {
    let l = Arc::new(RwLock::new(0));
    let first = l.read().await;
    let lw = l.clone();
    let writer = task::spawn_named("writer", async move {
        *lw.write().await += 1;
    });
    if deterministic {
        while let Some(g) = l.try_read() {
            drop(g);
            task::yield_now().await;
        }
    } else {
        task::yield_now().await;
    }
    if recursive {
        let second = l.read().await; // waits behind the writer, which waits for `first`
        assert_eq!(*second, *first);
    }
    drop(first);
    writer.await.unwrap();
}

#[test]
fn a_recursive_read_lock_with_a_waiting_writer_deadlocks() {
    let failures = expect_failure(
        "recursive-read",
        FailureKind::Deadlock,
        &ALL,
        Some(2),
        || recursive_read(true, true),
    );
    for f in failures {
        let r = &f.report;
        assert!(r.contains("task 0 \"main\" [read]"), "{r}");
        assert!(r.contains("\"writer\" [write]"), "{r}");
        assert!(r.contains("on rwlock #"), "{r}");
        assert!(r.contains("held by task 0 \"main\""), "{r}");
    }
    expect_failure(
        "recursive-read-racy",
        FailureKind::Deadlock,
        &MODEL,
        Some(2),
        || recursive_read(true, false),
    );
}

#[test]
fn a_single_read_lock_with_a_writer_passes() {
    check_all("single-read", None, || recursive_read(false, false));
    check_all("single-read-writer-queued", None, || {
        recursive_read(false, true)
    });
}

/// A worker waits for a flag that the notifier never sets or signals (it "returns early").
async fn cond_nobody_signals(join: bool, notify: bool) {
    let state = Arc::new((Mutex::new(false), Cond::new()));
    let s = state.clone();
    let waiter = task::spawn_named("waiter", async move {
        let (ready, cond) = &*s;
        let mut g = ready.lock().await;
        while !*g {
            g = cond.wait(g).await;
        }
    });
    if notify {
        let (ready, cond) = &*state;
        *ready.lock().await = true;
        cond.broadcast();
    }
    if join {
        waiter.await.unwrap();
    }
}

/// Nobody signals: a waiter the body does not wait for is a leak (the body returned and the
/// waiter is blocked forever: a goroutine leak); if the body joins it, every task is blocked
/// before the body returns: a deadlock. A cond has no holder, so there is no wait-for cycle.
#[test]
fn a_cond_wait_nobody_signals_is_a_leak_or_a_deadlock() {
    let leaks = expect_failure("cond-unsignalled", FailureKind::Leak, &ALL, Some(2), || {
        cond_nobody_signals(false, false)
    });
    for f in leaks {
        let r = &f.report;
        assert!(r.contains("\"waiter\" [wait]"), "{r}");
        assert!(r.contains("on cond #"), "{r}");
        assert!(!r.contains("wait-for cycle"), "{r}");
    }
    let deadlocks = expect_failure(
        "cond-unsignalled-joined",
        FailureKind::Deadlock,
        &ALL,
        Some(2),
        || cond_nobody_signals(true, false),
    );
    for f in deadlocks {
        assert!(f.report.contains("\"waiter\" [wait]"), "{}", f.report);
        assert!(f.report.contains("task 0 \"main\" [join]"), "{}", f.report);
    }
}

#[test]
fn a_signalled_cond_wait_passes() {
    check_all("cond-signalled", None, || cond_nobody_signals(false, true));
    check_all("cond-signalled-joined", None, || {
        cond_nobody_signals(true, true)
    });
}

/// Workers wait for a go signal sent after the spawn loop. `wait_in_loop` is the bug: the
/// body waits for the first worker before it spawns the rest and sends the signals.
async fn waitgroup_fan_out(wait_in_loop: bool) {
    let wg = WaitGroup::new();
    let (go_tx, go_rx) = chan::bounded::<()>(0);
    for i in 0..2 {
        wg.add(1);
        let (worker_wg, go_rx) = (wg.clone(), go_rx.clone());
        task::spawn_named(format!("worker-{i}"), async move {
            go_rx.recv().await;
            worker_wg.done();
        });
        if wait_in_loop {
            wg.wait().await; // BUG: waits for a worker that waits for the go signal
        }
    }
    for _ in 0..2 {
        go_tx.send(()).await.unwrap();
    }
    wg.wait().await;
}

#[test]
fn waitgroup_wait_inside_the_spawn_loop_deadlocks() {
    let failures = expect_failure(
        "waitgroup-in-loop",
        FailureKind::Deadlock,
        &ALL,
        Some(2),
        || waitgroup_fan_out(true),
    );
    for f in failures {
        let r = &f.report;
        assert!(r.contains("task 0 \"main\" [wait]"), "{r}");
        assert!(r.contains("on waitgroup #"), "{r}");
        assert!(r.contains("\"worker-0\" [chan recv]"), "{r}");
    }
}

#[test]
fn waitgroup_wait_after_the_spawn_loop_passes() {
    check_all("waitgroup-after-loop", Some(3), || waitgroup_fan_out(false));
}

// ---------------------------------------------------------------------------------------
// Teardown: guards and waiting futures left behind by a failed execution
// ---------------------------------------------------------------------------------------

/// A task that leaks while holding a lock and a permit (and another stuck waiting for that
/// lock) is reported as a leak; tearing the execution down drops their guards and futures
/// without calling into the dead execution (which would abort the test binary).
#[test]
fn a_task_leaked_while_holding_a_lock_is_a_leak_and_teardown_is_clean() {
    let failures = expect_failure("leak-holding", FailureKind::Leak, &ALL, Some(2), || async {
        let m = Arc::new(Mutex::new(0));
        let sem = Arc::new(Semaphore::new(1));
        let (tx, rx) = chan::bounded::<()>(0);
        let (m1, s1) = (m.clone(), sem.clone());
        let (held_tx, held_rx) = chan::bounded::<()>(1);
        task::spawn_named("holder", async move {
            let _g = m1.lock().await;
            let _p = s1.acquire().await;
            held_tx.send(()).await.unwrap();
            rx.recv().await; // nobody sends
        });
        held_rx.recv().await;
        task::spawn_named("queued", async move {
            let _g = m.lock().await;
        });
        std::mem::forget(tx);
    });
    for f in failures {
        let r = &f.report;
        assert!(r.contains("\"holder\" [chan recv]"), "{r}");
        assert!(r.contains("\"queued\" [lock]"), "{r}");
        assert!(
            r.lines()
                .any(|l| l.contains("held by task") && l.contains("\"holder\"")),
            "{r}"
        );
    }
}

/// A panic inside a critical section fails the execution as a panic; the guard dropped
/// while unwinding does not call into the checker.
#[test]
fn a_panic_while_holding_a_lock_is_a_panic_under_every_checker() {
    let failures = expect_failure(
        "panic-holding",
        FailureKind::Panic,
        &ALL,
        Some(2),
        || async {
            let l = Arc::new(RwLock::new(0));
            let l2 = l.clone();
            let t = task::spawn_named("doomed", async move {
                let g = l2.write().await;
                assert_eq!(*g, 1, "deliberately wrong");
            });
            let _ = t.await;
            let _ = l.read().await;
        },
    );
    for f in failures {
        assert!(f.report.contains("deliberately wrong"), "{}", f.report);
    }
}

/// A semaphore wait is not waiting for one task: any holder's release would do. A task
/// holding a permit while it sleeps must not make the others look like a wait-for cycle.
#[test]
fn a_semaphore_wait_behind_a_sleeping_holder_is_no_deadlock_on_tokio() {
    Check::new("sem-or-wait")
        .tokio(1)
        .run(|| async {
            let sem = Arc::new(Semaphore::new(2));
            let m = Arc::new(Mutex::new(()));
            let (c_tx, c_rx) = chan::bounded::<()>(1);
            let (a_tx, a_rx) = chan::bounded::<()>(1);
            let (b_tx, b_rx) = chan::bounded::<()>(1);
            let s = sem.clone();
            let c = task::spawn_named("C", async move {
                let _p = s.acquire().await;
                c_tx.send(()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            });
            c_rx.recv().await;
            let (s, m2) = (sem.clone(), m.clone());
            let a = task::spawn_named("A", async move {
                let _p = s.acquire().await;
                a_tx.send(()).await.unwrap();
                b_rx.recv().await;
                let _g = m2.lock().await;
            });
            let (s, m3) = (sem.clone(), m.clone());
            let b = task::spawn_named("B", async move {
                let _g = m3.lock().await;
                b_tx.send(()).await.unwrap();
                a_rx.recv().await;
                let _p = s.acquire().await;
            });
            c.await.unwrap();
            a.await.unwrap();
            b.await.unwrap();
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// The one acquire future: a grant racing a waiter's drop
// ---------------------------------------------------------------------------------------

/// What a lock operation holds while it holds the lock (a guard or a permit).
type Held<'a> = Box<dyn Send + 'a>;
/// A lock operation, boxed so that one test drives every lock.
type Taking<'a> = Pin<Box<dyn Future<Output = Held<'a>> + Send + 'a>>;

/// Three tasks on one lock: the body holds it; a second task queues for it and drops its
/// future while the body's release may be granting it the lock; a third waits for it too.
/// Whichever comes first, the grant must pass on (to the third task, or back to the lock):
/// a lost grant leaves the third task, or the body's last `take`, blocked forever, which
/// every checker reports.
async fn grant_races_a_dropped_waiter<L: Send + Sync + 'static>(
    lock: L,
    hold: for<'a> fn(&'a L) -> Taking<'a>,
    waiter: for<'a> fn(&'a L) -> Taking<'a>,
    behind: for<'a> fn(&'a L) -> Taking<'a>,
) {
    let lock = Arc::new(lock);
    let held = hold(&lock).await;
    let (queued, is_queued) = chan::bounded::<()>(1);
    let dropper = {
        let lock = lock.clone();
        task::spawn(async move {
            let mut fut = waiter(&lock);
            assert!(poll_once(&mut fut).is_pending(), "the lock is held");
            queued.send(()).await.unwrap();
            task::yield_now().await;
            drop(fut); // before, while or after the release grants it the lock
        })
    };
    let third = {
        let lock = lock.clone();
        task::spawn(async move { drop(behind(&lock).await) })
    };
    is_queued.recv().await.unwrap();
    drop(held);
    dropper.await.unwrap();
    third.await.unwrap();
    drop(hold(&lock).await); // free again: nothing kept the dropped waiter's grant
    assert_no_holders_or_waits();
}

fn lock_mutex(m: &Mutex<()>) -> Taking<'_> {
    Box::pin(async move { Box::new(m.lock().await) as Held<'_> })
}

fn acquire_permit(s: &Semaphore) -> Taking<'_> {
    Box::pin(async move { Box::new(s.acquire().await) as Held<'_> })
}

fn read_lock(l: &RwLock<()>) -> Taking<'_> {
    Box::pin(async move { Box::new(l.read().await) as Held<'_> })
}

fn write_lock(l: &RwLock<()>) -> Taking<'_> {
    Box::pin(async move { Box::new(l.write().await) as Held<'_> })
}

#[test]
fn a_mutex_grant_to_a_dropped_waiter_passes_on() {
    check_all("grant-race-mutex", Some(2), || {
        grant_races_a_dropped_waiter(Mutex::new(()), lock_mutex, lock_mutex, lock_mutex)
    });
}

#[test]
fn a_permit_granted_to_a_dropped_waiter_passes_on() {
    check_all("grant-race-semaphore", Some(2), || {
        grant_races_a_dropped_waiter(
            Semaphore::new(1),
            acquire_permit,
            acquire_permit,
            acquire_permit,
        )
    });
}

#[test]
fn an_rwlock_grant_to_a_dropped_waiter_passes_on() {
    // A dropped writer with a reader behind it, and a dropped reader with a writer behind.
    check_all("grant-race-rwlock-write", Some(2), || {
        grant_races_a_dropped_waiter(RwLock::new(()), write_lock, write_lock, read_lock)
    });
    check_all("grant-race-rwlock-read", Some(2), || {
        grant_races_a_dropped_waiter(RwLock::new(()), write_lock, read_lock, write_lock)
    });
}
