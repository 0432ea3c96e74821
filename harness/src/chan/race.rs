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
//!   buffer slot acquires it (the first `c` sends take the initially free slots). A value
//!   handed straight to a waiting receiver passes through a slot, as in Go's race detector:
//!   the receive completes at the hand-over, not when the receiver next runs, so the slot is
//!   freed then, with the clock the receiver had when it started waiting (it has done
//!   nothing since). A send that takes that slot before the receiver wakes acquires it;
//! - closing happens before a receive that observes the close.

use std::collections::{HashMap, VecDeque};

use crate::rt::id_hash::IdHash;
use crate::rt::race::SyncClock;

/// Whether the edge named `edge` is kept. Always, except in a build with the `mutants`
/// feature (mutation testing of these edges, never on otherwise) when `LEAKPROOF_MUTANT`
/// names it: then it is dropped, so that a test can be seen to fail without it
/// (`scripts/mutants-race.sh`).
#[cfg(feature = "mutants")]
fn keep(edge: &str) -> bool {
    static MUTANT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    MUTANT
        .get_or_init(|| std::env::var("LEAKPROOF_MUTANT").ok())
        .as_deref()
        != Some(edge)
}

/// Whether the edge named `edge` is kept: always (see the `mutants` feature).
#[cfg(not(feature = "mutants"))]
#[inline(always)]
fn keep(_edge: &str) -> bool {
    true
}

/// Keeps `clock` under `key` unless it is empty: nothing was released into it, because the
/// race detector is off until the execution's first `RaceCell` access. Every reader takes
/// an entry out with `remove` and acquires it, and acquiring an empty clock does nothing,
/// so a missing entry reads the same; a program that checks no cell then pays no map write
/// per message or waiting receiver.
fn put(map: &mut HashMap<u64, SyncClock, IdHash>, key: u64, clock: SyncClock) {
    if !clock.is_empty() {
        map.insert(key, clock);
    }
}

