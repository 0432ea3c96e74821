//! Faults the harness must survive (issue 14): each gets a verdict or a clear error that
//! names its cause, under every checker that applies; never an abort, a silent hang, a
//! double panic, lost results, or a report that blames the wrong task.
//!
//! Two more faults are tested in tests/suite/checks.rs: a `RaceCell` used outside any check
//! (`a_race_cell_used_outside_any_check_is_plain_memory`) and a replay token pasted with
//! whitespace or cut short (`a_token_pasted_with_whitespace_or_cut_short_is_replayed_or_refused_clearly`).
//!
//! Faults that stop the checker's OS thread for good (under loom and shuttle every task runs
//! on it; under tokio the body does) cannot be unwound: the watchdog (harness/src/check/
//! watchdog.rs) reports them and ends the process with exit status 3. They are tested from
//! outside, each in a child process (this binary run again, `fault_child`): a std `Mutex` held
//! across an await and taken again by another task (loom, shuttle, PCT: the watchdog names
//! the taker; tokio, where the taker blocks a worker thread: its own watchdog's verdict), a
//! body that blocks its OS thread and a body that spins without a scheduling point (all four
//! checkers), a spawned task that spins (loom, shuttle, PCT; tokio: in process, below).
//!
//! Faults tried here: 14 kinds (a panic in `Drop` at teardown and at a task's end, a panic
//! in a `select!` arm, a check inside a check, 100,000 shuttle tasks, a thread sleep, a
//! damaged loom checkpoint, a loom checkpoint of another check, a loom path of another body,
//! a stale shuttle token, a std `Mutex` held across an await, a body that blocks its thread,
//! a body that spins, a task that spins), 41 fault-and-checker pairs in all.

use std::time::Duration;

use harness::check::{
    catch_replay_error, Check, Checker, FailureKind, ReplayErrorKind, ReplayToken,
};
use harness::{chan, task};

mod common;

/// One check per checker (loom, shuttle random, shuttle PCT, tokio), 20 executions each.
fn each_checker(name: &str) -> Vec<Check> {
    common::each_checker(name, 20)
}

/// Panics when dropped (unless the thread is already panicking: that would abort).
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{} panicked in Drop", self.0);
        }
    }
}

