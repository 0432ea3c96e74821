//! The checkers themselves: deadlock, panic, replay, step limits, isolation and bad input.

use std::time::Duration;

use harness::check::{
    catch_replay_error, Check, Checker, FailureKind, ReplayErrorKind, ReplayToken,
};
use harness::{chan, task, track};

/// One check per checker, shuttle and PCT with 100 executions.
fn each_checker(name: &str) -> Vec<Check> {
    crate::common::each_checker(name, 100)
}

/// Two tasks, each waiting to receive from the other, joined by the body.
async fn two_task_cycle() {
    let (a_tx, a_rx) = chan::bounded::<u8>(0);
    let (b_tx, b_rx) = chan::bounded::<u8>(0);
    let a = task::spawn_named("A", async move {
        let _ = b_rx.recv().await;
        let _ = a_tx.send(1).await;
    });
    let b = task::spawn_named("B", async move {
        let _ = a_rx.recv().await;
        let _ = b_tx.send(1).await;
    });
    let _ = a.await;
    let _ = b.await;
}

#[test]
fn a_two_task_receive_cycle_is_a_deadlock_under_every_checker() {
    for check in each_checker("cycle") {
        let f = check.run(two_task_cycle).unwrap_err();
        assert_eq!(f.kind, FailureKind::Deadlock, "{}", f.report);
        let r = &f.report;
        assert!(r.contains("all 3 live task(s) are blocked"), "{r}");
        assert!(r.contains("task 0 \"main\" [join]"), "{r}");
        assert!(
            r.contains("\"A\" [chan recv]") && r.contains("\"B\" [chan recv]"),
            "{r}"
        );
        assert!(r.contains("no task is sending on it"), "{r}");
    }
}

