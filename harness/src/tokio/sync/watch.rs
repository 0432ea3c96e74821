//! tokio's `watch` channel: one value, many receivers, each told when it changes.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::panic::Location;
use std::sync::Arc;

use super::wait_set::{park_on, WaitSet};
use crate::rt::backend::{Lock, LockGuard};
use crate::rt::race::SyncClock;
use crate::sync::waiters::Tracked;

/// Error types of the `watch` channel.
pub mod error {
    use std::fmt;

    send_error! {
        /// [`Sender::send`](super::Sender::send) failed: no receiver is left; the value
        /// comes back.
    }

    /// [`Receiver::changed`](super::Receiver::changed) (or `has_changed`, `wait_for`)
    /// failed: every sender is gone.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Slot<T> {
    value: T,
    /// What sends released: every borrow acquires it.
    race: SyncClock,
}

struct Meta {
    /// Bumped by every send (under the slot's lock, so it matches the value).
    version: u64,
    senders: usize,
    receivers: usize,
    /// Receivers waiting in `changed`.
    changed: WaitSet,
    /// Senders waiting in `closed`.
    closed: WaitSet,
}

struct Shared<T> {
    res: Tracked,
    /// Locked before `meta` when both are.
    slot: Lock<Slot<T>>,
    meta: Lock<Meta>,
}

/// Creates a watch channel holding `init`: use it to publish the latest value of something
/// (a configuration, a state, a shutdown flag) to any number of tasks that only care about
/// the newest value, not about every change.
///
/// Receivers see the current value with [`borrow`](Receiver::borrow) and wait for a newer
/// one with [`changed`](Receiver::changed); a receiver that misses intermediate values sees
/// only the latest, as in tokio. A task waiting in `changed` on a channel whose sender is
/// kept alive but never sends again shows in reports as `[watch changed]` "on watch #N
/// created at …".
///
/// ```
/// use leakproof::{check::Check, tokio::sync::watch};
///
/// Check::new("doc-watch").shuttle(10).run(|| async {
///     let (tx, mut rx) = watch::channel("starting");
///     let waiter = leakproof::task::spawn(async move {
///         while *rx.borrow_and_update() != "ready" {
///             rx.changed().await.unwrap();
///         }
///     });
///     tx.send("ready").unwrap();
///     waiter.await.unwrap();
/// }).unwrap();
/// ```
#[track_caller]
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        res: Tracked::new("watch", Location::caller()),
        slot: Lock::new(Slot {
            value: init,
            race: SyncClock::default(),
        }),
        meta: Lock::new(Meta {
            version: 0,
            senders: 1,
            receivers: 1,
            changed: WaitSet::default(),
            closed: WaitSet::default(),
        }),
    });
    let rx = Receiver {
        shared: shared.clone(),
        seen: 0,
    };
    (Sender { shared }, rx)
}

