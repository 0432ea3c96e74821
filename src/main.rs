//! The `leakproof` command line: list the models, check them under every checker, hunt for a
//! failing schedule, replay one, measure the bug corpus.
//!
//! `cargo run -- check` runs every model under every checker and prints a table of verdicts;
//! the exit status is 0 when every verdict is the expected one, 1 when any is not, and 2 on
//! bad usage. A model marked `pending` (its detector has not landed) is run and shown, but its
//! verdict counts neither way. One file per subcommand under `cli/`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use harness::check::Checker;
use models::Options;

use cli::{cores, corpus::CorpusPlan, hunt::HuntPlan, quiet, unknown_model};

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
        /// Shrink a failing shuttle or PCT schedule to its fewest preemptions first.
        #[arg(long)]
        shrink: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    Random,
    Pct,
}

use harness::check::hunt::{parse_duration, parse_shard};

/// A count that must be at least 1: zero executions would check nothing, and a check that
/// ran nothing must not pass.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 would run no execution and check nothing; give at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
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
        Command::List => cli::list::list(),
        Command::Check {
            models,
            checker,
            iterations,
            seed,
            json,
            verbose,
            jobs,
        } => {
            let selected = match cli::select(&models) {
                Ok(m) => m,
                Err(code) => return code,
            };
            let checkers: Vec<Checker> = checker.into_iter().map(Checker::from).collect();
            let opts = Options {
                iterations,
                seed,
                loom_checkpoint: None,
            };
            cli::check::check(&selected, &checkers, &opts, json, verbose, jobs)
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
            cli::hunt::hunt(&model, &plan)
        }
        Command::Replay {
            model,
            token,
            trace,
            diagram,
            svg,
            shrink,
        } => cli::replay::replay(&model, &token, trace, diagram, svg.as_deref(), shrink),
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
            cli::corpus::corpus(&cases, &plan)
        }
    }
}
