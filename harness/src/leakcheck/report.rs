//! The leak check's report: every task still alive when the test ended, with what tokio lets
//! us know about it, and every poll that held its worker thread too long.

use std::fmt;
use std::time::Duration;

use super::layer::TaskSpan;
use super::LeakCheck;

/// What a live task was doing when the report was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Inside a poll for this long: it holds its worker thread.
    Busy(Duration),
    /// Waiting to be woken: polled `polls` times, the last poll ended `since` ago.
    Idle {
        /// How many times it was polled.
        polls: u64,
        /// How long ago its last poll ended.
        since: Duration,
    },
    /// Spawned, never polled.
    NeverPolled,
    /// A `spawn_blocking` closure, queued or running on a blocking-pool thread.
    Blocking,
    /// Unknown: built without `--cfg tokio_unstable`.
    Unknown,
}

/// One task still alive when the test ended.
#[derive(Clone, Debug)]
pub struct LeakedTask {
    /// tokio's task id (`None` without `--cfg tokio_unstable`).
    pub id: Option<u64>,
    /// Its name (`tokio::task::Builder::name`), if it has one and it is known.
    pub name: Option<String>,
    /// Where it was spawned, `file:line:col`, if known.
    pub spawned_at: Option<String>,
    /// How long it has been alive.
    pub age: Duration,
    /// Busy, idle, blocking...
    pub state: TaskState,
    /// The operations it is waiting on, where tokio instruments them (oneshot, Mutex, RwLock,
    /// Semaphore, Barrier, sleep, interval), each with the resource's creation site.
    pub waits_on: Vec<String>,
    /// Its task dump trimmed to the user's own frames (`function at file:line:col`, innermost
    /// first): `None` where no dump was taken (leakproof's `taskdump` feature, Linux only).
    pub dump: Option<Vec<String>>,
}

impl LeakedTask {
    pub(crate) fn unknown() -> LeakedTask {
        LeakedTask {
            id: None,
            name: None,
            spawned_at: None,
            age: Duration::ZERO,
            state: TaskState::Unknown,
            waits_on: Vec::new(),
            dump: None,
        }
    }

    pub(crate) fn from_parts(
        id: u64,
        site: Option<String>,
        span: Option<&TaskSpan>,
        state: TaskState,
    ) -> LeakedTask {
        let name = span.map(|s| s.name.clone()).filter(|n| !n.is_empty());
        let waits_on = span
            .map(|s| {
                let mut seen = Vec::new();
                for w in s.waits.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    let what = match w.resource.concrete_type.as_str() {
                        "Sender|Receiver" => "oneshot channel".to_string(),
                        other => other.to_string(),
                    };
                    let text = format!(
                        "{what} ({}) created at {}",
                        w.source,
                        w.resource.site.as_deref().unwrap_or("an unknown site")
                    );
                    if !seen.contains(&text) {
                        seen.push(text);
                    }
                }
                seen
            })
            .unwrap_or_default();
        LeakedTask {
            id: Some(id),
            name,
            spawned_at: site,
            age: Duration::ZERO,
            state,
            waits_on,
            dump: None,
        }
    }
}

/// A poll that held its worker thread longer than the slow-poll threshold.
#[derive(Clone, Debug)]
pub struct SlowPoll {
    /// tokio's task id.
    pub task_id: u64,
    /// The task's name, if it has one.
    pub name: Option<String>,
    /// Where the task was spawned, `file:line:col`.
    pub spawned_at: String,
    /// How long the poll held its thread: its wall time less `waited_for_cpu`.
    pub took: Duration,
    /// Time within the poll that the thread spent waiting for a CPU (the machine's load), not
    /// counted in `took`; zero where the system does not say (see `LEAKPROOF_SLOW_POLL_MS`).
    pub waited_for_cpu: Duration,
}

/// Why a leak-checked test failed: the tasks still alive after the grace period and the polls
/// that blocked their worker thread. `Display` gives the report a test failure prints.
#[derive(Clone, Debug)]
pub struct LeakReport {
    /// The tasks still alive.
    pub tasks: Vec<LeakedTask>,
    /// Polls over the slow-poll threshold, in the order they ended.
    pub slow_polls: Vec<SlowPoll>,
    /// Live tasks that an ignore rule left out.
    pub ignored: usize,
    /// Whether the runtime was built without `--cfg tokio_unstable` (a count, no details).
    pub degraded: bool,
    text: String,
}

const DEGRADED: &str = "names, spawn sites, states and waits are not shown: this build of tokio \
     has no task hooks and no task spans. tokio exposes them only with `--cfg tokio_unstable` \
     and its `tracing` feature; add to .cargo/config.toml:\n    [build]\n    rustflags = \
     [\"--cfg\", \"tokio_unstable\"]\nor run with RUSTFLAGS=\"--cfg tokio_unstable\" \
     (slow polls and ignore rules by name or site need it too)";

fn fmt_dur(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2}s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}µs", d.as_micros())
    }
}

