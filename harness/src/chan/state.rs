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
use crate::track;

/// A blocked send's value, waiting for a receiver or for room in the buffer.
pub(super) struct Offer<T> {
    /// Identifies the offer and, once taken, the message (for the execution log).
    pub id: u64,
    pub value: T,
    pub waker: Waker,
}

pub(super) struct State<T> {
    /// Buffered values, each with its message id.
    pub buf: VecDeque<(u64, T)>,
    pub offers: VecDeque<Offer<T>>,
    pub receivers_waiting: VecDeque<(u64, Waker)>,
    pub next_waiter: u64,
    pub senders: usize,
    pub receivers: usize,
    /// Where `close()` was first called.
    pub closed_at: Option<&'static Location<'static>>,
}

impl<T> State<T> {
    /// No value will ever be sent again.
    pub fn closed(&self) -> bool {
        self.closed_at.is_some() || self.senders == 0
    }

    pub fn waiter_id(&mut self) -> u64 {
        self.next_waiter += 1;
        self.next_waiter
    }

    /// Takes the next value and its message id, if any: from the buffer (refilling it from
    /// the oldest offer), else straight from the oldest offer. Wakers of offers taken go
    /// into `wake`.
    pub fn take(&mut self, cap: Option<usize>, wake: &mut Vec<Waker>) -> Option<(u64, T)> {
        if let Some(v) = self.buf.pop_front() {
            if cap.is_some_and(|c| self.buf.len() < c) {
                if let Some(offer) = self.offers.pop_front() {
                    self.buf.push_back((offer.id, offer.value));
                    wake.push(offer.waker);
                }
            }
            return Some(v);
        }
        let offer = self.offers.pop_front()?;
        wake.push(offer.waker);
        Some((offer.id, offer.value))
    }

    /// Whether a receiver could take something now.
    pub fn has_value(&self) -> bool {
        !self.buf.is_empty() || !self.offers.is_empty()
    }

    /// Wakes one waiting receiver (into `wake`).
    pub fn wake_receiver(&mut self, wake: &mut Vec<Waker>) {
        if let Some((_, w)) = self.receivers_waiting.pop_front() {
            wake.push(w);
        }
    }

    /// Wakes every waiting receiver and every blocked sender (into `wake`).
    pub fn wake_all(&mut self, wake: &mut Vec<Waker>) {
        wake.extend(self.receivers_waiting.drain(..).map(|(_, w)| w));
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