#[test]
fn the_body_blocked_alone_is_a_deadlock() {
    for check in each_checker("self-deadlock") {
        let f = check
            .run(|| async {
                let (_tx, rx) = chan::bounded::<u8>(1);
                rx.recv().await;
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Deadlock, "{}", f.report);
        assert!(
            f.report.contains("task 0 \"main\" [chan recv]"),
            "{}",
            f.report
        );
    }
}

#[test]
fn a_panic_in_a_spawned_task_is_a_panic_under_every_checker() {
    for check in each_checker("task-panic") {
        let f = check
            .run(|| async {
                let h = task::spawn_named("doomed", async { panic!("the model's assertion") });
                let _ = h.await;
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic, "{}", f.report);
        assert!(
            f.report
                .contains("panic in task 1 \"doomed\": the model's assertion"),
            "{}",
            f.report
        );
        assert!(
            f.report.contains("panicked at tests/suite/checks.rs:"),
            "{}",
            f.report
        );
    }
}

#[test]
fn a_panic_report_lists_the_tasks_alive_when_it_happened_under_every_checker() {
    // On tokio the other tasks run on between the panic and the checker's verdict: here the
    // body lets the witness end after the panic, before the verdict, so a report built from
    // the registry at verdict time would list no witness (a flake of the bounded spawning
    // model's report under load).
    for check in each_checker("panic-live-tasks") {
        let f = check
            .run(|| async {
                let (go_tx, go_rx) = chan::bounded::<()>(1);
                let witness = task::spawn_named("witness", async move {
                    let _ = go_rx.recv().await;
                });
                let doomed = task::spawn_named("doomed", async { panic!("the model's assertion") });
                let _ = doomed.await;
                go_tx.send(()).await.unwrap();
                let _ = witness.await;
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic, "{}", f.report);
        assert!(
            f.report.contains(" \"doomed\": the model's assertion"),
            "{}",
            f.report
        );
        let (_, live) = f
            .report
            .split_once("live tasks when it happened:")
            .unwrap_or_else(|| panic!("{}: no live tasks listed:\n{}", f.checker, f.report));
        // Alive, whatever it was doing: blocked on its receive, or not polled yet in a
        // schedule (a shrunk one, say) that ran the doomed task first.
        assert!(
            live.contains(" \"witness\" ["),
            "{}: the witness was alive when the task panicked:\n{}",
            f.checker,
            f.report
        );
    }
}

use crate::common::order_violation;

#[test]
fn a_panic_found_by_a_random_scheduler_replays_from_its_token() {
    for check in [
        Check::new("order").shuttle(500),
        Check::new("order").pct(500, 2),
        Check::new("order").loom(),
    ] {
        let f = check.run(order_violation).unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic);
        let token = f.replay.clone().unwrap();
        for _ in 0..3 {
            let again = Check::new("order")
                .replay(&token)
                .run(order_violation)
                .unwrap_err();
            assert_eq!(again.kind, FailureKind::Panic);
            assert_eq!(again.checker, Checker::Replay);
            // A replay says whose schedule it followed, in the report and as a value.
            assert_eq!(again.schedule_checker(), f.checker);
            assert!(
                again
                    .report
                    .contains(&format!("checker: replay of a {} schedule", f.checker)),
                "{}",
                again.report
            );
            assert!(
                again.report.contains("the body's message must come first"),
                "{}",
                again.report
            );
        }
    }
}

#[test]
fn a_schedule_of_another_body_is_a_stale_token_not_a_verdict() {
    // The token of a failing schedule of another body: its steps do not fit this one (the
    // execution ends long before the schedule does, or a task it names does not exist).
    let f = Check::new("order")
        .shuttle(500)
        .run(order_violation)
        .unwrap_err();
    let token = f.replay.unwrap();
    let err =
        catch_replay_error(|| Check::new("other").replay(&token).run(|| async {})).unwrap_err();
    assert_eq!(err.kind, ReplayErrorKind::Stale, "{err}");
    assert!(
        err.message.contains("stale") && err.message.contains("hunt a fresh one"),
        "{err}"
    );
    assert_eq!(err.token, token);
    // A body with more tasks than the schedule knows: shuttle's replay finds a step that names
    // a task that is not runnable, or runs out of steps.
    let err = catch_replay_error(|| {
        Check::new("bigger").replay(&token).run(|| async {
            let hs: Vec<_> = (0..4)
                .map(|_| task::spawn(async { task::yield_now().await }))
                .collect();
            for h in hs {
                let _ = h.await;
            }
        })
    })
    .unwrap_err();
    assert_eq!(err.kind, ReplayErrorKind::Stale, "{err}");
    // The same token on its own body still replays.
    assert!(
        catch_replay_error(|| Check::new("order").replay(&token).run(order_violation))
            .unwrap()
            .is_err()
    );
}

/// A body loom explores in a handful of executions.
async fn two_sends() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let t = task::spawn(async move {
        let _ = tx.send(1).await;
    });
    let _ = rx.recv().await;
    let _ = t.await;
}

#[test]
fn a_loom_token_beyond_the_last_execution_says_how_many_there_are() {
    let n = Check::new("two-sends")
        .loom()
        .run(two_sends)
        .unwrap()
        .executions;
    assert!(n >= 1);
    // The last execution replays; the one after it does not exist.
    Check::new("two-sends")
        .replay(&format!("lp1:loom:2:{n}"))
        .run(two_sends)
        .unwrap();
    let token = format!("lp1:loom:2:{}", n + 1);
    let err =
        catch_replay_error(|| Check::new("two-sends").replay(&token).run(two_sends)).unwrap_err();
    assert_eq!(err.kind, ReplayErrorKind::NoSuchExecution);
    let says = format!("has {n} execution");
    assert!(
        err.message.contains(&says) && err.message.contains(&token),
        "{err}"
    );
    // Without `catch_replay_error`, `run` panics with the same message.
    let panic = std::panic::catch_unwind(|| Check::new("two-sends").replay(&token).run(two_sends))
        .unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("leakproof: replay token") && msg.contains(&says),
        "{msg}"
    );
}

