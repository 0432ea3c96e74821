//! leakproof's benchmarks, side by side with their anchors (plain tokio, flume, shuttle, shuttle-tokio
//! and loom used directly). Prints one markdown document: a table per section, the command, the
//! date and the machine. `scripts/bench.sh` runs it and keeps the output in
//! `scripts/bench-results.md`.
//!
//! ```text
//! cargo run --release --bin bench -- [--quick] [--reps N] [channel] [tokio] [explore] [find] [scale] [race] [leakcheck] [shrink]
//! ```
//!
//! `bench count WORKLOAD N` runs one workload once for callgrind instead (see `bench/count.rs`
//! and `scripts/perf-guard.sh`).
//!
//! With no section named, every section runs. `--quick` shrinks every size for a smoke run
//! (its figures are not meant to be compared with the targets). Progress goes to stderr.
//! Nothing here asserts on time: a missed target is a row marked **NO**, never a failure.

#[path = "bench/alloc.rs"]
mod alloc;
#[path = "bench/channel.rs"]
mod channel;
#[path = "bench/count.rs"]
mod count;
#[path = "bench/explore.rs"]
mod explore;
#[path = "bench/find.rs"]
mod find;
#[path = "bench/leakcheck.rs"]
mod leakcheck;
#[path = "bench/race.rs"]
mod race;
#[path = "bench/scale.rs"]
mod scale;
#[path = "bench/shrink.rs"]
mod shrink;
#[path = "bench/table.rs"]
mod table;
#[path = "bench/tokio_api.rs"]
mod tokio_api;

use std::io::Write as _;
use std::process::{Command, ExitCode};
use std::time::Instant;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// The sections, in the order they run.
const SECTIONS: [&str; 8] = [
    "channel",
    "tokio",
    "explore",
    "find",
    "scale",
    "race",
    "leakcheck",
    "shrink",
];

/// Options shared by every section.
pub struct Opts {
    /// Smaller sizes, for a smoke run.
    pub quick: bool,
    /// Repetitions per measurement (the median is reported).
    pub reps: usize,
}

const USAGE: &str = "usage: bench [--quick] [--reps N] [SECTION...]
       bench count WORKLOAD N   (one workload, for callgrind: see scripts/perf-guard.sh)
sections: channel, tokio, explore, find, scale, race, leakcheck, shrink (default: all)
  --quick    shrink every size for a smoke run
  --reps N   repetitions per measurement, median reported (default 5, 3 with --quick)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "count") {
        return count::main(&args[1..]);
    }
    let mut quick = false;
    let mut reps = None;
    let mut sections: Vec<&'static str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--reps" => match it.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n > 0 => reps = Some(n),
                _ => {
                    eprintln!("bench: --reps needs a positive number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => match SECTIONS.iter().find(|s| **s == other) {
                Some(s) if !sections.contains(s) => sections.push(s),
                Some(_) => {}
                None => {
                    eprintln!("bench: unknown section or option `{other}`\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
        }
    }
    if sections.is_empty() {
        sections = SECTIONS.to_vec();
    } else {
        sections.sort_by_key(|s| SECTIONS.iter().position(|x| x == s));
    }
    let opts = Opts {
        quick,
        reps: reps.unwrap_or(if quick { 3 } else { 5 }),
    };
    // A tracked run of many tasks takes longer than the tokio checker's default watchdog.
    if std::env::var_os("LEAKPROOF_TOKIO_TIMEOUT_SECS").is_none() {
        std::env::set_var("LEAKPROOF_TOKIO_TIMEOUT_SECS", "600");
    }

    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", header(&args, &opts));
    let _ = out.flush();
    let mut missed = Vec::new();
    for s in &sections {
        let t0 = Instant::now();
        let t = match *s {
            "channel" => channel::run(&opts),
            "tokio" => tokio_api::run(&opts),
            "explore" => explore::run(&opts),
            "find" => find::run(&opts),
            "scale" => scale::run(&opts),
            "race" => race::run(&opts),
            "leakcheck" => leakcheck::run(&opts),
            "shrink" => shrink::run(&opts),
            _ => unreachable!("sections are checked above"),
        };
        eprintln!("{s}: done in {}", table::dur(t0.elapsed()));
        if t.missed() > 0 {
            missed.push(format!("{s} ({})", t.missed()));
        }
        let _ = writeln!(out, "{}", t.markdown());
        let _ = out.flush();
    }
    let _ = writeln!(
        out,
        "## Summary\n\n{} in {}. Targets missed: {}.",
        sections.join(", "),
        table::dur(started.elapsed()),
        if missed.is_empty() {
            "none".to_string()
        } else {
            missed.join(", ")
        }
    );
    ExitCode::SUCCESS
}

/// Title, command, date and machine.
fn header(args: &[String], opts: &Opts) -> String {
    let command = match std::env::var("LEAKPROOF_BENCH_CMD") {
        Ok(c) => c,
        Err(_) => {
            let mut c = "cargo run --release --bin bench --".to_string();
            for a in args {
                c.push(' ');
                c.push_str(a);
            }
            c
        }
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let kb: u64 = s
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into());
    let repo = env!("CARGO_MANIFEST_DIR");
    let commit = run(Command::new("git").args(["-C", repo, "rev-parse", "--short", "HEAD"]));
    let dirty = run(Command::new("git").args(["-C", repo, "status", "--porcelain"]))
        .is_some_and(|s| !s.is_empty());
    let commit = match commit {
        Some(c) if dirty => format!("{c} (with uncommitted changes)"),
        Some(c) => c,
        None => "unknown".into(),
    };
    let date = run(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M:%S UTC"]))
        .unwrap_or_else(|| "unknown".into());
    let rustc = run(Command::new("rustc").arg("-V")).unwrap_or_else(|| "unknown".into());
    format!(
        "# leakproof benchmarks\n\n\
         - command: `{command}`{quick}\n\
         - date: {date}\n\
         - machine: {nproc} CPUs (nproc), {cpu}, {mem} memory\n\
         - build: release profile, {rustc}, leakproof commit {commit}\n\
         - method: every figure is the median of {reps} runs unless its section says otherwise \
         (± is half the min–max range over the median); machines are noisy, so read the \
         ratios next to the absolute figures. A **NO** marks a missed target.\n\n",
        quick = if opts.quick {
            " (`--quick`: smoke-run sizes, not for comparison with the targets)"
        } else {
            ""
        },
        reps = opts.reps,
    )
}

/// Runs a command; its trimmed stdout if it succeeded.
fn run(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