/// A task left blocked when the body returns is torn down with the execution: its future is
/// dropped then, and a value it holds panics in `Drop`. The verdict is still the leak,
/// naming the task, under every checker; the drop's panic aborts nothing.
#[test]
fn a_panic_in_drop_at_teardown_leaves_the_leak_verdict() {
    for check in each_checker("drop panics at teardown") {
        let f = check
            .run(|| async {
                let (tx, rx) = chan::bounded::<u8>(0);
                task::spawn_named("holder", async move {
                    let _bomb = PanicOnDrop("holder's value");
                    let _ = rx.recv().await; // blocked for good: tx is kept below
                });
                task::yield_now().await;
                std::mem::forget(tx);
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Leak, "{}: {}", f.checker, f.report);
        assert!(f.report.contains("\"holder\""), "{}", f.report);
        assert!(f.report.contains("[chan recv]"), "{}", f.report);
    }
}

/// A task whose value panics in `Drop` as the task ends normally: a panic in that task,
/// named as such, under every checker.
#[test]
fn a_panic_in_drop_when_a_task_ends_is_that_tasks_panic() {
    for check in each_checker("drop panics at task end") {
        let f = check
            .run(|| async {
                let t = task::spawn_named("dropper", async {
                    let _bomb = PanicOnDrop("dropper's value");
                    task::yield_now().await;
                });
                let _ = t.await;
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic, "{}: {}", f.checker, f.report);
        assert!(
            f.report.contains("dropper's value panicked in Drop"),
            "{}",
            f.report
        );
        assert!(f.report.contains("\"dropper\""), "{}", f.report);
    }
}

/// A panic in the handler of a `select!` arm is a panic of the task that ran the select,
/// with the message first, under every checker.
#[test]
fn a_panic_inside_a_select_arm_is_reported_as_that_tasks_panic() {
    for check in each_checker("select arm panics") {
        let f = check
            .run(|| async {
                let (tx, rx) = chan::bounded::<u8>(1);
                let (_keep, never) = chan::bounded::<u8>(0);
                let t = task::spawn_named("selector", async move {
                    harness::select! {
                        v = rx.recv() => panic!("arm got {v:?}"),
                        _ = never.recv() => {}
                    }
                });
                tx.send(3).await.unwrap();
                let _ = t.await;
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic, "{}: {}", f.checker, f.report);
        assert!(f.report.contains("arm got Some(3)"), "{}", f.report);
        assert!(f.report.contains("\"selector\""), "{}", f.report);
    }
}

/// A check run inside another check's body is refused with a clear message, as a panic of
/// the outer check's body, under every checker.
#[test]
fn a_check_inside_a_check_is_refused_clearly() {
    for check in each_checker("outer") {
        let f = check
            .run(|| async {
                let _ = Check::new("inner").shuttle(1).run(|| async {});
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic, "{}: {}", f.checker, f.report);
        assert!(
            f.report
                .contains("Check::run called inside the body of check \"outer\""),
            "{}",
            f.report
        );
    }
}

/// A model that spawns 100,000 tasks under shuttle (each live task has its own mapped stack,
/// and the machine allows about 65,000 mappings) gets a clear "too many tasks" verdict (a
/// panic of the model, as loom's limit of 4 tasks is).
#[test]
fn a_hundred_thousand_shuttle_tasks_is_too_many_tasks_not_a_crash() {
    // shuttle's random and PCT schedulers share the limit (one backend): one run suffices.
    {
        let f = Check::new("100k")
            .shuttle(1)
            .run(|| async {
                let (_tx, rx) = chan::bounded::<u8>(0);
                let rx = std::sync::Arc::new(rx);
                for _ in 0..100_000 {
                    let rx = rx.clone();
                    task::spawn(async move {
                        let _ = rx.recv().await;
                    });
                }
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::Panic, "{}", f.report);
        assert!(
            f.report.contains("too many tasks for shuttle"),
            "{}",
            f.report
        );
    }
}

/// A spawned task that spins without ever reaching a scheduling point, on tokio: the body
/// waiting for it gets the watchdog's deadlock verdict, and the spinning worker thread is
/// left behind rather than hanging the check.
#[test]
fn a_task_that_never_yields_on_tokio_gets_the_watchdog_verdict() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    std::env::set_var("LEAKPROOF_TOKIO_TIMEOUT_SECS", "1");
    let f = Check::new("spinner")
        .tokio(1)
        .run(move || {
            let s = s.clone();
            async move {
                let t = task::spawn_named("spinner", async move {
                    // No scheduling point: a tight loop, ended only by the test's flag
                    // (a real spin would run until the process exits).
                    while !s.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                });
                let _ = t.await;
            }
        })
        .unwrap_err();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(f.kind, FailureKind::Deadlock, "{}", f.report);
    assert!(f.report.contains("the watchdog fired"), "{}", f.report);
    assert_eq!(f.checker, Checker::Tokio);
}

/// A task that blocks its OS thread for a while (a `std::thread::sleep`) and then ends is no
/// failure under any checker: blocking is slow, not wrong.
#[test]
fn a_task_that_sleeps_its_thread_and_ends_passes_every_checker() {
    for check in each_checker("thread sleep") {
        let name = format!("{check:?}");
        check
            .run(|| async {
                let t = task::spawn_named("sleeper", async {
                    std::thread::sleep(Duration::from_millis(2));
                });
                t.await.unwrap();
            })
            .unwrap_or_else(|f| panic!("{name}: {}", f.report));
    }
}

// ---------------------------------------------------------------------------------------
// Bad replay input: a clear error, never a verdict about some other execution.

use common::order_violation;

/// An edit of a loom checkpoint's JSON.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

/// A loom checkpoint whose numbers are out of range (a damaged or hand-edited file) is
/// refused when its token is parsed, saying which number is wrong; loom would panic inside
/// its own code or replay another execution.
#[test]
fn a_loom_checkpoint_out_of_range_is_refused_clearly() {
    let (path, f) = common::order_violation_checkpoint("faults-loom");
    assert!(
        f.execution > 1,
        "loom finds this one after its first execution"
    );
    let token = format!("lp1:loom-file:{}", path.display());
    ReplayToken::parse(&token).expect("the checkpoint loom wrote is accepted");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let schedule = good["branches"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e.get("Schedule").is_some())
        .expect("the path has a schedule branch");
    let edits: Vec<(&str, Edit)> = vec![
        ("`pos` is 999", Box::new(|v| v["pos"] = 999.into())),
        (
            "`initial_active` is thread 9",
            Box::new(move |v| {
                v["branches"]["entries"][schedule]["Schedule"]["initial_active"] = 9.into()
            }),
        ),
        (
            "unknown thread state",
            Box::new(move |v| {
                v["branches"]["entries"][schedule]["Schedule"]["threads"][0] = "Gone".into()
            }),
        ),
        (
            "`threads` is not a list of 5",
            Box::new(move |v| {
                v["branches"]["entries"][schedule]["Schedule"]["threads"] =
                    serde_json::json!(["Active"])
            }),
        ),
        (
            "not one of Schedule, Load or Spurious",
            Box::new(|v| v["branches"]["entries"][0] = serde_json::json!({"Jump": {}})),
        ),
        (
            "no `branches` field",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("branches");
            }),
        ),
    ];
    let bad = std::env::temp_dir().join(format!(
        "leakproof-faults-loom-bad-{}.json",
        std::process::id()
    ));
    for (why, edit) in edits {
        let mut v = good.clone();
        edit(&mut v);
        std::fs::write(&bad, v.to_string()).unwrap();
        let err = ReplayToken::parse(&format!("lp1:loom-file:{}", bad.display()))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid replay token"), "{err}");
        assert!(
            err.contains("is not a loom checkpoint this loom can replay"),
            "{err}"
        );
        assert!(err.contains(why), "expected `{why}` in: {err}");
    }
    let _ = std::fs::remove_file(&bad);
    let _ = std::fs::remove_file(&path);
}

/// A shuttle token replayed on a body it does not fit is a stale-token error whose message
/// is one short line of shuttle's cause, not shuttle's dump of every runnable task.
#[test]
fn a_stale_token_message_is_short() {
    let f = Check::new("order")
        .shuttle(500)
        .run(order_violation)
        .unwrap_err();
    let token = f.replay.unwrap();
    // One task only: the schedule's steps for the spawned task cannot be followed.
    let err = catch_replay_error(|| {
        Check::new("lonely").replay(&token).run(|| async {
            for _ in 0..20 {
                task::yield_now().await;
            }
        })
    })
    .unwrap_err();
    assert_eq!(err.kind, ReplayErrorKind::Stale, "{err}");
    assert!(err.message.contains("hunt a fresh one"), "{err}");
    assert!(!err.message.contains("choices were"), "{err}");
    assert!(!err.message.contains('\n'), "{err}");
    assert!(
        err.message.len() < 600,
        "{} chars: {err}",
        err.message.len()
    );
}

/// shuttle's own stderr lines are recognised by the library's filter (which the CLI and a
/// user's own runner install); leakproof's lines and a user's are not.
#[test]
fn the_stderr_filter_knows_shuttles_lines_from_everyone_elses() {
    use harness::check::stderr::is_shuttle_noise;
    for noise in [
        "Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE is not set, so no backtrace\n",
        "test panicked in task 'main-thread'\n",
        "Task failed, serializing schedule\n",
    ] {
        assert!(is_shuttle_noise(noise.as_bytes()), "{noise}");
    }
    for kept in [
        "leakproof: deadlock in check \"x\"\n",
        "my test panicked in task 'main-thread'\n",
        "thread 'main' panicked at src/lib.rs:1:1:\n",
    ] {
        assert!(!is_shuttle_noise(kept.as_bytes()), "{kept}");
    }
}

/// A different body from `order_violation`: two tasks hand a value along a channel.
async fn hand_over() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let t = task::spawn_named("sender", async move {
        let _ = tx.send(1).await;
    });
    let _ = rx.recv().await;
    let _ = t.await;
}

/// A well-formed loom checkpoint saved by one check, replayed against another check's body,
/// is a clear stale-token error naming both checks, not a verdict about an execution of
/// the other body.
#[test]
fn a_loom_checkpoint_of_another_check_is_refused_clearly() {
    let (path, f) = common::order_violation_checkpoint("faults-loom-other");
    assert!(f.execution > 1, "{}", f.report);
    let token = format!("lp1:loom-file:{}", path.display());
    // Its own check replays it to the same failure.
    let again = Check::new("order").replay(&token).run(order_violation);
    assert_eq!(again.unwrap_err().kind, FailureKind::Panic);
    // Any other check refuses it: another body, or the same body under another name.
    for name in ["hand over", "order, renamed"] {
        let err = catch_replay_error(|| {
            let check = Check::new(name).replay(&token);
            if name == "hand over" {
                check.run(hand_over)
            } else {
                check.run(order_violation)
            }
        })
        .unwrap_err();
        assert_eq!(err.kind, ReplayErrorKind::Stale, "{err}");
        assert!(
            err.message.contains("was saved by check \"order\""),
            "{err}"
        );
        assert!(err.message.contains(&format!("check \"{name}\"")), "{err}");
    }
    let _ = std::fs::remove_file(&path);
}

/// A loom checkpoint written by loom itself for another body (no check named in the file)
/// whose path does not fit this body is a stale-token error, not loom's internal panic
/// reported as the model's.
#[test]
fn a_foreign_loom_path_that_does_not_fit_is_refused_clearly() {
    let (path, _) = common::order_violation_checkpoint("faults-loom-foreign");
    // Strip leakproof's stamp: as if loom had written the file for some other program.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("leakproof");
    std::fs::write(&path, json.to_string()).unwrap();
    let token = format!("lp1:loom-file:{}", path.display());
    let outcome = catch_replay_error(|| {
        Check::new("spawns three").replay(&token).run(|| async {
            let (tx, rx) = chan::unbounded::<u8>();
            for i in 0..3 {
                let tx = tx.clone();
                task::spawn(async move {
                    let _ = tx.send(i).await;
                });
            }
            for _ in 0..3 {
                let _ = rx.recv().await;
            }
        })
    });
    match outcome {
        Err(err) => {
            assert_eq!(err.kind, ReplayErrorKind::Stale, "{err}");
            assert!(err.message.contains("does not fit"), "{err}");
        }
        // The path happened to fit this body: then it must be a verdict on this body
        // (which is correct), never another body's failure.
        Ok(result) => assert!(result.is_ok(), "{:?}", result.err().map(|f| f.report)),
    }
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------------------------------
// Faults that stop the checker's OS thread for good: the watchdog's report and exit status,
// seen from outside (each fault runs in a child process: this test binary, run again with
// `--ignored --exact fault_child` and `LEAKPROOF_FAULT=<fault>:<checker>`).

/// Never true: keeps the loops below from being infinite in the compiler's eyes.
static NEVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The body holds a std `Mutex` across an await, and the task it waits for takes it.
#[allow(clippy::await_holding_lock)] // the fault under test
async fn std_mutex_across_await() {
    let m = std::sync::Arc::new(std::sync::Mutex::new(0u32));
    let held = m.lock().unwrap();
    let m2 = m.clone();
    let taker = task::spawn_named("taker", async move {
        *m2.lock().unwrap() += 1;
    });
    let _ = taker.await;
    drop(held);
}

/// The body blocks its OS thread for good.
async fn body_blocks_its_thread() {
    while !NEVER.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::park();
    }
}

/// The body spins without ever reaching a scheduling point.
async fn body_spins() {
    while !NEVER.load(std::sync::atomic::Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

/// A spawned task spins without ever reaching a scheduling point; the body waits for it.
async fn task_spins() {
    let t = task::spawn_named("spinner", async {
        while !NEVER.load(std::sync::atomic::Ordering::Relaxed) {
            std::hint::spin_loop();
        }
    });
    let _ = t.await;
}

#[test]
#[ignore = "a child process of `a_thread_stopped_for_good_is_the_watchdogs_report_and_exit_status`: it stops its checker's thread for good"]
fn fault_child() {
    let which = std::env::var("LEAKPROOF_FAULT").expect("run by the watchdog test");
    let (fault, checker) = which.split_once(':').expect("fault:checker");
    let check = match checker {
        "loom" => Check::new(fault).loom(),
        "shuttle" => Check::new(fault).shuttle(20),
        "pct" => Check::new(fault).pct(20, 3),
        "tokio" => Check::new(fault).tokio(1),
        other => panic!("no checker {other}"),
    };
    let result = match fault {
        "std-mutex" => check.run(std_mutex_across_await),
        "body-blocks" => check.run(body_blocks_its_thread),
        "body-spins" => check.run(body_spins),
        "task-spins" => check.run(task_spins),
        other => panic!("no fault {other}"),
    };
    match result {
        Ok(stats) => {
            eprintln!("fault_child: passed {stats:?}");
            std::process::exit(0);
        }
        Err(f) => {
            eprintln!("fault_child: verdict\n{}", f.report);
            std::process::exit(1);
        }
    }
}

/// What the parent expects of one child.
struct Expected {
    fault: &'static str,
    checker: &'static str,
    /// The exit status: 3, the watchdog's; 1, a verdict.
    status: i32,
    /// Lines the child's stderr must hold.
    holds: Vec<&'static str>,
}

/// Every fault that stops the checker's thread for good, under every checker it applies to,
/// ends its process with the watchdog's report (naming the check, the checker, the
/// execution and the task that was running, with the likely cause) and exit status 3, or
/// with a verdict (tokio, where spawned tasks run on worker threads), never a hang.
#[test]
fn a_thread_stopped_for_good_is_the_watchdogs_report_and_exit_status() {
    let body = "running: the body (task 0 \"main\")";
    let mut cases = Vec::new();
    for checker in ["loom", "shuttle", "pct"] {
        cases.push(Expected {
            fault: "std-mutex",
            checker,
            status: 3,
            holds: vec!["\"taker\", spawned at tests/faults.rs:"],
        });
        cases.push(Expected {
            fault: "task-spins",
            checker,
            status: 3,
            holds: vec!["\"spinner\", spawned at tests/faults.rs:"],
        });
    }
    for checker in ["loom", "shuttle", "pct", "tokio"] {
        for fault in ["body-blocks", "body-spins"] {
            cases.push(Expected {
                fault,
                checker,
                status: 3,
                holds: vec![body],
            });
        }
    }
    // tokio runs spawned tasks on worker threads: its own watchdog gives a verdict.
    cases.push(Expected {
        fault: "std-mutex",
        checker: "tokio",
        status: 1,
        holds: vec!["the watchdog fired", "\"taker\""],
    });
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<(Expected, std::process::Child)> = cases
        .into_iter()
        .map(|case| {
            let child = std::process::Command::new(&exe)
                .args(["--ignored", "--exact", "fault_child", "--nocapture"])
                .env(
                    "LEAKPROOF_FAULT",
                    format!("{}:{}", case.fault, case.checker),
                )
                .env("LEAKPROOF_WATCHDOG_SECS", "1")
                .env("LEAKPROOF_TOKIO_TIMEOUT_SECS", "1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the test binary runs again");
            (case, child)
        })
        .collect();
    // A bound against a hang only (the watchdog fires after 1 s): not a timing assertion.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let mut hung = Vec::new();
    for (case, child) in &mut children {
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                hung.push(format!("{}:{}", case.fault, case.checker));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(hung.is_empty(), "still running after 300 s: {hung:?}");
    for (case, child) in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let what = format!("{}:{}", case.fault, case.checker);
        assert_eq!(out.status.code(), Some(case.status), "{what}:\n{err}");
        if case.status == 3 {
            for line in [
                format!("leakproof: watchdog: check \"{}\"", case.fault),
                format!("under {} (execution ", case.checker),
                "likely cause: it blocked its OS thread".to_string(),
                "exit status 3".to_string(),
            ] {
                assert!(err.contains(&line), "{what}: no `{line}` in:\n{err}");
            }
        }
        for line in &case.holds {
            assert!(err.contains(line), "{what}: no `{line}` in:\n{err}");
        }
    }
}
