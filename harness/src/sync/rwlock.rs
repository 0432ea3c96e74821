//! [`RwLock`]: Go's `sync.RWMutex` with async `read` and `write`, writer-preferring.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::acquire::{Acquire, Gate};
use super::waiters::{wake_all, Tracked, Waiters};
use crate::rt::backend::{self, Lock};
use crate::rt::race::SyncClock;

/// A reader-writer lock around a value of type `T`: many readers or one writer at a time.
///
/// Writer-preferring, like Go's `sync.RWMutex`: once a writer waits, new readers wait behind
/// it (so a stream of readers cannot starve writers). When a writer unlocks, every reader
/// that queued meanwhile gets in, ahead of the next writer; when the last reader leaves, the
/// first waiting writer gets in.
///
/// The price is Go's: a task that takes a read lock while it already holds one deadlocks
/// if a writer started waiting in between (the writer waits for the first read lock, the
/// second read lock waits for the writer). leakproof finds that schedule.
///
/// Guards are `Send` (for `T: Send + Sync`), so they may be held across `.await`.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, sync::RwLock, task};
///
/// Check::new("doc-rwlock").shuttle(10).run(|| async {
///     let config = Arc::new(RwLock::new(String::from("v1")));
///     let c = config.clone();
///     let writer = task::spawn(async move {
///         c.write().await.push_str("+patch");
///     });
///     let seen = config.read().await.clone();
///     assert!(seen == "v1" || seen == "v1+patch");
///     writer.await.unwrap();
///     assert_eq!(*config.read().await, "v1+patch");
/// }).unwrap();
/// ```
pub struct RwLock<T> {
    res: Tracked,
    state: Lock<State>,
    value: UnsafeCell<T>,
}

pub(crate) struct State {
    /// Read locks held or granted.
    readers: usize,
    /// Whether the write lock is held or granted.
    writer: bool,
    /// What write unlocks released: every later read or write lock acquires it.
    wrote: SyncClock,
    /// What read unlocks released: every later write lock acquires it.
    read: SyncClock,
    /// Waiting readers and writers (`exclusive`), in arrival order.
    waiters: Waiters,
}

impl State {
    /// A reader may come in now: no writer holds or waits.
    fn can_read(&self) -> bool {
        !self.writer && !self.waiters.any_waiting(|w| w.exclusive)
    }

    /// A writer may come in now: nobody holds the lock or waits for it.
    fn can_write(&self) -> bool {
        !self.writer && self.readers == 0 && !self.waiters.any_waiting(|_| true)
    }
}

// SAFETY: readers share `&T` across threads (`T: Sync`); a writer moves `&mut T` between
// threads (`T: Send`). The lock state hands out either one writer or only readers.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked reader-writer lock holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        RwLock {
            res: Tracked::new("rwlock", Location::caller()),
            state: Lock::new(State {
                readers: 0,
                writer: false,
                wrote: SyncClock::default(),
                read: SyncClock::default(),
                waiters: Waiters::default(),
            }),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes a read lock, waiting while a writer holds the lock or waits for it.
    #[track_caller]
    pub fn read(&self) -> RwLockReadFuture<'_, T> {
        RwLockReadFuture {
            acquire: Acquire::new(self, false, "read", Location::caller()),
        }
    }

    /// Takes the write lock, waiting until no reader or writer holds it.
    #[track_caller]
    pub fn write(&self) -> RwLockWriteFuture<'_, T> {
        RwLockWriteFuture {
            acquire: Acquire::new(self, true, "write", Location::caller()),
        }
    }

    /// Takes a read lock if that is possible right now: `None` while a writer holds the lock
    /// or waits for it.
    ///
    /// ```
    /// # leakproof::check::Check::new("doc-try-read").shuttle(5).run(|| async {
    /// let l = leakproof::sync::RwLock::new(0);
    /// let r1 = l.try_read().unwrap();
    /// let r2 = l.try_read().unwrap(); // readers share
    /// assert!(l.try_write().is_none());
    /// drop((r1, r2));
    /// assert!(l.try_write().is_some());
    /// # }).unwrap();
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.try_take(false).map(|me| self.read_guard(me))
    }

    /// Takes the write lock if nobody holds it or waits for it right now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.try_take(true).map(|me| self.write_guard(me))
    }

    /// Takes a read (or the write) lock if the gate lets it in now; the task that holds it.
    fn try_take(&self, exclusive: bool) -> Option<u64> {
        let mut st = self.state.lock();
        if !Self::admit(&mut st, exclusive) {
            return None;
        }
        Self::acquired(&mut st, exclusive);
        let me = backend::current_task_id();
        self.res.held(me);
        drop(st);
        Some(me)
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn read_guard(&self, holder: u64) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            lock: self,
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

    /// A read lock was let go of: the last reader out lets the first waiting writer in.
    fn release_read(&self, st: &mut State, wake: &mut Vec<Waker>) {
        st.readers -= 1;
        if st.readers == 0 && !st.writer {
            self.grant_writer(st, wake);
        }
    }

    /// The write lock was let go of: the readers that queued meanwhile come in, or else
    /// the next writer.
    fn release_write(&self, st: &mut State, wake: &mut Vec<Waker>) {
        st.writer = false;
        if st.waiters.any_waiting(|w| !w.exclusive) {
            self.grant_readers(st, wake);
        } else {
            self.grant_writer(st, wake);
        }
    }

    fn grant_writer(&self, st: &mut State, wake: &mut Vec<Waker>) {
        if let Some(w) = st.waiters.grant_first(|w| w.exclusive) {
            self.res.held(w.task);
            wake.push(w.waker.clone());
            st.writer = true;
        }
    }

    fn grant_readers(&self, st: &mut State, wake: &mut Vec<Waker>) {
        let mut granted = 0;
        for w in st.waiters.waiting_mut().filter(|w| !w.exclusive) {
            w.granted = true;
            self.res.held(w.task);
            wake.push(w.waker.clone());
            granted += 1;
        }
        st.readers += granted;
    }
}