impl LeakReport {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        test: &str,
        flavor: &str,
        tasks: Vec<LeakedTask>,
        slow_polls: Vec<SlowPoll>,
        ignored: usize,
        waited: Duration,
        opts: &LeakCheck,
        dump_note: Option<String>,
    ) -> LeakReport {
        let degraded = !cfg!(tokio_unstable);
        let mut t = String::new();
        let what = match (tasks.is_empty(), slow_polls.is_empty()) {
            (false, true) => "task leak",
            (false, false) => "task leak and blocking in async",
            _ => "blocking in async (slow poll)",
        };
        t.push_str(&format!("leakproof: {what} in tokio test \"{test}\"\n"));
        t.push_str(&format!(
            "checker: leakcheck (a real {flavor} tokio runtime, nothing explored)\n\n"
        ));
        if !tasks.is_empty() {
            t.push_str(&format!(
                "{} task(s) still alive {} after the body returned (grace period {}, \
                 LEAKPROOF_LEAK_GRACE_MS){}:\n",
                tasks.len(),
                fmt_dur(waited),
                fmt_dur(opts.grace),
                if ignored > 0 {
                    format!("; {ignored} more left out by ignore rules")
                } else {
                    String::new()
                }
            ));
            if degraded {
                t.push_str(&format!("\n{DEGRADED}\n"));
            } else {
                for task in &tasks {
                    t.push('\n');
                    write_task(&mut t, task);
                }
                if let Some(note) = dump_note {
                    t.push_str(&format!("\n{note}\n"));
                }
            }
        }
        if !slow_polls.is_empty() {
            write_slow(&mut t, &slow_polls, opts);
        }
        LeakReport {
            tasks,
            slow_polls,
            ignored,
            degraded,
            text: t,
        }
    }

    pub(crate) fn busy_threads(
        test: &str,
        flavor: &str,
        threads: usize,
        blocking: Vec<LeakedTask>,
        waited: Duration,
        opts: &LeakCheck,
    ) -> LeakReport {
        let degraded = !cfg!(tokio_unstable);
        let mut t = format!(
            "leakproof: task leak in tokio test \"{test}\"\n\
             checker: leakcheck (a real {flavor} tokio runtime, nothing explored)\n\n\
             {threads} thread(s) of the runtime still running {} after shutdown began (grace \
             period {}, LEAKPROOF_LEAK_GRACE_MS): a spawn_blocking task that has not returned, \
             or a task stuck inside a poll. tokio does not count blocking tasks as alive and \
             would wait for them forever when the runtime is dropped; leakproof left them \
             running in the background instead.\n",
            fmt_dur(waited),
            fmt_dur(opts.grace)
        );
        if degraded {
            t.push_str(&format!("\n{DEGRADED}\n"));
        }
        for task in &blocking {
            t.push('\n');
            write_task(&mut t, task);
        }
        let tasks = if blocking.is_empty() {
            (0..threads).map(|_| LeakedTask::unknown()).collect()
        } else {
            blocking
        };
        LeakReport {
            tasks,
            slow_polls: Vec::new(),
            ignored: 0,
            degraded,
            text: t,
        }
    }

    /// The report after another one (a leak found at shutdown after slow polls, say).
    pub(crate) fn merge(mut self, other: LeakReport) -> LeakReport {
        self.text.push('\n');
        self.text.push_str(&other.text);
        self.tasks.extend(other.tasks);
        self.slow_polls.extend(other.slow_polls);
        self
    }
}

fn write_task(t: &mut String, task: &LeakedTask) {
    let id = task.id.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
    let name = task.name.as_deref().unwrap_or("<unnamed>");
    let state = match &task.state {
        TaskState::Busy(d) => format!("busy: inside a poll for {}", fmt_dur(*d)),
        TaskState::Idle { polls, since } => format!(
            "idle: polled {polls} time(s), last poll ended {} ago",
            fmt_dur(*since)
        ),
        TaskState::NeverPolled => "never polled".to_string(),
        TaskState::Blocking => "spawn_blocking: running or queued".to_string(),
        TaskState::Unknown => "unknown".to_string(),
    };
    t.push_str(&format!("task {id} \"{name}\" [{state}]:\n"));
    t.push_str(&format!(
        "    spawned at {}, {} ago\n",
        task.spawned_at.as_deref().unwrap_or("an unknown site"),
        fmt_dur(task.age)
    ));
    if task.waits_on.is_empty() {
        if matches!(task.state, TaskState::Idle { .. } | TaskState::NeverPolled) {
            t.push_str(
                "    waits on nothing tokio instruments (an mpsc channel, Notify, a JoinHandle, \
                 I/O, a future of another crate...)\n",
            );
        }
    } else {
        for w in &task.waits_on {
            t.push_str(&format!("    waits on {w}\n"));
        }
    }
    match task.dump.as_deref() {
        Some([]) => t.push_str(
            "    task dump: no frame of your own code (it waits inside a library's future)\n",
        ),
        Some(frames) => {
            t.push_str("    task dump (your code's frames, innermost first):\n");
            for f in frames {
                t.push_str(&format!("        {f}\n"));
            }
        }
        None => {}
    }
}

fn write_slow(t: &mut String, slow: &[SlowPoll], opts: &LeakCheck) {
    let limit = opts.slow_poll.map(fmt_dur).unwrap_or_default();
    t.push_str(&format!(
        "\n{} poll(s) held a worker thread longer than {limit} (LEAKPROOF_SLOW_POLL_MS; time \
         spent waiting for a CPU is not counted): blocking in async code (a std Mutex held across .await, blocking I/O, \
         std::thread::sleep, heavy computation) stalls every task of that thread:\n",
        slow.len()
    ));
    for s in slow.iter().take(20) {
        let cpu = super::held::cpu_note(s.waited_for_cpu, fmt_dur);
        t.push_str(&format!(
            "    task {} \"{}\" spawned at {}: one poll held its thread for {}{cpu}\n",
            s.task_id,
            s.name.as_deref().unwrap_or("<unnamed>"),
            s.spawned_at,
            fmt_dur(s.took)
        ));
    }
    if slow.len() > 20 {
        t.push_str(&format!("    ... and {} more\n", slow.len() - 20));
    }
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text.trim_end())
    }
}

impl std::error::Error for LeakReport {}
