//! The tokio checker: runs the body for real on a fresh multi-thread runtime per run.
//!
//! No clock is virtual and no schedule is controlled, so a verdict needs waiting: a task
//! still alive after the body returns is given a grace period (as goleak does; the checker
//! looks every millisecond, since the count of tasks alive is two counters) and called a
//! leak only once it is blocked on a harness operation with no progress anywhere, or once
//! the grace period is over. A body that never returns is a deadlock once
//! every live task is blocked with no progress, or when the watchdog fires. Tasks on the
//! runtime that leakproof did not spawn (`untracked.rs`) hold both verdicts back while they
//! live (they may wake the blocked ones), and are a leak themselves once the grace period is
//! over.
//!
//! Blocking in async: every poll of the body and of its tasks is timed, and one that held its
//! thread `LEAKPROOF_SLOW_POLL_MS` (100 ms) or longer ends the run as
//! [`FailureKind::BlockingInAsync`], naming the task and its spawn site. The time counted is the
//! poll's wall time less the time its thread waited for a CPU (Linux's run-queue delay, see
//! `leakcheck::held`), so a poll that is merely preempted on a loaded machine is never flagged,
//! while a `std::thread::sleep`, a std `Mutex` held across `.await` by another task, blocking
//! I/O or a long computation is. A poll that never ends is no slow poll: the watchdog's
//! (`LEAKPROOF_TOKIO_TIMEOUT_SECS`). Under loom and shuttle polls are virtual (every task runs
//! on the checker's thread, and their time is not the code's): they never report it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tracing::dispatcher::DefaultGuard;

use super::model::{dispatch, record_body_panic, Ctx};
use super::report::{self, Facts};
use super::untracked::{RuntimeTasks, Untracked};
use super::Body;
use super::{Checker, CheckerStats, Failure, FailureKind};
use crate::leakcheck::held::{Held, Mark};
use crate::rt::backend::{self, Backend};
use crate::rt::exec::{self, Exec, Finding};
use crate::rt::panic::CatchUnwind;
use crate::track::{self, Registry};

/// How long nothing may happen before blocked tasks are taken to be stuck for good.
const QUIET: Duration = Duration::from_millis(100);

thread_local! {
    static WORKER_DISPATCH: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
    /// On a tokio run's worker threads: the run's slow-poll threshold.
    static SLOW_POLL: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// Times one poll of a harness task on a tokio run's worker (`TaskFuture::poll` holds it
/// across the poll); `None` elsewhere (loom, shuttle, a check with the threshold off).
pub(crate) fn time_poll(exec: Option<&Exec>, task: u64) -> Option<PollTimer<'_>> {
    let exec = exec.filter(|e| e.backend == Backend::Tokio)?;
    let limit = SLOW_POLL.try_with(Cell::get).ok().flatten()?;
    Some(PollTimer {
        exec,
        task,
        limit,
        mark: Mark::now(),
    })
}

/// One poll being timed: when it is dropped, a poll that held its thread `limit` or longer
/// becomes the run's finding.
pub(crate) struct PollTimer<'a> {
    exec: &'a Exec,
    task: u64,
    limit: Duration,
    mark: Mark,
}

impl Drop for PollTimer<'_> {
    fn drop(&mut self) {
        let held = self.mark.held(self.limit);
        if held.held() >= self.limit {
            slow_poll_found(self.exec, self.task, held, self.limit);
        }
    }
}

/// The body's future, each poll timed as a task's is.
struct TimedBody<'a, F> {
    inner: Pin<&'a mut F>,
    exec: &'a Exec,
    limit: Option<Duration>,
}

impl<F: Future> Future for TimedBody<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _timer = this.limit.map(|limit| PollTimer {
            exec: this.exec,
            task: 0,
            limit,
            mark: Mark::now(),
        });
        this.inner.as_mut().poll(cx)
    }
}

