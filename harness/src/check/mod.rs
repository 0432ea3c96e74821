//! Checking: run one async body under loom, shuttle (random and PCT) and tokio, and get the
//! first leak, deadlock, panic or send on a closed channel as a [`Failure`].
//!
//! ```
//! use leakproof::check::{Check, FailureKind};
//! use leakproof::{chan, task};
//!
//! // A task that blocks forever on a send nobody reads: a goroutine leak.
//! let failure = Check::new("doc-leak")
//!     .shuttle(10)
//!     .run(|| async {
//!         let (tx, rx) = chan::bounded::<u8>(0);
//!         task::spawn_named("stuck", async move {
//!             let _ = tx.send(1).await;
//!         });
//!         std::mem::forget(rx); // the receiver stays alive, nobody reads it
//!     })
//!     .unwrap_err();
//! assert_eq!(failure.kind, FailureKind::Leak);
//! assert!(failure.report.contains("\"stuck\""));
//! ```
//!
//! With no checker chosen, [`Check::run`] runs all four with defaults that environment
//! variables change (see [`Defaults`]).
//!
//! A failing check's replay token is saved to `leakproof-regressions/<name>.txt` at the root
//! of the crate under test and replayed first by every later run (see [`saved`];
//! `LEAKPROOF_SAVE_REGRESSIONS=0` turns saving off). `LEAKPROOF_HUNT=10m` turns every check
//! into a time-bounded hunt of fresh schedules (see [`hunt`]). The user's own `tracing`
//! subscriber keeps seeing their code inside a check: the checkers' dispatcher forwards to it.

mod forward;
mod guided;
pub mod hunt;
mod model;
mod regress;
mod report;
pub mod saved;
mod shrink;
pub mod stderr;
mod token;
pub(crate) mod tokio_run;
pub(crate) mod untracked;
mod watchdog;

pub use shrink::Shrunk;
pub use token::{ReplayToken, TokenError};

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Which checker ran an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Checker {
    /// loom, exhaustive within a preemption bound.
    Loom,
    /// shuttle's random scheduler.
    Shuttle,
    /// shuttle's PCT scheduler (probabilistic concurrency testing).
    Pct,
    /// A real multi-thread tokio runtime.
    Tokio,
    /// One execution replayed from a token.
    Replay,
}

impl fmt::Display for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Checker::Loom => "loom",
            Checker::Shuttle => "shuttle",
            Checker::Pct => "pct",
            Checker::Tokio => "tokio",
            Checker::Replay => "replay",
        })
    }
}

pub use crate::rt::verdict::FailureKind;

/// The first failing execution a [`Check`] found.
#[derive(Clone, Debug)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// Which checker found it.
    pub checker: Checker,
    /// Which execution of that checker failed (1-based).
    pub execution: u64,
    /// The human report, in the style of a Go goroutine dump (also what `Display` prints).
    pub report: String,
    /// A token for [`Check::replay`]; `None` only where no replay exists (tokio).
    pub replay: Option<String>,
    /// The name of the check that failed.
    pub name: String,
    /// The failing execution's registry when it failed: tasks, pending operations, channels,
    /// and the execution log if [`Check::record`] was on.
    pub snapshot: Box<crate::track::Snapshot>,
    /// What shrinking did to the schedule, when it was shrunk (see [`Check::shrink`]).
    pub shrunk: Option<Box<Shrunk>>,
}

impl Failure {
    /// The checker whose schedule failed: [`checker`](Failure::checker) itself, or for a
    /// replay ([`Checker::Replay`]) the checker that found the schedule it replayed (loom,
    /// shuttle or PCT, read from the replay token). The report's `checker:` line says it too.
    ///
    /// ```
    /// use leakproof::check::{Check, Checker};
    /// use leakproof::sync::Mutex;
    ///
    /// let body = || async {
    ///     let m = Mutex::new(());
    ///     let _a = m.lock().await;
    ///     let _b = m.lock().await; // locks itself out
    /// };
    /// let found = Check::new("doc-schedule-checker").loom().run(body).unwrap_err();
    /// let again = Check::new("doc-schedule-checker")
    ///     .replay(found.replay.as_deref().unwrap())
    ///     .run(body)
    ///     .unwrap_err();
    /// assert_eq!(again.checker, Checker::Replay);
    /// assert_eq!(again.schedule_checker(), Checker::Loom);
    /// assert!(again.report.contains("checker: replay of a loom schedule"));
    /// ```
    pub fn schedule_checker(&self) -> Checker {
        if self.checker != Checker::Replay {
            return self.checker;
        }
        self.replay
            .as_deref()
            .and_then(|t| ReplayToken::parse(t).ok())
            .map(|t| t.checker())
            .unwrap_or(Checker::Replay)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report)
    }
}

