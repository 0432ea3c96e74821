//! One leak check: the live-task table of one tokio runtime (from its task hooks with
//! `--cfg tokio_unstable`, from `RuntimeMetrics::num_alive_tasks` without), its slow polls, its
//! thread count, and the wait-with-backoff that decides, once the body has returned, what is a
//! leak.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::Location;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::dispatcher::DefaultGuard;
use tracing::Dispatch;

use super::held::Mark;
use super::layer::{TaskSpan, TokioTaskLayer};
use super::report::{LeakReport, LeakedTask, SlowPoll, TaskState};
use super::LeakCheck;

thread_local! {
    /// The check of the runtime this thread belongs to (the thread in `block_on`, the
    /// runtime's workers and blocking threads).
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
    /// The dispatcher installed on a runtime thread, when the thread had none with the layer.
    static THREAD_DISPATCH: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
    /// The poll running on this thread: when it began and where its task was spawned (kept
    /// here because a task's last poll ends after its terminate hook has run).
    #[allow(clippy::type_complexity)]
    static POLL: RefCell<Option<(Mark, &'static Location<'static>, Option<Arc<TaskSpan>>)>> = const { RefCell::new(None) };
}

/// The check of the runtime the calling thread runs on, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// A task alive in the runtime, as its hooks told it.
#[cfg_attr(not(tokio_unstable), allow(dead_code))]
struct Live {
    site: &'static Location<'static>,
    spawned: Instant,
    busy_since: Option<Instant>,
    polls: u64,
    last_poll_end: Option<Instant>,
    /// Its `runtime.spawn` span (created just before the spawn hook runs), when seen.
    span: Option<Arc<TaskSpan>>,
}

/// The state one leak check shares with its runtime's hooks and threads.
pub(crate) struct Shared {
    pub(crate) options: Mutex<LeakCheck>,
    live: Mutex<HashMap<tokio::task::Id, Live>>,
    blocking: Mutex<HashMap<u64, Arc<TaskSpan>>>,
    slow: Mutex<Vec<SlowPoll>>,
    /// Threads of the runtime started and not yet stopped (workers and blocking pool).
    threads: AtomicIsize,
    /// Ids of tasks to leave out (alive when `ignore_current` was called).
    ignored_ids: Mutex<HashSet<u64>>,
    /// Without task hooks: how many tasks were alive when `ignore_current` was called.
    ignored_count: AtomicUsize,
    /// The dispatcher for the runtime's threads (`None`: the caller has no subscriber and tokio
    /// has no spans to read).
    dispatch: Option<Dispatch>,
    /// The test's name (the thread's name under libtest), for the report.
    pub(crate) test_name: String,
}

impl Shared {
    pub(crate) fn new(options: LeakCheck) -> Arc<Shared> {
        let has_layer =
            tracing::dispatcher::get_default(|d| d.downcast_ref::<TokioTaskLayer>().is_some());
        // The runtime's threads get the caller's subscriber when it already has the layer (or
        // when there are no tokio spans to read), else one with the layer that still feeds it.
        let dispatch = if has_layer || !cfg!(tokio_unstable) {
            let d = tracing::dispatcher::get_default(|d| d.clone());
            (!d.is::<tracing::subscriber::NoSubscriber>()).then_some(d)
        } else {
            Some(super::forward::own_dispatch())
        };
        let test_name = std::thread::current()
            .name()
            .unwrap_or("unnamed thread")
            .to_string();
        Arc::new(Shared {
            options: Mutex::new(options),
            live: Mutex::new(HashMap::new()),
            blocking: Mutex::new(HashMap::new()),
            slow: Mutex::new(Vec::new()),
            threads: AtomicIsize::new(0),
            ignored_ids: Mutex::new(HashSet::new()),
            ignored_count: AtomicUsize::new(0),
            dispatch,
            test_name,
        })
    }

