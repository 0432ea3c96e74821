//! tokio's [`Mutex`]: an async mutex, fair, with borrowed and owned (`Arc`) guards.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::batch_semaphore::{Acquire, Sem, TryAcquire};

/// An async mutex with tokio's API: use it when a lock must be held across an `.await`
/// (otherwise a plain `std::sync::Mutex` is the better tool, in tokio as here).
///
/// Fair like tokio's: tasks get the lock in the order they asked for it. Under the checkers
/// every lock and unlock is a scheduling point; a task blocked in `lock` shows in reports as
/// `[lock]` "on mutex #N created at …, held by task 3 "B"", and two tasks each holding the
/// lock the other wants are reported as a deadlock with the wait-for cycle.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, tokio::sync::Mutex};
///
/// Check::new("doc-tokio-mutex").shuttle(10).run(|| async {
///     let count = Arc::new(Mutex::new(0));
///     let c = count.clone();
///     let h = leakproof::task::spawn(async move { *c.lock().await += 1 });
///     *count.lock().await += 1;
///     h.await.unwrap();
///     assert_eq!(*count.lock().await, 2);
/// }).unwrap();
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Sem,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and the semaphore (one permit) hands
// out one guard at a time; a guard moves `&mut T` between threads, hence `T: Send`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// [`Mutex::try_lock`] failed: the mutex is locked (or someone queues for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            sem: Sem::new("mutex", 1, Location::caller()),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting until it is free. Cancel-safe: dropping the future gives up
    /// its place in the queue (and passes on a lock handed to it meanwhile).
    #[track_caller]
    pub fn lock(&self) -> MutexLockFuture<'_, T> {
        MutexLockFuture {
            mutex: self,
            acquire: self.sem.acquire(1, "lock", Location::caller()),
        }
    }

    /// Locks the mutex if it is free now and nobody queues for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(holder) => Ok(MutexGuard {
                mutex: self,
                holder,
                _marker: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks the mutex through an `Arc`, for a guard that is `'static`.
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> OwnedMutexLockFuture<T> {
        let site = Location::caller();
        OwnedMutexLockFuture {
            acquire: None,
            mutex: Some(self),
            site,
        }
    }

    /// [`try_lock`](Mutex::try_lock) with an owned guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(holder) => Ok(OwnedMutexGuard {
                mutex: self,
                holder,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.sem.try_acquire(1) {
            Ok(holder) => {
                // SAFETY: the permit just taken makes this the one access.
                d.field("data", &unsafe { &*self.value.get() });
                self.sem.release(1, Some(holder));
            }
            Err(TryAcquire::Closed | TryAcquire::NoPermits) => {
                d.field("data", &format_args!("<locked>"));
            }
        }
        d.finish()
    }
}

/// Access to a locked [`Mutex`]'s value; dropping it unlocks.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    holder: u64,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: shared access to the guard hands out `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> MutexGuard<'_, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Mutex<T> {
        this.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's one permit.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's one permit and is borrowed uniquely.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.sem.release(1, Some(self.holder));
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Access to a locked [`Mutex`] held through an `Arc`; `'static`, so it can move into a
/// spawned task. Dropping it unlocks.
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
    holder: u64,
}

// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's one permit.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's one permit and is borrowed uniquely.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.sem.release(1, Some(self.holder));
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The future of [`Mutex::lock`].
pub struct MutexLockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for MutexLockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let holder = std::task::ready!(Pin::new(&mut self.acquire).poll(cx))
            .expect("a mutex's semaphore is never closed");
        Poll::Ready(MutexGuard {
            mutex: self.mutex,
            holder,
            _marker: PhantomData,
        })
    }
}

/// The future of [`Mutex::lock_owned`].
pub struct OwnedMutexLockFuture<T: ?Sized> {
    // Declared first: dropped before the `Arc` it borrows from.
    acquire: Option<Acquire<'static>>,
    mutex: Option<Arc<Mutex<T>>>,
    site: &'static Location<'static>,
}

// SAFETY: the future holds an `Arc<Mutex<T>>` (Send and Sync for `T: Send`) and a borrow
// of it.
unsafe impl<T: ?Sized + Send> Send for OwnedMutexLockFuture<T> {}

impl<T: ?Sized> Unpin for OwnedMutexLockFuture<T> {}

impl<T: ?Sized> Future for OwnedMutexLockFuture<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this.mutex.as_ref().expect("polled after completion");
        if this.acquire.is_none() {
            // SAFETY: the semaphore lives inside the `Arc` this future keeps until the
            // acquire (declared before it) is gone; the `Arc`'s allocation never moves.
            let sem: &'static Sem = unsafe { &*(&mutex.sem as *const Sem) };
            this.acquire = Some(sem.acquire(1, "lock", this.site));
        }
        let acquire = this.acquire.as_mut().expect("set above");
        let holder = std::task::ready!(Pin::new(acquire).poll(cx))
            .expect("a mutex's semaphore is never closed");
        this.acquire = None;
        let mutex = this.mutex.take().expect("checked above");
        Poll::Ready(OwnedMutexGuard { mutex, holder })
    }
}
