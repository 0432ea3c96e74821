//! Happens-before tracking for `RaceCell` (`leakproof::cell`): a vector clock per task,
//! a release clock inside every synchronisation primitive, FastTrack epochs per cell.
//!
//! # How happens-before is tracked
//!
//! Every task of an execution gets a *slot* (a dense index, in the order tasks first take part)
//! and a vector clock `C` with one counter per slot; `C[me]` is the task's own epoch. A
//! primitive keeps a [`SyncClock`] in its own state, next to the data it guards, and updates it
//! under the same lock as the operation itself, so that on tokio, where tasks really run in
//! parallel, the clocks follow the order in which the operations really happened:
//!
//! - *release* (unlock, send, close, `done`, signal, store-release...): the primitive's clock
//!   takes the join of itself and `C`, then the task ticks `C[me]`, so that later accesses of
//!   the task are not covered by this release;
//! - *acquire* (lock, receive, a `wait` that returns, load-acquire...): `C` takes the join of
//!   itself and the primitive's clock.
//!
//! Spawning copies the parent's clock into the child (then the parent ticks), joining acquires
//! the clock the child left when it ended. A cell remembers the *epoch* `(slot, C[slot])` of its
//! last write and of its last read; reads by several tasks that are not ordered among
//! themselves keep one epoch per reading task (FastTrack's read-shared state), and a write
//! ordered after all of them shrinks that back to nothing. An access at epoch `e = (s, c)` is
//! ordered before the running task iff `c <= C[s]`; two accesses, one of them a write, that are
//! not ordered that way are a data race, reported with both sites.
//!
//! # Cost when unused
//!
//! The detector switches itself on at the first `RaceCell` (`leakproof::cell`) access of an
//! execution; until then every hook is one thread-local look-up and one relaxed load. Starting
//! late loses nothing: every chain of edges that orders two cell accesses starts after the
//! first of them, so edges released before the switch can only order accesses that never
//! happened.

use std::collections::HashMap;
use std::fmt::Write;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::backend;
use super::exec::{self, Exec};

/// A vector clock: one counter per task slot; missing slots count as 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VClock(Vec<u32>);

impl VClock {
    fn get(&self, slot: u32) -> u32 {
        self.0.get(slot as usize).copied().unwrap_or(0)
    }

    fn set(&mut self, slot: u32, v: u32) {
        let i = slot as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = v;
    }

    fn tick(&mut self, slot: u32) {
        let v = self.get(slot);
        self.set(slot, v + 1);
    }

    fn join(&mut self, other: &VClock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            if *b > *a {
                *a = *b;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The clock a synchronisation primitive keeps in its own state: what its releases published.
///
/// Keep it behind the primitive's lock and call [`release`](SyncClock::release) and
/// [`acquire`](SyncClock::acquire) under that lock, in the same critical section as the
/// operation they stand for.
///
/// Boxed, and absent until the detector first releases into it: one word in every task's
/// shared state and every primitive, which only a run that touches a `RaceCell` fills.
#[derive(Clone, Debug, Default)]
pub(crate) struct SyncClock(Option<Box<VClock>>);

impl SyncClock {
    /// The running task releases into this clock (unlock, send, close...).
    pub(crate) fn release(&mut self) {
        with_detector(|d, me| d.release(me, self.0.get_or_insert_default(), false));
    }

    /// The running task releases into this clock, replacing what earlier releases left
    /// (a store-release starts a new release sequence).
    pub(crate) fn release_store(&mut self) {
        with_detector(|d, me| d.release(me, self.0.get_or_insert_default(), true));
    }

    /// Forgets what earlier releases left (a relaxed store ends a release sequence).
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }

    /// The running task acquires what this clock holds (lock, receive...).
    pub(crate) fn acquire(&self) {
        let Some(clock) = self.0.as_deref().filter(|c| !c.is_empty()) else {
            return;
        };
        with_detector(|d, me| d.acquire(me, clock));
    }

    /// Whether nothing was released into this clock (acquiring it does nothing).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(VClock::is_empty)
    }

    /// A snapshot of the running task's clock, ticking it (a release into a fresh clock).
    pub(crate) fn released_now() -> SyncClock {
        let mut c = SyncClock::default();
        c.release();
        c
    }
}

/// What an atomic operation does to the atomic's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AtomicEffect {
    /// A load with this ordering (acquires with `Acquire`, `AcqRel`, `SeqCst`).
    Load(Ordering),
    /// A store with this ordering (releases with `Release`, `AcqRel`, `SeqCst`; a relaxed
    /// store ends the release sequence).
    Store(Ordering),
    /// A read-modify-write with this ordering: acquires and releases as its ordering says,
    /// and continues the release sequence either way.
    Rmw(Ordering),
}

fn acquires(o: Ordering) -> bool {
    matches!(o, Ordering::Acquire | Ordering::AcqRel | Ordering::SeqCst)
}

fn releases(o: Ordering) -> bool {
    matches!(o, Ordering::Release | Ordering::AcqRel | Ordering::SeqCst)
}

