//! Section `scale`: many live tasks with tracking on: memory per task and the cost of the
//! end-of-run check, against the same tasks on plain tokio.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use harness::check::Check;

use crate::alloc;
use crate::table::{self, Met, Table};
use crate::Opts;

/// Tasks whose receive is registered (first poll returned `Pending`).
static READY: AtomicUsize = AtomicUsize::new(0);
/// Tasks that have finished.
static DONE: AtomicUsize = AtomicUsize::new(0);

/// Polls `recv` once; counts the task as ready if it blocked, then waits for it to finish.
async fn wait_on<F: Future>(recv: F) {
    let mut recv = std::pin::pin!(recv);
    let blocked = std::future::poll_fn(|cx| Poll::Ready(recv.as_mut().poll(cx).is_pending())).await;
    if blocked {
        READY.fetch_add(1, Ordering::SeqCst);
        recv.await;
    }
    DONE.fetch_add(1, Ordering::SeqCst);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// `tokio::spawn` + `tokio::sync::broadcast` on a plain runtime: no harness at all.
    Plain,
    /// `harness::task::spawn` + `harness::chan` on a plain runtime (no `Check`).
    HarnessOff,
    /// The same inside `Check::new(..).tokio(1)`.
    Tracked,
}

/// What one run of `n` tasks measured.
#[derive(Clone, Debug, Default)]
struct ScaleRun {
    /// Live heap bytes per task once every task is blocked.
    bytes_per_task: f64,
    /// Spawning the tasks (the body's loop).
    spawn: Duration,
    /// From the first spawn until every task is blocked.
    settle: Duration,
    /// `harness::track::snapshot()` with every task live (tracked only), and its task count.
    snapshot: Option<(Duration, usize)>,
    /// From the channel's close (the body's end) until every task has finished.
    finish: Duration,
    /// From the channel's close (the body's end) until the run is over: `run()` returned
    /// (tracked) or the runtime was dropped (plain, harness off).
    end: Duration,
    /// The failure, if the tracked run failed.
    failure: Option<String>,
}

fn reset() {
    READY.store(0, Ordering::SeqCst);
    DONE.store(0, Ordering::SeqCst);
}

/// A thread that reports when every task has finished.
type Watcher = std::thread::JoinHandle<Instant>;

/// Records the moment every task has finished, from a thread of its own.
fn watch_done(n: usize) -> Watcher {
    std::thread::spawn(move || {
        while DONE.load(Ordering::SeqCst) < n {
            std::thread::sleep(Duration::from_micros(100));
        }
        Instant::now()
    })
}

/// The body shared by the harness variants: spawn, settle, measure, close.
async fn harness_body(n: usize, tracked: bool, out: Arc<Mutex<ScaleRun>>) -> (Instant, Watcher) {
    let (tx, rx) = harness::chan::bounded::<u64>(0);
    let before = alloc::live();
    let t0 = Instant::now();
    for _ in 0..n {
        let rx = rx.clone();
        drop(harness::task::spawn(
            async move { wait_on(rx.recv()).await },
        ));
    }
    let spawn = t0.elapsed();
    while READY.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let settle = t0.elapsed();
    let after = alloc::live();
    let snapshot = tracked.then(|| {
        let t = Instant::now();
        let snap = harness::track::snapshot();
        let took = t.elapsed();
        (took, snap.live_tasks().count())
    });
    {
        let mut o = out.lock().expect("out");
        o.bytes_per_task = (after - before) as f64 / n as f64;
        o.spawn = spawn;
        o.settle = settle;
        o.snapshot = snapshot;
    }
    // The body ends here: closing the channel lets every task finish at once.
    let watcher = watch_done(n);
    drop(tx);
    (Instant::now(), watcher)
}

