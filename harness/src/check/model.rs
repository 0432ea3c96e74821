//! The model checkers: loom and shuttle run the body many times on one OS thread; each
//! execution joins every task left when the body returns, so that a task blocked forever
//! turns into the checker's own deadlock verdict, which is then read as a leak (the body
//! had returned) or a deadlock (it had not).

use std::panic::{self, AssertUnwindSafe, Location};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::Dispatch;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

use super::report::{self, Facts};
use super::{
    shuttle_config, Body, Checker, CheckerStats, Defaults, Failure, FailureKind, ReplayError,
    ReplayErrorKind, ReplayToken,
};
use crate::rt::backend::{self, Backend};
use crate::rt::exec::{self, Exec};
use crate::rt::panic::{self as rtpanic, CatchUnwind};
use crate::rt::verdict::Stop;
use crate::track::{self, Registry, TrackingLayer};

/// What every checker of one `Check::run` shares.
pub(super) struct Ctx {
    pub name: String,
    pub site: &'static Location<'static>,
    pub defaults: Defaults,
    /// Keep the execution log (see `Check::record`).
    pub record: bool,
    /// Print every event and scheduling step (see `Check::trace`).
    pub trace: bool,
    /// Where to write loom's checkpoint of a failing path (see `Check::loom_checkpoint`).
    pub loom_checkpoint: Option<PathBuf>,
}

/// Which shuttle scheduler to run.
pub(super) enum Sched {
    Random(usize, u64),
    Pct(usize, usize, u64),
    /// A replay of a schedule found by the random (`false`) or the PCT (`true`) scheduler.
    Replay(String, bool),
    /// The shrinker's candidate: one execution under its scheduler, reported as `checker`'s
    /// execution number `execution` (see `shrink.rs`).
    Guided {
        scheduler: super::guided::Guided,
        checker: Checker,
        pct: bool,
        execution: u64,
    },
}

/// One checker's run: the body and what its executions leave behind.
struct Run {
    body: Body,
    backend: Backend,
    checker: Checker,
    site: &'static Location<'static>,
    registry: Arc<Registry>,
    executions: AtomicU64,
    last: Mutex<Option<Arc<Exec>>>,
    /// For a loom replay: only this execution is tracked and reported.
    only: Option<u64>,
    record: bool,
    spans: bool,
    /// How many times a ticker fires per execution (`Defaults::tick_limit`).
    tick_limit: usize,
}

/// A dispatcher with the run's tracking layer, plus a fmt layer when tracing is asked for
/// (`Check::trace` prints to stderr, with the checkers' own scheduling steps;
/// `LEAKPROOF_TRACE` prints harness events through the test harness's capture).
pub(super) fn dispatch(registry: Arc<Registry>, trace: bool) -> Dispatch {
    full_dispatch(registry.clone(), trace).unwrap_or_else(|| {
        // A subscriber-wide filter: loom's and shuttle's own events are never even built.
        Dispatch::new(
            tracing_subscriber::registry()
                .with(harness_only())
                .with(TrackingLayer::with_registry(registry)),
        )
    })
}

/// Only leakproof's own events (target `harness`).
fn harness_only() -> Targets {
    Targets::new().with_target(track::TARGET, LevelFilter::TRACE)
}

/// Runs `f` (a loom or shuttle run) under the run's dispatcher when it has something to
/// print or a user's subscriber to forward to. Otherwise under none: the tracking layer
/// alone would receive nothing (without a trace, the primitives write to the registry
/// directly), and a scoped default costs shuttle a dispatcher swap at every task switch
/// (about 5% of an execution of the bench's producer/consumer program).
fn with_run_dispatch<R>(registry: &Arc<Registry>, trace: bool, f: impl FnOnce() -> R) -> R {
    match full_dispatch(registry.clone(), trace) {
        Some(d) => tracing::dispatcher::with_default(&d, f),
        None => f(),
    }
}

