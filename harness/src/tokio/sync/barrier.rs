//! tokio's [`Barrier`]: `n` tasks wait until all of them have arrived, then go on together.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;
use crate::sync::waiters::{wake_all, Tracked};

/// A barrier for a fixed number of tasks, tokio's `Barrier`: use it when `n` tasks must all
/// reach a point (set-up done, a round of work finished) before any goes past it.
///
/// [`wait`](Barrier::wait) returns once `n` calls are waiting; the last one to arrive is the
/// leader ([`BarrierWaitResult::is_leader`]). The barrier then starts over for the next
/// round. `Barrier::new(0)` behaves as `Barrier::new(1)`, as tokio's does.
///
/// Fewer than `n` tasks ever arriving is the classic mistake: those that did are shown as
/// `[barrier wait]` "on barrier #N created at …" in a leak or deadlock report.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, tokio::sync::Barrier};
///
/// Check::new("doc-barrier").shuttle(10).run(|| async {
///     let barrier = Arc::new(Barrier::new(2));
///     let b = barrier.clone();
///     let other = leakproof::task::spawn(async move { b.wait().await.is_leader() });
///     let me = barrier.wait().await.is_leader();
///     assert!(me ^ other.await.unwrap()); // exactly one leader
/// }).unwrap();
/// ```
pub struct Barrier {
    res: Tracked,
    n: usize,
    state: Lock<State>,
}

struct State {
    /// Tasks that arrived in this round.
    arrived: usize,
    /// Rounds completed.
    generation: u64,
    wakers: Vec<(u64, Waker)>,
    next_id: u64,
    /// What the arrivals released: every task leaving the round acquires it.
    race: SyncClock,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the last to arrive (exactly one per round is).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks.
    #[track_caller]
    pub fn new(n: usize) -> Barrier {
        Barrier {
            res: Tracked::new("barrier", Location::caller()),
            n: n.max(1),
            state: Lock::new(State {
                arrived: 0,
                generation: 0,
                wakers: Vec::new(),
                next_id: 0,
                race: SyncClock::default(),
            }),
        }
    }

    /// Waits until `n` tasks are waiting. Dropping the future after it was first polled
    /// does not take its arrival back (tokio's behaviour).
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitFuture<'_> {
        BarrierWaitFuture {
            barrier: self,
            stage: None,
            site: Location::caller(),
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Barrier(barrier #{}, n = {})", self.res.id, self.n)
    }
}

/// The future of [`Barrier::wait`].
pub struct BarrierWaitFuture<'a> {
    barrier: &'a Barrier,
    /// `(generation, waker id)` once arrived.
    stage: Option<(u64, u64)>,
    site: &'static Location<'static>,
}

impl Future for BarrierWaitFuture<'_> {
    type Output = BarrierWaitResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let b = self.barrier;
        let mut st = b.state.lock();
        if let Some((generation, id)) = self.stage {
            if st.generation != generation {
                st.race.acquire();
                drop(st);
                self.stage = None;
                b.res.done();
                return Poll::Ready(BarrierWaitResult(false));
            }
            let mut old = None;
            if let Some((_, k)) = st.wakers.iter_mut().find(|(i, _)| *i == id) {
                if !k.will_wake(cx.waker()) {
                    old = Some(std::mem::replace(k, cx.waker().clone()));
                }
            }
            drop(st);
            drop(old);
            return Poll::Pending;
        }
        st.arrived += 1;
        st.race.release();
        if st.arrived == b.n {
            st.arrived = 0;
            st.generation += 1;
            st.race.acquire();
            let wake: Vec<Waker> = st.wakers.drain(..).map(|(_, k)| k).collect();
            drop(st);
            wake_all(wake);
            return Poll::Ready(BarrierWaitResult(true));
        }
        st.next_id += 1;
        let id = st.next_id;
        st.wakers.push((id, cx.waker().clone()));
        let generation = st.generation;
        drop(st);
        self.stage = Some((generation, id));
        b.res.wait("barrier wait", self.site);
        Poll::Pending
    }
}

impl Drop for BarrierWaitFuture<'_> {
    fn drop(&mut self) {
        let Some((_, id)) = self.stage else { return };
        let b = self.barrier;
        let Some(mut st) = b.state.lock_in_drop() else {
            return;
        };
        let gone = st
            .wakers
            .iter()
            .position(|(i, _)| *i == id)
            .map(|p| st.wakers.remove(p));
        drop(st);
        drop(gone);
        b.res.done();
    }
}

impl fmt::Debug for BarrierWaitFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BarrierWaitFuture(barrier #{})", self.barrier.res.id)
    }
}