#[test]
fn a_loom_token_past_a_failing_execution_is_an_error_not_an_empty_leak() {
    let leaky = || async {
        let (tx, rx) = chan::bounded::<u8>(0);
        task::spawn_named("stuck", async move {
            let _ = tx.send(1).await;
        });
        std::mem::forget(rx);
    };
    let f = Check::new("leaky").loom().run(leaky).unwrap_err();
    assert_eq!(f.kind, FailureKind::Leak);
    let token = "lp1:loom:2:999999999999";
    let err = catch_replay_error(|| Check::new("leaky").replay(token).run(leaky)).unwrap_err();
    assert_eq!(err.kind, ReplayErrorKind::NoSuchExecution);
    assert!(
        err.message
            .contains(&format!("stops at execution {}, which fails", f.execution)),
        "{err}"
    );
}

#[test]
fn zero_executions_are_refused_when_the_check_is_built() {
    type Build = fn() -> Check;
    let cases: [(Build, &str); 4] = [
        (
            || Check::new("z").shuttle(0),
            "Check::shuttle(iterations) with iterations = 0",
        ),
        (
            || Check::new("z").pct(0, 3),
            "Check::pct(iterations, depth) with iterations = 0",
        ),
        (
            || Check::new("z").pct(10, 0),
            "Check::pct(iterations, depth) with depth = 0",
        ),
        (
            || Check::new("z").tokio(0),
            "Check::tokio(runs) with runs = 0",
        ),
    ];
    for (build, says) in cases {
        let panic = std::panic::catch_unwind(build).unwrap_err();
        let msg = panic.downcast_ref::<String>().unwrap();
        assert!(msg.contains(says) && msg.contains("must not pass"), "{msg}");
    }
}

#[test]
fn malformed_tokens_are_clear_errors() {
    for (token, says) in [
        ("", "expected it to start with `lp1:`"),
        ("lp2:shuttle:9100", "expected it to start with `lp1:`"),
        ("lp1:", "missing checker"),
        ("lp1:shuttle", "missing schedule"),
        ("lp1:shuttle:nothex", "is not a shuttle schedule"),
        ("lp1:shuttle:91ff", "is not a shuttle schedule"),
        (
            "lp1:pct:91ffffffffffffffffffffff01",
            "is not a shuttle schedule",
        ),
        ("lp1:loom:2", "lp1:loom:<bound>:<execution>"),
        ("lp1:loom:two:3", "is not a preemption bound"),
        ("lp1:loom:2:0", "numbered from 1"),
        ("lp1:rr:1", "unknown checker"),
    ] {
        let err = ReplayToken::parse(token).unwrap_err().to_string();
        assert!(err.starts_with("invalid replay token: "), "{err}");
        assert!(err.contains(says), "{token:?}: {err}");
    }
    let panic =
        std::panic::catch_unwind(|| Check::new("bad").replay("lp1:shuttle:00")).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("invalid replay token"), "{msg}");
}

#[test]
fn tokens_round_trip() {
    for t in ["lp1:loom:2:17", "lp1:loom:none:3"] {
        assert_eq!(ReplayToken::parse(t).unwrap().to_string(), t);
    }
    let f = Check::new("order")
        .pct(500, 2)
        .run(order_violation)
        .unwrap_err();
    let token = f.replay.unwrap();
    assert!(token.starts_with("lp1:pct:"));
    assert_eq!(ReplayToken::parse(&token).unwrap().to_string(), token);
}

