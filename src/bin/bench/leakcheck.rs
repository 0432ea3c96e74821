//! Section `leakcheck`: what `#[tokio::test(crate = "harness::leakcheck")]` adds to a passing
//! test, against the same test on plain `#[tokio::test]`, and how long a leaky test takes to
//! fail.
//!
//! A "test" here is what tokio's test macro expands to: build a runtime (`enable_all`),
//! `block_on` a body that spawns 10 tasks and awaits them, drop the runtime. The leak-checked
//! one builds through `harness::leakcheck::runtime::Builder` instead: hooks, the settle check
//! after the body and the shutdown check at drop.

use std::time::{Duration, Instant};

use harness::leakcheck::LeakCheck;

use crate::table::{self, Met, Table};
use crate::Opts;

async fn body() {
    let hs: Vec<_> = (0..10u64)
        .map(|i| tokio::spawn(async move { i * 2 }))
        .collect();
    let mut sum = 0;
    for h in hs {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, 90);
}

fn plain(multi: bool) {
    let mut b = if multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().unwrap().block_on(body());
}

fn checked(multi: bool) {
    use harness::leakcheck::runtime::Builder;
    let mut b = if multi {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        Builder::new_current_thread()
    };
    b.enable_all().build().unwrap().block_on(body());
}

/// Median time per test, in seconds, over `reps` batches of `n`.
fn per_test(reps: usize, n: usize, f: impl Fn()) -> f64 {
    let mut v = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        for _ in 0..n {
            f();
        }
        v.push(t0.elapsed().as_secs_f64() / n as f64);
    }
    table::median(&v)
}

/// Time from the start of a test whose body leaks one task to its failure.
fn to_verdict(reps: usize, grace: Duration) -> f64 {
    let mut v = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        let r = LeakCheck::new().grace(grace).run(
            tokio::runtime::Builder::new_current_thread(),
            async {
                tokio::spawn(std::future::pending::<()>());
            },
        );
        assert!(r.is_err(), "the leak must be found");
        v.push(t0.elapsed().as_secs_f64());
    }
    table::median(&v)
}

pub fn run(opts: &Opts) -> Table {
    let n = if opts.quick { 20 } else { 200 };
    let mut t = Table::new(
        "Leak-checking tokio tests (harness::leakcheck)",
        &format!(
            "Per test: build a runtime, block_on a body that spawns and awaits 10 tasks, drop \
             it; median of {} batches of {n}. tokio_unstable in this build: {}.",
            opts.reps,
            cfg!(tokio_unstable)
        ),
    );
    for (multi, name) in [(false, "current_thread"), (true, "multi_thread(2)")] {
        eprintln!("leakcheck: passing test, {name}");
        let base = per_test(opts.reps, n, || plain(multi));
        let ours = per_test(opts.reps, n, || checked(multi));
        let extra = ours - base;
        t.row(
            format!("passing test, {name}: leak-checked / plain #[tokio::test]"),
            table::secs(ours),
            table::secs(base),
            table::ratio(ours / base),
            format!("≤ 5 ms extra (measured {})", table::secs(extra.max(0.0))),
            Met::from(extra < 0.005),
        );
    }
    for ms in [100u64, 1000] {
        eprintln!("leakcheck: leaky test, grace {ms} ms");
        let reps = if opts.quick { 1 } else { opts.reps.min(3) };
        let d = to_verdict(reps, Duration::from_millis(ms));
        t.row(
            format!("leaky test (1 task leaked): time to verdict, grace {ms} ms"),
            table::secs(d),
            "–",
            "–",
            "grace + a few ms",
            Met::Info,
        );
    }
    t.note(
        "The leak check pays no wait when no task is left; a leaky test waits the grace period \
         (LEAKPROOF_LEAK_GRACE_MS, 1000 by default) with backoff before it fails.",
    );
    t
}
