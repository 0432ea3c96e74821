//! Mode `count`: one workload, once, sized by the caller, for counting its instructions under
//! valgrind's callgrind (`scripts/perf-guard.sh`), where wall-clock time means nothing.
//!
//! ```text
//! bench count WORKLOAD N
//! ```
//!
//! The work happens inside [`measured`] (never inlined), so that
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'` counts it and
//! nothing else; two runs with different `N` give the cost per unit (message, round trip,
//! execution) by difference, setup and warm-up cancelling out. Every workload runs on one OS
//! thread (a current-thread runtime, or the body of a tokio check whose two futures are
//! joined inside the one task, or a model checker), so that its count is the same from run to
//! run whatever else the machine does. Loom workloads print their execution count instead
//! (it is deterministic): `loom-execs PRODUCERS MSGS` prints leakproof's count and the
//! direct loom program's.

use std::future::Future;
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use harness::check::Check;
use harness::{chan, task};

/// The workloads, with what one unit of `N` is.
pub const WORKLOADS: [(&str, &str); 10] = [
    (
        "chan-1to1",
        "message: 1→1 over bounded(128), tracking off, spawned tasks",
    ),
    (
        "chan-4to1",
        "message: 4→1 over bounded(128), tracking off, spawned tasks",
    ),
    (
        "chan-pingpong",
        "round trip: two rendezvous channels, tracking off, spawned tasks",
    ),
    (
        "tokio-1to1",
        "message: the same 1→1 on tokio::sync::mpsc and tokio::spawn",
    ),
    (
        "tokio-4to1",
        "message: the same 4→1 on tokio::sync::mpsc and tokio::spawn",
    ),
    (
        "tokio-pingpong",
        "round trip: the same ping-pong on tokio mpsc(1)",
    ),
    (
        "tracked-1to1",
        "message: 1→1 over bounded(16) in a tokio check, tracking on (joined in the body)",
    ),
    (
        "tracked-pingpong",
        "round trip: rendezvous ping-pong in a tokio check, tracking on (joined in the body)",
    ),
    (
        "shuttle-exec",
        "execution: 2 producers × 3 msgs over bounded(1), Check::shuttle, seed 1",
    ),
    (
        "shuttle-direct",
        "execution: the same program on shuttle directly, seed 1",
    ),
];

const USAGE: &str = "usage: bench count WORKLOAD N   (or: bench count loom-execs PRODUCERS MSGS)";

pub fn main(args: &[String]) -> ExitCode {
    let [what, rest @ ..] = args else {
        eprintln!("{USAGE}");
        return usage_list();
    };
    let nums: Option<Vec<u64>> = rest.iter().map(|a| a.parse().ok()).collect();
    match (what.as_str(), nums.as_deref()) {
        ("loom-execs", Some(&[p, m])) if p > 0 && m > 0 => {
            let (lp, direct) = crate::explore::loom_counts(p, m);
            println!("leakproof {lp}\nloom-mpsc {direct}");
            ExitCode::SUCCESS
        }
        (w, Some(&[n])) if WORKLOADS.iter().any(|(name, _)| *name == w) => {
            let start = std::time::Instant::now();
            measured(w, n);
            eprintln!("count: {w} × {n} in {:?}", start.elapsed());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("bench count: bad arguments {args:?}\n{USAGE}");
            usage_list()
        }
    }
}

fn usage_list() -> ExitCode {
    eprintln!("workloads (N units each):");
    for (name, unit) in WORKLOADS {
        eprintln!("  {name:18} per {unit}");
    }
    ExitCode::from(2)
}

/// Runs workload `w` with `n` units; the region callgrind counts.
#[inline(never)]
fn measured(w: &str, n: u64) {
    match w {
        "chan-1to1" => current_thread(spawned::<Lp>(1, n)),
        "chan-4to1" => current_thread(spawned::<Lp>(4, n)),
        "chan-pingpong" => current_thread(pingpong::<Lp>(n)),
        "tokio-1to1" => current_thread(spawned::<Tk>(1, n)),
        "tokio-4to1" => current_thread(spawned::<Tk>(4, n)),
        "tokio-pingpong" => current_thread(pingpong::<Tk>(n)),
        "tracked-1to1" => tracked(move || joined_1to1(n)),
        "tracked-pingpong" => tracked(move || joined_pingpong(n)),
        "shuttle-exec" => {
            Check::new("count/shuttle")
                .seed(1)
                .shuttle(n as usize)
                .run(|| crate::explore::lp_program(2, 3, Some(1)))
                .unwrap_or_else(|f| panic!("the shuttle run failed:\n{f}"));
        }
        "shuttle-direct" => {
            let count = Arc::new(AtomicUsize::new(0));
            let c = count.clone();
            shuttle::check_random_with_seed(
                move || {
                    c.fetch_add(1, Ordering::Relaxed);
                    crate::explore::shuttle_program(2, 3, 1)
                },
                1,
                n as usize,
            );
            assert_eq!(count.load(Ordering::Relaxed) as u64, n);
        }
        _ => unreachable!("workload names are checked by the caller"),
    }
}