/// The run's dispatcher when it must print (`Check::trace`, `LEAKPROOF_TRACE`) or forward
/// to the user's subscriber; `None` when it would hold the tracking layer alone.
fn full_dispatch(registry: Arc<Registry>, trace: bool) -> Option<Dispatch> {
    let events = std::env::var_os("LEAKPROOF_TRACE").is_some();
    // The user's own subscriber keeps seeing their code (see `forward`).
    let user = super::forward::user_dispatch().map(super::forward::Forward::new);
    let user = user.map(|f| {
        let filter = f.filter();
        f.with_filter(filter)
    });
    if !trace && !events && user.is_none() {
        return None;
    }
    let tracking = TrackingLayer::with_registry(registry);
    let steps = trace.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .without_time()
            .with_filter(
                harness_only()
                    .with_target("shuttle", LevelFilter::TRACE)
                    .with_target("shuttle_engine", LevelFilter::TRACE)
                    .with_target("loom", LevelFilter::TRACE),
            )
    });
    let events = (!trace && events).then(|| {
        tracing_subscriber::fmt::layer()
            .with_test_writer()
            .without_time()
            .with_filter(harness_only())
    });
    Some(Dispatch::new(
        tracing_subscriber::registry()
            .with(tracking.with_filter(harness_only()))
            .with(steps)
            .with(events)
            .with(user),
    ))
}

/// One execution: run the body as task 0, then join every task still alive.
fn execution(run: &Run) {
    let n = run.executions.fetch_add(1, Ordering::Relaxed) + 1;
    run.registry.reset();
    let mut exec_state = Exec::new(run.backend, n, run.registry.clone(), run.tick_limit);
    {
        let e = Arc::get_mut(&mut exec_state).expect("fresh execution");
        e.tracking = run.only.is_none_or(|only| only == n);
        e.log = run.record;
        e.spans = run.spans;
    }
    let exec = exec_state;
    *run.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(exec.clone());
    let _enter = exec::enter(exec.clone());
    backend::set_task_id(run.backend, 0);
    track::body_started(Some(&exec), run.site);
    let body = (run.body)();
    let exec2 = exec.clone();
    backend::block_on(run.backend, async move {
        let exec = exec2;
        if let Err(payload) = CatchUnwind(body).await {
            if Stop::of(&*payload).is_checker_panic() {
                panic::resume_unwind(payload);
            }
            record_body_panic(&exec, &*payload);
            crate::task::raise_if_modelled(Some(&exec));
        }
        exec.body_done.store(true, Ordering::Release);
        track::task_ended(Some(&exec), 0, "ok");
        loop {
            let tasks = exec.unfinished_tasks();
            if tasks.is_empty() {
                break;
            }
            for t in tasks {
                t.wait().await;
            }
        }
    });
    if exec.finding().is_some() {
        crate::task::raise_if_modelled(Some(&exec));
    }
    exec.torn_down.store(true, Ordering::Release);
}

pub(super) fn record_body_panic(exec: &Exec, payload: &(dyn std::any::Any + Send)) {
    let msg = rtpanic::message(payload);
    let at = rtpanic::take_note()
        .map(|n| n.location)
        .unwrap_or_else(|| "<unknown>".into());
    exec.record(rtpanic::finding(&msg, "the body (task 0 \"main\")", &at));
}

/// Reads the failure out of a checker's panic and the last execution's state.
fn classify(
    ctx: &Ctx,
    run: &Run,
    payload: Box<dyn std::any::Any + Send>,
    replay: Option<String>,
    found_by: Option<Checker>,
) -> Failure {
    let exec = run.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(e) = &exec {
        e.torn_down.store(true, Ordering::Release);
    }
    let body_done = exec
        .as_ref()
        .is_some_and(|e| e.body_done.load(Ordering::Acquire));
    let execution = exec.as_ref().map(|e| e.execution).unwrap_or(0);
    let msg = rtpanic::message(&*payload);
    let stop = Stop::of(&*payload);
    let (kind, text) = match exec.as_ref().and_then(|e| e.finding()) {
        Some(f) => (f.kind, f.text),
        None if stop == Stop::Deadlock => {
            if body_done {
                (FailureKind::Leak, String::new())
            } else {
                (FailureKind::Deadlock, String::new())
            }
        }
        None if stop == Stop::StepLimit => (
            FailureKind::StepLimit,
            format!(
                "the execution exceeded the checker's step bound ({}): a task may spin without blocking; \
                 raise LEAKPROOF_MAX_STEPS / LEAKPROOF_LOOM_MAX_BRANCHES if the model is just long\n    {}",
                if run.backend == Backend::Loom { "loom branches" } else { "shuttle steps" },
                msg.lines().next().unwrap_or_default()
            ),
        ),
        None => {
            let at = rtpanic::take_note().map(|n| format!("\n    panicked at {}", n.location)).unwrap_or_default();
            (FailureKind::Panic, format!("the checker stopped with a panic: {msg}{at}"))
        }
    };
    report::build(Facts {
        name: &ctx.name,
        checker: run.checker,
        found_by,
        execution,
        kind,
        text,
        replay,
        snapshot: run.registry.snapshot(),
        body_done,
        untracked: Default::default(),
    })
}

