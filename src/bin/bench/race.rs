//! Section `race`: what a checked `RaceCell` access costs on tokio, next to the operations a
//! user would otherwise reach for (an uncontended harness `Mutex`, a plain atomic).
//!
//! Every figure is timed inside one `Check::new(..).tokio(1)` run (tracking on), in a loop of
//! `n` operations by one task, so each is the cost of the operation itself with the detector's
//! bookkeeping (vector-clock look-up, epoch check) and without contention. The mutex is timed
//! twice: before any `RaceCell` access (the detector is still off, as in a program with no
//! cell) and after (the detector is on, and every unlock and lock moves a vector clock).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use harness::cell::RaceCell;
use harness::check::Check;

use crate::table::{self, Met, Table};
use crate::Opts;

/// Nanoseconds per operation of each workload, one run.
#[derive(Clone, Copy, Default)]
struct Figures {
    mutex_off: f64,
    mutex_on: f64,
    cell: f64,
    cell_read: f64,
    harness_atomic: f64,
    std_atomic: f64,
    cell_unchecked: f64,
}

fn per_op(n: u64, t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1e9 / n as f64
}

/// One tokio check that times every workload in turn.
fn one(n: u64) -> Figures {
    let out = Arc::new(Mutex::new(Figures::default()));
    let o = out.clone();
    Check::new("bench race")
        // One long poll by design: the figures are loops of operations timed inside it.
        .slow_poll(None)
        .tokio(1)
        .run(move || {
            let o = o.clone();
            async move {
                let mut f = Figures::default();
                let m = harness::sync::Mutex::new(0u64);
                let t0 = Instant::now();
                for _ in 0..n {
                    *m.lock().await += 1;
                }
                f.mutex_off = per_op(n, t0);
                let cell = RaceCell::new(0u64);
                let t0 = Instant::now();
                for _ in 0..n {
                    cell.with_mut(|v| *v += 1);
                }
                f.cell = per_op(n, t0);
                let t0 = Instant::now();
                for _ in 0..n {
                    black_box(cell.get());
                }
                f.cell_read = per_op(n, t0);
                let t0 = Instant::now();
                for _ in 0..n {
                    *m.lock().await += 1;
                }
                f.mutex_on = per_op(n, t0);
                let a = harness::sync::atomic::AtomicU64::new(0);
                let t0 = Instant::now();
                for _ in 0..n {
                    a.fetch_add(1, Ordering::AcqRel);
                }
                f.harness_atomic = per_op(n, t0);
                let a = AtomicU64::new(0);
                let t0 = Instant::now();
                for _ in 0..n {
                    black_box(&a).fetch_add(1, Ordering::AcqRel);
                }
                f.std_atomic = per_op(n, t0);
                black_box((m.lock().await.to_owned(), cell.get()));
                *o.lock().unwrap() = f;
            }
        })
        .expect("one task, no race");
    // Outside any check: the detector does not exist, a cell is a mutex and a value.
    let cell = RaceCell::new(0u64);
    let t0 = Instant::now();
    for _ in 0..n {
        cell.with_mut(|v| *v += 1);
    }
    let mut f = *out.lock().unwrap();
    f.cell_unchecked = per_op(n, t0);
    f
}

pub fn run(opts: &Opts) -> Table {
    let n: u64 = if opts.quick { 20_000 } else { 500_000 };
    let runs: Vec<Figures> = (0..opts.reps)
        .map(|i| {
            eprintln!("race: run {}/{}", i + 1, opts.reps);
            one(n)
        })
        .collect();
    let med = |get: fn(&Figures) -> f64| {
        let v: Vec<f64> = runs.iter().map(get).collect();
        (table::median(&v), table::spread(&v))
    };
    let ns = |(x, s): (f64, String)| format!("{x:.0} ns{s}");
    let mut t = Table::new(
        "race: the cost of a checked RaceCell access (tokio)",
        &format!(
            "One task, {n} operations per figure, inside `Check::new(..).tokio(1)` (tracking and the \
             race detector on); median of {} runs. Anchors: an uncontended `harness::sync::Mutex` \
             lock + unlock, a `std` atomic.",
            opts.reps
        ),
    );
    let cell = med(|f| f.cell);
    let mutex_off = med(|f| f.mutex_off);
    let r = cell.0 / mutex_off.0;
    t.row(
        "RaceCell `with_mut` (write), detector on",
        ns(cell.clone()),
        format!("harness Mutex lock+unlock {}", ns(mutex_off.clone())),
        table::ratio(r),
        "≤ 10×",
        Met::from(r <= 10.0),
    );
    let read = med(|f| f.cell_read);
    let r = read.0 / mutex_off.0;
    t.row(
        "RaceCell `get` (read), detector on",
        ns(read),
        format!("harness Mutex lock+unlock {}", ns(mutex_off.clone())),
        table::ratio(r),
        "≤ 10×",
        Met::from(r <= 10.0),
    );
    let std_atomic = med(|f| f.std_atomic);
    t.row(
        "RaceCell `with_mut` vs a plain atomic",
        ns(cell.clone()),
        format!("std AtomicU64 fetch_add {}", ns(std_atomic.clone())),
        table::ratio(cell.0 / std_atomic.0),
        "–",
        Met::Info,
    );
    let ha = med(|f| f.harness_atomic);
    t.row(
        "harness AtomicU64 fetch_add(AcqRel), detector on",
        ns(ha.clone()),
        format!("std AtomicU64 {}", ns(std_atomic)),
        table::ratio(ha.0 / med(|f| f.std_atomic).0),
        "–",
        Met::Info,
    );
    let mutex_on = med(|f| f.mutex_on);
    t.row(
        "harness Mutex lock+unlock, detector on",
        ns(mutex_on.clone()),
        format!("detector off {}", ns(mutex_off.clone())),
        table::ratio(mutex_on.0 / mutex_off.0),
        "–",
        Met::Info,
    );
    let unchecked = med(|f| f.cell_unchecked);
    t.row(
        "RaceCell `with_mut` outside any check",
        ns(unchecked.clone()),
        format!("checked {}", ns(cell)),
        table::ratio(unchecked.0 / med(|f| f.cell).0),
        "–",
        Met::Info,
    );
    t.note(
        "The detector switches on at an execution's first RaceCell access: before it, the mutex \
         row \"detector off\" is what every program without a RaceCell pays.",
    );
    t
}
