//! The models: one file per pattern, each a scenario sized for the checkers, the properties
//! that must hold, and the verdict leakproof must reach; plus the registry the `leakproof`
//! CLI and the test suite run.
//!
//! A reader goes from a pattern (`patterns/src/fan_in.rs`) to its models
//! (`models/src/fan_in.rs`) to the checker (`harness::check`).
//!
//! ```
//! let model = models::find("fan-in").unwrap();
//! let result = model.check(harness::check::Checker::Shuttle, &models::Options::default());
//! assert!(model.expect.matches(&result));
//! ```

pub mod bounded_spawn;
pub mod cancel;
pub mod corpus;
pub mod diagram;
pub mod fan_in;
pub mod multiplex;
pub mod pipeline;
pub mod pubsub;
pub mod regressions;
pub mod tokio_corpus;
pub mod worker_pool;

use std::fmt;

use harness::check::{Check, Checker, Defaults, Failure, FailureKind, ReplayToken, Stats};

/// What a model's checkers must conclude.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Every execution passes: no leak, deadlock, panic or other finding.
    Pass,
    /// A failure of this kind is found (the model is a buggy twin).
    Fail(FailureKind),
    /// A buggy twin whose detector has not landed yet: once it has, a failure of this kind
    /// must be found. Until then the model still runs, but its verdict is only shown (as
    /// `pending`), never counted as expected and never asserted: `leakproof check` and the
    /// test suite neither pass nor fail on it.
    Pending(FailureKind),
}

impl Expect {
    /// Whether a checker's result is the verdict this model expects; always false for a
    /// [`Pending`](Expect::Pending) model, whose verdict is not asserted yet.
    pub fn matches(&self, result: &Result<Stats, Failure>) -> bool {
        match (self, result) {
            (Expect::Pass, Ok(_)) => true,
            (Expect::Fail(kind), Err(f)) => f.kind == *kind,
            _ => false,
        }
    }

    /// Whether the verdict waits for a detector that has not landed (see [`Expect::Pending`]).
    pub fn is_pending(&self) -> bool {
        matches!(self, Expect::Pending(_))
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Pass => f.write_str("pass"),
            Expect::Fail(kind) => write!(f, "{kind}"),
            Expect::Pending(kind) => write!(f, "pending: {kind}"),
        }
    }
}

/// How big a scenario to build: loom explores every interleaving, so its inputs are smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Small enough for loom to exhaust (at most 4 spawned tasks).
    Loom,
    /// The full scenario, for shuttle, PCT and tokio.
    Full,
}

impl Size {
    /// `small` under loom, `full` otherwise.
    pub fn pick<T>(self, small: T, full: T) -> T {
        match self {
            Size::Loom => small,
            Size::Full => full,
        }
    }
}

/// A scenario over one pattern, the properties it asserts, and its expected verdict.
#[derive(Clone, Copy)]
pub struct Model {
    /// Unique name, `pattern` or `pattern/variant`.
    pub name: &'static str,
    /// The pattern's source file.
    pub pattern: &'static str,
    /// One line: what the scenario does and what must hold.
    pub summary: &'static str,
    /// The verdict every applicable checker must reach.
    pub expect: Expect,
    /// The checkers that apply.
    pub checkers: &'static [Checker],
    /// Runs the scenario under the given check.
    pub run: fn(Check, Size) -> Result<Stats, Failure>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("expect", &self.expect)
            .finish()
    }
}

/// Every checker, in the order `check` runs them.
pub const ALL_CHECKERS: &[Checker] = &[
    Checker::Loom,
    Checker::Shuttle,
    Checker::Pct,
    Checker::Tokio,
];

/// Overrides for a run; `None` takes [`Defaults::from_env`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Executions for shuttle and PCT, runs for tokio.
    pub iterations: Option<usize>,
    /// Seed for shuttle, PCT and tokio.
    pub seed: Option<u64>,
    /// Where loom writes its checkpoint of a failing path (see `Check::loom_checkpoint`).
    pub loom_checkpoint: Option<std::path::PathBuf>,
}

impl Model {
    /// Runs the model under one checker.
    pub fn check(&self, checker: Checker, opts: &Options) -> Result<Stats, Failure> {
        let d = Defaults::from_env();
        let mut check = Check::new(self.name);
        if let Some(seed) = opts.seed {
            check = check.seed(seed);
        }
        if let Some(path) = &opts.loom_checkpoint {
            check = check.loom_checkpoint(path);
        }
        let check = match checker {
            Checker::Loom | Checker::Replay => check.loom(),
            Checker::Shuttle => check.shuttle(opts.iterations.unwrap_or(d.shuttle_iterations)),
            Checker::Pct => check.pct(opts.iterations.unwrap_or(d.pct_iterations), d.pct_depth),
            Checker::Tokio => check.tokio(opts.iterations.unwrap_or(d.tokio_runs)),
        };
        let size = if checker == Checker::Loom {
            Size::Loom
        } else {
            Size::Full
        };
        (self.run)(check, size)
    }

    /// Replays one execution from a failure's token.
    pub fn replay(&self, token: ReplayToken) -> Result<Stats, Failure> {
        self.replay_with(token, false, false, false)
    }

    /// Replays one execution, keeping its log (`record`, for [`diagram`]), printing every
    /// event and scheduling step (`trace`) and, with `shrink`, shrinking a failing shuttle or
    /// PCT schedule to the fewest preemptions that still fail the same way before reporting it
    /// (`leakproof replay MODEL TOKEN --shrink`; see `Check::shrink`). A loom token is replayed
    /// as it is, and with `shrink` the report says why.
    pub fn replay_with(
        &self,
        token: ReplayToken,
        record: bool,
        trace: bool,
        shrink: bool,
    ) -> Result<Stats, Failure> {
        let size = match token {
            ReplayToken::Loom { .. } | ReplayToken::LoomCheckpoint(_) => Size::Loom,
            ReplayToken::Shuttle { .. } => Size::Full,
        };
        let check = Check::new(self.name)
            .replay_token(token)
            .record(record)
            .trace(trace)
            .shrink(shrink);
        (self.run)(check, size)
    }

    /// Runs `executions` fresh random (or PCT, with `depth`) schedules from `seed`: one batch
    /// of a hunt.
    pub fn hunt_batch(
        &self,
        seed: u64,
        executions: usize,
        pct_depth: Option<usize>,
    ) -> Result<Stats, Failure> {
        let check = Check::new(self.name).seed(seed);
        let check = match pct_depth {
            Some(depth) => check.pct(executions, depth),
            None => check.shuttle(executions),
        };
        (self.run)(check, Size::Full)
    }
}

/// Every model, pattern by pattern.
pub fn all() -> Vec<Model> {
    let mut models = Vec::new();
    models.extend(fan_in::models());
    models.extend(worker_pool::models());
    models.extend(pipeline::models());
    models.extend(bounded_spawn::models());
    models.extend(cancel::models());
    models.extend(multiplex::models());
    models.extend(pubsub::models());
    models.extend(corpus::models());
    models
}

/// The model with this name.
pub fn find(name: &str) -> Option<Model> {
    all().into_iter().find(|m| m.name == name)
}

/// Model names close to `name` (for "did you mean"), closest first.
pub fn closest(name: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &'static str)> = all()
        .iter()
        .map(|m| {
            let d = if m.name.contains(name) || name.contains(m.name) {
                0
            } else {
                distance(name, m.name)
            };
            (d, m.name)
        })
        .filter(|(d, n)| *d <= n.len().max(name.len()) / 2)
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, n)| n).take(3).collect()
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
