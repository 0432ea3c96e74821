//! The shared core of a tokio-style mpsc channel: a FIFO of values plus, for a bounded
//! channel, a pool of slots (permits) that senders reserve before they write, as tokio
//! builds its own channel (a list and a semaphore).
//!
//! Sending is "reserve a slot, then write into it" within one poll, so a send that loses a
//! `select!` (dropped before it completed) has sent nothing, as in tokio. Reservations are
//! first come, first served: a slot freed by a receive goes straight to the oldest waiting
//! reservation. One backend [`Lock`] guards it all, so every operation is one scheduling
//! point under the model checkers. Under shuttle it is a leaf lock
//! (`Lock::new_shuttle_leaf`): no critical section takes another harness lock, touches a
//! backend atomic or yields, and wakers (which may hold channel handles) are woken or
//! dropped after it is released.
//!
//! Tracking: the channel is a resource of kind `mpsc channel` (capacity `-1` when
//! unbounded); waits are `send` (a reservation waiting for a slot), `recv` and `closed`.
//! It also tells the registry which task created it or made its newest sender, which a
//! report names beside the live senders.
//! Happens-before for `RaceCell`: each value carries its sender's clock to the receive;
//! a receive that frees a slot releases into the slots' clock, which every reservation
//! acquires; closing (the receiver closing or going away, the last sender going away)
//! releases into a clock that whoever observes the close acquires.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::rt::backend::{self, Lock, LockGuard};
use crate::rt::exec::{self, Exec};
use crate::rt::race::SyncClock;
use crate::sync::waiters::wake_all;
use crate::track;

/// The resource kind reports show.
pub(super) const KIND: &str = "mpsc channel";

/// A reservation waiting for a slot.
struct SlotWaiter {
    id: u64,
    waker: Waker,
    /// A freed slot was handed to it; its future has not taken it yet.
    granted: bool,
}

pub(super) struct State<T> {
    buf: VecDeque<(T, SyncClock)>,
    /// Free slots nobody holds (bounded channels only).
    permits: usize,
    /// Slots reserved and not yet written (permits held).
    outstanding: usize,
    waiters: VecDeque<SlotWaiter>,
    next_waiter: u64,
    /// Live `Sender`s (weak senders do not count).
    pub senders: usize,
    /// Live weak senders.
    pub weak: usize,
    /// Whether the receiver is still alive.
    rx_alive: bool,
    /// Whether the receiver closed the channel (`Receiver::close`) or went away.
    rx_closed: bool,
    rx_waker: Option<Waker>,
    /// Tasks waiting in `Sender::closed`.
    closed_waiters: Vec<Waker>,
    /// What freed slots released (receives), acquired by every reservation.
    slots: SyncClock,
    /// What closing released.
    close: SyncClock,
}

/// What every handle of one channel points to.
pub(super) struct Shared<T> {
    pub id: u64,
    /// `None` for an unbounded channel.
    pub cap: Option<usize>,
    pub state: Lock<State<T>>,
    pub exec: Option<Arc<Exec>>,
    /// Where [`report`](Shared::report) writes.
    counts: track::Counts,
}

/// Whether a reservation got a slot.
pub(super) enum Reserve {
    /// The slot is ours: write into it with [`Shared::write`] or give it back.
    Got,
    /// The receiver closed the channel or went away.
    Closed,
    /// Waiting (with this waiter id).
    Waiting(u64),
}

impl<T> Shared<T> {
    /// A new channel with one sender and its receiver.
    pub fn new(cap: Option<usize>, site: &'static Location<'static>) -> Arc<Shared<T>> {
        let exec = exec::current();
        let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
        let counts = track::channel_created(
            exec.as_deref(),
            id,
            KIND,
            cap.map(|c| c as i64).unwrap_or(-1),
            site,
        );
        counts.set_sender_by(backend::current_task_id());
        Arc::new(Shared {
            id,
            cap,
            state: Lock::new_shuttle_leaf(State {
                buf: VecDeque::new(),
                permits: cap.unwrap_or(0),
                outstanding: 0,
                waiters: VecDeque::new(),
                next_waiter: 0,
                senders: 1,
                weak: 0,
                rx_alive: true,
                rx_closed: false,
                rx_waker: None,
                closed_waiters: Vec::new(),
                slots: SyncClock::default(),
                close: SyncClock::default(),
            }),
            exec,
            counts,
        })
    }

