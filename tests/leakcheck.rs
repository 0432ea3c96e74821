//! harness::leakcheck on plain tokio code: `#[tokio::test(crate = "harness::leakcheck")]` and
//! the function form, clean tests that must pass and leaky ones whose report must name what
//! leaked. Every test holds with and without `--cfg tokio_unstable` (.ci/run runs both): without
//! it the check counts live tasks and the report says what it cannot show. The last test is
//! the tokio checker's side of the same question (plain tokio tasks inside a `Check`), here
//! because this is the binary that runs in both modes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::leakcheck::{LeakCheck, LeakReport, TaskState};

/// A short grace period: these tests know their leaks are for good.
fn quick() -> LeakCheck {
    LeakCheck::new().grace(Duration::from_millis(100))
}

fn current_thread() -> tokio::runtime::Builder {
    tokio::runtime::Builder::new_current_thread()
}

fn multi_thread() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(2);
    b
}

/// `file:line` of the line after the caller's: where the next line spawns.
macro_rules! next_line {
    () => {
        format!("tests/leakcheck.rs:{}:", line!() + 1)
    };
}

/// The report names exactly one task, spawned at `site`, or (without tokio_unstable) counts
/// one and says why it cannot name it.
fn assert_one_task(report: &LeakReport, site: &str) {
    let text = report.to_string();
    assert!(text.contains("task leak"), "{text}");
    assert_eq!(report.tasks.len(), 1, "{text}");
    if cfg!(tokio_unstable) {
        let at = report.tasks[0].spawned_at.as_deref().unwrap_or("");
        assert!(
            at.starts_with(site),
            "spawned at {at}, expected {site}\n{text}"
        );
        assert!(text.contains(site), "{text}");
    } else {
        assert!(report.degraded);
        assert!(text.contains("--cfg tokio_unstable"), "{text}");
    }
}

// ---- clean tests: the macro form, every flavor and option ----

#[tokio::test(crate = "harness::leakcheck")]
async fn awaits_all_its_tasks() {
    let handles: Vec<_> = (0..4u32)
        .map(|i| tokio::spawn(async move { i * i }))
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, 14);
}

#[tokio::test(
    flavor = "multi_thread",
    worker_threads = 2,
    crate = "harness::leakcheck"
)]
async fn detached_task_that_ends_shortly_after_the_body() {
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(30)).await;
    });
}

#[tokio::test(flavor = "multi_thread", crate = "harness::leakcheck")]
async fn channel_pipeline_closed_properly() {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
    let producer = tokio::spawn(async move {
        for i in 0..10 {
            tx.send(i).await.unwrap();
        }
    });
    let mut got = 0;
    while let Some(v) = rx.recv().await {
        got += v;
    }
    producer.await.unwrap();
    assert_eq!(got, 45);
}

#[tokio::test(flavor = "local", crate = "harness::leakcheck")]
async fn local_flavor_with_spawn_local() {
    let rc = std::rc::Rc::new(5);
    let r = rc.clone();
    let v = tokio::task::spawn_local(async move { *r + 1 })
        .await
        .unwrap();
    assert_eq!(v, 6);
}

#[tokio::test(start_paused = true, crate = "harness::leakcheck")]
async fn start_paused_sleeps_an_hour_at_once() {
    let start = tokio::time::Instant::now();
    let t = tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
    t.await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(3600));
}

#[tokio::test(name = "named-runtime", crate = "harness::leakcheck")]
async fn runtime_name_option() {
    tokio::spawn(async {}).await.unwrap();
}

#[tokio::test(crate = "harness::leakcheck")]
async fn spawn_blocking_awaited() {
    let v = tokio::task::spawn_blocking(|| 2 + 2).await.unwrap();
    assert_eq!(v, 4);
}

#[cfg(tokio_unstable)]
#[tokio::test(unhandled_panic = "shutdown_runtime", crate = "harness::leakcheck")]
#[should_panic(expected = "unhandled panic")]
async fn unhandled_panic_shuts_the_runtime_down_as_tokio_does() {
    tokio::spawn(async { panic!("a spawned task panics") });
    // tokio stops the runtime and `block_on` panics: this never ends otherwise.
    std::future::pending::<()>().await;
}

#[tokio::test(crate = "harness::leakcheck")]
async fn returns_a_result_as_tokio_test_does() -> Result<(), std::num::ParseIntError> {
    let n: u32 = tokio::spawn(async { "7".parse() }).await.unwrap()?;
    assert_eq!(n, 7);
    Ok(())
}

// ---- leaky tests: the macro form ----

