//! goleak for tokio: run an unmodified `#[tokio::test]` on a real tokio runtime and fail it
//! when tasks outlive its body.
//!
//! Add one attribute argument to a test, and nothing else:
//!
//! ```ignore
//! #[tokio::test(crate = "leakproof::leakcheck")]
//! async fn my_test() { /* unchanged */ }
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2, crate = "leakproof::leakcheck")]
//! async fn my_other_test() { /* unchanged */ }
//! ```
//!
//! tokio's macro then builds its runtime with [`runtime::Builder`], whose `block_on` runs the
//! body on a real tokio runtime (one per test, so tests running in parallel never see each
//! other's tasks) and then waits, with backoff, up to the grace period
//! (`LEAKPROOF_LEAK_GRACE_MS`, 1000 by default) for every task the test spawned to end. A task
//! still alive then fails the test with a [`LeakReport`]: each task's id, name, spawn site, age,
//! whether it is busy or idle and what it waits on where tokio instruments it. A poll that holds
//! its worker thread longer than `LEAKPROOF_SLOW_POLL_MS` (100 by default, 0 turns it off) fails
//! it too; the time counted is the poll's wall time less the time its thread waited for a CPU
//! (see `held`), so a loaded machine does not trip it. A leaked `spawn_blocking` task is reported, never waited for forever.
//!
//! Names, spawn sites, states, waits and slow polls need `--cfg tokio_unstable` (tokio's task
//! hooks and its `tracing` spans, which this crate's tokio dependency enables). Without it the
//! check counts live tasks with `RuntimeMetrics::num_alive_tasks` and says what it cannot show.
//!
//! Nothing is explored here, unlike [`crate::check::Check`]: the code runs once, for real, with
//! whatever schedule the machine gives it.
//!
//! For a test that builds its own runtime, the function form returns the report:
//!
//! ```
//! use leakproof::leakcheck::LeakCheck;
//! use std::time::Duration;
//!
//! let builder = tokio::runtime::Builder::new_current_thread();
//! let report = LeakCheck::new()
//!     .grace(Duration::from_millis(20))
//!     .run(builder, async {
//!         let (tx, rx) = tokio::sync::oneshot::channel::<()>();
//!         tokio::spawn(async move { rx.await.ok() }); // waits for a value that never comes
//!         tx // the sender outlives the body
//!     })
//!     .unwrap_err();
//! assert!(report.to_string().contains("task leak"));
//! ```

mod dump;
mod forward;
pub(crate) mod held;
mod layer;
mod report;
pub mod runtime;
mod watch;

use std::future::Future;
use std::panic;
use std::sync::Arc;
use std::time::Duration;

pub use dump::AVAILABLE as TASK_DUMPS;
pub use layer::{layer, TokioTaskLayer};
pub use report::{LeakReport, LeakedTask, SlowPoll, TaskState};
/// tokio's `pin!`, which `#[tokio::test]` expands to `<crate>::pin!`.
pub use tokio::pin;

use watch::Shared;

/// The leak check's options, as goleak has them: how long to wait, which tasks to leave out.
///
/// `LeakCheck::new()` takes its defaults from the environment: `LEAKPROOF_LEAK_GRACE_MS`
/// (1000) and `LEAKPROOF_SLOW_POLL_MS` (100; 0 turns the slow-poll report off).
#[derive(Clone, Debug)]
pub struct LeakCheck {
    pub(crate) grace: Duration,
    pub(crate) slow_poll: Option<Duration>,
    pub(crate) ignore_names: Vec<String>,
    pub(crate) ignore_sites: Vec<String>,
    pub(crate) task_dumps: bool,
}

fn env_ms(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Err(_) => default,
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            panic!("leakproof: {var} must be a whole number of milliseconds, got {v:?}")
        }),
    }
}

fn env_flag(var: &str, default: bool) -> bool {
    match std::env::var(var) {
        Err(_) => default,
        Ok(v) => match v.trim() {
            "1" => true,
            "0" => false,
            _ => panic!("leakproof: {var} must be 0 or 1, got {v:?}"),
        },
    }
}

impl Default for LeakCheck {
    fn default() -> Self {
        LeakCheck::new()
    }
}