    /// Reports the channel's state to the tracking layer (under the channel's lock).
    #[inline]
    fn report(&self, st: &State<T>) {
        self.counts.set(
            self.id,
            st.buf.len(),
            st.senders,
            usize::from(st.rx_alive),
            st.rx_closed || st.senders == 0,
        );
    }

    fn wait(&self, op: &'static str, site: &Location<'_>) {
        track::op_wait(
            self.exec.as_deref(),
            backend::current_task_id(),
            self.id,
            op,
            0,
            site,
        );
    }

    /// The running task stops waiting on this channel.
    pub fn done(&self) {
        track::op_done(self.exec.as_deref(), backend::current_task_id());
    }

    /// Tries to reserve a slot; with `waker`, queues a waiter when none is free (or, with
    /// `waiter`, checks on the one queued before). Unbounded channels always have room.
    pub fn reserve(
        &self,
        waiter: Option<u64>,
        waker: Option<&Waker>,
        site: &Location<'_>,
    ) -> Reserve {
        let mut st = self.state.lock();
        if let Some(id) = waiter {
            let i = st
                .waiters
                .iter()
                .position(|w| w.id == id)
                .expect("a waiting reservation stays queued until it is taken or dropped");
            if st.rx_closed {
                // Fails on the closed channel even if a slot was granted: it goes back.
                let w = st.waiters.remove(i).expect("position is valid");
                st.close.acquire();
                let mut wake = Vec::new();
                if w.granted {
                    Self::slot_returned(&mut st, self.cap, &mut wake);
                }
                drop(st);
                self.done();
                wake_all(wake);
                return Reserve::Closed;
            }
            if st.waiters[i].granted {
                let w = st.waiters.remove(i);
                st.slots.acquire();
                drop(st);
                // Its waker may hold channel handles: dropped with the lock released.
                drop(w);
                self.done();
                return Reserve::Got;
            }
            let mut old = None;
            if let Some(w) = waker {
                if !st.waiters[i].waker.will_wake(w) {
                    old = Some(std::mem::replace(&mut st.waiters[i].waker, w.clone()));
                }
            }
            drop(st);
            drop(old);
            self.wait("send", site);
            return Reserve::Waiting(id);
        }
        if st.rx_closed {
            st.close.acquire();
            return Reserve::Closed;
        }
        if self.cap.is_none() {
            st.outstanding += 1;
            return Reserve::Got;
        }
        if st.permits > 0 {
            st.permits -= 1;
            st.outstanding += 1;
            st.slots.acquire();
            return Reserve::Got;
        }
        let Some(w) = waker else {
            return Reserve::Waiting(0);
        };
        st.next_waiter += 1;
        let id = st.next_waiter;
        st.waiters.push_back(SlotWaiter {
            id,
            waker: w.clone(),
            granted: false,
        });
        drop(st);
        self.wait("send", site);
        Reserve::Waiting(id)
    }

    /// A queued reservation is dropped before it took its slot: a slot granted to it
    /// passes on.
    pub fn cancel_reserve(&self, id: u64) {
        let Some(mut st) = self.state.lock_in_drop() else {
            return;
        };
        let Some(i) = st.waiters.iter().position(|w| w.id == id) else {
            return;
        };
        let w = st.waiters.remove(i).expect("position is valid");
        let mut wake = Vec::new();
        if w.granted {
            Self::slot_returned(&mut st, self.cap, &mut wake);
        }
        drop(st);
        self.done();
        wake_all(wake);
    }

    /// A reserved slot comes back unused. After `close`, the receiver waits for every
    /// reserved slot to come back (or be written) before it ends: the last one wakes it.
    fn slot_returned(st: &mut State<T>, cap: Option<usize>, wake: &mut Vec<Waker>) {
        st.outstanding -= 1;
        if cap.is_some() {
            Self::free_slot(st, wake);
        }
        if st.rx_closed && st.outstanding == 0 {
            wake.extend(st.rx_waker.take());
        }
    }

