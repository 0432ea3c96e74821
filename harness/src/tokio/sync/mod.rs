//! `tokio::sync` on leakproof's machinery: tokio's channels and synchronisation primitives at
//! tokio's paths, with tokio's semantics (fair locks, closable semaphores, `Notify` permits,
//! `watch` versions, `broadcast` lag), each state change a scheduling point under loom and
//! shuttle, each wait reported with the primitive's creation site.

/// Defines a channel's `SendError<T>` (`mpsc`, `broadcast`, `watch` each have their own, as
/// in tokio): a send failed because nobody will receive it, and the value comes back.
/// `Debug` leaves the value out and `Display` says "channel closed", as tokio's do.
macro_rules! send_error {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[derive(PartialEq, Eq, Clone, Copy)]
        pub struct SendError<T>(pub T);

        impl<T> std::fmt::Debug for SendError<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("SendError").finish_non_exhaustive()
            }
        }

        impl<T> std::fmt::Display for SendError<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("channel closed")
            }
        }

        impl<T> std::error::Error for SendError<T> {}
    };
}

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
