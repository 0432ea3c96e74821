//! tokio's tests/sync_rwlock.rs, ported onto `harness::tokio::sync::RwLock` and run under
//! every checker; then tokio's fairness across tasks, and the re-entrant read that
//! fairness turns into a deadlock as a buggy twin.

use std::sync::Arc;

use harness::check::FailureKind;
use harness::tokio::sync::{Barrier, RwLock, RwLockWriteGuard};

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, yield_a_few, ALL};

#[test]
fn into_inner() {
    each_checker("rwlock-into-inner", || async {
        let rwlock = RwLock::new(42);
        assert_eq!(rwlock.into_inner(), 42);
    });
}

#[test]
fn read_shared() {
    each_checker("rwlock-read-shared", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.read());
        let _g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.read());
        let _g2 = ready(t2.poll());
    });
}

#[test]
fn write_shared_pending() {
    each_checker("rwlock-write-shared-pending", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.read());
        let _g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.write());
        pending(t2.poll());
    });
}

#[test]
fn read_exclusive_pending() {
    each_checker("rwlock-read-exclusive-pending", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.write());
        let _g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.read());
        pending(t2.poll());
    });
}

/// tokio's test with `max_readers` 1024; 4 here (the semantics are the same, the loop
/// shorter).
#[test]
fn exhaust_reading() {
    each_checker("rwlock-exhaust-reading", || async {
        let rwlock = RwLock::with_max_readers(100, 4);
        let mut reads = Vec::new();
        loop {
            let mut t = spawn(rwlock.read());
            match t.poll() {
                std::task::Poll::Ready(guard) => reads.push(guard),
                std::task::Poll::Pending => break,
            }
        }
        assert_eq!(reads.len(), 4);
        let mut t1 = spawn(rwlock.read());
        pending(t1.poll());
        let g2 = reads.pop().unwrap();
        drop(g2);
        assert!(t1.is_woken());
        let _g1 = ready(t1.poll());
    });
}

#[test]
#[should_panic(expected = "a RwLock may not be created with 0 readers")]
fn zero_max_readers() {
    RwLock::with_max_readers(100, 0);
}

#[test]
fn write_exclusive_pending() {
    each_checker("rwlock-write-exclusive-pending", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.write());
        let _g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.write());
        pending(t2.poll());
    });
}

#[test]
fn write_shared_drop() {
    each_checker("rwlock-write-shared-drop", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.read());
        let g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.write());
        pending(t2.poll());
        drop(g1);
        assert!(t2.is_woken());
        let _g2 = ready(t2.poll());
    });
}

/// A waiting writer keeps later readers out (tokio's fairness).
#[test]
fn write_read_shared_pending() {
    each_checker("rwlock-write-read-shared-pending", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.read());
        let _g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.read());
        let _g2 = ready(t2.poll());
        let mut t3 = spawn(rwlock.write());
        pending(t3.poll());
        let mut t4 = spawn(rwlock.read());
        pending(t4.poll());
    });
}

#[test]
fn write_read_shared_drop_pending() {
    each_checker("rwlock-write-read-shared-drop-pending", || async {
        let rwlock = RwLock::new(100);
        let mut t1 = spawn(rwlock.read());
        let _g1 = ready(t1.poll());
        let mut t2 = spawn(rwlock.write());
        pending(t2.poll());
        let mut t3 = spawn(rwlock.read());
        pending(t3.poll());
        drop(t2);
        assert!(t3.is_woken());
        let _t3 = ready(t3.poll());
    });
}

#[test]
fn read_uncontested() {
    each_checker("rwlock-read-uncontested", || async {
        let rwlock = RwLock::new(100);
        let result = *rwlock.read().await;
        assert_eq!(result, 100);
    });
}

#[test]
fn write_uncontested() {
    each_checker("rwlock-write-uncontested", || async {
        let rwlock = RwLock::new(100);
        let mut result = rwlock.write().await;
        *result += 50;
        assert_eq!(*result, 150);
    });
}

/// Locks are granted in the order their futures first ask.
#[test]
fn write_order() {
    each_checker("rwlock-write-order", || async {
        let rwlock = RwLock::<Vec<u32>>::new(vec![]);
        let fut2 = async { rwlock.write().await.push(2) };
        let fut1 = async { rwlock.write().await.push(1) };
        fut1.await;
        fut2.await;
        let g = rwlock.read().await;
        assert_eq!(*g, vec![1, 2]);
    });
}