/// A borrow of a watch channel's value; holding it blocks senders, so keep it short (and
/// never across an `.await`: it is not `Send`).
pub struct Ref<'a, T> {
    guard: LockGuard<'a, Slot<T>>,
    changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was new to the receiver that borrowed it (always `false` from a
    /// sender's borrow).
    pub fn has_changed(&self) -> bool {
        self.changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending half of a watch channel. `Clone`: the channel closes when the last sender
/// is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half of a watch channel. `Clone`: a clone has seen what this one has seen.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    seen: u64,
}

impl<T> Sender<T> {
    /// A sender whose channel has no receiver yet ([`subscribe`](Sender::subscribe) makes
    /// them).
    #[track_caller]
    pub fn new(init: T) -> Self {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Replaces the value and notifies the receivers; fails, giving the value back, when no
    /// receiver is left.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.meta.lock().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value and notifies the receivers, even with none; returns the old value.
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|v| std::mem::swap(v, &mut value));
        value
    }

    /// Modifies the value in place and notifies the receivers, even with none.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Modifies the value in place; notifies the receivers only if `modify` returns `true`.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let mut slot = self.shared.slot.lock();
        if !modify(&mut slot.value) {
            return false;
        }
        slot.race.release();
        let mut meta = self.shared.meta.lock();
        meta.version += 1;
        let wake = meta.changed.take_all();
        drop(meta);
        drop(slot);
        for k in wake {
            k.wake();
        }
        true
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.slot.lock();
        guard.race.acquire();
        Ref {
            guard,
            changed: false,
        }
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    #[track_caller]
    pub fn closed(&self) -> impl Future<Output = ()> + Send + '_
    where
        T: Send + Sync,
    {
        let site = Location::caller();
        let sh = &self.shared;
        park_on(
            &sh.res,
            "watch closed",
            site,
            &sh.meta,
            |meta| &mut meta.closed,
            |meta| (meta.receivers == 0).then_some(()),
        )
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut meta = self.shared.meta.lock();
        meta.receivers += 1;
        let seen = meta.version;
        drop(meta);
        Receiver {
            shared: self.shared.clone(),
            seen,
        }
    }

    /// How many receivers are alive.
    pub fn receiver_count(&self) -> usize {
        self.shared.meta.lock().receivers
    }

    /// How many senders are alive.
    pub fn sender_count(&self) -> usize {
        self.shared.meta.lock().senders
    }

    /// Whether `other` sends on the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.meta.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(mut meta) = self.shared.meta.lock_in_drop() else {
            return;
        };
        meta.senders -= 1;
        let wake = if meta.senders == 0 {
            meta.changed.take_all()
        } else {
            Vec::new()
        };
        drop(meta);
        for k in wake {
            k.wake();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "watch::Sender(watch #{})", self.shared.res.id)
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.slot.lock();
        guard.race.acquire();
        let changed = self.shared.meta.lock().version != self.seen;
        Ref { guard, changed }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.slot.lock();
        guard.race.acquire();
        let version = self.shared.meta.lock().version;
        let changed = version != self.seen;
        self.seen = version;
        Ref { guard, changed }
    }

    /// Whether a value this receiver has not seen was sent; `Err` once every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let meta = self.shared.meta.lock();
        if meta.senders == 0 {
            return Err(RecvError(()));
        }
        Ok(meta.version != self.seen)
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.meta.lock().senders == 0
    }

    /// Marks the current value unseen: the next `changed` returns at once.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.meta.lock().version.wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.meta.lock().version;
    }

    /// Waits for a value this receiver has not seen and marks it seen; `Err` once every
    /// sender is gone and no unseen value is left. Cancel-safe.
    #[track_caller]
    pub fn changed(&mut self) -> impl Future<Output = Result<(), RecvError>> + Send + '_
    where
        T: Send + Sync,
    {
        changed(&self.shared, &mut self.seen, Location::caller())
    }

    /// Waits until the value satisfies `f` (checking the current value first), marks it seen
    /// and returns a borrow of it; `Err` once every sender is gone.
    #[track_caller]
    pub fn wait_for<'a>(
        &'a mut self,
        mut f: impl FnMut(&T) -> bool + Send + 'a,
    ) -> impl Future<Output = Result<Ref<'a, T>, RecvError>> + Send + 'a
    where
        T: Send + Sync,
    {
        let site = Location::caller();
        let Receiver { shared, seen } = self;
        let shared: &'a Shared<T> = shared;
        async move {
            loop {
                {
                    let guard = shared.slot.lock();
                    guard.race.acquire();
                    let version = shared.meta.lock().version;
                    let changed = version != *seen;
                    *seen = version;
                    if f(&guard.value) {
                        return Ok(Ref { guard, changed });
                    }
                }
                changed(shared, seen, site).await?;
            }
        }
    }

    /// Whether `other` receives from the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.meta.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(mut meta) = self.shared.meta.lock_in_drop() else {
            return;
        };
        meta.receivers -= 1;
        let wake = if meta.receivers == 0 {
            meta.closed.take_all()
        } else {
            Vec::new()
        };
        drop(meta);
        for k in wake {
            k.wake();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "watch::Receiver(watch #{})", self.shared.res.id)
    }
}

/// Waits for a version other than `*seen`, then marks it seen; `Err` once every sender is
/// gone and nothing unseen is left.
fn changed<'a, T: Send + Sync>(
    sh: &'a Shared<T>,
    seen: &'a mut u64,
    site: &'static Location<'static>,
) -> impl Future<Output = Result<(), RecvError>> + Send + 'a {
    park_on(
        &sh.res,
        "watch changed",
        site,
        &sh.meta,
        |meta| &mut meta.changed,
        move |meta| {
            if meta.version != *seen {
                *seen = meta.version;
                Some(Ok(()))
            } else if meta.senders == 0 {
                Some(Err(RecvError(())))
            } else {
                None
            }
        },
    )
}
