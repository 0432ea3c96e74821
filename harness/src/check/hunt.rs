//! Hunting: fresh random and PCT schedules for as long as a time budget allows, with the seed
//! space split into disjoint shards so that N machines hunt N different parts of it.
//!
//! `leakproof hunt` uses the seed splitting and the parsers here; `LEAKPROOF_HUNT` turns every
//! [`Check`](super::Check) of a `cargo test` run into such a hunt, with nothing but `cargo test`:
//!
//! | variable | example | meaning |
//! |---|---|---|
//! | `LEAKPROOF_HUNT` | `10m` | hunt instead of the usual checkers; the budget of the whole test binary |
//! | `LEAKPROOF_SHARD` | `2/4` | hunt only the 2nd of 4 disjoint parts of the seed space |
//! | `LEAKPROOF_SEED` | `20261130` | the first seed (same on every shard; change it to hunt fresh seeds) |
//! | `LEAKPROOF_HUNT_BATCH` | `100` | executions per seed |
//! | `LEAKPROOF_PCT_DEPTH` | `3` | PCT's bug depth |
//! | `LEAKPROOF_HUNT_PROGRESS_SECS` | `10` | seconds between progress lines |
//!
//! The budget is wall-clock time for the whole test binary, counted from the first check that
//! hunts; no check hunts past it. Each check gets an equal share: budget × test threads ÷
//! tests, where tests is what the binary will run (its own `--list`, with the same filters) and
//! test threads what libtest runs at once (`RUST_TEST_THREADS`, `--test-threads`, else the
//! cores).
//!
//! Under cargo-nextest, a process per test, the budget is still one per test binary: the first
//! process of a nextest run (`NEXTEST_RUN_ID`) that hunts writes the time it started to
//! `<target>/<profile>/.leakproof/hunt-<binary>.txt` (under the file's lock), and every later
//! process of that run and binary counts from it, so no process hunts past the budget. The
//! share is the same rule with nextest's numbers: tests is every test the binary holds (its
//! `--list` without filters: nextest's own filters are not visible to the test process, so a
//! filtered run gives each check less than it could have), test threads is
//! `NEXTEST_TEST_THREADS`. Batches alternate between shuttle's random and PCT schedulers;
//! a failure is saved to the check's regressions file as any failure is. A progress line goes
//! to the real stderr (libtest captures `eprintln!`, not the stream itself), and every check
//! ends with a summary line.

use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Body, Check, Checker, CheckerStats, Failure, Plan, Stats};

/// Reads a duration as `leakproof hunt --time` and `LEAKPROOF_HUNT` take it: `90s`, `10m`,
/// `2h`, `500ms`; a bare number is seconds.
///
/// ```
/// use leakproof::check::hunt::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
/// assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
/// assert!(parse_duration("10 parsecs").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 90s, 10m or 2h"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: the unit must be ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is too long a duration"))
}

/// Reads a shard `I/N` (1-based, as `--shard 2/4` and `LEAKPROOF_SHARD=2/4` write it) as
/// `(I - 1, N)`.
///
/// ```
/// use leakproof::check::hunt::parse_shard;
/// assert_eq!(parse_shard("2/4"), Ok((1, 4)));
/// assert!(parse_shard("5/4").is_err());
/// ```
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
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

/// The seed of the `k`-th batch of hunting job `job` (of `jobs`) in shard `shard` (`(index
/// from 0, count)`), counting up from `base`: the seeds of different shards and jobs never meet.
///
/// ```
/// use leakproof::check::hunt::seed;
/// let mine: Vec<u64> = (0..3).map(|k| seed(100, k, 1, 0, (1, 4))).collect();
/// assert_eq!(mine, [101, 105, 109]);
/// ```
pub fn seed(base: u64, k: u64, jobs: u64, job: u64, shard: (u64, u64)) -> u64 {
    let index = k
        .wrapping_mul(jobs)
        .wrapping_add(job)
        .wrapping_mul(shard.1)
        .wrapping_add(shard.0);
    base.wrapping_add(index)
}

