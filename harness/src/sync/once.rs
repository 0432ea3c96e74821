//! [`Once`]: Go's `sync.Once`, with an async `call_once`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::waiters::{wake_all, Tracked};
use crate::rt::backend::{self, Lock};
use crate::rt::race::SyncClock;

/// Runs an initialisation exactly once, however many tasks ask for it: Go's `sync.Once`.
///
/// [`call_once`](Once::call_once) is **async** and takes a closure that returns a future
/// (the initialisation may itself await: open a connection, receive a configuration). The
/// first caller runs it; every other caller, concurrent or later, waits until it has
/// finished and then returns without running its own closure. So when any `call_once`
/// returns, the initialisation is complete, as with Go's `Do`.
///
/// As in Go, calling `call_once` on the same `Once` from inside the initialisation
/// deadlocks (it waits for itself), and the checkers report it. If the caller running the
/// initialisation is cancelled (its future dropped) the `Once` is not done: a waiting
/// caller runs its own closure instead. A panic in the initialisation is a failure of the
/// execution under the checkers; outside them, the `Once` is likewise left not done.
///
/// ```
/// use std::sync::Arc;
/// use leakproof::{check::Check, sync::{atomic::{AtomicUsize, Ordering}, Once}, task};
///
/// Check::new("doc-once").shuttle(20).run(|| async {
///     let once = Arc::new(Once::new());
///     let runs = Arc::new(AtomicUsize::new(0));
///     let (o, r) = (once.clone(), runs.clone());
///     let h = task::spawn(async move {
///         o.call_once(|| async move { r.fetch_add(1, Ordering::SeqCst); }).await;
///     });
///     let r = runs.clone();
///     once.call_once(|| async move { r.fetch_add(1, Ordering::SeqCst); }).await;
///     h.await.unwrap();
///     assert_eq!(runs.load(Ordering::SeqCst), 1);
///     assert!(once.is_completed());
/// }).unwrap();
/// ```
pub struct Once {
    res: Tracked,
    state: Lock<State>,
}

struct State {
    done: bool,
    /// Whether a caller is running the initialisation now.
    running: bool,
    waiters: Vec<(u64, Waker)>,
    next_waiter: u64,
    /// What the initialisation released when it completed: every caller acquires it.
    race: SyncClock,
}

impl Once {
    /// A `Once` that has not run yet.
    #[track_caller]
    pub fn new() -> Self {
        Once {
            res: Tracked::new("once", Location::caller()),
            state: Lock::new(State {
                done: false,
                running: false,
                waiters: Vec::new(),
                next_waiter: 0,
                race: SyncClock::default(),
            }),
        }
    }

    /// Runs `f()` to completion if no call has done so yet; otherwise waits until the call
    /// that runs it has finished. See the [type docs](Once).
    #[track_caller]
    pub fn call_once<F, Fut>(&self, f: F) -> CallOnceFuture<'_, F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        CallOnceFuture {
            once: self,
            f: Some(f),
            running: None,
            waiter: None,
            site: Location::caller(),
        }
    }

    /// Whether the initialisation has run to completion.
    pub fn is_completed(&self) -> bool {
        self.state.lock().done
    }
}

impl Default for Once {
    #[track_caller]
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Once(once #{})", self.res.id)
    }
}

/// The future of [`Once::call_once`].
pub struct CallOnceFuture<'a, F, Fut> {
    once: &'a Once,
    f: Option<F>,
    /// The initialisation, while this caller runs it, and the task that holds the `Once`.
    running: Option<(Pin<Box<Fut>>, u64)>,
    /// Our waiter id while another caller runs the initialisation.
    waiter: Option<u64>,
    site: &'static Location<'static>,
}

// The closure is moved out before it is called and the initialisation is boxed: nothing is
// pinned in place.
impl<F, Fut> Unpin for CallOnceFuture<'_, F, Fut> {}

impl<F, Fut> Future for CallOnceFuture<'_, F, Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let o = this.once;
        loop {
            if let Some((fut, _)) = &mut this.running {
                std::task::ready!(fut.as_mut().poll(cx));
                let Some((_, holder)) = this.running.take() else {
                    unreachable!()
                };
                let mut st = o.state.lock();
                st.done = true;
                st.running = false;
                st.race.release();
                o.res.released(holder);
                let wake: Vec<Waker> = st.waiters.drain(..).map(|(_, w)| w).collect();
                drop(st);
                wake_all(wake);
                return Poll::Ready(());
            }
            let mut st = o.state.lock();
            if st.done {
                st.race.acquire();
                if let Some(id) = this.waiter.take() {
                    st.waiters.retain(|(w, _)| *w != id);
                    drop(st);
                    o.res.done();
                }
                return Poll::Ready(());
            }
            if st.running {
                match this.waiter {
                    Some(id) => {
                        if let Some((_, w)) = st.waiters.iter_mut().find(|(w, _)| *w == id) {
                            if !w.will_wake(cx.waker()) {
                                *w = cx.waker().clone();
                            }
                        }
                    }
                    None => {
                        st.next_waiter += 1;
                        let id = st.next_waiter;
                        st.waiters.push((id, cx.waker().clone()));
                        this.waiter = Some(id);
                        drop(st);
                        o.res.wait("call_once", this.site);
                    }
                }
                return Poll::Pending;
            }
            // Nobody has run it and nobody runs it now: this caller does.
            st.running = true;
            let me = backend::current_task_id();
            o.res.held(me);
            if let Some(id) = this.waiter {
                st.waiters.retain(|(w, _)| *w != id);
            }
            drop(st);
            if this.waiter.take().is_some() {
                o.res.done();
            }
            let f = this
                .f
                .take()
                .expect("CallOnceFuture polled after it completed");
            this.running = Some((Box::pin(f()), me));
        }
    }
}

impl<F, Fut> Drop for CallOnceFuture<'_, F, Fut> {
    fn drop(&mut self) {
        if let Some((fut, holder)) = self.running.take() {
            drop(fut);
            // Cancelled while running the initialisation: a waiting caller takes over.
            let o = self.once;
            let Some(mut st) = o.state.lock_in_drop() else {
                return;
            };
            st.running = false;
            o.res.released(holder);
            let wake: Vec<Waker> = st.waiters.iter().map(|(_, w)| w.clone()).collect();
            drop(st);
            wake_all(wake);
        } else if let Some(id) = self.waiter.take() {
            let o = self.once;
            let Some(mut st) = o.state.lock_in_drop() else {
                return;
            };
            st.waiters.retain(|(w, _)| *w != id);
            drop(st);
            o.res.done();
        }
    }
}

impl<F, Fut> fmt::Debug for CallOnceFuture<'_, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallOnceFuture(once #{})", self.once.res.id)
    }
}
