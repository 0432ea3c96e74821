//! Virtual time for the model checkers: one clock per execution, no clock ticks.
//!
//! Under loom and shuttle a timer may fire at any scheduling point after it was set, but
//! timers fire in deadline order (ties in the order they were set), and firing one moves
//! the virtual now to its deadline. The rules that make this faithful to real time:
//!
//! - **a timer is set when it is made** (`sleep(d)` computes its deadline and sets it in
//!   one step, no scheduling point), so "set at the same moment" means what it says;
//! - **new tasks start at once**: no timer fires while a spawned task has not started yet
//!   (`go f()` starts `f` at the moment of the spawn; time passes only while tasks run);
//! - **a timer fires when its owner polls it** (the first poll only yields, so that the
//!   scheduler decides when it may fire) **and no earlier timer is pending**. Its owner
//!   then runs on in the same step: what it does before its next scheduling point happens
//!   before any later timer fires;
//! - **a timer its owner has set aside does not hold time back**: when the owner's last
//!   completed poll did not poll it (it was made and then not awaited yet, or it is kept
//!   across other awaits), it fires in its turn as soon as a later timer needs it out of
//!   the way, and its owner finds it fired when it polls it.
//!
//! The owner of the earliest timer it waits on is always runnable, so "every task blocked"
//! never holds while a timer is pending, and the checkers explore both "the timer fired
//! first" and "the other work came first".
//!
//! The timer table is plain data behind a `std` mutex that is never held across a
//! scheduling point; under loom a private loom mutex adds the scheduling points, so that
//! loom sees the timer operations of different tasks as dependent. The checkers' task
//! drivers (`rt::backend`) report every task poll here, which is how the clock tells a
//! timer its owner waits on from one it has set aside. On tokio the clock is not used:
//! time is real (`tokio::time`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::backend::{self, Backend, Lock};
use super::exec::{self, Exec};

/// The virtual clock of one execution (inert on tokio).
pub(crate) struct Clock {
    /// Whether time is virtual (loom, shuttle).
    virtual_time: bool,
    /// The virtual now in nanoseconds since the execution started, mirrored out of the
    /// table so that reading it takes no lock. Written only with the table locked.
    now_nanos: AtomicU64,
    timers: Mutex<Timers>,
    /// Under loom, a mutex whose locking is the scheduling point of timer operations.
    sched: Option<Lock<()>>,
    /// Spawned tasks that have not started running yet.
    unstarted: AtomicUsize,
    /// Whether a timer was ever made in this execution: task polls are counted from then
    /// on (before, nothing needs them).
    counting: AtomicBool,
    /// How many times one ticker may fire in one execution.
    tick_limit: usize,
}

/// When a timer's owner last touched it.
#[derive(Clone, Copy, Debug)]
enum Seen {
    /// Made during the owner's poll with this number, not polled since.
    Made(u64),
    /// Last polled during the owner's poll with this number.
    Polled(u64),
}

struct Entry {
    /// The owner's waker, once the timer has been polled.
    waker: Option<Waker>,
    /// The task that made or last polled the timer.
    owner: u64,
    seen: Seen,
}

/// How many polls of a task have started and completed.
#[derive(Clone, Copy, Debug, Default)]
struct Polls {
    started: u64,
    completed: u64,
}

#[derive(Default)]
struct Timers {
    next_id: u64,
    /// Pending timers by (deadline, id).
    pending: BTreeMap<TimerKey, Entry>,
    /// Set-aside timers fired in their turn, by id, with the time they fired at; their owners
    /// have not polled them since.
    fired: HashMap<u64, Duration>,
    /// Every task's polls, by task id.
    polls: HashMap<u64, Polls>,
}

impl Timers {
    fn polls(&self, task: u64) -> Polls {
        self.polls.get(&task).copied().unwrap_or_default()
    }

    /// The number of the poll of `task` running now. A task first seen here is inside its
    /// first counted poll (polls are counted from the first timer of the execution on).
    fn current_poll(&mut self, task: u64) -> u64 {
        self.polls
            .entry(task)
            .or_insert(Polls {
                started: 1,
                completed: 0,
            })
            .started
    }

    /// Whether the timer's owner has set it aside: its last completed poll did not poll it.
    /// A timer made or polled during a poll still running is in use.
    fn set_aside(&self, e: &Entry) -> bool {
        let p = self.polls(e.owner);
        match e.seen {
            Seen::Made(poll) => p.completed >= poll,
            Seen::Polled(poll) => p.completed > poll,
        }
    }

    /// The earliest pending timer whose owner waits on it: that owner fires the set-aside
    /// timers before its own, then its own.
    fn first_in_use(&self) -> Option<TimerKey> {
        self.pending
            .iter()
            .find(|(_, e)| !self.set_aside(e))
            .map(|(k, _)| *k)
    }

