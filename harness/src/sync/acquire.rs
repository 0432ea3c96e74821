//! [`Acquire`]: the one future every lock of `leakproof::sync` waits in (`Mutex`,
//! `Semaphore`, `RwLock`'s read and write), as tokio builds its locks on one semaphore; and
//! [`Permits`], the counting core that `Mutex` (one permit) and `Semaphore` share.
//!
//! A lock says who may come in with a [`Gate`]; the future does the rest, the same way for
//! every lock: it takes the lock at once when the gate lets it in, or else queues a waiter
//! and reports the wait; a release grants the lock to waiters in the queue (the lock stays
//! taken on their behalf) and wakes them; a granted waiter's next poll takes the grant. A
//! future dropped while it waits leaves the queue, and one dropped after a grant it never
//! took hands the grant back, so that the next waiter gets it: no grant is ever lost.

use std::panic::Location;
use std::task::{Context, Poll, Waker};

use super::waiters::{wake_all, Tracked, Waiters};
use crate::rt::backend::{self, Lock};
use crate::rt::race::SyncClock;

/// A lock's admission rules, for [`Acquire`].
pub(crate) trait Gate {
    /// The lock's state, behind its backend lock.
    type State;
    /// The state.
    fn state(&self) -> &Lock<Self::State>;
    /// The lock as the tracking layer knows it.
    fn res(&self) -> &Tracked;
    /// The state's queue of waiters.
    fn waiters(st: &mut Self::State) -> &mut Waiters;
    /// Takes the lock at once if it may be taken now (`exclusive`: a write lock).
    fn admit(st: &mut Self::State, exclusive: bool) -> bool;
    /// Acquires what earlier releases released (happens-before for `RaceCell`), when the
    /// lock is taken, at once or by a grant.
    fn acquired(st: &mut Self::State, exclusive: bool);
    /// Hands back a grant its waiter never took: it goes to the next waiters, whose wakers
    /// go in `wake`.
    fn give_back(&self, st: &mut Self::State, exclusive: bool, wake: &mut Vec<Waker>);
    /// A waiter left the queue before any grant: let in whom it held up.
    fn left(&self, st: &mut Self::State, exclusive: bool, wake: &mut Vec<Waker>) {
        let _ = (st, exclusive, wake);
    }
}

/// Waits for a lock behind a [`Gate`]; polls to the id of the task that holds it now.
pub(crate) struct Acquire<'a, G: Gate> {
    gate: &'a G,
    /// A write lock (as opposed to a read lock or a permit).
    exclusive: bool,
    /// The operation's name in reports.
    op: &'static str,
    site: &'static Location<'static>,
    /// Our place in the queue while we wait.
    waiter: Option<u64>,
}

impl<'a, G: Gate> Acquire<'a, G> {
    pub(crate) fn new(
        gate: &'a G,
        exclusive: bool,
        op: &'static str,
        site: &'static Location<'static>,
    ) -> Self {
        Acquire {
            gate,
            exclusive,
            op,
            site,
            waiter: None,
        }
    }

    /// The lock waited for.
    pub(crate) fn gate(&self) -> &'a G {
        self.gate
    }

    /// Takes the lock, or queues for it; `Ready` with the task that holds it now.
    pub(crate) fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<u64> {
        let g = self.gate;
        let mut st = g.state().lock();
        if let Some(id) = self.waiter {
            let waiters = G::waiters(&mut st);
            match waiters.poll_entry(id, cx.waker()) {
                Some(false) => return Poll::Pending,
                Some(true) => {
                    let w = waiters.remove(id).expect("the waiter is queued");
                    G::acquired(&mut st, self.exclusive);
                    drop(st);
                    self.waiter = None;
                    g.res().done();
                    return Poll::Ready(w.task);
                }
                None => unreachable!("a waiting lock future left the queue"),
            }
        }
        if G::admit(&mut st, self.exclusive) {
            G::acquired(&mut st, self.exclusive);
            let me = backend::current_task_id();
            g.res().held(me);
            drop(st);
            return Poll::Ready(me);
        }
        self.waiter = Some(G::waiters(&mut st).push(self.exclusive, cx.waker()));
        drop(st);
        g.res().wait(self.op, self.site);
        Poll::Pending
    }
}