impl LeakCheck {
    /// The defaults, from the environment.
    pub fn new() -> LeakCheck {
        let slow = env_ms("LEAKPROOF_SLOW_POLL_MS", 100);
        LeakCheck {
            grace: Duration::from_millis(env_ms("LEAKPROOF_LEAK_GRACE_MS", 1000)),
            slow_poll: (slow > 0).then(|| Duration::from_millis(slow)),
            ignore_names: Vec::new(),
            ignore_sites: Vec::new(),
            task_dumps: env_flag("LEAKPROOF_TASK_DUMPS", true),
        }
    }

    /// Whether a failing report adds each leaked task's dump, trimmed to your own frames
    /// (on by default where this build takes dumps: leakproof's `taskdump` feature on Linux;
    /// `LEAKPROOF_TASK_DUMPS=0` turns it off). A dump costs the time to read the test
    /// binary's debug info, paid only by a failing test.
    pub fn task_dumps(mut self, on: bool) -> LeakCheck {
        self.task_dumps = on;
        self
    }

    /// How long tasks alive after the body may take to end before they are a leak.
    pub fn grace(mut self, grace: Duration) -> LeakCheck {
        self.grace = grace;
        self
    }

    /// A poll longer than this is reported as blocking in async; `None` turns it off.
    pub fn slow_poll(mut self, threshold: Option<Duration>) -> LeakCheck {
        self.slow_poll = threshold;
        self
    }

    /// Leaves out tasks with this name (`tokio::task::Builder::name`), such as a library's
    /// background task (goleak's `IgnoreTopFunction`).
    pub fn ignore_name(mut self, name: impl Into<String>) -> LeakCheck {
        self.ignore_names.push(name.into());
        self
    }

    /// Leaves out tasks whose spawn site (`file:line:col`) contains this text: a file, a
    /// crate's directory (`hyper-util`), or `file:line`.
    pub fn ignore_spawn_site(mut self, site: impl Into<String>) -> LeakCheck {
        self.ignore_sites.push(site.into());
        self
    }

    pub(crate) fn ignores(&self, task: &LeakedTask) -> bool {
        let by_name = task
            .name
            .as_ref()
            .is_some_and(|n| self.ignore_names.iter().any(|i| i == n));
        let by_site = task
            .spawned_at
            .as_ref()
            .is_some_and(|s| self.ignore_sites.iter().any(|i| s.contains(i.as_str())));
        by_name || by_site
    }

    /// Runs `body` on a runtime made from `builder` (with `enable_all`), then checks it as
    /// `#[tokio::test(crate = "leakproof::leakcheck")]` does, and returns the report instead of
    /// panicking. A body that panics still panics, with any report printed after its message.
    pub fn run<F: Future>(
        &self,
        mut builder: tokio::runtime::Builder,
        body: F,
    ) -> Result<F::Output, LeakReport> {
        let watcher = self.instrument(&mut builder);
        let rt = builder
            .enable_all()
            .build()
            .expect("leakproof: could not start a tokio runtime");
        // A panicking body must not leave tokio's drop waiting for a blocking task forever.
        let out = match panic::catch_unwind(panic::AssertUnwindSafe(|| watcher.run(&rt, body))) {
            Ok(out) => out,
            Err(payload) => {
                rt.shutdown_background();
                panic::resume_unwind(payload)
            }
        };
        let at_shutdown = watcher.shutdown(rt);
        match (out, at_shutdown) {
            (Ok(v), Ok(())) => Ok(v),
            (Ok(_), Err(r)) => Err(r),
            (Err(r), Ok(())) => Err(r),
            (Err(a), Err(b)) => Err(a.merge(b)),
        }
    }

    /// Installs the check's hooks on a runtime you build yourself; the [`Watcher`] then
    /// checks that runtime.
    ///
    /// ```
    /// use leakproof::leakcheck::LeakCheck;
    ///
    /// let mut builder = tokio::runtime::Builder::new_multi_thread();
    /// let watcher = LeakCheck::new().instrument(builder.worker_threads(1).enable_all());
    /// let rt = builder.build().unwrap();
    /// rt.block_on(async { tokio::spawn(async {}).await.unwrap() });
    /// watcher.verify(&rt).unwrap();
    /// watcher.shutdown(rt).unwrap();
    /// ```
    pub fn instrument(&self, builder: &mut tokio::runtime::Builder) -> Watcher {
        let shared = Shared::new(self.clone());
        shared.instrument(builder);
        Watcher { shared }
    }
}

