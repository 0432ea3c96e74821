//! Section `tokio`: `harness::tokio`, tokio's API on leakproof's primitives, against what it
//! stands in for. Its channel under the tokio checker against real `tokio::sync::mpsc` (the
//! workloads of the `channel` section), and shuttle executions per second of one tokio
//! program (`tokio_program.rs`) run on `harness::tokio` under leakproof's shuttle checker
//! against the same source run under shuttle-tokio (scripts/shuttle-tokio-anchor, a crate of
//! its own that this section builds into the same target directory on first use).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use harness::check::Check;
// The `tokio` that `program` names (`use super::tokio`).
use harness::tokio;

use crate::channel::{run_sizes, runs, show, sizes_note, target, Impl, Runs, Workload, WORKLOADS};
use crate::table::{self, Met, Table};
use crate::Opts;

#[path = "tokio_program.rs"]
mod program;

/// The implementations of the channel rows, in the order their runs interleave.
const IMPLS: [Impl; 3] = [Impl::TokioApiOn, Impl::TokioApiOff, Impl::Tokio];

fn channel_rows(t: &mut Table, opts: &Opts) {
    let target = target(opts);
    let mut sizes = Vec::new();
    for w in WORKLOADS {
        eprintln!("tokio: {}", w.label());
        let Runs { ns, rates, med } = runs(&IMPLS, w, target, opts.reps);
        let show = |k: usize| show(w, &rates, &med, k);
        let label = match w {
            Workload::PingPong => "ping-pong, mpsc::channel(1) both ways".to_string(),
            _ => w.label().replace("bounded(128)", "mpsc::channel(128)"),
        };
        let r = med[0] / med[2];
        t.row(
            format!("{label}: `harness::tokio` on the tokio checker vs tokio"),
            show(0),
            show(2),
            table::ratio(r),
            "≥ 0.50×",
            Met::from(r >= 0.5),
        );
        t.row(
            format!("{label}: `harness::tokio` untracked vs tokio"),
            show(1),
            show(2),
            table::ratio(med[1] / med[2]),
            "(info)",
            Met::Info,
        );
        sizes.push(run_sizes(&label, &ns, &["checked", "untracked", "tokio"]));
    }
    sizes_note(t, &sizes);
}

/// The anchor binary, built (into the bench's own target directory) if it is not there yet.
fn anchor() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the bench binary: {e}"))?;
    let profile_dir = exe.parent().ok_or("the bench binary has no directory")?;
    let target_dir = profile_dir
        .parent()
        .ok_or("the bench binary is not in a cargo target directory")?;
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/shuttle-tokio-anchor/Cargo.toml"
    );
    eprintln!("tokio: building scripts/shuttle-tokio-anchor (shuttle-tokio)");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
            manifest,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo to build {manifest}: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build of {manifest} failed ({status})"));
    }
    let bin = target_dir.join("release").join("shuttle-tokio-anchor");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} was not built", bin.display()))
    }
}

/// One run of the program under shuttle-tokio: executions per second.
fn anchor_rate(bin: &Path, mode: &str, n: usize, seed: u64, prog: (u64, u64, usize)) -> f64 {
    let out = Command::new(bin)
        .args([mode, &n.to_string(), &seed.to_string()])
        .args([prog.0.to_string(), prog.1.to_string(), prog.2.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{text}{}",
        bin.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut it = text.split_whitespace().map(|x| x.parse::<f64>());
    match (it.next(), it.next()) {
        (Some(Ok(execs)), Some(Ok(secs))) => execs / secs,
        _ => panic!(
            "{} printed {text:?}, not `EXECUTIONS SECONDS`",
            bin.display()
        ),
    }
}

fn shuttle_rows(t: &mut Table, opts: &Opts) {
    let n = if opts.quick { 300 } else { 2_000 };
    let prog = (2u64, 3u64, 1usize);
    let what = format!(
        "{} producers × {} msgs, mpsc::channel({}), {n} executions",
        prog.0, prog.1, prog.2
    );
    let bin = match anchor() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tokio: {e}");
            t.row(
                format!("shuttle random, {what}: executions per second"),
                "–",
                "not measured",
                "–",
                "≥ 0.50×",
                Met::from(false),
            );
            t.note(format!("the shuttle-tokio anchor could not be built: {e}"));
            return;
        }
    };
    eprintln!("tokio: shuttle, {what}");
    // [leakproof random, shuttle-tokio random, leakproof PCT, shuttle-tokio PCT]
    let mut rates: [Vec<f64>; 4] = Default::default();
    for rep in 0..opts.reps {
        let seed = rep as u64 + 1;
        let start = Instant::now();
        let stats = Check::new("bench/tokio-shuttle")
            .seed(seed)
            .shuttle(n)
            .run(move || program::producer_consumer(prog.0, prog.1, prog.2))
            .unwrap_or_else(|f| panic!("leakproof shuttle run failed:\n{f}"));
        rates[0].push(stats.executions as f64 / start.elapsed().as_secs_f64());
        rates[1].push(anchor_rate(&bin, "random", n, seed, prog));
        let start = Instant::now();
        let stats = Check::new("bench/tokio-pct")
            .seed(seed)
            .pct(n, 3)
            .run(move || program::producer_consumer(prog.0, prog.1, prog.2))
            .unwrap_or_else(|f| panic!("leakproof PCT run failed:\n{f}"));
        rates[2].push(stats.executions as f64 / start.elapsed().as_secs_f64());
        rates[3].push(anchor_rate(&bin, "pct", n, seed, prog));
        crate::explore::report_rep(&rates, rep, opts.reps);
    }
    crate::explore::rate_rows(t, &what, &rates, 3);
    t.note(
        "the shuttle-tokio rate is timed inside its own process (scripts/shuttle-tokio-anchor), \
         around `shuttle::check_random_with_seed` / `check_pct` of the same source; leakproof's \
         includes what every checked execution adds (the tracking layer, the end-of-body join \
         of every task and the leak check)",
    );
}

pub fn run(opts: &Opts) -> Table {
    let mut t = Table::new(
        "tokio: `harness::tokio` against tokio and shuttle-tokio",
        &format!(
            "tokio's API on leakproof's primitives. Channel rows: the `channel` section's \
             workloads written with `harness::tokio::sync::mpsc` and `harness::tokio::spawn`, \
             run inside `Check::new(..).tokio(1)` (checked: tracking on, timed in the body) and \
             on a plain runtime (untracked), against `tokio::sync::mpsc` and `tokio::spawn` on a \
             fresh 2-worker runtime; median of {reps} runs. Shuttle rows: one producer/consumer \
             program in plain tokio API (src/bin/bench/tokio_program.rs) run on `harness::tokio` \
             by `Check::new(..).shuttle(n)` / `.pct(n, 3)` and, unchanged apart from its import, \
             on shuttle-tokio 1.0 by `shuttle::check_random_with_seed` / `check_pct`; seeds \
             1..={reps}. Ratios are leakproof's rate over the anchor's (above 1 is faster).",
            reps = opts.reps
        ),
    );
    channel_rows(&mut t, opts);
    shuttle_rows(&mut t, opts);
    t
}
