//! Section `shrink`: what shrinking does to the failing schedules of every buggy model and
//! corpus case (preemptions, context switches and diagram rows before and after), what it
//! costs, and whether every shrunk token replays to the same failure.

use std::time::{Duration, Instant};

use harness::check::{Check, Checker, Failure};
use models::{diagram, Expect, Model, Size};

use crate::table::{self, Met, Table};
use crate::Opts;

/// One failing schedule, before and after shrinking.
struct Case {
    model: &'static str,
    checker: Checker,
    seed: u64,
    preemptions: (usize, usize),
    switches: (usize, usize),
    rows: (usize, usize),
    replays: usize,
    elapsed: Duration,
    bounded: bool,
    /// The shrunk failure is the same failure (kind and stuck operations) as the one found.
    same: bool,
    /// Replaying the shrunk token (not shrinking it again) gives the same failure.
    replays_same: bool,
}

/// The failure `checker` finds in `model` from `seed`, as found (not shrunk), with its log.
fn found(model: &Model, checker: Checker, seed: u64, iterations: usize) -> Option<Failure> {
    let check = Check::new(model.name).seed(seed).record(true).shrink(false);
    let check = match checker {
        Checker::Pct => check.pct(iterations, 3),
        _ => check.shuttle(iterations),
    };
    (model.run)(check, Size::Full).err()
}

fn replay(model: &Model, token: &str, shrink: bool) -> Option<Failure> {
    let check = Check::new(model.name)
        .replay(token)
        .record(true)
        .shrink(shrink);
    (model.run)(check, Size::Full).err()
}

fn measure(model: &Model, checker: Checker, seed: u64, iterations: usize) -> Option<Case> {
    let before = found(model, checker, seed, iterations)?;
    let token = before.replay.clone()?;
    let after = replay(model, &token, true)?;
    let shrunk = after.shrunk.clone()?;
    let replays_same = after
        .replay
        .as_deref()
        .and_then(|t| replay(model, t, false))
        .is_some_and(|again| again.same_as(&before));
    Some(Case {
        model: model.name,
        checker,
        seed,
        preemptions: (shrunk.from, shrunk.to),
        switches: (shrunk.switches_from, shrunk.switches_to),
        rows: (
            diagram::row_count(&before.snapshot),
            diagram::row_count(&after.snapshot),
        ),
        replays: shrunk.replays,
        elapsed: shrunk.elapsed,
        bounded: shrunk.bounded,
        same: after.same_as(&before),
        replays_same,
    })
}