impl<T> Gate for RwLock<T> {
    type State = State;

    fn state(&self) -> &Lock<State> {
        &self.state
    }

    fn res(&self) -> &Tracked {
        &self.res
    }

    fn waiters(st: &mut State) -> &mut Waiters {
        &mut st.waiters
    }

    fn admit(st: &mut State, exclusive: bool) -> bool {
        if exclusive && st.can_write() {
            st.writer = true;
            true
        } else if !exclusive && st.can_read() {
            st.readers += 1;
            true
        } else {
            false
        }
    }

    /// A reader acquires what write unlocks released; a writer, read unlocks' too.
    fn acquired(st: &mut State, exclusive: bool) {
        st.wrote.acquire();
        if exclusive {
            st.read.acquire();
        }
    }

    fn give_back(&self, st: &mut State, exclusive: bool, wake: &mut Vec<Waker>) {
        if exclusive {
            self.release_write(st, wake);
        } else {
            self.release_read(st, wake);
        }
    }

    fn left(&self, st: &mut State, exclusive: bool, wake: &mut Vec<Waker>) {
        if exclusive && !st.writer && !st.waiters.any_waiting(|w| w.exclusive) {
            // The readers queued behind this writer need not wait any longer.
            self.grant_readers(st, wake);
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RwLock(rwlock #{})", self.res.id)
    }
}

/// Shared access to a read-locked [`RwLock`]'s value; dropping it lets go of the read lock.
pub struct RwLockReadGuard<'a, T> {
    lock: &'a RwLock<T>,
    holder: u64,
    _marker: PhantomData<&'a T>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held: no writer exists until it is let go of.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        let l = self.lock;
        let Some(mut st) = l.state.lock_in_drop() else {
            return;
        };
        l.res.released(self.holder);
        st.read.release();
        let mut wake = Vec::new();
        l.release_read(&mut st, &mut wake);
        drop(st);
        wake_all(wake);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to a write-locked [`RwLock`]'s value; dropping it unlocks.
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
    holder: u64,
    _marker: PhantomData<&'a mut T>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: nobody else reaches the value.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held, and the guard is borrowed uniquely.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        let l = self.lock;
        let Some(mut st) = l.state.lock_in_drop() else {
            return;
        };
        l.res.released(self.holder);
        st.wrote.release();
        let mut wake = Vec::new();
        l.release_write(&mut st, &mut wake);
        drop(st);
        wake_all(wake);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The future of [`RwLock::read`].
pub struct RwLockReadFuture<'a, T> {
    acquire: Acquire<'a, RwLock<T>>,
}

impl<T> Unpin for RwLockReadFuture<'_, T> {}

impl<'a, T> Future for RwLockReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let lock = self.acquire.gate();
        self.acquire.poll_acquire(cx).map(|me| lock.read_guard(me))
    }
}

/// The future of [`RwLock::write`].
pub struct RwLockWriteFuture<'a, T> {
    acquire: Acquire<'a, RwLock<T>>,
}

impl<T> Unpin for RwLockWriteFuture<'_, T> {}

impl<'a, T> Future for RwLockWriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let lock = self.acquire.gate();
        self.acquire.poll_acquire(cx).map(|me| lock.write_guard(me))
    }
}

impl<T> fmt::Debug for RwLockReadFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RwLockReadFuture(rwlock #{})",
            self.acquire.gate().res.id
        )
    }
}

impl<T> fmt::Debug for RwLockWriteFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RwLockWriteFuture(rwlock #{})",
            self.acquire.gate().res.id
        )
    }
}