fn current_thread<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// Runs `body` once in a tokio check (tracking on).
fn tracked<F, Fut>(body: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Check::new("count/tracked")
        .tokio(1)
        .run(body)
        .unwrap_or_else(|f| panic!("the tracked run failed:\n{f}"));
}

/// The few operations the spawned workloads use, on leakproof or on tokio.
trait Ops: 'static {
    type Tx: Clone + Send + 'static;
    type Rx: Send + 'static;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
    fn spawn(f: impl Future<Output = ()> + Send + 'static) -> impl Future<Output = ()>;
}

struct Lp;

impl Ops for Lp {
    type Tx = chan::Sender<u64>;
    type Rx = chan::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        chan::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver alive")
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
        rx.recv()
    }
    fn spawn(f: impl Future<Output = ()> + Send + 'static) -> impl Future<Output = ()> {
        let h = task::spawn(f);
        async move { h.await.expect("task finished") }
    }
}

struct Tk;

impl Ops for Tk {
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
    fn spawn(f: impl Future<Output = ()> + Send + 'static) -> impl Future<Output = ()> {
        let h = tokio::spawn(f);
        async move { h.await.expect("task finished") }
    }
}

/// `producers` spawned tasks send `n` values in all over bounded(128); a spawned task
/// receives them.
async fn spawned<C: Ops>(producers: u64, n: u64) {
    let (tx, mut rx) = C::bounded(128);
    let consumer = C::spawn(async move {
        let mut got = 0;
        while let Some(v) = C::recv(&mut rx).await {
            black_box(v);
            got += 1;
        }
        assert_eq!(got, n, "every message arrives");
    });
    let per = n / producers;
    let mut joins = Vec::new();
    for p in 0..producers {
        let tx = tx.clone();
        let count = if p == 0 {
            n - per * (producers - 1)
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
}

/// `n` round trips over two rendezvous channels between two spawned tasks.
async fn pingpong<C: Ops>(n: u64) {
    let (ping_tx, mut ping_rx) = C::bounded(0);
    let (pong_tx, mut pong_rx) = C::bounded(0);
    let echo = C::spawn(async move {
        while let Some(v) = C::recv(&mut ping_rx).await {
            C::send(&pong_tx, v).await;
        }
    });
    let pinger = C::spawn(async move {
        for i in 0..n {
            C::send(&ping_tx, i).await;
            assert_eq!(C::recv(&mut pong_rx).await, Some(i), "the echo answers");
        }
    });
    pinger.await;
    echo.await;
}

/// 1→1 over bounded(16), producer and consumer joined inside the body (one task, one thread).
async fn joined_1to1(n: u64) {
    let (tx, rx) = chan::bounded(16);
    let producer = async move {
        for i in 0..n {
            tx.send(i).await.expect("receiver alive");
        }
    };
    let consumer = async move {
        let mut got = 0;
        while let Some(v) = rx.recv().await {
            black_box(v);
            got += 1;
        }
        assert_eq!(got, n, "every message arrives");
    };
    tokio::join!(producer, consumer);
}

/// Rendezvous ping-pong, both sides joined inside the body (one task, one thread).
async fn joined_pingpong(n: u64) {
    let (ping_tx, ping_rx) = chan::bounded(0);
    let (pong_tx, pong_rx) = chan::bounded(0);
    let echo = async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v).await.expect("pinger alive");
        }
    };
    let pinger = async move {
        for i in 0..n {
            ping_tx.send(i).await.expect("echo alive");
            assert_eq!(pong_rx.recv().await, Some(i), "the echo answers");
        }
        drop(ping_tx);
    };
    tokio::join!(echo, pinger);
}
