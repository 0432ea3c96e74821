//! The schedule shrinker: when shuttle's random scheduler or PCT finds a failure, it looks for
//! a schedule that fails the same way with fewer preemptions (a switch away from a task that
//! could have continued), then with fewer context switches, before the failure is reported.
//!
//! It replays the found schedule once under its own scheduler ([`Guided`]) to learn where
//! each preemption happens (which task, after how many of its own steps), then drops
//! preemptions in batches, halving the batch when the failure goes away (Hermit's `analyze`
//! does the same; dejafu reports the schedule with the fewest preemptions, then the fewest
//! switches). Removal only drops preemptions the schedule has; when it is stuck at two or
//! more, the shrinker searches from few upwards (as dejafu and PULSE do): the schedule
//! without any preemption, then with a single one at each point in turn, in case one
//! preemption somewhere else suffices. A candidate is kept only if it fails with the same [`FailureKind`] and, for a
//! leak or a deadlock, the same set of stuck operations (operation, call site, creation
//! site), and only if it is strictly simpler; the search is bounded in replays and time
//! (`LEAKPROOF_SHRINK_REPLAYS`, `LEAKPROOF_SHRINK_MS`). It never loses the failure: when no
//! candidate reproduces it, the schedule as found is reported.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::guided::{self, Decision, Guided, Plan, Switches};
use super::model::{self, Ctx, Sched};
use super::Body;
use super::{env_or, Checker, Failure, FailureKind, ReplayToken};

/// What shrinking did to a failure's schedule (see [`Check::shrink`](super::Check::shrink)).
///
/// ```
/// use leakproof::check::Check;
/// use leakproof::{chan, task};
///
/// // A leak in every schedule: whatever preemptions the random schedule had, none is needed.
/// let failure = Check::new("doc-shrunk")
///     .shuttle(10)
///     .run(|| async {
///         let (tx, rx) = chan::bounded::<u8>(0);
///         task::spawn_named("stuck", async move {
///             let _ = tx.send(1).await;
///         });
///         std::mem::forget(rx);
///     })
///     .unwrap_err();
/// let shrunk = failure.shrunk.expect("a shuttle failure is shrunk");
/// assert_eq!(shrunk.to, 0);
/// assert!(failure.report.contains("schedule shrunk from"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// Preemptions of the schedule as it was found.
    pub from: usize,
    /// Preemptions of the schedule reported (equal to `from` when no simpler one fails).
    pub to: usize,
    /// Context switches of the schedule as it was found.
    pub switches_from: usize,
    /// Context switches of the schedule reported.
    pub switches_to: usize,
    /// Executions replayed while shrinking, the first (the schedule as found) included.
    pub replays: usize,
    /// Time spent shrinking.
    pub elapsed: Duration,
    /// Whether a bound (`LEAKPROOF_SHRINK_REPLAYS`, `LEAKPROOF_SHRINK_MS`) stopped the search
    /// before it was done.
    pub bounded: bool,
}

