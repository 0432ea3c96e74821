//! The `leakproof` command line: list the models, check them under every checker, replay a
//! failing schedule, measure the bug corpus.
//!
//! `cargo run --release -- check` runs every model under every checker and prints a table
//! of verdicts; the exit status is 0 when every verdict is the expected one, 1 when any is
//! not, and 2 on bad usage. A model marked `pending` (its detector has not landed) is run
//! and shown, but its verdict counts neither way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use harness::check::{catch_replay_error, Checker, Failure, ReplayErrorKind, ReplayToken, Stats};
use models::regressions;
use models::{diagram, Model, Options};

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
        /// Executions for shuttle and PCT, runs for tokio (at least 1).
        #[arg(long, value_parser = parse_positive)]
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
    /// Run fresh random (or PCT) schedules of MODEL until one fails or the time is up; save
    /// the failing schedule to the model's regressions file.
    Hunt {
        /// The model to hunt in.
        model: String,
        /// How long to hunt: `90s`, `10m`, `2h` (a bare number is seconds).
        #[arg(long, default_value = "1m", value_parser = parse_duration)]
        time: Duration,
        /// Threads hunting in parallel (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// `I/N`: hunt only the I-th of N disjoint parts of the seed space (1-based), so that N
        /// machines hunt different schedules.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(u64, u64)>,
        /// The scheduler that picks schedules.
        #[arg(long, value_enum, default_value = "random")]
        scheduler: SchedulerArg,
        /// PCT's bug depth (at least 1).
        #[arg(long, default_value_t = 3, value_parser = parse_positive)]
        depth: usize,
        /// Executions per seed (at least 1).
        #[arg(long, default_value_t = 100, value_parser = parse_positive)]
        batch: usize,
        /// The first seed (seeds count up from it).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where to save the failing schedule (default: models/regressions, or $LEAKPROOF_REGRESSIONS).
        #[arg(long)]
        regressions: Option<PathBuf>,
        /// Replace the model's saved tokens that no longer replay (stale, or recorded by
        /// another shuttle version) with the fresh failing schedule the hunt finds.
        #[arg(long)]
        refresh: bool,
    },
    /// Measure the bug corpus: for every case, whether each checker finds the bug, after how
    /// many executions, and how often a real tokio run does; and whether every checker passes
    /// the fix.
    Corpus {
        /// Cases to measure (`corpus/grpc-1460`, …); every case when none is named.
        cases: Vec<String>,
        /// Independent tokio runs per model (each one fresh runtime; at least 1).
        #[arg(long, default_value_t = 20, value_parser = parse_positive)]
        tokio_runs: usize,
        /// Executions for shuttle and PCT (default: the checkers' defaults; at least 1).
        #[arg(long, value_parser = parse_positive)]
        iterations: Option<usize>,
        /// Seed for shuttle, PCT and tokio.
        #[arg(long)]
        seed: Option<u64>,
        /// Print the table as Markdown (for README).
        #[arg(long)]
        markdown: bool,
        /// Measurements run in parallel (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Run one execution of MODEL along the schedule in TOKEN (or every token of a saved
    /// regressions FILE) and print its report.
    Replay {
        /// The model the token came from.
        model: String,
        /// A replay token (`lp1:...`), a regressions file, or a loom checkpoint (`.json`).
        token: String,
        /// Print every harness event and scheduling step as it happens.
        #[arg(long)]
        trace: bool,
        /// Draw the execution as lanes, one column per task.
        #[arg(long)]
        diagram: bool,
        /// Write the same picture as an SVG file.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    Random,
    Pct,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 90s, 10m or 2h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: the unit must be ms, s, m or h")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// A count that must be at least 1: zero executions would check nothing, and a check that
/// ran nothing must not pass.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 would run no execution and check nothing; give at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}` is not a shard such as 1/4 (the first of four)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(format!("shard `{s}`: I must be between 1 and N"));
    }
    Ok((i - 1, n))
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
    // shuttle prints its own lines ("Test deadlocked, ...", "test panicked in task ...") with
    // unconditional eprintln! in every failing execution; leakproof reports those failures
    // itself, so its output shows its reports and nothing else, except under --trace.
    let traced = matches!(cli.command, Command::Replay { trace: true, .. });
    let _filter = (!traced).then(quiet::Filter::install).flatten();
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
            let opts = Options {
                iterations,
                seed,
                loom_checkpoint: None,
            };
            check(&selected, &checkers, &opts, json, verbose, jobs)
        }
        Command::Hunt {
            model,
            time,
            jobs,
            shard,
            scheduler,
            depth,
            batch,
            seed,
            regressions,
            refresh,
        } => {
            let Some(model) = models::find(&model) else {
                return unknown_model(&model);
            };
            let pct = (scheduler == SchedulerArg::Pct).then_some(depth);
            let dir = regressions.unwrap_or_else(models::regressions::dir);
            let plan = HuntPlan {
                time,
                jobs: jobs.unwrap_or_else(cores).max(1),
                shard: shard.unwrap_or((0, 1)),
                pct,
                batch,
                seed,
                dir,
                refresh,
            };
            hunt(&model, &plan)
        }
        Command::Replay {
            model,
            token,
            trace,
            diagram,
            svg,
        } => replay(&model, &token, trace, diagram, svg.as_deref()),
        Command::Corpus {
            cases,
            tokio_runs,
            iterations,
            seed,
            markdown,
            jobs,
        } => {
            let plan = CorpusPlan {
                tokio_runs,
                opts: Options {
                    iterations,
                    seed,
                    loom_checkpoint: None,
                },
                markdown,
                jobs: jobs.unwrap_or_else(cores).max(1),
            };
            corpus(&cases, &plan)
        }
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

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn checker_list(checkers: &[Checker]) -> String {
    checkers
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn list() -> ExitCode {
    let rows: Vec<[String; 5]> = models::all()
        .iter()
        .map(|m| {
            [
                m.name.to_string(),
                m.pattern.to_string(),
                m.expect.to_string(),
                checker_list(m.checkers),
                m.summary.to_string(),
            ]
        })
        .collect();
    let header = ["model", "pattern", "expected", "checkers", "summary"];
    print!("{}", columns(&header, &rows));
    ExitCode::SUCCESS
}

/// Lays rows out in columns, each as wide as its widest cell (header included), two spaces
/// apart; the last column is not padded.
fn columns<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..N).map(width).collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
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

    /// A model whose detector has not landed: shown, not counted.
    fn pending(&self) -> bool {
        self.model.expect.is_pending()
    }

    fn status(&self) -> &'static str {
        if self.pending() {
            "pending"
        } else if self.ok() {
            "ok"
        } else {
            "UNEXPECTED"
        }
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
    let jobs = jobs.unwrap_or_else(cores).max(1);
    let started = Instant::now();
    // Saved regressions replay before anything else.
    let mut regressions_ok = true;
    for m in selected {
        match regressions::replay_saved(&regressions::dir(), m) {
            Ok(list) => {
                for (saved, outcome) in list {
                    let (line, ok) = regressions::describe(m, &saved, &outcome);
                    regressions_ok &= ok;
                    let mark = regressions::mark(&outcome, ok);
                    if json {
                        eprintln!("saved regression {mark}: {line}");
                    } else {
                        println!("saved regression {mark}: {line}");
                    }
                }
            }
            Err(e) => {
                regressions_ok = false;
                eprintln!("leakproof: {e}");
            }
        }
    }
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
                let mut opts = opts.clone();
                if model.expect == models::Expect::Pass {
                    // A regression: keep loom's path to it next to the saved schedules.
                    let name = format!("{}.loom.json", model.name.replace('/', "__"));
                    opts.loom_checkpoint = Some(regressions::dir().join(name));
                }
                let result = model.check(checker, &opts);
                if let Err(f) = &result {
                    if !model.expect.matches(&result)
                        && !model.expect.is_pending()
                        && f.replay.is_some()
                        && checker != Checker::Loom
                    {
                        match regressions::save(&regressions::dir(), model.name, f) {
                            Ok(path) => {
                                eprintln!("  saved the failing schedule to {}", path.display())
                            }
                            Err(e) => eprintln!("  could not save the failing schedule: {e}"),
                        }
                    }
                }
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
                        row.status()
                    );
                }
                rows.lock().unwrap()[i] = Some(row);
            });
        }
    });
    let rows: Vec<Row> = rows.into_inner().unwrap().into_iter().flatten().collect();
    let good = rows.iter().filter(|r| r.ok()).count();
    let pending = rows.iter().filter(|r| r.pending()).count();
    let counted = rows.len() - pending;
    if json {
        print_json(&rows, started.elapsed());
    } else {
        print_table(&rows, verbose);
        let pending_note = if pending > 0 {
            format!(" ({pending} pending, not counted: their detector has not landed)")
        } else {
            String::new()
        };
        println!(
            "\n{good} of {counted} verdicts as expected{pending_note}, in {:.1?} with {jobs} job(s)",
            started.elapsed()
        );
    }
    if good == counted && regressions_ok {
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
            r.status()
        );
    }
    for r in rows {
        if let Err(f) = &r.result {
            if verbose || (!r.ok() && !r.pending()) {
                println!(
                    "\n--- {} under {} ---\n{}",
                    r.model.name, r.checker, f.report
                );
                if let Some(token) = &f.replay {
                    println!(
                        "to replay it: cargo run --release -- replay {} {token}",
                        r.model.name
                    );
                }
            }
        } else if !r.ok() && !r.pending() {
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
                "{{\"model\":{},\"checker\":{},\"expected\":{},\"verdict\":{},\"as_expected\":{},\"pending\":{},\"executions\":{},\"seconds\":{:.3},\"replay\":{},\"report\":{}}}",
                json_str(r.model.name),
                json_str(&r.checker.to_string()),
                json_str(&r.model.expect.to_string()),
                json_str(&r.verdict()),
                r.ok(),
                r.pending(),
                r.executions(),
                r.elapsed.as_secs_f64(),
                replay,
                report
            )
        })
        .collect();
    let good = rows.iter().filter(|r| r.ok()).count();
    let pending = rows.iter().filter(|r| r.pending()).count();
    println!(
        "{{\"as_expected\":{},\"pending\":{pending},\"total\":{},\"seconds\":{:.3},\"results\":[{}]}}",
        good,
        rows.len(),
        elapsed.as_secs_f64(),
        items.join(",")
    );
}

