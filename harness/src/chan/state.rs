//! The shared core of a channel: buffer, blocked senders' offers, waiting receivers.
//!
//! One [`Lock`] guards it all, so every channel operation is a scheduling point under the
//! model checkers. Under shuttle it is a leaf lock (`Lock::new_leaf`: no critical section
//! takes another harness lock, touches a backend atomic or yields), one scheduling point per
//! operation instead of shuttle's mutex with its two. The rules follow Go's channels:
//!
//! * A send hands its value straight to the oldest waiting receiver (into the receiver's
//!   *slot*), else puts it in the buffer if there is room, else waits as an *offer*.
//! * A receive takes from the buffer first (and moves the oldest offer into the room that
//!   frees), else takes the oldest offer directly (a rendezvous), else waits.
//!
//! So a waiting receiver and a takeable offer never wait side by side, except when both
//! belong to one `select!` (which never matches itself). A `select!` arm waits with the
//! select's [`ArmClaim`]: whoever completes the arm must first win the select for it, and
//! an entry whose select went another way is skipped (its owner withdraws it).

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;

use super::race::ChanClocks;
use crate::rt::backend::{self, Lock};
use crate::rt::exec::Exec;
use crate::select::ArmClaim;
use crate::track;

/// A blocked send's value, waiting for a receiver or for room in the buffer.
pub(super) struct Offer<T> {
    /// Identifies the offer and, once taken, the message (for the execution log).
    pub id: u64,
    pub value: T,
    pub waker: Waker,
    /// Set when the send is an arm of a `select!`: taking the value must win the select.
    pub claim: Option<ArmClaim>,
}

impl<T> Offer<T> {
    /// Whether a receiver could still take this value (its select has not gone another way).
    pub fn live(&self) -> bool {
        self.claim.as_ref().is_none_or(|c| !c.lost())
    }
}

/// A receiver parked in `recv`.
pub(super) struct Waiter<T> {
    pub id: u64,
    pub waker: Waker,
    /// Set when the receive is an arm of a `select!`.
    pub claim: Option<ArmClaim>,
    /// The value a sender handed over (with its message id), until the receiver takes it.
    pub slot: Option<(u64, T)>,
}

impl<T> Waiter<T> {
    /// Whether a sender could hand this receiver a value now.
    fn live(&self) -> bool {
        self.slot.is_none() && self.claim.as_ref().is_none_or(|c| !c.lost())
    }
}

/// Whether two operations are arms of one select (which must never pair with itself).
pub(super) fn same_select(a: Option<&ArmClaim>, b: Option<&ArmClaim>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.same_select(b))
}

/// Wins the select of a waiting partner (an offer or a receiver) for its arm; always true
/// for a plain operation.
pub(super) fn win_partner(claim: &Option<ArmClaim>) -> bool {
    claim.as_ref().is_none_or(|c| c.try_claim())
}

/// The outcome of a receive attempt.
pub(super) enum Take<T> {
    /// A value and its message id.
    Value(u64, T),
    /// The channel is closed and has nothing left for this receiver.
    Closed,
    /// Nothing to take now.
    Empty,
    /// The taker's select went another way.
    Lost,
    /// The taker's select won and gave back its claim (a partner's select went another way
    /// meanwhile): its arms must all be looked at again.
    Retry,
}

pub(super) struct State<T> {
    /// Buffered values, each with its message id.
    pub buf: VecDeque<(u64, T)>,
    pub offers: VecDeque<Offer<T>>,
    pub receivers_waiting: VecDeque<Waiter<T>>,
    pub next_waiter: u64,
    pub senders: usize,
    pub receivers: usize,
    /// Where `close()` was first called.
    pub closed_at: Option<&'static Location<'static>>,
    /// Counts the changes that can make an operation ready (a value, an offer or a waiting
    /// receiver added, the channel closed): a select with `default` checks that no channel
    /// of its arms changed while it looked at them one by one.
    pub version: u64,
    /// Happens-before clocks for `RaceCell` (see `chan::race`).
    pub race: RaceClocks,
}

