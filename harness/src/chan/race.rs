//! A channel's happens-before clocks (for `RaceCell`), kept inside the channel's state and
//! updated under its lock, following Go's memory model for channels:
//!
//! - a send happens before the matching receive completes (each message carries its
//!   sender's clock);
//! - on a rendezvous channel the receive also happens before the send completes (a
//!   receiver that waits leaves its clock for the sender that hands it a value; a receiver
//!   that takes a blocked send's value leaves its clock for that sender);
//! - on a channel of capacity `c` the k-th receive happens before the (k+c)-th send
//!   completes: each receive leaves its clock in a queue, and the send that takes the freed
//!   buffer slot acquires it (the first `c` sends take the initially free slots; a value
//!   handed straight to a waiting receiver counts as passing through a slot);
//! - closing happens before a receive that observes the close.

use std::collections::{HashMap, VecDeque};

use crate::rt::race::SyncClock;

/// The clocks of one channel.
#[derive(Default)]
pub(super) struct ChanClocks {
    /// Each message's sender clock, by message (or offer) id, until it is received.
    msgs: HashMap<u64, SyncClock>,
    /// For a blocked send completed by a receiver: that receiver's clock, by offer id.
    acks: HashMap<u64, SyncClock>,
    /// On a rendezvous channel, each waiting receiver's clock, by waiter id.
    waiting: HashMap<u64, SyncClock>,
    /// Clocks of receives whose freed buffer slot no send has taken yet, oldest first.
    freed: VecDeque<SyncClock>,
    /// Buffer slots never used yet (the first `c` sends need no receive).
    never_used: usize,
    /// What closing released.
    pub closed: SyncClock,
}

impl ChanClocks {
    /// The clocks of a new channel of capacity `cap` (`None`: unbounded).
    pub fn new(cap: Option<usize>) -> Self {
        ChanClocks {
            never_used: cap.unwrap_or(0),
            ..Default::default()
        }
    }

    /// A send takes a buffer slot: the receive that freed it (if any) happens before.
    fn take_slot(&mut self, cap: Option<usize>) {
        if cap.is_some_and(|c| c > 0) {
            if self.never_used > 0 {
                self.never_used -= 1;
            } else if let Some(freed) = self.freed.pop_front() {
                freed.acquire();
            }
        }
    }

    /// A receive frees a buffer slot, leaving the running task's clock for the send that
    /// takes it.
    fn free_slot(&mut self, cap: Option<usize>) {
        if cap.is_some_and(|c| c > 0) {
            self.freed.push_back(SyncClock::released_now());
        }
    }

    /// The running task's send put message `msg` straight into the buffer, completing.
    pub fn sent(&mut self, msg: u64, cap: Option<usize>) {
        self.msgs.insert(msg, SyncClock::released_now());
        self.take_slot(cap);
    }

    /// The running task's send handed message `msg` to waiting receiver `waiter`,
    /// completing.
    pub fn handed(&mut self, msg: u64, waiter: u64, cap: Option<usize>) {
        self.msgs.insert(msg, SyncClock::released_now());
        if let Some(receiver) = self.waiting.remove(&waiter) {
            receiver.acquire();
        }
        self.take_slot(cap);
    }

    /// The running task's send blocks with its value in offer `id`.
    pub fn offered(&mut self, id: u64) {
        self.msgs.insert(id, SyncClock::released_now());
    }

    /// A receive that freed a slot moved blocked send `id` into the buffer: the send takes
    /// that slot (and acquires the receive's clock when it sees it completed).
    pub fn refilled(&mut self, id: u64) {
        if self.never_used > 0 {
            self.never_used -= 1;
        } else if let Some(freed) = self.freed.pop_front() {
            self.acks.insert(id, freed);
        }
    }

    /// The running task's blocked send (offer `id`) sees that a receiver completed it.
    pub fn send_completed(&mut self, id: u64) {
        if let Some(ack) = self.acks.remove(&id) {
            ack.acquire();
        }
    }

    /// The running task waits to receive as waiter `id` (on a rendezvous channel, its
    /// clock goes to the sender that hands it a value).
    pub fn receiver_waits(&mut self, id: u64, cap: Option<usize>) {
        if cap == Some(0) {
            self.waiting.insert(id, SyncClock::released_now());
        }
    }

    /// Waiter `id` stopped waiting.
    pub fn receiver_left(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// The running task received message `msg` from the buffer (a slot is freed).
    pub fn received_buffered(&mut self, msg: u64, cap: Option<usize>) {
        if let Some(sent) = self.msgs.remove(&msg) {
            sent.acquire();
        }
        self.free_slot(cap);
    }

    /// The running task took message `msg` straight from a blocked send, which completes
    /// after this receive.
    pub fn received_offer(&mut self, msg: u64) {
        if let Some(sent) = self.msgs.remove(&msg) {
            sent.acquire();
        }
        self.acks.insert(msg, SyncClock::released_now());
    }

    /// The running task took message `msg`, which a sender handed it while it waited.
    pub fn received_handed(&mut self, msg: u64, cap: Option<usize>) {
        if let Some(sent) = self.msgs.remove(&msg) {
            sent.acquire();
        }
        self.free_slot(cap);
    }
}
