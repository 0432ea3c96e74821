//! `tokio::sync` on leakproof's machinery: tokio's channels and synchronisation primitives at
//! tokio's paths, with tokio's semantics (fair locks, closable semaphores, `Notify` permits,
//! `watch` versions, `broadcast` lag), each state change a scheduling point under loom and
//! shuttle, each wait reported with the primitive's creation site.

mod barrier;
mod batch_semaphore;
pub mod broadcast;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;
pub(crate) mod wait_set;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitFuture, BarrierWaitResult};
pub use mutex::{
    Mutex, MutexGuard, MutexLockFuture, OwnedMutexGuard, OwnedMutexLockFuture, TryLockError,
};
pub use notify::{Notified, Notify, OwnedNotified};
pub use rwlock::{
    OwnedLockFuture, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadFuture,
    RwLockReadGuard, RwLockWriteFuture, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedAcquireFuture, OwnedSemaphorePermit, Semaphore, SemaphoreAcquireFuture,
    SemaphorePermit, TryAcquireError,
};
