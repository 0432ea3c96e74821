//! Channels: Go's `chan T`, multi-producer and multi-consumer, on every backend.
//!
//! Use [`bounded`] for Go's `make(chan T, n)` (`bounded(0)` is Go's unbuffered channel: a
//! send completes only when a receiver takes the value) and [`unbounded`] when a sender must
//! never wait. Both ends are `Clone`; cloned receivers share one stream, so each value is
//! received exactly once. [`Receiver::recv`] yields values in FIFO order, then `None` once
//! the channel is closed (by [`Sender::close`] or by dropping every sender) and drained.
//!
//! A send after `close()` returns [`SendError::Closed`] and is recorded as the finding
//! "send on closed channel" (Go panics there). A send whose receivers are all gone returns
//! [`SendError::Disconnected`] at once, and is no finding.
//!
//! ```
//! use harness::{chan, check::Check, task};
//!
//! Check::new("doc-chan").shuttle(20).run(|| async {
//!     let (tx, rx) = chan::bounded::<u32>(0);
//!     task::spawn(async move {
//!         for i in 0..3 {
//!             tx.send(i).await.unwrap();
//!         }
//!         // dropping the last sender closes the channel
//!     });
//!     let mut got = Vec::new();
//!     while let Some(v) = rx.recv().await {
//!         got.push(v);
//!     }
//!     assert_eq!(got, [0, 1, 2]);
//! }).unwrap();
//! ```

mod error;
mod race;
mod state;

pub use error::{SendError, TryRecvError, TrySendError};

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::check::FailureKind;
use crate::rt::backend::{self, Lock};
use crate::rt::exec::{self, Finding};
use crate::select::ArmClaim;
use crate::track;
use state::{wake_all, Offer, Shared, State, Waiter};

/// Creates a channel with room for `capacity` values; `bounded(0)` is a rendezvous channel.
///
/// ```
/// # harness::check::Check::new("doc-bounded").shuttle(5).run(|| async {
/// let (tx, rx) = harness::chan::bounded(1);
/// tx.send("hi").await.unwrap(); // room for one: does not wait
/// assert_eq!(rx.recv().await, Some("hi"));
/// # }).unwrap();
/// ```
#[track_caller]
pub fn bounded<T: Send>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(capacity), Location::caller())
}

/// Creates a channel whose senders never wait.
#[track_caller]
pub fn unbounded<T: Send>() -> (Sender<T>, Receiver<T>) {
    make(None, Location::caller())
}