impl Shrunk {
    /// The report's line: `schedule shrunk from 14 preemptions to 2 (37 replays, 41 ms)`.
    pub fn line(&self) -> String {
        format!(
            "schedule shrunk from {} to {} ({} replay{}, {} ms{})",
            plural(self.from, "preemption"),
            self.to,
            self.replays,
            if self.replays == 1 { "" } else { "s" },
            self.elapsed.as_millis(),
            if self.bounded {
                "; stopped at its bound: raise LEAKPROOF_SHRINK_REPLAYS or LEAKPROOF_SHRINK_MS to shrink further"
            } else {
                ""
            }
        )
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// How much the shrinker may spend on one failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Bounds {
    /// Executions replayed at most (0 turns shrinking off).
    pub replays: usize,
    /// Time spent at most (checked between replays).
    pub time: Duration,
}

impl Bounds {
    /// `LEAKPROOF_SHRINK_REPLAYS` (default 64) and `LEAKPROOF_SHRINK_MS` (default 1000).
    pub fn from_env() -> Bounds {
        Bounds {
            replays: env_or("LEAKPROOF_SHRINK_REPLAYS", 64),
            time: Duration::from_millis(env_or("LEAKPROOF_SHRINK_MS", 1_000)),
        }
    }
}

/// Shrinks a failure's schedule when shrinking is on for it: `asked` is what
/// [`Check::shrink`](super::Check::shrink) said (`None`: on for failures that shuttle or PCT
/// found, off for replays); `replayed` is the token a replay followed. Other failures come
/// back as they were.
pub(super) fn after(
    ctx: &Ctx,
    body: &Body,
    failure: Failure,
    asked: Option<bool>,
    replayed: Option<&ReplayToken>,
) -> Failure {
    let on = asked.unwrap_or(matches!(failure.checker, Checker::Shuttle | Checker::Pct));
    if !on {
        return failure;
    }
    let bounds = Bounds::from_env();
    match failure.replay.as_deref().map(ReplayToken::parse) {
        Some(Ok(ReplayToken::Shuttle { pct, schedule })) if bounds.replays > 0 => {
            // A replay reports its schedule as shuttle's; the token it followed knows PCT's.
            let pct = pct || matches!(replayed, Some(ReplayToken::Shuttle { pct: true, .. }));
            shrink(ctx, body, failure, pct, &schedule, bounds)
        }
        Some(Ok(ReplayToken::Shuttle { .. })) if asked == Some(true) => with_note(
            failure,
            "not shrunk: LEAKPROOF_SHRINK_REPLAYS=0 turns shrinking off",
        ),
        Some(Ok(ReplayToken::Loom { .. } | ReplayToken::LoomCheckpoint(_)))
            if asked == Some(true) =>
        {
            with_note(
                failure,
                "not shrunk: loom's failing path comes from its own preemption-bounded search, and its \
                 token names an execution of loom's exploration order, not a schedule (see README, \
                 \"Shrinking schedules\")",
            )
        }
        _ => failure,
    }
}

/// The failure with a `shrunk:` line after its `replay:` line.
fn with_note(mut failure: Failure, note: &str) -> Failure {
    let line = format!("shrunk:  {note}\n");
    let at = failure
        .report
        .find("\nreplay:  ")
        .and_then(|i| failure.report[i + 1..].find('\n').map(|j| i + 1 + j + 1))
        .unwrap_or(failure.report.len());
    failure.report.insert_str(at, &line);
    failure
}

/// What makes two failures the same for the shrinker: the kind and, for a leak or a
/// deadlock, the stuck operations by operation, call site and creation site (ids and task
/// numbers differ from one schedule to another).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Signature {
    kind: FailureKind,
    stuck: BTreeSet<(String, String, String)>,
}

impl Failure {
    /// Whether `other` is the same failure as this one, as the shrinker judges it: the same
    /// kind and, for a leak or a deadlock, the same set of stuck operations, compared by
    /// operation, call site and creation site (not by ids or task numbers, which differ from
    /// one schedule to another).
    pub fn same_as(&self, other: &Failure) -> bool {
        signature(self) == signature(other)
    }
}

pub(super) fn signature(f: &Failure) -> Signature {
    let snap = &f.snapshot;
    let mut stuck = BTreeSet::new();
    if matches!(f.kind, FailureKind::Leak | FailureKind::Deadlock) {
        for task in snap.live_tasks() {
            if f.kind == FailureKind::Leak && task.id == 0 {
                continue;
            }
            stuck.insert(match snap.wait_of(task.id) {
                Some(w) => {
                    let created = match snap.resource(w.resource) {
                        Some(r) => r.created_at.to_string(),
                        None if w.op == "join" => snap
                            .task(w.resource)
                            .map(|t| t.spawned_at.to_string())
                            .unwrap_or_default(),
                        None => String::new(),
                    };
                    (w.op.clone(), w.site.to_string(), created)
                }
                // Alive on no harness operation: named by where it was spawned.
                None => (
                    "alive".to_string(),
                    String::new(),
                    task.spawned_at.to_string(),
                ),
            });
        }
    }
    Signature {
        kind: f.kind,
        stuck,
    }
}

/// One execution the shrinker ran, failing the same way.
struct Found {
    trace: Vec<Decision>,
    failure: Failure,
    preemptions: usize,
    switches: usize,
}

