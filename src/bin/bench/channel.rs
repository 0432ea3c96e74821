//! Section `channel`: channel cost on a tokio multi-thread runtime with 2 workers.
//!
//! The same three workloads run on leakproof's `harness::chan` with tracking off (a plain
//! tokio runtime, no `Check`), with tracking on (inside `Check::new(..).tokio(1)`, timed in
//! the body), on `tokio::sync::mpsc` and on `flume`.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::check::Check;

use crate::table::{self, Met, Table};
use crate::Opts;

type Join = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A channel implementation, seen through the few operations the workloads use.
trait Chan: 'static {
    type Tx: Clone + Send + Sync + 'static;
    type Rx: Send + 'static;
    /// A channel with room for `cap` values (0: rendezvous, where the implementation has one).
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) -> Join;
}

/// leakproof's channel and tasks (tracking on or off depends on where it runs).
struct Leakproof;

impl Chan for Leakproof {
    type Tx = harness::chan::Sender<u64>;
    type Rx = harness::chan::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        harness::chan::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive")
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
        rx.recv()
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) -> Join {
        let h = harness::task::spawn(f);
        Box::pin(async move { h.await.expect("task finished") })
    }
}

/// `harness::tokio::sync::mpsc` and `harness::tokio::spawn`: tokio's API on leakproof's
/// tasks and tracking (the bench's `tokio` section). Like tokio, no rendezvous: cap 0 becomes 1.
struct LeakproofTokio;

impl Chan for LeakproofTokio {
    type Tx = harness::tokio::sync::mpsc::Sender<u64>;
    type Rx = harness::tokio::sync::mpsc::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        harness::tokio::sync::mpsc::channel(cap.max(1))
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive")
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
        rx.recv()
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) -> Join {
        let h = harness::tokio::spawn(f);
        Box::pin(async move { h.await.expect("task finished") })
    }
}

/// `tokio::sync::mpsc` and `tokio::spawn`. tokio has no rendezvous channel: cap 0 becomes 1.
struct TokioMpsc;

impl Chan for TokioMpsc {
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap.max(1))
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive")
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
        rx.recv()
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) -> Join {
        let h = tokio::spawn(f);
        Box::pin(async move { h.await.expect("task finished") })
    }
}

/// `flume`'s async API and `tokio::spawn`; `flume::bounded(0)` is a true rendezvous.
struct Flume;

impl Chan for Flume {
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send_async(v).await.expect("receiver alive")
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_async().await.ok()
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) -> Join {
        let h = tokio::spawn(f);
        Box::pin(async move { h.await.expect("task finished") })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `producers` tasks send `n` values in all over bounded(128); one task receives them.
    Throughput { producers: usize },
    /// `n` round trips over two rendezvous channels between two tasks.
    PingPong,
}

impl Workload {
    pub fn label(self) -> String {
        match self {
            Workload::Throughput { producers } => {
                format!("{producers}→1 throughput, bounded(128)")
            }
            Workload::PingPong => "rendezvous ping-pong, bounded(0)".to_string(),
        }
    }
}

