//! tokio's [`Notify`]: wake one task (storing a permit if none waits) or every waiting task.
//!
//! Its state sits behind a leaf lock under shuttle (`Lock::new_shuttle_leaf`, one scheduling
//! point per operation): no critical section takes another harness lock or yields, and wakers
//! are woken or dropped after the lock is released.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;
use crate::sync::waiters::{wake_all, Tracked};

/// A notification without data, tokio's `Notify`: use it to tell one waiting task ("there is
/// work") or all of them ("the state changed") that something happened, when a channel would
/// carry nothing.
///
/// [`notify_one`](Notify::notify_one) wakes the task that has waited longest, or, with nobody
/// waiting, stores one permit that the next [`notified`](Notify::notified) consumes at once
/// (several calls store still one). [`notify_waiters`](Notify::notify_waiters) wakes every
/// `Notified` future that exists at the time of the call (created, even if not yet polled)
/// and stores nothing. A `Notified` joins the queue for `notify_one` when first polled or
/// [`enable`](Notified::enable)d.
///
/// A task waiting on a `Notify` nobody notifies any more shows in reports as `[notified]` "on
/// notify #N created at …": a leak if the body returned without it, a deadlock if the body
/// waits for it.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, tokio::sync::Notify};
///
/// Check::new("doc-notify").shuttle(10).run(|| async {
///     let notify = Arc::new(Notify::new());
///     let n = notify.clone();
///     let waiter = leakproof::task::spawn(async move { n.notified().await });
///     notify.notify_one(); // wakes the waiter, or leaves it a permit
///     waiter.await.unwrap();
/// }).unwrap();
/// ```
pub struct Notify {
    res: Tracked,
    state: Lock<State>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    Fifo,
    Lifo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notification {
    One(Strategy),
    All,
}

struct Waiter {
    id: u64,
    waker: Option<Waker>,
    notified: Option<Notification>,
    /// What the notifying task released.
    clock: SyncClock,
}

struct State {
    /// A stored `notify_one` permit, with what the notifier released.
    permit: Option<SyncClock>,
    /// Calls of `notify_waiters` so far.
    calls: u64,
    /// What the last `notify_waiters` released.
    all_clock: SyncClock,
    /// Registered futures, oldest first.
    waiters: VecDeque<Waiter>,
    next_id: u64,
}

impl State {
    /// Notifies one registered waiter not yet notified, or stores the permit.
    fn notify_one(&mut self, strategy: Strategy, clock: SyncClock) -> Option<Waker> {
        let w = match strategy {
            Strategy::Fifo => self.waiters.iter_mut().find(|w| w.notified.is_none()),
            Strategy::Lifo => self.waiters.iter_mut().rev().find(|w| w.notified.is_none()),
        };
        match w {
            Some(w) => {
                w.notified = Some(Notification::One(strategy));
                w.clock = clock;
                w.waker.take()
            }
            None => {
                self.permit = Some(clock);
                None
            }
        }
    }
}

impl Notify {
    /// A new `Notify`, with no permit stored.
    #[track_caller]
    pub fn new() -> Notify {
        Notify {
            res: Tracked::new("notify", Location::caller()),
            state: Lock::new_shuttle_leaf(State {
                permit: None,
                calls: 0,
                all_clock: SyncClock::default(),
                waiters: VecDeque::new(),
                next_id: 0,
            }),
        }
    }

    /// A future that completes when this `Notify` is notified. It sees every
    /// [`notify_waiters`](Notify::notify_waiters) from its creation on, and joins the
    /// `notify_one` queue when first polled or enabled.
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        let calls = self.state.lock().calls;
        Notified {
            notify: self,
            stage: Stage::Init { calls },
            waiting: false,
            site: Location::caller(),
        }
    }

    /// [`notified`](Notify::notified) through an `Arc`, for a `'static` future.
    #[track_caller]
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        let calls = self.state.lock().calls;
        OwnedNotified {
            stage: Stage::Init { calls },
            waiting: false,
            site: Location::caller(),
            notify: self,
        }
    }

    /// Wakes the task that has waited longest, or stores a permit for the next `notified`.
    pub fn notify_one(&self) {
        self.notify(Strategy::Fifo);
    }

    /// Wakes the task that started waiting last, or stores a permit.
    pub fn notify_last(&self) {
        self.notify(Strategy::Lifo);
    }

    fn notify(&self, strategy: Strategy) {
        let mut st = self.state.lock();
        let wake = st.notify_one(strategy, SyncClock::released_now());
        drop(st);
        wake_all(wake);
    }

    /// Wakes every task waiting now (every `Notified` that exists); stores no permit.
    pub fn notify_waiters(&self) {
        let mut st = self.state.lock();
        st.calls += 1;
        let clock = SyncClock::released_now();
        st.all_clock = clock.clone();
        let mut wake = Vec::new();
        for w in st.waiters.iter_mut().filter(|w| w.notified.is_none()) {
            w.notified = Some(Notification::All);
            w.clock = clock.clone();
            wake.extend(w.waker.take());
        }
        drop(st);
        wake_all(wake);
    }
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notify(notify #{})", self.res.id)
    }
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Not registered yet; `calls` is `notify_waiters`' count at creation.
    Init {
        calls: u64,
    },
    Waiting(u64),
    Done,
}

