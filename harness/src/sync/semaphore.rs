//! [`Semaphore`]: a counting semaphore, to cap how many tasks do something at once.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::acquire::{Acquire, Permits};

/// A counting semaphore: a pool of permits that tasks take and give back, to cap how many
/// of them do something at once (Go's buffered-channel semaphore, or
/// `golang.org/x/sync/semaphore`).
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns a [`SemaphorePermit`]
/// that gives it back when dropped. Waiters are served first come, first served: a permit
/// given back goes straight to the task that has waited longest.
///
/// Reports count permit holders like lock holders: a task blocked in `acquire` shows which
/// tasks hold the permits.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, sync::Semaphore, task};
///
/// Check::new("doc-semaphore").shuttle(10).run(|| async {
///     let pool = Arc::new(Semaphore::new(2)); // at most two at a time
///     let mut handles = Vec::new();
///     for _ in 0..3 {
///         let pool = pool.clone();
///         handles.push(task::spawn(async move {
///             let _permit = pool.acquire().await;
///             // ... at most two tasks are here at once ...
///         }));
///     }
///     for h in handles {
///         h.await.unwrap();
///     }
///     assert_eq!(pool.available_permits(), 2);
/// }).unwrap();
/// ```
pub struct Semaphore {
    sem: Permits,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            sem: Permits::new("semaphore", permits, Location::caller()),
        }
    }

    /// Takes a permit, waiting until one is free.
    ///
    /// Cancel-safe: dropping the future before it completes leaves no trace, and a permit
    /// handed to it in the meantime passes on.
    #[track_caller]
    pub fn acquire(&self) -> AcquireFuture<'_> {
        AcquireFuture {
            sem: self,
            acquire: self.sem.acquire("acquire", Location::caller()),
        }
    }

    /// Takes a permit if one is free right now (and nobody is queued for one).
    ///
    /// ```
    /// # leakproof::check::Check::new("doc-try-acquire").shuttle(5).run(|| async {
    /// let sem = leakproof::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// assert_eq!(sem.available_permits(), 1);
    /// # }).unwrap();
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.sem
            .try_acquire()
            .map(|holder| SemaphorePermit { sem: self, holder })
    }

    /// How many permits are free now.
    pub fn available_permits(&self) -> usize {
        self.sem.state.lock().permits
    }

    /// Adds `n` permits (each goes to a waiting task first).
    pub fn add_permits(&self, n: usize) {
        self.sem.add(n);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Semaphore(semaphore #{})", self.sem.res.id)
    }
}

/// One permit of a [`Semaphore`]; dropping it gives the permit back.
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    holder: u64,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken for good: it never goes back to the semaphore.
    pub fn forget(self) {
        let sem = self.sem;
        let holder = self.holder;
        std::mem::forget(self);
        sem.sem.forget(holder);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.sem.release(self.holder);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SemaphorePermit(semaphore #{})", self.sem.sem.res.id)
    }
}

/// The future of [`Semaphore::acquire`].
pub struct AcquireFuture<'a> {
    sem: &'a Semaphore,
    acquire: Acquire<'a, Permits>,
}

impl<'a> Future for AcquireFuture<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let sem = self.sem;
        self.acquire
            .poll_acquire(cx)
            .map(|holder| SemaphorePermit { sem, holder })
    }
}

impl fmt::Debug for AcquireFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AcquireFuture(semaphore #{})", self.sem.sem.res.id)
    }
}