/// `LEAKPROOF_HUNT` and its companions, read once per process.
#[derive(Clone, Debug)]
pub(super) struct HuntEnv {
    budget: Duration,
    shard: (u64, u64),
    batch: usize,
    depth: usize,
    progress: Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn bad(name: &str, v: &str, why: String) -> ! {
    panic!("leakproof: environment variable {name}={v:?}: {why}")
}

/// Reads `LEAKPROOF_HUNT` (None when unset); panics naming the variable on a bad value.
pub(super) fn from_env() -> Option<HuntEnv> {
    static ENV: OnceLock<Option<HuntEnv>> = OnceLock::new();
    ENV.get_or_init(|| {
        let v = var("LEAKPROOF_HUNT")?;
        let budget = parse_duration(&v).unwrap_or_else(|e| bad("LEAKPROOF_HUNT", &v, e));
        if budget.is_zero() {
            bad(
                "LEAKPROOF_HUNT",
                &v,
                "a zero budget would hunt nothing".into(),
            );
        }
        let shard = var("LEAKPROOF_SHARD")
            .map(|s| parse_shard(&s).unwrap_or_else(|e| bad("LEAKPROOF_SHARD", &s, e)))
            .unwrap_or((0, 1));
        let positive = |name: &str, default: usize| match var(name) {
            None => default,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => bad(name, &s, "expected a whole number, at least 1".into()),
            },
        };
        Some(HuntEnv {
            budget,
            shard,
            batch: positive("LEAKPROOF_HUNT_BATCH", 100),
            depth: positive("LEAKPROOF_PCT_DEPTH", 3),
            progress: Duration::from_secs(positive("LEAKPROOF_HUNT_PROGRESS_SECS", 10) as u64),
        })
    })
    .clone()
}

/// The hunt of the whole test binary (under cargo-nextest: this process's part of it).
struct Process {
    env: HuntEnv,
    /// When this process started hunting.
    started: Instant,
    /// How much of the budget earlier processes of the binary had used by then (nextest).
    before: Duration,
    /// Under cargo-nextest: this process runs one test of the binary.
    nextest: bool,
    deadline: Instant,
    /// Each check's share of the budget.
    share: Duration,
    executions: AtomicU64,
    active: AtomicUsize,
    done: AtomicUsize,
    found: AtomicUsize,
}

static PROCESS: OnceLock<Process> = OnceLock::new();

/// A line on the real stderr: libtest captures `eprintln!` but not the stream itself.
pub(super) fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(format!("{line}\n").as_bytes());
    let _ = err.flush();
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// How many tests this test binary runs, from its own `--list` with the same arguments (under
/// nextest, `filtered` false: every test it holds); None when the process is not a cargo test
/// binary (they live in `deps/`) or the list is unreadable.
fn listed_tests(filtered: bool) -> Option<usize> {
    let exe = std::env::current_exe().ok()?;
    if exe.parent()?.file_name()? != "deps" {
        return None;
    }
    let mut args = Vec::new();
    let mut skip_next = false;
    for a in std::env::args().skip(1).filter(|_| filtered) {
        if skip_next {
            skip_next = false;
        } else if a == "--format" || a == "-Z" {
            skip_next = true;
        } else if !a.starts_with("--format=") && a != "--list" {
            args.push(a);
        }
    }
    let out = std::process::Command::new(exe)
        .args(args)
        .args(["--list", "--format", "terse"])
        .env_remove("LEAKPROOF_HUNT")
        .env("LEAKPROOF_SAVE_REGRESSIONS", "0")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let n = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.ends_with(": test"))
        .count();
    (n > 0).then_some(n)
}

/// How many tests run at once: nextest's `NEXTEST_TEST_THREADS` under nextest, else libtest's.
fn test_threads(nextest: bool) -> usize {
    if nextest {
        if let Some(n) = var("NEXTEST_TEST_THREADS").and_then(|v| v.trim().parse().ok()) {
            return std::cmp::max(n, 1);
        }
    }
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        let v = match a.strip_prefix("--test-threads=") {
            Some(v) => Some(v.to_string()),
            None if a == "--test-threads" => args.next(),
            None => None,
        };
        if let Some(n) = v.and_then(|v| v.parse().ok()) {
            return n;
        }
    }
    std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Each check's share of `budget` when `tests` tests run `threads` at a time.
///
/// ```
/// use leakproof::check::hunt::share;
/// use std::time::Duration;
/// assert_eq!(share(Duration::from_secs(60), 6, 2), Duration::from_secs(20));
/// // More threads than tests: every test may use the whole budget.
/// assert_eq!(share(Duration::from_secs(60), 1, 4), Duration::from_secs(60));
/// ```
pub fn share(budget: Duration, tests: usize, threads: usize) -> Duration {
    let tests = tests.max(1);
    budget.mul_f64(threads.clamp(1, tests) as f64 / tests as f64)
}

