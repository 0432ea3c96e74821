//! The fair, many-permit, closable semaphore under tokio's `Mutex`, `RwLock` and `Semaphore`,
//! as tokio builds them: strictly first come, first served (a waiter at the head of the queue
//! keeps later ones out even when enough permits for them are free), permits handed to the
//! head waiter as they come back, closing wakes every waiter with an error.
//!
//! Its state sits behind a leaf lock under shuttle (`Lock::new_shuttle_leaf`, one scheduling
//! point per operation): no critical section takes another harness lock or yields, and wakers
//! are woken or dropped after the lock is released (a waker's destructor may call back into the
//! semaphore).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::rt::backend::{self, Lock};
use crate::rt::race::SyncClock;
use crate::sync::waiters::{wake_all, Tracked};

/// Why an acquire failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TryAcquire {
    Closed,
    NoPermits,
}

/// The semaphore was closed while a task waited on it (or before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Closed;

struct Waiter {
    id: u64,
    /// Permits asked for.
    wanted: usize,
    /// Permits handed to it so far.
    assigned: usize,
    waker: Option<Waker>,
}

struct State {
    permits: usize,
    closed: bool,
    waiters: VecDeque<Waiter>,
    next_id: u64,
    /// What permits given back released: every later acquire acquires it.
    race: SyncClock,
}

impl State {
    /// Hands free permits to the waiters in order; returns the wakers of those now served.
    fn assign(&mut self, wake: &mut Vec<Waker>) {
        for w in self.waiters.iter_mut() {
            if w.assigned == w.wanted {
                continue;
            }
            let give = self.permits.min(w.wanted - w.assigned);
            w.assigned += give;
            self.permits -= give;
            if w.assigned < w.wanted {
                // The head of the queue is not served yet: everyone behind it waits.
                return;
            }
            if let Some(k) = w.waker.take() {
                wake.push(k);
            }
        }
    }

    fn anyone_waiting(&self) -> bool {
        self.waiters.iter().any(|w| w.assigned < w.wanted)
    }
}

/// The most permits a semaphore may hold, as tokio's.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// A fair batch semaphore, tracked as the primitive of kind `kind` that owns it.
pub(crate) struct Sem {
    pub(crate) res: Tracked,
    state: Lock<State>,
}

impl Sem {
    pub(crate) fn new(kind: &'static str, permits: usize, site: &'static Location<'static>) -> Sem {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
        );
        Sem {
            res: Tracked::new(kind, site),
            state: Lock::new_shuttle_leaf(State {
                permits,
                closed: false,
                waiters: VecDeque::new(),
                next_id: 0,
                race: SyncClock::default(),
            }),
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.state.lock().permits
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Takes `n` permits now if they are free and nobody queues for permits; the running
    /// task becomes a holder.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<u64, TryAcquire> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(TryAcquire::Closed);
        }
        if st.anyone_waiting() || st.permits < n {
            return Err(TryAcquire::NoPermits);
        }
        st.permits -= n;
        st.race.acquire();
        let me = backend::current_task_id();
        self.res.held(me);
        Ok(me)
    }

    /// Waits for `n` permits; the future's output is the holder's task id.
    pub(crate) fn acquire(
        &self,
        n: usize,
        op: &'static str,
        site: &'static Location<'static>,
    ) -> Acquire<'_> {
        assert!(
            n <= MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
        );
        Acquire {
            sem: self,
            n,
            op,
            site,
            waiter: None,
        }
    }

    /// Gives `n` permits back (or adds them), held by `holder` if `Some`.
    pub(crate) fn release(&self, n: usize, holder: Option<u64>) {
        let Some(mut st) = self.state.lock_in_drop() else {
            return;
        };
        if let Some(h) = holder {
            self.res.released(h);
        }
        if n == 0 {
            return;
        }
        st.race.release();
        assert!(
            st.permits
                .checked_add(n)
                .is_some_and(|total| total <= MAX_PERMITS),
            "number of added permits ({n}) would overflow MAX_PERMITS ({MAX_PERMITS})"
        );
        st.permits += n;
        let mut wake = Vec::new();
        if !st.closed {
            st.assign(&mut wake);
        }
        drop(st);
        wake_all(wake);
    }

    /// `holder` stops being recorded as a holder (its permits are kept, or merged elsewhere).
    pub(crate) fn unhold(&self, holder: u64) {
        if let Some(st) = self.state.lock_in_drop() {
            self.res.released(holder);
            drop(st);
        }
    }

    /// The running task becomes a holder (a permit split off another).
    pub(crate) fn hold(&self) -> u64 {
        let st = self.state.lock();
        let me = backend::current_task_id();
        self.res.held(me);
        drop(st);
        me
    }

    /// Removes up to `n` free permits for good; returns how many.
    pub(crate) fn forget_permits(&self, n: usize) -> usize {
        let mut st = self.state.lock();
        let gone = st.permits.min(n);
        st.permits -= gone;
        gone
    }

    /// Closes: every waiter, now and later, fails.
    pub(crate) fn close(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        st.race.release();
        let wake: Vec<Waker> = st
            .waiters
            .iter_mut()
            .filter(|w| w.assigned < w.wanted)
            .filter_map(|w| w.waker.take())
            .collect();
        drop(st);
        wake_all(wake);
    }
}