impl<T> State<T> {
    /// An open channel of capacity `cap` with one sender and one receiver; `checked` when it
    /// belongs to a checked execution (outside any check no `RaceCell` is checked, and the
    /// channel keeps no clocks).
    pub fn new(cap: Option<usize>, checked: bool) -> Self {
        State {
            buf: VecDeque::new(),
            offers: VecDeque::new(),
            receivers_waiting: VecDeque::new(),
            next_waiter: 0,
            senders: 1,
            receivers: 1,
            closed_at: None,
            version: 0,
            race: RaceClocks(checked.then(|| Box::new(ChanClocks::new(cap)))),
        }
    }

    /// No value will ever be sent again.
    pub fn closed(&self) -> bool {
        self.closed_at.is_some() || self.senders == 0
    }

    /// Notes a change that may make some operation ready.
    pub fn bump(&mut self) {
        self.version += 1;
    }

    /// Where the offer with this id is. Offers are queued with increasing ids and only ever
    /// removed, so the queue is sorted by id.
    pub fn offer_index(&self, id: u64) -> Option<usize> {
        self.offers.binary_search_by_key(&id, |o| o.id).ok()
    }

    /// Where the waiting receiver with this id is (the queue is sorted by id, as offers are).
    pub fn waiter_index(&self, id: u64) -> Option<usize> {
        self.receivers_waiting
            .binary_search_by_key(&id, |w| w.id)
            .ok()
    }

    /// A fresh id for an offer, a waiting receiver or a message.
    pub fn waiter_id(&mut self) -> u64 {
        self.next_waiter += 1;
        self.next_waiter
    }

    /// The oldest waiting receiver that a sender (an arm of `mine`'s select, if any) could
    /// hand a value to.
    #[inline]
    pub fn first_waiter(&self, mine: Option<&ArmClaim>) -> Option<usize> {
        if self.receivers_waiting.is_empty() {
            return None;
        }
        self.receivers_waiting
            .iter()
            .position(|w| w.live() && !same_select(mine, w.claim.as_ref()))
    }

    /// Whether a live offer waits among the first `n` offers.
    #[inline]
    pub fn live_offer_within(&self, n: usize) -> bool {
        if self.offers.is_empty() {
            return false;
        }
        self.offers.iter().take(n).any(|o| o.live())
    }

    /// Takes the next value for a receiver (an arm of `mine`'s select, if any): from the
    /// buffer (then refilling it), else from the oldest offer it may pair with. Wakers of
    /// offers taken go into `wake`. `me` is the taker's own waiting entry, if it has one,
    /// which must not be handed a buffered value meanwhile.
    ///
    /// Inlined: on the receive path it is most of the work, and a call (its `Take` returned
    /// through memory) cost a receive about 40 instructions when the compiler chose not to.
    #[inline]
    pub fn take(
        &mut self,
        cap: Option<usize>,
        mine: Option<&ArmClaim>,
        me: Option<u64>,
        wake: &mut Wakers,
    ) -> Take<T> {
        if !self.buf.is_empty() {
            if mine.is_some_and(|m| !m.try_claim()) {
                return Take::Lost;
            }
            let (id, v) = self.buf.pop_front().expect("the buffer is not empty");
            self.race.received_buffered(id, cap);
            self.settle(cap, me, wake);
            return Take::Value(id, v);
        }
        while let Some(i) = self
            .offers
            .iter()
            .position(|o| o.live() && !same_select(mine, o.claim.as_ref()))
        {
            let newly = match mine.map(|m| m.claim()) {
                Some(None) => return Take::Lost,
                Some(Some(newly)) => newly,
                None => false,
            };
            if !win_partner(&self.offers[i].claim) {
                // The partner's select went another way between the check and the claim
                // (only possible with real threads). Another taker may have seen this
                // select as decided meanwhile: give the claim back and look again.
                if let Some(m) = mine {
                    if newly {
                        m.give_back();
                    }
                    return Take::Retry;
                }
                continue;
            }
            let offer = self.offers.remove(i).expect("offer position is valid");
            self.race.received_offer(offer.id);
            wake.push(offer.waker);
            return Take::Value(offer.id, offer.value);
        }
        if self.closed() {
            if mine.is_some_and(|m| !m.try_claim()) {
                return Take::Lost;
            }
            self.race.close_acquire();
            return Take::Closed;
        }
        Take::Empty
    }