impl std::error::Error for Failure {}

/// Executions and time spent by one checker.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckerStats {
    /// The checker.
    pub checker: Checker,
    /// How many executions it ran.
    pub executions: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a passing [`Check::run`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Executions of all checkers together.
    pub executions: u64,
    /// One entry per checker that ran, in order.
    pub checkers: Vec<CheckerStats>,
}

/// The defaults used when a check chooses no checker, each from an environment variable.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `LEAKPROOF_CHECKERS` | `loom,shuttle,pct,tokio` | which checkers run |
/// | `LEAKPROOF_LOOM_PREEMPTIONS` | `2` | loom's preemption bound (`none` = unbounded) |
/// | `LEAKPROOF_LOOM_MAX_EXECUTIONS` | `100000` | stop loom's exploration after this many |
/// | `LEAKPROOF_LOOM_MAX_BRANCHES` | `1000` | loom's branch limit per execution |
/// | `LEAKPROOF_SHUTTLE_ITERATIONS` | `200` | shuttle random executions |
/// | `LEAKPROOF_PCT_ITERATIONS` | `200` | PCT executions |
/// | `LEAKPROOF_PCT_DEPTH` | `3` | PCT's bug depth |
/// | `LEAKPROOF_MAX_STEPS` | `100000` | shuttle's step bound per execution |
/// | `LEAKPROOF_TOKIO_RUNS` | `4` | tokio runs |
/// | `LEAKPROOF_TOKIO_GRACE_MS` | `2000` | how long tokio waits for slow tasks before calling a leak |
/// | `LEAKPROOF_TOKIO_TIMEOUT_SECS` | `20` | tokio's watchdog: a body still running then is a deadlock |
/// | `LEAKPROOF_SLOW_POLL_MS` | `100` | tokio: a poll holding its thread this long (CPU waits not counted) is blocking in async (`0`: off) |
/// | `LEAKPROOF_WATCHDOG_SECS` | `60` | a check whose thread made no step for this long (a task blocked its OS thread or spins without an await) is reported and the process ends with status 3; `0` turns it off |
/// | `LEAKPROOF_SEED` | `7844` (0x1ea4) | seed of shuttle's and tokio's randomness |
/// | `LEAKPROOF_TICK_LIMIT` | `3` | how many times one `time::Ticker` fires per loom or shuttle execution |
/// | `LEAKPROOF_SHRINK_REPLAYS` | `64` | replays the shrinker may spend on one failure (`0` turns it off; see [`Check::shrink`]) |
/// | `LEAKPROOF_SHRINK_MS` | `1000` | milliseconds the shrinker may spend on one failure |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// Checkers run when none is chosen.
    pub checkers: Vec<Checker>,
    /// loom's preemption bound.
    pub loom_preemptions: Option<usize>,
    /// Cap on loom's executions.
    pub loom_max_executions: usize,
    /// loom's branch limit.
    pub loom_max_branches: usize,
    /// shuttle random executions.
    pub shuttle_iterations: usize,
    /// PCT executions.
    pub pct_iterations: usize,
    /// PCT depth.
    pub pct_depth: usize,
    /// shuttle's step bound.
    pub max_steps: usize,
    /// tokio runs.
    pub tokio_runs: usize,
    /// tokio's grace period for slow tasks.
    pub tokio_grace: Duration,
    /// tokio's watchdog.
    pub tokio_timeout: Duration,
    /// tokio: a poll holding its thread this long is [`FailureKind::BlockingInAsync`]
    /// (`None`: not checked).
    pub tokio_slow_poll: Option<Duration>,
    /// The seed.
    pub seed: u64,
    /// How many times one [`Ticker`](crate::time::Ticker) fires in one loom or shuttle
    /// execution; after that its `tick()` never completes (virtual time only).
    pub tick_limit: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            panic!("leakproof: environment variable {name}={v:?} is not a valid value")
        }),
        Err(_) => default,
    }
}

