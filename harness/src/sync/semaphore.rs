//! [`Semaphore`]: a counting semaphore, to cap how many tasks do something at once.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::waiters::{wake_all, Tracked, Waiters};
use crate::rt::backend::{self, Lock};
use crate::rt::race::SyncClock;

/// A counting semaphore: a pool of permits that tasks take and give back, to cap how many
/// of them do something at once (Go's buffered-channel semaphore, or
/// `golang.org/x/sync/semaphore`).
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns a [`SemaphorePermit`]
/// that gives it back when dropped. Waiters are served first come, first served: a permit
/// given back goes straight to the task that has waited longest.
///
/// Reports count permit holders like lock holders: a task blocked in `acquire` shows which
/// tasks hold the permits.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, sync::Semaphore, task};
///
/// Check::new("doc-semaphore").shuttle(10).run(|| async {
///     let pool = Arc::new(Semaphore::new(2)); // at most two at a time
///     let mut handles = Vec::new();
///     for _ in 0..3 {
///         let pool = pool.clone();
///         handles.push(task::spawn(async move {
///             let _permit = pool.acquire().await;
///             // ... at most two tasks are here at once ...
///         }));
///     }
///     for h in handles {
///         h.await.unwrap();
///     }
///     assert_eq!(pool.available_permits(), 2);
/// }).unwrap();
/// ```
pub struct Semaphore {
    res: Tracked,
    state: Lock<State>,
}

struct State {
    /// Permits nobody holds and nobody was granted.
    permits: usize,
    waiters: Waiters,
    /// What permits given back released: every later acquire acquires it.
    race: SyncClock,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            res: Tracked::new("semaphore", Location::caller()),
            state: Lock::new(State {
                permits,
                waiters: Waiters::default(),
                race: SyncClock::default(),
            }),
        }
    }

    /// Takes a permit, waiting until one is free.
    ///
    /// Cancel-safe: dropping the future before it completes leaves no trace, and a permit
    /// handed to it in the meantime passes on.
    #[track_caller]
    pub fn acquire(&self) -> AcquireFuture<'_> {
        AcquireFuture {
            sem: self,
            waiter: None,
            site: Location::caller(),
        }
    }

    /// Takes a permit if one is free right now (and nobody is queued for one).
    ///
    /// ```
    /// # leakproof::check::Check::new("doc-try-acquire").shuttle(5).run(|| async {
    /// let sem = leakproof::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// assert_eq!(sem.available_permits(), 1);
    /// # }).unwrap();
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let mut st = self.state.lock();
        if st.permits == 0 {
            return None;
        }
        st.permits -= 1;
        st.race.acquire();
        let me = backend::current_task_id();
        self.res.held(me);
        drop(st);
        Some(SemaphorePermit {
            sem: self,
            holder: me,
        })
    }

    /// How many permits are free now.
    pub fn available_permits(&self) -> usize {
        self.state.lock().permits
    }

    /// Adds `n` permits (each goes to a waiting task first).
    pub fn add_permits(&self, n: usize) {
        let mut st = self.state.lock();
        let mut wake = Vec::new();
        st.race.release();
        for _ in 0..n {
            self.give_back(&mut st, &mut wake);
        }
        drop(st);
        wake_all(wake);
    }

    /// A permit came back: it goes to the first waiter, or to the pool.
    fn give_back(&self, st: &mut State, wake: &mut Vec<Waker>) {
        match st.waiters.grant_first(|_| true) {
            Some(w) => {
                self.res.held(w.task);
                wake.push(w.waker.clone());
            }
            None => st.permits += 1,
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Semaphore(semaphore #{})", self.res.id)
    }
}

/// One permit of a [`Semaphore`]; dropping it gives the permit back.
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    holder: u64,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken for good: it never goes back to the semaphore.
    pub fn forget(self) {
        let sem = self.sem;
        let holder = self.holder;
        std::mem::forget(self);
        let st = sem.state.lock();
        sem.res.released(holder);
        drop(st);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        let s = self.sem;
        let Some(mut st) = s.state.lock_in_drop() else {
            return;
        };
        s.res.released(self.holder);
        st.race.release();
        let mut wake = Vec::new();
        s.give_back(&mut st, &mut wake);
        drop(st);
        wake_all(wake);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SemaphorePermit(semaphore #{})", self.sem.res.id)
    }
}

/// The future of [`Semaphore::acquire`].
pub struct AcquireFuture<'a> {
    sem: &'a Semaphore,
    waiter: Option<u64>,
    site: &'static Location<'static>,
}

impl<'a> Future for AcquireFuture<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let s = self.sem;
        let mut st = s.state.lock();
        if let Some(id) = self.waiter {
            match st.waiters.poll_entry(id, cx.waker()) {
                Some(false) => return Poll::Pending,
                Some(true) => {
                    let w = st.waiters.remove(id).expect("the waiter is queued");
                    st.race.acquire();
                    drop(st);
                    self.waiter = None;
                    s.res.done();
                    return Poll::Ready(SemaphorePermit {
                        sem: s,
                        holder: w.task,
                    });
                }
                None => unreachable!("a waiting acquire future left the queue"),
            }
        }
        if st.permits > 0 {
            st.permits -= 1;
            st.race.acquire();
            let me = backend::current_task_id();
            s.res.held(me);
            drop(st);
            return Poll::Ready(SemaphorePermit { sem: s, holder: me });
        }
        self.waiter = Some(st.waiters.push(false, cx.waker()));
        drop(st);
        s.res.wait("acquire", self.site);
        Poll::Pending
    }
}

impl Drop for AcquireFuture<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiter else { return };
        let s = self.sem;
        let Some(mut st) = s.state.lock_in_drop() else {
            return;
        };
        let Some(w) = st.waiters.remove(id) else {
            return;
        };
        let mut wake = Vec::new();
        if w.granted {
            // Handed a permit but never took it: pass it on.
            s.res.released(w.task);
            s.give_back(&mut st, &mut wake);
        }
        drop(st);
        s.res.done();
        wake_all(wake);
    }
}

impl fmt::Debug for AcquireFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AcquireFuture(semaphore #{})", self.sem.res.id)
    }
}