impl<G: Gate> Drop for Acquire<'_, G> {
    fn drop(&mut self) {
        let Some(id) = self.waiter else { return };
        let g = self.gate;
        let Some(mut st) = g.state().lock_in_drop() else {
            return;
        };
        let Some(w) = G::waiters(&mut st).remove(id) else {
            return;
        };
        let mut wake = Vec::new();
        if w.granted {
            // Handed the lock but never took it: pass it on.
            g.res().released(w.task);
            g.give_back(&mut st, self.exclusive, &mut wake);
        } else {
            g.left(&mut st, self.exclusive, &mut wake);
        }
        drop(st);
        g.res().done();
        wake_all(wake);
    }
}

/// The state of a counting lock: free permits, the queue, and the release clock.
pub(crate) struct PermitState {
    /// Permits nobody holds and nobody was granted.
    pub permits: usize,
    waiters: Waiters,
    /// What permits given back released: every later acquire acquires it.
    race: SyncClock,
}

/// A pool of permits, first come first served: a `Semaphore`, or with one permit a
/// `Mutex`.
pub(crate) struct Permits {
    pub res: Tracked,
    pub state: Lock<PermitState>,
}

impl Permits {
    /// `permits` permits, tracked as a `kind` created at `site`.
    pub(crate) fn new(
        kind: &'static str,
        permits: usize,
        site: &'static Location<'static>,
    ) -> Self {
        Permits {
            res: Tracked::new(kind, site),
            state: Lock::new(PermitState {
                permits,
                waiters: Waiters::default(),
                race: SyncClock::default(),
            }),
        }
    }

    /// Waits for a permit, reporting the wait as `op` at `site`.
    pub(crate) fn acquire(
        &self,
        op: &'static str,
        site: &'static Location<'static>,
    ) -> Acquire<'_, Self> {
        Acquire::new(self, false, op, site)
    }

    /// Takes a permit if one is free right now; the task that holds it.
    pub(crate) fn try_acquire(&self) -> Option<u64> {
        let mut st = self.state.lock();
        if !Self::admit(&mut st, false) {
            return None;
        }
        Self::acquired(&mut st, false);
        let me = backend::current_task_id();
        self.res.held(me);
        drop(st);
        Some(me)
    }

    /// `holder` gives its permit back: it goes to the first waiter, or to the pool.
    pub(crate) fn release(&self, holder: u64) {
        let Some(mut st) = self.state.lock_in_drop() else {
            return;
        };
        self.res.released(holder);
        st.race.release();
        let mut wake = Vec::new();
        self.give_back(&mut st, false, &mut wake);
        drop(st);
        wake_all(wake);
    }

    /// Adds `n` permits (each goes to a waiting task first).
    pub(crate) fn add(&self, n: usize) {
        let mut st = self.state.lock();
        let mut wake = Vec::new();
        st.race.release();
        for _ in 0..n {
            self.give_back(&mut st, false, &mut wake);
        }
        drop(st);
        wake_all(wake);
    }

    /// `holder` keeps its permit for good.
    pub(crate) fn forget(&self, holder: u64) {
        let st = self.state.lock();
        self.res.released(holder);
        drop(st);
    }
}

impl Gate for Permits {
    type State = PermitState;

    fn state(&self) -> &Lock<PermitState> {
        &self.state
    }

    fn res(&self) -> &Tracked {
        &self.res
    }

    fn waiters(st: &mut PermitState) -> &mut Waiters {
        &mut st.waiters
    }

    fn admit(st: &mut PermitState, _exclusive: bool) -> bool {
        if st.permits == 0 {
            return false;
        }
        st.permits -= 1;
        true
    }

    fn acquired(st: &mut PermitState, _exclusive: bool) {
        st.race.acquire();
    }

    /// A permit came back: it goes to the first waiter, or to the pool.
    fn give_back(&self, st: &mut PermitState, _exclusive: bool, wake: &mut Vec<Waker>) {
        match st.waiters.grant_first(|_| true) {
            Some(w) => {
                self.res.held(w.task);
                wake.push(w.waker.clone());
            }
            None => st.permits += 1,
        }
    }
}
