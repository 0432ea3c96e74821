//! tokio's [`RwLock`]: an async reader-writer lock, fair (first come, first served).

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::batch_semaphore::{Acquire, Sem};
pub use super::mutex::TryLockError;

/// The most readers a [`RwLock`] admits at once (tokio's limit).
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock with tokio's API: many readers or one writer, for state read
/// much more often than written and held across `.await`.
///
/// Fair like tokio's, not writer-preferring like Go's: requests are served in the order they
/// were made, so a writer waiting for readers keeps every later reader out, and a reader
/// queued behind a writer waits for it. The classic consequence is tokio's too: a task that
/// takes a second read lock while a writer queued after its first one deadlocks, and the
/// checkers find that schedule.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, tokio::sync::RwLock};
///
/// Check::new("doc-tokio-rwlock").shuttle(10).run(|| async {
///     let config = Arc::new(RwLock::new(String::from("v1")));
///     let c = config.clone();
///     let writer = leakproof::task::spawn(async move { c.write().await.push_str("+patch") });
///     let seen = config.read().await.clone();
///     assert!(seen == "v1" || seen == "v1+patch");
///     writer.await.unwrap();
///     assert_eq!(*config.read().await, "v1+patch");
/// }).unwrap();
/// ```
pub struct RwLock<T: ?Sized> {
    max_readers: u32,
    sem: Sem,
    value: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (`T: Sync`); a writer moves `&mut T` between
// threads (`T: Send`). The semaphore hands out either every permit (a writer) or one each.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::with_max_readers(value, MAX_READS)
    }

    /// A new lock that lets at most `max_reads` readers in at once.
    ///
    /// Panics if `max_reads` is 0 or above `u32::MAX >> 3`.
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> Self {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than {MAX_READS} readers"
        );
        RwLock {
            max_readers: max_reads,
            sem: Sem::new("rwlock", max_reads as usize, Location::caller()),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Takes a read lock, waiting behind a writer that holds the lock or asked before.
    #[track_caller]
    pub fn read(&self) -> RwLockReadFuture<'_, T> {
        RwLockReadFuture {
            lock: self,
            acquire: self.sem.acquire(1, "read", Location::caller()),
        }
    }

    /// Takes the write lock, waiting until every earlier reader and writer is done.
    #[track_caller]
    pub fn write(&self) -> RwLockWriteFuture<'_, T> {
        RwLockWriteFuture {
            lock: self,
            acquire: self
                .sem
                .acquire(self.max_readers as usize, "write", Location::caller()),
        }
    }

    /// Takes a read lock if that is possible now.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(holder) => Ok(self.read_guard(holder)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Takes the write lock if nobody holds it or queues for it now.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(self.max_readers as usize) {
            Ok(holder) => Ok(self.write_guard(holder)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`read`](RwLock::read) through an `Arc`, for a `'static` guard.
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> OwnedLockFuture<T, OwnedRwLockReadGuard<T>> {
        OwnedLockFuture::new(self, 1, "read", Location::caller(), |lock, holder| {
            OwnedRwLockReadGuard { lock, holder }
        })
    }

    /// [`write`](RwLock::write) through an `Arc`, for a `'static` guard.
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> OwnedLockFuture<T, OwnedRwLockWriteGuard<T>> {
        let n = self.max_readers as usize;
        OwnedLockFuture::new(self, n, "write", Location::caller(), |lock, holder| {
            OwnedRwLockWriteGuard { lock, holder }
        })
    }

    /// [`try_read`](RwLock::try_read) with an owned guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(holder) => Ok(OwnedRwLockReadGuard { lock: self, holder }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_write`](RwLock::try_write) with an owned guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.sem.try_acquire(self.max_readers as usize) {
            Ok(holder) => Ok(OwnedRwLockWriteGuard { lock: self, holder }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn read_guard(&self, holder: u64) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            sem: &self.sem,
            data: self.value.get(),
            holder,
            _marker: PhantomData,
        }
    }

    fn write_guard(&self, holder: u64) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            lock: self,
            holder,
            _marker: PhantomData,
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to a read-locked [`RwLock`]'s value; dropping it lets go of the read lock.
pub struct RwLockReadGuard<'a, T: ?Sized> {
    sem: &'a Sem,
    data: *const T,
    holder: u64,
    _marker: PhantomData<&'a T>,
}