#[test]
fn a_spinning_task_hits_the_step_limit_not_a_hang() {
    for check in [Check::new("spin").shuttle(3), Check::new("spin").loom()] {
        let f = check
            .run(|| async {
                let (_tx, rx) = chan::bounded::<u8>(1);
                loop {
                    if rx.try_recv().is_ok() {
                        break;
                    }
                    task::yield_now().await;
                }
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::StepLimit, "{}", f.report);
        assert!(f.report.contains("step bound"), "{}", f.report);
    }
}

#[test]
fn loom_refuses_too_many_tasks_with_a_clear_message() {
    let f = Check::new("too-many")
        .loom()
        .run(|| async {
            for _ in 0..5 {
                task::spawn(async {});
            }
        })
        .unwrap_err();
    assert!(f.report.contains("too many tasks for loom"), "{}", f.report);
}

/// Under loom, the harness's own join of the tasks left when the body returns is not a
/// scheduling point: no program can tell whether a task ended before or after it looked, so
/// loom explores one execution here, not one per order.
#[test]
fn the_harness_join_after_the_body_adds_no_loom_execution() {
    let stats = Check::new("detached-end")
        .loom()
        .run(|| async {
            task::spawn(async {});
        })
        .unwrap();
    assert_eq!(stats.executions, 1, "{stats:?}");
}

/// A task whose handle is alive ends at a scheduling point: loom explores the handle's
/// `is_finished` both before and after the end.
#[test]
fn loom_explores_an_observed_task_end_both_ways() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    Check::new("observed-end")
        .loom()
        .run(move || {
            let seen = seen2.clone();
            async move {
                let h = task::spawn(async {});
                let done = h.is_finished();
                seen.lock().unwrap().push(done);
                h.await.unwrap();
            }
        })
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(
        seen.contains(&true) && seen.contains(&false),
        "loom saw is_finished as {seen:?}"
    );
}

#[test]
fn slow_tasks_that_finish_are_not_leaks_on_tokio() {
    Check::new("slow")
        .tokio(2)
        .run(|| async {
            task::spawn_named("slow", async {
                tokio::time::sleep(Duration::from_millis(150)).await;
            });
        })
        .unwrap();
}

#[test]
fn parallel_checks_never_see_each_others_tasks() {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    std::thread::scope(|s| {
        for (i, checker) in ["shuttle", "tokio", "pct", "loom"].into_iter().enumerate() {
            let barrier = barrier.clone();
            s.spawn(move || {
                barrier.wait();
                let prefix = format!("t{i}-");
                let check = match checker {
                    "shuttle" => Check::new(checker).shuttle(50),
                    "pct" => Check::new(checker).pct(50, 2),
                    "loom" => Check::new(checker).loom(),
                    _ => Check::new(checker).tokio(5),
                };
                check
                    .run(move || {
                        let prefix = prefix.clone();
                        async move {
                            let (tx, rx) = chan::bounded::<u8>(0);
                            let h = task::spawn_named(format!("{prefix}worker"), async move {
                                tx.send(1).await.unwrap();
                            });
                            let snap = track::snapshot();
                            for t in &snap.tasks {
                                assert!(
                                    t.id == 0 || t.name.starts_with(&prefix),
                                    "saw a foreign task {:?} in {prefix}",
                                    t.name
                                );
                            }
                            assert_eq!(rx.recv().await, Some(1));
                            h.await.unwrap();
                        }
                    })
                    .unwrap();
            });
        }
    });
}

#[test]
fn snapshot_shows_live_tasks_and_pending_operations() {
    Check::new("snapshot")
        .shuttle(20)
        .run(|| async {
            let (tx, rx) = chan::bounded::<u8>(0);
            let h = task::spawn_named("sender", async move {
                tx.send(9).await.unwrap();
            });
            // Give the sender every chance to block on its send.
            for _ in 0..10 {
                task::yield_now().await;
            }
            let snap = track::snapshot();
            let sender = snap.tasks.iter().find(|t| t.name == "sender").unwrap();
            if let Some(w) = snap.wait_of(sender.id) {
                assert_eq!(sender.state, track::TaskState::Blocked, "{snap}");
                assert_eq!(w.op, "send");
                assert_eq!(snap.resource(w.resource).unwrap().capacity, Some(0));
                assert!(snap.to_string().contains("\"sender\" [chan send]"));
            }
            assert_eq!(rx.recv().await, Some(9));
            h.await.unwrap();
            let after = track::snapshot();
            assert!(after.waits.is_empty(), "{after}");
            let body = after.task(0).unwrap();
            assert_eq!(body.state, track::TaskState::Running, "{after}");
        })
        .unwrap();
}