fn fmt_ms(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

/// Records a slow poll of `task` as the run's finding, naming the task and its spawn site.
fn slow_poll_found(exec: &Exec, task: u64, held: Held, limit: Duration) {
    if exec.torn_down.load(Ordering::Acquire) {
        return;
    }
    let snapshot = exec.registry.snapshot();
    let who = match snapshot.task(task) {
        Some(t) => format!("task {} \"{}\" (spawned at {})", t.id, t.name, t.spawned_at),
        None => format!("task {task}"),
    };
    let cpu = held.cpu_note(fmt_ms);
    exec.record(Finding {
        kind: FailureKind::BlockingInAsync,
        text: format!(
            "{who} held its thread for {} in one poll{cpu}, over the limit of {} \
             (LEAKPROOF_SLOW_POLL_MS): blocking in async code (a std Mutex held across .await, \
             std::thread::sleep, blocking I/O, a long computation) stalls every task queued on \
             that thread",
            fmt_ms(held.held()),
            fmt_ms(limit)
        ),
    });
}

/// Whether every live task (the body too, until it returns) waits on a harness operation,
/// and how many are alive.
fn all_blocked(registry: &Registry) -> (bool, usize) {
    registry.all_blocked()
}

/// Watches progress: `stuck()` says whether nothing has moved for [`QUIET`] while every
/// live task was blocked and no untracked task was alive.
struct Quiescence {
    last_progress: u64,
    since: Instant,
    /// When the next look may be taken: a look is linear in the tasks alive, so with many
    /// tasks the checker looks less often instead of taking a core from them.
    next_look: Instant,
}

impl Quiescence {
    fn new() -> Self {
        Quiescence {
            last_progress: u64::MAX,
            since: Instant::now(),
            next_look: Instant::now(),
        }
    }

    /// `others_alive` says whether a task leakproof does not track is alive: one that may
    /// still wake the blocked ones, so that no quiet spell proves them stuck.
    ///
    /// A quiet spell starts only once no such task is alive: one that wakes a blocked task
    /// and then ends leaves that task looking blocked until it is polled, and the spell
    /// must give it the time to run (asking after the look instead let a check that fell
    /// between the untracked task's send and its end call the woken task a leak).
    fn stuck(&mut self, exec: &Exec, others_alive: impl FnOnce() -> bool) -> bool {
        let now = Instant::now();
        if now < self.next_look {
            return false;
        }
        if others_alive() {
            self.since = now;
            return false;
        }
        let stuck = self.look(exec);
        self.next_look = Instant::now() + now.elapsed() * 10;
        stuck
    }

    fn look(&mut self, exec: &Exec) -> bool {
        let progress = exec.progress.load(Ordering::Relaxed);
        let (all, _) = all_blocked(&exec.registry);
        // Tasks waiting on each other in a cycle are stuck even while others still run.
        let blocked = all
            || (exec.registry.may_have_cycle() && exec.registry.snapshot().wait_cycle().is_some());
        if !blocked || (all && progress != self.last_progress) {
            self.last_progress = progress;
            self.since = Instant::now();
            return false;
        }
        self.since.elapsed() >= QUIET
    }
}

enum Verdict {
    Pass,
    /// The kind, the text, and the registry at the moment of the verdict (before the body's
    /// future is dropped, which ends its pending operations).
    Fail(FailureKind, String, crate::track::Snapshot),
}

pub(super) fn run(
    ctx: &Ctx,
    body: Body,
    runs: usize,
    seed: u64,
) -> (CheckerStats, Result<(), Failure>) {
    let start = Instant::now();
    let mut executions = 0;
    for i in 1..=runs as u64 {
        executions = i;
        if let Err(failure) = one_run(ctx, &body, i, seed) {
            let stats = CheckerStats {
                checker: Checker::Tokio,
                executions,
                elapsed: start.elapsed(),
            };
            return (stats, Err(failure));
        }
    }
    let stats = CheckerStats {
        checker: Checker::Tokio,
        executions,
        elapsed: start.elapsed(),
    };
    (stats, Ok(()))
}

fn one_run(ctx: &Ctx, body: &Body, n: u64, seed: u64) -> Result<(), Failure> {
    let registry = Arc::new(Registry::new());
    registry.set_logging(ctx.record);
    let mut exec = Exec::new(Backend::Tokio, n, registry.clone(), ctx.defaults.tick_limit);
    {
        let e = Arc::get_mut(&mut exec).expect("fresh execution");
        e.log = ctx.record;
        e.spans = ctx.trace || std::env::var_os("LEAKPROOF_TRACE").is_some();
        e.rng = crate::rt::exec::Padded(std::sync::atomic::AtomicU64::new(
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ n,
        ));
    }
    let dispatch = dispatch(registry.clone(), ctx.trace);
    // The default from before the runtime is built until it is shut down: every span tokio
    // makes is the run's, and closes through the run's dispatcher (not a user's subscriber).
    let _dispatch = tracing::dispatcher::set_default(&dispatch);
    let (worker_exec, worker_dispatch) = (exec.clone(), dispatch.clone());
    let slow_poll = ctx.defaults.tokio_slow_poll;
    let untracked = RuntimeTasks::default();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            exec::set_thread_exec(Some(worker_exec.clone()));
            let guard = tracing::dispatcher::set_default(&worker_dispatch);
            WORKER_DISPATCH.with(|g| *g.borrow_mut() = Some(guard));
            SLOW_POLL.with(|s| s.set(slow_poll));
        })
        .on_thread_stop(|| {
            SLOW_POLL.with(|s| s.set(None));
            WORKER_DISPATCH.with(|g| g.borrow_mut().take());
            exec::set_thread_exec(None);
        });
    untracked.install(&mut builder);
    let rt = builder
        .build()
        .expect("leakproof: could not start a tokio runtime");
    let handle = rt.handle().clone();
    let others_alive = || untracked.any(&handle, &exec);
    let _enter = exec::enter(exec.clone());
    track::body_started(Some(&exec), ctx.site);
    let defaults = &ctx.defaults;
    let fail = |kind, text| Verdict::Fail(kind, text, registry.snapshot());
    // A finding is reported with the tasks alive when it was made: the others ran on (and may
    // have ended) while the checker was getting to it.
    let failed = |f: exec::Finding| {
        let snapshot = exec
            .snapshot_at_finding()
            .unwrap_or_else(|| registry.snapshot());
        Verdict::Fail(f.kind, f.text, snapshot)
    };
    // The body is polled on this thread: one poll that never returns is the watchdog's.
    let watched = exec.clone();
    let watch = super::watchdog::arm(
        &ctx.name,
        Checker::Tokio,
        super::watchdog::Blame::Body,
        move || Some(watched.clone()),
    );
    let verdict = rt.block_on(async {
        let body = std::pin::pin!(backend::scope_task(0, CatchUnwind(body())));
        let mut body = TimedBody {
            inner: body,
            exec: &exec,
            limit: slow_poll,
        };
        let started = Instant::now();
        let mut quiet = Quiescence::new();
        loop {
            let polled = tokio::time::timeout(Duration::from_millis(5), &mut body).await;
            watch.tick();
            match polled {
                Ok(Ok(())) => break,
                Ok(Err(payload)) => {
                    record_body_panic(&exec, &*payload);
                    break;
                }
                Err(_) => {
                    if exec.finding().is_some() {
                        break;
                    }
                    if quiet.stuck(&exec, others_alive) {
                        return fail(FailureKind::Deadlock, String::new());
                    }
                    if started.elapsed() >= defaults.tokio_timeout {
                        return fail(
                            FailureKind::Deadlock,
                            format!(
                                "the watchdog fired: the body had not returned after {:?} \
                                 (LEAKPROOF_TOKIO_TIMEOUT_SECS)",
                                defaults.tokio_timeout
                            ),
                        );
                    }
                }
            }
        }
        if let Some(f) = exec.finding() {
            return failed(f);
        }
        exec.body_done.store(true, Ordering::Release);
        track::task_ended(Some(&exec), 0, "ok");
        let mut deadline = Instant::now() + defaults.tokio_grace;
        let mut quiet = Quiescence::new();
        loop {
            watch.tick();
            if let Some(f) = exec.finding() {
                return failed(f);
            }
            // Done once leakproof's tasks have ended, and the runtime's others too.
            let done = || exec.unfinished_count() == 0 && !others_alive();
            if done() {
                return Verdict::Pass;
            }
            // The checks below are linear in the tasks alive: their own time does not count
            // against the grace period, and tasks may have finished while they ran.
            let checking = Instant::now();
            let stuck = quiet.stuck(&exec, others_alive);
            deadline += checking.elapsed();
            if done() {
                return Verdict::Pass;
            }
            if stuck {
                return fail(FailureKind::Leak, String::new());
            }
            if Instant::now() >= deadline {
                return fail(
                    FailureKind::Leak,
                    format!(
                        "still running after the grace period of {:?} (LEAKPROOF_TOKIO_GRACE_MS, \
                         Check::tokio_grace)",
                        defaults.tokio_grace
                    ),
                );
            }
            // Asking whether every task ended is two counters, and the looks above throttle
            // themselves: a short sleep ends the run within a millisecond of its last task.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    drop(watch);
    // Read while the runtime still runs them: its shutdown ends every task.
    let untracked = match verdict {
        Verdict::Pass => Untracked::default(),
        Verdict::Fail(..) => untracked.untracked(&handle, &exec),
    };
    exec.torn_down.store(true, Ordering::Release);
    rt.shutdown_timeout(Duration::from_millis(200));
    match verdict {
        Verdict::Pass => Ok(()),
        Verdict::Fail(kind, text, snapshot) => Err(report::build(Facts {
            name: &ctx.name,
            checker: Checker::Tokio,
            found_by: None,
            execution: n,
            kind,
            text,
            replay: None,
            snapshot,
            body_done: exec.body_done.load(Ordering::Acquire),
            untracked,
        })),
    }
}