    fn options(&self) -> std::sync::MutexGuard<'_, LeakCheck> {
        self.options.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs the hooks of this check on a tokio runtime builder.
    pub(crate) fn instrument(self: &Arc<Self>, builder: &mut tokio::runtime::Builder) {
        let (start, stop) = (self.clone(), self.clone());
        builder
            .on_thread_start(move || {
                start.threads.fetch_add(1, Ordering::SeqCst);
                CURRENT.with(|c| *c.borrow_mut() = Some(start.clone()));
                if let Some(d) = &start.dispatch {
                    let guard = tracing::dispatcher::set_default(d);
                    THREAD_DISPATCH.with(|g| *g.borrow_mut() = Some(guard));
                }
            })
            .on_thread_stop(move || {
                THREAD_DISPATCH.with(|g| g.borrow_mut().take());
                CURRENT.with(|c| c.borrow_mut().take());
                stop.threads.fetch_sub(1, Ordering::SeqCst);
            });
        #[cfg(tokio_unstable)]
        {
            let (spawn, end, before, after) =
                (self.clone(), self.clone(), self.clone(), self.clone());
            builder
                .on_task_spawn(move |meta| {
                    spawn.lock_live().insert(
                        meta.id(),
                        Live {
                            site: meta.spawned_at(),
                            spawned: Instant::now(),
                            busy_since: None,
                            polls: 0,
                            last_poll_end: None,
                            span: super::layer::tasks()
                                .get(&task_id(meta.id()))
                                .map(|t| Arc::clone(t.value())),
                        },
                    );
                })
                .on_task_terminate(move |meta| {
                    end.lock_live().remove(&meta.id());
                })
                .on_before_task_poll(move |meta| {
                    let mark = Mark::now();
                    if let Some(l) = before.lock_live().get_mut(&meta.id()) {
                        l.busy_since = Some(mark.at());
                        l.polls += 1;
                        let span = l.span.clone();
                        POLL.with(|p| *p.borrow_mut() = Some((mark, l.site, span)));
                    }
                })
                .on_after_task_poll(move |meta| {
                    let id = meta.id();
                    let now = Instant::now();
                    if let Some(l) = after.lock_live().get_mut(&id) {
                        l.last_poll_end = Some(now);
                        l.busy_since = None;
                    }
                    let Some((mark, site, span)) = POLL.with(|p| p.borrow_mut().take()) else {
                        return;
                    };
                    let Some(limit) = after.options().slow_poll else {
                        return;
                    };
                    // Time spent waiting for a CPU is the machine's load, not the poll's.
                    let held = mark.held(limit);
                    if held.held() >= limit {
                        let id = task_id(id);
                        let name = span.map(|t| t.name.clone());
                        after
                            .slow
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(SlowPoll {
                                task_id: id,
                                name: name.filter(|n| !n.is_empty()),
                                spawned_at: site.to_string(),
                                took: held.held(),
                                waited_for_cpu: held.waited_for_cpu,
                            });
                    }
                });
        }
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, HashMap<tokio::task::Id, Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn blocking_spawned(&self, task: Arc<TaskSpan>) {
        self.blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(task.id, task);
    }

    pub(crate) fn blocking_ended(&self, id: u64) {
        self.blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Makes this check the calling thread's for as long as the guard lives (the thread that
    /// runs `block_on`).
    pub(crate) fn enter(self: &Arc<Self>) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let dispatch = self.dispatch.as_ref().map(tracing::dispatcher::set_default);
        EnterGuard {
            prev,
            _dispatch: dispatch,
        }
    }

    /// Leaves out every task alive now.
    pub(crate) fn ignore_current(&self, handle: &tokio::runtime::Handle) {
        let ids: Vec<u64> = self.lock_live().keys().map(|id| task_id(*id)).collect();
        self.ignored_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
        let blocking: Vec<u64> = self
            .blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        self.ignored_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(blocking);
        self.ignored_count
            .store(handle.metrics().num_alive_tasks(), Ordering::SeqCst);
    }

    /// The tasks alive now that no rule leaves out, and how many the rules left out.
    fn alive(&self, handle: &tokio::runtime::Handle) -> (Vec<LeakedTask>, usize) {
        let now = Instant::now();
        let opts = self.options().clone();
        let ignored_ids = self
            .ignored_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut out = Vec::new();
        let mut skipped = 0;
        if !cfg!(tokio_unstable) {
            let total = handle.metrics().num_alive_tasks();
            let n = total.saturating_sub(self.ignored_count.load(Ordering::SeqCst));
            skipped = total - n;
            for _ in 0..n {
                out.push(LeakedTask::unknown());
            }
            return (out, skipped);
        }
        for (id, l) in self.lock_live().iter() {
            let id = &task_id(*id);
            let span = l.span.clone();
            let task = LeakedTask::from_parts(*id, Some(l.site.to_string()), span.as_deref(), {
                match (l.busy_since, l.last_poll_end) {
                    (Some(s), _) => TaskState::Busy(now - s),
                    (None, Some(e)) => TaskState::Idle {
                        polls: l.polls,
                        since: now - e,
                    },
                    (None, None) => TaskState::NeverPolled,
                }
            });
            let age = now - l.spawned;
            let task = LeakedTask { age, ..task };
            if ignored_ids.contains(id) || opts.ignores(&task) {
                skipped += 1;
            } else {
                out.push(task);
            }
        }
        for (id, t) in self
            .blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let task = LeakedTask::from_parts(*id, t.site.clone(), Some(&**t), TaskState::Blocking);
            let task = LeakedTask {
                age: now - t.spawned,
                ..task
            };
            if ignored_ids.contains(id) || opts.ignores(&task) {
                skipped += 1;
            } else {
                out.push(task);
            }
        }
        out.sort_by_key(|t| t.id);
        (out, skipped)
    }