/// A task pending on a future leakproof does not model (here `std::future::pending`) is
/// named as such in the leak report, under every checker: neither `[running]` nor a
/// leakproof wait.
#[test]
fn a_task_pending_on_an_unmodelled_future_is_named_as_such() {
    for check in each_checker("unmodelled-wait") {
        let failure = check
            .run(|| async {
                task::spawn_named("stuck", std::future::pending::<()>());
            })
            .unwrap_err();
        let r = &failure.report;
        assert!(
            matches!(failure.kind, FailureKind::Leak | FailureKind::Deadlock),
            "{r}"
        );
        assert!(
            r.contains("\"stuck\" [not on a leakproof primitive]:"),
            "{r}"
        );
        assert!(
            r.contains("    pending on something leakproof does not model"),
            "{r}"
        );
        assert!(!r.contains("[running]"), "{r}");
        assert!(!r.contains("blocked at"), "{r}");
        assert!(!r.contains("nothing left to wake them"), "{r}");
    }
}

/// With the trace printed (`Check::trace`), a channel's state still reaches the report: its
/// counts, not the `res.state` events the trace prints, are what the registry reads.
#[test]
fn a_traced_run_reports_the_channels_state() {
    for check in [
        Check::new("traced-leak [shuttle]").shuttle(1),
        Check::new("traced-leak [tokio]").tokio(1),
    ] {
        let failure = check
            .trace(true)
            .run(|| async {
                let (tx, rx) = chan::bounded::<u8>(1);
                tx.send(1).await.unwrap();
                task::spawn_named("stuck-sender", async move {
                    let _ = tx.send(2).await;
                });
                // The receiver lives on in the body's frame until it returns.
                while track::snapshot().waits.is_empty() {
                    task::yield_now().await;
                }
                std::mem::forget(rx);
            })
            .unwrap_err();
        let r = &failure.report;
        assert_eq!(failure.kind, FailureKind::Leak, "{r}");
        assert!(r.contains("\"stuck-sender\" [chan send]"), "{r}");
        assert!(r.contains("(cap 1, len 1)"), "{r}");
        assert!(
            r.contains("1 sender handle(s), 1 receiver handle(s) alive"),
            "{r}"
        );
    }
}

/// A channel's length, handles and closed flag are the channel's own (kept by the channel
/// under its lock, read by the snapshot): each change shows in the next snapshot, under
/// every checker, for tokio's mpsc and oneshot; leakproof's channel reports its handles and
/// closed flag as they change and its length when a sender blocks (what its reports show).
#[test]
fn snapshot_shows_each_channels_counts_as_they_change() {
    use harness::tokio::sync::{mpsc, oneshot};
    fn counts(id: u64) -> (usize, usize, usize, bool) {
        let snap = track::snapshot();
        let r = snap
            .resource(id)
            .unwrap_or_else(|| panic!("no resource #{id}: {snap}"));
        (r.len, r.senders, r.receivers, r.closed)
    }
    /// The id of the resource created last (the snapshot lists them by id).
    fn newest() -> u64 {
        track::snapshot().resources.last().expect("a resource").id
    }
    for check in each_checker("snapshot-counts") {
        check
            .run(|| async {
                let (tx, rx) = chan::bounded::<u8>(1);
                let go = newest();
                assert_eq!(counts(go), (0, 1, 1, false));
                let tx2 = tx.clone();
                assert_eq!(counts(go).1, 2);
                tx.send(1).await.unwrap();
                // leakproof's channel reports its length when a sender starts waiting.
                let h = task::spawn(async move { tx2.send(2).await.unwrap() });
                while track::snapshot().waits.is_empty() {
                    task::yield_now().await;
                }
                assert_eq!(counts(go), (1, 2, 1, false));
                assert_eq!(rx.recv().await, Some(1));
                h.await.unwrap();
                assert_eq!(counts(go).1, 1);
                tx.close();
                assert!(counts(go).3);

                let (mtx, mut mrx) = mpsc::channel::<u8>(4);
                let m = newest();
                mtx.send(7).await.unwrap();
                mtx.send(8).await.unwrap();
                assert_eq!(counts(m), (2, 1, 1, false));
                assert_eq!(mrx.recv().await, Some(7));
                assert_eq!(counts(m), (1, 1, 1, false));
                drop(mtx);
                assert_eq!(counts(m), (1, 0, 1, true));

                let (otx, orx) = oneshot::channel::<u8>();
                let o = newest();
                assert_eq!(counts(o), (0, 1, 1, false));
                otx.send(3).unwrap();
                assert_eq!(counts(o), (1, 0, 1, true));
                assert_eq!(orx.await, Ok(3));
            })
            .unwrap();
    }
}

