//! `leakproof hunt`: fresh random (or PCT) schedules of one model on every core until one
//! fails or the time is up; the failing schedule is saved first.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::check::Failure;
use models::regressions;
use models::Model;

use super::output::clock;
use super::quiet;

/// What `hunt` was asked to do.
pub struct HuntPlan {
    pub time: Duration,
    pub jobs: usize,
    /// (index from 0, count)
    pub shard: (u64, u64),
    pub pct: Option<usize>,
    pub batch: usize,
    pub seed: u64,
    pub dir: PathBuf,
    /// Replace the saved tokens that no longer replay with the one found.
    pub refresh: bool,
}

/// Hunts; exit status 1 when a failure was found (0 with `--refresh`), 130 when interrupted.
pub fn hunt(model: &Model, plan: &HuntPlan) -> ExitCode {
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
                    let seed =
                        harness::check::hunt::seed(plan.seed, k, plan.jobs as u64, job, plan.shard);
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
