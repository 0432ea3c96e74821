//! The watchdog: ends the process with a report when a check's thread stops for good.
//!
//! Under loom and shuttle every task of an execution runs on the checker's own OS thread, so
//! a task that blocks that thread (a std `Mutex` held across an await and taken again by
//! another task, a blocking call that never returns) or spins without reaching a scheduling
//! point stops the whole check, and nothing inside the checker can take the thread back.
//! Under tokio the body is polled on the checker's thread too. While a check runs, its
//! progress counter moves at every task poll and harness operation (the tokio checker's
//! body: at every return from a poll of it); a thread of the watchdog's own looks at every
//! running check a few times a second, and when one's counter has not moved for
//! `LEAKPROOF_WATCHDOG_SECS` (default 60; 0 turns the watchdog off) it prints a report naming
//! the check, the checker, the execution and the task that was running (name and spawn
//! site), with the likely cause, and ends the process with exit status [`EXIT_STATUS`]: a
//! thread blocked for good cannot be unwound, and waiting on would be a silent hang.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{env_or, Checker};
use crate::rt::exec::Exec;

/// The exit status of a process the watchdog ends.
pub const EXIT_STATUS: i32 = 3;

/// How often the watchdog looks at the running checks, at most.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Which task the report blames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blame {
    /// The task being polled when the thread stopped (loom, shuttle: one thread runs all).
    Running,
    /// The body: the tokio checker polls it on its own thread, its tasks on workers.
    Body,
}

/// What moves while a check goes on: the execution, its progress counter, the checker's ticks.
type Progress = (u64, u64, u64);

/// One running check, as the watchdog sees it.
struct Watch {
    check: String,
    checker: Checker,
    blame: Blame,
    limit: Duration,
    /// The execution running now.
    exec: Box<dyn Fn() -> Option<Arc<Exec>> + Send + Sync>,
    /// Moves when the checker's own loop goes round (the tokio checker's body polls).
    ticks: AtomicU64,
    /// What the progress was when the watchdog last saw it move, and when.
    seen: Mutex<Option<(Progress, Instant)>>,
}

impl Watch {
    /// Everything that moves while the check goes on.
    fn progress(&self) -> Progress {
        let ticks = self.ticks.load(Ordering::Relaxed);
        match ((self.exec)(), self.blame) {
            (Some(e), Blame::Running) => (e.execution, e.progress.load(Ordering::Relaxed), ticks),
            _ => (0, 0, ticks),
        }
    }
}

static WATCHES: Mutex<Vec<Arc<Watch>>> = Mutex::new(Vec::new());
static STARTED: OnceLock<()> = OnceLock::new();

/// A check under the watchdog's eye, until dropped.
pub(super) struct Armed(Option<Arc<Watch>>);

impl Armed {
    /// Says that the checker's own loop went round (see [`Blame::Body`]).
    pub fn tick(&self) {
        if let Some(w) = &self.0 {
            w.ticks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            let mut all = WATCHES.lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|x| !Arc::ptr_eq(x, &w));
        }
    }
}

/// Puts a check under the watchdog's eye while the returned guard lives; `exec` says which
/// execution runs now.
pub(super) fn arm(
    check: &str,
    checker: Checker,
    blame: Blame,
    exec: impl Fn() -> Option<Arc<Exec>> + Send + Sync + 'static,
) -> Armed {
    let secs: f64 = env_or("LEAKPROOF_WATCHDOG_SECS", 60.0);
    if !secs.is_finite() || secs <= 0.0 {
        return Armed(None);
    }
    let watch = Arc::new(Watch {
        check: check.to_string(),
        checker,
        blame,
        limit: Duration::from_secs_f64(secs),
        exec: Box::new(exec),
        ticks: AtomicU64::new(0),
        seen: Mutex::new(None),
    });
    WATCHES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(watch.clone());
    STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("leakproof-watchdog".into())
            .spawn(watch_all)
            .expect("leakproof: could not start the watchdog thread");
    });
    Armed(Some(watch))
}

fn watch_all() {
    loop {
        std::thread::sleep(LOOK_EVERY);
        let all: Vec<Arc<Watch>> = WATCHES.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for w in all {
            let now = w.progress();
            let mut seen = w.seen.lock().unwrap_or_else(|e| e.into_inner());
            match *seen {
                Some((then, since)) if then == now => {
                    if since.elapsed() >= w.limit {
                        fire(&w);
                    }
                }
                _ => *seen = Some((now, Instant::now())),
            }
        }
    }
}

/// Prints the report and ends the process.
fn fire(w: &Watch) -> ! {
    let exec = (w.exec)();
    let execution = exec.as_ref().map(|e| e.execution).unwrap_or(0);
    let id = match w.blame {
        Blame::Running => exec
            .as_ref()
            .map(|e| e.running.load(Ordering::Relaxed))
            .unwrap_or(0),
        Blame::Body => 0,
    };
    let task = exec
        .map(|e| describe(e, id))
        .unwrap_or_else(|| format!("task {id}"));
    let (what, thread) = match w.blame {
        Blame::Running => (
            "made no scheduling step",
            "under loom and shuttle every task runs on the checker's own OS thread, so no other task \
             can run and the check cannot go on",
        ),
        Blame::Body => (
            "has been inside one poll of the body",
            "under tokio the body is polled on the checker's own OS thread, so the checker cannot \
             look at it, time it out or end it",
        ),
    };
    let report = format!(
        "\nleakproof: watchdog: check \"{check}\" {what} for {secs:.1} s under {checker} (execution {execution})\n  \
         running: {task}\n  \
         likely cause: it blocked its OS thread (a std Mutex held across an await and taken again, a blocking \
         call that never returns) or spins without an await; {thread}\n  \
         the process ends now with exit status {EXIT_STATUS} (LEAKPROOF_WATCHDOG_SECS sets the limit, 0 \
         turns the watchdog off)\n",
        check = w.check,
        secs = w.limit.as_secs_f64(),
        checker = w.checker,
    );
    super::stderr::write_real(&report);
    std::process::exit(EXIT_STATUS);
}

/// `task 3 "locker", spawned at src/lib.rs:10:5`, read from the registry on a helper thread
/// (the stopped thread might hold something the registry needs: never wait on it for long).
fn describe(exec: Arc<Exec>, id: u64) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("leakproof-watchdog-report".into())
        .spawn(move || {
            let snapshot = exec.registry.snapshot();
            let text = match snapshot.task(id) {
                Some(t) if id == 0 => format!("the body (task 0 \"{}\")", t.name),
                Some(t) => format!("task {id} \"{}\", spawned at {}", t.name, t.spawned_at),
                None if id == 0 => "the body (task 0 \"main\")".to_string(),
                None => format!("task {id} (not tracked in this execution)"),
            };
            let _ = tx.send(text);
        });
    rx.recv_timeout(Duration::from_secs(2)).unwrap_or_else(|_| {
        if id == 0 {
            "the body (task 0 \"main\")".to_string()
        } else {
            format!("task {id} (its name could not be read)")
        }
    })
}