/// When the hunt of test binary run `run` started: the time recorded in `file` by the first
/// process of that run, or `now` (recorded, for the processes after this one) when this
/// process is the first, or the file names another run. The file stays locked while it is
/// read and written, so processes starting side by side agree on one start.
pub(crate) fn shared_start(file: &Path, run: &str, now: SystemTime) -> std::io::Result<SystemTime> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(file)?;
    f.lock()?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    let recorded = text.lines().find_map(|l| {
        let (r, nanos) = l.strip_prefix("run ")?.rsplit_once(" started ")?;
        (r == run).then(|| nanos.parse::<u64>().ok())?
    });
    if let Some(nanos) = recorded {
        return Ok(UNIX_EPOCH + Duration::from_nanos(nanos));
    }
    let nanos = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    f.set_len(0)?;
    f.rewind()?;
    f.write_all(
        format!(
            "# leakproof: when this test binary's LEAKPROOF_HUNT started, by nextest run\nrun {run} started {nanos}\n"
        )
        .as_bytes(),
    )?;
    Ok(UNIX_EPOCH + Duration::from_nanos(nanos))
}

fn process(env: &HuntEnv) -> &'static Process {
    PROCESS.get_or_init(|| {
        let started = Instant::now();
        let run = var("NEXTEST_RUN_ID");
        let nextest = run.is_some();
        // Under nextest: how much of the binary's budget its earlier processes have used.
        let (before, shared) = match (&run, super::saved::TestBinary::current()) {
            (Some(run), Some(binary)) => {
                let now = SystemTime::now();
                let file = binary.state_file("hunt");
                match shared_start(&file, run, now) {
                    Ok(start) => {
                        let before = now.duration_since(start).unwrap_or_default();
                        (
                            before,
                            format!(
                                ", shared by its processes in nextest run {} ({} used before this one)",
                                run.split('-').next().unwrap_or(run),
                                clock(before)
                            ),
                        )
                    }
                    Err(e) => (
                        Duration::ZERO,
                        format!(
                            " (cannot share it with the binary's other processes through {}: {e}; \
                             this process counts from its own start)",
                            file.display()
                        ),
                    ),
                }
            }
            (Some(_), None) => (
                Duration::ZERO,
                " (not a cargo test binary: this process counts from its own start)".to_string(),
            ),
            (None, _) => (Duration::ZERO, String::new()),
        };
        let (share, how) = match listed_tests(!nextest) {
            Some(tests) => {
                let threads = test_threads(nextest).min(tests);
                (
                    share(env.budget, tests, threads),
                    if nextest {
                        format!("{tests} test(s) in the binary on {threads} nextest thread(s)")
                    } else {
                        format!("{tests} test(s) on {threads} thread(s)")
                    },
                )
            }
            None => (env.budget, "test count unknown".to_string()),
        };
        say(&format!(
            "leakproof hunt: {} for this test binary{shared}, shard {}/{}, {how}: up to {} per check",
            clock(env.budget),
            env.shard.0 + 1,
            env.shard.1,
            clock(share)
        ));
        let p = Process {
            env: env.clone(),
            started,
            before,
            nextest,
            deadline: started + env.budget.saturating_sub(before),
            share,
            executions: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            found: AtomicUsize::new(0),
        };
        std::thread::Builder::new()
            .name("leakproof-hunt-progress".into())
            .spawn(progress)
            .expect("leakproof: cannot start the hunt's progress thread");
        p
    })
}

