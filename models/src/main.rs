//! The `leakproof` command line: list the models, check them under every checker, replay a
//! failing schedule.
//!
//! `cargo run --release -- check` runs every model under every checker and prints a table
//! of verdicts; the exit status is 0 when every verdict is the expected one, 1 when any is
//! not, and 2 on bad usage.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use harness::check::{Checker, Failure, ReplayToken, Stats};
use models::{Model, Options};

#[derive(Parser)]
#[command(
    name = "leakproof",
    version,
    about = "Finds leaked tasks, deadlocks and races in Go-style async Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every model with its pattern, expected verdict and checkers.
    List,
    /// Check models (all by default) under checkers (all by default) and print a verdict table.
    Check {
        /// Models to check; every model when none is named.
        models: Vec<String>,
        /// Only this checker (repeatable).
        #[arg(long, value_enum)]
        checker: Vec<CheckerArg>,
        /// Executions for shuttle and PCT, runs for tokio.
        #[arg(long)]
        iterations: Option<usize>,
        /// Seed for shuttle, PCT and tokio.
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON report instead of the table.
        #[arg(long)]
        json: bool,
        /// Print the report of every failure found, expected ones too.
        #[arg(long, short)]
        verbose: bool,
        /// Models checked in parallel (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Run one execution of MODEL along the schedule in TOKEN and print its report.
    Replay {
        /// The model the token came from.
        model: String,
        /// The replay token of a failure (`lp1:...`).
        token: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckerArg {
    Loom,
    Shuttle,
    Pct,
    Tokio,
}

impl From<CheckerArg> for Checker {
    fn from(c: CheckerArg) -> Checker {
        match c {
            CheckerArg::Loom => Checker::Loom,
            CheckerArg::Shuttle => Checker::Shuttle,
            CheckerArg::Pct => Checker::Pct,
            CheckerArg::Tokio => Checker::Tokio,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => list(),
        Command::Check {
            models,
            checker,
            iterations,
            seed,
            json,
            verbose,
            jobs,
        } => {
            let selected = match select(&models) {
                Ok(m) => m,
                Err(code) => return code,
            };
            let checkers: Vec<Checker> = checker.into_iter().map(Checker::from).collect();
            let opts = Options { iterations, seed };
            check(&selected, &checkers, &opts, json, verbose, jobs)
        }
        Command::Replay { model, token } => replay(&model, &token),
    }
}

fn unknown_model(name: &str) -> ExitCode {
    eprintln!("leakproof: no model named `{name}`");
    let close = models::closest(name);
    if !close.is_empty() {
        eprintln!("  did you mean: {}", close.join(", "));
    }
    eprintln!("  `leakproof list` shows every model");
    ExitCode::from(2)
}

fn select(names: &[String]) -> Result<Vec<Model>, ExitCode> {
    if names.is_empty() {
        return Ok(models::all());
    }
    names
        .iter()
        .map(|n| models::find(n).ok_or_else(|| unknown_model(n)))
        .collect()
}

fn checker_list(checkers: &[Checker]) -> String {
    checkers
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn list() -> ExitCode {
    let all = models::all();
    let w = all.iter().map(|m| m.name.len()).max().unwrap_or(5).max(5);
    println!(
        "{:w$}  {:22}  {:24}  {:22}  summary",
        "model", "pattern", "expected", "checkers"
    );
    for m in &all {
        println!(
            "{:w$}  {:22}  {:24}  {:22}  {}",
            m.name,
            m.pattern,
            m.expect.to_string(),
            checker_list(m.checkers),
            m.summary
        );
    }
    ExitCode::SUCCESS
}

/// One model × checker result.
struct Row {
    model: Model,
    checker: Checker,
    result: Result<Stats, Failure>,
    elapsed: Duration,
}

impl Row {
    fn ok(&self) -> bool {
        self.model.expect.matches(&self.result)
    }

    fn verdict(&self) -> String {
        match &self.result {
            Ok(_) => "pass".into(),
            Err(f) => f.kind.to_string(),
        }
    }

    fn executions(&self) -> u64 {
        match &self.result {
            Ok(s) => s.executions,
            Err(f) => f.execution,
        }
    }
}

fn check(
    selected: &[Model],
    only: &[Checker],
    opts: &Options,
    json: bool,
    verbose: bool,
    jobs: Option<usize>,
) -> ExitCode {
    let work: Vec<(Model, Checker)> = selected
        .iter()
        .flat_map(|m| {
            m.checkers
                .iter()
                .filter(|c| only.is_empty() || only.contains(c))
                .map(move |c| (*m, *c))
        })
        .collect();
    let jobs = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new((0..work.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(work.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((model, checker)) = work.get(i).copied() else {
                    break;
                };
                let t = Instant::now();
                let result = model.check(checker, opts);
                let row = Row {
                    model,
                    checker,
                    result,
                    elapsed: t.elapsed(),
                };
                if !json {
                    eprintln!(
                        "  {:<28} {:<8} {}",
                        model.name,
                        checker.to_string(),
                        if row.ok() { "ok" } else { "UNEXPECTED" }
                    );
                }
                rows.lock().unwrap()[i] = Some(row);
            });
        }
    });
    let rows: Vec<Row> = rows.into_inner().unwrap().into_iter().flatten().collect();
    let good = rows.iter().filter(|r| r.ok()).count();
    if json {
        print_json(&rows, started.elapsed());
    } else {
        print_table(&rows, verbose);
        println!(
            "\n{good} of {} verdicts as expected, in {:.1?} with {jobs} job(s)",
            rows.len(),
            started.elapsed()
        );
    }
    if good == rows.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_table(rows: &[Row], verbose: bool) {
    let w = rows
        .iter()
        .map(|r| r.model.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "\n{:w$}  {:8}  {:22}  {:22}  {:>10}  {:>9}  result",
        "model", "checker", "expected", "verdict", "executions", "time"
    );
    for r in rows {
        println!(
            "{:w$}  {:8}  {:22}  {:22}  {:>10}  {:>9}  {}",
            r.model.name,
            r.checker.to_string(),
            r.model.expect.to_string(),
            r.verdict(),
            r.executions(),
            format!("{:.2?}", r.elapsed),
            if r.ok() { "ok" } else { "UNEXPECTED" }
        );
    }
    for r in rows {
        if let Err(f) = &r.result {
            if verbose || !r.ok() {
                println!(
                    "\n--- {} under {} ---\n{}",
                    r.model.name, r.checker, f.report
                );
            }
        } else if !r.ok() {
            println!(
                "\n--- {} under {} ---\nexpected {} but every execution passed",
                r.model.name, r.checker, r.model.expect
            );
        }
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn print_json(rows: &[Row], elapsed: Duration) {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            let (report, replay) = match &r.result {
                Err(f) => (
                    json_str(&f.report),
                    f.replay.as_deref().map(json_str).unwrap_or_else(|| "null".into()),
                ),
                Ok(_) => ("null".into(), "null".into()),
            };
            format!(
                "{{\"model\":{},\"checker\":{},\"expected\":{},\"verdict\":{},\"as_expected\":{},\"executions\":{},\"seconds\":{:.3},\"replay\":{},\"report\":{}}}",
                json_str(r.model.name),
                json_str(&r.checker.to_string()),
                json_str(&r.model.expect.to_string()),
                json_str(&r.verdict()),
                r.ok(),
                r.executions(),
                r.elapsed.as_secs_f64(),
                replay,
                report
            )
        })
        .collect();
    let good = rows.iter().filter(|r| r.ok()).count();
    println!(
        "{{\"as_expected\":{},\"total\":{},\"seconds\":{:.3},\"results\":[{}]}}",
        good,
        rows.len(),
        elapsed.as_secs_f64(),
        items.join(",")
    );
}

fn replay(model: &str, token: &str) -> ExitCode {
    let Some(model) = models::find(model) else {
        return unknown_model(model);
    };
    let token = match ReplayToken::parse(token) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("leakproof: {e}");
            return ExitCode::from(2);
        }
    };
    match model.replay(token) {
        Ok(_) => {
            println!(
                "the replayed execution of {} passed: the schedule no longer fails",
                model.name
            );
            if model.expect.matches(&Ok(Stats::default())) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(f) => {
            println!("{}", f.report);
            ExitCode::from(1)
        }
    }
}
