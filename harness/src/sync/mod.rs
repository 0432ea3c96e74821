//! Synchronisation: Go's `sync` package for async Rust, on every backend.
//!
//! Channels ([`crate::chan`]) are the first tool, as in Go: share memory by communicating.
//! When tasks do share state, these primitives guard it. Each one waits by parking the task
//! (never by spinning), each of its state changes is a scheduling point under loom and
//! shuttle, and each reports to the tracking layer, so that a task stuck on one shows in
//! reports with what it waits for and who holds it.
//!
//! # Which one to use
//!
//! - [`Mutex`]: one task at a time touches the value. The default choice for shared mutable
//!   state. Its guard may be held across `.await` (it is `Send`), but keep critical sections
//!   short and take several locks in one global order: two tasks that take two mutexes in
//!   opposite orders deadlock (the report spells out the wait-for cycle: "task 1 "A" holds
//!   mutex #3 and waits for mutex #4 held by task 2 "B"").
//! - [`RwLock`]: many readers or one writer, for state read much more often than written.
//!   Writer-preferring like Go's `RWMutex`: a waiting writer keeps new readers out, so never
//!   take a read lock while already holding one.
//! - [`Cond`]: wait, under a [`Mutex`], until some condition on the guarded state holds
//!   (a queue is non-empty, a flag is set), and [`signal`](Cond::signal) or
//!   [`broadcast`](Cond::broadcast) when it may have changed. Always re-check the condition
//!   in a loop. Often a channel says the same thing more simply.
//! - [`WaitGroup`]: wait for a set of tasks to finish, without collecting their results
//!   (to collect them, await the [`JoinHandle`](crate::task::JoinHandle)s). `add` before
//!   spawning, `done` at the end of each task, `wait` once after the loop.
//! - [`Semaphore`]: cap how many tasks do something at once (open connections, requests in
//!   flight).
//! - [`Once`]: run an initialisation exactly once, however many tasks race to it; every
//!   caller returns once it is complete.
//! - [`atomic`]: single values updated without a lock (counters, flags), which loom checks
//!   under every memory ordering.
//!
//! All of them belong to the execution they were created in: create them inside the
//! checked body, share them with `Arc` (a [`WaitGroup`] is `Clone` itself).
//!
//! ```
//! use std::sync::Arc;
//! use leakproof::{check::Check, sync::{Mutex, WaitGroup}, task};
//!
//! Check::new("doc-sync").shuttle(20).run(|| async {
//!     let total = Arc::new(Mutex::new(0u32));
//!     let wg = WaitGroup::new();
//!     for i in 1..=3 {
//!         wg.add(1);
//!         let (total, wg) = (total.clone(), wg.clone());
//!         task::spawn(async move {
//!             *total.lock().await += i;
//!             wg.done();
//!         });
//!     }
//!     wg.wait().await;
//!     assert_eq!(*total.lock().await, 6);
//! }).unwrap();
//! ```
//!
//! # How waiting is reported
//!
//! A task that has to wait is recorded as waiting on the primitive with the operation
//! `lock`, `read`, `write` (mutex, rwlock), `wait` (cond, waitgroup), `acquire` (semaphore)
//! or `call_once` (once), at the call site of the operation. Tasks holding a mutex, a read or
//! write lock, a semaphore permit or a running `Once` are recorded as its holders. Locks are
//! handed over in order: an unlock gives the lock to the task that has waited longest, and a
//! waiting future that is dropped (a timed-out or losing `select!` arm) leaves the queue and
//! passes on anything handed to it in the meantime.

mod acquire;
pub mod atomic;
mod cond;
mod mutex;
mod once;
mod rwlock;
mod semaphore;
pub(crate) mod waiters;
mod waitgroup;

pub use cond::{Cond, CondWaitFuture};
pub use mutex::{Mutex, MutexGuard, MutexLockFuture};
pub use once::{CallOnceFuture, Once};
pub use rwlock::{RwLock, RwLockReadFuture, RwLockReadGuard, RwLockWriteFuture, RwLockWriteGuard};
pub use semaphore::{AcquireFuture, Semaphore, SemaphorePermit};
pub use waitgroup::{WaitGroup, WaitGroupFuture};