/// The leak check of one runtime you built yourself (from [`LeakCheck::instrument`]).
pub struct Watcher {
    shared: Arc<Shared>,
}

fn flavor_of(handle: &tokio::runtime::Handle) -> &'static str {
    match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => "current_thread",
        tokio::runtime::RuntimeFlavor::MultiThread => "multi_thread",
        _ => "tokio",
    }
}

impl Watcher {
    /// Runs `body` on the runtime, then waits for the tasks alive to end, as
    /// [`LeakCheck::run`] does. The runtime needs its time driver (`enable_time` or
    /// `enable_all`): the wait sleeps with tokio's timer.
    pub fn run<F: Future>(
        &self,
        rt: &tokio::runtime::Runtime,
        body: F,
    ) -> Result<F::Output, LeakReport> {
        let _enter = self.shared.enter();
        let flavor = flavor_of(rt.handle());
        let shared = &self.shared;
        let (out, report) = rt.block_on(async move {
            let out = runtime::CatchPanic(Box::pin(body)).await;
            (out, shared.settle(flavor).await)
        });
        match (out, report) {
            (Ok(v), None) => Ok(v),
            (Ok(_), Some(r)) => Err(r),
            (Err(payload), r) => {
                if let Some(r) = r {
                    eprintln!("{r}");
                }
                panic::resume_unwind(payload)
            }
        }
    }

    /// Waits (with backoff, up to the grace period) for every task alive on the runtime to
    /// end; the report names those that did not.
    pub fn verify(&self, rt: &tokio::runtime::Runtime) -> Result<(), LeakReport> {
        self.run(rt, async {})
    }

    /// Leaves out every task alive on the runtime now (goleak's `IgnoreCurrent`).
    pub fn ignore_current(&self, rt: &tokio::runtime::Runtime) {
        self.shared.ignore_current(rt.handle());
    }

    /// Shuts the runtime down, waiting up to the grace period for its threads, and reports a
    /// `spawn_blocking` task still running (left in the background, never waited for forever).
    pub fn shutdown(&self, rt: tokio::runtime::Runtime) -> Result<(), LeakReport> {
        let flavor = flavor_of(rt.handle());
        match self
            .shared
            .shutdown(move |grace| rt.shutdown_timeout(grace), flavor)
        {
            Some(r) => Err(r),
            None => Ok(()),
        }
    }
}

fn with_current(what: &str, f: impl FnOnce(&Shared)) {
    match watch::current() {
        Some(shared) => f(&shared),
        None => panic!(
            "leakproof: leakcheck::{what} was called outside a leak-checked runtime \
             (use it in a #[tokio::test(crate = \"harness::leakcheck\")] test)"
        ),
    }
}

/// In a leak-checked test: leaves out tasks with this name from the check.
pub fn ignore_name(name: impl Into<String>) {
    let name = name.into();
    with_current("ignore_name", |s| {
        s.options
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ignore_names
            .push(name)
    });
}

/// In a leak-checked test: leaves out tasks whose spawn site contains this text.
pub fn ignore_spawn_site(site: impl Into<String>) {
    let site = site.into();
    with_current("ignore_spawn_site", |s| {
        s.options
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ignore_sites
            .push(site)
    });
}

/// In a leak-checked test: sets this test's grace period (instead of `LEAKPROOF_LEAK_GRACE_MS`).
pub fn set_grace(grace: Duration) {
    with_current("set_grace", |s| {
        s.options.lock().unwrap_or_else(|e| e.into_inner()).grace = grace
    });
}

/// In a leak-checked test: leaves out every task alive now (goleak's `IgnoreCurrent`), such as
/// a server a fixture started before the code under test runs.
pub fn ignore_current() {
    let handle = tokio::runtime::Handle::current();
    with_current("ignore_current", |s| s.ignore_current(&handle));
}
