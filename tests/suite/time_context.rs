//! `harness::time` and `harness::context` under every checker: loom, shuttle (random and
//! PCT) on virtual time, tokio on real time (short real durations).
//!
//! Under loom and shuttle a timer may fire at any scheduling point after it was set, but
//! never before an earlier timer: models assert exact virtual times where that holds, and
//! tokio runs assert "at least".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::check::{Check, Checker, FailureKind};
use harness::context::{Context, ContextError};
use harness::time::{self, Elapsed, Instant, Ticker};
use harness::{chan, task, track};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// loom, shuttle(200), pct(200, 3) and tokio(3), in that order.
fn each_checker(name: &str) -> Vec<Check> {
    vec![
        Check::new(format!("{name} [loom]")).loom(),
        Check::new(format!("{name} [shuttle]")).shuttle(200),
        Check::new(format!("{name} [pct]")).pct(200, 3),
        Check::new(format!("{name} [tokio]")).tokio(3),
    ]
}

fn passes<F, Fut>(name: &str, body: F)
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    for check in each_checker(name) {
        if let Err(f) = check.run(body.clone()) {
            panic!("{name} failed under {}:\n{}", f.checker, f.report);
        }
    }
}

fn fails_with<F, Fut>(name: &str, kind: FailureKind, body: F) -> Vec<harness::check::Failure>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    each_checker(name)
        .into_iter()
        .map(|check| {
            let f = match check.run(body.clone()) {
                Ok(_) => panic!("{name} passed, expected {kind}"),
                Err(f) => f,
            };
            assert_eq!(f.kind, kind, "{name} under {}:\n{}", f.checker, f.report);
            f
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// time

#[test]
fn sleeps_complete() {
    passes("sleeps", || async {
        let h = task::spawn(async {
            time::sleep(ms(2)).await;
            7
        });
        time::sleep(ms(1)).await;
        time::sleep(Duration::ZERO).await;
        time::sleep_until(Instant::now() + ms(1)).await;
        assert_eq!(h.await.unwrap(), 7);
    });
}

/// Two tasks sleep `short` and `long`, set at the same moment; each reports on an order
/// channel as it wakes. The order channel is a `std` one: sending on it is no scheduling
/// point, so each task reports in the same step as its timer fires and the channel shows
/// the firing order exactly. (Anything a task does after a scheduling point may be
/// overtaken by a later timer: the models explore the task being slow to run again.)
async fn two_sleepers() {
    let (short, long) = if time::is_virtual() {
        (ms(5), ms(10))
    } else {
        // Real time: a margin wide enough for a loaded machine.
        (ms(5), ms(50))
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let tx2 = tx.clone();
    let slow = task::spawn_named("long", async move {
        time::sleep(long).await;
        tx2.send("long").unwrap();
    });
    let fast = task::spawn_named("short", async move {
        time::sleep(short).await;
        tx.send("short").unwrap();
    });
    slow.await.unwrap();
    fast.await.unwrap();
    let order: Vec<&str> = rx.try_iter().collect();
    assert_eq!(order, ["short", "long"], "the earlier deadline fires first");
}

#[test]
fn timers_fire_in_deadline_order() {
    passes("deadline-order", two_sleepers);
}

#[test]
fn deadline_order_holds_within_one_task() {
    passes("deadline-order-one-task", || async {
        let (short, long) = if time::is_virtual() {
            (ms(5), ms(10))
        } else {
            // Real time: both waits end after `short`, so a wide margin costs nothing.
            (ms(5), ms(500))
        };
        // The inner sleep's deadline comes first: the timeout never fires before it.
        assert_eq!(time::timeout(long, time::sleep(short)).await, Ok(()));
        // The timeout's deadline comes first: the inner sleep never ends before it.
        assert_eq!(
            time::timeout(short, time::sleep(long)).await,
            Err(Elapsed::new())
        );
    });
}

#[test]
fn a_timeout_fires_before_a_later_timer_of_another_task() {
    passes("timeout-vs-sleeper", || async {
        let (short, long) = if time::is_virtual() {
            (ms(5), ms(10))
        } else {
            (ms(5), ms(60))
        };
        let (tx, rx) = chan::bounded::<&str>(1);
        task::spawn_named("slow-worker", async move {
            time::sleep(long).await;
            let _ = tx.send("late").await;
        });
        // The timeout is set before the worker's timer can fire, and its deadline is
        // earlier: it always wins.
        assert_eq!(time::timeout(short, rx.recv()).await, Err(Elapsed::new()));
    });
}

/// A sleep that is made and then kept without being awaited does not hold time back: the
/// worker's later timer still fires (in a model, the set-aside sleep fires first, in its
/// turn), and the sleep is found elapsed when it is finally awaited.
#[test]
fn a_sleep_made_but_not_awaited_yet_does_not_hold_time_back() {
    passes("set-aside-sleep", || async {
        let t0 = Instant::now();
        let early = time::sleep(ms(5));
        let worker = task::spawn_named("worker", async {
            time::sleep(ms(20)).await;
            7
        });
        assert_eq!(worker.await.unwrap(), 7);
        if time::is_virtual() {
            assert_eq!(t0.elapsed(), ms(20));
        }
        early.await;
        assert!(t0.elapsed() >= ms(20));
        // The same with a sleep kept across other awaits after it was first polled.
        let mut kept = time::sleep(ms(5));
        let first_poll = time::timeout(Duration::ZERO, &mut kept).await;
        if time::is_virtual() {
            assert!(first_poll.is_err()); // on a loaded machine `kept` may be due already
        }
        let (tx, rx) = chan::bounded::<u8>(0);
        task::spawn_named("late-sender", async move {
            time::sleep(ms(30)).await;
            tx.send(1).await.unwrap();
        });
        assert_eq!(rx.recv().await, Some(1));
        kept.await;
    });
}

#[test]
fn timeout_is_ok_for_immediate_work_and_elapsed_for_work_that_never_ends() {
    passes("timeout", || async {
        assert_eq!(time::timeout(ms(10), async { 7 }).await, Ok(7));
        let (tx, rx) = chan::bounded::<u8>(1);
        tx.send(1).await.unwrap();
        assert_eq!(time::timeout(ms(10), rx.recv()).await, Ok(Some(1)));
        let never = time::timeout(ms(5), rx.recv()).await;
        assert_eq!(never, Err(Elapsed::new()));
        let pending = time::timeout(ms(5), std::future::pending::<()>()).await;
        let e = pending.unwrap_err();
        assert_eq!(e.to_string(), "deadline has elapsed");
        let _: &dyn std::error::Error = &e;
        drop(tx);
    });
}

/// A timeout around a receive from a worker that sends without sleeping: either may win.
async fn timeout_vs_worker(work: Arc<AtomicUsize>, timed_out: Arc<AtomicUsize>) {
    let (tx, rx) = chan::bounded::<u8>(1);
    task::spawn_named("worker", async move {
        let _ = tx.send(1).await;
    });
    match time::timeout(ms(10), rx.recv()).await {
        Ok(v) => {
            assert_eq!(v, Some(1));
            work.fetch_add(1, Ordering::Relaxed);
        }
        Err(Elapsed { .. }) => {
            timed_out.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_race_between_a_timeout_and_a_worker_goes_both_ways_in_models() {
    for check in each_checker("timeout-race") {
        let work = Arc::new(AtomicUsize::new(0));
        let timed_out = Arc::new(AtomicUsize::new(0));
        let (w, t) = (work.clone(), timed_out.clone());
        let stats = check
            .run(move || timeout_vs_worker(w.clone(), t.clone()))
            .unwrap();
        let checker = stats.checkers[0].checker;
        let (work, timed_out) = (
            work.load(Ordering::Relaxed),
            timed_out.load(Ordering::Relaxed),
        );
        assert_eq!(work + timed_out, stats.executions as usize);
        if checker != Checker::Tokio {
            assert!(
                work > 0 && timed_out > 0,
                "{checker}: the work won {work} times and the timeout {timed_out} times"
            );
        }
    }
}

#[test]
fn a_ticker_fires_every_period_and_a_stopped_ticker_stops() {
    passes("ticker", || async {
        let period = ms(5);
        let start = Instant::now();
        let mut ticker = Ticker::new(period);
        let t1 = ticker.tick().await;
        let t2 = ticker.tick().await;
        let t3 = ticker.tick().await;
        if time::is_virtual() {
            assert_eq!(
                [t1 - start, t2 - start, t3 - start],
                [ms(5), ms(10), ms(15)]
            );
        } else {
            assert!(t1 - start >= period, "{:?}", t1 - start);
            assert!(t1 < t2 && t2 < t3);
        }
        ticker.stop();
        assert!(ticker.is_stopped());
        assert_eq!(
            time::timeout(ms(20), ticker.tick()).await,
            Err(Elapsed::new())
        );
    });
}

#[test]
fn in_models_a_ticker_fires_at_most_tick_limit_times() {
    let checks = [
        Check::new("tick-limit [loom]").loom(),
        Check::new("tick-limit [shuttle]").shuttle(200),
        Check::new("tick-limit [pct]").pct(200, 3),
    ];
    for check in checks {
        check
            .run(|| async {
                let mut ticker = Ticker::new(ms(1));
                for _ in 0..3 {
                    ticker.tick().await;
                }
                // The fourth tick never comes in a model (LEAKPROOF_TICK_LIMIT, default 3).
                let fourth = time::timeout(Duration::from_secs(3600), ticker.tick()).await;
                assert!(fourth.is_err());
            })
            .unwrap();
    }
}

#[test]
fn instant_now_advances_in_models_only_when_timers_fire() {
    passes("instant", || async {
        let t0 = Instant::now();
        task::yield_now().await;
        let (tx, rx) = chan::bounded::<u8>(1);
        tx.send(1).await.unwrap();
        rx.recv().await.unwrap();
        task::spawn(async {}).await.unwrap();
        if time::is_virtual() {
            assert_eq!(Instant::now(), t0, "no timer fired, no time passed");
        }
        time::sleep(ms(5)).await;
        if time::is_virtual() {
            assert_eq!(t0.elapsed(), ms(5));
        } else {
            assert!(t0.elapsed() >= ms(5));
        }
        time::sleep(ms(3)).await;
        let now = Instant::now();
        if time::is_virtual() {
            assert_eq!(now, t0 + ms(8));
            assert_eq!(now - ms(8), t0);
        }
        assert!(now - t0 >= ms(8));
        assert_eq!(now.duration_since(t0), now - t0);
        assert_eq!(t0.checked_duration_since(now), None);
        assert_eq!(t0 - now, Duration::ZERO);
        let mut t = t0;
        t += ms(2);
        t -= ms(1);
        assert_eq!(t, t0 + ms(1));
        assert_eq!(t.checked_sub(ms(1)), Some(t0));
    });
}

// ---------------------------------------------------------------------------------------
// context

#[test]
fn cancelling_a_parent_cancels_children_and_grandchildren() {
    passes("ctx-propagation", || async {
        let (parent, cancel) = Context::background().with_cancel();
        let (child, _c) = parent.with_cancel();
        let (grandchild, _g) = child.with_cancel();
        // A child that is done already keeps its own error.
        let (expired, _e) = parent.with_timeout(ms(1));
        expired.done().await;
        assert_eq!(expired.err(), Some(ContextError::DeadlineExceeded));
        let waiter = task::spawn_named("grandchild-waiter", async move {
            grandchild.done().await;
            grandchild.err()
        });
        assert_eq!(child.err(), None);
        cancel.cancel();
        assert_eq!(waiter.await.unwrap(), Some(ContextError::Canceled));
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(parent.err(), Some(ContextError::Canceled));
        assert_eq!(expired.err(), Some(ContextError::DeadlineExceeded));
        // A child made from a done context is born done.
        let (late, _l) = parent.with_cancel();
        assert_eq!(late.err(), Some(ContextError::Canceled));
        late.done().await;
    });
}

#[test]
fn cancelling_a_child_leaves_its_parent_alone() {
    passes("ctx-child-cancel", || async {
        let (parent, _p) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        cancel_child.cancel();
        cancel_child.cancel(); // twice is fine
        child.done().await;
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(parent.err(), None);
    });
}

#[test]
fn dropping_the_cancel_handle_cancels() {
    passes("ctx-drop-handle", || async {
        let (ctx, handle) = Context::background().with_cancel();
        let waiter = task::spawn_named("waiter", {
            let ctx = ctx.clone();
            async move {
                ctx.done().await;
                ctx.err()
            }
        });
        drop(handle);
        assert_eq!(waiter.await.unwrap(), Some(ContextError::Canceled));
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    });
}

#[test]
fn err_values() {
    passes("ctx-err", || async {
        let bg = Context::background();
        assert_eq!(bg.err(), None);
        assert_eq!(bg.deadline(), None);
        let (ctx, cancel) = bg.with_cancel();
        assert_eq!(ctx.err(), None);
        cancel.cancel();
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        assert_eq!(ContextError::Canceled.to_string(), "context canceled");
        assert_eq!(
            ContextError::DeadlineExceeded.to_string(),
            "context deadline exceeded"
        );
        let (timed, cancel) = bg.with_timeout(ms(2));
        timed.done().await;
        assert_eq!(timed.err(), Some(ContextError::DeadlineExceeded));
        cancel.cancel(); // a done context keeps its first error
        assert_eq!(timed.err(), Some(ContextError::DeadlineExceeded));
        let _: &dyn std::error::Error = &ContextError::Canceled;
    });
}

#[test]
fn with_timeout_fires_deadline_exceeded() {
    passes("ctx-timeout", || async {
        let start = Instant::now();
        let (ctx, _cancel) = Context::background().with_timeout(ms(5));
        let waiter = task::spawn_named("waiter", {
            let ctx = ctx.clone();
            async move {
                ctx.done().await;
                ctx.err()
            }
        });
        assert_eq!(waiter.await.unwrap(), Some(ContextError::DeadlineExceeded));
        assert!(start.elapsed() >= ms(5));
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        // The deadline passing is seen by err() too, with nobody waiting on done().
        let (ctx2, _c2) = Context::background().with_deadline(Instant::now() + ms(1));
        time::sleep(ms(2)).await;
        assert_eq!(ctx2.err(), Some(ContextError::DeadlineExceeded));
    });
}

#[test]
fn a_childs_deadline_is_capped_by_its_parents() {
    passes("ctx-deadline-cap", || async {
        let start = Instant::now();
        let (parent, _p) = Context::background().with_timeout(ms(5));
        let (child, _c) = parent.with_timeout(Duration::from_secs(5));
        assert_eq!(child.deadline(), parent.deadline());
        let (sooner, _s) = parent.with_timeout(ms(1));
        assert!(sooner.deadline() < parent.deadline());
        child.done().await;
        assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
        let waited = start.elapsed();
        if time::is_virtual() {
            assert_eq!(waited, ms(5));
        } else {
            assert!(
                waited >= ms(5) && waited < Duration::from_secs(4),
                "{waited:?}"
            );
        }
    });
}

#[test]
fn a_cancelled_timeout_context_leaves_no_leak() {
    passes("ctx-cancelled-timeout", || async {
        // Its deadline is the execution's earliest timer while the worker waits on it.
        let (ctx, cancel) = Context::background().with_timeout(ms(1));
        let worker = task::spawn_named("worker", async move {
            ctx.done().await;
            ctx.err()
        });
        cancel.cancel();
        let err = worker.await.unwrap();
        // The deadline may have passed first (in a model, at any point after it was set).
        assert!(err.is_some());
        // No timer is left behind: a later sleep fires, and nothing waits any more.
        time::sleep(ms(10)).await;
        assert!(track::snapshot().waits.is_empty(), "{}", track::snapshot());
    });
}

// ---------------------------------------------------------------------------------------
// buggy twins and their fixes

/// A task waits for a context that nobody will ever cancel: a goroutine leak.
#[test]
fn waiting_on_a_context_nobody_cancels_is_a_leak() {
    let failures = fails_with("ctx-leak", FailureKind::Leak, || async {
        let (ctx, cancel) = Context::background().with_cancel();
        task::spawn_named("waiter", async move {
            ctx.done().await;
        });
        std::mem::forget(cancel); // the bug: the handle is never cancelled nor dropped
    });
    for f in failures {
        assert!(f.report.contains("\"waiter\" [done]"), "{}", f.report);
        assert!(f.report.contains("context #"), "{}", f.report);
    }
    let failures = fails_with("background-leak", FailureKind::Leak, || async {
        task::spawn_named("forever", async {
            Context::background().done().await;
        });
    });
    for f in failures {
        assert!(f.report.contains("\"forever\" [done]"), "{}", f.report);
    }
}

#[test]
fn waiting_on_a_context_the_body_cancels_passes() {
    passes("ctx-fixed", || async {
        let (ctx, cancel) = Context::background().with_cancel();
        task::spawn_named("waiter", async move {
            ctx.done().await;
        });
        drop(cancel); // the fix
    });
}

/// A task ticks forever and is never told to stop: it outlives the body.
#[test]
fn a_task_looping_on_an_unstopped_ticker_is_a_leak() {
    let failures = fails_with("ticker-leak", FailureKind::Leak, || async {
        let (tx, rx) = chan::unbounded::<u32>();
        task::spawn_named("ticker-loop", async move {
            let mut ticker = Ticker::new(ms(1));
            let mut n = 0;
            loop {
                ticker.tick().await;
                n += 1;
                let _ = tx.send(n).await; // fails once the body is gone, and the loop goes on
            }
        });
        assert_eq!(rx.recv().await, Some(1));
    });
    for f in failures {
        assert!(f.report.contains("\"ticker-loop\""), "{}", f.report);
        if f.checker != Checker::Tokio {
            assert!(f.report.contains("[ticker exhausted]"), "{}", f.report);
        }
    }
}

#[test]
fn a_ticker_loop_that_leaves_on_cancellation_and_stops_its_ticker_passes() {
    passes("ticker-fixed", || async {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::unbounded::<u32>();
        task::spawn_named("ticker-loop", async move {
            let mut ticker = Ticker::new(ms(1));
            let mut n = 0;
            loop {
                harness::select! {
                    _ = ticker.tick() => {
                        n += 1;
                        let _ = tx.send(n).await;
                    }
                    _ = ctx.done() => {
                        ticker.stop();
                        return;
                    }
                }
            }
        });
        assert_eq!(rx.recv().await, Some(1));
        drop(cancel);
    });
}

#[test]
fn the_types_can_cross_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Context>();
    send_sync::<harness::context::CancelHandle>();
    send_sync::<Instant>();
    send_sync::<Elapsed>();
    send_sync::<ContextError>();
    send::<Ticker>();
    send::<time::Sleep>();
    send::<time::Timeout<time::Sleep>>();
    send::<harness::context::Done<'static>>();
}

/// A task in a select whose only live arm is a timer is waiting for time, not stuck: the
/// tokio checker must not call it a deadlock after its quiet period.
#[test]
fn a_select_with_a_timer_arm_is_not_stuck_on_tokio() {
    Check::new("select-timer-arm")
        .tokio(2)
        .run(|| async {
            let h = task::spawn(async {
                let (_tx, rx) = chan::bounded::<u8>(0);
                harness::select! {
                    _ = rx.recv() => panic!("nobody sends"),
                    _ = time::sleep(Duration::from_millis(300)) => {}
                }
            });
            h.await.unwrap();
        })
        .unwrap();
}

/// A request whose reply channel is held by the request itself, the way Go code holds it.
struct Request {
    reply: (chan::Sender<u32>, chan::Receiver<u32>),
}

/// Asks a worker for a result with a timeout. With a rendezvous reply channel, when the
/// timeout wins the worker blocks forever on its send: the seed's select-timeout leak. With
/// room for the reply (`capacity` 1) the worker's send completes and nobody leaks.
async fn ask_with_timeout(capacity: usize) -> Option<u32> {
    let req = Arc::new(Request {
        reply: chan::bounded(capacity),
    });
    let worker_req = req.clone();
    task::spawn_named("worker", async move {
        time::sleep(Duration::from_millis(20)).await;
        let _ = worker_req.reply.0.send(42).await;
    });
    harness::select! {
        v = req.reply.1.recv() => v,
        _ = time::sleep(Duration::from_millis(5)) => None,
    }
}

#[test]
fn a_select_whose_timeout_wins_leaks_the_child_blocked_on_its_send() {
    for check in [
        Check::new("select-timeout-leak").loom(),
        Check::new("select-timeout-leak").shuttle(100),
        Check::new("select-timeout-leak").pct(100, 3),
        Check::new("select-timeout-leak").tokio(2),
    ] {
        let f = check
            .run(|| async {
                assert_eq!(
                    ask_with_timeout(0).await,
                    None,
                    "the 5 ms timeout beats the 20 ms work"
                );
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Leak, "{}", f.report);
        assert!(f.report.contains("\"worker\" [chan send]"), "{}", f.report);
    }
}

#[test]
fn a_select_timeout_with_room_for_the_reply_leaks_nothing() {
    for check in [
        Check::new("select-timeout-fixed").loom(),
        Check::new("select-timeout-fixed").shuttle(100),
        Check::new("select-timeout-fixed").pct(100, 3),
        Check::new("select-timeout-fixed").tokio(2),
    ] {
        check
            .run(|| async {
                assert_eq!(ask_with_timeout(1).await, None);
            })
            .unwrap();
    }
}