    /// The waker of the owner of the timer `key`, if it has polled it.
    fn waker(&self, key: Option<TimerKey>) -> Option<Waker> {
        key.and_then(|k| self.pending.get(&k))
            .and_then(|e| e.waker.clone())
    }
}

/// A pending timer: its deadline (virtual time since the execution started) and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Duration,
    id: u64,
}

impl Clock {
    /// A clock for an execution on `backend`: virtual under loom and shuttle.
    ///
    /// Called while the execution is being set up (under loom, inside the model, so that
    /// the scheduling-point mutex is loom's own).
    pub(crate) fn new(backend: Backend, tick_limit: usize) -> Clock {
        let sched = match backend {
            Backend::Loom => Some(Lock::Loom(loom::sync::Mutex::new(()))),
            Backend::Shuttle | Backend::Tokio => None,
        };
        Clock {
            virtual_time: backend != Backend::Tokio,
            now_nanos: AtomicU64::new(0),
            timers: Mutex::new(Timers::default()),
            sched,
            unstarted: AtomicUsize::new(0),
            counting: AtomicBool::new(false),
            tick_limit,
        }
    }

    /// The virtual now, or `None` when time is real (tokio).
    pub(crate) fn virtual_now(&self) -> Option<Duration> {
        self.virtual_time
            .then(|| Duration::from_nanos(self.now_nanos.load(Ordering::Acquire)))
    }

    /// How many times one ticker may fire in this execution.
    pub(crate) fn tick_limit(&self) -> usize {
        self.tick_limit
    }

