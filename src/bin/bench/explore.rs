//! Section `explore`: exploration speed of leakproof's checkers against the same program
//! written directly on shuttle and on loom.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use harness::check::Check;
use harness::{chan, task};

use crate::table::{self, Met, Table};
use crate::Opts;

/// The producer/consumer program on leakproof's primitives: `producers` tasks send `msgs`
/// values each into one channel (`cap` None: unbounded); the body receives all of them.
pub async fn lp_program(producers: u64, msgs: u64, cap: Option<usize>) {
    let (tx, rx) = match cap {
        Some(c) => chan::bounded(c),
        None => chan::unbounded(),
    };
    for p in 0..producers {
        let tx = tx.clone();
        task::spawn(async move {
            for i in 0..msgs {
                tx.send(p * 100 + i).await.expect("the body receives");
            }
        });
    }
    drop(tx);
    // Receive exactly the total, as the direct loom program must (loom's mpsc does not model
    // disconnection); leakproof then joins the producers itself.
    for _ in 0..producers * msgs {
        assert!(rx.recv().await.is_some(), "every value arrives");
    }
}

/// The same program on `shuttle::sync::mpsc::sync_channel` and `shuttle::thread`.
pub fn shuttle_program(producers: u64, msgs: u64, cap: usize) {
    let (tx, rx) = shuttle::sync::mpsc::sync_channel(cap);
    let mut handles = Vec::new();
    for p in 0..producers {
        let tx = tx.clone();
        handles.push(shuttle::thread::spawn(move || {
            for i in 0..msgs {
                tx.send(p * 100 + i).expect("the main thread receives");
            }
        }));
    }
    drop(tx);
    for _ in 0..producers * msgs {
        assert!(rx.recv().is_ok(), "every value arrives");
    }
    for h in handles {
        h.join().expect("producer finished");
    }
}

/// A bounded channel for loom from its `Mutex` and `Condvar` (loom's own mpsc is unbounded).
struct LoomBounded {
    q: loom::sync::Mutex<VecDeque<u64>>,
    cv: loom::sync::Condvar,
    cap: usize,
}

impl LoomBounded {
    fn send(&self, v: u64) {
        let mut q = self.q.lock().expect("lock");
        while q.len() >= self.cap {
            q = self.cv.wait(q).expect("wait");
        }
        q.push_back(v);
        drop(q);
        self.cv.notify_all();
    }

    fn recv(&self) -> u64 {
        let mut q = self.q.lock().expect("lock");
        loop {
            if let Some(v) = q.pop_front() {
                drop(q);
                self.cv.notify_all();
                return v;
            }
            q = self.cv.wait(q).expect("wait");
        }
    }
}

/// Which channel the direct loom program uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoomChan {
    /// `loom::sync::mpsc::channel` (unbounded; one modelled object, send and recv one step each).
    Mpsc,
    /// [`LoomBounded`] with this capacity (`usize::MAX`: unbounded).
    Condvar(usize),
}

impl LoomChan {
    fn name(self) -> String {
        match self {
            LoomChan::Mpsc => "loom::sync::mpsc".to_string(),
            LoomChan::Condvar(usize::MAX) => "loom Mutex+Condvar, unbounded".to_string(),
            LoomChan::Condvar(c) => format!("loom Mutex+Condvar, cap {c}"),
        }
    }
}

/// The same program directly on loom.
fn loom_program(producers: u64, msgs: u64, chan: LoomChan) {
    let mut handles = Vec::new();
    match chan {
        LoomChan::Mpsc => {
            let (tx, rx) = loom::sync::mpsc::channel();
            for p in 0..producers {
                let tx = tx.clone();
                handles.push(loom::thread::spawn(move || {
                    for i in 0..msgs {
                        tx.send(p * 100 + i).expect("the main thread receives");
                    }
                }));
            }
            drop(tx);
            for _ in 0..producers * msgs {
                rx.recv().expect("every value arrives");
            }
        }
        LoomChan::Condvar(cap) => {
            let ch = loom::sync::Arc::new(LoomBounded {
                q: loom::sync::Mutex::new(VecDeque::new()),
                cv: loom::sync::Condvar::new(),
                cap,
            });
            for p in 0..producers {
                let ch = ch.clone();
                handles.push(loom::thread::spawn(move || {
                    for i in 0..msgs {
                        ch.send(p * 100 + i);
                    }
                }));
            }
            for _ in 0..producers * msgs {
                ch.recv();
            }
        }
    }
    for h in handles {
        h.join().expect("producer finished");
    }
}