fn new_run(
    ctx: &Ctx,
    body: Body,
    backend: Backend,
    checker: Checker,
    only: Option<u64>,
) -> Arc<Run> {
    let registry = Arc::new(Registry::new());
    registry.set_logging(ctx.record);
    Arc::new(Run {
        body,
        backend,
        checker,
        site: ctx.site,
        registry,
        executions: AtomicU64::new(0),
        last: Mutex::new(None),
        only,
        record: ctx.record,
        spans: ctx.trace || std::env::var_os("LEAKPROOF_TRACE").is_some(),
        tick_limit: ctx.defaults.tick_limit,
    })
}

/// How a loom run explores.
#[derive(Clone, Debug)]
pub(super) enum LoomMode {
    /// Every execution within the bound, in loom's order.
    Explore,
    /// Replay: run executions 1..=n in loom's order, tracking and reporting only the n-th.
    Nth(u64),
    /// Replay: the one execution whose path a loom checkpoint file holds.
    Path(PathBuf),
}

fn loom_builder(ctx: &Ctx, bound: Option<usize>) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound;
    builder.max_branches = ctx.defaults.loom_max_branches;
    builder.checkpoint_interval = 1;
    builder.checkpoint_file = None;
    builder
}

/// Runs a loom builder over the run's executions, catching loom's verdict.
fn run_loom(
    ctx: &Ctx,
    run: &Arc<Run>,
    builder: &loom::model::Builder,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    let r = run.clone();
    let restore = exec::preserve();
    let watch = arm_watchdog(ctx, run);
    let result = with_run_dispatch(&run.registry, ctx.trace, || {
        panic::catch_unwind(AssertUnwindSafe(|| builder.check(move || execution(&r))))
    });
    drop(watch);
    drop(restore);
    result
}

/// Puts the run under the watchdog's eye (see `watchdog.rs`) until the guard is dropped.
fn arm_watchdog(ctx: &Ctx, run: &Arc<Run>) -> super::watchdog::Armed {
    let r = run.clone();
    super::watchdog::arm(
        &ctx.name,
        run.checker,
        super::watchdog::Blame::Running,
        move || r.last.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    )
}

/// Explores the body with loom, or replays one execution of it (see [`LoomMode`]).
pub(super) fn loom(
    ctx: &Ctx,
    body: Body,
    bound: Option<usize>,
    mode: LoomMode,
) -> (CheckerStats, Result<(), Failure>) {
    let (stats, result, _, _) = loom_run(ctx, body, bound, mode);
    (stats, result)
}

/// Whether loom's panic says that the path it replays does not fit the body.
fn is_loom_path_mismatch(msg: &str) -> bool {
    msg.contains("Reached unexpected exploration state") || msg.contains("[loom internal bug]")
}

