//! What the wake-everyone primitives (`watch`, `broadcast`, `CancellationToken`,
//! `TaskTracker`) share: a set of parked wakers kept behind the primitive's backend lock, and
//! [`park`], which waits on a condition checked under that lock, reports the wait to the
//! tracking layer and leaves the set when the waiting future is dropped.

use std::future::Future;
use std::panic::Location;
use std::task::{Poll, Waker};

use crate::rt::backend::Lock;
use crate::sync::waiters::Tracked;

/// Parked wakers, each under the id of the future that parked it.
#[derive(Default)]
pub(crate) struct WaitSet {
    list: Vec<(u64, Waker)>,
    next_id: u64,
}

impl WaitSet {
    /// Parks `waker` under `*id` (given a new id if `None`); returns a replaced waker, to be
    /// dropped once the primitive's lock is released (its destructor may call back in).
    pub(crate) fn register(&mut self, id: &mut Option<u64>, waker: &Waker) -> Option<Waker> {
        if let Some(i) = *id {
            if let Some((_, k)) = self.list.iter_mut().find(|(j, _)| *j == i) {
                if k.will_wake(waker) {
                    return None;
                }
                return Some(std::mem::replace(k, waker.clone()));
            }
        }
        self.next_id += 1;
        *id = Some(self.next_id);
        self.list.push((self.next_id, waker.clone()));
        None
    }

    /// Unparks the future with this id, if still parked.
    pub(crate) fn remove(&mut self, id: u64) -> Option<Waker> {
        let pos = self.list.iter().position(|(j, _)| *j == id)?;
        Some(self.list.swap_remove(pos).1)
    }

    /// Unparks everyone; wake the returned wakers once the lock is released.
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.list.drain(..).map(|(_, k)| k).collect()
    }
}

/// Waits until `step` says `Ready`. `step` runs under the primitive's lock: it either returns
/// `Ready` (after unparking `*id` if set) or parks the waker with [`WaitSet::register`] and
/// returns `Pending` (dropping a replaced waker only once the lock is released). `remove`
/// unparks an id when the future is dropped while waiting, and returns `false` if the
/// primitive's lock cannot be taken (a model checker tearing the execution down). The running task is recorded as waiting on
/// `res` for `op`, at `site`, while it is pending.
pub(crate) async fn park<R>(
    res: &Tracked,
    op: &'static str,
    site: &'static Location<'static>,
    mut step: impl FnMut(&mut Option<u64>, &Waker) -> Poll<R>,
    remove: impl Fn(u64) -> bool,
) -> R {
    struct Guard<'a, F: Fn(u64) -> bool> {
        id: Option<u64>,
        remove: F,
        res: &'a Tracked,
        waiting: bool,
    }
    impl<F: Fn(u64) -> bool> Drop for Guard<'_, F> {
        fn drop(&mut self) {
            // `remove` fails while a model checker tears the execution down: then nothing
            // here may call into it (a panic in a destructor aborts the process).
            let removed = match self.id.take() {
                Some(id) => (self.remove)(id),
                None => true,
            };
            if self.waiting && removed {
                self.res.done();
            }
        }
    }
    let mut g = Guard {
        id: None,
        remove,
        res,
        waiting: false,
    };
    std::future::poll_fn(|cx| match step(&mut g.id, cx.waker()) {
        Poll::Ready(r) => {
            g.id = None;
            if std::mem::take(&mut g.waiting) {
                g.res.done();
            }
            Poll::Ready(r)
        }
        Poll::Pending => {
            if !g.waiting {
                g.waiting = true;
                g.res.wait(op, site);
            }
            Poll::Pending
        }
    })
    .await
}

/// [`park`] for the common case: waits until `ready` gives a value, checking it under
/// `state`'s lock, parked meanwhile in the [`WaitSet`] that `set` picks out of the state.
/// Replaced and removed wakers are dropped only once the lock is released.
pub(crate) fn park_on<'a, S, R>(
    res: &'a Tracked,
    op: &'static str,
    site: &'static Location<'static>,
    state: &'a Lock<S>,
    set: fn(&mut S) -> &mut WaitSet,
    mut ready: impl FnMut(&mut S) -> Option<R> + Send + 'a,
) -> impl Future<Output = R> + Send + 'a
where
    S: Send + 'a,
    R: Send + 'a,
    Lock<S>: Sync,
{
    park(
        res,
        op,
        site,
        move |id: &mut Option<u64>, waker: &Waker| {
            let mut st = state.lock();
            if let Some(r) = ready(&mut st) {
                let old = id.take().and_then(|i| set(&mut st).remove(i));
                drop(st);
                drop(old);
                return Poll::Ready(r);
            }
            let old = set(&mut st).register(id, waker);
            drop(st);
            drop(old);
            Poll::Pending
        },
        move |id| {
            let Some(mut st) = state.lock_in_drop() else {
                return false;
            };
            let k = set(&mut st).remove(id);
            drop(st);
            drop(k);
            true
        },
    )
}
