//! [`Mutex`]: Go's `sync.Mutex` with an async `lock`, fair (first come, first served).

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::acquire::{Acquire, Permits};

/// A mutual-exclusion lock around a value of type `T`, like Go's `sync.Mutex` or
/// `tokio::sync::Mutex`.
///
/// [`lock`](Mutex::lock) waits (parks the task, no spinning) until the lock is free and
/// returns a [`MutexGuard`]; dropping the guard unlocks. Waiters get the lock in the order
/// they asked for it: an unlock hands it straight to the first one. The guard is `Send`, so
/// it may be held across an `.await`, in a spawned task too.
///
/// Under the checkers every lock and unlock is a scheduling point, and reports name the
/// lock's holder: a task blocked in `lock` shows as `[lock]` "on mutex #N … held by task 3
/// "B"", and two tasks each holding the lock the other wants are reported as a deadlock with
/// the wait-for cycle spelled out.
///
/// Create it inside the checked body (each execution needs its own).
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, sync::Mutex, task};
///
/// Check::new("doc-mutex").shuttle(10).run(|| async {
///     let count = Arc::new(Mutex::new(0));
///     let c = count.clone();
///     let h = task::spawn(async move {
///         *c.lock().await += 1;
///     });
///     *count.lock().await += 1;
///     h.await.unwrap();
///     assert_eq!(*count.lock().await, 2);
/// }).unwrap();
/// ```
pub struct Mutex<T> {
    /// One permit: held by a guard, or granted to a waiter that has not taken it yet.
    sem: Permits,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and the lock state hands out one guard
// at a time; a guard moves `&mut T` between threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            sem: Permits::new("mutex", 1, Location::caller()),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks the mutex, waiting until it is free.
    ///
    /// Cancel-safe: dropping the future before it completes leaves no trace, and a lock
    /// handed to it in the meantime passes on to the next waiter.
    #[track_caller]
    pub fn lock(&self) -> MutexLockFuture<'_, T> {
        self.lock_at(Location::caller())
    }

    pub(super) fn lock_at(&self, site: &'static Location<'static>) -> MutexLockFuture<'_, T> {
        MutexLockFuture {
            mutex: self,
            acquire: self.sem.acquire("lock", site),
        }
    }

    /// Locks the mutex if it is free right now (and nobody is queued for it).
    ///
    /// ```
    /// # leakproof::check::Check::new("doc-try-lock").shuttle(5).run(|| async {
    /// let m = leakproof::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none()); // already locked
    /// drop(g);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// # }).unwrap();
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.sem.try_acquire().map(|me| self.guard(me))
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn guard(&self, holder: u64) -> MutexGuard<'_, T> {
        MutexGuard {
            mutex: self,
            holder,
            _not_sync: PhantomData,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mutex(mutex #{})", self.sem.res.id)
    }
}

/// Access to a locked [`Mutex`]'s value; dropping it unlocks.
///
/// `Send` when `T: Send`: it may be held across `.await` in a spawned task.
pub struct MutexGuard<'a, T> {
    pub(super) mutex: &'a Mutex<T>,
    /// The task the registry counts as the holder.
    holder: u64,
    /// `Sync` only when `T: Sync` (a shared guard hands out `&T`).
    _not_sync: PhantomData<&'a mut T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the one holder of the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the one holder of the lock, and is borrowed uniquely.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.sem.release(self.holder);
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The future of [`Mutex::lock`].
pub struct MutexLockFuture<'a, T> {
    mutex: &'a Mutex<T>,
    acquire: Acquire<'a, Permits>,
}

impl<T> Unpin for MutexLockFuture<'_, T> {}

impl<'a, T> Future for MutexLockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let mutex = self.mutex;
        self.acquire
            .poll_acquire(cx)
            .map(|holder| mutex.guard(holder))
    }
}

impl<T> fmt::Debug for MutexLockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MutexLockFuture(mutex #{})", self.mutex.sem.res.id)
    }
}