    /// Reserves `n` slots at once if they are free now (and nobody waits for slots).
    pub fn try_reserve_many(&self, n: usize) -> Reserve {
        let mut st = self.state.lock();
        if st.rx_closed {
            st.close.acquire();
            return Reserve::Closed;
        }
        let free = match self.cap {
            None => usize::MAX,
            Some(_) if st.waiters.iter().any(|w| !w.granted) => 0,
            Some(_) => st.permits,
        };
        if n > free {
            return Reserve::Waiting(0);
        }
        if self.cap.is_some() {
            st.permits -= n;
            if n > 0 {
                st.slots.acquire();
            }
        }
        st.outstanding += n;
        Reserve::Got
    }

    /// A slot is free again: it goes to the oldest waiting reservation, or to the pool.
    fn free_slot(st: &mut State<T>, wake: &mut Vec<Waker>) {
        if st.rx_closed {
            // Waiting reservations fail now: none may take the slot.
            st.permits += 1;
            return;
        }
        match st.waiters.iter_mut().find(|w| !w.granted) {
            Some(w) => {
                w.granted = true;
                st.outstanding += 1;
                wake.push(w.waker.clone());
            }
            None => st.permits += 1,
        }
    }

    /// Reserves a free slot and writes `value` into it in one critical section, when both
    /// can happen now: the channel open, and a slot free (a free slot means no reservation
    /// waits, slots going to the oldest waiter first). Otherwise gives `value` back, for the
    /// caller's slow path (reserve, maybe wait, write), which tells why.
    pub fn send_now(&self, value: T) -> Result<(), T> {
        let mut st = self.state.lock();
        if st.rx_closed {
            return Err(value);
        }
        if self.cap.is_some() {
            if st.permits == 0 {
                return Err(value);
            }
            st.permits -= 1;
            st.slots.acquire();
        }
        self.push(st, value);
        Ok(())
    }

    /// Queues `value` (its slot taken care of), then wakes the receiver with the lock
    /// released.
    fn push(&self, mut st: LockGuard<'_, State<T>>, value: T) {
        st.buf.push_back((value, SyncClock::released_now()));
        let wake = st.rx_waker.take();
        self.report(&st);
        drop(st);
        if let Some(w) = wake {
            w.wake();
        }
    }

    /// Writes `value` into a slot reserved before. Returns the value if the receiver is
    /// gone (it would never be read).
    pub fn write(&self, value: T) -> Result<(), T> {
        let mut st = self.state.lock();
        if !st.rx_alive {
            let mut wake = Vec::new();
            Self::slot_returned(&mut st, self.cap, &mut wake);
            drop(st);
            wake_all(wake);
            return Err(value);
        }
        st.outstanding -= 1;
        self.push(st, value);
        Ok(())
    }

    /// A reserved slot is given back unused (a permit dropped).
    pub fn release_reserved(&self) {
        let Some(mut st) = self.state.lock_in_drop() else {
            return;
        };
        let mut wake = Vec::new();
        Self::slot_returned(&mut st, self.cap, &mut wake);
        drop(st);
        wake_all(wake);
    }

