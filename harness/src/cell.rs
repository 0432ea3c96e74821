//! [`RaceCell`]: shared memory with no synchronisation of its own, checked for data races.
//!
//! Safe Rust cannot race on plain memory, but logic ported from Go often leans on memory
//! that several goroutines touch "knowing" some other operation orders them, and unsafe code,
//! interior mutability and atomics used as locks can do the same in Rust. A `RaceCell` stands
//! for such memory in a model: every access is checked, as Go's race detector checks plain
//! memory, against the happens-before order that the harness's own synchronisation creates
//! (spawn, join, channels, locks, `WaitGroup`, `Once`, atomics with acquire/release orderings
//! and the rest; see the crate's `rt::race` module docs). Two accesses, at least one a write,
//! that no chain of such edges orders are a [`FailureKind::Race`](crate::check::FailureKind),
//! reported with both accesses, their tasks and where those tasks were spawned.
//!
//! The cell itself stays memory-safe on every backend: accesses are serialised internally,
//! so a race is reported, never undefined behaviour. Under loom the value also lives in
//! loom's own `UnsafeCell`, whose causality check applies as well.
//!
//! ```
//! use std::sync::Arc;
//! use leakproof::{cell::RaceCell, check::{Check, FailureKind}, task};
//!
//! // Two tasks bump a counter with no lock: a race, whatever the schedule.
//! let failure = Check::new("doc-race").shuttle(10).run(|| async {
//!     let hits = Arc::new(RaceCell::new(0u32));
//!     let h = hits.clone();
//!     let t = task::spawn(async move { h.with_mut(|n| *n += 1) });
//!     hits.with_mut(|n| *n += 1);
//!     t.await.unwrap();
//! }).unwrap_err();
//! assert_eq!(failure.kind, FailureKind::Race);
//! ```

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::rt::backend::{self, RawCell, NO_TASK};
use crate::rt::race::{self, CellMeta};

/// Unsynchronised shared memory whose every access is checked for data races.
///
/// `Sync` when `T: Send`: share it with `Arc` between tasks. Each access must be ordered after
/// every earlier conflicting one (a write after every access, a read after every write) by
/// the harness's synchronisation, or the checker reports a [`Race`](crate::check::FailureKind::Race):
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{cell::RaceCell, chan, check::Check, task};
///
/// // The send orders the write before the read: no race.
/// Check::new("doc-race-cell").shuttle(10).tokio(2).run(|| async {
///     let data = Arc::new(RaceCell::new(Vec::new()));
///     let (tx, rx) = chan::bounded(0);
///     let d = data.clone();
///     task::spawn(async move {
///         d.with_mut(|v| v.push(42));
///         tx.send(()).await.unwrap();
///     });
///     rx.recv().await;
///     assert_eq!(data.with(|v| v[0]), 42);
/// }).unwrap();
/// ```
pub struct RaceCell<T> {
    value: RawCell<T>,
    /// The detector's state for this cell; locked for the whole of each access, which
    /// serialises accesses and so keeps the cell memory-safe.
    meta: Mutex<CellMeta>,
    /// The task inside an access right now (`NO_TASK` when none), to tell a reentrant access
    /// from a concurrent one.
    holder: AtomicU64,
}

// SAFETY: every access to the value holds `meta`'s lock, so at most one `&T` or `&mut T`
// exists at a time, possibly on another thread: like `Mutex<T>`, this needs `T: Send` only.
unsafe impl<T: Send> Sync for RaceCell<T> {}

/// Releases the access: clears the holder (the mutex guard drops after it).
struct Access<'a> {
    holder: &'a AtomicU64,
    _guard: MutexGuard<'a, CellMeta>,
}

impl Drop for Access<'_> {
    fn drop(&mut self) {
        self.holder.store(NO_TASK, Ordering::Release);
    }
}

impl<T> RaceCell<T> {
    /// A new cell holding `value`. Create it inside the checked body.
    #[track_caller]
    pub fn new(value: T) -> Self {
        RaceCell {
            value: RawCell::new(value),
            meta: Mutex::new(CellMeta::new(Location::caller())),
            holder: AtomicU64::new(NO_TASK),
        }
    }

    /// A copy of the value (a read).
    #[track_caller]
    pub fn get(&self) -> T
    where
        T: Copy,
    {
        let site = Location::caller();
        let _access = self.begin(false, site);
        // SAFETY: `_access` holds the lock, so no write runs at the same time.
        self.value.with(|p| unsafe { *p })
    }

    /// Replaces the value (a write); the old value is dropped.
    #[track_caller]
    pub fn set(&self, value: T) {
        let site = Location::caller();
        let _access = self.begin(true, site);
        // SAFETY: `_access` holds the lock, so no other access runs at the same time.
        let old = self
            .value
            .with_mut(|p| unsafe { std::ptr::replace(p, value) });
        drop(_access);
        drop(old);
    }

    /// Runs `f` on a shared borrow of the value (a read).
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let site = Location::caller();
        let _access = self.begin(false, site);
        // SAFETY: `_access` holds the lock, so no write runs at the same time.
        self.value.with(|p| f(unsafe { &*p }))
    }

    /// Runs `f` on a unique borrow of the value (a write).
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let site = Location::caller();
        let _access = self.begin(true, site);
        // SAFETY: `_access` holds the lock, so no other access runs at the same time.
        self.value.with_mut(|p| f(unsafe { &mut *p }))
    }

    /// Consumes the cell and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Starts an access: takes the cell's lock, then checks and records the access. A race
    /// stops a model checker's execution here; on tokio the access goes ahead and the run
    /// reports the race when it ends.
    fn begin(&self, write: bool, site: &'static Location<'static>) -> Access<'_> {
        let me = backend::current_task_id();
        let mut guard = match self.meta.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => {
                let holder = self.holder.load(Ordering::Acquire);
                if me != NO_TASK && holder == me {
                    panic!(
                        "RaceCell accessed at {site} from inside a `with`/`with_mut` of the same cell \
                         (a reentrant access; it would alias a `&mut`)"
                    );
                }
                if !backend::is_parallel() {
                    panic!(
                        "RaceCell accessed at {site} while task {holder} is inside a `with`/`with_mut` \
                         of it: do not await or touch other harness primitives inside the closure"
                    );
                }
                self.meta.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        self.holder.store(me, Ordering::Release);
        let raced = race::check_access(&mut guard, write, site).is_some();
        let access = Access {
            holder: &self.holder,
            _guard: guard,
        };
        if raced {
            drop(access);
            race::raise();
            // On tokio the run goes on: take the lock again for the access itself.
            return self.begin_unchecked(me);
        }
        access
    }

    /// Takes the cell's lock without checking (after a race was already recorded).
    fn begin_unchecked(&self, me: u64) -> Access<'_> {
        let guard = self.meta.lock().unwrap_or_else(|e| e.into_inner());
        self.holder.store(me, Ordering::Release);
        Access {
            holder: &self.holder,
            _guard: guard,
        }
    }
}

impl<T: Default> Default for RaceCell<T> {
    #[track_caller]
    fn default() -> Self {
        RaceCell::new(T::default())
    }
}

impl<T> fmt::Debug for RaceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.meta.try_lock().map(|m| m.id()).unwrap_or_default();
        write!(f, "RaceCell(#{id})")
    }
}
