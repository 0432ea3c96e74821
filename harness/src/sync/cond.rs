//! [`Cond`]: Go's `sync.Cond`, a condition variable used with a [`Mutex`].

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::mutex::{Mutex, MutexGuard, MutexLockFuture};
use super::waiters::{wake_all, Tracked, Waiters};
use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;

/// A condition variable: tasks wait until another task announces that some state, guarded
/// by a [`Mutex`], has changed. Go's `sync.Cond`.
///
/// [`wait`](Cond::wait) takes the mutex guard, unlocks the mutex, waits for a
/// [`signal`](Cond::signal) (wakes the longest waiting task) or a
/// [`broadcast`](Cond::broadcast) (wakes them all), then locks the mutex again and gives the
/// guard back. The waiter is registered before the mutex is unlocked, so a signal sent by a
/// task that took the mutex after it cannot be missed.
///
/// A signal has no memory: with nobody waiting it does nothing. So, as in Go, always wait
/// in a loop that re-checks the condition, and change the condition under the mutex:
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, sync::{Cond, Mutex}, task};
///
/// Check::new("doc-cond").shuttle(20).run(|| async {
///     let state = Arc::new((Mutex::new(false), Cond::new()));
///     let s = state.clone();
///     let waiter = task::spawn(async move {
///         let (ready, cond) = &*s;
///         let mut g = ready.lock().await;
///         while !*g {
///             g = cond.wait(g).await;
///         }
///     });
///     let (ready, cond) = &*state;
///     *ready.lock().await = true;
///     cond.signal();
///     waiter.await.unwrap();
/// }).unwrap();
/// ```
///
/// A task left waiting with nobody to signal it is reported: as a leak if the body returned
/// without it (it waits `[wait]` on the cond forever), as a deadlock if the body waits for it.
pub struct Cond {
    res: Tracked,
    state: Lock<Waiters>,
}

impl Cond {
    /// A new condition variable, with nobody waiting.
    #[track_caller]
    pub fn new() -> Self {
        Cond {
            res: Tracked::new("cond", Location::caller()),
            state: Lock::new(Waiters::default()),
        }
    }

    /// Unlocks the guard's mutex, waits to be signalled, locks the mutex again and returns
    /// the guard. Wake-ups may be spurious in spirit (another task may have changed the
    /// state again before this one got the mutex back): re-check the condition in a loop.
    ///
    /// Dropping the future while it waits leaves no trace; a signal delivered to it in the
    /// meantime passes on to the next waiter.
    #[track_caller]
    pub fn wait<'c, 'a, T>(&'c self, guard: MutexGuard<'a, T>) -> CondWaitFuture<'c, 'a, T> {
        CondWaitFuture {
            cond: self,
            mutex: guard.mutex,
            stage: Stage::Start(Some(guard)),
            site: Location::caller(),
        }
    }

    /// Wakes the task that has waited longest, if any.
    pub fn signal(&self) {
        let mut st = self.state.lock();
        let wake = notify_one(&mut st, SyncClock::released_now());
        drop(st);
        wake_all(wake);
    }

    /// Wakes every waiting task.
    pub fn broadcast(&self) {
        let mut st = self.state.lock();
        let mut wake = Vec::new();
        let clock = SyncClock::released_now();
        for w in st.waiting_mut() {
            w.granted = true;
            w.clock = clock.clone();
            wake.push(w.waker.clone());
        }
        drop(st);
        wake_all(wake);
    }
}

/// Delivers a signal to the first waiter still waiting.
fn notify_one(st: &mut Waiters, clock: SyncClock) -> Option<Waker> {
    let w = st.grant_first(|_| true)?;
    w.clock = clock;
    w.exclusive = true; // woken by a signal: a dropped waiter passes it on
    Some(w.waker.clone())
}

impl Default for Cond {
    #[track_caller]
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cond(cond #{})", self.res.id)
    }
}

enum Stage<'a, T> {
    /// Not polled yet: still holds the caller's guard.
    Start(Option<MutexGuard<'a, T>>),
    /// Registered as waiter `id`, the mutex unlocked.
    Waiting(u64),
    /// Signalled: locking the mutex again.
    Relocking(MutexLockFuture<'a, T>),
    Done,
}

/// The future of [`Cond::wait`].
pub struct CondWaitFuture<'c, 'a, T> {
    cond: &'c Cond,
    mutex: &'a Mutex<T>,
    stage: Stage<'a, T>,
    site: &'static Location<'static>,
}

impl<T> Unpin for CondWaitFuture<'_, '_, T> {}

impl<'a, T> Future for CondWaitFuture<'_, 'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = &mut *self;
        let c = this.cond;
        loop {
            match &mut this.stage {
                Stage::Start(guard) => {
                    // Register first, then unlock: a signal after the unlock finds us queued.
                    let id = c.state.lock().push(false, cx.waker());
                    drop(guard.take());
                    this.stage = Stage::Waiting(id);
                    c.res.wait("wait", this.site);
                    return Poll::Pending;
                }
                Stage::Waiting(id) => {
                    let id = *id;
                    let mut st = c.state.lock();
                    match st.poll_entry(id, cx.waker()) {
                        Some(false) => return Poll::Pending,
                        Some(true) => {
                            if let Some(w) = st.remove(id) {
                                w.clock.acquire();
                            }
                            drop(st);
                            c.res.done();
                            this.stage = Stage::Relocking(this.mutex.lock_at(this.site));
                        }
                        None => unreachable!("a waiting cond future left the queue"),
                    }
                }
                Stage::Relocking(lock) => {
                    let guard = std::task::ready!(Pin::new(lock).poll(cx));
                    this.stage = Stage::Done;
                    return Poll::Ready(guard);
                }
                Stage::Done => panic!("CondWaitFuture polled after it completed"),
            }
        }
    }
}

impl<T> Drop for CondWaitFuture<'_, '_, T> {
    fn drop(&mut self) {
        let Stage::Waiting(id) = self.stage else {
            return;
        };
        let c = self.cond;
        let Some(mut st) = c.state.lock_in_drop() else {
            return;
        };
        let Some(w) = st.remove(id) else {
            return;
        };
        // Signalled but gone: the signal goes to the next waiter instead.
        let wake = if w.granted && w.exclusive {
            notify_one(&mut st, w.clock)
        } else {
            None
        };
        drop(st);
        c.res.done();
        wake_all(wake);
    }
}

impl<T> fmt::Debug for CondWaitFuture<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CondWaitFuture(cond #{})", self.cond.res.id)
    }
}