/// The happens-before clock of one atomic: store-release / load-acquire pairs order the
/// tasks that make them, `Relaxed` accesses order nothing.
#[derive(Debug, Default)]
pub(crate) struct AtomicClock(Mutex<SyncClock>);

impl AtomicClock {
    /// Runs the atomic operation `op` and applies `effect` of its result to the clock.
    ///
    /// On tokio the clock's lock is held around the operation, so that the clock changes in
    /// the order the operations really took effect. Under loom and shuttle the operation is
    /// itself the scheduling point and nothing runs between its end and the bookkeeping, so
    /// the lock is taken after it (holding it across a scheduling point would block the one
    /// OS thread that runs every task).
    pub(crate) fn run<R>(
        &self,
        op: impl FnOnce() -> R,
        effect: impl FnOnce(&R) -> AtomicEffect,
    ) -> R {
        let on = || exec::with_current(|e| e.is_some_and(|e| e.race.is_on()));
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (r, mut clock) = if backend::is_parallel() && on() {
            let clock = lock();
            (op(), clock)
        } else {
            // Whether the detector is on is asked after the operation: under the model
            // checkers another task may switch it on at the operation's scheduling point.
            // On tokio, a detector switched on during the operation only missed releases
            // that ordered no cell access yet.
            let r = op();
            if !on() {
                return r;
            }
            (r, lock())
        };
        match effect(&r) {
            AtomicEffect::Load(o) => {
                if acquires(o) {
                    clock.acquire();
                }
            }
            AtomicEffect::Store(o) => {
                if releases(o) {
                    clock.release_store();
                } else {
                    clock.clear();
                }
            }
            AtomicEffect::Rmw(o) => {
                if acquires(o) {
                    clock.acquire();
                }
                if releases(o) {
                    clock.release();
                }
            }
        }
        r
    }
}

/// Runs `f` with the execution's detector and the running task's id, if the detector is on.
fn with_detector(f: impl FnOnce(&Detector, u64)) {
    exec::with_current(|e| {
        if let Some(e) = e {
            if e.race.on.load(Ordering::Relaxed) {
                f(&e.race, backend::current_task_id());
            }
        }
    })
}

/// One task's clock.
struct TaskClock {
    slot: u32,
    vc: VClock,
}

#[derive(Default)]
struct Tasks {
    by_id: HashMap<u64, TaskClock, super::id_hash::IdHash>,
}

impl Tasks {
    fn get(&mut self, id: u64) -> &mut TaskClock {
        let next = self.by_id.len() as u32;
        self.by_id.entry(id).or_insert_with(|| {
            let mut vc = VClock::default();
            vc.set(next, 1);
            TaskClock { slot: next, vc }
        })
    }
}

/// The happens-before state of one execution.
#[derive(Default)]
pub(crate) struct Detector {
    /// Set at the first cell access of the execution.
    on: AtomicBool,
    tasks: Mutex<Tasks>,
}

impl Detector {
    fn tasks(&self) -> std::sync::MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether any cell has been accessed in this execution.
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    fn switch_on(&self) {
        if !self.on.load(Ordering::Relaxed) {
            self.on.store(true, Ordering::SeqCst);
        }
    }

    fn release(&self, me: u64, into: &mut VClock, replace: bool) {
        let mut tasks = self.tasks();
        let t = tasks.get(me);
        if replace {
            into.clone_from(&t.vc);
        } else {
            into.join(&t.vc);
        }
        t.vc.tick(t.slot);
    }

    fn acquire(&self, me: u64, from: &VClock) {
        let mut tasks = self.tasks();
        tasks.get(me).vc.join(from);
    }

    /// Task `parent` spawns task `child`: everything the parent did so far happens before
    /// the child's first step.
    pub(crate) fn spawned(&self, parent: u64, child: u64) {
        if !self.is_on() {
            return;
        }
        let mut tasks = self.tasks();
        let p = tasks.get(parent);
        let inherited = p.vc.clone();
        p.vc.tick(p.slot);
        tasks.get(child).vc.join(&inherited);
    }

    /// Checks one access of a cell by the running task and records it; returns the report
    /// of the race it makes, if any.
    fn access(
        &self,
        exec: &Exec,
        meta: &mut CellMeta,
        write: bool,
        site: &'static Location<'static>,
    ) -> Option<String> {
        self.switch_on();
        let me = backend::current_task_id();
        let mut tasks = self.tasks();
        let t = tasks.get(me);
        let now = Access {
            slot: t.slot,
            clock: t.vc.get(t.slot),
            task: me,
            write,
            site,
        };
        let ordered = |a: &Access| a.clock <= t.vc.get(a.slot);
        let same_epoch = |a: &Access| a.slot == now.slot && a.clock == now.clock;
        // Fast paths: the task already made this access in this epoch.
        if write && meta.reads.is_empty() && meta.write.as_ref().is_some_and(same_epoch) {
            return None;
        }
        if !write && meta.reads.iter().any(same_epoch) {
            return None;
        }
        if let Some(w) = meta.write.filter(|w| !ordered(w)) {
            drop(tasks);
            return Some(report(exec, meta, &now, &w));
        }
        if write {
            if let Some(r) = meta.reads.iter().find(|r| !ordered(r)) {
                let r = *r;
                drop(tasks);
                return Some(report(exec, meta, &now, &r));
            }
            meta.reads.clear();
            meta.write = Some(now);
        } else {
            meta.reads.retain(|r| r.slot != now.slot && !ordered(r));
            meta.reads.push(now);
        }
        None
    }
}