/// `median m, worst w`.
fn spread(v: &[f64], show: impl Fn(f64) -> String) -> String {
    let worst = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("median {}, worst {}", show(table::median(v)), show(worst))
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

pub fn run(opts: &Opts) -> Table {
    let seeds: u64 = if opts.quick { 1 } else { 3 };
    let iterations = 1_000;
    let bounds = format!(
        "LEAKPROOF_SHRINK_REPLAYS={}, LEAKPROOF_SHRINK_MS={}",
        std::env::var("LEAKPROOF_SHRINK_REPLAYS").unwrap_or_else(|_| "64 (default)".into()),
        std::env::var("LEAKPROOF_SHRINK_MS").unwrap_or_else(|_| "1000 (default)".into())
    );
    let mut t = Table::new(
        "shrink: failing schedules before and after shrinking",
        &format!(
            "Every model of `models::all()` that expects a failure (the corpus included), under \
             shuttle random and PCT (depth 3), seeds 1..={seeds}, up to {iterations} executions: \
             the failure as found (`Check::shrink(false)`), then the same token replayed with \
             `.shrink(true)` ({bounds}). *anchor* is the schedule as found, *leakproof* the \
             schedule reported. Rows are the lane diagram's rows (`diagram::row_count`). The \
             last rows replay every shrunk token once more, without shrinking: it must give \
             the same failure (`Failure::same_as`: kind and stuck operations)."
        ),
    );
    let twins: Vec<Model> = models::all()
        .into_iter()
        .filter(|m| matches!(m.expect, Expect::Fail(_)))
        .collect();
    let started = Instant::now();
    let mut cases = Vec::new();
    let mut missed = Vec::new();
    for m in &twins {
        for checker in [Checker::Shuttle, Checker::Pct] {
            if !m.checkers.contains(&checker) {
                continue;
            }
            for seed in 1..=seeds {
                match measure(m, checker, seed, iterations) {
                    Some(c) => {
                        eprintln!(
                            "shrink: {:<36} {:<7} seed {seed}: preemptions {} -> {}, rows {} -> {}, {} replays, {}",
                            m.name,
                            checker.to_string(),
                            c.preemptions.0,
                            c.preemptions.1,
                            c.rows.0,
                            c.rows.1,
                            c.replays,
                            table::dur(c.elapsed)
                        );
                        cases.push(c);
                    }
                    None => missed.push(format!("{} under {checker}, seed {seed}", m.name)),
                }
            }
        }
    }
    if cases.is_empty() {
        t.note("no failing schedule was found: nothing to shrink");
        return t;
    }
    let col = |f: fn(&Case) -> (usize, usize)| -> (Vec<f64>, Vec<f64>) {
        cases
            .iter()
            .map(|c| {
                let (a, b) = f(c);
                (a as f64, b as f64)
            })
            .unzip()
    };
    for (what, f) in [
        (
            "preemptions per failing schedule",
            (|c: &Case| c.preemptions) as fn(&Case) -> (usize, usize),
        ),
        ("context switches per failing schedule", |c: &Case| {
            c.switches
        }),
        ("lane-diagram rows per failing schedule", |c: &Case| c.rows),
    ] {
        let (before, after) = col(f);
        t.row(
            format!("{what} ({} schedules)", cases.len()),
            spread(&after, num),
            spread(&before, num),
            table::ratio(table::median(&after) / table::median(&before)),
            "fewer",
            Met::Info,
        );
    }
    let zero_before = cases.iter().filter(|c| c.preemptions.0 == 0).count();
    let reduced = cases
        .iter()
        .filter(|c| c.preemptions.1 < c.preemptions.0)
        .count();
    t.row(
        "schedules with fewer preemptions after shrinking",
        format!(
            "{reduced} of {} ({zero_before} had none to remove)",
            cases.len()
        ),
        "–",
        "–",
        "–",
        Met::Info,
    );
    let ms: Vec<f64> = cases.iter().map(|c| c.elapsed.as_secs_f64()).collect();
    let total: Duration = cases.iter().map(|c| c.elapsed).sum();
    t.row(
        "time spent shrinking one failure",
        format!("{} (total {})", spread(&ms, table::secs), table::dur(total)),
        "–",
        "–",
        "within LEAKPROOF_SHRINK_MS",
        Met::Info,
    );
    let replays: Vec<f64> = cases.iter().map(|c| c.replays as f64).collect();
    let bounded = cases.iter().filter(|c| c.bounded).count();
    t.row(
        "replays spent shrinking one failure",
        format!("{} ({bounded} stopped at a bound)", spread(&replays, num)),
        "–",
        "–",
        "within LEAKPROOF_SHRINK_REPLAYS",
        Met::Info,
    );
    let same = cases.iter().filter(|c| c.same).count();
    t.row(
        "shrunk failure is the failure found (kind, stuck operations)",
        format!("{same} of {}", cases.len()),
        "–",
        "–",
        "all",
        Met::from(same == cases.len()),
    );
    let replays_same = cases.iter().filter(|c| c.replays_same).count();
    t.row(
        "shrunk token replays to the same failure",
        format!("{replays_same} of {}", cases.len()),
        "–",
        "–",
        "all",
        Met::from(replays_same == cases.len()),
    );
    for c in &cases {
        if !c.same || !c.replays_same {
            t.note(format!(
                "**{} under {} (seed {})**: {}",
                c.model,
                c.checker,
                c.seed,
                if c.same {
                    "the shrunk token did not replay to the same failure"
                } else {
                    "the shrunk failure differs from the one found"
                }
            ));
        }
    }
    let mut worst: Vec<&Case> = cases.iter().collect();
    worst.sort_by_key(|c| std::cmp::Reverse(c.preemptions.0));
    t.note(format!(
        "most preemptions as found: {}",
        worst
            .iter()
            .take(8)
            .map(|c| format!(
                "{} ({}, seed {}) {} → {}",
                c.model, c.checker, c.seed, c.preemptions.0, c.preemptions.1
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    if !missed.is_empty() {
        t.note(format!(
            "no failure found (nothing to shrink): {}",
            missed.join("; ")
        ));
    }
    t.note(format!(
        "section total {} (finding, shrinking and replaying)",
        table::dur(started.elapsed())
    ));
    t
}
