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
//! use leakproof::{chan, check::Check, task};
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

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::check::FailureKind;
use crate::rt::backend::{self, Lock, LockGuard};
use crate::rt::exec::{self, Finding};
use crate::select::{ArmClaim, Step};
use crate::track;
use state::{wake_all, Offer, Shared, State, Take, Waiter, Wakers};

/// Creates a channel with room for `capacity` values; `bounded(0)` is a rendezvous channel.
///
/// ```
/// # leakproof::check::Check::new("doc-bounded").shuttle(5).run(|| async {
/// let (tx, rx) = leakproof::chan::bounded(1);
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
    let counts = track::channel_created(exec.as_deref(), id, "channel", cap_field, site);
    let shared = Arc::new(Shared {
        id,
        cap,
        created_at: site,
        state: Lock::new_leaf(State::new(cap, exec.is_some())),
        exec,
        counts,
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
            reported: false,
        }
    }

    /// Sends without waiting: `Full` when there is no room (on a rendezvous channel, when no
    /// receiver is waiting right now).
    ///
    /// A waiting receiver gets the value directly, as in Go; a receiver that is an arm of a
    /// `select!` gets it only by winning its select, so a select parked on several channels
    /// accepts one value at most. If a plain receive that was handed a value is then
    /// cancelled (dropped before it runs again), the value is not lost: it waits in the
    /// channel (`len() == 1`, even on a rendezvous channel) for the next receiver.
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
        let mut wake = Wakers::default();
        let msg = st.waiter_id();
        let mut value = Some(value);
        while let Some(i) = st.first_waiter(None) {
            let w = &mut st.receivers_waiting[i];
            if w.claim.as_ref().is_some_and(|c| !c.try_claim()) {
                continue; // its select went another way meanwhile
            }
            w.slot = value.take().map(|v| (msg, v));
            wake.push(w.waker.clone());
            let waiter = w.id;
            st.race.handed(msg, waiter, sh.cap);
            break;
        }
        if let Some(value) = value {
            let offers = st.offers.len();
            if sh.cap.is_some_and(|c| st.buf.len() >= c) || st.live_offer_within(offers) {
                return Err(TrySendError::Full(value));
            }
            st.buf.push_back((msg, value));
            st.race.sent(msg, sh.cap);
            st.bump();
        }
        drop(st);
        sh.msg_sent(msg);
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
        st.race.close_release();
        st.bump();
        let mut wake = Wakers::default();
        st.wake_all(&mut wake);
        sh.report(&st);
        drop(st);
        sh.closed_by_task();
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
        .map(|t| t.label(me))
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
        // Quiet under loom: the clone is made by a holder, so the count stays above zero and
        // no other task's operation can tell when it happened.
        let sh = &*self.shared;
        let mut st = sh.state.quiet().unwrap_or_else(|| sh.state.lock());
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
        // Under loom the drop needs no scheduling point when another sender is left (the
        // count stays above zero: the channel stays open, and a later drop still finds out
        // that it is the last), or with every receiver gone for good (no task can observe
        // the count, nor the close the last drop makes).
        if let Some(mut st) = self.shared.state.quiet() {
            if st.senders > 1 || st.receivers == 0 {
                st.senders -= 1;
                self.shared.report(&st);
                return;
            }
        }
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.senders -= 1;
        let mut wake = Wakers::default();
        if st.senders == 0 {
            // Dropping the last sender closes the channel: a release like `close()`.
            st.race.close_release();
            st.bump();
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
            reported: false,
        }
    }

    /// Receives without waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        let mut wake = Wakers::default();
        match st.take(sh.cap, None, None, &mut wake) {
            Take::Value(msg, v) => {
                drop(st);
                sh.msg_received(msg);
                wake_all(wake);
                Ok(v)
            }
            Take::Closed => Err(TryRecvError::Closed),
            Take::Empty => Err(TryRecvError::Empty),
            Take::Lost | Take::Retry => unreachable!("a plain receive has no select to lose"),
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
        // Quiet under loom, as a sender's clone is.
        let sh = &*self.shared;
        let mut st = sh.state.quiet().unwrap_or_else(|| sh.state.lock());
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
        // Under loom the drop needs no scheduling point when another receiver is left (the
        // count stays above zero: sends still succeed, and a later drop still finds out that
        // it is the last), or with every sender gone for good (so no send waits either, and
        // no task can observe the count).
        if let Some(mut st) = self.shared.state.quiet() {
            if st.receivers > 1 || st.senders == 0 {
                st.receivers -= 1;
                self.shared.report(&st);
                return;
            }
        }
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.receivers -= 1;
        let mut wake = Wakers::default();
        if st.receivers == 0 {
            // Blocked senders learn that nobody will ever take their values.
            st.bump();
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
    /// Whether we reported a wait to the tracking layer (a select reports for its arms).
    reported: bool,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> SendFuture<'_, T> {
    #[inline]
    fn stop_waiting(&mut self) {
        self.offer = None;
        if std::mem::take(&mut self.reported) {
            self.shared.op_done();
        }
    }

    /// Completes the send whose offer `id` a receiver took (and, for a select arm, won the
    /// select for).
    fn taken(
        &mut self,
        mut st: LockGuard<'_, State<T>>,
        id: u64,
    ) -> Step<Result<(), SendError<T>>> {
        st.race.send_completed(id);
        drop(st);
        self.stop_waiting();
        self.shared.msg_sent(id);
        Step::Ready(Ok(()))
    }

    /// The value to send and its message id: taken back out of our offer at `pos` if it is
    /// queued, else our own.
    fn take_value(&mut self, st: &mut State<T>, pos: Option<usize>) -> (u64, T) {
        match pos {
            Some(p) => {
                let offer = st.offers.remove(p).expect("offer position is valid");
                (offer.id, offer.value)
            }
            None => (
                st.waiter_id(),
                self.value
                    .take()
                    .expect("SendFuture polled after it completed"),
            ),
        }
    }

    /// One attempt to complete the send: a plain send when `mine` is `None`, else an arm of
    /// `mine`'s select, which completes only by winning the select. With `park`, a send that
    /// cannot complete now waits as an offer (woken when a receiver takes it); without, it
    /// leaves nothing behind. `Waiting` carries the channel's version.
    pub(crate) fn step(
        &mut self,
        cx: &mut Context<'_>,
        mine: Option<&ArmClaim>,
        park: bool,
    ) -> Step<Result<(), SendError<T>>> {
        let sh = self.shared;
        // A receiver that took our value woke us for it, and a taken offer stays taken: under
        // loom, seeing that needs no scheduling point.
        if let Some(id) = self.offer {
            if let Some(st) = sh.state.quiet() {
                if st.offer_index(id).is_none() {
                    return self.taken(st, id);
                }
            }
        }
        let mut st = sh.state.lock();
        let pos = match self.offer {
            Some(id) => match st.offer_index(id) {
                Some(p) => Some(p),
                None => return self.taken(st, id),
            },
            None => None,
        };
        assert!(
            pos.is_some() || self.value.is_some(),
            "SendFuture polled after it completed"
        );
        if let Some(closed_at) = st.closed_at {
            if mine.is_some_and(|m| !m.try_claim()) {
                return Step::Lost;
            }
            let (_, value) = self.take_value(&mut st, pos);
            drop(st);
            self.stop_waiting();
            closed_send(sh, self.site, closed_at);
            return Step::Ready(Err(SendError::Closed(value)));
        }
        if st.receivers == 0 {
            if mine.is_some_and(|m| !m.try_claim()) {
                return Step::Lost;
            }
            let (_, value) = self.take_value(&mut st, pos);
            drop(st);
            self.stop_waiting();
            return Step::Ready(Err(SendError::Disconnected(value)));
        }
        let mut wake = Wakers::default();
        // A waiting receiver takes the value directly.
        while let Some(i) = st.first_waiter(mine) {
            let newly = match mine.map(|m| m.claim()) {
                Some(None) => return Step::Lost,
                Some(Some(newly)) => newly,
                None => false,
            };
            if !state::win_partner(&st.receivers_waiting[i].claim) {
                // Its select went another way after the check (real threads only); others
                // may have seen ours as decided meanwhile: give it back and look again.
                if let Some(m) = mine {
                    if newly {
                        m.give_back();
                    }
                    return Step::Retry;
                }
                continue;
            }
            let (msg, value) = self.take_value(&mut st, pos);
            let w = &mut st.receivers_waiting[i];
            w.slot = Some((msg, value));
            wake.push(w.waker.clone());
            let waiter = w.id;
            st.race.handed(msg, waiter, sh.cap);
            drop(st);
            self.stop_waiting();
            sh.msg_sent(msg);
            wake_all(wake);
            return Step::Ready(Ok(()));
        }
        // Room in the buffer, and no live offer queued ahead of ours.
        let ahead = pos.unwrap_or(st.offers.len());
        if sh.cap.is_none_or(|c| st.buf.len() < c) && !st.live_offer_within(ahead) {
            if mine.is_some_and(|m| !m.try_claim()) {
                return Step::Lost;
            }
            let (msg, value) = self.take_value(&mut st, pos);
            st.buf.push_back((msg, value));
            st.race.sent(msg, sh.cap);
            st.bump();
            drop(st);
            self.stop_waiting();
            sh.msg_sent(msg);
            return Step::Ready(Ok(()));
        }
        let version = st.version;
        if park {
            match pos {
                Some(p) => {
                    let offer = &mut st.offers[p];
                    if !offer.waker.will_wake(cx.waker()) {
                        offer.waker = cx.waker().clone();
                    }
                }
                None => {
                    let id = st.waiter_id();
                    let value = self.value.take().expect("checked above");
                    st.offers.push_back(Offer {
                        id,
                        value,
                        waker: cx.waker().clone(),
                        claim: mine.cloned(),
                    });
                    st.race.offered(id);
                    st.bump();
                    self.offer = Some(id);
                }
            }
        }
        let len = st.buf.len();
        drop(st);
        if park && mine.is_none() && !self.reported {
            self.reported = sh.op_wait("send", len, self.site);
        }
        Step::Waiting(Some(version))
    }

    /// Withdraws our offer, if one waits (a select arm that lost, or a select that looks at
    /// its arms again): from then on the send holds no place in the channel, and the value
    /// is ours again. An offer a receiver already took stays taken: the next step reports
    /// the send done.
    pub(crate) fn withdraw(&mut self) {
        let Some(id) = self.offer else { return };
        let mut st = self.shared.state.lock();
        let Some(i) = st.offer_index(id) else {
            return; // delivered
        };
        let offer = st.offers.remove(i).expect("offer position is valid");
        drop(st);
        self.value = Some(offer.value);
        self.stop_waiting();
    }

    /// The version of the channel's state (see `State::version`).
    pub(crate) fn version(&self) -> u64 {
        self.shared.state.lock().version
    }

    /// The channel this send is on.
    pub(crate) fn channel_id(&self) -> u64 {
        self.shared.id
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.step(cx, None, true) {
            Step::Ready(r) => Poll::Ready(r),
            Step::Waiting(_) => Poll::Pending,
            Step::Lost | Step::Retry => unreachable!("a plain send has no select to lose"),
        }
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
    /// Whether we reported a wait to the tracking layer (a select reports for its arms).
    reported: bool,
}

impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> RecvFuture<'_, T> {
    #[inline]
    fn stop_waiting(&mut self) {
        if std::mem::take(&mut self.reported) {
            self.shared.op_done();
        }
    }

    /// The value a sender handed our waiting entry (and, for a select arm, won the select
    /// for us), with its message id, if one did: takes it and removes the entry.
    fn take_handed(&mut self, st: &mut State<T>) -> Option<(u64, T)> {
        let i = st.waiter_index(self.waiter?)?;
        self.take_handed_at(st, i)
    }

    /// [`take_handed`](Self::take_handed) with our entry's index `i` already looked up.
    fn take_handed_at(&mut self, st: &mut State<T>, i: usize) -> Option<(u64, T)> {
        let id = st.receivers_waiting[i].id;
        st.receivers_waiting[i].slot.as_ref()?;
        let w = st.receivers_waiting.remove(i).expect("waiter position");
        let (msg, v) = w.slot.expect("checked above");
        self.waiter = None;
        st.race.receiver_left(id);
        st.race.received_handed(msg);
        Some((msg, v))
    }

    /// Removes our waiting entry. A value a sender handed us meanwhile goes back to the
    /// front of the buffer, for the next receiver (wakers into `wake`).
    #[inline]
    fn unqueue(&mut self, st: &mut State<T>, wake: &mut Wakers) {
        let i = self.waiter.and_then(|id| st.waiter_index(id));
        self.unqueue_at(st, i, wake);
    }

    /// [`unqueue`](Self::unqueue) with our entry's index already looked up (`None`: we have
    /// no entry, or it left the queue when the channel closed).
    #[inline]
    fn unqueue_at(&mut self, st: &mut State<T>, i: Option<usize>, wake: &mut Wakers) {
        self.waiter = None;
        let Some(i) = i else { return };
        let w = st
            .receivers_waiting
            .remove(i)
            .expect("waiter position is valid");
        st.race.receiver_left(w.id);
        if let Some(v) = w.slot {
            st.race.returned(w.id, self.shared.cap);
            st.buf.push_front(v);
            st.bump();
            st.settle(self.shared.cap, None, wake);
        }
    }

    /// One attempt to receive: a plain receive when `mine` is `None`, else an arm of
    /// `mine`'s select, which completes only by winning the select. With `park`, a receive
    /// that cannot complete now waits (a sender hands it the value); without, it leaves
    /// nothing behind. `Waiting` carries the channel's version.
    pub(crate) fn step(
        &mut self,
        cx: &mut Context<'_>,
        mine: Option<&ArmClaim>,
        park: bool,
    ) -> Step<Option<T>> {
        let sh = self.shared;
        // A sender that handed us a value woke us for it, and a handed value stays ours:
        // under loom, taking it needs no scheduling point.
        if self.waiter.is_some() {
            if let Some(mut st) = sh.state.quiet() {
                if let Some((msg, v)) = self.take_handed(&mut st) {
                    drop(st);
                    self.stop_waiting();
                    sh.msg_received(msg);
                    return Step::Ready(Some(v));
                }
            }
        }
        let mut st = sh.state.lock();
        // Our entry's place in the queue, looked up once (the queue may be long); none if it
        // left the queue when the channel closed. `take` moves no entry, so it stays valid.
        let queued = self.waiter.and_then(|id| st.waiter_index(id));
        if queued.is_none() {
            self.waiter = None;
        }
        if let Some((msg, v)) = queued.and_then(|i| self.take_handed_at(&mut st, i)) {
            drop(st);
            self.stop_waiting();
            sh.msg_received(msg);
            return Step::Ready(Some(v));
        }
        let mut wake = Wakers::default();
        match st.take(sh.cap, mine, self.waiter, &mut wake) {
            Take::Value(msg, v) => {
                self.unqueue_at(&mut st, queued, &mut wake);
                drop(st);
                self.stop_waiting();
                sh.msg_received(msg);
                wake_all(wake);
                Step::Ready(Some(v))
            }
            Take::Closed => {
                self.unqueue_at(&mut st, queued, &mut wake);
                drop(st);
                self.stop_waiting();
                wake_all(wake);
                Step::Ready(None)
            }
            Take::Lost => Step::Lost,
            Take::Retry => Step::Retry,
            Take::Empty => {
                let version = st.version;
                if park {
                    match queued {
                        Some(i) => {
                            let w = &mut st.receivers_waiting[i];
                            if !w.waker.will_wake(cx.waker()) {
                                w.waker = cx.waker().clone();
                            }
                        }
                        None => {
                            // A fresh id keeps the queue sorted by id (binary search finds
                            // entries).
                            let id = st.waiter_id();
                            st.receivers_waiting.push_back(Waiter {
                                id,
                                waker: cx.waker().clone(),
                                claim: mine.cloned(),
                                slot: None,
                            });
                            st.race.receiver_waits(id, sh.cap);
                            st.bump();
                            self.waiter = Some(id);
                        }
                    }
                }
                drop(st);
                if park && mine.is_none() && !self.reported {
                    self.reported = sh.op_wait("recv", 0, self.site);
                }
                Step::Waiting(Some(version))
            }
        }
    }

    /// Withdraws our waiting entry, if any (a select arm that lost, or a select that looks
    /// at its arms again). An entry a sender already handed a value stays: the next step
    /// takes the value.
    pub(crate) fn withdraw(&mut self) {
        let Some(id) = self.waiter else { return };
        let mut st = self.shared.state.lock();
        if st
            .waiter_index(id)
            .is_some_and(|i| st.receivers_waiting[i].slot.is_some())
        {
            return; // delivered
        }
        let mut wake = Wakers::default();
        self.unqueue(&mut st, &mut wake);
        drop(st);
        self.stop_waiting();
        wake_all(wake);
    }

    /// The version of the channel's state (see `State::version`).
    pub(crate) fn version(&self) -> u64 {
        self.shared.state.lock().version
    }

    /// The channel this receive is on.
    pub(crate) fn channel_id(&self) -> u64 {
        self.shared.id
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.step(cx, None, true) {
            Step::Ready(v) => Poll::Ready(v),
            Step::Waiting(_) => Poll::Pending,
            Step::Lost | Step::Retry => unreachable!("a plain receive has no select to lose"),
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if self.waiter.is_none() {
            return;
        }
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        let mut wake = Wakers::default();
        self.unqueue(&mut st, &mut wake);
        drop(st);
        self.stop_waiting();
        wake_all(wake);
    }
}
