//! tokio's tests/sync_semaphore.rs and sync_semaphore_owned.rs, ported onto
//! `harness::tokio::sync::Semaphore` and run under every checker; then the cap across tasks,
//! and a permit leaked by `forget` as a buggy twin reported as a deadlock on the semaphore.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use harness::check::FailureKind;
use harness::tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

#[test]
fn no_permits() {
    each_checker("sem-no-permits", || async {
        Semaphore::new(0);
    });
}

#[test]
fn try_acquire() {
    each_checker("sem-try-acquire", || async {
        let sem = Semaphore::new(1);
        {
            let p1 = sem.try_acquire();
            assert!(p1.is_ok());
            let p2 = sem.try_acquire();
            assert!(p2.is_err());
        }
        let p3 = sem.try_acquire();
        assert!(p3.is_ok());
    });
}

#[test]
fn acquire() {
    check_all("sem-acquire", None, || async {
        let sem = Arc::new(Semaphore::new(1));
        let p1 = sem.try_acquire().unwrap();
        let sem_clone = sem.clone();
        let j = harness::task::spawn(async move {
            let _p2 = sem_clone.acquire().await;
        });
        drop(p1);
        j.await.unwrap();
    });
}

#[test]
fn add_permits() {
    check_all("sem-add-permits", None, || async {
        let sem = Arc::new(Semaphore::new(0));
        let sem_clone = sem.clone();
        let j = harness::task::spawn(async move {
            let _p2 = sem_clone.acquire().await;
        });
        sem.add_permits(1);
        j.await.unwrap();
    });
}

#[test]
fn add_permits_open() {
    each_checker("sem-add-permits-open", || async {
        for size in 0..4 {
            for add in 0..4 {
                let sem = Arc::new(Semaphore::new(size));
                sem.add_permits(add);
                assert_eq!(sem.available_permits(), size + add);
                assert!(!sem.is_closed());
            }
        }
    });
}

#[test]
fn add_permits_closed() {
    each_checker("sem-add-permits-closed", || async {
        for size in 0..4 {
            for add in 0..4 {
                let sem = Arc::new(Semaphore::new(size));
                sem.close();
                sem.add_permits(add);
                assert_eq!(sem.available_permits(), size + add);
                assert!(sem.is_closed());
            }
        }
    });
}

struct ReleaseOnDrop {
    _permit: OwnedSemaphorePermit,
}

impl Wake for ReleaseOnDrop {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn close_drops_wakers_outside_lock() {
    each_checker("sem-close-drops-wakers-outside-lock", || async {
        let sem = Arc::new(Semaphore::new(1));
        let mut fut = Box::pin(async {
            let _ = sem.acquire().await;
        });
        let waker = Waker::from(Arc::new(ReleaseOnDrop {
            _permit: sem.clone().try_acquire_owned().unwrap(),
        }));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(waker);
        sem.close();
        assert_eq!(sem.available_permits(), 1);
    });
}

struct ReleaseOnWake(Arc<Semaphore>);

impl Wake for ReleaseOnWake {
    fn wake(self: Arc<Self>) {
        self.0.add_permits(1);
    }
}

#[test]
fn close_wakes_waiters_outside_lock() {
    each_checker("sem-close-wakes-outside-lock", || async {
        let sem = Arc::new(Semaphore::new(0));
        let mut fut = Box::pin(async {
            let _ = sem.acquire().await;
        });
        let waker = Waker::from(Arc::new(ReleaseOnWake(sem.clone())));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        sem.close();
        assert_eq!(sem.available_permits(), 1);
    });
}

struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// tokio's test has 100 waiters; 10 here (same semantics, cheaper under loom).
#[test]
fn close_wakes_all_waiters() {
    each_checker("sem-close-wakes-all", || async {
        const WAITERS: usize = 10;
        let sem = Semaphore::new(0);
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut acquires: Vec<_> = (0..WAITERS).map(|_| Box::pin(sem.acquire())).collect();
        for acquire in &mut acquires {
            assert!(acquire.as_mut().poll(&mut cx).is_pending());
        }
        sem.close();
        assert_eq!(wakes.0.load(SeqCst), WAITERS);
        for acquire in &mut acquires {
            assert!(matches!(
                acquire.as_mut().poll(&mut cx),
                Poll::Ready(Err(_))
            ));
        }
    });
}

#[test]
fn forget() {
    each_checker("sem-forget", || async {
        let sem = Arc::new(Semaphore::new(1));
        {
            let p = sem.try_acquire().unwrap();
            assert_eq!(sem.available_permits(), 0);
            p.forget();
            assert_eq!(sem.available_permits(), 0);
        }
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire().is_err());
    });
}

