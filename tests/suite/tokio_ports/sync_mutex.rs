//! tokio's tests/sync_mutex.rs and sync_mutex_owned.rs, ported onto `harness::tokio::sync::Mutex`
//! and run under every checker; then mutual exclusion across tasks, and the classic
//! mistake (a guard held across an `.await` on something the lock's next taker must do
//! first) as a buggy twin that must be reported as a deadlock naming the mutex.

use std::sync::Arc;
use std::time::Duration;

use harness::check::FailureKind;
use harness::time::{sleep, timeout};
use harness::tokio::sync::{Mutex, Notify};

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

#[test]
fn straight_execution() {
    each_checker("mutex-straight", || async {
        let l = Mutex::new(100);
        {
            let mut t = spawn(l.lock());
            let mut g = ready(t.poll());
            assert_eq!(&*g, &100);
            *g = 99;
        }
        {
            let mut t = spawn(l.lock());
            let mut g = ready(t.poll());
            assert_eq!(&*g, &99);
            *g = 98;
        }
        {
            let mut t = spawn(l.lock());
            let g = ready(t.poll());
            assert_eq!(&*g, &98);
        }
    });
}

#[test]
fn readiness() {
    each_checker("mutex-readiness", || async {
        let l1 = Arc::new(Mutex::new(100));
        let l2 = Arc::clone(&l1);
        let mut t1 = spawn(l1.lock());
        let mut t2 = spawn(l2.lock());
        let g = ready(t1.poll());
        pending(t2.poll().map(|_| ()));
        drop(g);
        assert!(t2.is_woken());
        let _t2 = ready(t2.poll());
    });
}

/// A future holding the lock is dropped by a timeout: the mutex is free again.
#[test]
fn aborted_future_1() {
    check_all("mutex-aborted-1", None, || async {
        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let m2 = m1.clone();
            timeout(Duration::from_millis(1), async move {
                let _g = m2.lock().await;
                sleep(Duration::from_secs(1)).await;
            })
            .await
            .unwrap_err();
        }
        timeout(Duration::from_millis(1), async move {
            let _g = m1.lock().await;
        })
        .await
        .expect("Mutex is locked");
    });
}

/// A future waiting for the lock is dropped by a timeout: it leaves no trace.
#[test]
fn aborted_future_2() {
    check_all("mutex-aborted-2", None, || async {
        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let _lock = m1.lock().await;
            let m2 = m1.clone();
            timeout(Duration::from_millis(1), async move {
                let _g = m2.lock().await;
            })
            .await
            .unwrap_err();
        }
        timeout(Duration::from_millis(1), async move {
            let _g = m1.lock().await;
        })
        .await
        .expect("Mutex is locked");
    });
}

#[test]
fn try_lock() {
    each_checker("mutex-try-lock", || async {
        let m: Mutex<usize> = Mutex::new(0);
        {
            let g1 = m.try_lock();
            assert!(g1.is_ok());
            let g2 = m.try_lock();
            assert!(g2.is_err());
        }
        let g3 = m.try_lock();
        assert!(g3.is_ok());
    });
}

#[test]
fn debug_format() {
    each_checker("mutex-debug-format", || async {
        let s = "debug";
        let m = Mutex::new(s.to_string());
        assert_eq!(format!("{s:?}"), format!("{:?}", m.lock().await));
    });
}

#[test]
fn mutex_debug() {
    each_checker("mutex-debug", || async {
        let s = "data";
        let m = Mutex::new(s.to_string());
        assert_eq!(format!("{m:?}"), r#"Mutex { data: "data" }"#);
        let _guard = m.lock().await;
        assert_eq!(format!("{m:?}"), r#"Mutex { data: <locked> }"#)
    });
}

/// tokio's `mutex_fifo_with_coop_budget` without the budget (not mirrored): the first waiter
/// is woken by the unlock, the second is not.
#[test]
fn mutex_fifo() {
    each_checker("mutex-fifo", || async {
        let m = Arc::new(Mutex::new(()));
        let mut t0 = spawn(m.clone().lock_owned());
        let g0 = ready(t0.poll());
        let mut t_a = spawn(m.clone().lock_owned());
        pending(t_a.poll().map(|_| ()));
        let mut t_b = spawn(m.clone().lock_owned());
        pending(t_b.poll().map(|_| ()));
        drop(g0);
        assert!(t_a.is_woken());
        assert!(!t_b.is_woken());
    });
}

/// tokio's `mutex_coop_drop_after_take_permit` without the budget: a waiter dropped while
/// queued leaves the mutex free.
#[test]
fn mutex_drop_waiter() {
    each_checker("mutex-drop-waiter", || async {
        let m = Arc::new(Mutex::new(()));
        let mut t_a = spawn(m.clone().lock_owned());
        let g = ready(spawn(m.clone().lock_owned()).poll());
        pending(t_a.poll().map(|_| ()));
        drop(g);
        drop(t_a);
        assert!(m.try_lock().is_ok());
    });
}

// sync_mutex_owned.rs

#[test]
fn owned_straight_execution() {
    each_checker("mutex-owned-straight", || async {
        let l = Arc::new(Mutex::new(100));
        {
            let mut t = spawn(l.clone().lock_owned());
            let mut g = ready(t.poll());
            assert_eq!(&*g, &100);
            *g = 99;
        }
        {
            let mut t = spawn(l.clone().lock_owned());
            let mut g = ready(t.poll());
            assert_eq!(&*g, &99);
            *g = 98;
        }
        {
            let mut t = spawn(l.lock_owned());
            let g = ready(t.poll());
            assert_eq!(&*g, &98);
        }
    });
}

#[test]
fn owned_readiness() {
    each_checker("mutex-owned-readiness", || async {
        let l = Arc::new(Mutex::new(100));
        let mut t1 = spawn(l.clone().lock_owned());
        let mut t2 = spawn(l.lock_owned());
        let g = ready(t1.poll());
        pending(t2.poll().map(|_| ()));
        drop(g);
        assert!(t2.is_woken());
        ready(t2.poll());
    });
}

#[test]
fn owned_aborted_future_1() {
    check_all("mutex-owned-aborted-1", None, || async {
        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let m2 = m1.clone();
            timeout(Duration::from_millis(1), async move {
                let _g = m2.lock_owned().await;
                sleep(Duration::from_secs(1)).await;
            })
            .await
            .unwrap_err();
        }
        timeout(Duration::from_millis(1), async move {
            m1.lock_owned().await;
        })
        .await
        .expect("Mutex is locked");
    });
}

#[test]
fn owned_aborted_future_2() {
    check_all("mutex-owned-aborted-2", None, || async {
        let m1: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let _lock = m1.clone().lock_owned().await;
            let m2 = m1.clone();
            timeout(Duration::from_millis(1), async move {
                m2.lock_owned().await;
            })
            .await
            .unwrap_err();
        }
        timeout(Duration::from_millis(1), async move {
            m1.lock_owned().await;
        })
        .await
        .expect("Mutex is locked");
    });
}

