//! Go's channel conformance programs, rewritten for `harness::chan` and `harness::select!`.
//!
//! The scenarios are those of Go's `test/chan/*.go` programs (doubleselect, fifo, goroutines,
//! nonblock, select, select3, select4, select6, select7, sieve1, zerosize) and of
//! `runtime/chan_test.go` (the non-blocking select races, self-select, select stress, select
//! fairness, pseudo-random send, duplicate arms, multi-consumer), plus the guarantees that are
//! specific to this crate's `select!`: a losing arm consumes nothing, a waiting select is one
//! pending operation in the tracking registry, and a select nobody can serve is a deadlock.
//!
//! Every test runs under loom (at a size loom can exhaust: at most four spawned tasks, with a
//! preemption bound where the model has several tasks), shuttle's random scheduler, shuttle's
//! PCT scheduler and a real tokio runtime; the one statistical test (select fairness) runs on
//! tokio only. Bodies take a [`Scale`] so that a model is small under loom and larger
//! elsewhere. Go's `nil` channel (a case that is never ready) is a channel nobody serves:
//! a send to a rendezvous channel whose receiver is alive but never reads, or a receive from a
//! channel whose sender is alive but never writes.
//!
//! Every test passes under every checker; none is ignored. A regression in the harness's
//! channels or `select!` shows as a failing test naming the checker and its replay token.
//!
//! Debugging aids (environment variables): `GOLANG_TIMING` prints each checker's executions
//! and time, `GOLANG_LOOM_BOUND=<n>|none` overrides every loom preemption bound, and
//! `GOLANG_TRACE` turns on `Check::trace`.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use harness::chan::{self, Receiver, SendError, Sender, TryRecvError, TrySendError};
use harness::check::{Check, Checker, Failure, FailureKind};
use harness::task;

use crate::common;

use common::{yield_a_few, Tally};

// ---------------------------------------------------------------------------------------
// The suite's helpers
// ---------------------------------------------------------------------------------------

/// The checkers every test runs under, in order.
const CHECKERS: [Checker; 4] = [
    Checker::Loom,
    Checker::Shuttle,
    Checker::Pct,
    Checker::Tokio,
];

/// How big a model should be: small under loom (which explores every interleaving), larger
/// under shuttle, PCT and tokio.
#[derive(Clone, Copy, Debug)]
struct Scale {
    loom: bool,
    /// On a real runtime a yield does not wait for other threads: spinning loops need more
    /// rounds before they may conclude that another task never shows up.
    tokio: bool,
}

impl Scale {
    /// `small` under loom, `large` elsewhere.
    fn pick<T>(self, small: T, large: T) -> T {
        if self.loom {
            small
        } else {
            large
        }
    }
}

/// One conformance test: a name and the bounds of each checker.
struct Suite {
    name: String,
    /// loom's preemption bound; `None` explores every interleaving.
    loom_bound: Option<usize>,
    shuttle: usize,
    pct: usize,
    tokio: usize,
    /// The checkers this test runs under, in order.
    checkers: Vec<Checker>,
}

fn suite(name: impl Into<String>) -> Suite {
    Suite {
        name: name.into(),
        loom_bound: None,
        shuttle: 200,
        pct: 200,
        tokio: 3,
        checkers: CHECKERS.to_vec(),
    }
}

impl Suite {
    /// Bounds loom's preemptions, for models with several tasks.
    fn loom_bound(mut self, bound: usize) -> Suite {
        self.loom_bound = Some(bound);
        self
    }

    /// Fewer (or more) shuttle and PCT executions, for the larger models.
    fn iterations(mut self, shuttle: usize, pct: usize) -> Suite {
        self.shuttle = shuttle;
        self.pct = pct;
        self
    }

    /// How many tokio executions (real threads: for races the models cannot show).
    fn tokio_runs(mut self, runs: usize) -> Suite {
        self.tokio = runs;
        self
    }

    /// The loom preemption bound, unless `GOLANG_LOOM_BOUND` overrides it.
    fn loom_bound_or_env(&self) -> Option<usize> {
        match std::env::var("GOLANG_LOOM_BOUND").as_deref() {
            Ok("none") => None,
            Ok(b) => Some(b.parse().expect("GOLANG_LOOM_BOUND: a number or `none`")),
            Err(_) => self.loom_bound,
        }
    }

    fn check(&self, checker: Checker) -> Check {
        let check = Check::new(format!("{} [{checker}]", self.name))
            .trace(std::env::var_os("GOLANG_TRACE").is_some());
        match checker {
            Checker::Loom => check.loom().preemption_bound(self.loom_bound_or_env()),
            Checker::Shuttle => check.shuttle(self.shuttle),
            Checker::Pct => check.pct(self.pct, 3),
            Checker::Tokio => check.tokio(self.tokio),
            Checker::Replay => unreachable!("the suite never replays"),
        }
    }

    /// Runs `body` under each checker in turn; panics naming the checker whose run failed.
    fn run<F, Fut>(self, body: F)
    where
        F: Fn(Scale) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let body = Arc::new(body);
        for &checker in &self.checkers {
            let b = body.clone();
            let scale = Scale {
                loom: checker == Checker::Loom,
                tokio: checker == Checker::Tokio,
            };
            let timing = std::env::var_os("GOLANG_TIMING").is_some();
            if timing {
                eprintln!("[{}] {checker} ...", self.name);
            }
            let res = self.check(checker).run(move || b(scale));
            if timing {
                if let Ok(stats) = &res {
                    eprintln!("[{}] {checker} {:?}", self.name, stats.checkers);
                }
            }
            match res {
                Ok(stats) => assert!(
                    stats.executions > 0,
                    "{}: {checker} ran no execution",
                    self.name
                ),
                Err(f) => panic!(
                    "{}: failed under {checker} ({:?}, execution {}):\n{f}",
                    self.name, f.kind, f.execution
                ),
            }
        }
    }

    /// Runs `body` under each checker and requires each run to fail with `kind`, found by
    /// that checker. Returns the failures, for checks on their reports.
    fn expect<F, Fut>(self, kind: FailureKind, body: F) -> Vec<Failure>
    where
        F: Fn(Scale) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let body = Arc::new(body);
        let mut failures = Vec::new();
        for &checker in &self.checkers {
            let b = body.clone();
            let scale = Scale {
                loom: checker == Checker::Loom,
                tokio: checker == Checker::Tokio,
            };
            match self.check(checker).run(move || b(scale)) {
                Ok(stats) => panic!(
                    "{}: {checker} passed ({stats:?}) but should find {kind:?}",
                    self.name
                ),
                Err(f) => {
                    assert_eq!(
                        f.kind, kind,
                        "{}: {checker} found the wrong failure:\n{f}",
                        self.name
                    );
                    assert_eq!(f.checker, checker, "{}: wrong checker:\n{f}", self.name);
                    failures.push(f);
                }
            }
        }
        failures
    }
}

/// Polls `fut` once, with a waker that does nothing: `Some(output)` if it completed at once
/// (did not block), `None` if it would block. The future is dropped either way, which
/// withdraws a pending operation.
fn poll_now<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// Whether `fut` would block (does not complete on its first poll).
fn blocks<F: Future>(fut: F) -> bool {
    poll_now(fut).is_none()
}

/// Go's `nil` channel for sends: a rendezvous channel whose receiver is alive but never
/// reads. Keep the receiver for as long as the sender is used.
fn dead_send<T: Send>() -> (Sender<T>, Receiver<T>) {
    chan::bounded(0)
}

/// Go's `nil` channel for receives: a channel whose sender is alive but never writes.
fn dead_recv<T: Send>() -> (Sender<T>, Receiver<T>) {
    chan::bounded(0)
}

/// The id the tracking layer gives a channel (`Receiver(channel #3)` → 3).
fn channel_id<T>(rx: &Receiver<T>) -> u64 {
    let text = format!("{rx:?}");
    text.trim_start_matches("Receiver(channel #")
        .trim_end_matches(')')
        .parse()
        .unwrap_or_else(|_| panic!("unexpected Receiver debug form {text:?}"))
}

const PRIMES: [u32; 15] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47];

// ---------------------------------------------------------------------------------------
// test/chan/doubleselect.go: a select fires exactly one case
// ---------------------------------------------------------------------------------------

/// Sends `v` through exactly one of `chans` with one select; returns the arm that fired.
async fn send_through_one(chans: &[Sender<u32>], v: u32) -> usize {
    match chans {
        [a, b] => harness::select! {
            r = a.send(v) => { r.unwrap(); 0 }
            r = b.send(v) => { r.unwrap(); 1 }
        },
        [a, b, c, d] => harness::select! {
            r = a.send(v) => { r.unwrap(); 0 }
            r = b.send(v) => { r.unwrap(); 1 }
            r = c.send(v) => { r.unwrap(); 2 }
            r = d.send(v) => { r.unwrap(); 3 }
        },
        _ => unreachable!("two or four channels"),
    }
}

