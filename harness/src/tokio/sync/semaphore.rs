//! tokio's [`Semaphore`]: fair, many permits at once, closable, borrowed and owned permits.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::batch_semaphore::{self, Acquire, Sem};

/// A counting semaphore with tokio's API: use it to cap how many tasks do something at once
/// (connections open, requests in flight), or as a one-shot gate that [`close`]
/// (Semaphore::close) opens for every waiter with an error.
///
/// Fair like tokio's: a task asking for 3 permits at the head of the queue keeps a later
/// task asking for 1 out, even when 1 is free. Reports name the permit holders: a task
/// blocked in `acquire` shows as `[acquire]` "on semaphore #N …, held by …".
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, tokio::sync::Semaphore};
///
/// Check::new("doc-tokio-semaphore").shuttle(10).run(|| async {
///     let pool = Arc::new(Semaphore::new(2)); // at most two at a time
///     let mut handles = Vec::new();
///     for _ in 0..3 {
///         let permit = pool.clone().acquire_owned().await.unwrap();
///         handles.push(leakproof::task::spawn(async move {
///             // ... at most two tasks are here at once ...
///             drop(permit);
///         }));
///     }
///     for h in handles {
///         h.await.unwrap();
///     }
///     assert_eq!(pool.available_permits(), 2);
/// }).unwrap();
/// ```
///
/// [`close`]: Semaphore::close
pub struct Semaphore {
    sem: Sem,
}

/// An acquire failed: the semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free now (or someone queues for them).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => write!(f, "semaphore closed"),
            TryAcquireError::NoPermits => write!(f, "no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<batch_semaphore::TryAcquire> for TryAcquireError {
    fn from(e: batch_semaphore::TryAcquire) -> Self {
        match e {
            batch_semaphore::TryAcquire::Closed => TryAcquireError::Closed,
            batch_semaphore::TryAcquire::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

impl Semaphore {
    /// The most permits a semaphore may hold.
    pub const MAX_PERMITS: usize = batch_semaphore::MAX_PERMITS;

    /// A semaphore with `permits` permits. Panics above [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            sem: Sem::new("semaphore", permits, Location::caller()),
        }
    }

    /// How many permits are free now.
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Adds `n` permits; they go to waiting tasks first, in order. Panics if the total
    /// would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.sem.release(n, None);
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.sem.forget_permits(n)
    }

    /// Takes one permit, waiting until one is free; `Err` once the semaphore is closed.
    #[track_caller]
    pub fn acquire(&self) -> SemaphoreAcquireFuture<'_> {
        self.acquire_many_at(1, Location::caller())
    }

    /// Takes `n` permits at once, waiting until they are free.
    #[track_caller]
    pub fn acquire_many(&self, n: u32) -> SemaphoreAcquireFuture<'_> {
        self.acquire_many_at(n, Location::caller())
    }

    fn acquire_many_at(
        &self,
        n: u32,
        site: &'static Location<'static>,
    ) -> SemaphoreAcquireFuture<'_> {
        SemaphoreAcquireFuture {
            sem: self,
            n: n as usize,
            acquire: self.sem.acquire(n as usize, "acquire", site),
        }
    }

    /// Takes one permit if one is free now.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let holder = self.sem.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
            holder: Some(holder),
        })
    }

    /// [`acquire`](Semaphore::acquire) through an `Arc`, for a `'static` permit.
    #[track_caller]
    pub fn acquire_owned(self: Arc<Self>) -> OwnedAcquireFuture {
        OwnedAcquireFuture::new(self, 1, Location::caller())
    }

    /// [`acquire_many`](Semaphore::acquire_many) through an `Arc`.
    #[track_caller]
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> OwnedAcquireFuture {
        OwnedAcquireFuture::new(self, n, Location::caller())
    }

    /// [`try_acquire`](Semaphore::try_acquire) with an owned permit.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) with an owned permit.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let holder = self.sem.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
            holder: Some(holder),
        })
    }

    /// Closes the semaphore: every waiting and later acquire fails with an error. Permits
    /// already handed out stay valid.
    pub fn close(&self) {
        self.sem.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

/// Permits taken from a [`Semaphore`]; dropping it gives them back.
#[must_use]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
    /// The task recorded as holding it (none for an empty permit).
    holder: Option<u64>,
}