fn plain_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn one_run(variant: Variant, n: usize) -> ScaleRun {
    reset();
    let out: Arc<Mutex<ScaleRun>> = Arc::default();
    // When the body closed the channel, and the thread that sees the last task finish.
    type Closed = Arc<Mutex<Option<(Instant, Watcher)>>>;
    let closed: Closed = Arc::default();
    let ended = match variant {
        Variant::Plain => {
            let rt = plain_runtime();
            let (o, c) = (out.clone(), closed.clone());
            rt.block_on(async move {
                let (tx, _) = tokio::sync::broadcast::channel::<u64>(1);
                let before = alloc::live();
                let t0 = Instant::now();
                for _ in 0..n {
                    let mut rx = tx.subscribe();
                    drop(tokio::spawn(async move {
                        wait_on(rx.recv()).await;
                    }));
                }
                let spawn = t0.elapsed();
                while READY.load(Ordering::SeqCst) < n {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let settle = t0.elapsed();
                let after = alloc::live();
                {
                    let mut o = o.lock().expect("out");
                    o.bytes_per_task = (after - before) as f64 / n as f64;
                    o.spawn = spawn;
                    o.settle = settle;
                }
                let watcher = watch_done(n);
                drop(tx);
                *c.lock().expect("closed") = Some((Instant::now(), watcher));
                while DONE.load(Ordering::SeqCst) < n {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
            drop(rt);
            Instant::now()
        }
        Variant::HarnessOff => {
            let rt = plain_runtime();
            rt.block_on(async {
                let end = harness_body(n, false, out.clone()).await;
                *closed.lock().expect("closed") = Some(end);
                while DONE.load(Ordering::SeqCst) < n {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
            drop(rt);
            Instant::now()
        }
        Variant::Tracked => {
            let (o, c) = (out.clone(), closed.clone());
            let result = Check::new("bench/scale")
                // One long poll by design: 100,000 spawns, then a snapshot of every task.
                .slow_poll(None)
                .tokio(1)
                .run(move || {
                    let (o, c) = (o.clone(), c.clone());
                    async move {
                        let end = harness_body(n, true, o).await;
                        *c.lock().expect("closed") = Some(end);
                    }
                });
            let ended = Instant::now();
            if let Err(f) = result {
                let why = f
                    .report
                    .lines()
                    .find(|l| l.contains("grace") || l.contains("watchdog"))
                    .unwrap_or("")
                    .trim()
                    .to_string();
                out.lock().expect("out").failure = Some(format!("{} {why}", f.kind));
                // Let the watcher go: the tasks may never all finish.
                DONE.store(n, Ordering::SeqCst);
            }
            ended
        }
    };
    let mut r = out.lock().expect("out").clone();
    if let Some((closed_at, watcher)) = closed.lock().expect("closed").take() {
        let done_at = watcher.join().expect("watcher");
        r.finish = done_at.saturating_duration_since(closed_at);
        r.end = ended.saturating_duration_since(closed_at);
    }
    r
}

fn med(runs: &[ScaleRun], f: impl Fn(&ScaleRun) -> f64) -> f64 {
    let v: Vec<f64> = runs.iter().map(f).collect();
    table::median(&v)
}

pub fn run(opts: &Opts) -> Table {
    alloc::enable();
    let sizes: &[usize] = if opts.quick {
        &[1_000, 10_000]
    } else {
        &[10_000, 100_000]
    };
    let mut t = Table::new(
        "scale: many live tasks, tracking on",
        "n tasks each block on `recv` of one shared rendezvous channel; the body waits until \
         every task is blocked, measures, then drops the last sender so that every task finishes \
         at once and the body returns. *Tracked*: `harness::task::spawn` + `harness::chan` inside \
         `Check::new(..).tokio(1)`. *Harness, tracking off*: the same code on a plain 2-worker \
         runtime. *Plain tokio* (the anchor): `tokio::spawn`, each task blocked on \
         `recv` of its own `tokio::sync::broadcast` receiver of one shared channel (tokio's \
         multi-receiver channel; its waiters live inside the tasks' futures), no harness. Memory: live heap bytes (a counting `#[global_allocator]` around `System`) \
         after the tasks are blocked minus before they were spawned, over n. End-of-run: from \
         the body's end (the close) until `run()` returned (tracked) or the runtime was dropped \
         (plain).",
    );
    for &n in sizes {
        let reps = if n >= 100_000 { 1 } else { opts.reps.min(3) };
        let mut runs: [Vec<ScaleRun>; 3] = Default::default();
        for rep in 0..reps {
            for (k, v) in [Variant::Plain, Variant::HarnessOff, Variant::Tracked]
                .into_iter()
                .enumerate()
            {
                eprintln!("scale: {n} tasks, {v:?}, run {}/{reps}", rep + 1);
                let r = one_run(v, n);
                eprintln!("  {r:?}");
                runs[k].push(r);
            }
        }
        let [plain, off, tracked] = &runs;
        let nn = table::count(n as u64);
        if let Some(f) = tracked.iter().find_map(|r| r.failure.clone()) {
            t.row(
                format!("{nn} tasks: the tracked run"),
                format!("failed: {f}"),
                "–",
                "–",
                "passes",
                Met::No,
            );
        }
        let (bt, bo, bp) = (
            med(tracked, |r| r.bytes_per_task),
            med(off, |r| r.bytes_per_task),
            med(plain, |r| r.bytes_per_task),
        );
        t.row(
            format!("{nn} tasks: heap bytes per live task, tracked vs plain tokio"),
            format!("{bt:.0} B"),
            format!("{bp:.0} B"),
            table::ratio(bt / bp),
            "≤ 512 B",
            Met::from(bt <= 512.0),
        );
        t.row(
            format!("{nn} tasks: heap bytes per live task, harness tracking off vs plain tokio"),
            format!("{bo:.0} B"),
            format!("{bp:.0} B"),
            table::ratio(bo / bp),
            "(info)",
            Met::Info,
        );
        t.row(
            format!("{nn} tasks: the harness's own share per task (tracked − plain; of which tracking: tracked − off)"),
            format!("{:.0} B ({:.0} B)", bt - bp, bt - bo),
            "–",
            "–",
            "(info)",
            Met::Info,
        );
        let end_t = med(tracked, |r| r.end.as_secs_f64());
        let end_p = med(plain, |r| r.end.as_secs_f64());
        t.row(
            format!("{nn} tasks: end-of-run, body end → run() returns (tracked) vs → runtime dropped (plain)"),
            table::secs(end_t),
            table::secs(end_p),
            table::ratio(end_t / end_p),
            "≤ 100 ms",
            Met::from(end_t <= 0.1),
        );
        let (fin_t, fin_p) = (
            med(tracked, |r| r.finish.as_secs_f64()),
            med(plain, |r| r.finish.as_secs_f64()),
        );
        t.row(
            format!("{nn} tasks: of which the tasks finishing (close → last task done)"),
            table::secs(fin_t),
            table::secs(fin_p),
            table::ratio(fin_t / fin_p),
            "(info)",
            Met::Info,
        );
        let (rest_t, rest_p) = (
            med(tracked, |r| r.end.saturating_sub(r.finish).as_secs_f64()),
            med(plain, |r| r.end.saturating_sub(r.finish).as_secs_f64()),
        );
        t.row(
            format!(
                "{nn} tasks: of which after the last task finished (the leak check's verdict, \
                 runtime shutdown, teardown)"
            ),
            table::secs(rest_t),
            table::secs(rest_p),
            table::ratio(rest_t / rest_p),
            "(info)",
            Met::Info,
        );
        let off_end = med(off, |r| r.end.as_secs_f64());
        t.row(
            format!("{nn} tasks: end-of-run, harness tracking off (close → runtime dropped)"),
            table::secs(off_end),
            table::secs(end_p),
            table::ratio(off_end / end_p),
            "(info)",
            Met::Info,
        );
        if let Some(snaps) = tracked
            .iter()
            .map(|r| r.snapshot)
            .collect::<Option<Vec<_>>>()
        {
            let secs: Vec<f64> = snaps.iter().map(|s| s.0.as_secs_f64()).collect();
            t.row(
                format!(
                    "{nn} tasks: harness::track::snapshot() with {} live tasks",
                    table::count(snaps[0].1 as u64)
                ),
                table::secs(table::median(&secs)),
                "–",
                "–",
                "≤ 100 ms",
                Met::from(table::median(&secs) <= 0.1),
            );
        }
        for (label, f) in [
            (
                "spawning the tasks",
                (|r: &ScaleRun| r.spawn.as_secs_f64()) as fn(&ScaleRun) -> f64,
            ),
            (
                "from the first spawn until every task is blocked",
                |r: &ScaleRun| r.settle.as_secs_f64(),
            ),
        ] {
            let (a, b) = (med(tracked, f), med(plain, f));
            t.row(
                format!("{nn} tasks: {label}, tracked vs plain tokio"),
                table::secs(a),
                table::secs(b),
                table::ratio(a / b),
                "(info)",
                Met::Info,
            );
            let c = med(off, f);
            t.row(
                format!("{nn} tasks: {label}, harness tracking off vs plain tokio"),
                table::secs(c),
                table::secs(b),
                table::ratio(c / b),
                "(info)",
                Met::Info,
            );
        }
        t.note(format!(
            "{nn} tasks: {} run(s) per variant, median shown",
            reps
        ));
    }
    t
}