/// Polls or enables a notified future of `notify`; `cx` is `None` for `enable`.
fn poll_notified(
    notify: &Notify,
    stage: &mut Stage,
    waiting: &mut bool,
    site: &'static Location<'static>,
    cx: Option<&mut Context<'_>>,
) -> Poll<()> {
    let mut st = notify.state.lock();
    match *stage {
        Stage::Done => Poll::Ready(()),
        Stage::Init { calls } => {
            if st.calls != calls {
                st.all_clock.acquire();
                *stage = Stage::Done;
                return Poll::Ready(());
            }
            if let Some(clock) = st.permit.take() {
                clock.acquire();
                *stage = Stage::Done;
                return Poll::Ready(());
            }
            st.next_id += 1;
            let id = st.next_id;
            st.waiters.push_back(Waiter {
                id,
                waker: cx.as_ref().map(|cx| cx.waker().clone()),
                notified: None,
                clock: SyncClock::default(),
            });
            drop(st);
            *stage = Stage::Waiting(id);
            if cx.is_some() {
                *waiting = true;
                notify.res.wait("notified", site);
            }
            Poll::Pending
        }
        Stage::Waiting(id) => {
            let pos = st
                .waiters
                .iter()
                .position(|w| w.id == id)
                .expect("a waiting notified future left the queue");
            if st.waiters[pos].notified.is_some() {
                let w = st.waiters.remove(pos).expect("found above");
                w.clock.acquire();
                drop(st);
                *stage = Stage::Done;
                if std::mem::take(waiting) {
                    notify.res.done();
                }
                return Poll::Ready(());
            }
            if let Some(cx) = cx {
                let w = &mut st.waiters[pos];
                let mut old = None;
                if !w.waker.as_ref().is_some_and(|k| k.will_wake(cx.waker())) {
                    old = w.waker.replace(cx.waker().clone());
                }
                drop(st);
                // A waker's destructor may call back into this `Notify`: never under its lock.
                drop(old);
                if !*waiting {
                    *waiting = true;
                    notify.res.wait("notified", site);
                }
            }
            Poll::Pending
        }
    }
}

/// Leaves the queue; a `notify_one` delivered and not consumed passes on.
fn drop_notified(notify: &Notify, stage: Stage, waiting: bool) {
    let Stage::Waiting(id) = stage else { return };
    let Some(mut st) = notify.state.lock_in_drop() else {
        return;
    };
    let Some(pos) = st.waiters.iter().position(|w| w.id == id) else {
        return;
    };
    let w = st.waiters.remove(pos).expect("found above");
    let wake = match w.notified {
        Some(Notification::One(strategy)) => st.notify_one(strategy, w.clock),
        _ => None,
    };
    drop(st);
    if waiting {
        notify.res.done();
    }
    wake_all(wake);
}

/// The future of [`Notify::notified`].
pub struct Notified<'a> {
    notify: &'a Notify,
    stage: Stage,
    /// Whether the registry records the polling task as waiting on it.
    waiting: bool,
    site: &'static Location<'static>,
}

impl Unpin for Notified<'_> {}

impl Notified<'_> {
    /// Joins the `notify_one` queue without waiting; returns whether the future is already
    /// complete (a stored permit consumed, or notified before).
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        poll_notified(
            this.notify,
            &mut this.stage,
            &mut this.waiting,
            this.site,
            None,
        )
        .is_ready()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_notified(
            this.notify,
            &mut this.stage,
            &mut this.waiting,
            this.site,
            Some(cx),
        )
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        drop_notified(self.notify, self.stage, self.waiting);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notified(notify #{})", self.notify.res.id)
    }
}

/// The future of [`Notify::notified_owned`].
pub struct OwnedNotified {
    notify: Arc<Notify>,
    stage: Stage,
    waiting: bool,
    site: &'static Location<'static>,
}

impl OwnedNotified {
    /// As [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        poll_notified(
            &this.notify,
            &mut this.stage,
            &mut this.waiting,
            this.site,
            None,
        )
        .is_ready()
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_notified(
            &this.notify,
            &mut this.stage,
            &mut this.waiting,
            this.site,
            Some(cx),
        )
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        drop_notified(&self.notify, self.stage, self.waiting);
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedNotified(notify #{})", self.notify.res.id)
    }
}