/// tokio's `multithreaded`, scaled to the model checkers: tasks add under the write lock,
/// meet at a barrier, and the total is exact.
#[test]
fn multithreaded() {
    check_all("rwlock-multithreaded", Some(2), || async {
        let barrier = Arc::new(Barrier::new(3));
        let rwlock = Arc::new(RwLock::<u32>::new(0));
        for add in [2u32, 3] {
            let (b, l) = (barrier.clone(), rwlock.clone());
            harness::task::spawn(async move {
                for _ in 0..2 {
                    *l.write().await += add;
                }
                b.wait().await;
            });
        }
        barrier.wait().await;
        let g = rwlock.read().await;
        assert_eq!(*g, 10);
    });
}

#[test]
fn try_write() {
    each_checker("rwlock-try-write", || async {
        let lock = RwLock::new(0);
        let read_guard = lock.read().await;
        assert!(lock.try_write().is_err());
        drop(read_guard);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn try_read_try_write() {
    each_checker("rwlock-try-read-try-write", || async {
        let lock: RwLock<usize> = RwLock::new(15);
        {
            let rg1 = lock.try_read().unwrap();
            assert_eq!(*rg1, 15);
            assert!(lock.try_write().is_err());
            let rg2 = lock.try_read().unwrap();
            assert_eq!(*rg2, 15)
        }
        {
            let mut wg = lock.try_write().unwrap();
            *wg = 1515;
            assert!(lock.try_read().is_err())
        }
        assert_eq!(*lock.try_read().unwrap(), 1515);
    });
}

#[test]
fn downgrade_map() {
    each_checker("rwlock-downgrade-map", || async {
        let lock = RwLock::new(0);
        let write_guard = lock.write().await;
        let mut read_t = spawn(lock.read());
        pending(read_t.poll());
        let read_guard1 = RwLockWriteGuard::downgrade_map(write_guard, |v| {
            pending(read_t.poll());
            v
        });
        let read_guard2 = ready(read_t.poll());
        assert_eq!(&*read_guard1 as *const _, &*read_guard2 as *const _);
    });
}

#[test]
fn try_downgrade_map() {
    each_checker("rwlock-try-downgrade-map", || async {
        let lock = RwLock::new(0);
        let write_guard = lock.write().await;
        let mut read_t = spawn(lock.read());
        pending(read_t.poll());
        let write_guard = RwLockWriteGuard::try_downgrade_map(write_guard, |_| {
            pending(read_t.poll());
            None::<&()>
        })
        .expect_err("downgrade didn't fail");
        pending(read_t.poll());
        let read_guard1 = RwLockWriteGuard::try_downgrade_map(write_guard, |v| Some(v))
            .expect("downgrade failed");
        let read_guard2 = ready(read_t.poll());
        assert_eq!(&*read_guard1 as *const _, &*read_guard2 as *const _);
    });
}

// Across tasks

/// Owned guards across tasks: a writer waits for two readers, then a late reader waits for
/// the writer (fair, FIFO).
#[test]
fn owned_guards_across_tasks() {
    check_all("rwlock-owned-across-tasks", None, || async {
        let lock = Arc::new(RwLock::new(0u32));
        let r1 = lock.clone().read_owned().await;
        let writer = {
            let l = lock.clone();
            harness::task::spawn(async move { *l.write_owned().await += 1 })
        };
        yield_a_few().await;
        drop(r1);
        writer.await.unwrap();
        assert_eq!(*lock.clone().try_read_owned().unwrap(), 1);
    });
}

/// The buggy twin: a task takes a read lock while it already holds one. Under tokio's
/// fairness, a writer that queued in between waits for the first read lock and the second
/// read lock waits behind the writer: a deadlock the model checkers find (a tokio run may
/// miss the window).
#[test]
fn reentrant_read_deadlocks() {
    let failures = expect_failure(
        "tokio-rwlock-reentrant-read",
        FailureKind::Deadlock,
        &ALL[..3],
        None,
        || async {
            let lock = Arc::new(RwLock::new(0u32));
            let l = lock.clone();
            let writer = harness::task::spawn(async move { *l.write().await += 1 });
            let first = lock.read().await;
            harness::task::yield_now().await;
            let second = lock.read().await; // re-entrant read
            drop((first, second));
            writer.await.unwrap();
        },
    );
    for f in failures {
        assert!(f.report.contains("on rwlock #"), "{f}");
        assert!(f.report.contains("[read]"), "{f}");
        assert!(f.report.contains("[write]"), "{f}");
    }
}

/// Its fix: read once.
#[test]
fn single_read_passes() {
    check_all("tokio-rwlock-single-read", None, || async {
        let lock = Arc::new(RwLock::new(0u32));
        let l = lock.clone();
        let writer = harness::task::spawn(async move { *l.write().await += 1 });
        let v = *lock.read().await;
        harness::task::yield_now().await;
        assert!(v <= 1);
        writer.await.unwrap();
        assert_eq!(*lock.read().await, 1);
    });
}