    /// Takes the next value (and up to `more` further ones into `extra`); `Ready(None)`
    /// once nothing more can come. With `waker`, a pending receive registers it.
    pub fn poll_recv(
        &self,
        waker: Option<&Waker>,
        more: usize,
        extra: Option<&mut Vec<T>>,
        site: &Location<'_>,
        waiting: &mut bool,
    ) -> Poll<Option<T>> {
        let mut st = self.state.lock();
        let mut wake = Vec::new();
        if let Some((v, clock)) = st.buf.pop_front() {
            clock.acquire();
            if self.cap.is_some() {
                st.slots.release();
                Self::free_slot(&mut st, &mut wake);
            }
            if let Some(extra) = extra {
                for _ in 0..more {
                    let Some((v, clock)) = st.buf.pop_front() else {
                        break;
                    };
                    clock.acquire();
                    if self.cap.is_some() {
                        st.slots.release();
                        Self::free_slot(&mut st, &mut wake);
                    }
                    extra.push(v);
                }
            }
            self.report(&st);
            drop(st);
            if std::mem::take(waiting) {
                self.done();
            }
            wake_all(wake);
            return Poll::Ready(Some(v));
        }
        if st.senders == 0 || (st.rx_closed && st.outstanding == 0) {
            st.close.acquire();
            drop(st);
            if std::mem::take(waiting) {
                self.done();
            }
            return Poll::Ready(None);
        }
        if let Some(w) = waker {
            let mut old = None;
            if !st.rx_waker.as_ref().is_some_and(|r| r.will_wake(w)) {
                old = st.rx_waker.replace(w.clone());
            }
            drop(st);
            drop(old);
            *waiting = true;
            self.wait("recv", site);
        }
        Poll::Pending
    }

    /// The receiver closes the channel: no new reservation succeeds, waiting ones fail;
    /// buffered values (and slots already reserved) can still be received.
    pub fn close_rx(&self, dropping: bool) {
        let st = if dropping {
            self.state.lock_in_drop()
        } else {
            Some(self.state.lock())
        };
        let Some(mut st) = st else { return };
        let mut wake: Vec<Waker> = Vec::new();
        if !st.rx_closed {
            st.rx_closed = true;
            st.close.release();
            wake.extend(st.waiters.iter().map(|w| w.waker.clone()));
            wake.append(&mut st.closed_waiters);
        }
        let dropped = if dropping {
            st.rx_alive = false;
            st.rx_waker = None;
            std::mem::take(&mut st.buf)
        } else {
            VecDeque::new()
        };
        self.report(&st);
        drop(st);
        wake_all(wake);
        drop(dropped);
    }

    /// Whether the receiver closed the channel or is gone.
    pub fn is_closed(&self) -> bool {
        self.state.lock().rx_closed
    }

    /// `Sender::closed`: ready once the receiver closed the channel or is gone.
    pub fn poll_closed(
        &self,
        cx: &mut Context<'_>,
        site: &Location<'_>,
        waiting: &mut bool,
    ) -> Poll<()> {
        let mut st = self.state.lock();
        if st.rx_closed {
            st.close.acquire();
            drop(st);
            if std::mem::take(waiting) {
                self.done();
            }
            return Poll::Ready(());
        }
        if !st.closed_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.closed_waiters.push(cx.waker().clone());
        }
        drop(st);
        *waiting = true;
        self.wait("closed", site);
        Poll::Pending
    }

    /// A new strong sender (a clone, or an upgraded weak one); `false` if none is left to
    /// clone from (an upgrade then fails).
    pub fn add_sender(&self, upgrade: bool) -> bool {
        let mut st = self.state.lock();
        if upgrade && st.senders == 0 {
            return false;
        }
        st.senders += 1;
        self.report(&st);
        self.counts.set_sender_by(backend::current_task_id());
        true
    }

    /// A strong sender goes away; the last one wakes the receiver (nothing more will come).
    pub fn drop_sender(&self) {
        let Some(mut st) = self.state.lock_in_drop() else {
            return;
        };
        st.senders -= 1;
        let mut wake = None;
        if st.senders == 0 {
            st.close.release();
            wake = st.rx_waker.take();
        }
        self.report(&st);
        drop(st);
        if let Some(w) = wake {
            w.wake();
        }
    }

    /// Adds (`+1`) or removes (`-1`) a weak sender.
    pub fn weak_delta(&self, add: bool) {
        let Some(mut st) = self.state.lock_in_drop() else {
            return;
        };
        if add {
            st.weak += 1;
        } else {
            st.weak -= 1;
        }
    }

    /// Free slots now (bounded), as tokio's `capacity()`.
    pub fn capacity(&self) -> usize {
        self.state.lock().permits
    }

    /// How many values are buffered.
    pub fn len(&self) -> usize {
        self.state.lock().buf.len()
    }

    /// Live strong and weak senders.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.state.lock();
        (st.senders, st.weak)
    }
}