#[test]
fn abort_stops_a_blocked_task_and_join_says_cancelled() {
    for check in each_checker("abort") {
        check
            .run(|| async {
                let (tx, rx) = chan::bounded::<u8>(0);
                let h = task::spawn(async move {
                    let _ = tx.send(1).await;
                });
                h.abort();
                let err = h.await.unwrap_err();
                assert!(err.is_cancelled());
                drop(rx);
            })
            .unwrap();
    }
}

#[test]
fn no_checker_chosen_runs_all_four() {
    let stats = Check::new("defaults")
        .run(|| async {
            let h = task::spawn(async { 1 });
            assert_eq!(h.await.unwrap(), 1);
        })
        .unwrap();
    let checkers: Vec<Checker> = stats.checkers.iter().map(|c| c.checker).collect();
    assert_eq!(
        checkers,
        [
            Checker::Loom,
            Checker::Shuttle,
            Checker::Pct,
            Checker::Tokio
        ]
    );
    assert_eq!(
        stats.executions,
        stats.checkers.iter().map(|c| c.executions).sum::<u64>()
    );
}

#[test]
fn a_loom_failure_is_saved_as_a_checkpoint_that_replays_its_path() {
    let (path, f) = crate::common::order_violation_checkpoint("loom-path");
    assert_eq!(f.kind, FailureKind::Panic);
    if f.execution == 1 {
        // loom stores no path before its first execution: the token replays that one.
        assert!(
            f.report.contains("could not write loom's checkpoint"),
            "{}",
            f.report
        );
        return;
    }
    assert!(
        f.report.contains("loom's checkpoint of this path:"),
        "{}",
        f.report
    );
    let token = format!("lp1:loom-file:{}", path.display());
    for _ in 0..2 {
        let again = Check::new("order")
            .replay(&token)
            .run(order_violation)
            .unwrap_err();
        assert_eq!(again.kind, FailureKind::Panic, "{}", again.report);
        assert_eq!(again.checker, Checker::Replay);
        assert_eq!(
            again.execution, 1,
            "a checkpoint replays exactly one execution"
        );
        assert!(again.report.contains("the body's message must come first"));
    }
    // The checkpoint is still there after replays (they work on a copy).
    assert!(path.is_file());
    let _ = std::fs::remove_file(&path);
    let err = ReplayToken::parse(&token).unwrap_err().to_string();
    assert!(err.contains("cannot read loom checkpoint"), "{err}");
}

