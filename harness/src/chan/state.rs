//! The shared core of a channel: buffer, blocked senders' offers, waiting receivers.
//!
//! One [`Lock`] guards it all, so every channel operation is one scheduling point under
//! the model checkers. A blocked send leaves its value in an *offer*; a receiver takes
//! from the buffer first and then moves the oldest offer in (or, on a rendezvous channel,
//! takes the offer directly), so a rendezvous send completes only once its value is taken.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;

use crate::rt::backend::Lock;
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

/// A receiver parked in `recv`.
pub(super) struct Waiter {
    pub id: u64,
    pub waker: Waker,
    /// Set when the receive is an arm of a `select!`.
    pub claim: Option<ArmClaim>,
}

impl Waiter {
    /// Whether this receiver can still take a value (its select has not gone another way).
    fn live(&self) -> bool {
        self.claim.as_ref().is_none_or(|c| !c.lost())
    }
}

pub(super) struct State<T> {
    /// Buffered values, each with its message id.
    pub buf: VecDeque<(u64, T)>,
    pub offers: VecDeque<Offer<T>>,
    pub receivers_waiting: VecDeque<Waiter>,
    pub next_waiter: u64,
    pub senders: usize,
    pub receivers: usize,
    /// Where `close()` was first called.
    pub closed_at: Option<&'static Location<'static>>,
    /// Happens-before clocks for `RaceCell` (see `chan::race`).
    pub race: super::race::ChanClocks,
}

impl<T> State<T> {
    /// No value will ever be sent again.
    pub fn closed(&self) -> bool {
        self.closed_at.is_some() || self.senders == 0
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

    pub fn waiter_id(&mut self) -> u64 {
        self.next_waiter += 1;
        self.next_waiter
    }

    /// Removes and returns the oldest offer that `mine` may take: a plain send, or a select's
    /// send arm whose select this claims (never one of `mine`'s own select's arms). Offers of
    /// selects that went another way stay queued until their owners drop them.
    fn take_offer(&mut self, mine: Option<&ArmClaim>) -> Option<Offer<T>> {
        let i = self.offers.iter().position(|o| match &o.claim {
            None => true,
            Some(c) => !mine.is_some_and(|m| m.same_select(c)) && c.try_claim(),
        })?;
        self.offers.remove(i)
    }

    /// Takes the next value and its message id, if any: from the buffer (refilling it from
    /// the oldest offer), else straight from the oldest offer. `mine` is the taker's select
    /// claim, if it is a select arm: it is won first, and given back if nothing can be taken.
    /// Wakers of offers taken go into `wake`.
    pub fn take(
        &mut self,
        cap: Option<usize>,
        mine: Option<&ArmClaim>,
        wake: &mut Vec<Waker>,
    ) -> Option<(u64, T)> {
        if !self.buf.is_empty() {
            if mine.is_some_and(|m| !m.try_claim()) {
                return None;
            }
            let v = self.buf.pop_front()?;
            if cap.is_some_and(|c| self.buf.len() < c) {
                if let Some(offer) = self.take_offer(None) {
                    self.buf.push_back((offer.id, offer.value));
                    wake.push(offer.waker);
                }
            }
            return Some(v);
        }
        if self.offers.is_empty() || mine.is_some_and(|m| !m.try_claim()) {
            return None;
        }
        match self.take_offer(mine) {
            Some(offer) => {
                wake.push(offer.waker);
                Some((offer.id, offer.value))
            }
            None => {
                if let Some(m) = mine {
                    m.give_back();
                }
                None
            }
        }
    }

    /// Whether a receiver could take something now.
    pub fn has_value(&self) -> bool {
        !self.buf.is_empty()
            || self
                .offers
                .iter()
                .any(|o| o.claim.as_ref().is_none_or(|c| !c.lost()))
    }

    /// Receivers parked in `recv` that can still take a value.
    pub fn live_receivers_waiting(&self) -> usize {
        self.receivers_waiting.iter().filter(|w| w.live()).count()
    }

    /// Wakes one waiting receiver that can still take a value (into `wake`); receivers whose
    /// select went another way are skipped.
    pub fn wake_receiver(&mut self, wake: &mut Vec<Waker>) {
        while let Some(w) = self.receivers_waiting.pop_front() {
            if w.live() {
                wake.push(w.waker);
                return;
            }
        }
    }

    /// Wakes one waiting receiver that can still take a value and is not an arm of `mine`'s
    /// own select (a select never matches itself; waking its own arm would spin).
    pub fn wake_other_receiver(&mut self, mine: &ArmClaim, wake: &mut Vec<Waker>) {
        let Some(i) = self
            .receivers_waiting
            .iter()
            .position(|w| w.live() && !w.claim.as_ref().is_some_and(|c| c.same_select(mine)))
        else {
            return;
        };
        if let Some(w) = self.receivers_waiting.remove(i) {
            wake.push(w.waker);
        }
    }

    /// Wakes every waiting receiver and every blocked sender (into `wake`).
    pub fn wake_all(&mut self, wake: &mut Vec<Waker>) {
        wake.extend(self.receivers_waiting.drain(..).map(|w| w.waker));
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
}

impl<T> Shared<T> {
    /// Reports the channel's state to the tracking layer.
    pub fn report(&self, st: &State<T>) {
        track::resource_state(
            self.exec.as_deref(),
            self.id,
            st.buf.len(),
            st.senders,
            st.receivers,
            st.closed(),
        );
    }
}

/// Wakes the wakers collected while the lock was held, after it is released.
pub(super) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}
