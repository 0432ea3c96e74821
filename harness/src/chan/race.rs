//! A channel's happens-before clocks (for `RaceCell`), kept inside the channel's state and
//! updated under its lock, following Go's memory model for channels:
//!
//! - a send happens before the matching receive completes (each message carries its
//!   sender's clock);
//! - on a rendezvous channel the receive also happens before the send completes;
//! - on a channel of capacity `c` the k-th receive happens before the (k+c)-th send
//!   completes: each receive leaves its clock in a queue, and the send that takes the freed
//!   buffer slot acquires it (the first `c` sends take the initially free slots);
//! - closing happens before a receive that observes the close.

use std::collections::{HashMap, VecDeque};

use super::state::State;
use crate::rt::race::SyncClock;

/// The clocks of one channel.
#[derive(Default)]
pub(super) struct ChanClocks {
    /// Each message's sender clock, by message (or offer) id, until it is received.
    msgs: HashMap<u64, SyncClock>,
    /// For a blocked send completed by a receiver: that receiver's clock, by offer id.
    acks: HashMap<u64, SyncClock>,
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

    /// The running task's send put message `msg` straight into the buffer, completing.
    pub fn sent(&mut self, msg: u64, cap: Option<usize>) {
        self.msgs.insert(msg, SyncClock::released_now());
        if cap.is_some_and(|c| c > 0) {
            if self.never_used > 0 {
                self.never_used -= 1;
            } else if let Some(freed) = self.freed.pop_front() {
                freed.acquire();
            }
        }
    }

    /// The running task's send blocks with its value in offer `id`.
    pub fn offered(&mut self, id: u64) {
        self.msgs.insert(id, SyncClock::released_now());
    }

    /// The running task's blocked send (offer `id`) sees that a receiver completed it.
    pub fn send_completed(&mut self, id: u64) {
        if let Some(ack) = self.acks.remove(&id) {
            ack.acquire();
        }
    }
}

impl<T> State<T> {
    /// The running task received message `msg`; the buffer held `before` values just before
    /// the take (which may have refilled it from a blocked send).
    pub fn race_received(&mut self, msg: u64, cap: Option<usize>, before: usize) {
        let clocks = &mut self.race;
        if let Some(sent) = clocks.msgs.remove(&msg) {
            sent.acquire();
        }
        match cap {
            None => {}
            // Taken straight from a blocked send: that send completes after this receive.
            _ if before == 0 => {
                clocks.acks.insert(msg, SyncClock::released_now());
            }
            // A value `try_send` left for a waiting receiver: no send waits on this one.
            Some(0) => {}
            Some(_) => {
                let mine = SyncClock::released_now();
                match self.buf.back() {
                    // The take refilled the freed slot from a blocked send at once.
                    Some((refilled, _)) if self.buf.len() == before => {
                        clocks.acks.insert(*refilled, mine);
                    }
                    _ => clocks.freed.push_back(mine),
                }
            }
        }
    }
}