#[test]
fn record_keeps_an_execution_log_with_matched_messages() {
    let f = Check::new("log")
        .shuttle(50)
        .record(true)
        .run(|| async {
            let (tx, rx) = chan::bounded::<u8>(0);
            let keep = rx.clone();
            task::spawn_named("stuck", async move {
                tx.send(1).await.unwrap();
                tx.send(2).await.unwrap();
            });
            assert_eq!(rx.recv().await, Some(1));
            std::mem::forget(keep);
        })
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Leak);
    let log = &f.snapshot.log;
    let sent: Vec<u64> = log
        .iter()
        .filter_map(|e| match e.event {
            track::LogEvent::Sent { msg, .. } => Some(msg),
            _ => None,
        })
        .collect();
    let received: Vec<u64> = log
        .iter()
        .filter_map(|e| match e.event {
            track::LogEvent::Received { msg, .. } => Some(msg),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "{log:?}");
    assert_eq!(sent, received, "the one message sent is the one received");
    assert!(log
        .iter()
        .any(|e| matches!(&e.event, track::LogEvent::Waiting { op, .. } if op == "send")));
}

// ---------------------------------------------------------------------------------------
// Faults the harness must survive with a verdict or a clear error naming the cause.

#[test]
fn a_race_cell_used_outside_any_check_is_plain_memory() {
    let cell = harness::cell::RaceCell::new(1u32);
    cell.set(2);
    cell.with_mut(|n| *n += 1);
    assert_eq!(cell.get(), 3);
    assert_eq!(cell.with(|n| *n), 3);
}

#[test]
fn a_token_pasted_with_whitespace_or_cut_short_is_replayed_or_refused_clearly() {
    let f = Check::new("order")
        .shuttle(500)
        .run(order_violation)
        .unwrap_err();
    let token = f.replay.unwrap();
    // Surrounding whitespace (a copied line) is ignored.
    let padded = format!("  {token}\n");
    let again = Check::new("order")
        .replay(&padded)
        .run(order_violation)
        .unwrap_err();
    assert_eq!(again.kind, FailureKind::Panic, "{}", again.report);
    // Cut short: refused when parsed, or, when what is left still decodes, a stale replay,
    // never a verdict about a different execution and never an abort.
    for keep in (12..token.len()).step_by(2) {
        let cut = &token[..keep];
        match ReplayToken::parse(cut) {
            Err(e) => assert!(e.to_string().starts_with("invalid replay token"), "{e}"),
            Ok(t) => {
                match catch_replay_error(|| {
                    Check::new("order").replay_token(t).run(order_violation)
                }) {
                    Err(e) => assert_eq!(e.kind, ReplayErrorKind::Stale, "{cut}: {e}"),
                    Ok(Err(f)) => assert_eq!(f.kind, FailureKind::Panic, "{cut}: {}", f.report),
                    Ok(Ok(_)) => panic!("{cut}: a cut schedule replayed to the end and passed"),
                }
            }
        }
    }
}

/// A report writes the first 50 stuck tasks in full and counts the rest, grouped by where
/// they wait and were spawned; a channel's other waiters are named up to 8, then counted (a
/// hundred thousand leaked receivers made a report quadratic in size before).
#[test]
fn a_report_of_many_stuck_tasks_writes_fifty_and_counts_the_rest() {
    let many = || async {
        let (tx, rx) = chan::unbounded::<u8>();
        for _ in 0..60 {
            let rx = rx.clone();
            task::spawn_named("receiver", async move {
                let _ = rx.recv().await;
            });
        }
        std::mem::forget(tx);
    };
    for check in [
        Check::new("many receivers").shuttle(1),
        Check::new("many receivers").pct(1, 3),
        Check::new("many receivers").tokio(1),
    ] {
        let f = check.run(many).unwrap_err();
        assert_eq!(f.kind, FailureKind::Leak, "{}", f.report);
        let r = &f.report;
        assert!(r.contains("60 task(s) still alive"), "{r}");
        assert_eq!(r.matches("\" [chan recv]:").count(), 50, "{r}");
        assert!(
            r.contains("... and 10 more task(s), not written out (a report writes 50 in full):"),
            "{r}"
        );
        assert!(
            r.contains("    10 task(s) [recv] blocked at tests/suite/checks.rs:"),
            "{r}"
        );
        assert!(r.contains(", spawned at tests/suite/checks.rs:"), "{r}");
        assert_eq!(r.matches(", and 51 more\n").count(), 50, "{r}");
    }
}