    /// After the body: waits, with backoff, for the tasks still alive to end, up to the grace
    /// period; `Some(report)` when some are still alive then, or a poll was slow.
    pub(crate) async fn settle(&self, flavor: &'static str) -> Option<LeakReport> {
        let handle = tokio::runtime::Handle::current();
        let grace = self.options().grace;
        let start = Instant::now();
        let mut backoff = Duration::from_micros(500);
        let mut round = 0u32;
        loop {
            let (mut alive, ignored) = self.alive(&handle);
            if alive.is_empty() {
                return self.report(Vec::new(), ignored, start.elapsed(), flavor);
            }
            if start.elapsed() >= grace {
                let waited = start.elapsed();
                let dump_note = self.add_dumps(&mut alive).await;
                return self.report_with(alive, ignored, waited, flavor, dump_note);
            }
            // A detached task that is about to end usually needs only its next poll.
            if round < 2 {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(backoff.min(grace.saturating_sub(start.elapsed()))).await;
                backoff = (backoff * 2).min(Duration::from_millis(50));
            }
            round += 1;
        }
    }

    /// Adds each task's dump (its own frames) where this build takes dumps; returns what the
    /// report should say about dumps.
    async fn add_dumps(&self, tasks: &mut [LeakedTask]) -> Option<String> {
        if cfg!(not(tokio_unstable)) || tasks.is_empty() {
            return None;
        }
        if !self.options().task_dumps {
            return None;
        }
        if !super::dump::AVAILABLE {
            return Some(
                "task dumps: not in this build (leakproof's `taskdump` feature, Linux only, adds \
                 each task's backtrace)"
                    .to_string(),
            );
        }
        let ids: Vec<u64> = tasks.iter().filter_map(|t| t.id).collect();
        DUMPED.with(|d| d.set(true));
        let dumps = super::dump::dump(&ids, DUMP_LIMIT).await;
        for t in tasks.iter_mut() {
            if let Some(frames) = t.id.and_then(|id| dumps.frames.get(&id)) {
                t.dump = Some(frames.clone());
            }
        }
        dumps.failed
    }

    fn report(
        &self,
        tasks: Vec<LeakedTask>,
        ignored: usize,
        waited: Duration,
        flavor: &'static str,
    ) -> Option<LeakReport> {
        self.report_with(tasks, ignored, waited, flavor, None)
    }

    fn report_with(
        &self,
        tasks: Vec<LeakedTask>,
        ignored: usize,
        waited: Duration,
        flavor: &'static str,
        dump_note: Option<String>,
    ) -> Option<LeakReport> {
        let slow = std::mem::take(&mut *self.slow.lock().unwrap_or_else(|e| e.into_inner()));
        if tasks.is_empty() && slow.is_empty() {
            return None;
        }
        let opts = self.options().clone();
        Some(LeakReport::new(
            &self.test_name,
            flavor,
            tasks,
            slow,
            ignored,
            waited,
            &opts,
            dump_note,
        ))
    }

    /// Shuts the runtime down, waiting up to the grace period for its threads; a thread still
    /// running then (a `spawn_blocking` task, or a worker stuck in a poll) is a leak.
    pub(crate) fn shutdown(
        &self,
        shutdown: impl FnOnce(Duration),
        flavor: &'static str,
    ) -> Option<LeakReport> {
        let mut grace = self.options().grace;
        // tokio's dump on multi_thread leaves a worker parked for up to 250 ms.
        if DUMPED.with(|d| d.replace(false)) {
            grace = grace.max(Duration::from_millis(400));
        }
        let start = Instant::now();
        shutdown(grace);
        let busy = self.threads.load(Ordering::SeqCst).max(0) as usize;
        if busy == 0 {
            return None;
        }
        let opts = self.options().clone();
        let blocking: Vec<LeakedTask> = self
            .blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, t)| LeakedTask {
                age: t.spawned.elapsed(),
                ..LeakedTask::from_parts(*id, t.site.clone(), Some(&**t), TaskState::Blocking)
            })
            .filter(|t| !opts.ignores(t))
            .collect();
        let ignored_blocking = self
            .blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
            - blocking.len();
        if cfg!(tokio_unstable) && blocking.is_empty() && ignored_blocking > 0 {
            // Every busy thread runs a blocking task the rules leave out.
            return None;
        }
        Some(LeakReport::busy_threads(
            &self.test_name,
            flavor,
            busy,
            blocking,
            start.elapsed(),
            &opts,
        ))
    }
}

thread_local! {
    /// Set when this thread took a task dump for a report (the runtime's shutdown then waits
    /// for the worker tokio's dump leaves parked).
    static DUMPED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How long a task dump may take before the report goes without it.
const DUMP_LIMIT: Duration = Duration::from_secs(2);

/// Restores the thread's previous check when dropped.
pub(crate) struct EnterGuard {
    prev: Option<Arc<Shared>>,
    _dispatch: Option<DefaultGuard>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

fn task_id(id: tokio::task::Id) -> u64 {
    // tokio prints its task ids as their number, the same number its spans carry.
    id.to_string().parse().unwrap_or(0)
}