#[tokio::test(crate = "harness::leakcheck")]
#[should_panic(expected = "task leak")]
async fn macro_form_fails_a_test_that_leaves_a_task_behind() {
    harness::leakcheck::set_grace(Duration::from_millis(50));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = rx.await;
    });
    std::mem::forget(tx);
}

#[cfg(tokio_unstable)]
#[tokio::test(flavor = "multi_thread", crate = "harness::leakcheck")]
#[should_panic(expected = "tests/leakcheck.rs:")]
async fn macro_form_report_names_the_spawn_site() {
    harness::leakcheck::set_grace(Duration::from_millis(50));
    tokio::spawn(std::future::pending::<()>());
}

#[tokio::test(crate = "harness::leakcheck")]
#[should_panic(expected = "the body's own assertion")]
async fn a_panicking_body_fails_as_itself_first() {
    harness::leakcheck::set_grace(Duration::from_millis(50));
    tokio::spawn(std::future::pending::<()>());
    panic!("the body's own assertion");
}

// ---- leaky tests: the function form, reports asserted ----

#[test]
fn actor_holding_its_own_sender_leaks() {
    let mut site = String::new();
    let report = quick()
        .run(multi_thread(), async {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(8);
            let own = tx.clone();
            site = next_line!();
            tokio::spawn(async move {
                let _me = own; // the actor keeps a sender to itself: recv never sees None
                while let Some(v) = rx.recv().await {
                    let _ = v;
                }
            });
            tx.send(1).await.unwrap();
            drop(tx);
        })
        .unwrap_err();
    assert_one_task(&report, &site);
    if cfg!(tokio_unstable) {
        let t = &report.tasks[0];
        assert!(
            matches!(t.state, TaskState::Idle { polls, .. } if polls >= 1),
            "{report}"
        );
        assert!(
            report
                .to_string()
                .contains("waits on nothing tokio instruments"),
            "{report}"
        );
    }
}

#[test]
fn task_waiting_on_a_oneshot_whose_sender_is_kept() {
    let mut site = String::new();
    let report = quick()
        .run(current_thread(), async {
            // Created inside the checked runtime, so tokio's span for it is seen.
            let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
            site = next_line!();
            tokio::spawn(async move { rx.await.ok() });
            tx // kept alive past the check: the task's await never ends
        })
        .unwrap_err();
    assert_one_task(&report, &site);
    if cfg!(tokio_unstable) {
        let waits = report.tasks[0].waits_on.join("\n");
        assert!(
            waits.contains("oneshot channel (Receiver::await) created at tests/leakcheck.rs:"),
            "{report}"
        );
    }
}