/// One recorded access of a cell: its epoch and where it came from.
#[derive(Clone, Copy, Debug)]
struct Access {
    slot: u32,
    clock: u32,
    task: u64,
    write: bool,
    site: &'static Location<'static>,
}

/// What the detector remembers about one cell.
#[derive(Debug)]
pub(crate) struct CellMeta {
    /// The cell's id (shared with tasks' and channels' id space).
    id: u64,
    created_at: &'static Location<'static>,
    /// The last write.
    write: Option<Access>,
    /// The reads since the last write that are not ordered before a later read (one epoch
    /// while reads are ordered, one per task while they are concurrent).
    reads: Vec<Access>,
}

impl CellMeta {
    /// The state of a new cell created at `site` in the current execution.
    pub(crate) fn new(site: &'static Location<'static>) -> CellMeta {
        let id = exec::with_current(|e| e.map(|e| e.next_id())).unwrap_or(0);
        CellMeta {
            id,
            created_at: site,
            write: None,
            reads: Vec::new(),
        }
    }

    /// The cell's id in reports.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

/// Checks an access of a cell by the running task against the cell's history and records
/// it. A race is recorded as the execution's finding, and `Some(())` says there was one.
pub(crate) fn check_access(
    meta: &mut CellMeta,
    write: bool,
    site: &'static Location<'static>,
) -> Option<()> {
    exec::with_current(|e| {
        let e = e?;
        if e.torn_down.load(Ordering::Acquire) {
            return None;
        }
        let text = e.race.access(e, meta, write, site)?;
        e.record(exec::Finding {
            kind: super::verdict::FailureKind::Race,
            text,
        });
        Some(())
    })
}

/// Stops a model checker's execution after a race (on tokio the run goes on, and the
/// checker reports the finding when the run ends).
pub(crate) fn raise() {
    let exec = exec::current();
    super::panic::raise_if_modelled(exec.as_deref());
}

fn kind(write: bool) -> &'static str {
    if write {
        "write"
    } else {
        "read"
    }
}

/// Names a task as reports do, with its spawn site when the registry knows it.
fn task_line(exec: &Exec, id: u64) -> (String, Option<String>) {
    if id == backend::NO_TASK {
        return ("a thread outside any task".into(), None);
    }
    match exec.registry.tasks.get(&id) {
        // The body (task 0) has no spawn site worth naming.
        Some(t) => (t.label(id), (id != 0).then(|| t.spawned_at.to_string())),
        None if id == 0 => ("task 0 \"main\"".into(), None),
        None => (format!("task {id}"), None),
    }
}

/// The Go-style report of a race between `now` and the earlier access `prev`.
fn report(exec: &Exec, meta: &CellMeta, now: &Access, prev: &Access) -> String {
    let mut r = String::new();
    let (me, my_spawn) = task_line(exec, now.task);
    let (other, other_spawn) = task_line(exec, prev.task);
    let _ = writeln!(
        r,
        "WARNING: DATA RACE on RaceCell #{} created at {}",
        meta.id, meta.created_at
    );
    let _ = writeln!(r, "{} by {me}:\n    {}", kind(now.write), now.site);
    let _ = writeln!(
        r,
        "previous {} by {other}:\n    {}",
        kind(prev.write),
        prev.site
    );
    let mut spawned = |who: &str, id: u64, site: Option<String>| match site {
        Some(s) => {
            let _ = writeln!(r, "{who} spawned at:\n    {s}");
        }
        None if id == 0 => {
            let _ = writeln!(r, "{who} is the checked body");
        }
        None => {}
    };
    spawned(&me, now.task, my_spawn);
    if prev.task != now.task {
        spawned(&other, prev.task, other_spawn);
    }
    let _ = writeln!(
        r,
        "no happens-before edge (spawn, join, channel, lock, WaitGroup, Once, atomic \
         acquire/release...) orders the two accesses"
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_takes_the_maximum_of_each_slot() {
        let mut a = VClock::default();
        a.set(0, 3);
        a.set(2, 1);
        let mut b = VClock::default();
        b.set(1, 4);
        b.set(2, 5);
        a.join(&b);
        assert_eq!(a, VClock(vec![3, 4, 5]));
    }

    #[test]
    fn a_release_then_acquire_orders_the_tasks() {
        let d = Detector::default();
        d.switch_on();
        let mut lock = VClock::default();
        d.release(1, &mut lock, false);
        d.acquire(2, &lock);
        let mut tasks = d.tasks();
        let t1_slot = tasks.get(1).slot;
        let t1_after = tasks.get(1).vc.get(t1_slot);
        assert_eq!(t1_after, 2, "the releaser ticked");
        assert_eq!(tasks.get(2).vc.get(t1_slot), 1, "the acquirer saw epoch 1");
    }
}