/// Runs one workload of `n` messages (or round trips); returns the time it took.
async fn workload<C: Chan>(w: Workload, n: u64) -> Duration {
    match w {
        Workload::Throughput { producers } => {
            let (tx, mut rx) = C::bounded(128);
            let start = Instant::now();
            let consumer = C::spawn(async move {
                let mut got = 0u64;
                while let Some(v) = C::recv(&mut rx).await {
                    black_box(v);
                    got += 1;
                }
                assert_eq!(got, n, "every message arrives");
            });
            let per = n / producers as u64;
            let mut joins = Vec::new();
            for p in 0..producers as u64 {
                let tx = tx.clone();
                let count = if p == 0 {
                    n - per * (producers as u64 - 1)
                } else {
                    per
                };
                joins.push(C::spawn(async move {
                    for i in 0..count {
                        C::send(&tx, i).await;
                    }
                }));
            }
            drop(tx);
            for j in joins {
                j.await;
            }
            consumer.await;
            start.elapsed()
        }
        Workload::PingPong => {
            let (ping_tx, mut ping_rx) = C::bounded(0);
            let (pong_tx, mut pong_rx) = C::bounded(0);
            let start = Instant::now();
            let echo = C::spawn(async move {
                while let Some(v) = C::recv(&mut ping_rx).await {
                    C::send(&pong_tx, v).await;
                }
            });
            let pinger = C::spawn(async move {
                for i in 0..n {
                    C::send(&ping_tx, i).await;
                    let back = C::recv(&mut pong_rx).await;
                    assert_eq!(back, Some(i), "the echo answers");
                }
            });
            pinger.await;
            echo.await;
            start.elapsed()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `harness::chan` on a plain tokio runtime.
    TrackingOff,
    /// `harness::chan` in a `Check` on the tokio checker.
    TrackingOn,
    /// `tokio::sync::mpsc` on a plain tokio runtime.
    Tokio,
    /// flume on a plain tokio runtime.
    Flume,
    /// `harness::tokio::sync::mpsc` on a plain tokio runtime.
    TokioApiOff,
    /// `harness::tokio::sync::mpsc` in a `Check` on the tokio checker.
    TokioApiOn,
}

const IMPLS: [Impl; 4] = [
    Impl::TrackingOff,
    Impl::TrackingOn,
    Impl::Tokio,
    Impl::Flume,
];

/// A fresh 2-worker multi-thread runtime, like the one the tokio checker builds per run.
fn plain_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// One timed run of `w` with `n` messages on `imp`, each on a fresh runtime.
fn measure(imp: Impl, w: Workload, n: u64) -> Duration {
    match imp {
        Impl::TrackingOff => plain_runtime().block_on(workload::<Leakproof>(w, n)),
        Impl::Tokio => plain_runtime().block_on(workload::<TokioMpsc>(w, n)),
        Impl::Flume => plain_runtime().block_on(workload::<Flume>(w, n)),
        Impl::TokioApiOff => plain_runtime().block_on(workload::<LeakproofTokio>(w, n)),
        Impl::TrackingOn => tracked::<Leakproof>(w, n),
        Impl::TokioApiOn => tracked::<LeakproofTokio>(w, n),
    }
}

/// One run of `w` inside `Check::new(..).tokio(1)`, timed in the body.
fn tracked<C: Chan>(w: Workload, n: u64) -> Duration {
    let out: Arc<Mutex<Option<Duration>>> = Arc::default();
    let slot = out.clone();
    Check::new("bench/channel")
        .tokio(1)
        .run(move || {
            let slot = slot.clone();
            async move {
                let d = workload::<C>(w, n).await;
                *slot.lock().expect("slot") = Some(d);
            }
        })
        .unwrap_or_else(|f| panic!("the tracked channel run failed:\n{f}"));
    let d = out.lock().expect("slot").take();
    d.expect("the body ran")
}

/// Picks `n` so that one run of `imp` takes about `target`.
fn calibrate(imp: Impl, w: Workload, target: Duration) -> u64 {
    let mut n: u64 = 2_000;
    loop {
        let d = measure(imp, w, n);
        if d >= target / 8 || n >= 100_000_000 {
            let scaled = n as f64 * target.as_secs_f64() / d.as_secs_f64().max(1e-9);
            return (scaled as u64).clamp(1_000, 200_000_000);
        }
        n *= 4;
    }
}

/// What [`runs`] measured: per implementation, its size, its rates and their median.
/// `label: n = 1,200 (off), 900 (on), …`: how many messages (or round trips) each
/// implementation's run was sized to, named in `names`' order.
pub fn run_sizes(label: &str, ns: &[u64], names: &[&str]) -> String {
    let each: Vec<String> = ns
        .iter()
        .zip(names)
        .map(|(n, name)| format!("{} ({name})", table::count(*n)))
        .collect();
    format!("{label}: n = {}", each.join(", "))
}

/// The table's note on the run sizes of every workload (each from [`run_sizes`]).
pub fn sizes_note(t: &mut Table, sizes: &[String]) {
    t.note(format!(
        "messages (or round trips) per run: {}",
        sizes.join("; ")
    ));
}

pub struct Runs {
    pub ns: Vec<u64>,
    pub rates: Vec<Vec<f64>>,
    pub med: Vec<f64>,
}

/// Sizes each implementation's run to take about `target`, then times `reps` runs of each,
/// interleaved; rates in messages (or round trips) per second.
pub fn runs(impls: &[Impl], w: Workload, target: Duration, reps: usize) -> Runs {
    let ns: Vec<u64> = impls.iter().map(|&i| calibrate(i, w, target)).collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); impls.len()];
    for rep in 0..reps {
        for (k, &imp) in impls.iter().enumerate() {
            let d = measure(imp, w, ns[k]);
            rates[k].push(ns[k] as f64 / d.as_secs_f64());
            eprintln!(
                "  run {}/{} {:?}: n={} in {}",
                rep + 1,
                reps,
                imp,
                ns[k],
                table::dur(d)
            );
        }
    }
    let med = rates.iter().map(|r| table::median(r)).collect();
    Runs { ns, rates, med }
}