#[test]
fn forget_open() {
    each_checker("sem-forget-open", || async {
        for size in 0..4 {
            for sub in 0..4 {
                let sem = Arc::new(Semaphore::new(size));
                let actual_sub = sem.forget_permits(sub);
                let expected = size.saturating_sub(sub);
                assert_eq!(sem.available_permits(), expected, "case: {size}-{sub}");
                assert_eq!(actual_sub, size - expected);
                assert!(!sem.is_closed());
            }
        }
    });
}

#[test]
fn forget_closed() {
    each_checker("sem-forget-closed", || async {
        for size in 0..4 {
            for sub in 0..4 {
                let sem = Arc::new(Semaphore::new(size));
                sem.close();
                let actual_sub = sem.forget_permits(sub);
                let expected = size.saturating_sub(sub);
                assert_eq!(sem.available_permits(), expected, "case: {size}-{sub}");
                assert_eq!(actual_sub, size - expected);
                assert!(sem.is_closed());
            }
        }
    });
}

#[test]
fn merge() {
    each_checker("sem-merge", || async {
        let sem = Arc::new(Semaphore::new(3));
        {
            let mut p1 = sem.try_acquire().unwrap();
            assert_eq!(sem.available_permits(), 2);
            let p2 = sem.try_acquire_many(2).unwrap();
            assert_eq!(sem.available_permits(), 0);
            p1.merge(p2);
            assert_eq!(sem.available_permits(), 0);
        }
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
#[should_panic]
fn merge_unrelated_permits() {
    let sem1 = Arc::new(Semaphore::new(3));
    let sem2 = Arc::new(Semaphore::new(3));
    let mut p1 = sem1.try_acquire().unwrap();
    let p2 = sem2.try_acquire().unwrap();
    p1.merge(p2);
}

#[test]
fn split() {
    each_checker("sem-split", || async {
        let sem = Semaphore::new(5);
        let mut p1 = sem.try_acquire_many(3).unwrap();
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(p1.num_permits(), 3);
        let mut p2 = p1.split(1).unwrap();
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(p1.num_permits(), 2);
        assert_eq!(p2.num_permits(), 1);
        let p3 = p1.split(0).unwrap();
        assert_eq!(p3.num_permits(), 0);
        drop(p1);
        assert_eq!(sem.available_permits(), 4);
        let p4 = p2.split(1).unwrap();
        assert_eq!(p2.num_permits(), 0);
        assert_eq!(p4.num_permits(), 1);
        assert!(p2.split(1).is_none());
        drop(p2);
        assert_eq!(sem.available_permits(), 4);
        drop(p3);
        assert_eq!(sem.available_permits(), 4);
        drop(p4);
        assert_eq!(sem.available_permits(), 5);
    });
}

#[test]
fn permit_semaphore() {
    each_checker("sem-permit-semaphore", || async {
        let sem = Semaphore::new(1);
        let permit = sem.try_acquire().unwrap();
        assert!(std::ptr::eq(permit.semaphore(), &sem));
    });
}

/// tokio's stress test spawns 1000 tasks on 5 permits; 4 tasks on 2 permits here under the
/// model checkers (bounded loom), same property.
#[test]
fn stress_test() {
    check_all("sem-stress", Some(2), || async {
        let sem = Arc::new(Semaphore::new(2));
        let mut join_handles = Vec::new();
        for _ in 0..3 {
            let sem_clone = sem.clone();
            join_handles.push(harness::task::spawn(async move {
                let _p = sem_clone.acquire().await;
            }));
        }
        for j in join_handles {
            j.await.unwrap();
        }
        let _p1 = sem.try_acquire().unwrap();
        let _p2 = sem.try_acquire().unwrap();
        assert!(sem.try_acquire().is_err());
    });
}

#[test]
fn add_max_amount_permits() {
    each_checker("sem-add-max", || async {
        let s = Semaphore::new(0);
        s.add_permits(Semaphore::MAX_PERMITS);
        assert_eq!(s.available_permits(), Semaphore::MAX_PERMITS);
    });
}

#[test]
#[should_panic]
fn add_more_than_max_amount_permits1() {
    let s = Semaphore::new(1);
    s.add_permits(Semaphore::MAX_PERMITS);
}

#[test]
#[should_panic]
fn add_more_than_max_amount_permits2() {
    let s = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    s.add_permits(1);
    s.add_permits(1);
}

#[test]
#[should_panic]
fn panic_when_exceeds_maxpermits() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
fn no_panic_at_maxpermits() {
    each_checker("sem-no-panic-at-max", || async {
        let _ = Semaphore::new(Semaphore::MAX_PERMITS);
        let s = Semaphore::new(Semaphore::MAX_PERMITS - 1);
        s.add_permits(1);
    });
}

#[test]
fn merge_many_permits() {
    each_checker("sem-merge-many", || async {
        let sem = Arc::new(Semaphore::new(6_000_000_000));
        let mut a = sem.try_acquire_many(3_000_000_000).unwrap();
        let b = sem.try_acquire_many(3_000_000_000).unwrap();
        assert_eq!(a.num_permits(), 3_000_000_000);
        assert_eq!(b.num_permits(), 3_000_000_000);
        assert_eq!(sem.available_permits(), 0);
        a.merge(b);
        assert_eq!(a.num_permits(), 6_000_000_000);
        assert_eq!(sem.available_permits(), 0);
        drop(a);
        assert_eq!(sem.available_permits(), 6_000_000_000);
    });
}

// sync_semaphore_owned.rs

#[test]
fn owned_try_acquire() {
    each_checker("sem-owned-try-acquire", || async {
        let sem = Arc::new(Semaphore::new(1));
        {
            let p1 = sem.clone().try_acquire_owned();
            assert!(p1.is_ok());
            let p2 = sem.clone().try_acquire_owned();
            assert!(p2.is_err());
        }
        let p3 = sem.try_acquire_owned();
        assert!(p3.is_ok());
    });
}

#[test]
fn owned_try_acquire_many() {
    each_checker("sem-owned-try-acquire-many", || async {
        let sem = Arc::new(Semaphore::new(42));
        {
            let p1 = sem.clone().try_acquire_many_owned(42);
            assert!(p1.is_ok());
            let p2 = sem.clone().try_acquire_owned();
            assert!(p2.is_err());
        }
        let p3 = sem.clone().try_acquire_many_owned(32);
        assert!(p3.is_ok());
        let p4 = sem.clone().try_acquire_many_owned(10);
        assert!(p4.is_ok());
        assert!(sem.try_acquire_owned().is_err());
    });
}

#[test]
fn owned_acquire() {
    check_all("sem-owned-acquire", None, || async {
        let sem = Arc::new(Semaphore::new(1));
        let p1 = sem.clone().try_acquire_owned().unwrap();
        let sem_clone = sem.clone();
        let j = harness::task::spawn(async move {
            let _p2 = sem_clone.acquire_owned().await;
        });
        drop(p1);
        j.await.unwrap();
    });
}

#[test]
fn owned_acquire_many() {
    check_all("sem-owned-acquire-many", None, || async {
        let semaphore = Arc::new(Semaphore::new(42));
        let permit32 = semaphore.clone().try_acquire_many_owned(32).unwrap();
        let (sender, receiver) = harness::chan::bounded(1);
        let join_handle = harness::task::spawn(async move {
            let _permit10 = semaphore.clone().acquire_many_owned(10).await.unwrap();
            sender.send(()).await.unwrap();
            let _permit32 = semaphore.acquire_many_owned(32).await.unwrap();
        });
        receiver.recv().await.unwrap();
        drop(permit32);
        join_handle.await.unwrap();
    });
}

#[test]
fn owned_add_permits() {
    check_all("sem-owned-add-permits", None, || async {
        let sem = Arc::new(Semaphore::new(0));
        let sem_clone = sem.clone();
        let j = harness::task::spawn(async move {
            let _p2 = sem_clone.acquire_owned().await;
        });
        sem.add_permits(1);
        j.await.unwrap();
    });
}

#[test]
fn owned_forget() {
    each_checker("sem-owned-forget", || async {
        let sem = Arc::new(Semaphore::new(1));
        {
            let p = sem.clone().try_acquire_owned().unwrap();
            assert_eq!(sem.available_permits(), 0);
            p.forget();
            assert_eq!(sem.available_permits(), 0);
        }
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire_owned().is_err());
    });
}

#[test]
fn owned_merge() {
    each_checker("sem-owned-merge", || async {
        let sem = Arc::new(Semaphore::new(3));
        {
            let mut p1 = sem.clone().try_acquire_owned().unwrap();
            assert_eq!(sem.available_permits(), 2);
            let p2 = sem.clone().try_acquire_many_owned(2).unwrap();
            assert_eq!(sem.available_permits(), 0);
            p1.merge(p2);
            assert_eq!(sem.available_permits(), 0);
        }
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
#[should_panic]
fn owned_merge_unrelated_owned_permits() {
    let sem1 = Arc::new(Semaphore::new(3));
    let sem2 = Arc::new(Semaphore::new(3));
    let mut p1 = sem1.try_acquire_owned().unwrap();
    let p2 = sem2.try_acquire_owned().unwrap();
    p1.merge(p2)
}

#[test]
fn owned_split() {
    each_checker("sem-owned-split", || async {
        let sem = Arc::new(Semaphore::new(5));
        let mut p1 = sem.clone().try_acquire_many_owned(3).unwrap();
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(p1.num_permits(), 3);
        let mut p2 = p1.split(1).unwrap();
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(p1.num_permits(), 2);
        assert_eq!(p2.num_permits(), 1);
        let p3 = p1.split(0).unwrap();
        assert_eq!(p3.num_permits(), 0);
        drop(p1);
        assert_eq!(sem.available_permits(), 4);
        let p4 = p2.split(1).unwrap();
        assert_eq!(p2.num_permits(), 0);
        assert_eq!(p4.num_permits(), 1);
        assert!(p2.split(1).is_none());
        drop(p2);
        assert_eq!(sem.available_permits(), 4);
        drop(p3);
        assert_eq!(sem.available_permits(), 4);
        drop(p4);
        assert_eq!(sem.available_permits(), 5);
    });
}

#[test]
fn owned_stress_test() {
    check_all("sem-owned-stress", Some(2), || async {
        let sem = Arc::new(Semaphore::new(2));
        let mut join_handles = Vec::new();
        for _ in 0..3 {
            let sem_clone = sem.clone();
            join_handles.push(harness::task::spawn(async move {
                let _p = sem_clone.acquire_owned().await;
            }));
        }
        for j in join_handles {
            j.await.unwrap();
        }
        let _p1 = sem.clone().try_acquire_owned().unwrap();
        let _p2 = sem.clone().try_acquire_owned().unwrap();
        assert!(sem.try_acquire_owned().is_err());
    });
}

// Beyond tokio's file: fairness, close, and the semantics the batch semaphore adds

/// A task asking for 2 permits at the head of the queue keeps a later task asking for 1
/// out, even with 1 free (tokio's fairness).
#[test]
fn acquire_many_is_fair() {
    each_checker("sem-acquire-many-fair", || async {
        let sem = Semaphore::new(1);
        let mut big = spawn(sem.acquire_many(2));
        pending(big.poll().map(|r| r.map(|_| ())));
        assert_eq!(
            sem.available_permits(),
            0,
            "the head waiter holds the free permit"
        );
        let mut small = spawn(sem.acquire());
        pending(small.poll().map(|r| r.map(|_| ())));
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::NoPermits));
        sem.add_permits(1);
        assert!(big.is_woken());
        assert!(!small.is_woken());
        let p = ready(big.poll()).unwrap();
        assert_eq!(p.num_permits(), 2);
        drop(p);
        assert!(small.is_woken());
        drop(ready(small.poll()).unwrap());
    });
}

/// Closing wakes a waiting task with an error; `try_acquire` says `Closed`.
#[test]
fn close_across_tasks() {
    check_all("sem-close-across-tasks", None, || async {
        let sem = Arc::new(Semaphore::new(0));
        let s = sem.clone();
        let waiter = harness::task::spawn(async move { s.acquire().await.is_err() });
        sem.close();
        assert!(
            waiter.await.unwrap(),
            "acquire on a closed semaphore succeeded"
        );
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
    });
}

/// The buggy twin: a worker `forget`s its permit instead of giving it back, so the next
/// worker waits forever. Every checker reports it, naming the semaphore.
#[test]
fn forgotten_permit_deadlocks() {
    let failures = expect_failure(
        "tokio-sem-forgotten-permit",
        FailureKind::Deadlock,
        &ALL,
        None,
        || async {
            let sem = Arc::new(Semaphore::new(1));
            let s = sem.clone();
            harness::task::spawn(async move { s.acquire().await.unwrap().forget() })
                .await
                .unwrap();
            let s = sem.clone();
            harness::task::spawn(async move { drop(s.acquire().await.unwrap()) })
                .await
                .unwrap();
        },
    );
    for f in failures {
        assert!(f.report.contains("[acquire]"), "{f}");
        assert!(f.report.contains("on semaphore #"), "{f}");
    }
}

/// Its fix: drop the permit.
#[test]
fn dropped_permit_passes() {
    check_all("tokio-sem-dropped-permit", None, || async {
        let sem = Arc::new(Semaphore::new(1));
        for _ in 0..2 {
            let s = sem.clone();
            harness::task::spawn(async move { drop(s.acquire().await.unwrap()) })
                .await
                .unwrap();
        }
        assert_eq!(sem.available_permits(), 1);
    });
}

/// Acquire futures and permits are `Send` (they can be held in a spawned task).
#[test]
fn futures_are_send() {
    fn send<T: Send>() {}
    send::<harness::tokio::sync::SemaphoreAcquireFuture<'static>>();
    send::<harness::tokio::sync::OwnedAcquireFuture>();
    send::<harness::tokio::sync::SemaphorePermit<'static>>();
    send::<OwnedSemaphorePermit>();
    send::<harness::tokio::sync::MutexLockFuture<'static, u8>>();
    send::<harness::tokio::sync::OwnedMutexLockFuture<u8>>();
    send::<harness::tokio::sync::MutexGuard<'static, u8>>();
    send::<harness::tokio::sync::OwnedMutexGuard<u8>>();
    send::<harness::tokio::sync::RwLockReadGuard<'static, u8>>();
    send::<harness::tokio::sync::RwLockWriteGuard<'static, u8>>();
    send::<harness::tokio::sync::Notified<'static>>();
    send::<harness::tokio::sync::BarrierWaitFuture<'static>>();
}