/// [`loom`], also returning the number of the last execution that ran and, when a replayed
/// path does not fit the body, loom's word for it.
fn loom_run(
    ctx: &Ctx,
    body: Body,
    bound: Option<usize>,
    mode: LoomMode,
) -> (CheckerStats, Result<(), Failure>, u64, Option<String>) {
    let start = Instant::now();
    let mut builder = loom_builder(ctx, bound);
    let (checker, only, scratch) = match &mode {
        LoomMode::Explore => {
            builder.max_permutations = Some(ctx.defaults.loom_max_executions + 1);
            (Checker::Loom, None, None)
        }
        LoomMode::Nth(n) => {
            builder.max_permutations = Some(*n as usize + 1);
            (Checker::Replay, Some(*n), None)
        }
        LoomMode::Path(file) => {
            // loom rewrites its checkpoint file as it goes: replay from a scratch copy.
            let scratch = scratch_path("replay");
            if let Err(e) = std::fs::copy(file, &scratch) {
                let failure = report::build(Facts {
                    name: &ctx.name,
                    checker: Checker::Replay,
                    found_by: Some(Checker::Loom),
                    execution: 0,
                    kind: FailureKind::Panic,
                    text: format!("cannot read the loom checkpoint {}: {e}", file.display()),
                    replay: None,
                    snapshot: Default::default(),
                    body_done: false,
                    untracked: Default::default(),
                });
                return (stats_of(Checker::Replay, 0, start), Err(failure), 0, None);
            }
            builder.checkpoint_file = Some(scratch.clone());
            builder.max_permutations = Some(2);
            (Checker::Replay, None, Some(scratch))
        }
    };
    let run = new_run(ctx, body.clone(), Backend::Loom, checker, only);
    let result = run_loom(ctx, &run, &builder);
    if let Some(scratch) = scratch {
        let _ = std::fs::remove_file(scratch);
    }
    let stats = stats_of(checker, run.executions.load(Ordering::Relaxed), start);
    let Err(payload) = result else {
        let last = stats.executions;
        return (stats, Ok(()), last, None);
    };
    if let LoomMode::Path(_) = &mode {
        let msg = rtpanic::message(&*payload);
        let exec = run.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if is_loom_path_mismatch(&msg) && exec.as_ref().is_none_or(|e| e.finding().is_none()) {
            if let Some(e) = exec {
                e.torn_down.store(true, Ordering::Release);
            }
            let why = msg.lines().next().unwrap_or_default().to_string();
            return (stats, Ok(()), 0, Some(why));
        }
    }
    let n = run
        .last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|e| e.execution)
        .unwrap_or(1);
    let token = match &mode {
        LoomMode::Path(file) => ReplayToken::LoomCheckpoint(file.clone()),
        _ => ReplayToken::Loom {
            preemption_bound: bound,
            execution: n,
        },
    };
    let found_by = (checker == Checker::Replay).then_some(Checker::Loom);
    let mut failure = classify(ctx, &run, payload, Some(token.to_string()), found_by);
    if let (LoomMode::Explore, Some(dest)) = (&mode, &ctx.loom_checkpoint) {
        failure
            .report
            .push_str(&match save_loom_path(ctx, body, bound, n, dest) {
                Ok(()) => format!("\nloom's checkpoint of this path: {}\n", dest.display()),
                Err(e) => format!(
                    "\ncould not write loom's checkpoint to {}: {e}\n",
                    dest.display()
                ),
            });
    }
    (stats, Err(failure), n, None)
}

fn stats_of(checker: Checker, executions: u64, start: Instant) -> CheckerStats {
    CheckerStats {
        checker,
        executions,
        elapsed: start.elapsed(),
    }
}

fn scratch_path(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "leakproof-loom-{what}-{}-{}.json",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes loom's checkpoint of the n-th execution's path to `dest`: loom explores again up
/// to it (untracked) and stores the path it is about to run.
fn save_loom_path(
    ctx: &Ctx,
    body: Body,
    bound: Option<usize>,
    n: u64,
    dest: &Path,
) -> std::io::Result<()> {
    let scratch = scratch_path("save");
    let mut builder = loom_builder(ctx, bound);
    builder.checkpoint_file = Some(scratch.clone());
    builder.max_permutations = Some(n as usize);
    // Track none of the executions before the n-th; none of them fails.
    let run = new_run(ctx, body, Backend::Loom, Checker::Loom, Some(0));
    let outcome = run_loom(ctx, &run, &builder);
    let copied = if n == 1 {
        // loom stores nothing before the first execution: its path is the empty one.
        Err(std::io::Error::other(
            "the first execution has no stored path; replay it with its token",
        ))
    } else if outcome.is_err() {
        Err(std::io::Error::other(
            "an execution before the failing one failed on the way",
        ))
    } else {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&scratch, dest).and_then(|_| stamp_loom_path(dest, &ctx.name, n))
    };
    let _ = std::fs::remove_file(&scratch);
    copied
}