    /// Restores the channel's rules after room appeared in the buffer or a value was put
    /// back into it: moves the oldest live offers into free room and hands buffered values
    /// to waiting receivers (except `skip`), winning each partner's select first. Wakers go
    /// into `wake`.
    pub fn settle(&mut self, cap: Option<usize>, skip: Option<u64>, wake: &mut Wakers) {
        if self.offers.is_empty() && self.receivers_waiting.is_empty() {
            return; // nothing to move
        }
        loop {
            let mut moved = false;
            while cap.is_some_and(|c| self.buf.len() < c) {
                let Some(i) = self.offers.iter().position(|o| o.live()) else {
                    break;
                };
                if !win_partner(&self.offers[i].claim) {
                    continue; // went another way: no longer live
                }
                let offer = self.offers.remove(i).expect("offer position is valid");
                self.race.refilled(offer.id);
                self.buf.push_back((offer.id, offer.value));
                wake.push(offer.waker);
                moved = true;
            }
            while !self.buf.is_empty() {
                let Some(i) = self
                    .receivers_waiting
                    .iter()
                    .position(|w| w.live() && Some(w.id) != skip)
                else {
                    break;
                };
                let w = &mut self.receivers_waiting[i];
                if !win_partner(&w.claim) {
                    continue;
                }
                w.slot = self.buf.pop_front();
                wake.push(w.waker.clone());
                let waiter = w.id;
                self.race.handed_buffered(waiter, cap);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// Wakes every waiting receiver and every blocked sender (into `wake`), as the channel
    /// closes. A receiver no sender handed a value has nothing left to wait for: its entry
    /// leaves the queue now, so that each of many receivers woken by one close does not
    /// search a long queue for its own entry (its next step finds none and sees the close).
    pub fn wake_all(&mut self, wake: &mut Wakers) {
        debug_assert!(self.closed(), "wake_all is for a closing channel");
        let race = &mut self.race;
        self.receivers_waiting.retain_mut(|w| {
            if w.slot.is_some() {
                wake.push(w.waker.clone());
                return true; // handed a value before the close: it is still theirs
            }
            race.receiver_left(w.id);
            // The entry goes: its waker moves to the wake list instead of being cloned.
            wake.push(std::mem::replace(&mut w.waker, Waker::noop().clone()));
            false
        });
        wake.extend(self.offers.iter().map(|o| o.waker.clone()));
    }
}

/// What every handle of one channel points to.
pub(super) struct Shared<T> {
    pub id: u64,
    pub cap: Option<usize>,
    pub created_at: &'static Location<'static>,
    pub state: Lock<State<T>>,
    pub exec: Option<Arc<Exec>>,
    /// Where [`report`](Shared::report) writes.
    pub counts: track::Counts,
}

impl<T> Shared<T> {
    /// Execution log: the running task's send of message `msg` completed. Outside a checked
    /// execution with its log on, nothing (not even the running task's id) is looked up.
    #[inline]
    pub fn msg_sent(&self, msg: u64) {
        if let Some(e) = self.logged() {
            track::msg_sent(Some(e), backend::current_task_id(), self.id, msg);
        }
    }

    /// Execution log: the running task received message `msg`.
    #[inline]
    pub fn msg_received(&self, msg: u64) {
        if let Some(e) = self.logged() {
            track::msg_received(Some(e), backend::current_task_id(), self.id, msg);
        }
    }

    /// Execution log: the running task closed the channel.
    pub fn closed_by_task(&self) {
        if let Some(e) = self.logged() {
            track::closed(Some(e), backend::current_task_id(), self.id);
        }
    }

    #[inline]
    fn logged(&self) -> Option<&Exec> {
        self.exec.as_deref().filter(|e| e.tracking && e.log)
    }

    /// Reports that the running task waits on `op` at `site`; returns whether there was an
    /// execution to tell (then [`op_done`](Shared::op_done) must follow).
    pub fn op_wait(&self, op: &'static str, len: usize, site: &Location<'_>) -> bool {
        let Some(e) = self.exec.as_deref() else {
            return false;
        };
        // The channel reports its length only here: a blocked sender's report shows it.
        self.counts.set_len(len);
        track::op_wait(Some(e), backend::current_task_id(), self.id, op, len, site);
        true
    }

    /// Reports that the running task's wait (see [`op_wait`](Shared::op_wait)) ended.
    #[inline]
    pub fn op_done(&self) {
        if let Some(e) = self.exec.as_deref() {
            track::op_done(Some(e), backend::current_task_id());
        }
    }

    /// Reports the channel's state to the tracking layer (under the channel's lock).
    #[inline]
    pub fn report(&self, st: &State<T>) {
        self.counts
            .set(self.id, st.buf.len(), st.senders, st.receivers, st.closed());
    }
}

/// Wakes the wakers collected while the lock was held, after it is released.
#[inline]
pub(super) fn wake_all(wakers: Wakers) {
    // `more` fills only once `one` is taken.
    if let Some(w) = wakers.one {
        w.wake();
    }
    for w in wakers.more {
        w.wake();
    }
}

/// The wakers an operation collects under the lock: most operations wake one task at most,
/// which needs no allocation.
#[derive(Default)]
pub(super) struct Wakers {
    one: Option<Waker>,
    more: Vec<Waker>,
}

impl Wakers {
    #[inline]
    pub fn push(&mut self, w: Waker) {
        if self.one.is_none() {
            self.one = Some(w);
        } else {
            self.more.push(w);
        }
    }
}

impl Extend<Waker> for Wakers {
    fn extend<I: IntoIterator<Item = Waker>>(&mut self, iter: I) {
        for w in iter {
            self.push(w);
        }
    }
}

/// A channel's happens-before clocks, kept only by a channel of a checked execution: outside
/// any check no `RaceCell` is checked, and the channel pays nothing for them. Each method
/// forwards to [`ChanClocks`]'s method of the same name.
pub(super) struct RaceClocks(Option<Box<ChanClocks>>);

impl RaceClocks {
    #[inline]
    fn with(&mut self, f: impl FnOnce(&mut ChanClocks)) {
        if let Some(c) = self.0.as_deref_mut() {
            f(c);
        }
    }

    #[inline]
    pub fn sent(&mut self, msg: u64, cap: Option<usize>) {
        self.with(|c| c.sent(msg, cap));
    }

    #[inline]
    pub fn handed(&mut self, msg: u64, waiter: u64, cap: Option<usize>) {
        self.with(|c| c.handed(msg, waiter, cap));
    }

    #[inline]
    pub fn offered(&mut self, id: u64) {
        self.with(|c| c.offered(id));
    }

    #[inline]
    pub fn refilled(&mut self, id: u64) {
        self.with(|c| c.refilled(id));
    }

    #[inline]
    pub fn send_completed(&mut self, id: u64) {
        self.with(|c| c.send_completed(id));
    }

    #[inline]
    pub fn receiver_waits(&mut self, id: u64, cap: Option<usize>) {
        self.with(|c| c.receiver_waits(id, cap));
    }

    #[inline]
    pub fn receiver_left(&mut self, id: u64) {
        self.with(|c| c.receiver_left(id));
    }

    #[inline]
    pub fn received_buffered(&mut self, msg: u64, cap: Option<usize>) {
        self.with(|c| c.received_buffered(msg, cap));
    }

    #[inline]
    pub fn received_offer(&mut self, msg: u64) {
        self.with(|c| c.received_offer(msg));
    }

    #[inline]
    pub fn received_handed(&mut self, msg: u64) {
        self.with(|c| c.received_handed(msg));
    }

    #[inline]
    pub fn handed_buffered(&mut self, waiter: u64, cap: Option<usize>) {
        self.with(|c| c.handed_buffered(waiter, cap));
    }

    #[inline]
    pub fn returned(&mut self, waiter: u64, cap: Option<usize>) {
        self.with(|c| c.returned(waiter, cap));
    }

    /// Closing releases into the channel's close clock.
    #[inline]
    pub fn close_release(&mut self) {
        self.with(|c| c.close());
    }

    /// A receive that sees the channel closed acquires the close clock.
    #[inline]
    pub fn close_acquire(&mut self) {
        self.with(|c| c.close_seen());
    }
}