fn shuttle_rows(t: &mut Table, opts: &Opts) {
    let n = if opts.quick { 300 } else { 2_000 };
    let (producers, msgs, cap) = (2u64, 3u64, 1usize);
    let depth = 3;
    let what = format!("{producers} producers × {msgs} msgs, bounded({cap}), {n} executions");
    eprintln!("explore: shuttle, {what}");
    // [leakproof random, direct random, leakproof PCT, direct PCT], executions per second.
    let mut rates: [Vec<f64>; 4] = Default::default();
    for rep in 0..opts.reps {
        let start = Instant::now();
        let stats = Check::new("bench/explore-shuttle")
            .seed(rep as u64 + 1)
            .shuttle(n)
            .run(move || lp_program(producers, msgs, Some(cap)))
            .unwrap_or_else(|f| panic!("leakproof shuttle run failed:\n{f}"));
        rates[0].push(stats.executions as f64 / start.elapsed().as_secs_f64());

        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let start = Instant::now();
        shuttle::check_random_with_seed(
            move || {
                c.fetch_add(1, Ordering::Relaxed);
                shuttle_program(producers, msgs, cap)
            },
            rep as u64 + 1,
            n,
        );
        rates[1].push(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let stats = Check::new("bench/explore-pct")
            .seed(rep as u64 + 1)
            .pct(n, depth)
            .run(move || lp_program(producers, msgs, Some(cap)))
            .unwrap_or_else(|f| panic!("leakproof PCT run failed:\n{f}"));
        rates[2].push(stats.executions as f64 / start.elapsed().as_secs_f64());

        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let start = Instant::now();
        shuttle::check_pct(
            move || {
                c.fetch_add(1, Ordering::Relaxed);
                shuttle_program(producers, msgs, cap)
            },
            n,
            depth,
        );
        rates[3].push(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64());
        report_rep(&rates, rep, opts.reps);
    }
    rate_rows(t, &what, &rates, depth);
}

/// Prints one repetition's four rates: leakproof's and the anchor's, random then PCT.
pub fn report_rep(rates: &[Vec<f64>; 4], rep: usize, reps: usize) {
    eprintln!(
        "  run {}/{}: {:.0} vs {:.0} exec/s (random), {:.0} vs {:.0} exec/s (pct)",
        rep + 1,
        reps,
        rates[0][rep],
        rates[1][rep],
        rates[2][rep],
        rates[3][rep]
    );
}

/// The two rows of a shuttle comparison, from executions per second `[leakproof random,
/// anchor random, leakproof PCT, anchor PCT]`: random against the ≥ 0.5× target, PCT for
/// information.
pub fn rate_rows(t: &mut Table, what: &str, rates: &[Vec<f64>; 4], depth: usize) {
    let med: Vec<f64> = rates.iter().map(|r| table::median(r)).collect();
    let show = |k: usize| {
        format!(
            "{}{}",
            table::rate(med[k], "exec"),
            table::spread(&rates[k])
        )
    };
    let r = med[0] / med[1];
    t.row(
        format!("shuttle random, {what}: executions per second"),
        show(0),
        show(1),
        table::ratio(r),
        "≥ 0.50×",
        Met::from(r >= 0.5),
    );
    t.row(
        format!("shuttle PCT (depth {depth}), {what}: executions per second"),
        show(2),
        show(3),
        table::ratio(med[2] / med[3]),
        "(info)",
        Met::Info,
    );
}

/// Exhausts one loom program: (executions, seconds per run) for leakproof's version.
fn loom_lp(producers: u64, msgs: u64, cap: Option<usize>, reps: usize) -> (u64, Vec<f64>) {
    let mut executions = 0;
    let mut secs = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        let stats = Check::new("bench/explore-loom")
            .loom()
            .preemption_bound(Some(2))
            .run(move || lp_program(producers, msgs, cap))
            .unwrap_or_else(|f| panic!("leakproof loom run failed:\n{f}"));
        secs.push(start.elapsed().as_secs_f64());
        executions = stats.executions;
    }
    (executions, secs)
}

/// Exhausts the direct loom program, counting executions in the model closure.
fn loom_direct(producers: u64, msgs: u64, chan: LoomChan, reps: usize) -> (u64, Vec<f64>) {
    let mut executions = 0;
    let mut secs = Vec::new();
    for _ in 0..reps {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        let start = Instant::now();
        builder.check(move || {
            c.fetch_add(1, Ordering::Relaxed);
            loom_program(producers, msgs, chan);
        });
        secs.push(start.elapsed().as_secs_f64());
        executions = count.load(Ordering::Relaxed) as u64;
    }
    (executions, secs)
}