/// Waiting for permits of a [`Sem`].
pub(crate) struct Acquire<'a> {
    sem: &'a Sem,
    n: usize,
    op: &'static str,
    site: &'static Location<'static>,
    waiter: Option<u64>,
}

impl Unpin for Acquire<'_> {}

impl Future for Acquire<'_> {
    type Output = Result<u64, Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let s = self.sem;
        let mut st = s.state.lock();
        let me = backend::current_task_id();
        if let Some(id) = self.waiter {
            let pos = st
                .waiters
                .iter()
                .position(|w| w.id == id)
                .expect("a waiting acquire left the queue");
            let served = st.waiters[pos].assigned == st.waiters[pos].wanted;
            if served {
                // Dropped after the lock is released, with the waker it holds.
                let w = st.waiters.remove(pos);
                st.race.acquire();
                s.res.held(me);
                drop(st);
                drop(w);
                self.waiter = None;
                s.res.done();
                return Poll::Ready(Ok(me));
            }
            if st.closed {
                let w = st.waiters.remove(pos).expect("found above");
                let back = w.assigned;
                st.race.acquire();
                drop(st);
                self.waiter = None;
                s.res.done();
                if back > 0 {
                    s.release(back, None);
                }
                return Poll::Ready(Err(Closed));
            }
            let w = &mut st.waiters[pos];
            let mut old = None;
            if !w.waker.as_ref().is_some_and(|k| k.will_wake(cx.waker())) {
                old = w.waker.replace(cx.waker().clone());
            }
            drop(st);
            // A waker's destructor may call back into the semaphore: never under its lock.
            drop(old);
            return Poll::Pending;
        }
        if st.closed {
            st.race.acquire();
            return Poll::Ready(Err(Closed));
        }
        let queued = st.anyone_waiting();
        if !queued && st.permits >= self.n {
            st.permits -= self.n;
            st.race.acquire();
            s.res.held(me);
            return Poll::Ready(Ok(me));
        }
        // Join the queue; the head of the queue takes what is free now.
        let assigned = if queued {
            0
        } else {
            let a = st.permits;
            st.permits = 0;
            a
        };
        st.next_id += 1;
        let id = st.next_id;
        st.waiters.push_back(Waiter {
            id,
            wanted: self.n,
            assigned,
            waker: Some(cx.waker().clone()),
        });
        drop(st);
        self.waiter = Some(id);
        s.res.wait(self.op, self.site);
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiter else { return };
        let s = self.sem;
        let Some(mut st) = s.state.lock_in_drop() else {
            return;
        };
        let Some(pos) = st.waiters.iter().position(|w| w.id == id) else {
            return;
        };
        let w = st.waiters.remove(pos).expect("found above");
        // What was handed to it goes to the next in line (or back to the pool); a waiter
        // that leaves the head of the queue may also let the ones behind it in.
        st.permits += w.assigned;
        let mut wake = Vec::new();
        if !st.closed {
            st.assign(&mut wake);
        }
        drop(st);
        s.res.done();
        wake_all(wake);
    }
}