impl<'a> SemaphorePermit<'a> {
    /// Keeps the permits taken for good.
    pub fn forget(mut self) {
        if let Some(h) = self.holder.take() {
            self.sem.sem.unhold(h);
        }
        self.permits = 0;
    }

    /// Moves `other`'s permits into this one. Panics if they come from different semaphores.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphore instances"
        );
        self.permits += other.permits;
        other.permits = 0;
        if let Some(h) = other.holder.take() {
            if self.holder.is_none() {
                self.holder = Some(h);
            } else {
                self.sem.sem.unhold(h);
            }
        }
    }

    /// Splits `n` permits off into a new permit; `None` if this one has fewer.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
            holder: Some(self.sem.sem.hold()),
        })
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.holder.is_some() || self.permits > 0 {
            self.sem.sem.release(self.permits, self.holder);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits taken from a [`Semaphore`] held through an `Arc` (`'static`).
#[must_use]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
    holder: Option<u64>,
}

impl OwnedSemaphorePermit {
    /// Keeps the permits taken for good.
    pub fn forget(mut self) {
        if let Some(h) = self.holder.take() {
            self.sem.sem.unhold(h);
        }
        self.permits = 0;
    }

    /// Moves `other`'s permits into this one. Panics if they come from different semaphores.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphore instances"
        );
        self.permits += other.permits;
        other.permits = 0;
        if let Some(h) = other.holder.take() {
            if self.holder.is_none() {
                self.holder = Some(h);
            } else {
                self.sem.sem.unhold(h);
            }
        }
    }

    /// Splits `n` permits off into a new permit; `None` if this one has fewer.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
            holder: Some(self.sem.sem.hold()),
        })
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.holder.is_some() || self.permits > 0 {
            self.sem.sem.release(self.permits, self.holder);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
pub struct SemaphoreAcquireFuture<'a> {
    sem: &'a Semaphore,
    n: usize,
    acquire: Acquire<'a>,
}

impl<'a> Future for SemaphoreAcquireFuture<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let res = std::task::ready!(Pin::new(&mut self.acquire).poll(cx));
        Poll::Ready(match res {
            Ok(holder) => Ok(SemaphorePermit {
                sem: self.sem,
                permits: self.n,
                holder: Some(holder),
            }),
            Err(batch_semaphore::Closed) => Err(AcquireError(())),
        })
    }
}

/// The future of [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
pub struct OwnedAcquireFuture {
    // Declared first: dropped before the `Arc` it borrows from.
    acquire: Option<Acquire<'static>>,
    sem: Option<Arc<Semaphore>>,
    n: usize,
}

impl Unpin for OwnedAcquireFuture {}

impl OwnedAcquireFuture {
    fn new(sem: Arc<Semaphore>, n: u32, site: &'static Location<'static>) -> Self {
        // SAFETY: the semaphore lives inside the `Arc` this future keeps until the acquire
        // (declared before it, and taken out before the `Arc` is) is gone.
        let inner: &'static Sem = unsafe { &*(&sem.sem as *const Sem) };
        OwnedAcquireFuture {
            acquire: Some(inner.acquire(n as usize, "acquire", site)),
            sem: Some(sem),
            n: n as usize,
        }
    }
}

impl Future for OwnedAcquireFuture {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let acquire = this.acquire.as_mut().expect("polled after completion");
        let res = std::task::ready!(Pin::new(acquire).poll(cx));
        this.acquire = None;
        let sem = this.sem.take().expect("set until completion");
        Poll::Ready(match res {
            Ok(holder) => Ok(OwnedSemaphorePermit {
                sem,
                permits: this.n,
                holder: Some(holder),
            }),
            Err(batch_semaphore::Closed) => Err(AcquireError(())),
        })
    }
}