#[test]
fn try_lock_owned() {
    each_checker("mutex-try-lock-owned", || async {
        let m: Arc<Mutex<usize>> = Arc::new(Mutex::new(0));
        {
            let g1 = m.clone().try_lock_owned();
            assert!(g1.is_ok());
            let g2 = m.clone().try_lock_owned();
            assert!(g2.is_err());
        }
        let g3 = m.try_lock_owned();
        assert!(g3.is_ok());
    });
}

#[test]
fn owned_debug_format() {
    each_checker("mutex-owned-debug-format", || async {
        let s = "debug";
        let m = Arc::new(Mutex::new(s.to_string()));
        assert_eq!(format!("{s:?}"), format!("{:?}", m.lock_owned().await));
    });
}

// Across tasks

/// Two tasks each read the counter, yield inside the critical section, then write it back:
/// only mutual exclusion keeps the count exact. Owned guards move into spawned tasks.
#[test]
fn mutual_exclusion_across_tasks() {
    check_all("tokio-mutex-counter", None, || async {
        let count = Arc::new(Mutex::new(0u32));
        let a = {
            let c = count.clone();
            harness::task::spawn(async move {
                let mut g = c.lock().await;
                let v = *g;
                harness::task::yield_now().await;
                *g = v + 1;
            })
        };
        let b = {
            let g = count.clone().lock_owned().await;
            harness::task::spawn(async move {
                let mut g = g;
                let v = *g;
                harness::task::yield_now().await;
                *g = v + 1;
            })
        };
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(*count.lock().await, 2);
    });
}

/// The buggy twin: the body holds the lock across an `.await` on a notification that the
/// task it waits for sends only after taking the same lock. Every checker reports the
/// deadlock and names the mutex and the notify.
#[test]
fn guard_held_across_await_deadlocks() {
    let failures = expect_failure(
        "tokio-mutex-held-across-await",
        FailureKind::Deadlock,
        &ALL,
        None,
        || async {
            let m = Arc::new(Mutex::new(0));
            let ready = Arc::new(Notify::new());
            let g = m.lock().await;
            let (m2, r2) = (m.clone(), ready.clone());
            let _worker = harness::task::spawn(async move {
                *m2.lock().await += 1;
                r2.notify_one();
            });
            ready.notified().await; // waits for the worker while holding its lock
            drop(g);
        },
    );
    for f in failures {
        assert!(f.report.contains("[lock]"), "{f}");
        assert!(f.report.contains("on mutex #"), "{f}");
        assert!(f.report.contains("[notified]"), "{f}");
        assert!(f.report.contains("on notify #"), "{f}");
        assert!(
            f.report.contains("tests/suite/tokio_ports/sync_mutex.rs"),
            "{f}"
        );
    }
}

/// Its fix: let go of the lock before waiting.
#[test]
fn guard_dropped_before_await_passes() {
    check_all("tokio-mutex-dropped-before-await", None, || async {
        let m = Arc::new(Mutex::new(0));
        let ready = Arc::new(Notify::new());
        let g = m.lock().await;
        let (m2, r2) = (m.clone(), ready.clone());
        let worker = harness::task::spawn(async move {
            *m2.lock().await += 1;
            r2.notify_one();
        });
        drop(g);
        ready.notified().await;
        worker.await.unwrap();
        assert_eq!(*m.lock().await, 1);
    });
}