/// The field of a loom checkpoint in which leakproof names the check that saved it (loom
/// reads the file with serde and skips fields it does not know).
const STAMP: &str = "leakproof";

/// Names the check and the execution in a loom checkpoint leakproof saved.
fn stamp_loom_path(dest: &Path, check: &str, n: u64) -> std::io::Result<()> {
    let text = std::fs::read_to_string(dest)?;
    let mut json: serde_json::Value = serde_json::from_str(&text).map_err(std::io::Error::other)?;
    if let Some(fields) = json.as_object_mut() {
        fields.insert(
            STAMP.into(),
            serde_json::json!({ "check": check, "execution": n }),
        );
    }
    std::fs::write(dest, json.to_string())
}

/// The check (and its execution) that saved a loom checkpoint, when leakproof saved it.
fn loom_path_stamp(path: &Path) -> Option<(String, u64)> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let stamp = json.get(STAMP)?;
    Some((
        stamp.get("check")?.as_str()?.to_string(),
        stamp.get("execution").and_then(|n| n.as_u64()).unwrap_or(0),
    ))
}

/// A shuttle scheduler that is forgotten, not dropped, when a failure unwinds past it:
/// shuttle's random scheduler prints its seed from `Drop`, and leakproof reports the failing
/// schedule itself, as a replay token.
struct Quiet<S>(std::mem::ManuallyDrop<S>);

impl<S: shuttle::scheduler::Scheduler> shuttle::scheduler::Scheduler for Quiet<S> {
    fn new_execution(&mut self) -> Option<shuttle::scheduler::Schedule> {
        self.0.new_execution()
    }

    fn next_task(
        &mut self,
        runnable: &[&shuttle::scheduler::Task],
        current: Option<shuttle::scheduler::TaskId>,
        is_yielding: bool,
    ) -> Option<shuttle::scheduler::TaskId> {
        self.0.next_task(runnable, current, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

impl<S> Drop for Quiet<S> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // SAFETY: dropped exactly once, here, and never used again.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.0) }
        }
    }
}

fn quiet<S>(scheduler: S) -> Quiet<S> {
    Quiet(std::mem::ManuallyDrop::new(scheduler))
}

/// A scheduler that counts the schedule steps its inner scheduler takes (for a replay: how
/// much of the schedule the execution followed).
struct Counting<S> {
    inner: S,
    taken: Arc<AtomicU64>,
}

impl<S: shuttle::scheduler::Scheduler> shuttle::scheduler::Scheduler for Counting<S> {
    fn new_execution(&mut self) -> Option<shuttle::scheduler::Schedule> {
        self.inner.new_execution()
    }