/// Executions to exhaust `producers` × `msgs` over an unbounded channel at preemption bound
/// 2: leakproof's, and the same program's on `loom::sync::mpsc` directly.
pub fn loom_counts(producers: u64, msgs: u64) -> (u64, u64) {
    let lp = loom_lp(producers, msgs, None, 1).0;
    let direct = loom_direct(producers, msgs, LoomChan::Mpsc, 1).0;
    (lp, direct)
}

fn loom_rows(t: &mut Table, opts: &Opts) {
    let reps = opts.reps.min(3);
    // (producers, msgs, leakproof's capacity, anchors; the first anchor carries the target)
    let programs: [(u64, u64, Option<usize>, &[LoomChan]); 4] = [
        (1, 2, None, &[LoomChan::Mpsc, LoomChan::Condvar(usize::MAX)]),
        (2, 1, None, &[LoomChan::Mpsc, LoomChan::Condvar(usize::MAX)]),
        (1, 2, Some(1), &[LoomChan::Condvar(1)]),
        (2, 1, Some(1), &[LoomChan::Condvar(1)]),
    ];
    for (producers, msgs, cap, anchors) in programs {
        let chan_name = match cap {
            None => "unbounded".to_string(),
            Some(c) => format!("bounded({c})"),
        };
        let what = format!("{producers} producer(s) × {msgs} msg(s), {chan_name}");
        eprintln!("explore: loom, {what}");
        let lp = loom_lp(producers, msgs, cap, reps);
        let lt = table::median(&lp.1);
        for (k, &anchor) in anchors.iter().enumerate() {
            let direct = loom_direct(producers, msgs, anchor, reps);
            let dt = table::median(&direct.1);
            eprintln!(
                "  vs {}: {} vs {} executions; {} vs {}",
                anchor.name(),
                lp.0,
                direct.0,
                table::secs(lt),
                table::secs(dt)
            );
            let r = lp.0 as f64 / direct.0 as f64;
            let (target, met) = if k == 0 {
                ("≤ 2.00×", Met::from(r <= 2.0))
            } else {
                ("(info)", Met::Info)
            };
            t.row(
                format!("loom, {what}: executions to exhaust, vs {}", anchor.name()),
                table::count(lp.0),
                table::count(direct.0),
                table::ratio(r),
                target,
                met,
            );
            t.row(
                format!("loom, {what}: time to exhaust, vs {}", anchor.name()),
                format!("{}{}", table::secs(lt), table::spread(&lp.1)),
                format!("{}{}", table::secs(dt), table::spread(&direct.1)),
                table::ratio(lt / dt),
                "(info)",
                Met::Info,
            );
        }
    }
    t.note(format!(
        "loom times are the median of {reps} exhaustive runs; the execution counts are deterministic"
    ));
    t.note(
        "loom's own mpsc channel is one modelled object whose send and recv are one step each, \
         with no lock and no wake-up to interleave; leakproof's channel is a mutex plus wakers \
         (park/unpark) like any real channel, so the Mutex+Condvar channel is the like-for-like \
         anchor, and the mpsc one the brief's target",
    );
}

pub fn run(opts: &Opts) -> Table {
    let mut t = Table::new(
        "explore: exploration speed",
        &format!(
            "Producer/consumer: producers send into one channel, the body (main thread) receives \
             every value. leakproof runs it with `Check::new(..).shuttle(n)` / `.pct(n, 3)` / \
             `.loom().preemption_bound(Some(2))`; the anchor is the same program written directly \
             on shuttle (`shuttle::sync::mpsc::sync_channel` + `shuttle::thread`, run with \
             `check_random_with_seed` / `check_pct`) or loom (`loom::model::Builder`, \
             preemption_bound = Some(2), executions counted in the model closure). Rates are the \
             median of {} runs, seeds 1..={}. For executions to exhaust, the ratio is leakproof's \
             count over the anchor's (lower is better); for rates, leakproof's over the anchor's \
             (higher is better).",
            opts.reps, opts.reps
        ),
    );
    shuttle_rows(&mut t, opts);
    loom_rows(&mut t, opts);
    t.note(
        "leakproof's figures include what every checked execution does besides the program: the \
         tracking layer's events, the end-of-body join of every task, and (loom) the harness's \
         own mutex and park/unpark per blocking operation",
    );
    t
}