    fn table(&self) -> MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A scheduling point for timer operations (under shuttle, the yield of a pending poll
    /// is one already).
    fn scheduling_point(&self) {
        if let Some(s) = &self.sched {
            drop(s.lock());
        }
    }

    /// Sets a timer for `deadline`, made by the task running now. No scheduling point.
    fn register(&self, deadline: Duration) -> TimerKey {
        let owner = backend::current_task_id();
        let mut t = self.table();
        self.counting.store(true, Ordering::Release);
        t.next_id += 1;
        let key = TimerKey {
            deadline,
            id: t.next_id,
        };
        let seen = Seen::Made(t.current_poll(owner));
        t.pending.insert(
            key,
            Entry {
                waker: None,
                owner,
                seen,
            },
        );
        key
    }

    /// Records that the task running now polls the timer, waiting on it with `waker`.
    /// `Err(at)` if it was fired in its turn (set aside) at `at`.
    fn touch(&self, t: &mut Timers, key: TimerKey, waker: &Waker) -> Result<(), Duration> {
        if let Some(at) = t.fired.remove(&key.id) {
            return Err(at);
        }
        let me = backend::current_task_id();
        let seen = Seen::Polled(t.current_poll(me));
        match t.pending.get_mut(&key) {
            Some(e) => {
                e.owner = me;
                e.seen = seen;
                match &mut e.waker {
                    Some(w) if w.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
            }
            // Not in the table (cannot happen): set it again, it fires in its turn.
            None => {
                t.pending.insert(
                    key,
                    Entry {
                        waker: Some(waker.clone()),
                        owner: me,
                        seen,
                    },
                );
            }
        }
        Ok(())
    }

    /// The first poll of a timer: records its owner's waker.
    fn first_poll(&self, key: TimerKey, waker: &Waker) -> Result<(), Duration> {
        let mut t = self.table();
        self.touch(&mut t, key, waker)
    }

    /// Fires the timer if no earlier timer is pending (set-aside timers before it fire
    /// first, in their turn) and every spawned task has started; returns the new virtual
    /// now. Otherwise keeps `waker` to be woken when that may have changed.
    fn try_fire(&self, key: TimerKey, waker: &Waker) -> Option<Duration> {
        let mut t = self.table();
        if let Err(at) = self.touch(&mut t, key, waker) {
            return Some(at);
        }
        if self.unstarted.load(Ordering::Acquire) != 0 {
            return None;
        }
        loop {
            let (&first, e) = t.pending.iter().next()?;
            if first == key {
                t.pending.remove(&key);
                let now = self.advance(key.deadline);
                let next = t.waker(t.first_in_use());
                drop(t);
                if let Some(w) = next {
                    w.wake();
                }
                return Some(now);
            }
            if !t.set_aside(e) {
                return None;
            }
            t.pending.remove(&first);
            let at = self.advance(first.deadline);
            t.fired.insert(first.id, at);
        }
    }

    /// Moves the virtual now forward to `deadline` (never back). Call with the table locked.
    fn advance(&self, deadline: Duration) -> Duration {
        let nanos = u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX);
        let now = self.now_nanos.load(Ordering::Acquire).max(nanos);
        self.now_nanos.store(now, Ordering::Release);
        Duration::from_nanos(now)
    }

    /// Removes a timer that will not fire (its future was dropped), waking the owner of the
    /// next timer if this one was first. Safe in destructors.
    fn cancel(&self, key: TimerKey) {
        let mut t = self.table();
        t.fired.remove(&key.id);
        let before = t.first_in_use();
        if t.pending.remove(&key).is_none() {
            return;
        }
        let after = t.first_in_use();
        if after == before {
            return;
        }
        let next = t.waker(after);
        drop(t);
        // While a model execution is torn down, wakers must not call into the checker.
        if std::thread::panicking() || !exec::is_live() {
            return;
        }
        if let Some(w) = next {
            w.wake();
        }
    }

    /// A task was spawned: no timer fires until it has started.
    fn task_spawned(&self) {
        if self.virtual_time {
            self.unstarted.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A spawned task started; the last one to start lets time go on.
    fn task_started(&self) {
        if !self.virtual_time || self.unstarted.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let t = self.table();
        let next = t.waker(t.first_in_use());
        drop(t);
        if let Some(w) = next {
            w.wake();
        }
    }

    /// A poll of `task` begins.
    fn poll_started(&self, task: u64) {
        self.table().polls.entry(task).or_default().started += 1;
    }

    /// A poll of `task` ended. Timers it made or kept without polling them are now set
    /// aside: if one of them was holding time back, the next timer's owner may go on.
    fn poll_completed(&self, task: u64) {
        let mut t = self.table();
        let before = t.first_in_use();
        // A task whose poll began before polls were counted starts with its next one.
        let Some(p) = t.polls.get_mut(&task) else {
            return;
        };
        p.completed += 1;
        let after = t.first_in_use();
        if after == before {
            return;
        }
        let next = t.waker(after);
        drop(t);
        if let Some(w) = next {
            w.wake();
        }
    }
}

/// Tells the current execution's clock that a task is being spawned (loom and shuttle).
pub(crate) fn task_spawned() {
    exec::with_current(|e| {
        if let Some(e) = e {
            e.clock.task_spawned();
        }
    });
}

/// Tells the current execution's clock that a spawned task has started (loom and shuttle).
pub(crate) fn task_started() {
    exec::with_current(|e| {
        if let Some(e) = e {
            e.clock.task_started();
        }
    });
}

/// Polls a task's future (`poll`), reporting the poll to the execution's clock: the
/// checkers' task drivers call this for every poll of every task, the body's included.
pub(crate) fn counted_poll<R>(poll: impl FnOnce() -> Poll<R>) -> Poll<R> {
    let counting =
        |e: Option<&Arc<Exec>>| e.is_some_and(|e| e.clock.counting.load(Ordering::Acquire));
    // The task's id is looked up only when counting (a shuttle thread-local is not cheap).
    if exec::with_current(counting) {
        let task = backend::current_task_id();
        exec::with_current(|e| {
            if let Some(e) = e {
                e.clock.poll_started(task);
            }
        });
    }
    let r = poll();
    // Counting may have begun during this poll (it made the first timer): end it too.
    if exec::with_current(counting) {
        let task = backend::current_task_id();
        exec::with_current(|e| {
            if let Some(e) = e {
                e.clock.poll_completed(task);
            }
        });
    }
    r
}

/// A timer on an execution's virtual clock, owned by the future that polls it.
pub(crate) struct VTimer {
    exec: Arc<Exec>,
    key: Option<TimerKey>,
    polled: bool,
    fired: Option<Duration>,
}

impl VTimer {
    /// A timer for `deadline` (virtual time since the execution started), set now.
    pub(crate) fn new(exec: Arc<Exec>, deadline: Duration) -> VTimer {
        let key = exec.clock.register(deadline);
        VTimer {
            exec,
            key: Some(key),
            polled: false,
            fired: None,
        }
    }

    /// The first poll only yields, so that the scheduler decides when the timer may fire;
    /// later polls fire it when no earlier timer is pending. Ready with the virtual now at
    /// which it fired.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Duration> {
        if let Some(at) = self.fired {
            return Poll::Ready(at);
        }
        let Some(key) = self.key else {
            return Poll::Pending;
        };
        let clock = &self.exec.clock;
        let outcome = if !self.polled {
            self.polled = true;
            match clock.first_poll(key, cx.waker()) {
                Ok(()) => {
                    clock.scheduling_point();
                    cx.waker().wake_by_ref();
                    None
                }
                Err(at) => Some(at),
            }
        } else {
            clock.scheduling_point();
            clock.try_fire(key, cx.waker())
        };
        match outcome {
            Some(at) => {
                self.key = None;
                self.fired = Some(at);
                Poll::Ready(at)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for VTimer {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.exec.clock.cancel(key);
        }
    }
}

/// The current execution, if it runs on virtual time (loom or shuttle).
pub(crate) fn virtual_exec() -> Option<Arc<Exec>> {
    exec::current().filter(|e| e.clock.virtual_now().is_some())
}

/// The virtual now of this thread's execution, or `None` when time is real.
pub(crate) fn virtual_now() -> Option<Duration> {
    exec::with_current(|e| e.and_then(|e| e.clock.virtual_now()))
}