impl Found {
    fn new(trace: Vec<Decision>, failure: Failure) -> Found {
        let (preemptions, switches) = guided::count(&trace);
        Found {
            trace,
            failure,
            preemptions,
            switches,
        }
    }

    /// Smaller is simpler: fewer preemptions, then fewer switches, then fewer steps.
    fn score(&self) -> (usize, usize, usize) {
        (self.preemptions, self.switches, self.trace.len())
    }
}

struct Search<'a> {
    ctx: Ctx,
    body: &'a Body,
    seed: u64,
    pct: bool,
    checker: Checker,
    execution: u64,
    want: Signature,
    bounds: Bounds,
    start: Instant,
    replays: usize,
    bounded: bool,
}

impl Search<'_> {
    /// Whether another replay fits the bounds (once it does not, the search is `bounded`).
    fn may_replay(&mut self) -> bool {
        if self.replays >= self.bounds.replays || self.start.elapsed() >= self.bounds.time {
            self.bounded = true;
        }
        !self.bounded
    }

    /// Runs one execution along `plan`: the decisions it took, and its failure if it failed
    /// the same way.
    fn run(&mut self, plan: Plan) -> (Vec<Decision>, Option<Failure>) {
        self.replays += 1;
        let trace = Arc::new(Mutex::new(Vec::new()));
        let sched = Sched::Guided {
            scheduler: Guided::new(plan, self.seed, trace.clone()),
            checker: self.checker,
            pct: self.pct,
            execution: self.execution,
        };
        let (_, result) = model::shuttle(&self.ctx, self.body.clone(), sched);
        let trace = std::mem::take(&mut *trace.lock().unwrap_or_else(|e| e.into_inner()));
        let failure = result.err().filter(|f| signature(f) == self.want);
        (trace, failure)
    }

    /// Runs one execution along `plan`; what it found if it failed the same way.
    fn attempt(&mut self, plan: Plan) -> Option<Found> {
        match self.run(plan) {
            (trace, Some(failure)) => Some(Found::new(trace, failure)),
            (_, None) => None,
        }
    }

    /// Searches from few preemptions upwards, as dejafu and PULSE do, once removal is stuck
    /// at two or more: removal only drops the preemptions the schedule already has, and the
    /// one a bug needs may sit at a point where the found schedule never preempted. It runs
    /// two schedules without any preemption: the found one with its preemptions dropped (its
    /// other switches kept), and the canonical one (wherever the running task cannot go on,
    /// the lowest other runnable task runs, as dejafu's search starts), since the order the
    /// found schedule picked when a task blocked may be one no single preemption can turn
    /// into the bug. Then, from each, the schedule with a single preemption at each point
    /// where the running task could have gone on (to each other runnable task), in the order
    /// of the execution; it keeps the first that fails the same way.
    fn place_one(&mut self, best: &mut Found) {
        if best.preemptions < 2 || !self.may_replay() {
            return;
        }
        let all: HashSet<usize> = (0..best.trace.len())
            .filter(|&i| best.trace[i].is_preemption())
            .collect();
        let mut bases: Vec<Vec<Decision>> = Vec::new();
        for plan in [
            Switches::of(&best.trace, &all),
            Switches::canonical(&best.trace),
        ] {
            if !self.may_replay() {
                return;
            }
            let (base, failure) = self.run(Plan::Switches(plan));
            if let Some(failure) = failure {
                let found = Found::new(base.clone(), failure);
                if found.score() < best.score() {
                    *best = found;
                    return;
                }
            }
            let same =
                |b: &Vec<Decision>| b.iter().map(|d| d.chosen).eq(base.iter().map(|d| d.chosen));
            if !bases.iter().any(same) {
                bases.push(base);
            }
        }
        for base in bases {
            if self.preempt_once(&base, best) {
                return;
            }
        }
    }

    /// Tries `base` with one preemption added at each point where the running task could
    /// have gone on; whether one failed the same way and is simpler than `best` (it then
    /// becomes `best`).
    fn preempt_once(&mut self, base: &[Decision], best: &mut Found) -> bool {
        let switches = Switches::of(base, &HashSet::new());
        for d in base {
            let Some(current) = d.current else { continue };
            if d.yielding || !d.runnable.contains(&current) {
                continue;
            }
            for &to in d.runnable.iter().filter(|&&t| t != current) {
                if !self.may_replay() {
                    return false;
                }
                let mut plan = switches.clone();
                plan.preempt(d, to);
                if let Some(found) = self.attempt(Plan::Switches(plan)) {
                    if found.score() < best.score() {
                        *best = found;
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Drops the decisions `pick` selects from the best schedule in batches, halving the
    /// batch when no batch can go, until single ones cannot either (or a bound is hit).
    fn reduce(&mut self, best: &mut Found, pick: fn(&Decision) -> bool) {
        let mut batch = usize::MAX;
        loop {
            let points: Vec<usize> = (0..best.trace.len())
                .filter(|&i| pick(&best.trace[i]))
                .collect();
            if points.is_empty() {
                return;
            }
            batch = batch.min(points.len());
            let mut improved = false;
            for group in points.chunks(batch) {
                if !self.may_replay() {
                    return;
                }
                let drop: HashSet<usize> = group.iter().copied().collect();
                let plan = Plan::Switches(Switches::of(&best.trace, &drop));
                if let Some(found) = self.attempt(plan) {
                    if found.score() < best.score() {
                        *best = found;
                        improved = true;
                        break;
                    }
                }
            }
            if !improved {
                if batch == 1 {
                    return;
                }
                batch = batch.div_ceil(2);
            }
        }
    }
}

fn shrink(
    ctx: &Ctx,
    body: &Body,
    failure: Failure,
    pct: bool,
    schedule: &str,
    bounds: Bounds,
) -> Failure {
    if failure.kind == FailureKind::StepLimit {
        return with_note(
            failure,
            "not shrunk: an execution that exceeds the step bound is replayed to its end for every candidate",
        );
    }
    let Some(decoded) = shuttle_engine::scheduler::serialization::deserialize_schedule(schedule)
    else {
        return failure;
    };
    let steps: Vec<usize> = decoded
        .steps
        .iter()
        .filter_map(|s| match s {
            shuttle_engine::scheduler::ScheduleStep::Task(t) => Some(usize::from(*t)),
            shuttle_engine::scheduler::ScheduleStep::Random => None,
        })
        .collect();
    let mut defaults = ctx.defaults.clone();
    // A candidate that runs far longer than the schedule it shrinks spins: cut it short.
    defaults.max_steps = defaults.max_steps.min(2 * decoded.steps.len() + 1_000);
    let mut search = Search {
        ctx: Ctx {
            name: ctx.name.clone(),
            site: ctx.site,
            defaults,
            record: ctx.record,
            trace: false,
            loom_checkpoint: None,
        },
        body,
        seed: decoded.seed,
        pct,
        checker: failure.checker,
        execution: failure.execution,
        want: signature(&failure),
        bounds,
        start: Instant::now(),
        replays: 0,
        bounded: false,
    };
    // The schedule as found, under the shrinker's scheduler: where are its preemptions?
    let Some(found) = search.attempt(Plan::Steps(steps)) else {
        return with_note(
            failure,
            "not shrunk: replaying the schedule under the shrinker did not fail the same way (does the body \
             depend on something no checker controls?)",
        );
    };
    let (from, switches_from) = (found.preemptions, found.switches);
    let as_found = found.score();
    let mut best = found;
    search.reduce(&mut best, Decision::is_preemption);
    search.place_one(&mut best);
    search.reduce(&mut best, |d| d.is_switch() && !d.is_preemption());
    let shrunk = Shrunk {
        from,
        to: best.preemptions,
        switches_from,
        switches_to: best.switches,
        replays: search.replays,
        elapsed: search.start.elapsed(),
        bounded: search.bounded,
    };
    // Nothing simpler: the schedule as found is reported, as found.
    let mut reported = if best.score() < as_found {
        best.failure
    } else {
        failure
    };
    reported = with_note(reported, &shrunk.line());
    reported.shrunk = Some(Box::new(shrunk));
    reported
}