/// Implementation `k`'s figure: a throughput, or the time per round trip of a ping-pong.
pub fn show(w: Workload, rates: &[Vec<f64>], med: &[f64], k: usize) -> String {
    match w {
        Workload::PingPong => format!(
            "{}/round trip{}",
            table::secs(1.0 / med[k]),
            table::spread(&rates[k])
        ),
        _ => format!("{}{}", table::rate(med[k], "msg"), table::spread(&rates[k])),
    }
}

/// The workloads every channel table measures, in its order.
pub const WORKLOADS: [Workload; 3] = [
    Workload::Throughput { producers: 1 },
    Workload::Throughput { producers: 4 },
    Workload::PingPong,
];

/// How long one timed run should take.
pub fn target(opts: &Opts) -> Duration {
    if opts.quick {
        Duration::from_millis(60)
    } else {
        Duration::from_millis(400)
    }
}

pub fn run(opts: &Opts) -> Table {
    let target = target(opts);
    let mut t = Table::new(
        "channel: channel cost on tokio (multi-thread, 2 workers)",
        &format!(
            "Median of {} runs per figure (runs of the four implementations interleaved), each on a \
             fresh runtime, sized to take about {} each. Throughput in messages per second, \
             ping-pong as time per round trip; the ratio is leakproof's speed over the anchor's \
             (above 1 is faster). *Tracking off*: `harness::chan` and `harness::task::spawn` on a \
             plain tokio runtime, no `Check`. *Tracking on*: the same code in \
             `Check::new(..).tokio(1).run(..)`, timed inside the body.",
            opts.reps,
            table::dur(target)
        ),
    );
    let mut sizes = Vec::new();
    for w in WORKLOADS {
        eprintln!("channel: {}", w.label());
        let Runs { ns, rates, med } = runs(&IMPLS, w, target, opts.reps);
        let show = |k: usize| show(w, &rates, &med, k);
        let (tokio_name, flume_name) = match w {
            Workload::PingPong => ("tokio mpsc(1)", "flume bounded(0)"),
            _ => ("tokio mpsc", "flume"),
        };
        for (lp, lp_name, goal) in [(0, "tracking off", 0.8), (1, "tracking on", 0.5)] {
            let r = med[lp] / med[2];
            t.row(
                format!("{}: {lp_name} vs {tokio_name}", w.label()),
                show(lp),
                show(2),
                table::ratio(r),
                format!("≥ {goal:.2}×"),
                Met::from(r >= goal),
            );
        }
        for (lp, lp_name) in [(0, "tracking off"), (1, "tracking on")] {
            t.row(
                format!("{}: {lp_name} vs {flume_name}", w.label()),
                show(lp),
                show(3),
                table::ratio(med[lp] / med[3]),
                "(info)",
                Met::Info,
            );
        }
        sizes.push(run_sizes(&w.label(), &ns, &["off", "on", "tokio", "flume"]));
    }
    sizes_note(&mut t, &sizes);
    t.note(
        "tokio has no rendezvous channel (`mpsc::channel(0)` panics): its ping-pong uses capacity 1, \
         which lets a send complete before the receiver takes the value; flume's `bounded(0)` is a \
         true rendezvous like leakproof's",
    );
    t.note("the targets (≥ 0.8× off, ≥ 0.5× on) are taken against tokio::sync::mpsc; rows against flume are for information");
    t
}
