//! `leakproof corpus`: for every case of the bug corpus, whether each checker finds the bug
//! and after how many executions, how often a real tokio run does, and whether every checker
//! passes the fix.

use std::process::ExitCode;
use std::time::Instant;

use harness::check::{Checker, Defaults, Failure, FailureKind, Stats};
use models::{Model, Options};

use super::output::{columns_padded, markdown_table};
use super::queue;

/// What `corpus` was asked to do.
pub struct CorpusPlan {
    pub tokio_runs: usize,
    pub opts: Options,
    pub markdown: bool,
    pub jobs: usize,
}

/// One checker's measurement of one model.
enum Measure {
    /// A model checker's result: the failure (with the execution that found it) or the
    /// executions it ran without one.
    Model(Result<Stats, Failure>),
    /// tokio: the failures' kinds over independent runs (None for a run that passed).
    Tokio(Vec<Option<FailureKind>>),
}

/// How one checker did on a buggy model: `yes (k)` with the executions to the first finding,
/// `no (n)` after n executions without it, or what else it found.
fn found_cell(m: &Measure, want: FailureKind) -> String {
    match m {
        Measure::Model(Ok(s)) => format!("no ({})", s.executions),
        Measure::Model(Err(f)) if f.kind == want => format!("yes ({})", f.execution),
        Measure::Model(Err(f)) => format!("{} ({})", f.kind, f.execution),
        Measure::Tokio(runs) => {
            let hits = runs.iter().filter(|k| **k == Some(want)).count();
            let other = runs.iter().filter(|k| k.is_some_and(|k| k != want)).count();
            if other > 0 {
                format!("{hits}/{} (+{other} other)", runs.len())
            } else {
                format!("{hits}/{}", runs.len())
            }
        }
    }
}

/// Whether a fixed model passed this checker.
fn passes(m: &Measure) -> bool {
    match m {
        Measure::Model(r) => r.is_ok(),
        Measure::Tokio(runs) => runs.iter().all(Option::is_none),
    }
}

fn measure(model: &Model, checker: Checker, plan: &CorpusPlan) -> Measure {
    if checker != Checker::Tokio {
        return Measure::Model(model.check(checker, &plan.opts));
    }
    // The checkers' own default seed, as `check` uses it.
    let base = plan.opts.seed.unwrap_or_else(|| Defaults::from_env().seed);
    let runs = (0..plan.tokio_runs as u64)
        .map(|i| {
            let opts = Options {
                iterations: Some(1),
                seed: Some(base.wrapping_add(i)),
                loom_checkpoint: None,
            };
            model.check(Checker::Tokio, &opts).err().map(|f| f.kind)
        })
        .collect();
    Measure::Tokio(runs)
}

/// Measures the corpus and prints the table; exit status 1 when a bug was not found by a
/// random checker or a fix failed one.
pub fn corpus(cases: &[String], plan: &CorpusPlan) -> ExitCode {
    let all = models::corpus::models();
    let mut bugs: Vec<(Model, Model)> = Vec::new();
    for m in &all {
        let models::Expect::Fail(_) = m.expect else {
            continue;
        };
        let fixed_name = format!("{}-fixed", m.name);
        let Some(fixed) = all.iter().find(|f| f.name == fixed_name) else {
            eprintln!("leakproof: corpus case {} has no fixed twin", m.name);
            return ExitCode::from(2);
        };
        if cases.is_empty() || cases.iter().any(|c| c == m.name || *c == fixed_name) {
            bugs.push((*m, *fixed));
        }
    }
    if bugs.is_empty() {
        eprintln!("leakproof: no corpus case matches {}", cases.join(", "));
        eprintln!("  `leakproof list` shows every model; corpus models start with corpus/");
        return ExitCode::from(2);
    }
    let work: Vec<(Model, Checker)> = bugs
        .iter()
        .flat_map(|(b, f)| {
            models::ALL_CHECKERS
                .iter()
                .flat_map(move |c| [(*b, *c), (*f, *c)])
        })
        .collect();
    let started = Instant::now();
    let results: Vec<Measure> = queue::run(plan.jobs, &work, |_, &(model, checker)| {
        let t = Instant::now();
        let m = measure(&model, checker, plan);
        eprintln!(
            "  {:<34} {:<8} {:.2?}",
            model.name,
            checker.to_string(),
            t.elapsed()
        );
        m
    });
    let get = |model: &Model, checker: Checker| -> &Measure {
        let i = work
            .iter()
            .position(|(m, c)| m.name == model.name && *c == checker)
            .expect("measured");
        &results[i]
    };
    let header = [
        "case",
        "kind",
        "loom",
        "shuttle",
        "pct",
        "tokio",
        "fix passes",
    ];
    let mut rows: Vec<[String; 7]> = Vec::new();
    let mut ok = true;
    for (bug, fixed) in &bugs {
        let models::Expect::Fail(kind) = bug.expect else {
            unreachable!("only buggy models are paired")
        };
        let cells: Vec<String> = models::ALL_CHECKERS
            .iter()
            .map(|c| found_cell(get(bug, *c), kind))
            .collect();
        let found_randomly = [Checker::Shuttle, Checker::Pct]
            .iter()
            .any(|c| matches!(get(bug, *c), Measure::Model(Err(f)) if f.kind == kind));
        let failed_fix: Vec<String> = models::ALL_CHECKERS
            .iter()
            .filter(|c| !passes(get(fixed, **c)))
            .map(|c| c.to_string())
            .collect();
        ok &= found_randomly && failed_fix.is_empty();
        let fix = if failed_fix.is_empty() {
            "yes".to_string()
        } else {
            format!("NO: {}", failed_fix.join(", "))
        };
        let case = bug.name.trim_start_matches("corpus/").to_string();
        rows.push([
            case,
            kind.to_string(),
            cells[0].clone(),
            cells[1].clone(),
            cells[2].clone(),
            cells[3].clone(),
            fix,
        ]);
    }
    if plan.markdown {
        print!("{}", markdown_table(&header, &rows));
    } else {
        print!("\n{}", columns_padded(&header, &rows));
    }
    let d = Defaults::from_env();
    println!(
        "\n{} case(s) in {:.1?}: loom exhaustive (preemption bound {}), shuttle {} and PCT {} (depth {}) executions, \
         tokio {} independent run(s); `yes (k)`: found at execution k; `no (n)`: not found in n executions",
        bugs.len(),
        started.elapsed(),
        d.loom_preemptions
            .map(|b| b.to_string())
            .unwrap_or_else(|| "none".into()),
        plan.opts.iterations.unwrap_or(d.shuttle_iterations),
        plan.opts.iterations.unwrap_or(d.pct_iterations),
        d.pct_depth,
        plan.tokio_runs
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
