//! What every primitive of this module shares: its tracking identity ([`Tracked`]) and the
//! queue of parked waiters ([`Waiters`]) it keeps behind its backend `Lock`.
//!
//! Locks hand over: releasing a lock (a permit, a read or write lock) with waiters queued
//! *grants* it to the first eligible waiter, which stays in the queue, marked granted, until
//! its future is polled again and takes it. A future dropped while granted gives back what
//! it was granted, so a wake-up is never lost; a future dropped while queued just leaves.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;

use crate::rt::backend;
use crate::rt::exec::{self, Exec};
use crate::rt::race::SyncClock;
use crate::track;

/// A primitive's identity in the tracking registry.
pub(crate) struct Tracked {
    /// Its id, shared with tasks' and channels' id space (0 outside a checker).
    pub id: u64,
    pub exec: Option<Arc<Exec>>,
}

impl Tracked {
    /// Registers a new primitive of `kind` created at `site`.
    pub fn new(kind: &'static str, site: &'static Location<'static>) -> Tracked {
        let exec = exec::current();
        let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
        track::lock_created(exec.as_deref(), id, kind, site);
        Tracked { id, exec }
    }

    /// `task` now holds the primitive.
    pub fn held(&self, task: u64) {
        track::held(self.exec.as_deref(), task, self.id);
    }

    /// `task` let go of it.
    pub fn released(&self, task: u64) {
        track::released(self.exec.as_deref(), task, self.id);
    }

    /// The running task starts waiting for `op` at `site`.
    pub fn wait(&self, op: &'static str, site: &Location<'_>) {
        track::op_wait(
            self.exec.as_deref(),
            backend::current_task_id(),
            self.id,
            op,
            0,
            site,
        );
    }

    /// The running task stops waiting.
    pub fn done(&self) {
        track::op_done(self.exec.as_deref(), backend::current_task_id());
    }
}

/// A parked waiter.
pub(crate) struct Waiter {
    pub id: u64,
    /// The harness task that waits: a grant makes it the holder.
    pub task: u64,
    /// What it waits for: a write lock (as opposed to a read lock); for a `Cond`, set when
    /// the waiter was woken by `signal` (as opposed to `broadcast`).
    pub exclusive: bool,
    /// Whether what it waits for was handed to it and its future has not taken it yet.
    pub granted: bool,
    pub waker: Waker,
    /// What the task that granted it released (a `Cond`'s signal): the waiter acquires it.
    pub clock: SyncClock,
}

/// A FIFO queue of parked waiters.
#[derive(Default)]
pub(crate) struct Waiters {
    list: VecDeque<Waiter>,
    next_id: u64,
}

impl Waiters {
    /// Queues a waiter for the running task; returns its id.
    pub fn push(&mut self, exclusive: bool, waker: &Waker) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.list.push_back(Waiter {
            id,
            task: backend::current_task_id(),
            exclusive,
            granted: false,
            waker: waker.clone(),
            clock: SyncClock::default(),
        });
        id
    }

    /// For a waiter's future being polled again: whether it has been granted (`None` if it
    /// is not queued at all). A waiter still waiting gets its waker refreshed.
    pub fn poll_entry(&mut self, id: u64, waker: &Waker) -> Option<bool> {
        let w = self.list.iter_mut().find(|w| w.id == id)?;
        if !w.granted && !w.waker.will_wake(waker) {
            w.waker = waker.clone();
        }
        Some(w.granted)
    }

    /// Takes a waiter out of the queue.
    pub fn remove(&mut self, id: u64) -> Option<Waiter> {
        let pos = self.list.iter().position(|w| w.id == id)?;
        self.list.remove(pos)
    }

    /// Grants the first waiting (not yet granted) waiter that `pick` accepts; returns it.
    pub fn grant_first(&mut self, pick: impl Fn(&Waiter) -> bool) -> Option<&mut Waiter> {
        let w = self.list.iter_mut().find(|w| !w.granted && pick(w))?;
        w.granted = true;
        Some(w)
    }

    /// Whether a waiting (not yet granted) waiter that `pick` accepts is queued.
    pub fn any_waiting(&self, pick: impl Fn(&Waiter) -> bool) -> bool {
        self.list.iter().any(|w| !w.granted && pick(w))
    }

    /// The waiting (not yet granted) waiters, in order.
    pub fn waiting_mut(&mut self) -> impl Iterator<Item = &mut Waiter> {
        self.list.iter_mut().filter(|w| !w.granted)
    }
}

/// Wakes the wakers collected while a lock was held, after it is released.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for w in wakers {
        w.wake();
    }
}