#[test]
fn forgotten_interval_loop() {
    let mut site = String::new();
    let report = quick()
        .run(multi_thread(), async {
            site = next_line!();
            tokio::spawn(async {
                let mut tick = tokio::time::interval(Duration::from_millis(5));
                loop {
                    tick.tick().await;
                }
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
        })
        .unwrap_err();
    assert_one_task(&report, &site);
    if cfg!(tokio_unstable) {
        let waits = report.tasks[0].waits_on.join("\n");
        assert!(waits.contains("Interval"), "{report}");
        assert!(waits.contains("tests/leakcheck.rs:"), "{report}");
    }
}

#[cfg(tokio_unstable)]
#[test]
fn named_task_is_reported_by_name() {
    let report = quick()
        .run(current_thread(), async {
            tokio::task::Builder::new()
                .name("heartbeat")
                .spawn(async {
                    let _m = tokio::sync::Mutex::new(());
                    std::future::pending::<()>().await
                })
                .unwrap();
        })
        .unwrap_err();
    assert_eq!(
        report.tasks[0].name.as_deref(),
        Some("heartbeat"),
        "{report}"
    );
    assert!(report.to_string().contains("\"heartbeat\""), "{report}");
}

#[cfg(tokio_unstable)]
#[test]
fn task_stuck_on_a_mutex_names_the_mutex() {
    let report = quick()
        .run(multi_thread(), async {
            let m = Arc::new(tokio::sync::Mutex::new(0));
            let guard = m.clone().lock_owned().await;
            tokio::spawn(async move {
                *m.lock().await += 1;
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            std::mem::forget(guard);
        })
        .unwrap_err();
    let waits = report.tasks[0].waits_on.join("\n");
    assert!(waits.contains("Mutex"), "{report}");
}

/// Whether this build takes task dumps: the workspace turns leakproof's `taskdump` feature on
/// for Linux (Cargo.toml); tokio adds its own conditions (see `TASK_DUMPS`).
const DUMPS: bool = harness::leakcheck::TASK_DUMPS;

/// A future of the test's own, its `poll` kept out of line. In a test built at opt-level 0
/// (cargo's default for tests) every async fn keeps its frame; this workspace builds its own
/// crates at opt-level 1, where LLVM inlines a task's futures into tokio's task root, whose
/// frame tokio leaves out of dumps.
struct WaitsForAReply(tokio::sync::oneshot::Receiver<u32>);

impl std::future::Future for WaitsForAReply {
    type Output = u32;
    #[inline(never)]
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u32> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(0))
    }
}

/// A leaked task's report carries its task dump, trimmed to this file's frames: the function
/// it is stuck in, where, and the task's own future around it, and nothing of tokio or std.
#[test]
fn leaked_task_report_has_its_dump_trimmed_to_the_users_frames() {
    for builder in [current_thread(), multi_thread()] {
        // tokio's dump on multi_thread leaves a worker parked for up to 250 ms: the grace
        // period (which also bounds the wait for the runtime's threads at shutdown) covers it.
        let report = LeakCheck::new()
            .grace(Duration::from_millis(500))
            .run(builder, async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio::spawn(WaitsForAReply(rx));
                tx
            })
            .unwrap_err();
        let text = report.to_string();
        // Shown with `--nocapture` (README quotes it).
        println!("{text}");
        assert_eq!(report.tasks.len(), 1, "{text}");
        if DUMPS {
            let dump = report.tasks[0].dump.as_ref().expect("a dump");
            assert!(
                dump[0].starts_with(
                    "<leakcheck::WaitsForAReply as core::future::future::Future>::poll at \
                     tests/leakcheck.rs:"
                ),
                "{text}"
            );
            assert!(
                dump.iter().all(|f| f.contains(" at tests/leakcheck.rs:")),
                "{text}"
            );
            assert!(text.contains("task dump (your code's frames"), "{text}");
            assert!(!text.contains("tokio::"), "{text}");
        } else {
            assert!(report.tasks[0].dump.is_none(), "{text}");
            if cfg!(tokio_unstable) {
                assert!(text.contains("task dumps: not in this build"), "{text}");
            }
        }
    }
}

#[test]
fn leaked_spawn_blocking_is_reported_never_a_hang() {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let report = quick()
        .run(current_thread(), async move {
            tokio::task::spawn_blocking(move || {
                let _ = wait.recv();
            });
        })
        .unwrap_err();
    let text = report.to_string();
    assert!(text.contains("task leak"), "{text}");
    assert!(text.contains("spawn_blocking"), "{text}");
    if cfg!(tokio_unstable) {
        assert!(text.contains("tests/leakcheck.rs:"), "{text}");
    }
    // Let the closure return, so the thread goes.
    drop(release);
}

#[cfg(tokio_unstable)]
#[test]
fn slow_poll_is_reported_with_name_and_site() {
    let report = LeakCheck::new()
        .slow_poll(Some(Duration::from_millis(50)))
        .run(multi_thread(), async {
            let lock = Arc::new(std::sync::Mutex::new(0));
            tokio::task::Builder::new()
                .name("sleeps-in-async")
                .spawn(async move {
                    let mut g = lock.lock().unwrap();
                    std::thread::sleep(Duration::from_millis(120)); // blocking in async
                    *g += 1;
                })
                .unwrap()
                .await
                .unwrap();
        })
        .unwrap_err();
    assert!(report.tasks.is_empty(), "{report}");
    assert_eq!(report.slow_polls.len(), 1, "{report}");
    let text = report.to_string();
    assert!(text.contains("slow poll"), "{text}");
    assert!(text.contains("\"sleeps-in-async\""), "{text}");
    assert!(text.contains("tests/leakcheck.rs:"), "{text}");
}

#[test]
fn fast_polls_are_not_reported() {
    quick()
        .slow_poll(Some(Duration::from_millis(50)))
        .run(multi_thread(), async {
            for _ in 0..50 {
                tokio::spawn(tokio::task::yield_now()).await.unwrap();
            }
        })
        .unwrap();
}

// ---- the tokio checker of `Check` reports blocking in async too ----
//
// These run `Check` (leakproof's own primitives), not the leak check: they live here with the
// leak check's slow-poll tests because both share one rule (`leakcheck::held`): a poll is slow
// when its wall time, less the time its thread waited for a CPU, reaches
// `LEAKPROOF_SLOW_POLL_MS` (100 ms by default, which these tests use).

mod blocking_in_async {
    use std::time::Duration;

    use harness::check::{Check, Checker, FailureKind};
    use harness::{sync, task, time};

    /// A task that sleeps its thread for 300 ms inside a poll: flagged, named, located.
    #[test]
    fn a_thread_sleep_in_a_task_is_flagged_under_tokio() {
        let f = Check::new("sleep-in-async")
            .tokio(1)
            .run(|| async {
                task::spawn_named("sleeper", async {
                    std::thread::sleep(Duration::from_millis(300));
                })
                .await
                .unwrap();
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::BlockingInAsync, "{}", f.report);
        assert_eq!(f.checker, Checker::Tokio);
        assert!(f.report.contains("blocking in async"), "{}", f.report);
        assert!(f.report.contains("task 1 \"sleeper\""), "{}", f.report);
        assert!(f.report.contains("tests/leakcheck.rs:"), "{}", f.report);
        assert!(f.report.contains("LEAKPROOF_SLOW_POLL_MS"), "{}", f.report);
    }

    /// A std `Mutex` held across an `.await` (by the body, whose future need not be `Send`):
    /// the task's `lock()` blocks its worker thread until the body's sleep ends. The blocked
    /// task is the one reported.
    #[test]
    #[allow(clippy::await_holding_lock)] // the bug under test
    fn a_std_mutex_held_across_await_is_flagged_under_tokio() {
        let f = Check::new("std-mutex-across-await")
            .tokio(1)
            .run(|| async {
                let m = std::sync::Arc::new(std::sync::Mutex::new(0u32));
                let m2 = m.clone();
                let mut g = m.lock().unwrap();
                let waiter = task::spawn_named("waiter", async move {
                    *m2.lock().unwrap() += 1; // blocks its worker thread
                });
                time::sleep(Duration::from_millis(400)).await; // the guard lives on
                *g += 1;
                drop(g);
                waiter.await.unwrap();
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::BlockingInAsync, "{}", f.report);
        assert!(
            f.report
                .contains("\"waiter\" (spawned at tests/leakcheck.rs:"),
            "{}",
            f.report
        );
    }

    /// The body's own polls are timed too.
    #[test]
    fn a_thread_sleep_in_the_body_is_flagged_under_tokio() {
        let f = Check::new("sleep-in-body")
            .tokio(1)
            .run(|| async {
                std::thread::sleep(Duration::from_millis(250));
            })
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::BlockingInAsync, "{}", f.report);
        assert!(f.report.contains("task 0 \"main\""), "{}", f.report);
    }

    /// The correct version of the mutex case (leakproof's async Mutex, held across the same
    /// await) passes every checker; so do short blocking calls, under the limit.
    #[test]
    fn an_async_mutex_held_across_await_passes_every_checker() {
        for check in [
            Check::new("async-mutex").loom(),
            Check::new("async-mutex").shuttle(20),
            Check::new("async-mutex").pct(20, 3),
            Check::new("async-mutex").tokio(2),
        ] {
            check
                .run(|| async {
                    let m = std::sync::Arc::new(sync::Mutex::new(0u32));
                    let m2 = m.clone();
                    let holder = task::spawn_named("holder", async move {
                        let mut g = m2.lock().await;
                        time::sleep(Duration::from_millis(150)).await;
                        *g += 1;
                    });
                    let waiter = task::spawn_named("waiter", async move {
                        std::thread::sleep(Duration::from_millis(2)); // short: no finding
                        *m.lock().await += 1;
                    });
                    holder.await.unwrap();
                    waiter.await.unwrap();
                })
                .unwrap_or_else(|f| panic!("{}", f.report));
        }
    }

    /// Under loom and shuttle a poll is virtual: every task runs on the checker's one thread
    /// and a blocking call only delays the whole execution, so they never report it (the
    /// tokio checker does; a thread blocked for good is the watchdog's).
    #[test]
    fn loom_and_shuttle_never_report_blocking_in_async() {
        for check in [
            Check::new("virtual-polls").loom(),
            Check::new("virtual-polls").shuttle(1),
        ] {
            check
                .run(|| async {
                    std::thread::sleep(Duration::from_millis(150));
                })
                .unwrap_or_else(|f| panic!("{}", f.report));
        }
    }
}

// ---- isolation, options, subscribers ----

#[test]
fn parallel_checks_never_see_each_others_tasks() {
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let (b1, b2) = (barrier.clone(), barrier);
    std::thread::scope(|s| {
        let leaky = s.spawn(move || {
            quick().run(multi_thread(), async move {
                tokio::spawn(std::future::pending::<()>());
                b1.wait();
            })
        });
        let clean = s.spawn(move || {
            quick().run(multi_thread(), async move {
                // Busy with tasks of its own while the other check has its leak.
                b2.wait();
                let hs: Vec<_> = (0..50)
                    .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_millis(150))))
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        });
        let leaky = leaky.join().unwrap().unwrap_err();
        assert_eq!(leaky.tasks.len(), 1, "{leaky}");
        clean.join().unwrap().unwrap();
    });
}

#[test]
fn ignore_current_leaves_out_tasks_alive_before_the_test() {
    let mut builder = multi_thread();
    let watcher = quick().instrument(builder.enable_all());
    let rt = builder.build().unwrap();
    rt.block_on(async {
        tokio::spawn(std::future::pending::<()>()); // a fixture's background task
    });
    assert_eq!(watcher.verify(&rt).unwrap_err().tasks.len(), 1);
    watcher.ignore_current(&rt);
    watcher
        .run(&rt, async {
            tokio::spawn(async {}).await.unwrap();
        })
        .unwrap();
    watcher.shutdown(rt).unwrap();
}

#[tokio::test(crate = "harness::leakcheck")]
async fn ignore_current_in_the_macro_form() {
    tokio::spawn(std::future::pending::<()>());
    harness::leakcheck::ignore_current();
}

#[cfg(tokio_unstable)]
#[test]
fn ignore_by_name_and_by_spawn_site() {
    let body = || async {
        tokio::task::Builder::new()
            .name("library-background")
            .spawn(std::future::pending::<()>())
            .unwrap();
    };
    quick().run(current_thread(), body()).unwrap_err();
    quick()
        .ignore_name("library-background")
        .run(current_thread(), body())
        .unwrap();
    quick()
        .ignore_spawn_site("tests/leakcheck.rs")
        .run(current_thread(), body())
        .unwrap();
    // The rule is a substring of the site: another file does not match.
    quick()
        .ignore_spawn_site("src/other.rs")
        .run(current_thread(), body())
        .unwrap_err();
}

/// Counts the events a subscriber of the user's receives.
struct Counting(Arc<AtomicUsize>);
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Counting {
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn user_events_arrive(with_leakcheck_layer: bool) {
    use tracing_subscriber::prelude::*;
    let seen = Arc::new(AtomicUsize::new(0));
    let fmt_like =
        Counting(seen.clone()).with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let report = if with_leakcheck_layer {
        let sub = tracing_subscriber::registry()
            .with(fmt_like)
            .with(harness::leakcheck::layer());
        tracing::subscriber::with_default(sub, || quick().run(multi_thread(), leaky_with_events()))
    } else {
        let sub = tracing_subscriber::registry().with(fmt_like);
        tracing::subscriber::with_default(sub, || quick().run(multi_thread(), leaky_with_events()))
    }
    .unwrap_err();
    // The body's event, the worker's event; debug! is below the user's filter.
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    if cfg!(tokio_unstable) {
        assert_eq!(
            report.tasks[0].name.as_deref(),
            Some("listener"),
            "{report}"
        );
    }
}

async fn leaky_with_events() {
    tracing::info!("from the body");
    tracing::debug!("filtered out by the user's subscriber");
    let (started, ready) = tokio::sync::oneshot::channel();
    let fut = async move {
        tracing::info!("from a worker");
        let _ = started.send(());
        std::future::pending::<()>().await
    };
    #[cfg(tokio_unstable)]
    tokio::task::Builder::new()
        .name("listener")
        .spawn(fut)
        .unwrap();
    #[cfg(not(tokio_unstable))]
    tokio::spawn(fut);
    ready.await.unwrap();
}

#[test]
fn the_users_subscriber_keeps_its_events() {
    user_events_arrive(false);
}

#[test]
fn the_layer_composes_into_the_users_subscriber() {
    user_events_arrive(true);
}

// ---- the tokio checker: tasks spawned outside leakproof, with and without task hooks ----

#[test]
fn the_tokio_checker_lists_plain_tokio_tasks_as_untracked_in_both_modes() {
    use harness::check::{Check, FailureKind};
    let failure = Check::new("untracked-both-modes")
        .tokio(1)
        .tokio_grace(Duration::from_millis(300))
        .run(|| async {
            tokio::spawn(std::future::pending::<()>());
            // One that ends is not counted, whichever way the count is made.
            tokio::spawn(async {}).await.unwrap();
        })
        .unwrap_err();
    let r = &failure.report;
    assert_eq!(failure.kind, FailureKind::Leak, "{r}");
    assert!(r.contains("1 untracked task(s) alive"), "{r}");
    if cfg!(tokio_unstable) {
        assert!(
            r.contains("1 task(s) spawned at tests/leakcheck.rs:"),
            "{r}"
        );
    } else {
        assert!(r.contains("--cfg tokio_unstable"), "{r}");
    }
}