// SAFETY: the guard hands out `&T` only.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// A read guard on a part of the locked value.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&T) -> &U) -> RwLockReadGuard<'a, U> {
        // SAFETY: the read lock is held.
        let data = f(unsafe { &*this.data }) as *const U;
        let (sem, holder) = (this.sem, this.holder);
        std::mem::forget(this);
        RwLockReadGuard {
            sem,
            data,
            holder,
            _marker: PhantomData,
        }
    }

    /// [`map`](RwLockReadGuard::map) where `f` may decline (the guard comes back).
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        // SAFETY: the read lock is held.
        let Some(data) = f(unsafe { &*this.data }).map(|d| d as *const U) else {
            return Err(this);
        };
        let (sem, holder) = (this.sem, this.holder);
        std::mem::forget(this);
        Ok(RwLockReadGuard {
            sem,
            data,
            holder,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held: no writer exists until it is let go of.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(1, Some(self.holder));
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to a write-locked [`RwLock`]'s value; dropping it unlocks.
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    holder: u64,
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock without letting a writer in between: readers
    /// queued behind it come in at once.
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        Self::downgrade_map(this, |v| v)
    }

    /// [`downgrade`](RwLockWriteGuard::downgrade) to a read guard on a part of the value;
    /// `f` runs while the write lock is still held.
    pub fn downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> &U,
    ) -> RwLockReadGuard<'a, U> {
        // SAFETY: the write lock is held.
        let data = f(unsafe { &*this.lock.value.get() }) as *const U;
        Self::into_read(this, data)
    }

    /// [`downgrade_map`](RwLockWriteGuard::downgrade_map) where `f` may decline: then the
    /// write guard comes back, still writing.
    pub fn try_downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        // SAFETY: the write lock is held.
        match f(unsafe { &*this.lock.value.get() }).map(|d| d as *const U) {
            Some(data) => Ok(Self::into_read(this, data)),
            None => Err(this),
        }
    }

    fn into_read<U: ?Sized>(this: Self, data: *const U) -> RwLockReadGuard<'a, U> {
        let (lock, holder) = (this.lock, this.holder);
        std::mem::forget(this);
        // Keep one permit (the read lock), give the others back.
        lock.sem.release(lock.max_readers as usize - 1, None);
        RwLockReadGuard {
            sem: &lock.sem,
            data,
            holder,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: nobody else reaches the value.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held, and the guard is borrowed uniquely.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock
            .sem
            .release(self.lock.max_readers as usize, Some(self.holder));
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A read lock on an [`RwLock`] held through an `Arc` (`'static`).
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    holder: u64,
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// The lock this guard reads.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(1, Some(self.holder));
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The write lock on an [`RwLock`] held through an `Arc` (`'static`).
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    holder: u64,
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Turns the write lock into a read lock, letting queued readers in.
    pub fn downgrade(this: Self) -> OwnedRwLockReadGuard<T> {
        let holder = this.holder;
        // SAFETY: `this` is forgotten right after; its `Arc` moves into the read guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        std::mem::forget(this);
        lock.sem.release(lock.max_readers as usize - 1, None);
        OwnedRwLockReadGuard { lock, holder }
    }

    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held, and the guard is borrowed uniquely.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock
            .sem
            .release(self.lock.max_readers as usize, Some(self.holder));
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The future of [`RwLock::read`].
pub struct RwLockReadFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for RwLockReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let holder = std::task::ready!(Pin::new(&mut self.acquire).poll(cx))
            .expect("a rwlock's semaphore is never closed");
        Poll::Ready(self.lock.read_guard(holder))
    }
}

/// The future of [`RwLock::write`].
pub struct RwLockWriteFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for RwLockWriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let holder = std::task::ready!(Pin::new(&mut self.acquire).poll(cx))
            .expect("a rwlock's semaphore is never closed");
        Poll::Ready(self.lock.write_guard(holder))
    }
}

/// The future of [`RwLock::read_owned`] and [`RwLock::write_owned`].
pub struct OwnedLockFuture<T: ?Sized, G> {
    // Declared first: dropped before the `Arc` it borrows from.
    acquire: Option<Acquire<'static>>,
    lock: Option<Arc<RwLock<T>>>,
    make: fn(Arc<RwLock<T>>, u64) -> G,
}

// SAFETY: the future holds an `Arc<RwLock<T>>` and a borrow of it.
unsafe impl<T: ?Sized + Send + Sync, G> Send for OwnedLockFuture<T, G> {}

impl<T: ?Sized, G> Unpin for OwnedLockFuture<T, G> {}

impl<T: ?Sized, G> OwnedLockFuture<T, G> {
    fn new(
        lock: Arc<RwLock<T>>,
        n: usize,
        op: &'static str,
        site: &'static Location<'static>,
        make: fn(Arc<RwLock<T>>, u64) -> G,
    ) -> Self {
        // SAFETY: the semaphore lives inside the `Arc` this future keeps until the acquire
        // (declared before it, and taken out before the `Arc` is) is gone.
        let sem: &'static Sem = unsafe { &*(&lock.sem as *const Sem) };
        OwnedLockFuture {
            acquire: Some(sem.acquire(n, op, site)),
            lock: Some(lock),
            make,
        }
    }
}

impl<T: ?Sized, G> Future for OwnedLockFuture<T, G> {
    type Output = G;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G> {
        let this = &mut *self;
        let acquire = this.acquire.as_mut().expect("polled after completion");
        let holder = std::task::ready!(Pin::new(acquire).poll(cx))
            .expect("a rwlock's semaphore is never closed");
        this.acquire = None;
        let lock = this.lock.take().expect("set until completion");
        Poll::Ready((this.make)(lock, holder))
    }
}
