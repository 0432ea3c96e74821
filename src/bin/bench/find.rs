//! Section `find`: how many executions each checker needs to find each buggy twin.

use std::time::Instant;

use harness::check::{Check, Checker, Defaults, Failure, Stats};
use models::{Expect, Model, Size};

use crate::table::{self, Met, Table};
use crate::Opts;

/// The executions to the first failure, or `None` when the check passed; plus the kind
/// found when it was not the expected one.
fn first_failure(model: &Model, result: Result<Stats, Failure>) -> (Option<u64>, Option<String>) {
    match result {
        Ok(_) => (None, None),
        Err(f) => {
            let wrong = match model.expect {
                Expect::Fail(kind) if kind != f.kind => Some(f.kind.to_string()),
                _ => None,
            };
            (Some(f.execution), wrong)
        }
    }
}

/// Median and worst over the seeds; worst is "not found" when any seed missed.
fn summarise(found: &[Option<u64>]) -> (String, bool) {
    let hits: Vec<f64> = found.iter().flatten().map(|&n| n as f64).collect();
    let misses = found.len() - hits.len();
    if hits.is_empty() {
        return (format!("not found in {} seeds", found.len()), false);
    }
    // A miss counts as worse than any hit for the median.
    let mut all: Vec<f64> = hits.clone();
    all.extend(std::iter::repeat_n(f64::INFINITY, misses));
    let med = table::median(&all);
    let med = if med.is_finite() {
        format!("{med:.0}")
    } else {
        "not found".to_string()
    };
    let worst = if misses > 0 {
        format!("not found ×{misses}")
    } else {
        format!("{:.0}", hits.iter().copied().fold(0.0, f64::max))
    };
    (format!("median {med}, worst {worst}"), misses == 0)
}

pub fn run(opts: &Opts) -> Table {
    let seeds: u64 = if opts.quick { 5 } else { 20 };
    let iterations: usize = if opts.quick { 200 } else { 1_000 };
    let depth = Defaults::from_env().pct_depth;
    let mut t = Table::new(
        "find: executions until the first failure, per buggy twin",
        &format!(
            "Every model of `models::all()` that expects a failure, run through its own scenario \
             (`(model.run)(check, size)`): loom once (deterministic, `Size::Loom`, preemption bound \
             from the defaults), shuttle random and PCT (depth {depth}) with {seeds} seeds each \
             (`Check::seed(1..={seeds})`, up to {iterations} executions per seed, `Size::Full`). A \
             figure is `Failure::execution` of the first failure; a seed that finds nothing \
             counts as *not found*. No anchor: the target is absolute."
        ),
    );
    let twins: Vec<Model> = models::all()
        .into_iter()
        .filter(|m| matches!(m.expect, Expect::Fail(_)))
        .collect();
    if twins.is_empty() {
        t.note("models::all() has no model that expects a failure: nothing to find");
    }
    let mut wrong_kinds = Vec::new();
    for m in &twins {
        eprintln!("find: {}", m.name);
        let mut loom_found = None;
        if m.checkers.contains(&Checker::Loom) {
            let start = Instant::now();
            let (n, wrong) = first_failure(m, (m.run)(Check::new(m.name).loom(), Size::Loom));
            if let Some(k) = wrong {
                wrong_kinds.push(format!("{} under loom found {k}", m.name));
            }
            let shown = match n {
                Some(n) => format!("{} ({})", table::count(n), table::dur(start.elapsed())),
                None => "not found".to_string(),
            };
            t.row(
                format!(
                    "{} (expects {}): loom, executions to first failure",
                    m.name, m.expect
                ),
                shown,
                "–",
                "–",
                "found",
                Met::from(n.is_some()),
            );
            loom_found = Some(n.is_some());
        } else {
            t.row(
                format!("{}: loom", m.name),
                "n/a (model does not run under loom)",
                "–",
                "–",
                "found",
                Met::Info,
            );
        }
        let mut every_seed = Vec::new();
        for checker in [Checker::Shuttle, Checker::Pct] {
            if !m.checkers.contains(&checker) {
                continue;
            }
            let start = Instant::now();
            let found: Vec<Option<u64>> = (1..=seeds)
                .map(|seed| {
                    let check = Check::new(m.name).seed(seed).shrink(false);
                    let check = match checker {
                        Checker::Pct => check.pct(iterations, depth),
                        _ => check.shuttle(iterations),
                    };
                    let (n, wrong) = first_failure(m, (m.run)(check, Size::Full));
                    if let Some(k) = wrong {
                        wrong_kinds
                            .push(format!("{} under {checker} seed {seed} found {k}", m.name));
                    }
                    n
                })
                .collect();
            let (shown, all_found) = summarise(&found);
            eprintln!("  {checker}: {shown}");
            every_seed.push(all_found);
            t.row(
                format!(
                    "{}: {checker}, executions to first failure over {seeds} seeds",
                    m.name
                ),
                format!("{shown} ({} for all seeds)", table::dur(start.elapsed())),
                "–",
                "–",
                format!(
                    "(info: ≤ {iterations} in every seed: {})",
                    if all_found { "yes" } else { "no" }
                ),
                Met::Info,
            );
        }
        let randomised = every_seed.iter().any(|&ok| ok);
        let ok = randomised && loom_found.unwrap_or(true);
        t.row(
            format!(
                "{}: found by loom and by ≥ 1 randomised scheduler in every seed",
                m.name
            ),
            if ok { "yes" } else { "no" },
            "–",
            "–",
            "yes",
            Met::from(ok),
        );
    }
    for w in &wrong_kinds {
        t.note(format!(
            "found a failure of another kind than expected: {w}"
        ));
    }
    t.note(format!(
        "twins measured: {}",
        twins.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
    ));
    t
}