/// The clocks of one channel.
#[derive(Default)]
pub(super) struct ChanClocks {
    /// Each message's sender clock, by message (or offer) id, until it is received.
    msgs: HashMap<u64, SyncClock, IdHash>,
    /// For a blocked send completed by a receiver: that receiver's clock, by offer id.
    acks: HashMap<u64, SyncClock, IdHash>,
    /// On a bounded channel, each waiting receiver's clock, by waiter id.
    waiting: HashMap<u64, SyncClock, IdHash>,
    /// Clocks of receives whose freed buffer slot no send has taken yet, oldest first, each
    /// with the waiter id of a receive completed by a hand-over (see [`ChanClocks::returned`]).
    freed: VecDeque<(Option<u64>, SyncClock)>,
    /// Buffer slots never used yet (the first `c` sends need no receive).
    never_used: usize,
    /// Receives undone (a handed value given back) after a send took the slot they had
    /// freed: the next that many frees are already spent.
    debt: usize,
    /// What closing released.
    closed: SyncClock,
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
            } else if let Some((_, freed)) = self.freed.pop_front() {
                if keep("take_slot") {
                    freed.acquire();
                }
            }
        }
    }

    /// A receive frees a buffer slot, leaving `clock` (the receiver's) for the send that
    /// takes it; `waiter` names a receive completed by a hand-over.
    fn free_slot(&mut self, cap: Option<usize>, waiter: Option<u64>, clock: SyncClock) {
        if cap.is_some_and(|c| c > 0) {
            if self.debt > 0 && keep("debt") {
                self.debt -= 1;
            } else {
                self.freed.push_back((waiter, clock));
            }
        }
    }

    /// Waiting receiver `waiter` was handed a value: its receive completes now, freeing a
    /// slot with the clock it had when it started waiting.
    fn hand_over(&mut self, waiter: u64, cap: Option<usize>) {
        if cap.is_some_and(|c| c > 0) && keep("hand_over") {
            let clock = self.waiting.remove(&waiter).unwrap_or_default();
            self.free_slot(cap, Some(waiter), clock);
        }
    }

    /// The running task's send put message `msg` straight into the buffer, completing.
    pub fn sent(&mut self, msg: u64, cap: Option<usize>) {
        if keep("sent") {
            put(&mut self.msgs, msg, SyncClock::released_now());
        }
        self.take_slot(cap);
    }

    /// The running task's send handed message `msg` to waiting receiver `waiter`,
    /// completing.
    pub fn handed(&mut self, msg: u64, waiter: u64, cap: Option<usize>) {
        if keep("handed") {
            put(&mut self.msgs, msg, SyncClock::released_now());
        }
        if cap == Some(0) && keep("handed_rendezvous") {
            if let Some(receiver) = self.waiting.remove(&waiter) {
                receiver.acquire();
            }
        }
        self.take_slot(cap);
        self.hand_over(waiter, cap);
    }

    /// A buffered value was moved to waiting receiver `waiter` (after a value went back
    /// into the buffer): its receive completes now.
    pub fn handed_buffered(&mut self, waiter: u64, cap: Option<usize>) {
        if keep("handed_buffered") {
            self.hand_over(waiter, cap);
        }
    }

    /// Waiting receiver `waiter`, handed a value, stopped waiting without taking it: the
    /// value goes back into the buffer and the receive that the hand-over completed is
    /// undone, so the slot it freed is taken back (or, if a send already took it, the
    /// next free is).
    pub fn returned(&mut self, waiter: u64, cap: Option<usize>) {
        if cap.is_none_or(|c| c == 0) || !keep("returned") {
            return;
        }
        match self.freed.iter().position(|(w, _)| *w == Some(waiter)) {
            Some(i) => {
                self.freed.remove(i);
            }
            None => self.debt += 1,
        }
    }

    /// The running task's send blocks with its value in offer `id`.
    pub fn offered(&mut self, id: u64) {
        if keep("offered") {
            put(&mut self.msgs, id, SyncClock::released_now());
        }
    }

    /// A receive that freed a slot moved blocked send `id` into the buffer: the send takes
    /// that slot (and acquires the receive's clock when it sees it completed).
    pub fn refilled(&mut self, id: u64) {
        if self.never_used > 0 {
            self.never_used -= 1;
        } else if let Some((_, freed)) = self.freed.pop_front() {
            if keep("refilled") {
                put(&mut self.acks, id, freed);
            }
        }
    }

    /// The running task's blocked send (offer `id`) sees that a receiver completed it.
    pub fn send_completed(&mut self, id: u64) {
        if let Some(ack) = self.acks.remove(&id) {
            if keep("send_completed") {
                ack.acquire();
            }
        }
    }

    /// The running task waits to receive as waiter `id` (on a rendezvous channel, its
    /// clock goes to the sender that hands it a value; on a buffered one, to the send that
    /// takes the slot the hand-over frees).
    pub fn receiver_waits(&mut self, id: u64, cap: Option<usize>) {
        if cap.is_some() && keep("receiver_waits") {
            put(&mut self.waiting, id, SyncClock::released_now());
        }
    }

    /// Waiter `id` stopped waiting.
    pub fn receiver_left(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// The running task received message `msg` from the buffer (a slot is freed).
    pub fn received_buffered(&mut self, msg: u64, cap: Option<usize>) {
        if let Some(sent) = self.msgs.remove(&msg) {
            if keep("received_buffered") {
                sent.acquire();
            }
        }
        if keep("received_buffered_frees") {
            self.free_slot(cap, None, SyncClock::released_now());
        }
    }

    /// The running task took message `msg` straight from a blocked send, which completes
    /// after this receive.
    pub fn received_offer(&mut self, msg: u64) {
        if let Some(sent) = self.msgs.remove(&msg) {
            if keep("received_offer") {
                sent.acquire();
            }
        }
        if keep("received_offer_acks") {
            put(&mut self.acks, msg, SyncClock::released_now());
        }
    }

    /// The running task closed the channel (`close()` or dropping the last sender): it
    /// releases into the close clock.
    pub fn close(&mut self) {
        if keep("close") {
            self.closed.release();
        }
    }

    /// The running task's receive saw the channel closed: it acquires the close clock.
    pub fn close_seen(&mut self) {
        if keep("close_seen") {
            self.closed.acquire();
        }
    }

    /// The running task took message `msg`, which was handed to it while it waited (the
    /// hand-over already freed the slot).
    pub fn received_handed(&mut self, msg: u64) {
        if let Some(sent) = self.msgs.remove(&msg) {
            if keep("received_handed") {
                sent.acquire();
            }
        }
    }
}
