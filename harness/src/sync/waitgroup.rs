//! [`WaitGroup`]: Go's `sync.WaitGroup`, waiting for a collection of tasks to finish.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::waiters::{wake_all, Tracked};
use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;

/// Waits for a collection of tasks to finish, like Go's `sync.WaitGroup`.
///
/// The group keeps a counter: [`add`](WaitGroup::add) raises it (call it *before* spawning
/// the task it counts), [`done`](WaitGroup::done) lowers it by one (the task calls it when it
/// finishes), and [`wait`](WaitGroup::wait) waits until it is zero. Clones share the counter,
/// so hand each task a clone. A counter that would go below zero is a bug: `done` panics with
/// "sync: negative WaitGroup counter", as Go does.
///
/// ```
/// use leakproof::{check::Check, sync::{atomic::{AtomicUsize, Ordering}, WaitGroup}, task};
/// use std::sync::Arc;
///
/// Check::new("doc-waitgroup").shuttle(10).run(|| async {
///     let wg = WaitGroup::new();
///     let finished = Arc::new(AtomicUsize::new(0));
///     for _ in 0..3 {
///         wg.add(1);
///         let (wg, finished) = (wg.clone(), finished.clone());
///         task::spawn(async move {
///             finished.fetch_add(1, Ordering::SeqCst);
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(finished.load(Ordering::SeqCst), 3);
/// }).unwrap();
/// ```
///
/// Waiting in the wrong place (inside the loop that adds and spawns, say, while the task
/// waited for needs something only sent after the loop) leaves every task blocked: the
/// checkers report the deadlock, with the body `[wait]`ing on the waitgroup.
#[derive(Clone)]
pub struct WaitGroup {
    shared: Arc<Shared>,
}

struct Shared {
    res: Tracked,
    created_at: &'static Location<'static>,
    state: Lock<State>,
}

struct State {
    count: usize,
    /// Bumped each time the counter drops to zero: waiters of an earlier generation are done
    /// even if the counter has gone up again since.
    generation: u64,
    waiters: Vec<(u64, Waker)>,
    next_waiter: u64,
    /// What `done` calls released: a `wait` that returns acquires it.
    race: SyncClock,
}

impl WaitGroup {
    /// A new group with a counter of zero.
    #[track_caller]
    pub fn new() -> Self {
        let site = Location::caller();
        WaitGroup {
            shared: Arc::new(Shared {
                res: Tracked::new("waitgroup", site),
                created_at: site,
                state: Lock::new(State {
                    count: 0,
                    generation: 0,
                    waiters: Vec::new(),
                    next_waiter: 0,
                    race: SyncClock::default(),
                }),
            }),
        }
    }

    /// Adds `n` to the counter: `n` more tasks (or `done` calls) to wait for.
    #[track_caller]
    pub fn add(&self, n: usize) {
        let mut st = self.shared.state.lock();
        let Some(count) = st.count.checked_add(n) else {
            drop(st);
            panic!("sync: WaitGroup counter overflow");
        };
        st.count = count;
    }

    /// Takes one off the counter; at zero, every waiting task is woken.
    ///
    /// # Panics
    ///
    /// With "sync: negative WaitGroup counter" if the counter is already zero (more `done`
    /// calls than `add`ed). The counter is left at zero.
    ///
    /// ```
    /// let wg = leakproof::sync::WaitGroup::new();
    /// let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done())).unwrap_err();
    /// let msg = err.downcast_ref::<String>().unwrap();
    /// assert!(msg.contains("negative WaitGroup counter"));
    /// ```
    #[track_caller]
    pub fn done(&self) {
        let mut st = self.shared.state.lock();
        if st.count == 0 {
            drop(st);
            panic!(
                "sync: negative WaitGroup counter: done() called more often than add() \
                 (waitgroup #{} created at {})",
                self.shared.res.id, self.shared.created_at
            );
        }
        st.count -= 1;
        st.race.release();
        if st.count > 0 {
            return;
        }
        st.generation += 1;
        let wake: Vec<Waker> = st.waiters.drain(..).map(|(_, w)| w).collect();
        drop(st);
        wake_all(wake);
    }

    /// Waits until the counter is zero (at once if it is zero now).
    #[track_caller]
    pub fn wait(&self) -> WaitGroupFuture<'_> {
        WaitGroupFuture {
            shared: &self.shared,
            waiter: None,
            site: Location::caller(),
        }
    }

    /// The counter now.
    pub fn count(&self) -> usize {
        self.shared.state.lock().count
    }
}

impl Default for WaitGroup {
    #[track_caller]
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WaitGroup(waitgroup #{})", self.shared.res.id)
    }
}

/// The future of [`WaitGroup::wait`].
pub struct WaitGroupFuture<'a> {
    shared: &'a Shared,
    /// Our waiter id and the generation we wait for the end of.
    waiter: Option<(u64, u64)>,
    site: &'static Location<'static>,
}

impl Future for WaitGroupFuture<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let sh = self.shared;
        let mut st = sh.state.lock();
        let ended = self.waiter.is_some_and(|(_, g)| g != st.generation);
        if st.count == 0 || ended {
            st.race.acquire();
            if let Some((id, _)) = self.waiter.take() {
                st.waiters.retain(|(w, _)| *w != id);
                drop(st);
                sh.res.done();
            }
            return Poll::Ready(());
        }
        if let Some((id, _)) = self.waiter {
            if let Some((_, w)) = st.waiters.iter_mut().find(|(w, _)| *w == id) {
                if !w.will_wake(cx.waker()) {
                    *w = cx.waker().clone();
                }
            }
            return Poll::Pending;
        }
        st.next_waiter += 1;
        let id = st.next_waiter;
        st.waiters.push((id, cx.waker().clone()));
        self.waiter = Some((id, st.generation));
        drop(st);
        sh.res.wait("wait", self.site);
        Poll::Pending
    }
}

impl Drop for WaitGroupFuture<'_> {
    fn drop(&mut self) {
        let Some((id, _)) = self.waiter else { return };
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.waiters.retain(|(w, _)| *w != id);
        drop(st);
        self.shared.res.done();
    }
}

impl fmt::Debug for WaitGroupFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WaitGroupFuture(waitgroup #{})", self.shared.res.id)
    }
}