    fn next_task(
        &mut self,
        runnable: &[&shuttle::scheduler::Task],
        current: Option<shuttle::scheduler::TaskId>,
        is_yielding: bool,
    ) -> Option<shuttle::scheduler::TaskId> {
        let next = self.inner.next_task(runnable, current, is_yielding);
        if next.is_some() {
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
        next
    }

    fn next_u64(&mut self) -> u64 {
        let v = self.inner.next_u64();
        self.taken.fetch_add(1, Ordering::Relaxed);
        v
    }
}

/// How a shuttle replay went along its schedule.
enum ReplayOutcome {
    /// It followed the schedule for this many steps (for runs that are no replay: 0).
    Followed(usize),
    /// shuttle's replay scheduler found that the schedule does not fit (its message).
    Mismatch(String),
}

/// Runs the body under one of shuttle's schedulers.
pub(super) fn shuttle(ctx: &Ctx, body: Body, sched: Sched) -> (CheckerStats, Result<(), Failure>) {
    let (stats, result, _) = shuttle_run(ctx, body, sched);
    (stats, result)
}

/// [`shuttle`], also saying how a replay went along its schedule.
fn shuttle_run(
    ctx: &Ctx,
    body: Body,
    sched: Sched,
) -> (CheckerStats, Result<(), Failure>, ReplayOutcome) {
    let taken = Arc::new(AtomicU64::new(0));
    let (checker, pct) = match &sched {
        Sched::Random(..) => (Checker::Shuttle, false),
        Sched::Pct(..) => (Checker::Pct, true),
        Sched::Replay(_, pct) => (Checker::Replay, *pct),
        Sched::Guided { checker, pct, .. } => (*checker, *pct),
    };
    let run = new_run(ctx, body, Backend::Shuttle, checker, None);
    if let Sched::Guided { execution, .. } = &sched {
        run.executions
            .store(execution.saturating_sub(1), Ordering::Relaxed);
    }
    let start = Instant::now();
    let mut config = shuttle_config();
    config.max_steps = shuttle::MaxSteps::FailAfter(ctx.defaults.max_steps);
    let r = run.clone();
    let f = move || execution(&r);
    let restore = exec::preserve();
    let watch = arm_watchdog(ctx, &run);
    let result = with_run_dispatch(&run.registry, ctx.trace, || {
        panic::catch_unwind(AssertUnwindSafe(|| match sched {
            Sched::Random(n, seed) => {
                shuttle::Runner::new(
                    quiet(shuttle::scheduler::RandomScheduler::new_from_seed(seed, n)),
                    config,
                )
                .run(f);
            }
            Sched::Pct(n, depth, seed) => {
                shuttle::Runner::new(
                    quiet(shuttle::scheduler::PctScheduler::new_from_seed(
                        seed, depth, n,
                    )),
                    config,
                )
                .run(f);
            }
            Sched::Replay(schedule, _) => {
                shuttle::Runner::new(
                    quiet(Counting {
                        inner: shuttle::scheduler::ReplayScheduler::new_from_encoded(&schedule),
                        taken: taken.clone(),
                    }),
                    config,
                )
                .run(f);
            }
            Sched::Guided { scheduler, .. } => {
                shuttle::Runner::new(quiet(scheduler), config).run(f);
            }
        }))
    });
    drop(watch);
    drop(restore);
    let stats = CheckerStats {
        checker,
        executions: run.executions.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    };
    // PCT refuses to go on once an execution ran a single task: nothing left to explore.
    let result = result.or_else(|payload| {
        let single_task = Stop::of(&*payload) == Stop::NoConcurrency;
        let clean = run
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|e| e.finding().is_none() && e.torn_down.load(Ordering::Acquire));
        if single_task && clean {
            Ok(())
        } else {
            Err(payload)
        }
    });
    if let Err(payload) = &result {
        let msg = rtpanic::message(&**payload);
        if checker == Checker::Replay && Stop::of(&**payload) == Stop::ScheduleMismatch {
            if let Some(e) = run.last.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                e.torn_down.store(true, Ordering::Release);
            }
            return (stats, Ok(()), ReplayOutcome::Mismatch(mismatch_cause(&msg)));
        }
    }
    let failure = result.err().map(|payload| {
        let schedule = shuttle_engine::scheduler::serialization::serialize_schedule(
            &shuttle_engine::runtime::execution::CurrentSchedule::get_schedule(),
        );
        let token = ReplayToken::Shuttle {
            pct,
            schedule: schedule.replace('\n', ""),
        };
        let found_by = (checker == Checker::Replay).then_some(if pct {
            Checker::Pct
        } else {
            Checker::Shuttle
        });
        classify(ctx, &run, payload, Some(token.to_string()), found_by)
    });
    let followed = ReplayOutcome::Followed(taken.load(Ordering::Relaxed) as usize);
    (stats, failure.map_or(Ok(()), Err), followed)
}