/// Prints a progress line every `LEAKPROOF_HUNT_PROGRESS_SECS` while checks hunt.
fn progress() {
    let p = loop {
        match PROCESS.get() {
            Some(p) => break p,
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    loop {
        std::thread::sleep(p.env.progress);
        let active = p.active.load(Ordering::SeqCst);
        if active == 0 {
            if Instant::now() >= p.deadline {
                return;
            }
            continue;
        }
        let elapsed = p.started.elapsed();
        let n = p.executions.load(Ordering::Relaxed);
        say(&format!(
            "leakproof hunt: {n} executions ({:.0}/s), {active} check(s) hunting, {} done, {} failure(s); {} of {}",
            n as f64 / elapsed.as_secs_f64().max(1e-9),
            p.done.load(Ordering::SeqCst),
            p.found.load(Ordering::SeqCst),
            clock(p.before + elapsed),
            clock(p.env.budget)
        ));
    }
}

/// Hunts one check: fresh schedules until its share of the budget (or the binary's) is used;
/// always at least one batch, so that no check passes having run nothing.
pub(super) fn hunt(check: &Check, body: Body, env: &HuntEnv, base: u64) -> Result<Stats, Failure> {
    let p = process(env);
    let start = Instant::now();
    let end = (start + p.share).min(p.deadline);
    p.active.fetch_add(1, Ordering::SeqCst);
    let mut random = CheckerStats {
        checker: Checker::Shuttle,
        executions: 0,
        elapsed: Duration::ZERO,
    };
    let mut pct = CheckerStats {
        checker: Checker::Pct,
        ..random.clone()
    };
    let mut k = 0u64;
    let result = loop {
        let s = seed(base, k, 1, 0, env.shard);
        let plan = if k.is_multiple_of(2) {
            Plan::Shuttle(env.batch)
        } else {
            Plan::Pct(env.batch, env.depth)
        };
        let mut batch = check.clone();
        batch.plans = vec![plan];
        batch.seed = Some(s);
        batch.replay = None;
        let outcome = batch.run_checkers(body.clone());
        k += 1;
        match outcome {
            Ok(st) => {
                for c in st.checkers {
                    let into = if c.checker == Checker::Pct {
                        &mut pct
                    } else {
                        &mut random
                    };
                    into.executions += c.executions;
                    into.elapsed += c.elapsed;
                    p.executions.fetch_add(c.executions, Ordering::Relaxed);
                }
            }
            Err(mut f) => {
                p.executions.fetch_add(f.execution, Ordering::Relaxed);
                p.found.fetch_add(1, Ordering::SeqCst);
                f.report.push_str(&format!(
                    "\nfound by LEAKPROOF_HUNT in batch {k} (seed {s}, shard {}/{}) after {} in this check\n",
                    env.shard.0 + 1,
                    env.shard.1,
                    clock(start.elapsed())
                ));
                break Err(f);
            }
        }
        if Instant::now() >= end {
            let mut stats = Stats::default();
            stats.push(random.clone());
            stats.push(pct.clone());
            break Ok(stats);
        }
    };
    p.active.fetch_sub(1, Ordering::SeqCst);
    let done = p.done.fetch_add(1, Ordering::SeqCst) + 1;
    let verdict = match &result {
        Ok(_) => "no failure".to_string(),
        Err(f) => format!(
            "FOUND a {} (execution {} of its batch)",
            f.kind, f.execution
        ),
    };
    say(&format!(
        "leakproof hunt: check \"{}\": {} random + {} pct executions in {} ({k} seeds from {base}, shard {}/{}): {verdict}; \
         {} so far: {done} check(s), {} executions, {} failure(s) in {}",
        check.name,
        random.executions,
        pct.executions,
        clock(start.elapsed()),
        env.shard.0 + 1,
        env.shard.1,
        if p.nextest { "this process" } else { "binary" },
        p.executions.load(Ordering::Relaxed),
        p.found.load(Ordering::SeqCst),
        clock(p.started.elapsed()),
    ));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_seed_space() {
        let mut all = std::collections::HashSet::new();
        for i in 0..4 {
            for job in 0..3 {
                for k in 0..50 {
                    assert!(all.insert(seed(7, k, 3, job, (i, 4))), "seed met twice");
                }
            }
        }
        assert_eq!(all.len(), 4 * 3 * 50);
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("1e400").is_err());
    }

    #[test]
    fn the_processes_of_one_nextest_run_share_one_start() {
        let dir = std::env::temp_dir().join(format!("lp-hunt-start-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("hunt-checks-0123.txt");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        // Two processes of run "r1" start side by side: both count from one start, the
        // earlier of the two writers'.
        let starts: Vec<SystemTime> = std::thread::scope(|s| {
            let hs: Vec<_> = [0u64, 5]
                .into_iter()
                .map(|later| {
                    let file = &file;
                    s.spawn(move || {
                        shared_start(file, "r1", t0 + Duration::from_secs(later)).unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(starts[0], starts[1]);
        assert!(starts[0] == t0 || starts[0] == t0 + Duration::from_secs(5));
        // A process started 30 s later in the same run has 30 s (or 25 s) less of the budget.
        let late = shared_start(&file, "r1", t0 + Duration::from_secs(30)).unwrap();
        assert_eq!(late, starts[0]);
        // The next run starts afresh.
        let next = t0 + Duration::from_secs(600);
        assert_eq!(shared_start(&file, "r2", next).unwrap(), next);
        assert_eq!(
            shared_start(&file, "r2", next + Duration::from_secs(1)).unwrap(),
            next
        );
        // Shares: 4 tests, one at a time, share a 60 s budget; 2 at a time get twice as long.
        assert_eq!(
            share(Duration::from_secs(60), 4, 1),
            Duration::from_secs(15)
        );
        assert_eq!(
            share(Duration::from_secs(60), 4, 2),
            Duration::from_secs(30)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