/// What `hunt` was asked to do.
struct HuntPlan {
    time: Duration,
    jobs: usize,
    /// (index from 0, count)
    shard: (u64, u64),
    pct: Option<usize>,
    batch: usize,
    seed: u64,
    dir: PathBuf,
    /// Replace the saved tokens that no longer replay with the one found.
    refresh: bool,
}

fn hunt(model: &Model, plan: &HuntPlan) -> ExitCode {
    // With --refresh: which saved tokens no longer replay (they go once a fresh one is saved).
    let mut stale_lines = Vec::new();
    if plan.refresh {
        let file = regressions::file_in(&plan.dir, model.name);
        match regressions::replay_saved(&plan.dir, model) {
            Ok(list) => {
                for (saved, outcome) in &list {
                    if regressions::needs_refresh(outcome) {
                        stale_lines.push(saved.line);
                    }
                }
                eprintln!(
                    "refreshing {}: {} of {} saved token(s) no longer replay{}",
                    file.display(),
                    stale_lines.len(),
                    list.len(),
                    if stale_lines.is_empty() {
                        "; a fresh one is added"
                    } else {
                        " and are replaced by the fresh one"
                    }
                );
            }
            Err(e) => {
                eprintln!("leakproof: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let (stop, interrupted) = (stop.clone(), interrupted.clone());
        // A second handler cannot be installed in one process; hunting once per process is fine.
        let _ = ctrlc::set_handler(move || {
            interrupted.store(true, Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
        });
    }
    let scheduler = match plan.pct {
        Some(d) => format!("pct (depth {d})"),
        None => "random".to_string(),
    };
    eprintln!(
        "hunting in {} with the {scheduler} scheduler for {:?} on {} job(s), shard {}/{}",
        model.name,
        plan.time,
        plan.jobs,
        plan.shard.0 + 1,
        plan.shard.1
    );
    let executions = AtomicU64::new(0);
    let batches = AtomicU64::new(0);
    let found: std::sync::Mutex<Option<(Failure, u64)>> = std::sync::Mutex::new(None);
    let saved: std::sync::Mutex<Option<Result<PathBuf, String>>> = std::sync::Mutex::new(None);
    let started = Instant::now();
    let tty = quiet::stderr_is_terminal();
    std::thread::scope(|s| {
        for job in 0..plan.jobs as u64 {
            let (stop, executions, batches, found, saved) =
                (&stop, &executions, &batches, &found, &saved);
            s.spawn(move || {
                let mut k = 0u64;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < plan.time {
                    // Seed indices of different shards and jobs never meet.
                    let index = (k * plan.jobs as u64 + job) * plan.shard.1 + plan.shard.0;
                    let seed = plan.seed.wrapping_add(index);
                    k += 1;
                    let result = model.hunt_batch(seed, plan.batch, plan.pct);
                    batches.fetch_add(1, Ordering::Relaxed);
                    match result {
                        Ok(stats) => {
                            executions.fetch_add(stats.executions, Ordering::Relaxed);
                        }
                        Err(f) => {
                            executions.fetch_add(f.execution, Ordering::Relaxed);
                            let mut slot = found.lock().unwrap();
                            if slot.is_none() {
                                // Save before anything else, so that an interrupt loses nothing.
                                let path = regressions::save(&plan.dir, model.name, &f)
                                    .map_err(|e| e.to_string());
                                *saved.lock().unwrap() = Some(path);
                                *slot = Some((f, seed));
                            }
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
        s.spawn(|| {
            let mut last_line = Instant::now();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < plan.time {
                std::thread::sleep(Duration::from_millis(200));
                let every = if tty {
                    Duration::from_secs(1)
                } else {
                    Duration::from_secs(10)
                };
                if last_line.elapsed() >= every {
                    last_line = Instant::now();
                    let n = executions.load(Ordering::Relaxed);
                    let secs = started.elapsed().as_secs_f64();
                    let line = format!(
                        "{n} executions, {:.0}/s, {} elapsed",
                        n as f64 / secs.max(1e-9),
                        clock(started.elapsed())
                    );
                    if tty {
                        quiet::progress(&format!("\r{line}   "));
                    } else {
                        eprintln!("{line}");
                    }
                }
            }
            if tty {
                eprintln!();
            }
        });
    });
    let n = executions.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    let rate = n as f64 / elapsed.as_secs_f64().max(1e-9);
    let found = found.into_inner().unwrap();
    match found {
        Some((f, seed)) => {
            println!("{}", f.report);
            let saved = saved.into_inner().unwrap();
            let refreshed = plan.refresh && matches!(saved, Some(Ok(_)));
            if refreshed && !stale_lines.is_empty() {
                match regressions::remove_lines(&plan.dir, model.name, &stale_lines) {
                    Ok(()) => println!(
                        "removed {} stale token(s) (line(s) {})",
                        stale_lines.len(),
                        stale_lines
                            .iter()
                            .map(|l| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Err(e) => println!("could not remove the stale token(s): {e}"),
                }
            }
            match saved {
                Some(Ok(path)) => {
                    println!("saved to {}", path.display());
                    println!(
                        "to replay it: cargo run --release -- replay {} {}",
                        model.name,
                        path.display()
                    );
                }
                Some(Err(e)) => println!("could not save the schedule: {e}"),
                None => {}
            }
            println!(
                "found after {n} executions ({rate:.0}/s) in {}; seed {seed}",
                clock(elapsed)
            );
            if refreshed {
                // What --refresh was asked for: a fresh token in place of the stale ones.
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        None => {
            let how = if interrupted.load(Ordering::SeqCst) {
                "interrupted"
            } else {
                "time is up"
            };
            println!(
                "{how}: {n} executions in {} batches ({rate:.0}/s) over {}, no failure found",
                batches.load(Ordering::Relaxed),
                clock(elapsed)
            );
            if plan.refresh {
                println!(
                    "nothing was refreshed: the {} stale token(s) stay (hunt longer with --time{})",
                    stale_lines.len(),
                    if model.expect == models::Expect::Pass {
                        ", or, since the model is expected to pass, remove them by hand"
                    } else {
                        ""
                    }
                );
            }
            if interrupted.load(Ordering::SeqCst) {
                ExitCode::from(130)
            } else if plan.refresh {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The tokens to replay: one token, or every token of a regressions file.
fn tokens_of(arg: &str) -> Result<Vec<(String, ReplayToken)>, String> {
    if arg.ends_with(".json") && Path::new(arg).is_file() {
        let token = format!("lp1:loom-file:{arg}");
        return ReplayToken::parse(&token)
            .map(|t| vec![(token, t)])
            .map_err(|e| e.to_string());
    }
    match ReplayToken::parse(arg) {
        Ok(t) => Ok(vec![(arg.to_string(), t)]),
        Err(token_err) => {
            let path = Path::new(arg);
            if !path.is_file() {
                return Err(format!("{token_err} (and no file is named `{arg}`)"));
            }
            let saved = regressions::load(path)?;
            if saved.is_empty() {
                return Err(format!("{} holds no replay token", path.display()));
            }
            saved
                .into_iter()
                .map(|s| {
                    ReplayToken::parse(&s.token)
                        .map(|t| (s.token.clone(), t))
                        .map_err(|e| format!("{}:{}: {e}", path.display(), s.line))
                })
                .collect()
        }
    }
}

fn replay(model: &str, arg: &str, trace: bool, draw: bool, svg: Option<&Path>) -> ExitCode {
    let Some(model) = models::find(model) else {
        return unknown_model(model);
    };
    let tokens = match tokens_of(arg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("leakproof: {e}");
            return ExitCode::from(2);
        }
    };
    let mut any_failed = false;
    for (text, token) in tokens {
        let record = draw || svg.is_some();
        let outcome = match catch_replay_error(|| model.replay_with(token, record, trace)) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("leakproof: {e}");
                if e.kind == ReplayErrorKind::Stale {
                    eprintln!(
                        "  hunt a fresh one: cargo run --release -- hunt {}",
                        model.name
                    );
                }
                return ExitCode::from(2);
            }
        };
        match outcome {
            Ok(_) => println!(
                "the replayed execution of {} along {text} passed: it no longer fails",
                model.name
            ),
            Err(f) => {
                any_failed = true;
                println!("{}", f.report);
                if draw {
                    println!("{}", diagram::lanes(&f.snapshot));
                }
                if let Some(path) = svg {
                    match std::fs::write(path, diagram::svg(&f.snapshot)) {
                        Ok(()) => println!("picture written to {}", path.display()),
                        Err(e) => {
                            eprintln!("leakproof: cannot write {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                }
            }
        }
    }
    if any_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// What `corpus` was asked to do.
struct CorpusPlan {
    tokio_runs: usize,
    opts: Options,
    markdown: bool,
    jobs: usize,
}

/// One checker's measurement of one model.
enum Measure {
    /// A model checker's result: the failure (with the execution that found it) or the
    /// executions it ran without one.
    Model(Result<Stats, Failure>),
    /// tokio: the failures' kinds over independent runs (None for a run that passed).
    Tokio(Vec<Option<harness::check::FailureKind>>),
}

/// How one checker did on a buggy model: `yes (k)` with the executions to the first finding,
/// `no (n)` after n executions without it, or what else it found.
fn found_cell(m: &Measure, want: harness::check::FailureKind) -> String {
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
    let base = plan.opts.seed.unwrap_or(0x1ea4);
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

fn corpus(cases: &[String], plan: &CorpusPlan) -> ExitCode {
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
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Measure>>> = Mutex::new((0..work.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..plan.jobs.min(work.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((model, checker)) = work.get(i).copied() else {
                    break;
                };
                let t = Instant::now();
                let m = measure(&model, checker, plan);
                eprintln!(
                    "  {:<34} {:<8} {:.2?}",
                    model.name,
                    checker.to_string(),
                    t.elapsed()
                );
                results.lock().unwrap()[i] = Some(m);
            });
        }
    });
    let results: Vec<Measure> = results
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
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
        println!("| {} |", header.join(" | "));
        println!("|{}", "---|".repeat(header.len()));
        for r in &rows {
            println!("| {} |", r.join(" | "));
        }
    } else {
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].len())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:w$}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        println!("\n{}", line(header.to_vec()));
        for r in &rows {
            println!("{}", line(r.iter().map(String::as_str).collect()));
        }
    }
    let d = harness::check::Defaults::from_env();
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

/// Keeps shuttle's own stderr lines out of leakproof's output (library code).
use harness::check::stderr as quiet;