/// What shuttle's replay said when a schedule stopped fitting, in one short line: its first
/// line, without the Debug dump of every runnable task that shuttle appends to "scheduled
/// task is not runnable" (thousands of characters, useless to a reader).
fn mismatch_cause(msg: &str) -> String {
    const MAX: usize = 200;
    let line = msg.lines().next().unwrap_or_default();
    let line = line.split(", but choices were").next().unwrap_or(line);
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// Runs the one execution a token names; a token that names no execution of this body, or
/// whose schedule no longer fits it, is a [`ReplayError`] rather than a verdict.
pub(super) fn replay(
    ctx: &Ctx,
    body: Body,
    token: ReplayToken,
) -> Result<(CheckerStats, Result<(), Failure>), ReplayError> {
    let text = token.to_string();
    let error = |kind, message: String| ReplayError {
        token: text.clone(),
        kind,
        message,
    };
    match token {
        ReplayToken::Shuttle { schedule, pct } => {
            let steps = shuttle_engine::scheduler::serialization::deserialize_schedule(&schedule)
                .map(|s| s.steps.len())
                .unwrap_or(0);
            let (stats, result, outcome) = shuttle_run(ctx, body, Sched::Replay(schedule, pct));
            match outcome {
                ReplayOutcome::Mismatch(why) => Err(error(
                    ReplayErrorKind::Stale,
                    format!(
                        "replay token {text} no longer fits check \"{}\": shuttle's replay stopped with \"{why}\". \
                         The body or the harness changed since the token was recorded (its scheduling steps \
                         differ); the token is stale: hunt a fresh one",
                        ctx.name
                    ),
                )),
                ReplayOutcome::Followed(taken) if result.is_ok() && taken < steps => Err(error(
                    ReplayErrorKind::Stale,
                    format!(
                        "replay token {text} no longer fits check \"{}\": the execution ended after {taken} of \
                         the schedule's {steps} steps. The body or the harness changed since the token was \
                         recorded; the token is stale: hunt a fresh one",
                        ctx.name
                    ),
                )),
                ReplayOutcome::Followed(_) => Ok((stats, result)),
            }
        }
        ReplayToken::Loom {
            preemption_bound,
            execution,
        } => {
            let (stats, result, last, _) =
                loom_run(ctx, body, preemption_bound, LoomMode::Nth(execution));
            let bound = preemption_bound
                .map(|b| format!("preemption bound {b}"))
                .unwrap_or_else(|| "no preemption bound".into());
            match &result {
                Ok(()) if stats.executions < execution => Err(error(
                    ReplayErrorKind::NoSuchExecution,
                    format!(
                        "replay token {text} names execution {execution}, but loom's exploration of check \"{}\" \
                         ({bound}) has {} execution{} (1 to {})",
                        ctx.name,
                        stats.executions,
                        if stats.executions == 1 { "" } else { "s" },
                        stats.executions
                    ),
                )),
                Err(_) if last < execution => Err(error(
                    ReplayErrorKind::NoSuchExecution,
                    format!(
                        "replay token {text} names execution {execution}, but loom's exploration of check \"{}\" \
                         ({bound}) stops at execution {last}, which fails (its token is {}): no later execution \
                         is ever reached",
                        ctx.name,
                        ReplayToken::Loom {
                            preemption_bound,
                            execution: last
                        }
                    ),
                )),
                _ => Ok((stats, result)),
            }
        }
        ReplayToken::LoomCheckpoint(path) => {
            if let Some((saved_by, n)) = loom_path_stamp(&path) {
                if saved_by != ctx.name {
                    return Err(error(
                        ReplayErrorKind::Stale,
                        format!(
                            "replay token {text} names a loom checkpoint that was saved by check \"{saved_by}\" \
                             (its execution {n}), not by check \"{}\": the path it holds is an execution of \
                             another body. Replay it with the check that saved it, or save one of this check \
                             (Check::loom_checkpoint)",
                            ctx.name
                        ),
                    ));
                }
            }
            match loom_run(ctx, body, None, LoomMode::Path(path)) {
                (_, _, _, Some(why)) => Err(error(
                    ReplayErrorKind::Stale,
                    format!(
                        "replay token {text} does not fit check \"{}\": loom's replay of the checkpoint's \
                         path stopped with \"{why}\". The path is an execution of another body, or of this \
                         one before it changed; the token is stale: save a fresh checkpoint",
                        ctx.name
                    ),
                )),
                (stats, result, _, None) => Ok((stats, result)),
            }
        }
    }
}