/// Like [`env_or`], for a count that must be at least 1 (zero executions would check nothing).
fn env_positive(name: &str, default: usize) -> usize {
    let n = env_or(name, default);
    if n == 0 {
        panic!(
            "leakproof: environment variable {name}=0: zero would check nothing; give at least 1"
        );
    }
    n
}

/// `LEAKPROOF_TICK_LIMIT` (default 3): read once per check into [`Defaults::tick_limit`].
pub(crate) fn tick_limit() -> usize {
    env_or("LEAKPROOF_TICK_LIMIT", 3)
}

impl Defaults {
    /// Reads the environment (see the table above); panics with the variable's name on a bad value.
    pub fn from_env() -> Defaults {
        let checkers = match std::env::var("LEAKPROOF_CHECKERS") {
            Ok(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| match s {
                    "loom" => Checker::Loom,
                    "shuttle" => Checker::Shuttle,
                    "pct" => Checker::Pct,
                    "tokio" => Checker::Tokio,
                    other => panic!(
                        "leakproof: LEAKPROOF_CHECKERS names `{other}`; expected a comma-separated list of \
                         loom, shuttle, pct and tokio"
                    ),
                })
                .collect(),
            Err(_) => vec![Checker::Loom, Checker::Shuttle, Checker::Pct, Checker::Tokio],
        };
        if checkers.is_empty() {
            panic!(
                "leakproof: LEAKPROOF_CHECKERS names no checker: a check with none would check nothing; \
                 give a comma-separated list of loom, shuttle, pct and tokio (or unset it for all four)"
            );
        }
        let loom_preemptions = match std::env::var("LEAKPROOF_LOOM_PREEMPTIONS") {
            Ok(v) if v.trim() == "none" => None,
            _ => Some(env_or("LEAKPROOF_LOOM_PREEMPTIONS", 2)),
        };
        Defaults {
            checkers,
            loom_preemptions,
            loom_max_executions: env_positive("LEAKPROOF_LOOM_MAX_EXECUTIONS", 100_000),
            loom_max_branches: env_positive("LEAKPROOF_LOOM_MAX_BRANCHES", 1_000),
            shuttle_iterations: env_positive("LEAKPROOF_SHUTTLE_ITERATIONS", 200),
            pct_iterations: env_positive("LEAKPROOF_PCT_ITERATIONS", 200),
            pct_depth: env_positive("LEAKPROOF_PCT_DEPTH", 3),
            max_steps: env_positive("LEAKPROOF_MAX_STEPS", 100_000),
            tokio_runs: env_positive("LEAKPROOF_TOKIO_RUNS", 4),
            tokio_grace: Duration::from_millis(env_or("LEAKPROOF_TOKIO_GRACE_MS", 2_000)),
            tokio_timeout: Duration::from_secs(env_or("LEAKPROOF_TOKIO_TIMEOUT_SECS", 20)),
            tokio_slow_poll: match env_or("LEAKPROOF_SLOW_POLL_MS", 100u64) {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
            seed: env_or("LEAKPROOF_SEED", 0x1ea4_u64),
            tick_limit: tick_limit(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Plan {
    Loom,
    Shuttle(usize),
    Pct(usize, usize),
    Tokio(usize),
}

/// A check of one async body: which checkers run it, with which bounds.
///
/// See the [module docs](self) for an example.
#[derive(Clone, Debug)]
pub struct Check {
    name: String,
    plans: Vec<Plan>,
    preemption_bound: Option<Option<usize>>,
    seed: Option<u64>,
    replay: Option<ReplayToken>,
    record: bool,
    trace: bool,
    loom_checkpoint: Option<std::path::PathBuf>,
    site: &'static Location<'static>,
    save_regressions: bool,
    regressions_dir: Option<std::path::PathBuf>,
    shrink: Option<bool>,
    slow_poll: Option<Option<Duration>>,
    tokio_grace: Option<Duration>,
}

impl Check {
    /// A check named `name` (reports show the name).
    #[track_caller]
    pub fn new(name: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            plans: Vec::new(),
            preemption_bound: None,
            seed: None,
            replay: None,
            record: false,
            trace: false,
            loom_checkpoint: None,
            site: Location::caller(),
            save_regressions: true,
            regressions_dir: None,
            shrink: None,
            slow_poll: None,
            tokio_grace: None,
        }
    }

    /// Adds loom: every interleaving within the preemption bound (2 by default).
    pub fn loom(mut self) -> Check {
        self.plans.push(Plan::Loom);
        self
    }

    /// Sets loom's preemption bound; `None` explores without bound.
    pub fn preemption_bound(mut self, bound: Option<usize>) -> Check {
        self.preemption_bound = Some(bound);
        self
    }

    /// Adds shuttle's random scheduler for `iterations` executions.
    ///
    /// Panics if `iterations` is 0: a check that runs nothing must not pass.
    #[track_caller]
    pub fn shuttle(mut self, iterations: usize) -> Check {
        nonzero("Check::shuttle(iterations)", "iterations", iterations);
        self.plans.push(Plan::Shuttle(iterations));
        self
    }

    /// Adds shuttle's PCT scheduler: `iterations` executions looking for bugs of `depth`.
    ///
    /// Panics if `iterations` or `depth` is 0 (PCT needs a depth of at least 1).
    #[track_caller]
    pub fn pct(mut self, iterations: usize, depth: usize) -> Check {
        nonzero("Check::pct(iterations, depth)", "iterations", iterations);
        nonzero("Check::pct(iterations, depth)", "depth", depth);
        self.plans.push(Plan::Pct(iterations, depth));
        self
    }

    /// Adds `runs` runs on a real multi-thread tokio runtime (a fresh runtime each).
    ///
    /// Panics if `runs` is 0: a check that runs nothing must not pass.
    #[track_caller]
    pub fn tokio(mut self, runs: usize) -> Check {
        nonzero("Check::tokio(runs)", "runs", runs);
        self.plans.push(Plan::Tokio(runs));
        self
    }

    /// Runs exactly the execution a [`Failure::replay`] token names, instead of any checker.
    ///
    /// Panics with a clear message if the token is malformed; use [`ReplayToken::parse`] to
    /// check one first.
    #[track_caller]
    pub fn replay(mut self, token: &str) -> Check {
        match ReplayToken::parse(token) {
            Ok(t) => self.replay = Some(t),
            Err(e) => panic!("leakproof: {e}"),
        }
        self
    }

    /// Runs the execution of an already parsed token.
    pub fn replay_token(mut self, token: ReplayToken) -> Check {
        self.replay = Some(token);
        self
    }

    /// Keeps a log of every task's steps (spawns, waits, messages sent and received, closes)
    /// in each execution, so that a [`Failure`]'s snapshot can be drawn as lanes. Costs one
    /// record per operation; off by default.
    pub fn record(mut self, on: bool) -> Check {
        self.record = on;
        self
    }

    /// When loom finds a failure, also writes loom's checkpoint of the failing path to `path`
    /// (loom explores again up to it); `leakproof replay MODEL path` or the token
    /// `lp1:loom-file:<path>` replays exactly that path.
    pub fn loom_checkpoint(mut self, path: impl Into<std::path::PathBuf>) -> Check {
        self.loom_checkpoint = Some(path.into());
        self
    }

    /// Prints every harness event and the checkers' scheduling steps to stderr as they happen.
    pub fn trace(mut self, on: bool) -> Check {
        self.trace = on;
        self
    }

    /// Whether a failing schedule is shrunk before it is reported: its preemptions removed in
    /// batches while it still fails the same way, so that the report, the replay token and
    /// the diagram show the fewest preemptions found (the report says
    /// `schedule shrunk from 14 preemptions to 2 (37 replays, 41 ms)`, and
    /// [`Failure::shrunk`] holds the figures).
    ///
    /// On by default for failures that shuttle or PCT find, off for [`replay`](Check::replay)
    /// unless asked for (`replay(token).shrink(true)` shrinks a saved token). loom's and
    /// tokio's failures are never shrunk (see README, "Shrinking schedules"). Bounded per
    /// failure by `LEAKPROOF_SHRINK_REPLAYS` (default 64; 0 turns it off) and
    /// `LEAKPROOF_SHRINK_MS` (default 1000); when no simpler schedule fails the same way,
    /// the schedule as found is reported.
    ///
    /// ```
    /// use leakproof::check::Check;
    /// use leakproof::{chan, task};
    ///
    /// let failure = Check::new("doc-no-shrink")
    ///     .shuttle(10)
    ///     .shrink(false)
    ///     .run(|| async {
    ///         let (tx, rx) = chan::bounded::<u8>(0);
    ///         task::spawn(async move { tx.send(1).await.ok() });
    ///         std::mem::forget(rx);
    ///     })
    ///     .unwrap_err();
    /// assert!(failure.shrunk.is_none());
    /// ```
    pub fn shrink(mut self, on: bool) -> Check {
        self.shrink = Some(on);
        self
    }

    /// How long one poll may hold its thread under the tokio checker before it is
    /// [`FailureKind::BlockingInAsync`]; `None` turns the rule off for this check (a body that
    /// computes for a while in one poll by design, a benchmark's loop). The default is
    /// `LEAKPROOF_SLOW_POLL_MS` (100 ms). Loom and shuttle never report it (their polls are
    /// virtual).
    ///
    /// ```
    /// use std::time::Duration;
    /// use leakproof::check::{Check, FailureKind};
    ///
    /// let busy = || async { std::thread::sleep(Duration::from_millis(60)) };
    /// let strict = Check::new("busy").tokio(1).slow_poll(Some(Duration::from_millis(20)));
    /// assert_eq!(strict.run(busy).unwrap_err().kind, FailureKind::BlockingInAsync);
    /// assert!(Check::new("busy").tokio(1).slow_poll(None).run(busy).is_ok());
    /// ```
    pub fn slow_poll(mut self, limit: Option<Duration>) -> Check {
        self.slow_poll = Some(limit);
        self
    }

    /// How long the tokio checker waits, once the body has returned, for tasks still alive to
    /// end before it calls them leaked (the default is `LEAKPROOF_TOKIO_GRACE_MS`, 2 s). Tasks
    /// blocked on leakproof's primitives with nothing moving are called leaked sooner; tasks on
    /// a timer, a socket, or spawned outside leakproof (see the tokio checker's
    /// [untracked tasks](crate::tokio#tasks-spawned-outside-leakproof)) get the whole period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leakproof::check::{Check, FailureKind};
    ///
    /// let slow = || async {
    ///     leakproof::task::spawn(leakproof::time::sleep(Duration::from_millis(300)));
    /// };
    /// let short = Check::new("slow").tokio(1).tokio_grace(Duration::from_millis(50));
    /// assert_eq!(short.run(slow).unwrap_err().kind, FailureKind::Leak);
    /// assert!(Check::new("slow").tokio(1).tokio_grace(Duration::from_secs(1)).run(slow).is_ok());
    /// ```
    pub fn tokio_grace(mut self, grace: Duration) -> Check {
        self.tokio_grace = Some(grace);
        self
    }

    /// Seeds shuttle's and tokio's randomness.
    pub fn seed(mut self, seed: u64) -> Check {
        self.seed = Some(seed);
        self
    }

    /// Whether a failing schedule of this check is saved to its regressions file (on by
    /// default; `LEAKPROOF_SAVE_REGRESSIONS=0` turns it off for every check). Saved schedules
    /// are replayed first either way; see [`saved`] and the [module docs](self).
    pub fn save_regressions(mut self, on: bool) -> Check {
        self.save_regressions = on;
        self
    }

    /// The folder of this check's regressions file, instead of `leakproof-regressions/` at the
    /// root of the crate whose test runs it.
    pub fn regressions_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Check {
        self.regressions_dir = Some(dir.into());
        self
    }

    /// Runs the body under every chosen checker and returns the first failure.
    ///
    /// First it replays the check's saved schedules (`leakproof-regressions/<name>.txt` at the
    /// root of the crate under test): one that fails again is returned at once. A new failure
    /// with a replay token is saved there (see [`Check::save_regressions`]). With
    /// `LEAKPROOF_HUNT` set, the checkers are replaced by a time-bounded hunt (see [`hunt`]).
    ///
    /// Never aborts the process and never hangs: every checker is bounded (loom's branches
    /// and preemptions, shuttle's steps, tokio's watchdog). Panics if two checks created at
    /// different places share a name (they would share a regressions file).
    pub fn run<F, Fut>(self, body: F) -> Result<Stats, Failure>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.run_body(self::body(body))
    }

    /// [`Check::run`] on a body whose type is erased (the part compiled once).
    pub(crate) fn run_body(self, body: Body) -> Result<Stats, Failure> {
        crate::rt::panic::install_hook(replay_error_is_caught);
        if crate::rt::exec::current().is_some() {
            let outer = RUNNING_CHECK.with(|r| r.borrow().clone());
            panic!(
                "leakproof: Check::run called inside the body of check {}: checks do not nest (the \
                 inner one would run its executions inside one execution of the outer one); run \
                 check \"{}\" on its own",
                outer.map_or_else(|| "another check".to_string(), |o| format!("\"{o}\"")),
                self.name
            );
        }
        let _running = RunningCheck::enter(&self.name);
        regress::run(self, body)
    }

    /// The checkers themselves, with no saved schedule and no hunt.
    fn run_checkers(self, body: Body) -> Result<Stats, Failure> {
        let mut defaults = Defaults::from_env();
        if let Some(limit) = self.slow_poll {
            defaults.tokio_slow_poll = limit;
        }
        if let Some(grace) = self.tokio_grace {
            defaults.tokio_grace = grace;
        }
        let seed = self.seed.unwrap_or(defaults.seed);
        let preemption_bound = self.preemption_bound.unwrap_or(defaults.loom_preemptions);
        let mut stats = Stats::default();
        let ctx = model::Ctx {
            name: self.name.clone(),
            site: self.site,
            defaults: defaults.clone(),
            record: self.record,
            trace: self.trace,
            loom_checkpoint: self.loom_checkpoint.clone(),
        };
        if let Some(token) = self.replay.clone() {
            let (st, result) = match model::replay(&ctx, body.clone(), token) {
                Ok(r) => r,
                Err(e) => raise_replay_error(e),
            };
            stats.push(st);
            let result = result
                .map_err(|f| shrink::after(&ctx, &body, f, self.shrink, self.replay.as_ref()));
            return result.map(|_| stats);
        }
        let plans = if self.plans.is_empty() {
            defaults
                .checkers
                .iter()
                .map(|c| match c {
                    Checker::Loom => Plan::Loom,
                    Checker::Shuttle => Plan::Shuttle(defaults.shuttle_iterations),
                    Checker::Pct => Plan::Pct(defaults.pct_iterations, defaults.pct_depth),
                    Checker::Tokio | Checker::Replay => Plan::Tokio(defaults.tokio_runs),
                })
                .collect()
        } else {
            self.plans.clone()
        };
        for plan in plans {
            let (st, result) = match plan {
                Plan::Loom => model::loom(
                    &ctx,
                    body.clone(),
                    preemption_bound,
                    model::LoomMode::Explore,
                ),
                Plan::Shuttle(n) => {
                    model::shuttle(&ctx, body.clone(), model::Sched::Random(n, seed))
                }
                Plan::Pct(n, d) => {
                    model::shuttle(&ctx, body.clone(), model::Sched::Pct(n, d, seed))
                }
                Plan::Tokio(n) => tokio_run::run(&ctx, body.clone(), n, seed),
            };
            // Never a pass for work not done: every checker that ran must have run something.
            assert!(
                result.is_err() || st.executions > 0,
                "leakproof: {} ran no execution of check \"{}\"",
                st.checker,
                self.name
            );
            stats.push(st);
            result.map_err(|f| shrink::after(&ctx, &body, f, self.shrink, None))?;
        }
        Ok(stats)
    }
}

/// One execution of a check's body, behind one type.
pub(crate) type BodyFuture = Pin<Box<dyn Future<Output = ()>>>;

/// A check's body behind one type: the checkers under [`Check::run`] are compiled once in
/// this crate, not once per body in the crate whose tests call it (a test crate with
/// hundreds of checks compiled every checker hundreds of times).
pub(crate) type Body = Arc<dyn Fn() -> BodyFuture + Send + Sync>;

/// Erases a body's type (see [`Body`]).
pub(crate) fn body<F, Fut>(body: F) -> Body
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Arc::new(move || Box::pin(body()) as BodyFuture)
}

thread_local! {
    /// The name of the check `Check::run` runs on this thread (for a nested call's message).
    static RUNNING_CHECK: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Names the check running on this thread until dropped.
struct RunningCheck(Option<String>);

impl RunningCheck {
    fn enter(name: &str) -> RunningCheck {
        RunningCheck(RUNNING_CHECK.with(|r| r.borrow_mut().replace(name.to_string())))
    }
}

impl Drop for RunningCheck {
    fn drop(&mut self) {
        let previous = self.0.take();
        RUNNING_CHECK.with(|r| *r.borrow_mut() = previous);
    }
}

#[track_caller]
fn nonzero(call: &str, what: &str, n: usize) {
    if n == 0 {
        panic!("leakproof: {call} with {what} = 0: zero would check nothing, and a check that runs nothing must not pass; give at least 1");
    }
}

/// Why a replay token cannot be replayed on a body: it names an execution that does not
/// exist, or its schedule no longer fits the body.
///
/// [`Check::run`] panics with this message (as it does for a malformed token); run it inside
/// [`catch_replay_error`] to get the error as a value instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError {
    /// The token, as the check was given it.
    pub token: String,
    /// What is wrong with it.
    pub kind: ReplayErrorKind,
    /// The explanation (what `Display` prints).
    pub message: String,
}

/// What is wrong with a token that cannot be replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayErrorKind {
    /// The token names an execution the checker's exploration of this body does not reach:
    /// beyond its last execution, or after one that fails (loom stops there).
    NoSuchExecution,
    /// The schedule no longer fits the body: a task it names is not runnable, it ends before
    /// the execution does, or the execution ends before it does. The body or the harness
    /// changed since the token was recorded; hunt a fresh one.
    Stale,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReplayError {}

thread_local! {
    /// The replay error `Check::run` is about to panic with on this thread.
    static PENDING_REPLAY_ERROR: RefCell<Option<ReplayError>> = const { RefCell::new(None) };
    /// How many `catch_replay_error` calls are active on this thread.
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

fn raise_replay_error(e: ReplayError) -> ! {
    let text = format!("leakproof: {e}");
    PENDING_REPLAY_ERROR.with(|p| *p.borrow_mut() = Some(e));
    panic!("{text}");
}

/// Whether the panic being raised on this thread is a replay error that a
/// [`catch_replay_error`] will turn into a value (the panic hook then prints nothing).
pub(crate) fn replay_error_is_caught() -> bool {
    CATCHING.with(Cell::get) > 0 && PENDING_REPLAY_ERROR.with(|p| p.borrow().is_some())
}

/// Runs `f` (which replays a token with [`Check::run`]) and returns the [`ReplayError`] that
/// `run` would panic with as a value, without printing the panic. Other panics go on.
///
/// ```
/// use leakproof::check::{catch_replay_error, Check, ReplayErrorKind};
///
/// // loom explores this body in one execution: there is no 5th.
/// let err = catch_replay_error(|| {
///     Check::new("doc-replay").replay("lp1:loom:2:5").run(|| async {})
/// })
/// .unwrap_err();
/// assert_eq!(err.kind, ReplayErrorKind::NoSuchExecution);
/// assert!(err.message.contains("1 execution"));
/// ```
pub fn catch_replay_error<R>(f: impl FnOnce() -> R) -> Result<R, ReplayError> {
    PENDING_REPLAY_ERROR.with(|p| p.borrow_mut().take());
    CATCHING.with(|c| c.set(c.get() + 1));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get() - 1));
    match result {
        Ok(v) => Ok(v),
        Err(payload) => match PENDING_REPLAY_ERROR.with(|p| p.borrow_mut().take()) {
            Some(e) => Err(e),
            None => std::panic::resume_unwind(payload),
        },
    }
}

impl Stats {
    fn push(&mut self, st: CheckerStats) {
        self.executions += st.executions;
        self.checkers.push(st);
    }
}

pub(crate) use crate::rt::backend::shuttle_config;