fn make<T>(cap: Option<usize>, site: &'static Location<'static>) -> (Sender<T>, Receiver<T>) {
    let exec = exec::current();
    let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
    let cap_field = cap.map(|c| c as i64).unwrap_or(-1);
    track::resource_created(exec.as_deref(), id, "channel", cap_field, site);
    let shared = Arc::new(Shared {
        id,
        cap,
        created_at: site,
        state: Lock::new(State {
            buf: VecDeque::new(),
            offers: VecDeque::new(),
            receivers_waiting: VecDeque::new(),
            next_waiter: 0,
            senders: 1,
            receivers: 1,
            closed_at: None,
            race: race::ChanClocks::new(cap),
        }),
        exec,
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half of a channel. Cloning it adds a sender; the channel closes when the
/// last sender drops (or on [`close`](Sender::close)).
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of a channel. Clones share the stream: each value goes to one of them.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room (or, on a rendezvous channel, for a receiver to take it).
    ///
    /// Fails with [`SendError::Closed`] after `close()` (recorded as "send on closed channel")
    /// and with [`SendError::Disconnected`] once every receiver is gone.
    #[track_caller]
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            shared: &self.shared,
            value: Some(value),
            offer: None,
            site: Location::caller(),
            claim: None,
            reported: false,
        }
    }

    /// Sends without waiting: `Full` when there is no room (on a rendezvous channel, when no
    /// receiver is waiting right now).
    ///
    /// On a rendezvous channel the value is handed to a receiver parked in `recv`; if that
    /// receive is then cancelled (dropped before it runs again), the value is not lost: it
    /// waits in the channel (`len() == 1`) for the next receiver.
    #[track_caller]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        if let Some(closed_at) = st.closed_at {
            drop(st);
            closed_send(sh, Location::caller(), closed_at);
            return Err(TrySendError::Closed(value));
        }
        if st.receivers == 0 {
            return Err(TrySendError::Disconnected(value));
        }
        let room = match sh.cap {
            None => true,
            Some(0) => st.live_receivers_waiting() > st.buf.len(),
            Some(c) => st.offers.is_empty() && st.buf.len() < c,
        };
        if !room {
            return Err(TrySendError::Full(value));
        }
        let msg = st.waiter_id();
        st.buf.push_back((msg, value));
        st.race.sent(msg, sh.cap);
        let mut wake = Vec::new();
        st.wake_receiver(&mut wake);
        drop(st);
        track::msg_sent(sh.exec.as_deref(), backend::current_task_id(), sh.id, msg);
        wake_all(wake);
        Ok(())
    }

    /// Closes the channel, like Go's `close(ch)`: receivers drain what is buffered and then
    /// get `None`; every later send fails and is recorded as "send on closed channel".
    #[track_caller]
    pub fn close(&self) {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        if st.closed_at.is_none() {
            st.closed_at = Some(Location::caller());
        }
        st.race.closed.release();
        let mut wake = Vec::new();
        st.wake_all(&mut wake);
        sh.report(&st);
        drop(st);
        track::closed(sh.exec.as_deref(), backend::current_task_id(), sh.id);
        wake_all(wake);
    }

    /// Whether the channel is closed (`close()` called or every sender dropped).
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed()
    }

    /// How many values are buffered.
    pub fn len(&self) -> usize {
        self.shared.state.lock().buf.len()
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity; `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        self.shared.cap
    }
}

fn closed_send<T>(sh: &Shared<T>, site: &Location<'_>, closed_at: &Location<'_>) {
    let Some(e) = &sh.exec else { return };
    let me = backend::current_task_id();
    let who = e
        .registry
        .tasks
        .get(&me)
        .map(|t| format!("task {} \"{}\"", t.id, t.name))
        .unwrap_or_else(|| format!("task {me}"));
    e.record(Finding {
        kind: FailureKind::ClosedSend,
        text: format!(
            "send on closed channel: {who} sent at {site}\n    on channel #{} created at {}\n    closed at {closed_at}",
            sh.id, sh.created_at
        ),
    });
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let mut st = self.shared.state.lock();
        st.senders += 1;
        self.shared.report(&st);
        drop(st);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.senders -= 1;
        let mut wake = Vec::new();
        if st.senders == 0 {
            // Dropping the last sender closes the channel: a release like `close()`.
            st.race.closed.release();
            st.wake_all(&mut wake);
        }
        self.shared.report(&st);
        drop(st);
        wake_all(wake);
    }
}

impl<T> Receiver<T> {
    /// Receives the next value; `None` once the channel is closed and drained.
    #[track_caller]
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            shared: &self.shared,
            waiter: None,
            site: Location::caller(),
            claim: None,
            reported: false,
        }
    }

    /// Receives without waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        let mut wake = Vec::new();
        let before = st.buf.len();
        match st.take(sh.cap, None, &mut wake) {
            Some((msg, v)) => {
                st.race_received(msg, sh.cap, before);
                drop(st);
                track::msg_received(sh.exec.as_deref(), backend::current_task_id(), sh.id, msg);
                wake_all(wake);
                Ok(v)
            }
            None if st.closed() => {
                st.race.closed.acquire();
                Err(TryRecvError::Closed)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// How many values are buffered.
    pub fn len(&self) -> usize {
        self.shared.state.lock().buf.len()
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel is closed (it may still hold values to drain).
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let mut st = self.shared.state.lock();
        st.receivers += 1;
        self.shared.report(&st);
        drop(st);
        Receiver {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.receivers -= 1;
        let mut wake = Vec::new();
        if st.receivers == 0 {
            // Blocked senders learn that nobody will ever take their values.
            wake.extend(st.offers.iter().map(|o| o.waker.clone()));
        }
        self.shared.report(&st);
        drop(st);
        wake_all(wake);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sender(channel #{})", self.shared.id)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Receiver(channel #{})", self.shared.id)
    }
}

/// The future of [`Sender::send`].
pub struct SendFuture<'a, T> {
    shared: &'a Shared<T>,
    value: Option<T>,
    /// The id of our offer while we wait.
    offer: Option<u64>,
    site: &'static Location<'static>,
    /// Set when this send is an arm of a `select!`.
    claim: Option<ArmClaim>,
    /// Whether we reported a wait to the tracking layer (a select reports for its arms).
    reported: bool,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> SendFuture<'_, T> {
    fn stop_waiting(&mut self) {
        self.offer = None;
        if std::mem::take(&mut self.reported) {
            track::op_done(self.shared.exec.as_deref(), backend::current_task_id());
        }
    }

    /// Whether this send may complete now: always for a plain send; for a select arm, only
    /// if it wins its select.
    fn win(&self) -> bool {
        self.claim.as_ref().is_none_or(|c| c.try_claim())
    }

    /// Makes this send an arm of a select (see `crate::select`).
    pub(crate) fn arm(&mut self, claim: ArmClaim) {
        self.claim = Some(claim);
    }

    /// The channel this send is on.
    pub(crate) fn channel_id(&self) -> u64 {
        self.shared.id
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let sh = self.shared;
        let mut st = sh.state.lock();
        if let Some(id) = self.offer {
            let Some(pos) = st.offer_index(id) else {
                // A receiver took our value (and, for a select arm, won the select for us).
                st.race.send_completed(id);
                drop(st);
                self.stop_waiting();
                track::msg_sent(sh.exec.as_deref(), backend::current_task_id(), sh.id, id);
                return Poll::Ready(Ok(()));
            };
            if let Some(closed_at) = st.closed_at {
                if !self.win() {
                    return Poll::Pending;
                }
                let offer = st.offers.remove(pos).expect("offer position is valid");
                drop(st);
                self.stop_waiting();
                closed_send(sh, self.site, closed_at);
                return Poll::Ready(Err(SendError::Closed(offer.value)));
            }
            if st.receivers == 0 {
                if !self.win() {
                    return Poll::Pending;
                }
                let offer = st.offers.remove(pos).expect("offer position is valid");
                drop(st);
                self.stop_waiting();
                return Poll::Ready(Err(SendError::Disconnected(offer.value)));
            }
            if !st.offers[pos].waker.will_wake(cx.waker()) {
                st.offers[pos].waker = cx.waker().clone();
            }
            // A receiver may have skipped our offer while our select was deciding: let one
            // look again.
            let mut wake = Vec::new();
            if let Some(mine) = &self.claim {
                st.wake_other_receiver(mine, &mut wake);
            }
            drop(st);
            wake_all(wake);
            return Poll::Pending;
        }
        let Some(value) = self.value.take() else {
            panic!("SendFuture polled after it completed");
        };
        if let Some(closed_at) = st.closed_at {
            if !self.win() {
                self.value = Some(value);
                return Poll::Pending;
            }
            drop(st);
            closed_send(sh, self.site, closed_at);
            return Poll::Ready(Err(SendError::Closed(value)));
        }
        if st.receivers == 0 {
            if !self.win() {
                self.value = Some(value);
                return Poll::Pending;
            }
            return Poll::Ready(Err(SendError::Disconnected(value)));
        }
        let mut wake = Vec::new();
        if st.offers.is_empty() && sh.cap.is_none_or(|c| st.buf.len() < c) {
            if !self.win() {
                self.value = Some(value);
                return Poll::Pending;
            }
            let msg = st.waiter_id();
            st.buf.push_back((msg, value));
            st.race.sent(msg, sh.cap);
            st.wake_receiver(&mut wake);
            drop(st);
            track::msg_sent(sh.exec.as_deref(), backend::current_task_id(), sh.id, msg);
            wake_all(wake);
            return Poll::Ready(Ok(()));
        }
        let id = st.waiter_id();
        st.race.offered(id);
        st.offers.push_back(Offer {
            id,
            value,
            waker: cx.waker().clone(),
            claim: self.claim.clone(),
        });
        match &self.claim {
            Some(mine) => st.wake_other_receiver(mine, &mut wake),
            None => st.wake_receiver(&mut wake),
        }
        let len = st.buf.len();
        drop(st);
        self.offer = Some(id);
        if self.claim.is_none() {
            self.reported = true;
            track::op_wait(
                sh.exec.as_deref(),
                backend::current_task_id(),
                sh.id,
                "send",
                len,
                self.site,
            );
        }
        wake_all(wake);
        Poll::Pending
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(id) = self.offer else { return };
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        if let Some(i) = st.offer_index(id) {
            st.offers.remove(i);
        }
        drop(st);
        self.stop_waiting();
    }
}

/// The future of [`Receiver::recv`].
pub struct RecvFuture<'a, T> {
    shared: &'a Shared<T>,
    /// Our entry among the waiting receivers while we wait.
    waiter: Option<u64>,
    site: &'static Location<'static>,
    /// Set when this receive is an arm of a `select!`.
    claim: Option<ArmClaim>,
    /// Whether we reported a wait to the tracking layer (a select reports for its arms).
    reported: bool,
}

impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> RecvFuture<'_, T> {
    fn stop_waiting(&mut self, st: &mut State<T>) {
        if let Some(id) = self.waiter.take() {
            if let Some(i) = st.waiter_index(id) {
                st.receivers_waiting.remove(i);
            }
        }
        if std::mem::take(&mut self.reported) {
            track::op_done(self.shared.exec.as_deref(), backend::current_task_id());
        }
    }

    /// Makes this receive an arm of a select (see `crate::select`).
    pub(crate) fn arm(&mut self, claim: ArmClaim) {
        self.claim = Some(claim);
    }

    /// The channel this receive is on.
    pub(crate) fn channel_id(&self) -> u64 {
        self.shared.id
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let sh = self.shared;
        let mut st = sh.state.lock();
        let mut wake = Vec::new();
        let before = st.buf.len();
        if let Some((msg, v)) = st.take(sh.cap, self.claim.as_ref(), &mut wake) {
            st.race_received(msg, sh.cap, before);
            self.stop_waiting(&mut st);
            drop(st);
            track::msg_received(sh.exec.as_deref(), backend::current_task_id(), sh.id, msg);
            wake_all(wake);
            return Poll::Ready(Some(v));
        }
        if st.closed() && !st.has_value() && self.claim.as_ref().is_none_or(|c| c.try_claim()) {
            st.race.closed.acquire();
            self.stop_waiting(&mut st);
            return Poll::Ready(None);
        }
        // A first wait cannot be queued yet: push without searching.
        let queued = match self.waiter {
            Some(id) => match st.waiter_index(id) {
                Some(i) => st.receivers_waiting.get_mut(i),
                None => None,
            },
            None => None,
        };
        let id = match queued {
            Some(w) => {
                if !w.waker.will_wake(cx.waker()) {
                    w.waker = cx.waker().clone();
                }
                w.id
            }
            None => {
                // A fresh id keeps the queue sorted by id (binary search finds entries).
                let id = st.waiter_id();
                st.receivers_waiting.push_back(Waiter {
                    id,
                    waker: cx.waker().clone(),
                    claim: self.claim.clone(),
                });
                id
            }
        };
        self.waiter = Some(id);
        drop(st);
        if self.claim.is_none() && !self.reported {
            self.reported = true;
            track::op_wait(
                sh.exec.as_deref(),
                backend::current_task_id(),
                sh.id,
                "recv",
                0,
                self.site,
            );
        }
        Poll::Pending
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        let Some(id) = self.waiter else { return };
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        let was_queued = st.waiter_index(id).is_some();
        self.stop_waiting(&mut st);
        // We may have been woken for a value we will not take now: pass the wake-up on.
        let mut wake: Vec<Waker> = Vec::new();
        if !was_queued && st.has_value() {
            st.wake_receiver(&mut wake);
        }
        drop(st);
        wake_all(wake);
    }
}