/// Receives from two channels with one select per value until both are closed; returns
/// (channel, value) pairs.
async fn demux_two(a: Receiver<u32>, b: Receiver<u32>) -> Vec<(usize, u32)> {
    let (_keep, never) = dead_recv::<u32>();
    let (mut a_open, mut b_open) = (true, true);
    let mut got = Vec::new();
    while a_open || b_open {
        let ra = if a_open { a.clone() } else { never.clone() };
        let rb = if b_open { b.clone() } else { never.clone() };
        harness::select! {
            v = ra.recv() => match v {
                Some(v) => got.push((0, v)),
                None => a_open = false,
            },
            v = rb.recv() => match v {
                Some(v) => got.push((1, v)),
                None => b_open = false,
            },
        }
    }
    got
}

#[test]
fn doubleselect_every_value_is_received_exactly_once() {
    // One sender select-sends 0..n over several rendezvous channels. If two cases of one
    // select fired, a value would arrive twice; if a case fired without delivering, a value
    // would be lost; and the channel each value arrived on must be the case the sender saw
    // fire. Under loom the body receives from both channels with a select of its own;
    // elsewhere, as in Go, one mux task per channel forwards what it receives.
    suite("doubleselect").loom_bound(2).run(|s| async move {
        let n: u32 = s.pick(2, 40);
        let ways = s.pick(2, 4);
        let (mut txs, mut rxs) = (Vec::new(), Vec::new());
        for _ in 0..ways {
            let (tx, rx) = chan::bounded::<u32>(0);
            txs.push(tx);
            rxs.push(rx);
        }
        let sender = task::spawn_named("sender", async move {
            let mut fired = Vec::new();
            for v in 0..n {
                fired.push((send_through_one(&txs, v).await, v));
            }
            fired // dropping `txs` closes every channel
        });
        let mut got = Vec::new();
        if s.loom {
            let b = rxs.pop().expect("two channels");
            let a = rxs.pop().expect("two channels");
            got = demux_two(a, b).await;
        } else {
            let (out_tx, out_rx) = chan::unbounded::<(usize, u32)>();
            let muxes: Vec<_> = rxs
                .into_iter()
                .enumerate()
                .map(|(k, rx)| {
                    let out = out_tx.clone();
                    task::spawn_named(format!("mux{k}"), async move {
                        while let Some(v) = rx.recv().await {
                            out.send((k, v)).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(out_tx);
            while let Some(kv) = out_rx.recv().await {
                got.push(kv);
            }
            for m in muxes {
                m.await.unwrap();
            }
        }
        let mut fired = sender.await.unwrap();
        got.sort_unstable_by_key(|&(_, v)| v);
        fired.sort_unstable_by_key(|&(_, v)| v);
        assert_eq!(
            got, fired,
            "values received (channel, value) != cases fired"
        );
        assert_eq!(
            got.iter().map(|&(_, v)| v).collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>(),
            "every value exactly once"
        );
    });
}

// ---------------------------------------------------------------------------------------
// test/chan/fifo.go
// ---------------------------------------------------------------------------------------

#[test]
fn fifo_asynchronous_buffer_keeps_order() {
    suite("fifo-async").run(|s| async move {
        let n: u32 = s.pick(4, 10);
        let (tx, rx) = chan::bounded::<u32>(n as usize);
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
        assert_eq!(rx.len(), n as usize);
        for i in 0..n {
            assert_eq!(rx.recv().await, Some(i), "out of order");
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

/// fifo.go's SynchFifo: a daisy chain of tasks, each waiting for its predecessor's token
/// before reading one value from the shared channel, so the values are read in order.
async fn daisy_chain(links: u32, cap: usize) {
    let (ch_tx, ch_rx) = chan::bounded::<u32>(cap);
    let (start_tx, first_in) = chan::bounded::<()>(0);
    let mut input = first_in;
    let mut tasks = Vec::new();
    for i in 0..links {
        let (out_tx, out_rx) = chan::bounded::<()>(0);
        let my_in = std::mem::replace(&mut input, out_rx);
        let ch_rx = ch_rx.clone();
        tasks.push(task::spawn_named(format!("link{i}"), async move {
            assert_eq!(my_in.recv().await, Some(()), "link {i}: no token");
            assert_eq!(ch_rx.recv().await, Some(i), "link {i} read out of order");
            out_tx.send(()).await.unwrap();
        }));
    }
    drop(ch_rx);
    start_tx.send(()).await.unwrap();
    for i in 0..links {
        ch_tx.send(i).await.unwrap();
    }
    assert_eq!(input.recv().await, Some(()), "the chain's end token");
    for t in tasks {
        t.await.unwrap();
    }
}

#[test]
fn fifo_synchronous_daisy_chain() {
    suite("fifo-daisy-rendezvous")
        .loom_bound(2)
        .run(|s| daisy_chain(s.pick(2, 10), 0));
}

#[test]
fn fifo_buffered_daisy_chain() {
    suite("fifo-daisy-buffered")
        .loom_bound(1)
        .run(|s| async move {
            let links = s.pick(3, 10);
            daisy_chain(links, links as usize).await
        });
}

// ---------------------------------------------------------------------------------------
// test/chan/goroutines.go: a chain of tasks passing one value along
// ---------------------------------------------------------------------------------------

#[test]
fn goroutines_chain_passes_one_value_along() {
    suite("goroutines").loom_bound(2).run(|s| async move {
        let n: u32 = s.pick(2, 60);
        let (leftmost_tx, leftmost_rx) = chan::bounded::<u32>(0);
        let mut left = leftmost_tx;
        for i in 0..n {
            let (right_tx, right_rx) = chan::bounded::<u32>(0);
            let to_left = std::mem::replace(&mut left, right_tx);
            task::spawn_named(format!("hop{i}"), async move {
                let v = right_rx.recv().await.expect("a value from the right");
                to_left.send(v + 1).await.unwrap();
            });
        }
        task::spawn_named("feeder", async move { left.send(1).await.unwrap() });
        // Each hop adds one: the value went through every task, once.
        assert_eq!(leftmost_rx.recv().await, Some(1 + n));
        assert_eq!(leftmost_rx.recv().await, None, "the chain is done");
    });
}

// ---------------------------------------------------------------------------------------
// test/chan/nonblock.go: non-blocking operations never block, and succeed exactly when a
// blocking one would complete at once
// ---------------------------------------------------------------------------------------

#[test]
fn nonblock_operations_on_idle_channels() {
    suite("nonblock-idle").run(|_| async {
        for cap in [0usize, 1, 3] {
            let (tx, rx) = chan::bounded::<u32>(cap);
            // Nothing to receive: try_recv and select-with-default report it at once.
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
            let got = harness::select! {
                v = rx.recv() => Some(v),
                default => None,
            };
            assert_eq!(
                got, None,
                "cap {cap}: a receive from an empty channel fired"
            );
            // Sends succeed exactly while there is room (never on a rendezvous channel with
            // no receiver).
            for i in 0..cap as u32 {
                let sent = harness::select! {
                    r = tx.send(i) => { r.unwrap(); true }
                    default => false,
                };
                assert!(sent, "cap {cap}: a send with room took the default");
            }
            let sent = harness::select! {
                r = tx.send(99) => { r.unwrap(); true }
                default => false,
            };
            assert!(!sent, "cap {cap}: a send into a full channel fired");
            assert_eq!(tx.try_send(98), Err(TrySendError::Full(98)), "cap {cap}");
            assert_eq!(rx.len(), cap, "failed sends must not grow the buffer");
            // And the values that went in come out, in order, without blocking.
            for i in 0..cap as u32 {
                let got = harness::select! {
                    v = rx.recv() => v,
                    default => None,
                };
                assert_eq!(got, Some(i), "cap {cap}");
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
        }
    });
}

#[test]
fn nonblock_receive_takes_from_a_parked_sender() {
    // A non-blocking receive on a rendezvous channel succeeds when a sender is parked in send
    // (here a send future of the body itself, polled once), and the send then completes.
    suite("nonblock-recv-parked-sender").run(|_| async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let mut cx = Context::from_waker(Waker::noop());
        let mut send = pin!(tx.send(7));
        assert!(
            send.as_mut().poll(&mut cx).is_pending(),
            "nobody receives yet"
        );
        let got = harness::select! {
            v = rx.recv() => v,
            default => None,
        };
        assert_eq!(got, Some(7), "a parked sender's value is ready");
        assert!(matches!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        // The same with try_recv.
        let mut send = pin!(tx.send(8));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert_eq!(rx.try_recv(), Ok(8));
        assert!(matches!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn nonblock_send_reaches_a_parked_receiver() {
    // Go's nonblock.go: `select { case c <- v: default: }` succeeds once a receiver is
    // blocked in `<-c`. Here the receiver is a receive future of the body, polled once.
    suite("nonblock-send-parked-receiver").run(|_| async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let mut cx = Context::from_waker(Waker::noop());
        let mut recv = pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending(), "nothing sent yet");
        let sent = harness::select! {
            r = tx.send(5) => { r.unwrap(); true }
            default => false,
        };
        assert!(
            sent,
            "a receiver is parked: the non-blocking send must succeed"
        );
        assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(5)));
    });
}

/// nonblock.go's loops: a non-blocking receive is retried until a sender task shows up.
#[test]
fn nonblock_receive_loop_meets_a_sender_task() {
    for cap in [0usize, 1] {
        suite(format!("nonblock-recv-loop-cap{cap}")).run(move |_| async move {
            let (tx, rx) = chan::bounded::<u32>(cap);
            let sender = task::spawn_named("sender", async move { tx.send(123).await });
            let v = loop {
                harness::select! {
                    v = rx.recv() => break v,
                    default => task::yield_now().await,
                }
            };
            assert_eq!(v, Some(123));
            assert_eq!(sender.await.unwrap(), Ok(()));
        });
    }
}

/// nonblock.go's loops: a non-blocking send is retried until a receiver task takes it.
#[test]
fn nonblock_send_loop_meets_a_buffered_receiver_task() {
    suite("nonblock-send-loop-cap1").run(|_| async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let receiver = task::spawn_named("receiver", async move { rx.recv().await });
        loop {
            harness::select! {
                r = tx.send(123) => { r.unwrap(); break }
                default => task::yield_now().await,
            }
        }
        assert_eq!(receiver.await.unwrap(), Some(123));
    });
}

#[test]
fn nonblock_send_loop_meets_a_rendezvous_receiver_task() {
    suite("nonblock-send-loop-cap0").run(|s| async move {
        // The models schedule the receiver within a few yields; a tokio worker thread may
        // take milliseconds to start.
        let max_tries: u64 = if s.tokio { 50_000_000 } else { 5_000 };
        let (tx, rx) = chan::bounded::<u32>(0);
        let receiver = task::spawn_named("receiver", async move { rx.recv().await });
        let mut tries = 0u64;
        loop {
            harness::select! {
                r = tx.send(123) => { r.unwrap(); break }
                default => {
                    tries += 1;
                    assert!(tries < max_tries, "the send never met the parked receiver");
                    task::yield_now().await;
                }
            }
        }
        assert_eq!(receiver.await.unwrap(), Some(123));
    });
}

#[test]
fn nonblock_try_send_to_a_parked_select_succeeds_at_most_once() {
    // Go: a select parked on two unbuffered channels can take only one value; a non-blocking
    // send to the second channel after the first one paired must fail.
    suite("try-send-parked-select")
        .loom_bound(2)
        .run(|_| async {
            let (a_tx, a_rx) = chan::bounded::<u32>(0);
            let (b_tx, b_rx) = chan::bounded::<u32>(0);
            let selector = task::spawn_named("selector", async move {
                harness::select! {
                    v = a_rx.recv() => (0, v),
                    v = b_rx.recv() => (1, v),
                }
            });
            loop {
                let snap = harness::track::snapshot();
                if snap.waits.iter().any(|w| w.op.starts_with("select {")) {
                    break;
                }
                task::yield_now().await;
            }
            let a_ok = a_tx.try_send(1).is_ok();
            let b_ok = b_tx.try_send(2).is_ok();
            let (arm, v) = selector.await.unwrap();
            assert!(
                a_ok,
                "the select was parked: the first try_send must reach it"
            );
            assert!(!b_ok, "b: a second try_send succeeded for one select");
            assert_eq!((arm, v), (0, Some(1)));
            assert_eq!(
                (a_tx.len(), b_tx.len()),
                (0, 0),
                "a rendezvous channel buffered"
            );
        });
}

// ---------------------------------------------------------------------------------------
// test/chan/select.go: send arms, default, disabled arms, arm expressions evaluated once
// ---------------------------------------------------------------------------------------

#[test]
fn select_send_arms_default_and_disabled_arms() {
    suite("select-go").run(|_| async {
        let counter = std::cell::Cell::new(0u32);
        let shift = std::cell::Cell::new(0u32);
        // Every arm's expression is evaluated once per select, as Go evaluates every case's
        // channel and value on entry.
        let value = || {
            counter.set(counter.get() + 1);
            1u32 << shift.get()
        };
        let (dead_tx, _dead_rx) = dead_send::<u32>();
        // Sends on `a` and `b` until neither is ready; a used channel becomes a dead one (Go
        // sets it to nil), whose arm must never fire. Returns how many sends fired.
        let send = |a: Option<Sender<u32>>, b: Option<Sender<u32>>| {
            let dead = dead_tx.clone();
            let value = &value;
            let shift = &shift;
            async move {
                let (mut a, mut b) = (a, b);
                let mut fired = 0;
                loop {
                    let ta = a.clone().unwrap_or_else(|| dead.clone());
                    let tb = b.clone().unwrap_or_else(|| dead.clone());
                    harness::select! {
                        r = ta.send(value()) => {
                            r.unwrap();
                            assert!(a.is_some(), "a disabled arm fired");
                            fired += 1;
                            a = None;
                        }
                        r = tb.send(value()) => {
                            r.unwrap();
                            assert!(b.is_some(), "a disabled arm fired");
                            fired += 1;
                            b = None;
                        }
                        default => break,
                    }
                    shift.set(shift.get() + 1);
                }
                fired
            }
        };
        let (a_tx, a_rx) = chan::bounded::<u32>(1);
        let (b_tx, b_rx) = chan::bounded::<u32>(1);
        assert_eq!(send(Some(a_tx.clone()), Some(b_tx.clone())).await, 2);
        let (av, bv) = (a_rx.recv().await.unwrap(), b_rx.recv().await.unwrap());
        assert_eq!(av | bv, 3, "one value per select, shifted between selects");
        assert_eq!(send(Some(a_tx), None).await, 1);
        assert_eq!(
            counter.get(),
            10,
            "each arm expression evaluated once per select"
        );
        assert_eq!(a_rx.try_recv(), Ok(1 << 2), "sent after two shifts");
        assert_eq!(b_rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn select_disabled_arm_never_fires_against_a_live_peer() {
    // A blocking select over a live channel and channels nobody serves: whatever the
    // interleaving, only the live arm fires.
    suite("select-disabled-arm").loom_bound(3).run(|s| async move {
        let rounds: u32 = s.pick(2, 20);
        let (tx, rx) = chan::bounded::<u32>(0);
        let (_never_tx, never_rx) = dead_recv::<u32>();
        let (out_dead_tx, _out_dead_rx) = dead_send::<u32>();
        let producer = task::spawn_named("producer", async move {
            for i in 0..rounds {
                tx.send(i).await.unwrap();
            }
        });
        for i in 0..rounds {
            harness::select! {
                v = never_rx.recv() => panic!("a receive from a channel nobody sends on fired: {v:?}"),
                v = rx.recv() => assert_eq!(v, Some(i)),
                r = out_dead_tx.send(i) => panic!("a send nobody receives fired: {r:?}"),
            }
        }
        producer.await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------
// test/chan/select3.go: the table of what blocks and what does not
// ---------------------------------------------------------------------------------------

#[test]
fn select3_what_blocks_and_what_does_not() {
    suite("select3-table").run(|_| async {
        // Channels nobody serves (Go's nil channel): plain operations and selects block.
        let (never_tx, never_rx) = dead_recv::<u32>();
        let (dead_tx, dead_rx) = dead_send::<u32>();
        assert!(blocks(never_rx.recv()), "recv nobody serves");
        assert!(blocks(dead_tx.send(7)), "send nobody serves");
        assert!(blocks(async {
            harness::select! { _ = never_rx.recv() => unreachable!() }
        }));
        assert!(blocks(async {
            harness::select! { _ = dead_tx.send(7) => unreachable!() }
        }));
        assert!(blocks(async {
            harness::select! {
                _ = never_rx.recv() => unreachable!(),
                _ = dead_tx.send(7) => unreachable!(),
            }
        }));
        // The empty select blocks forever.
        assert!(blocks(async {
            harness::select! {}
        }));
        // A failed poll left nothing behind.
        assert_eq!(dead_rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!((never_tx.len(), dead_tx.len()), (0, 0));

        // A closed channel never blocks a receive: it yields None at once.
        let (closed_tx, closed_rx) = chan::bounded::<u32>(0);
        closed_tx.close();
        assert_eq!(poll_now(closed_rx.recv()), Some(None));
        assert_eq!(closed_rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(
            poll_now(async {
                let mut n = 0;
                while closed_rx.recv().await.is_some() {
                    n += 1;
                }
                n
            }),
            Some(0),
            "a range over a closed channel ends at once"
        );
        assert_eq!(
            poll_now(async {
                harness::select! { v = closed_rx.recv() => v }
            }),
            Some(None)
        );
        assert_eq!(
            poll_now(async {
                harness::select! {
                    v = closed_rx.recv() => v,
                    _ = dead_tx.send(7) => unreachable!(),
                }
            }),
            Some(None),
            "the closed receive fires, the dead send does not"
        );
        assert_eq!(
            poll_now(async {
                harness::select! {
                    v = closed_rx.recv() => Some(v),
                    default => None,
                }
            }),
            Some(Some(None)),
            "a select with default takes the closed receive, not the default"
        );

        // A select never matches its own send with its own receive.
        let (c_tx, c_rx) = chan::bounded::<u32>(0);
        assert!(blocks(async {
            harness::select! {
                _ = c_tx.send(1) => unreachable!(),
                _ = c_rx.recv() => unreachable!(),
            }
        }));
        let self_default = harness::select! {
            r = c_tx.send(1) => panic!("self send fired: {r:?}"),
            v = c_rx.recv() => panic!("self receive fired: {v:?}"),
            default => true,
        };
        assert!(self_default);
        assert_eq!(c_rx.try_recv(), Err(TryRecvError::Empty));
        // With a buffer, the send (when empty) or the receive (when full) goes ahead.
        let (b_tx, b_rx) = chan::bounded::<u32>(1);
        let first = poll_now(async {
            harness::select! {
                r = b_tx.send(1) => { r.unwrap(); "send" }
                v = b_rx.recv() => { assert_eq!(v, None); "recv" }
            }
        });
        assert_eq!(first, Some("send"), "an empty buffered channel has room");
        let second = poll_now(async {
            harness::select! {
                r = b_tx.send(2) => { r.unwrap(); "send" }
                v = b_rx.recv() => { assert_eq!(v, Some(1)); "recv" }
            }
        });
        assert_eq!(second, Some("recv"), "a full buffered channel has a value");

        // Buffered channels: receive from empty blocks, send with room does not, send to
        // full blocks.
        let (tx1, rx1) = chan::bounded::<u32>(1);
        assert!(blocks(rx1.recv()));
        assert_eq!(poll_now(tx1.send(1)).map(|r| r.is_ok()), Some(true));
        assert!(blocks(tx1.send(2)));
        assert!(blocks(async {
            harness::select! { _ = tx1.send(2) => unreachable!() }
        }));
        assert_eq!(poll_now(rx1.recv()), Some(Some(1)));
    });
}

#[test]
fn select3_send_on_a_closed_channel_is_a_finding() {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    suite("select3-closed-send").expect(FailureKind::ClosedSend, move |_| {
        let t = t.clone();
        async move {
            let (tx, _rx) = chan::bounded::<u32>(1);
            tx.close();
            let r = harness::select! {
                r = tx.send(7) => r,
            };
            t.note(matches!(r, Err(SendError::Closed(7))));
        }
    });
    tally.assert_all_ok("a select send on a closed channel returns SendError::Closed");

    // With a default arm too: a closed channel makes the send arm ready (Go panics), so the
    // default is not taken.
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    let failures =
        suite("select3-closed-send-default").expect(FailureKind::ClosedSend, move |_| {
            let t = t.clone();
            async move {
                let (tx, _rx) = chan::bounded::<u32>(0);
                tx.close();
                let r = harness::select! {
                    r = tx.send(7) => Some(r),
                    default => None,
                };
                t.note(matches!(r, Some(Err(SendError::Closed(7)))));
            }
        });
    tally.assert_all_ok("a select send with default on a closed channel fires");
    for f in failures {
        assert!(f.report.contains("send on closed channel"), "{f}");
    }

    // A plain send, for comparison.
    suite("select3-closed-plain-send").expect(FailureKind::ClosedSend, |_| async {
        let (tx, _rx) = chan::bounded::<u32>(0);
        tx.close();
        let _ = tx.send(7).await;
    });
}

// ---------------------------------------------------------------------------------------
// test/chan/select4.go: the ready arm wins; the other arm's pattern and body never run
// ---------------------------------------------------------------------------------------

#[test]
fn select4_a_ready_value_is_taken() {
    select4(suite("select4").loom_bound(2));
}

fn select4(suite: Suite) {
    suite.run(|_| async {
        let (c_tx, c_rx) = chan::bounded::<u32>(1);
        let (_c1_tx, c1_rx) = dead_recv::<u32>();
        c_tx.send(42).await.unwrap();
        let mut bug = false;
        let x = harness::select! {
            _ = c1_rx.recv() => { bug = true; 0 }
            v = c_rx.recv() => v.unwrap(),
        };
        assert!(!bug, "the arm nobody serves ran");
        assert_eq!(x, 42);
        // The same with the value arriving from another task while the select waits.
        let (d_tx, d_rx) = chan::bounded::<u32>(0);
        let sender = task::spawn(async move { d_tx.send(43).await });
        let y = harness::select! {
            _ = c1_rx.recv() => { bug = true; 0 }
            v = d_rx.recv() => v.unwrap(),
        };
        assert!(!bug, "the arm nobody serves ran");
        assert_eq!(y, 43);
        assert_eq!(sender.await.unwrap(), Ok(()));
    });
}

// ---------------------------------------------------------------------------------------
// test/chan/select6.go (Go issue 2075): a failed arm does not corrupt the channel's queue
// ---------------------------------------------------------------------------------------

#[test]
fn select6_losing_recv_arm_keeps_the_receiver_queue_intact() {
    select6_recv(suite("select6-recv").loom_bound(2));
}

fn select6_recv(suite: Suite) {
    suite.run(|_| async {
        let (c1_tx, c1_rx) = chan::bounded::<bool>(0);
        let (c2_tx, c2_rx) = chan::bounded::<bool>(0);
        let (c3_tx, c3_rx) = chan::bounded::<bool>(0);
        let c1_rx2 = c1_rx.clone();
        let first = task::spawn_named("plain-recv", async move { c1_rx.recv().await });
        let selector = task::spawn_named("selector", async move {
            harness::select! {
                v = c1_rx2.recv() => panic!("c1 is not sent on before c3: {v:?}"),
                _ = c2_rx.recv() => c3_tx.send(true).await.unwrap(),
            }
            // After the lost c1 arm, a plain receive on c1 still pairs.
            c1_rx2.recv().await
        });
        task::spawn_named("c2-sender", async move { c2_tx.send(true).await.unwrap() });
        assert_eq!(c3_rx.recv().await, Some(true));
        c1_tx.send(true).await.unwrap();
        c1_tx.send(true).await.unwrap();
        assert_eq!(first.await.unwrap(), Some(true));
        assert_eq!(selector.await.unwrap(), Some(true));
    });
}

#[test]
fn select6_losing_send_arm_keeps_the_sender_queue_intact() {
    select6_send(suite("select6-send").loom_bound(2));
}

fn select6_send(suite: Suite) {
    suite.run(|_| async {
        let (c1_tx, c1_rx) = chan::bounded::<u32>(0);
        let (c2_tx, c2_rx) = chan::bounded::<()>(0);
        let (c3_tx, c3_rx) = chan::bounded::<()>(0);
        let c1_tx2 = c1_tx.clone();
        let first = task::spawn_named("plain-send", async move { c1_tx.send(1).await });
        let selector = task::spawn_named("selector", async move {
            harness::select! {
                r = c1_tx2.send(99) => panic!("c1 is not received from before c3: {r:?}"),
                _ = c2_rx.recv() => c3_tx.send(()).await.unwrap(),
            }
            // After the lost c1 arm, a plain send on c1 still pairs.
            c1_tx2.send(2).await
        });
        task::spawn_named("c2-sender", async move { c2_tx.send(()).await.unwrap() });
        assert_eq!(c3_rx.recv().await, Some(()));
        let mut got = [c1_rx.recv().await, c1_rx.recv().await];
        got.sort_unstable();
        assert_eq!(
            got,
            [Some(1), Some(2)],
            "the lost send (99) must not arrive"
        );
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(selector.await.unwrap(), Ok(()));
        assert_eq!(c1_rx.recv().await, None, "every sender is gone");
    });
}

/// runtime/chan_test.go TestSelectDuplicateChannel: a select with two arms on one channel
/// leaves it through a third; a later plain receiver on that channel is still served.
#[test]
fn select_duplicate_channel_arms_keep_the_queue_intact() {
    select_duplicate_channel(suite("select-duplicate-channel").loom_bound(2));
}

fn select_duplicate_channel(suite: Suite) {
    suite.run(|_| async {
        let (c_tx, c_rx) = chan::bounded::<u32>(0);
        let (d_tx, d_rx) = chan::bounded::<u32>(0);
        let (e_tx, e_rx) = chan::bounded::<u32>(0);
        let c_rx2 = c_rx.clone();
        task::spawn_named("selector", async move {
            harness::select! {
                v = c_rx.recv() => panic!("c fired first: {v:?}"),
                v = c_rx.recv() => panic!("c fired second: {v:?}"),
                v = d_rx.recv() => assert_eq!(v, Some(7)),
            }
            e_tx.send(9).await.unwrap();
        });
        let plain = task::spawn_named("plain-recv", async move { c_rx2.recv().await });
        d_tx.send(7).await.unwrap();
        assert_eq!(e_rx.recv().await, Some(9));
        c_tx.send(8).await.unwrap();
        assert_eq!(plain.await.unwrap(), Some(8));
    });
}

// ---------------------------------------------------------------------------------------
// test/chan/select7.go: receives and sends as plain operations and as select arms in
// various positions, in every combination
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum RecvStyle {
    Plain,
    OnlyArm,
    FirstOfTwo,
    LastOfThree,
}

#[derive(Clone, Copy, Debug)]
enum SendStyle {
    Plain,
    OnlyArm,
    LastOfTwo,
    FirstOfThree,
}

async fn recv_styled(style: RecvStyle, c: &Receiver<u32>) -> Option<u32> {
    let (_keep, never) = dead_recv::<u32>();
    let (_keep2, never2) = dead_recv::<u32>();
    match style {
        RecvStyle::Plain => c.recv().await,
        RecvStyle::OnlyArm => harness::select! { v = c.recv() => v },
        RecvStyle::FirstOfTwo => harness::select! {
            v = c.recv() => v,
            _ = never.recv() => unreachable!("dead arm"),
        },
        RecvStyle::LastOfThree => harness::select! {
            _ = never.recv() => unreachable!("dead arm"),
            _ = never2.recv() => unreachable!("dead arm"),
            v = c.recv() => v,
        },
    }
}

async fn send_styled(style: SendStyle, c: &Sender<u32>, v: u32) {
    let (dead, _keep) = dead_send::<u32>();
    let (dead2, _keep2) = dead_send::<u32>();
    match style {
        SendStyle::Plain => c.send(v).await.unwrap(),
        SendStyle::OnlyArm => harness::select! { r = c.send(v) => r.unwrap() },
        SendStyle::LastOfTwo => harness::select! {
            _ = dead.send(0) => unreachable!("dead arm"),
            r = c.send(v) => r.unwrap(),
        },
        SendStyle::FirstOfThree => harness::select! {
            r = c.send(v) => r.unwrap(),
            _ = dead.send(0) => unreachable!("dead arm"),
            _ = dead2.send(0) => unreachable!("dead arm"),
        },
    }
}

#[test]
fn select7_every_receive_style_meets_every_send_style() {
    use RecvStyle as R;
    use SendStyle as S;
    for recv in [R::Plain, R::OnlyArm, R::FirstOfTwo, R::LastOfThree] {
        for send in [S::Plain, S::OnlyArm, S::LastOfTwo, S::FirstOfThree] {
            suite(format!("select7-{recv:?}-{send:?}"))
                .iterations(50, 50)
                .run(move |_| async move {
                    let (tx, rx) = chan::bounded::<u32>(0);
                    let receiver =
                        task::spawn_named("receiver", async move { recv_styled(recv, &rx).await });
                    task::yield_now().await;
                    send_styled(send, &tx, 1).await;
                    assert_eq!(receiver.await.unwrap(), Some(1));
                });
        }
    }
}

// ---------------------------------------------------------------------------------------
// test/chan/sieve1.go: the prime sieve pipeline (bounded, so that every task ends)
// ---------------------------------------------------------------------------------------

#[test]
fn sieve_pipeline_yields_the_first_primes() {
    suite("sieve")
        .loom_bound(1)
        .iterations(100, 100)
        .run(|s| async move {
            // Under loom: 2..=5 gives the primes 2, 3, 5 with a generator and three filters.
            let limit: u32 = s.pick(5, 47);
            let (gen_tx, mut ch) = chan::bounded::<u32>(0);
            task::spawn_named("generate", async move {
                for i in 2..=limit {
                    gen_tx.send(i).await.unwrap();
                }
            });
            let mut primes = Vec::new();
            while let Some(prime) = ch.recv().await {
                primes.push(prime);
                let (out_tx, out_rx) = chan::bounded::<u32>(0);
                let input = std::mem::replace(&mut ch, out_rx);
                task::spawn_named(format!("filter{prime}"), async move {
                    while let Some(i) = input.recv().await {
                        if i % prime != 0 {
                            out_tx.send(i).await.unwrap();
                        }
                    }
                });
            }
            let want: Vec<u32> = PRIMES.iter().copied().filter(|&p| p <= limit).collect();
            assert_eq!(primes, want);
        });
}

// ---------------------------------------------------------------------------------------
// Zero-size values: channels of ()
// ---------------------------------------------------------------------------------------

#[test]
fn zero_size_values() {
    suite("zero-size").loom_bound(2).run(|s| async move {
        let n = s.pick(2, 20);
        // Buffered: units are counted like any value.
        let (tx, rx) = chan::bounded::<()>(n);
        for _ in 0..n {
            tx.send(()).await.unwrap();
        }
        assert_eq!(rx.len(), n);
        assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
        tx.close();
        for _ in 0..n {
            assert_eq!(rx.recv().await, Some(()));
        }
        assert_eq!(rx.recv().await, None);

        // Rendezvous and unbounded, through a task and a select.
        let (sync_tx, sync_rx) = chan::bounded::<()>(0);
        let (many_tx, many_rx) = chan::unbounded::<()>();
        let sender = task::spawn_named("units", async move {
            for _ in 0..n {
                sync_tx.send(()).await.unwrap();
                many_tx.send(()).await.unwrap();
            }
        });
        // Receive from both with a select until both are closed (a closed channel's arm is
        // then disabled: its receive would fire at once with None).
        let (_keep, never) = dead_recv::<()>();
        let (mut a, mut b) = (Some(0), Some(0));
        while a.is_some() || b.is_some() {
            let ra = if a.is_some() {
                sync_rx.clone()
            } else {
                never.clone()
            };
            let rb = if b.is_some() {
                many_rx.clone()
            } else {
                never.clone()
            };
            harness::select! {
                v = ra.recv() => match v {
                    Some(()) => *a.as_mut().expect("open") += 1,
                    None => assert_eq!(a.take(), Some(n), "every unit, then the close"),
                },
                v = rb.recv() => match v {
                    Some(()) => *b.as_mut().expect("open") += 1,
                    None => assert_eq!(b.take(), Some(n), "every unit, then the close"),
                },
            }
        }
        sender.await.unwrap();
        assert_eq!(many_rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(sync_rx.recv().await, None);
    });
}

// ---------------------------------------------------------------------------------------
// runtime/chan_test.go: non-blocking select races. The default is never taken while an
// arm is ready, nor while a channel is closed.
// ---------------------------------------------------------------------------------------

#[test]
fn nonblock_recv_race_default_never_taken_on_a_ready_or_closed_channel() {
    // TestNonblockRecvRace: the channel holds a value and is closed concurrently; a
    // non-blocking receive must see the value or the close, never "not ready".
    suite("nonblock-recv-race").run(|_| async {
        let (tx, rx) = chan::bounded::<u32>(1);
        tx.send(1).await.unwrap();
        let rx2 = rx.clone();
        let racer = task::spawn_named("racer", async move {
            harness::select! {
                v = rx2.recv() => Some(v),
                default => None,
            }
        });
        tx.close();
        let mine = rx.recv().await;
        let theirs = racer
            .await
            .unwrap()
            .expect("the default fired on a ready channel");
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(
            got,
            [None, Some(1)],
            "the one value went to exactly one receiver"
        );
    });
}

#[test]
fn nonblock_select_race_default_never_taken_while_an_arm_is_ready() {
    // TestNonblockSelectRace: at every moment at least one of c1 and c2 holds a value for
    // the racer.
    suite("nonblock-select-race").loom_bound(3).run(|_| async {
        let (c1_tx, c1_rx) = chan::bounded::<u32>(1);
        let (c2_tx, c2_rx) = chan::bounded::<u32>(1);
        c1_tx.send(1).await.unwrap();
        let (r1, r2) = (c1_rx.clone(), c2_rx.clone());
        let racer = task::spawn_named("racer", async move {
            harness::select! {
                v = r1.recv() => v,
                v = r2.recv() => v,
                default => None,
            }
        });
        c2_tx.send(2).await.unwrap();
        let mine = harness::select! {
            v = c1_rx.recv() => v,
            v = c2_rx.recv() => v,
        };
        let theirs = racer.await.unwrap();
        assert!(
            theirs.is_some(),
            "the default fired while a channel was ready"
        );
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [Some(1), Some(2)]);
        assert_eq!((c1_rx.len(), c2_rx.len()), (0, 0));
    });
}

#[test]
fn nonblock_select_race_default_never_taken_while_a_channel_is_closed() {
    // TestNonblockSelectRace2: as above, with c2 closed instead of filled.
    suite("nonblock-select-race2").loom_bound(3).run(|_| async {
        let (c1_tx, c1_rx) = chan::bounded::<u32>(1);
        let (c2_tx, c2_rx) = chan::bounded::<u32>(1);
        c1_tx.send(1).await.unwrap();
        let (r1, r2) = (c1_rx.clone(), c2_rx.clone());
        let racer = task::spawn_named("racer", async move {
            harness::select! {
                v = r1.recv() => Some(v),
                v = r2.recv() => Some(v),
                default => None,
            }
        });
        c2_tx.close();
        let mine = harness::select! {
            v = c1_rx.recv() => v,
            v = c2_rx.recv() => v,
        };
        let theirs = racer
            .await
            .unwrap()
            .expect("the default fired while a channel was ready or closed");
        let got = [mine, theirs];
        assert!(
            got.iter().filter(|v| **v == Some(1)).count() <= 1,
            "the one value was received twice: {got:?}"
        );
        assert!(got.iter().all(|v| matches!(v, None | Some(1))), "{got:?}");
    });
}

// ---------------------------------------------------------------------------------------
// runtime/chan_test.go TestSelfSelect: a select with a send and a receive on one channel
// never pairs with itself
// ---------------------------------------------------------------------------------------

#[test]
fn self_select_never_receives_its_own_value() {
    let suite = suite("self-select-cap0").loom_bound(2).iterations(100, 100);
    self_select(0, suite);
}

#[test]
fn self_select_on_a_buffered_channel_never_blocks() {
    let suite = suite("self-select-cap2").loom_bound(2).iterations(100, 100);
    self_select(2, suite);
}

/// Two tasks each run `rounds` selects that send to and receive from one channel, in
/// either arm order. On a rendezvous channel a select must pair with the other task's,
/// never with itself.
fn self_select(cap: usize, suite: Suite) {
    suite.run(move |s| async move {
        let rounds: u32 = s.pick(2, 30);
        let (tx, rx) = chan::bounded::<u32>(cap);
        let mut tasks = Vec::new();
        for p in 0..2u32 {
            let (tx, rx) = (tx.clone(), rx.clone());
            tasks.push(task::spawn_named(format!("self{p}"), async move {
                let mut own = 0;
                for i in 0..rounds {
                    let got = if p == 0 || i % 2 == 0 {
                        harness::select! {
                            r = tx.send(p) => { r.unwrap(); None }
                            v = rx.recv() => v,
                        }
                    } else {
                        harness::select! {
                            v = rx.recv() => v,
                            r = tx.send(p) => { r.unwrap(); None }
                        }
                    };
                    if got == Some(p) {
                        own += 1;
                    }
                }
                own
            }));
        }
        for t in tasks {
            let own = t.await.unwrap();
            if cap == 0 {
                assert_eq!(own, 0, "a select received its own send");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// runtime/chan_test.go TestSelectStress: selects and plain operations on a few channels;
// nothing deadlocks and every value sent is received once
// ---------------------------------------------------------------------------------------

/// Sends `n` values (tagged `tag`) on each of `chans` with one select per value; a channel
/// that has had its `n` becomes a dead arm.
async fn select_sender(chans: Vec<Sender<u32>>, dead: Sender<u32>, n: u32, tag: u32) {
    let mut left = vec![n; chans.len()];
    let mut seq = 0;
    while left.iter().any(|&l| l > 0) {
        let pick = |k: usize| {
            if left[k] > 0 {
                chans[k].clone()
            } else {
                dead.clone()
            }
        };
        let v = tag + seq;
        seq += 1;
        let k = match chans.len() {
            2 => {
                let (a, b) = (pick(0), pick(1));
                harness::select! {
                    r = a.send(v) => { r.unwrap(); 0 }
                    r = b.send(v) => { r.unwrap(); 1 }
                }
            }
            4 => {
                let (a, b, c, d) = (pick(0), pick(1), pick(2), pick(3));
                harness::select! {
                    r = a.send(v) => { r.unwrap(); 0 }
                    r = b.send(v) => { r.unwrap(); 1 }
                    r = c.send(v) => { r.unwrap(); 2 }
                    r = d.send(v) => { r.unwrap(); 3 }
                }
            }
            _ => unreachable!("two or four channels"),
        };
        assert!(left[k] > 0, "a dead arm fired");
        left[k] -= 1;
    }
}

/// Receives `n` values from each of `chans` with one select per value.
async fn select_receiver(chans: Vec<Receiver<u32>>, dead: Receiver<u32>, n: u32) -> Vec<u32> {
    let mut left = vec![n; chans.len()];
    let mut got = Vec::new();
    while left.iter().any(|&l| l > 0) {
        let pick = |k: usize| {
            if left[k] > 0 {
                chans[k].clone()
            } else {
                dead.clone()
            }
        };
        let (k, v) = match chans.len() {
            2 => {
                let (a, b) = (pick(0), pick(1));
                harness::select! {
                    v = a.recv() => (0, v),
                    v = b.recv() => (1, v),
                }
            }
            4 => {
                let (a, b, c, d) = (pick(0), pick(1), pick(2), pick(3));
                harness::select! {
                    v = a.recv() => (0, v),
                    v = b.recv() => (1, v),
                    v = c.recv() => (2, v),
                    v = d.recv() => (3, v),
                }
            }
            _ => unreachable!("two or four channels"),
        };
        assert!(left[k] > 0, "a dead arm fired");
        left[k] -= 1;
        got.push(v.expect("no channel closes during the stress"));
    }
    got
}

/// Selects on opposite ends of two rendezvous channels, all active at once: "forward" tasks
/// run `select { send x, recv y }`, "backward" tasks `select { recv x, send y }`, so every
/// round pairs one forward select with one backward select, on either channel. On tokio two
/// selects can try to win each other at the same moment (one must give its claim back);
/// a wake-up lost there leaves both parked for good, which the runs would report as a
/// deadlock or leak.
#[test]
fn opposite_selects_on_rendezvous_channels_always_pair() {
    suite("opposite-selects")
        .loom_bound(2)
        .iterations(100, 100)
        .tokio_runs(20)
        .run(|s| async move {
            let pairs: usize = s.pick(1, 3);
            let rounds: u32 = s.pick(2, if s.tokio { 400 } else { 20 });
            let (x_tx, x_rx) = chan::bounded::<u32>(0);
            let (y_tx, y_rx) = chan::bounded::<u32>(0);
            let mut tasks = Vec::new();
            for p in 0..pairs {
                let (x_tx, y_rx) = (x_tx.clone(), y_rx.clone());
                tasks.push(task::spawn_named(format!("forward{p}"), async move {
                    let mut got = 0u32;
                    for i in 0..rounds {
                        harness::select! {
                            r = x_tx.send(i) => r.unwrap(),
                            v = y_rx.recv() => { v.unwrap(); got += 1; }
                        }
                    }
                    got
                }));
                let (x_rx, y_tx) = (x_rx.clone(), y_tx.clone());
                tasks.push(task::spawn_named(format!("backward{p}"), async move {
                    let mut got = 0u32;
                    for i in 0..rounds {
                        harness::select! {
                            v = x_rx.recv() => { v.unwrap(); got += 1; }
                            r = y_tx.send(i) => r.unwrap(),
                        }
                    }
                    got
                }));
            }
            let mut received = 0;
            for t in tasks {
                received += t.await.unwrap();
            }
            // Every round of every task is one half of a pairing.
            assert_eq!(received, rounds * pairs as u32);
        });
}

#[test]
fn select_stress_conserves_every_value() {
    // loom at preemption bound 1 (bound 2 takes about ten seconds).
    select_stress(suite("select-stress").loom_bound(1).iterations(100, 100));
}

fn select_stress(suite: Suite) {
    suite.run(|s| async move {
        // loom: channels of capacity 0 and 1; a select sender and a select receiver on
        // both, a plain sender and a plain receiver (the body) on the first.
        // Elsewhere: Go's capacities 0, 0, 2, 3 and a plain sender and receiver on each.
        let caps: Vec<usize> = s.pick(vec![0, 1], vec![0, 0, 2, 3]);
        let n: u32 = s.pick(1, 25);
        let plain_on: usize = s.pick(1, caps.len());
        let (mut txs, mut rxs) = (Vec::new(), Vec::new());
        for &cap in &caps {
            let (tx, rx) = chan::bounded::<u32>(cap);
            txs.push(tx);
            rxs.push(rx);
        }
        let (dead_tx, _dead_tx_keep) = dead_send::<u32>();
        let (_dead_rx_keep, dead_rx) = dead_recv::<u32>();
        let mut expected = Vec::new();
        let mut senders = Vec::new();
        for (k, tx) in txs.iter().take(plain_on).enumerate() {
            let tag = 1000 * (k as u32 + 1);
            expected.extend(tag..tag + n);
            let tx = tx.clone();
            senders.push(task::spawn_named(format!("send{k}"), async move {
                for i in 0..n {
                    tx.send(tag + i).await.unwrap();
                }
            }));
        }
        let sel_tag = 100_000;
        expected.extend(sel_tag..sel_tag + n * caps.len() as u32);
        senders.push(task::spawn_named(
            "select-send",
            select_sender(txs.clone(), dead_tx, n, sel_tag),
        ));
        let select_rx = task::spawn_named("select-recv", select_receiver(rxs.clone(), dead_rx, n));
        // The plain receivers: the body for the first channel, tasks for the others.
        let mut receivers = Vec::new();
        for (k, rx) in rxs.iter().enumerate().take(plain_on).skip(1) {
            let rx = rx.clone();
            receivers.push(task::spawn_named(format!("recv{k}"), async move {
                let mut got = Vec::new();
                for _ in 0..n {
                    got.push(rx.recv().await.expect("open"));
                }
                got
            }));
        }
        let mut got = Vec::new();
        for _ in 0..n {
            got.push(rxs[0].recv().await.expect("open"));
        }
        for r in receivers {
            got.extend(r.await.unwrap());
        }
        got.extend(select_rx.await.unwrap());
        for t in senders {
            t.await.unwrap();
        }
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected, "every value sent is received exactly once");
        for rx in &rxs {
            assert_eq!(rx.len(), 0, "nothing left behind");
        }
    });
}

// ---------------------------------------------------------------------------------------
// runtime/chan_test.go TestSelectFairness and TestPseudoRandomSend (tokio only: a
// statistical check over one long run)
// ---------------------------------------------------------------------------------------

fn assert_fair(what: &str, first: usize, total: usize) {
    let share = first as f64 / total as f64;
    assert!(
        (0.35..=0.65).contains(&share),
        "{what}: the first arm won {first} of {total} times ({:.1}%)",
        share * 100.0
    );
}

#[test]
fn select_fairness_between_always_ready_receive_arms() {
    let r = Check::new("select-fairness-recv [tokio]")
        .tokio(3)
        .run(|| async {
            const SELECTS: usize = 2000;
            let (a_tx, a_rx) = chan::bounded::<u8>(1);
            let (b_tx, b_rx) = chan::bounded::<u8>(1);
            a_tx.send(1).await.unwrap();
            b_tx.send(2).await.unwrap();
            let mut firsts = 0;
            for _ in 0..SELECTS {
                // Both arms are ready every time; refill the one that fired.
                harness::select! {
                    v = a_rx.recv() => { assert_eq!(v, Some(1)); firsts += 1; a_tx.try_send(1).unwrap(); }
                    v = b_rx.recv() => { assert_eq!(v, Some(2)); b_tx.try_send(2).unwrap(); }
                }
            }
            assert_fair("receive arms", firsts, SELECTS);
        });
    if let Err(f) = r {
        panic!("select fairness (tokio): {:?}\n{f}", f.kind);
    }
}

#[test]
fn select_fairness_between_send_arms_on_one_channel() {
    // TestPseudoRandomSend: `select { c <- 1: c <- 0: }` sends both values about equally
    // often, on a rendezvous channel (a receiver task) and on a buffered one.
    for cap in [0usize, 2000] {
        let r = Check::new(format!("select-fairness-send-cap{cap} [tokio]"))
            .tokio(2)
            .run(move || async move {
                const SELECTS: usize = 2000;
                let (tx, rx) = chan::bounded::<u8>(cap);
                let counter = task::spawn_named("counter", async move {
                    let mut ones = 0;
                    for _ in 0..SELECTS {
                        if rx.recv().await == Some(1) {
                            ones += 1;
                        }
                    }
                    ones
                });
                for _ in 0..SELECTS {
                    harness::select! {
                        r = tx.send(1) => r.unwrap(),
                        r = tx.send(0) => r.unwrap(),
                    }
                }
                assert_fair("send arms", counter.await.unwrap(), SELECTS);
            });
        if let Err(f) = r {
            panic!("send fairness cap {cap} (tokio): {:?}\n{f}", f.kind);
        }
    }
}

// ---------------------------------------------------------------------------------------
// runtime/chan_test.go TestMultiConsumer
// ---------------------------------------------------------------------------------------

#[test]
fn multi_consumer_every_value_once() {
    suite("multi-consumer")
        .loom_bound(2)
        .iterations(100, 100)
        .run(|s| async move {
            const PN: [u32; 10] = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
            let workers: usize = s.pick(2, 7);
            let iterations: usize = s.pick(3, 150);
            let (q_tx, q_rx) = chan::bounded::<u32>(workers * 3);
            let (r_tx, r_rx) = chan::bounded::<u32>(workers * 3);
            for w in 0..workers {
                let (q_rx, r_tx) = (q_rx.clone(), r_tx.clone());
                task::spawn_named(format!("worker{w}"), async move {
                    while let Some(v) = q_rx.recv().await {
                        if PN[w % PN.len()] == v {
                            task::yield_now().await;
                        }
                        r_tx.send(v).await.unwrap();
                    }
                });
            }
            drop((q_rx, r_tx));
            let expect: u32 = (0..iterations).map(|i| PN[i % PN.len()]).sum();
            task::spawn_named("feeder", async move {
                for i in 0..iterations {
                    q_tx.send(PN[i % PN.len()]).await.unwrap();
                }
                // dropping q_tx closes q; the workers end and r closes behind them
            });
            let (mut n, mut sum) = (0, 0);
            while let Some(v) = r_rx.recv().await {
                n += 1;
                sum += v;
            }
            assert_eq!((n, sum), (iterations, expect));
        });
}

// ---------------------------------------------------------------------------------------
// Closed channels and select
// ---------------------------------------------------------------------------------------

#[test]
fn close_wakes_a_select_waiting_to_receive() {
    suite("close-wakes-select").run(|_| async {
        let (a_tx, a_rx) = chan::bounded::<u32>(0);
        let (_b_tx, b_rx) = dead_recv::<u32>();
        let selector = task::spawn_named("selector", async move {
            harness::select! {
                v = a_rx.recv() => ("a", v),
                v = b_rx.recv() => ("b", v),
            }
        });
        yield_a_few().await;
        a_tx.close();
        assert_eq!(selector.await.unwrap(), ("a", None));
    });
}

#[test]
fn select_drains_buffered_values_before_reporting_close() {
    suite("select-drain-then-closed").run(|_| async {
        let (tx, rx) = chan::bounded::<u32>(2);
        let (_never_tx, never_rx) = dead_recv::<u32>();
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        loop {
            harness::select! {
                v = rx.recv() => match v {
                    Some(v) => got.push(v),
                    None => break,
                },
                _ = never_rx.recv() => unreachable!("dead arm"),
            }
        }
        assert_eq!(got, [1, 2]);
    });
}

// ---------------------------------------------------------------------------------------
// Select-specific guarantees of this crate
// ---------------------------------------------------------------------------------------

#[test]
fn losing_recv_arm_takes_nothing_from_a_buffer() {
    let wins = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let w = wins.clone();
    suite("losing-recv-buffered").run(move |_| {
        let w = w.clone();
        async move {
            let (a_tx, a_rx) = chan::bounded::<u32>(1);
            let (b_tx, b_rx) = chan::bounded::<u32>(1);
            a_tx.send(1).await.unwrap();
            b_tx.send(2).await.unwrap();
            let won = harness::select! {
                v = a_rx.recv() => { assert_eq!(v, Some(1)); 0 }
                v = b_rx.recv() => { assert_eq!(v, Some(2)); 1 }
            };
            w[won].fetch_add(1, Ordering::SeqCst);
            let (loser, value) = if won == 0 { (&b_rx, 2) } else { (&a_rx, 1) };
            assert_eq!(loser.len(), 1, "the losing arm took its value");
            assert_eq!(loser.try_recv(), Ok(value));
            let winner = if won == 0 { &a_rx } else { &b_rx };
            assert_eq!(winner.try_recv(), Err(TryRecvError::Empty));
        }
    });
    // Under shuttle, PCT and tokio the choice is random: each arm wins sometimes.
    let wins = [
        wins[0].load(Ordering::SeqCst),
        wins[1].load(Ordering::SeqCst),
    ];
    assert!(wins[0] > 0 && wins[1] > 0, "one arm never won: {wins:?}");
}

/// Two senders parked on rendezvous channels; the select takes one value; the other
/// sender is still blocked with its value, which a plain receive then gets.
#[test]
fn losing_recv_arm_leaves_a_parked_sender_parked() {
    losing_recv_rendezvous(suite("losing-recv-rendezvous").loom_bound(2));
}

fn losing_recv_rendezvous(suite: Suite) {
    suite.run(|_| async {
        let (a_tx, a_rx) = chan::bounded::<u32>(0);
        let (b_tx, b_rx) = chan::bounded::<u32>(0);
        let sa = task::spawn_named("send-a", async move { a_tx.send(1).await });
        let sb = task::spawn_named("send-b", async move { b_tx.send(2).await });
        yield_a_few().await;
        let won = harness::select! {
            v = a_rx.recv() => { assert_eq!(v, Some(1)); 0 }
            v = b_rx.recv() => { assert_eq!(v, Some(2)); 1 }
        };
        let (loser, value, loser_task) = if won == 0 {
            (&b_rx, 2, &sb)
        } else {
            (&a_rx, 1, &sa)
        };
        yield_a_few().await;
        assert!(
            !loser_task.is_finished(),
            "the losing arm's sender completed"
        );
        assert_eq!(loser.recv().await, Some(value));
        assert_eq!(sa.await.unwrap(), Ok(()));
        assert_eq!(sb.await.unwrap(), Ok(()));
    });
}

#[test]
fn losing_send_arm_takes_no_room_in_a_buffered_channel() {
    suite("losing-send-buffered").run(|_| async {
        let (c_tx, c_rx) = chan::bounded::<u32>(1);
        c_tx.send(1).await.unwrap(); // c is full: its send arm cannot fire
        let (o_tx, o_rx) = chan::bounded::<u32>(1);
        o_tx.send(0).await.unwrap(); // o is ready: its receive arm fires
        harness::select! {
            r = c_tx.send(2) => panic!("a send into a full channel fired: {r:?}"),
            v = o_rx.recv() => {
                assert_eq!(v, Some(0));
                // The losing send arm holds no place in c: once c is drained it has room.
                assert_eq!(c_rx.try_recv(), Ok(1));
                assert_eq!(c_rx.len(), 0);
                assert_eq!(c_tx.try_send(3), Ok(()), "an empty buffer of capacity 1 is full");
            }
        }
        assert_eq!(c_rx.try_recv(), Ok(3));
        assert_eq!(
            c_rx.try_recv(),
            Err(TryRecvError::Empty),
            "the lost send arrived"
        );
    });
}

#[test]
fn losing_send_arm_is_not_delivered_to_a_parked_receiver() {
    losing_send_rendezvous(suite("losing-send-rendezvous").loom_bound(2));
}

/// Receivers parked on two rendezvous channels; a select sends on both. Exactly one
/// receiver gets a value, the one of the arm that fired; the other gets None when the
/// channels are closed afterwards. Counted across executions too.
fn losing_send_rendezvous(suite: Suite) {
    let executions = Arc::new(AtomicUsize::new(0));
    let delivered = Arc::new(AtomicUsize::new(0));
    let wins = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let (e, d, w) = (executions.clone(), delivered.clone(), wins.clone());
    suite.run(move |_| {
        let (e, d, w) = (e.clone(), d.clone(), w.clone());
        async move {
            let (a_tx, a_rx) = chan::bounded::<u32>(0);
            let (b_tx, b_rx) = chan::bounded::<u32>(0);
            let ra = task::spawn_named("recv-a", async move { a_rx.recv().await });
            let rb = task::spawn_named("recv-b", async move { b_rx.recv().await });
            yield_a_few().await;
            let won = harness::select! {
                r = a_tx.send(1) => { r.unwrap(); 0 }
                r = b_tx.send(2) => { r.unwrap(); 1 }
            };
            a_tx.close();
            b_tx.close();
            let got = [ra.await.unwrap(), rb.await.unwrap()];
            e.fetch_add(1, Ordering::SeqCst);
            d.fetch_add(got.iter().flatten().count(), Ordering::SeqCst);
            w[won].fetch_add(1, Ordering::SeqCst);
            let want = if won == 0 {
                [Some(1), None]
            } else {
                [None, Some(2)]
            };
            assert_eq!(got, want, "arm {won} fired");
        }
    });
    let (e, d) = (
        executions.load(Ordering::SeqCst),
        delivered.load(Ordering::SeqCst),
    );
    assert!(e > 0);
    assert_eq!(d, e, "exactly one value delivered per execution");
    let wins = [
        wins[0].load(Ordering::SeqCst),
        wins[1].load(Ordering::SeqCst),
    ];
    assert!(wins[0] > 0 && wins[1] > 0, "one arm never won: {wins:?}");
}

#[test]
fn a_waiting_select_is_one_pending_operation_naming_its_arms() {
    suite("select-in-snapshot").run(|_| async {
        let (a_tx, a_rx) = chan::bounded::<u32>(0);
        let (_b_tx, b_rx) = dead_recv::<u32>();
        let (c_tx, c_rx) = dead_send::<u32>();
        let (a, b, c) = (channel_id(&a_rx), channel_id(&b_rx), channel_id(&c_rx));
        let selector = task::spawn_named("selector", async move {
            harness::select! {
                v = a_rx.recv() => v,
                v = b_rx.recv() => v,
                r = c_tx.send(3) => { r.unwrap(); None }
            }
        });
        let wait = loop {
            let snap = harness::track::snapshot();
            let me = snap
                .tasks
                .iter()
                .find(|t| t.name == "selector")
                .map(|t| t.id);
            let waits: Vec<_> = snap
                .waits
                .iter()
                .filter(|w| Some(w.task) == me)
                .cloned()
                .collect();
            assert!(
                waits.len() <= 1,
                "a select is one pending operation: {waits:?}"
            );
            if let Some(w) = waits.into_iter().next() {
                break w;
            }
            task::yield_now().await;
        };
        assert!(wait.op.starts_with("select {"), "{:?}", wait.op);
        for arm in [
            format!("recv ch#{a}"),
            format!("recv ch#{b}"),
            format!("send ch#{c}"),
        ] {
            assert!(wait.op.contains(&arm), "{:?} does not name {arm}", wait.op);
        }
        // No arm shows up as a plain operation of its own.
        let snap = harness::track::snapshot();
        assert!(
            !snap.waits.iter().any(|w| w.op == "recv" || w.op == "send"),
            "{:?}",
            snap.waits
        );
        a_tx.send(1).await.unwrap();
        assert_eq!(selector.await.unwrap(), Some(1));
        let snap = harness::track::snapshot();
        assert!(
            !snap.waits.iter().any(|w| w.op.starts_with("select {")),
            "a finished select is still pending: {:?}",
            snap.waits
        );
        drop(c_rx);
    });
}

#[test]
fn a_select_nobody_serves_is_a_deadlock() {
    let failures = suite("select-deadlock").expect(FailureKind::Deadlock, |_| async {
        let (_a_tx, a_rx) = dead_recv::<u32>();
        let (b_tx, _b_rx) = dead_send::<u32>();
        harness::select! {
            v = a_rx.recv() => panic!("nobody sends: {v:?}"),
            r = b_tx.send(1) => panic!("nobody receives: {r:?}"),
        }
    });
    for f in failures {
        assert!(f.report.contains("select {"), "{}: {f}", f.checker);
        assert!(f.report.contains("recv ch#"), "{}: {f}", f.checker);
        assert!(f.report.contains("send ch#"), "{}: {f}", f.checker);
    }
}

#[test]
fn a_self_select_alone_is_a_deadlock() {
    self_select_alone(suite("self-select-alone"));
}

/// select3.go: a select that sends and receives on one unbuffered channel, with nobody
/// else on it, blocks forever (it never pairs with itself): a deadlock.
fn self_select_alone(suite: Suite) {
    let failures = suite.expect(FailureKind::Deadlock, |_| async {
        let (tx, rx) = chan::bounded::<u32>(0);
        harness::select! {
            r = tx.send(1) => panic!("self send fired: {r:?}"),
            v = rx.recv() => panic!("self receive fired: {v:?}"),
        }
    });
    for f in failures {
        assert!(f.report.contains("select { send ch#"), "{}: {f}", f.checker);
    }
}

#[test]
fn a_select_nobody_serves_in_a_task_is_a_leak() {
    // The same stuck select in a spawned task outlives the body: a goroutine leak whose
    // report names the select.
    let failures = suite("select-leak").expect(FailureKind::Leak, |_| async {
        let (a_tx, a_rx) = dead_recv::<u32>();
        task::spawn_named("stuck-select", async move {
            harness::select! {
                v = a_rx.recv() => panic!("nobody sends: {v:?}"),
            }
        });
        std::mem::forget(a_tx);
    });
    for f in failures {
        assert!(f.report.contains("stuck-select"), "{}: {f}", f.checker);
        assert!(f.report.contains("select {"), "{}: {f}", f.checker);
    }
}
