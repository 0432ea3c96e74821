//! Helpers shared by the conformance suites (`tests/channels.rs`, `tests/sync.rs`,
//! `tests/golang.rs`): run a body under every checker with the suites' bounds, require a
//! finding of one kind, count outcomes across executions, let spawned tasks run.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use harness::check::{Check, Checker, Failure, FailureKind};
use harness::{chan, task};

/// The four checkers every conformance test runs under, in order.
pub const ALL: [Checker; 4] = [
    Checker::Loom,
    Checker::Shuttle,
    Checker::Pct,
    Checker::Tokio,
];

/// A check named `name` that runs only `checker`, with the suites' bounds. `loom_bound` is
/// loom's preemption bound (`None`: every interleaving).
pub fn check_with(name: &str, checker: Checker, loom_bound: Option<usize>) -> Check {
    let check = Check::new(format!("{name} [{checker}]"));
    match checker {
        Checker::Loom => check.loom().preemption_bound(loom_bound),
        Checker::Shuttle => check.shuttle(200),
        Checker::Pct => check.pct(200, 3),
        Checker::Tokio => check.tokio(3),
        Checker::Replay => unreachable!("the suites never replay through this helper"),
    }
}

/// Runs `body` under every checker (loom with preemption bound `loom_bound`), one after the
/// other; panics naming the checker that failed or that ran no execution.
pub fn check_all<F, Fut>(name: &str, loom_bound: Option<usize>, body: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let body = Arc::new(body);
    for checker in ALL {
        let b = body.clone();
        match check_with(name, checker, loom_bound).run(move || b()) {
            Ok(stats) => {
                assert!(
                    stats.executions > 0,
                    "{name}: {checker} ran no execution: {stats:?}"
                );
                assert_eq!(
                    stats.checkers.iter().map(|c| c.checker).collect::<Vec<_>>(),
                    [checker],
                    "{name}: unexpected checkers ran"
                );
            }
            Err(f) => panic!(
                "{name}: false alarm under {checker} ({:?}, execution {}):\n{f}",
                f.kind, f.execution
            ),
        }
    }
}

/// Runs `body` under each of `checkers` and requires each to fail with `kind`, found by that
/// checker; returns the failures, for checks on their reports.
pub fn expect_failure<F, Fut>(
    name: &str,
    kind: FailureKind,
    checkers: &[Checker],
    loom_bound: Option<usize>,
    body: F,
) -> Vec<Failure>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let body = Arc::new(body);
    let mut failures = Vec::new();
    for &checker in checkers {
        let b = body.clone();
        match check_with(name, checker, loom_bound).run(move || b()) {
            Ok(stats) => panic!("{name}: {checker} passed ({stats:?}) but should find {kind:?}"),
            Err(f) => {
                assert_eq!(
                    f.kind, kind,
                    "{name}: {checker} found the wrong failure:\n{f}"
                );
                assert_eq!(f.checker, checker, "{name}: wrong checker in failure:\n{f}");
                assert!(f.execution >= 1, "{name}: {checker}: execution is 1-based");
                failures.push(f);
            }
        }
    }
    failures
}

/// Counts, across executions, how often a body saw what it expected and how often not; for
/// bodies whose assertion would be masked by a finding recorded first (a closed send).
#[derive(Default)]
pub struct Tally {
    ok: AtomicUsize,
    wrong: AtomicUsize,
}

impl Tally {
    /// Records one execution's outcome.
    pub fn note(&self, ok: bool) {
        let counter = if ok { &self.ok } else { &self.wrong };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    /// Panics if any execution saw the wrong result, or if none reached the check.
    pub fn assert_all_ok(&self, what: &str) {
        let ok = self.ok.load(Ordering::SeqCst);
        let wrong = self.wrong.load(Ordering::SeqCst);
        assert_eq!(wrong, 0, "{what}: {wrong} executions saw the wrong result");
        assert!(ok > 0, "{what}: no execution reached the check");
    }
}

/// Yields a few times, so that spawned tasks get to run as far as they can.
pub async fn yield_a_few() {
    for _ in 0..3 {
        task::yield_now().await;
    }
}

/// One check named `name` per checker (loom, shuttle random, shuttle PCT with depth 3, tokio
/// with 2 runs), shuttle and PCT with `iterations` executions each.
pub fn each_checker(name: &str, iterations: usize) -> Vec<Check> {
    vec![
        Check::new(name).loom(),
        Check::new(name).shuttle(iterations),
        Check::new(name).pct(iterations, 3),
        Check::new(name).tokio(2),
    ]
}

/// Panics only when the spawned task's send lands before the body's: an order violation
/// that only some schedules show (loom finds it after its first execution).
pub async fn order_violation() {
    let (tx, rx) = chan::unbounded::<&'static str>();
    let tx2 = tx.clone();
    let h = task::spawn_named("late", async move {
        tx2.send("task").await.unwrap();
    });
    tx.send("body").await.unwrap();
    let _ = h.await;
    let first = rx.recv().await.unwrap();
    assert_eq!(first, "body", "the body's message must come first");
}

/// The loom checkpoint of [`order_violation`]'s failure under a check named "order", saved to
/// a fresh file of the temporary directory named after `tag` and the process; the path and
/// the failure. The caller removes the file.
pub fn order_violation_checkpoint(tag: &str) -> (std::path::PathBuf, Failure) {
    let path = std::env::temp_dir().join(format!("leakproof-{tag}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let f = Check::new("order")
        .loom()
        .loom_checkpoint(&path)
        .run(order_violation)
        .unwrap_err();
    (path, f)
}
