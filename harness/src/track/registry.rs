//! The live registry of one execution: tasks, resources (channels) and pending operations,
//! kept in `dashmap` maps so that tasks on many threads can report at once.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

/// A source position (`file:line:column`), usually a `#[track_caller]` location.
///
/// `Copy`: the file name is interned, one copy per source file for the whole process, so a
/// snapshot of 100,000 tasks copies their spawn sites without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Site {
    /// Source file, as the compiler names it.
    pub file: &'static str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Spawned and not waiting on any harness operation.
    Running,
    /// Waiting on a harness operation (see [`Snapshot::waits`]).
    Blocked,
    /// Returned normally.
    Finished,
    /// Ended by a panic.
    Panicked,
    /// Ended by `JoinHandle::abort`.
    Aborted,
}

impl TaskState {
    /// Whether the task is still alive (running or blocked).
    pub fn is_alive(self) -> bool {
        matches!(self, TaskState::Running | TaskState::Blocked)
    }
}

/// A task the registry knows about.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    /// Harness id; 0 is the checked body itself.
    pub id: u64,
    /// The name given to `spawn_named`, or `task-N`.
    pub name: String,
    /// The task that spawned it (`None` for the body).
    pub parent: Option<u64>,
    /// Where it was spawned.
    pub spawned_at: Site,
    /// Its state now.
    pub state: TaskState,
}

/// A channel (or, later, another resource) the registry knows about.
#[derive(Clone, Debug)]
pub struct ResourceRecord {
    /// Harness id, shared with tasks' id space.
    pub id: u64,
    /// What it is, as the primitive names it in reports: `"channel"`, `"mpsc channel"`,
    /// `"rwlock"`, …
    pub kind: String,
    /// The same, parsed once where the resource enters the registry: what the deadlock
    /// rules and the report's wording read (never the name).
    pub resource: ResourceKind,
    /// Buffer capacity; `None` for unbounded.
    pub capacity: Option<usize>,
    /// Values buffered, as last reported.
    pub len: usize,
    /// Live sender handles.
    pub senders: usize,
    /// Live receiver handles.
    pub receivers: usize,
    /// Whether `close()` was called or every sender dropped.
    pub closed: bool,
    /// Where it was created.
    pub created_at: Site,
    /// Tasks holding it now (a lock's owner, a read lock's readers); empty for channels.
    pub holders: Vec<u64>,
    /// For a `leakproof::tokio` mpsc channel: the task that created it or made its newest
    /// sender (a clone, an upgraded weak sender). A lead to who holds the live senders, not
    /// proof: a sender may have moved to another task since.
    pub sender_by: Option<u64>,
}

/// A channel's counts as the channel last wrote them, shared by the channel and the
/// registry: the channel stores them under its own lock at each change (a few relaxed
/// stores, no registry call inside its critical section), and a snapshot reads them.
/// Readings taken while tasks run may mix two moments; once every task is blocked (when a
/// verdict is made) nothing writes them.
#[derive(Debug)]
pub(crate) struct LiveCounts {
    len: AtomicUsize,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    closed: AtomicBool,
    /// See [`ResourceRecord::sender_by`]; [`NOBODY`] until a channel says.
    sender_by: AtomicU64,
}

/// No task (see [`LiveCounts::set_sender_by`]).
const NOBODY: u64 = crate::rt::backend::NO_TASK;

impl Default for LiveCounts {
    fn default() -> Self {
        LiveCounts {
            len: AtomicUsize::new(0),
            senders: AtomicUsize::new(0),
            receivers: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            sender_by: AtomicU64::new(NOBODY),
        }
    }
}

impl LiveCounts {
    /// Records the task that made the channel's newest sender (see
    /// [`ResourceRecord::sender_by`]).
    pub(crate) fn set_sender_by(&self, task: u64) {
        self.sender_by.store(task, Ordering::Relaxed);
    }

    /// Records the channel's state now.
    #[inline]
    pub(crate) fn set(&self, len: usize, senders: usize, receivers: usize, closed: bool) {
        self.len.store(len, Ordering::Relaxed);
        self.senders.store(senders, Ordering::Relaxed);
        self.receivers.store(receivers, Ordering::Relaxed);
        self.closed.store(closed, Ordering::Relaxed);
    }

    /// Records the channel's length alone.
    #[inline]
    pub(crate) fn set_len(&self, len: usize) {
        self.len.store(len, Ordering::Relaxed);
    }

    /// Copies the counts into the record a snapshot hands out.
    fn fill(&self, r: &mut ResourceRecord) {
        r.len = self.len.load(Ordering::Relaxed);
        r.senders = self.senders.load(Ordering::Relaxed);
        r.receivers = self.receivers.load(Ordering::Relaxed);
        r.closed = self.closed.load(Ordering::Relaxed);
        let by = self.sender_by.load(Ordering::Relaxed);
        r.sender_by = (by != NOBODY).then_some(by);
    }
}

/// An operation a task is blocked on.
#[derive(Clone, Debug)]
pub struct WaitRecord {
    /// The waiting task.
    pub task: u64,
    /// The resource waited on.
    pub resource: u64,
    /// The operation's name as reports print it: `"send"`, `"recv"`, `"join"`, `"select { … }"`.
    pub op: String,
    /// The operation, as the deadlock rules read it (parsed from `op` when it was reported).
    pub kind: Op,
    /// Whether a timer ends the wait (`sleep`, `tick`, a `select!` with a timer arm).
    pub timer: bool,
    /// Where the task called the operation.
    pub site: Site,
    /// Names of the user spans the task was inside, outermost first.
    pub spans: Vec<String>,
}

impl WaitRecord {
    /// Whether the task waits for a timer (`sleep`, `tick`) or real I/O: time or the world
    /// outside will wake it, so it is not stuck.
    pub fn is_timer(&self) -> bool {
        self.timer
    }
}

/// An operation a task can wait in, as the deadlock rules and reports tell them apart.
///
/// Primitives report operations by name (the name is what reports print); the registry
/// parses the name into an `Op` once, where the report enters it ([`Op::parse`]), and every
/// rule reads the `Op`.
///
/// ```
/// use leakproof::track::Op;
/// assert_eq!(Op::parse("join"), (Op::Join, false));
/// assert_eq!(Op::parse("sleep"), (Op::Sleep, true));
/// assert_eq!(Op::parse("select { recv #3 } (with a timer)"), (Op::Other, true));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A channel send.
    Send,
    /// A channel receive.
    Recv,
    /// Waiting for a channel's other end to close it or go away (tokio's `closed()`).
    Closed,
    /// Waiting for another task to finish.
    Join,
    /// A read lock.
    Read,
    /// A write lock.
    Write,
    /// A timer: `sleep`.
    Sleep,
    /// A timer: a ticker's `tick`.
    Tick,
    /// Real I/O (`leakproof::tokio::net`'s `tcp accept`, `tcp connect`, `tcp read`, `tcp
    /// write`): the world outside may end it, so, like a timer, it is never stuck.
    Io,
    /// Any other operation (a lock, a permit, a `select!`, a notification): no rule singles
    /// it out.
    Other,
}

/// What a tracked resource is: its kind's name (`ResourceRecord::kind`), parsed where the
/// resource enters the registry, so that a rule compares variants and a misspelt name cannot
/// silently turn a rule off (in debug builds an unknown name panics at creation).
///
/// ```
/// use leakproof::track::ResourceKind;
/// assert_eq!(ResourceKind::parse("rwlock"), ResourceKind::RwLock);
/// assert_eq!(ResourceKind::parse("mpsc channel"), ResourceKind::Mpsc);
/// assert!(ResourceKind::parse("tcp stream").is_socket());
/// assert_eq!(ResourceKind::parse("a kind nobody makes"), ResourceKind::Other);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// leakproof's Go-style channel (`leakproof::chan`).
    Chan,
    /// A `leakproof::tokio` mpsc channel.
    Mpsc,
    /// A `leakproof::tokio` oneshot channel.
    Oneshot,
    /// A mutex (leakproof's or `leakproof::tokio`'s).
    Mutex,
    /// A read-write lock (leakproof's or `leakproof::tokio`'s).
    RwLock,
    /// A counting semaphore (leakproof's or `leakproof::tokio`'s).
    Semaphore,
    /// leakproof's condition variable.
    Cond,
    /// leakproof's `WaitGroup`.
    WaitGroup,
    /// leakproof's `Once`.
    Once,
    /// A context (`leakproof::context`).
    Context,
    /// leakproof's ticker.
    Ticker,
    /// `leakproof::tokio::time::Interval`.
    Interval,
    /// `leakproof::tokio::sync::Notify`.
    Notify,
    /// `leakproof::tokio::sync::Barrier`.
    Barrier,
    /// `leakproof::tokio::sync::watch`.
    Watch,
    /// `leakproof::tokio::sync::broadcast`.
    Broadcast,
    /// `leakproof::tokio_util`'s `CancellationToken`.
    CancellationToken,
    /// `leakproof::tokio_util`'s `TaskTracker`.
    TaskTracker,
    /// A real TCP listener (`leakproof::tokio::net`).
    TcpListener,
    /// A real TCP stream (`leakproof::tokio::net`).
    TcpStream,
    /// A name this version does not know.
    Other,
}

impl ResourceKind {
    /// Parses a resource kind's name.
    pub fn parse(name: &str) -> ResourceKind {
        match name {
            "channel" => ResourceKind::Chan,
            "mpsc channel" => ResourceKind::Mpsc,
            "oneshot channel" => ResourceKind::Oneshot,
            "mutex" => ResourceKind::Mutex,
            "rwlock" => ResourceKind::RwLock,
            "semaphore" => ResourceKind::Semaphore,
            "cond" => ResourceKind::Cond,
            "waitgroup" => ResourceKind::WaitGroup,
            "once" => ResourceKind::Once,
            "context" => ResourceKind::Context,
            "ticker" => ResourceKind::Ticker,
            "interval" => ResourceKind::Interval,
            "notify" => ResourceKind::Notify,
            "barrier" => ResourceKind::Barrier,
            "watch" => ResourceKind::Watch,
            "broadcast" => ResourceKind::Broadcast,
            "cancellation token" => ResourceKind::CancellationToken,
            "task tracker" => ResourceKind::TaskTracker,
            "tcp listener" => ResourceKind::TcpListener,
            "tcp stream" => ResourceKind::TcpStream,
            _ => ResourceKind::Other,
        }
    }

    /// A real socket: what ends a wait on it is outside the program.
    pub fn is_socket(self) -> bool {
        matches!(self, ResourceKind::TcpListener | ResourceKind::TcpStream)
    }

    /// A wake-up primitive with no holder to name (a report never says "held by nobody").
    pub fn is_holdless(self) -> bool {
        matches!(
            self,
            ResourceKind::Notify
                | ResourceKind::Barrier
                | ResourceKind::Watch
                | ResourceKind::Broadcast
                | ResourceKind::CancellationToken
                | ResourceKind::TaskTracker
        )
    }
}

impl Op {
    /// Parses an operation's name into the operation and whether a timer ends its wait.
    pub fn parse(name: &str) -> (Op, bool) {
        let op = match name {
            "send" => Op::Send,
            "recv" => Op::Recv,
            "closed" => Op::Closed,
            "join" => Op::Join,
            "read" => Op::Read,
            "write" => Op::Write,
            "sleep" => Op::Sleep,
            "tick" => Op::Tick,
            _ if name.starts_with("tcp ") => Op::Io,
            _ => Op::Other,
        };
        let timer = match op {
            Op::Sleep | Op::Tick | Op::Io => true,
            Op::Other => name.ends_with(super::WITH_TIMER),
            _ => false,
        };
        (op, timer)
    }
}

/// One edge of a wait-for cycle: `task` waits on `resource`, which `next` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitEdge {
    /// The waiting task.
    pub task: u64,
    /// What it waits on.
    pub resource: u64,
    /// The task that holds it (or that it joins).
    pub next: u64,
}

/// One step of an execution, as the execution log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// The task was spawned (by `parent`).
    Spawned {
        /// The spawning task.
        parent: Option<u64>,
    },
    /// The task blocked on `op` of resource `res` at `site`.
    Waiting {
        /// The resource.
        res: u64,
        /// The operation.
        op: String,
        /// Its call site.
        site: Site,
    },
    /// The task's send of message `msg` on channel `res` completed.
    Sent {
        /// The channel.
        res: u64,
        /// The message id, shared with the matching `Received`.
        msg: u64,
    },
    /// The task received message `msg` from channel `res`.
    Received {
        /// The channel.
        res: u64,
        /// The message id, shared with the matching `Sent`.
        msg: u64,
    },
    /// The task closed channel `res`.
    Closed {
        /// The channel.
        res: u64,
    },
    /// The task ended (`ok`, `panicked` or `aborted`).
    Ended {
        /// How.
        how: String,
    },
}

/// An entry of the execution log: which task did what, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The task.
    pub task: u64,
    /// What it did.
    pub event: LogEvent,
}

/// A call site, interned: each distinct site is allocated once for the life of the process
/// (sites come from the program's source, so there are few), and a record refers to it.
pub(crate) type SiteRef = &'static Site;

/// The interned site `file:line:column`.
pub(crate) fn intern_site(file: &str, line: u32, column: u32) -> SiteRef {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Each file name and site is leaked once: there are as many as call sites.
    type Sites = Mutex<HashMap<&'static str, HashMap<(u32, u32), SiteRef>>>;
    static SITES: OnceLock<Sites> = OnceLock::new();
    let mut sites = SITES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(site) = sites.get(file).and_then(|m| m.get(&(line, column))) {
        return site;
    }
    let file: &'static str = match sites.get_key_value(file) {
        Some((known, _)) => known,
        None => Box::leak(file.into()),
    };
    sites
        .entry(file)
        .or_default()
        .entry((line, column))
        .or_insert_with(|| Box::leak(Box::new(Site { file, line, column })))
}

/// The interned site of a `#[track_caller]` location, through a per-thread cache keyed by
/// the location's address (locations are static: there are as many as call sites).
pub(crate) fn intern_location(loc: &std::panic::Location<'_>) -> SiteRef {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<usize, SiteRef, IdHash>> = RefCell::new(HashMap::default());
    }
    let key = loc as *const std::panic::Location<'_> as usize;
    CACHE
        .try_with(|c| {
            if let Some(site) = c.borrow().get(&key) {
                return *site;
            }
            let site = intern_site(loc.file(), loc.line(), loc.column());
            c.borrow_mut().insert(key, site);
            site
        })
        .unwrap_or_else(|_| intern_site(loc.file(), loc.line(), loc.column()))
}

/// A task's name as the registry keeps it: the default `task-N` costs nothing (N is the
/// task's id, the map's key).
#[derive(Clone, Debug)]
pub(crate) enum TaskName {
    /// `task-N`.
    Default,
    /// A name given to `spawn_named` (or `main`).
    Given(std::sync::Arc<str>),
}

/// A task as the registry keeps it (a [`TaskRecord`] in snapshots), keyed by its id. Kept
/// small (40 bytes): a run may hold 100,000 of them.
#[derive(Clone, Debug)]
pub(crate) struct TaskEntry {
    pub name: TaskName,
    /// The parent's id, or [`TaskEntry::NO_PARENT`] (the body).
    pub parent: u64,
    pub spawned_at: SiteRef,
    /// `Running` while alive: a snapshot shows `Blocked` for a live task with a wait.
    pub state: TaskState,
}

impl TaskEntry {
    /// `parent` of a task without one.
    pub(crate) const NO_PARENT: u64 = u64::MAX;

    /// The entry of a task just spawned.
    pub(crate) fn new(name: TaskName, parent: Option<u64>, spawned_at: SiteRef) -> Self {
        TaskEntry {
            name,
            parent: parent.unwrap_or(Self::NO_PARENT),
            spawned_at,
            state: TaskState::Running,
        }
    }

    /// Task `id`'s name (`id` is this entry's key).
    pub(crate) fn name(&self, id: u64) -> String {
        match &self.name {
            TaskName::Default => format!("task-{id}"),
            TaskName::Given(name) => name.to_string(),
        }
    }

    /// Task `id` as reports name it: `task 3 "worker"`.
    pub(crate) fn label(&self, id: u64) -> String {
        format!("task {id} \"{}\"", self.name(id))
    }

    /// The record a snapshot shows of task `id` (this entry's key).
    pub(crate) fn record(&self, id: u64) -> TaskRecord {
        TaskRecord {
            id,
            name: self.name(id),
            parent: (self.parent != Self::NO_PARENT).then_some(self.parent),
            spawned_at: *self.spawned_at,
            state: self.state,
        }
    }
}

/// An operation's name as the registry keeps it: most are static.
#[derive(Clone, Debug)]
pub(crate) enum OpName {
    Static(&'static str),
    /// Named at run time (a `select!` naming its arms).
    Owned(Box<str>),
}

impl OpName {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            OpName::Static(s) => s,
            OpName::Owned(s) => s,
        }
    }
}

/// A pending operation as the registry keeps it (a [`WaitRecord`] in snapshots), keyed by
/// the waiting task's id (a task waits on one operation at a time). Kept small (64 bytes).
#[derive(Clone, Debug)]
pub(crate) struct WaitEntry {
    pub resource: u64,
    pub op: OpName,
    /// `op` parsed.
    pub kind: Op,
    /// Whether a timer ends the wait.
    pub timer: bool,
    pub site: SiteRef,
    /// The spans the task was inside (empty, and no allocation, unless `tracing` spans were
    /// entered).
    pub spans: Box<[String]>,
}

impl WaitEntry {
    /// The record a snapshot shows of the wait of task `task` (this entry's key).
    pub(crate) fn record(&self, task: u64) -> WaitRecord {
        WaitRecord {
            task,
            resource: self.resource,
            op: self.op.as_str().to_string(),
            kind: self.kind,
            timer: self.timer,
            site: *self.site,
            spans: self.spans.to_vec(),
        }
    }

    /// Whether the task waits for a timer (see [`WaitRecord::is_timer`]).
    pub(crate) fn is_timer(&self) -> bool {
        self.timer
    }

    /// Whether the task joins another.
    pub(crate) fn is_join(&self) -> bool {
        self.kind == Op::Join
    }
}

pub(crate) use crate::rt::id_hash::IdHash;

/// The registry of one execution, fed by [`TrackingLayer`](super::TrackingLayer).
#[derive(Debug, Default)]
pub struct Registry {
    pub(crate) tasks: DashMap<u64, TaskEntry, IdHash>,
    pub(crate) resources: DashMap<u64, ResourceRecord, IdHash>,
    /// The channels that keep their counts themselves ([`LiveCounts`]), by resource id.
    live: DashMap<u64, Arc<LiveCounts>, IdHash>,
    pub(crate) waits: DashMap<u64, WaitEntry, IdHash>,
    events: AtomicU64,
    /// How many holds (locks, permits) are held now: wait-for cycles need at least two.
    pub(crate) holds: AtomicU64,
    logging: std::sync::atomic::AtomicBool,
    log: std::sync::Mutex<Vec<LogEntry>>,
    /// Whether the execution spawned a task through `leakproof::tokio` (see
    /// [`Snapshot::tokio_api`]).
    tokio_api: std::sync::atomic::AtomicBool,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything, for the next execution.
    pub fn reset(&self) {
        self.tasks.clear();
        self.resources.clear();
        self.live.clear();
        self.waits.clear();
        self.events.store(0, Ordering::Relaxed);
        self.holds.store(0, Ordering::Relaxed);
        self.tokio_api.store(false, Ordering::Relaxed);
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Counts that the channel `res` keeps current itself from now on; a snapshot reads
    /// them instead of the record's.
    pub(crate) fn live_counts(&self, res: u64) -> Arc<LiveCounts> {
        let live = Arc::new(LiveCounts::default());
        if let Some(r) = self.resources.get(&res) {
            live.set(r.len, r.senders, r.receivers, r.closed);
        }
        self.live.insert(res, live.clone());
        live
    }

    /// The execution speaks tokio's API: its reports use tokio's words.
    pub(crate) fn mark_tokio_api(&self) {
        if !self.tokio_api.load(Ordering::Relaxed) {
            self.tokio_api.store(true, Ordering::Relaxed);
        }
    }

    /// Turns the execution log on or off (off by default: it costs a record per operation).
    pub fn set_logging(&self, on: bool) {
        self.logging.store(on, Ordering::Relaxed);
    }

    /// Whether the execution log is on.
    pub fn logging(&self) -> bool {
        self.logging.load(Ordering::Relaxed)
    }

    pub(crate) fn push_log(&self, task: u64, event: LogEvent) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LogEntry { task, event });
    }

    /// The execution log so far.
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many harness events the registry has taken in this execution.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    pub(crate) fn count_event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether some tasks might wait on each other in a cycle (some locks are held, or some
    /// task joins another); cheap, to skip the cycle search when none can exist.
    pub fn may_have_cycle(&self) -> bool {
        self.holds.load(Ordering::Relaxed) > 0 || self.waits.iter().any(|w| w.is_join())
    }

    /// Whether every live task waits on a harness operation other than a timer, and how many
    /// tasks are alive; linear in the number of tasks, without copying the registry.
    pub fn all_blocked(&self) -> (bool, usize) {
        let mut live = 0;
        let mut blocked = true;
        for t in self.tasks.iter() {
            if t.state.is_alive() {
                live += 1;
                blocked &= self.waits.get(t.key()).is_some_and(|w| !w.is_timer());
            }
        }
        (blocked, live)
    }

    /// A consistent-enough copy of the registry, sorted by id.
    pub fn snapshot(&self) -> Snapshot {
        // Sized up front (a map's iterator cannot say its length) and sorted in place by id,
        // which is unique, so no stable sort's buffer: with 100,000 tasks the copies of a
        // growing vector and a stable sort's moves were half of a snapshot's time.
        let mut tasks: Vec<TaskRecord> = Vec::with_capacity(self.tasks.len());
        tasks.extend(self.tasks.iter().map(|t| {
            let mut rec = t.value().record(*t.key());
            // A live task is blocked while it has a wait (the registry keeps no separate
            // flag: a wait costs one map write, not two).
            if rec.state == TaskState::Running && self.waits.contains_key(&rec.id) {
                rec.state = TaskState::Blocked;
            }
            rec
        }));
        tasks.sort_unstable_by_key(|t| t.id);
        let mut resources: Vec<ResourceRecord> = Vec::with_capacity(self.resources.len());
        resources.extend(self.resources.iter().map(|r| {
            let mut rec = r.value().clone();
            if let Some(live) = self.live.get(&rec.id) {
                live.fill(&mut rec);
            }
            rec
        }));
        resources.sort_unstable_by_key(|r| r.id);
        let mut waits: Vec<WaitRecord> = Vec::with_capacity(self.waits.len());
        waits.extend(self.waits.iter().map(|w| w.value().record(*w.key())));
        // A task waits on one operation at a time: task ids are unique here too.
        waits.sort_unstable_by_key(|w| w.task);
        Snapshot {
            tasks,
            resources,
            waits,
            log: self.log(),
            tokio_api: self.tokio_api.load(Ordering::Relaxed),
            untracked_alive: false,
        }
    }
}

/// What an execution looks like at one moment: live tasks and pending operations.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every task of the execution, finished ones included, by id.
    pub tasks: Vec<TaskRecord>,
    /// Every channel of the execution, by id.
    pub resources: Vec<ResourceRecord>,
    /// Every pending operation, by task id.
    pub waits: Vec<WaitRecord>,
    /// The execution log, when it was on (see [`Registry::set_logging`]).
    pub log: Vec<LogEntry>,
    /// Whether the code spawned its tasks through `leakproof::tokio`: a report then says
    /// "task leak", in tokio's words, where a Go-style program's says "goroutine leak".
    pub tokio_api: bool,
    /// Whether tasks leakproof does not track were alive (the tokio checker's report sets
    /// it): one of them may hold a channel's handles, so a report then does not
    /// say that nothing will send on a channel or drop its senders.
    pub untracked_alive: bool,
}

impl Snapshot {
    /// The task with this id.
    pub fn task(&self, id: u64) -> Option<&TaskRecord> {
        self.tasks
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tasks[i])
    }

    /// The resource with this id.
    pub fn resource(&self, id: u64) -> Option<&ResourceRecord> {
        self.resources
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .map(|i| &self.resources[i])
    }

    /// What the task with this id is blocked on, if anything.
    pub fn wait_of(&self, task: u64) -> Option<&WaitRecord> {
        self.waits
            .binary_search_by_key(&task, |w| w.task)
            .ok()
            .map(|i| &self.waits[i])
    }

    /// The tasks a waiting task waits for: the holders of the lock it wants, or the task it
    /// joins.
    pub fn waits_for(&self, task: u64) -> Vec<u64> {
        let Some(w) = self.wait_of(task) else {
            return Vec::new();
        };
        match self.resource(w.resource) {
            // Any one permit holder's release would do: no single task is waited for.
            Some(r) if r.resource == ResourceKind::Semaphore => Vec::new(),
            Some(r) => {
                let mut next: Vec<u64> = r.holders.iter().copied().filter(|h| *h != task).collect();
                if r.resource == ResourceKind::RwLock && w.kind == Op::Read {
                    // A writer-preferring lock queues readers behind waiting writers.
                    next.extend(
                        self.waits
                            .iter()
                            .filter(|o| o.resource == r.id && o.kind == Op::Write && o.task != task)
                            .map(|o| o.task),
                    );
                }
                next
            }
            None if w.kind == Op::Join => vec![w.resource],
            None => Vec::new(),
        }
    }

    /// A cycle of live tasks each waiting for the next (A waits for a lock B holds, B for one
    /// A holds), if there is one.
    pub fn wait_cycle(&self) -> Option<Vec<WaitEdge>> {
        let live: Vec<u64> = self.live_tasks().map(|t| t.id).collect();
        for &start in &live {
            // Follow wait-for edges depth first from `start`, looking for a way back to it.
            let mut path: Vec<(u64, Vec<u64>)> = vec![(start, self.waits_for(start))];
            let mut seen = vec![start];
            while let Some((task, next)) = path.last_mut() {
                let task = *task;
                match next.pop() {
                    Some(n) if n == start => {
                        let mut edges = Vec::new();
                        let tasks: Vec<u64> = path.iter().map(|(t, _)| *t).collect();
                        for (i, t) in tasks.iter().enumerate() {
                            let next = tasks.get(i + 1).copied().unwrap_or(start);
                            let resource = self.wait_of(*t).map(|w| w.resource).unwrap_or_default();
                            edges.push(WaitEdge {
                                task: *t,
                                resource,
                                next,
                            });
                        }
                        return Some(edges);
                    }
                    Some(n) if !seen.contains(&n) && live.contains(&n) => {
                        seen.push(n);
                        path.push((n, self.waits_for(n)));
                    }
                    Some(_) => {}
                    None => {
                        let _ = task;
                        path.pop();
                    }
                }
            }
        }
        None
    }

    /// Spells a wait-for cycle out: "task 2 "A" holds mutex #3 and waits for mutex #4 held by
    /// task 3 "B"; …".
    pub fn describe_cycle(&self, cycle: &[WaitEdge]) -> String {
        let name = |id: u64| {
            self.task(id)
                .map(|t| format!("task {} \"{}\"", t.id, t.name))
                .unwrap_or_else(|| format!("task {id}"))
        };
        let res = |id: u64| {
            self.resource(id)
                .map(|r| format!("{} #{}", r.kind, r.id))
                .unwrap_or_else(|| format!("task {id}"))
        };
        cycle
            .iter()
            .map(|e| {
                let held: Vec<String> = self
                    .resources
                    .iter()
                    .filter(|r| r.holders.contains(&e.task))
                    .map(|r| format!("{} #{}", r.kind, r.id))
                    .collect();
                let holds = if held.is_empty() {
                    String::new()
                } else {
                    format!(" holds {} and", held.join(", "))
                };
                if self.wait_of(e.task).is_some_and(|w| w.kind == Op::Join) {
                    format!(
                        "{}{holds} waits for {} to finish",
                        name(e.task),
                        name(e.next)
                    )
                } else {
                    format!(
                        "{}{holds} waits for {} held by {}",
                        name(e.task),
                        res(e.resource),
                        name(e.next)
                    )
                }
            })
            .collect::<Vec<_>>()
            .join(";\n  ")
    }

    /// Tasks still alive (running or blocked), body included.
    pub fn live_tasks(&self) -> impl Iterator<Item = &TaskRecord> {
        self.tasks.iter().filter(|t| t.state.is_alive())
    }

    /// Writes one task in the style of a Go goroutine dump.
    pub fn write_task(&self, f: &mut impl fmt::Write, task: &TaskRecord) -> fmt::Result {
        self.write_task_as(f, task, false)
    }

    /// Writes one task of a leak or deadlock report, as [`write_task`](Snapshot::write_task)
    /// does, except that a live task waiting on no leakproof primitive is not called
    /// `[running]`: it is stuck on something leakproof does not model, and says so.
    pub fn write_stuck_task(&self, f: &mut impl fmt::Write, task: &TaskRecord) -> fmt::Result {
        self.write_task_as(f, task, true)
    }

    /// The bracketed state of a task with no wait: see [`write_stuck_task`](Snapshot::write_stuck_task).
    pub(crate) fn idle_label(task: &TaskRecord, stuck: bool) -> String {
        if Self::unmodelled(task, stuck) {
            NOT_MODELLED.to_string()
        } else {
            format!("{:?}", task.state).to_lowercase()
        }
    }

    /// Whether a task with no wait, in a leak or deadlock report (`stuck`), waits on
    /// something leakproof does not model.
    fn unmodelled(task: &TaskRecord, stuck: bool) -> bool {
        stuck && task.state.is_alive()
    }

    fn write_task_as(
        &self,
        f: &mut impl fmt::Write,
        task: &TaskRecord,
        stuck: bool,
    ) -> fmt::Result {
        let wait = self.wait_of(task.id);
        let what = match wait {
            Some(w) => match self.resource(w.resource) {
                Some(r) => match r.resource {
                    ResourceKind::Chan => format!("chan {}", w.op),
                    ResourceKind::Mpsc => format!("mpsc {}", w.op),
                    ResourceKind::Oneshot => format!("oneshot {}", w.op),
                    _ => w.op.clone(),
                },
                None => w.op.clone(),
            },
            None => Self::idle_label(task, stuck),
        };
        writeln!(f, "task {} \"{}\" [{}]:", task.id, task.name, what)?;
        if wait.is_none() && Self::unmodelled(task, stuck) {
            writeln!(
                f,
                "    pending on something leakproof does not model (a future or real I/O from \
                 outside leakproof's primitives), or still running: leakproof cannot say what \
                 it waits for"
            )?;
        }
        if let Some(w) = wait {
            writeln!(f, "    blocked at {}", w.site)?;
            if !w.spans.is_empty() {
                writeln!(f, "    inside span {}", w.spans.join(" > "))?;
            }
            match self.resource(w.resource) {
                Some(r) => self.write_resource(f, r, Some(w))?,
                None if w.kind == Op::Join => {
                    let name = self
                        .task(w.resource)
                        .map(|t| t.name.as_str())
                        .unwrap_or("?");
                    writeln!(
                        f,
                        "    waiting for task {} \"{name}\" to finish",
                        w.resource
                    )?;
                }
                None => {}
            }
        }
        match task.parent.and_then(|p| self.task(p)) {
            Some(parent) => writeln!(
                f,
                "created by task {} \"{}\" at {}",
                parent.id, parent.name, task.spawned_at
            ),
            None if task.id == 0 => writeln!(f, "the checked body, started at {}", task.spawned_at),
            None => writeln!(f, "created at {}", task.spawned_at),
        }
    }

    fn write_resource(
        &self,
        f: &mut impl fmt::Write,
        r: &ResourceRecord,
        wait: Option<&WaitRecord>,
    ) -> fmt::Result {
        if matches!(r.resource, ResourceKind::Mpsc | ResourceKind::Oneshot) {
            return self.write_tokio_channel(f, r, wait);
        }
        if r.resource != ResourceKind::Chan {
            return self.write_lock(f, r, wait);
        }
        let cap = match r.capacity {
            Some(c) => c.to_string(),
            None => "unbounded".to_string(),
        };
        writeln!(
            f,
            "    on {} #{} (cap {}, len {}) created at {}",
            r.kind, r.id, cap, r.len, r.created_at
        )?;
        let receiving = self
            .waits
            .iter()
            .any(|o| o.resource == r.id && o.kind == Op::Recv);
        let sending = self
            .waits
            .iter()
            .any(|o| o.resource == r.id && o.kind == Op::Send);
        let state = if r.closed { "closed" } else { "open" };
        write!(
            f,
            "    channel #{} is {}: {} sender handle(s), {} receiver handle(s) alive",
            r.id, state, r.senders, r.receivers
        )?;
        match wait.map(|w| w.kind) {
            Some(Op::Send) if !receiving && r.receivers > 0 => writeln!(
                f,
                "; no task is receiving from it, so no live receiver will read it"
            )?,
            Some(Op::Send) if r.receivers == 0 => writeln!(f, "; no receiver is left")?,
            Some(Op::Recv) if !sending && r.senders > 0 && self.untracked_alive => {
                writeln!(f, "{UNTRACKED_MAY_SEND}")?
            }
            Some(Op::Recv) if !sending && r.senders > 0 => writeln!(
                f,
                "; no task is sending on it, and the senders never close it"
            )?,
            _ => writeln!(f)?,
        }
        self.write_others(f, r, wait)
    }

    /// `    also waiting on it: task 3 "b" (recv), …`: the other tasks waiting on `r`, the
    /// first [`OTHERS_NAMED`] by name and the rest counted.
    fn write_others(
        &self,
        f: &mut impl fmt::Write,
        r: &ResourceRecord,
        wait: Option<&WaitRecord>,
    ) -> fmt::Result {
        let others: Vec<&WaitRecord> = self
            .waits
            .iter()
            .filter(|o| o.resource == r.id && Some(o.task) != wait.map(|w| w.task))
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let mut named: Vec<String> = others
            .iter()
            .take(OTHERS_NAMED)
            .map(|o| {
                let name = self.task(o.task).map(|t| t.name.as_str()).unwrap_or("?");
                format!("task {} \"{}\" ({})", o.task, name, o.op)
            })
            .collect();
        if others.len() > OTHERS_NAMED {
            named.push(format!("and {} more", others.len() - OTHERS_NAMED));
        }
        writeln!(f, "    also waiting on it: {}", named.join(", "))
    }
}

/// What a leak or deadlock report calls a live task that waits on no leakproof primitive.
const NOT_MODELLED: &str = "not on a leakproof primitive";

/// A channel's line when nothing tracked sends on it while untracked tasks live.
const UNTRACKED_MAY_SEND: &str =
    "; no tracked task is sending on it (an untracked task may hold a sender)";

/// How many of the other tasks waiting on a resource a report names (the rest are counted:
/// a hundred thousand receivers on one channel would make each task's entry that long).
const OTHERS_NAMED: usize = 8;

impl Snapshot {
    /// A `leakproof::tokio` channel (mpsc or oneshot), in tokio's words.
    fn write_tokio_channel(
        &self,
        f: &mut impl fmt::Write,
        r: &ResourceRecord,
        wait: Option<&WaitRecord>,
    ) -> fmt::Result {
        let op = wait.map(|w| w.kind);
        let waiting_on = |what: Op| {
            self.waits.iter().any(|o| {
                o.resource == r.id && o.kind == what && Some(o.task) != wait.map(|w| w.task)
            })
        };
        if r.resource == ResourceKind::Oneshot {
            writeln!(
                f,
                "    on oneshot channel #{} created at {}",
                r.id, r.created_at
            )?;
            return match (op, r.senders, r.receivers) {
                (Some(Op::Recv), 0, _) => writeln!(f, "    the sender is gone"),
                (Some(Op::Recv), _, _) if self.untracked_alive => writeln!(
                    f,
                    "    the sender is alive and no tracked task sends on it (an untracked task may hold it)"
                ),
                (Some(Op::Recv), _, _) => writeln!(
                    f,
                    "    the sender is alive but nothing sends on it or drops it"
                ),
                (Some(Op::Closed), _, 0) => writeln!(f, "    the receiver is gone"),
                (Some(Op::Closed), _, _) => writeln!(
                    f,
                    "    the receiver is alive and never closes the channel or goes away"
                ),
                _ => Ok(()),
            };
        }
        let cap = match r.capacity {
            Some(c) => format!("capacity {c}"),
            None => "unbounded".to_string(),
        };
        writeln!(
            f,
            "    on mpsc channel #{} ({cap}, {} queued) created at {}",
            r.id, r.len, r.created_at
        )?;
        let mut senders = match r.senders {
            0 => "no sender alive".to_string(),
            1 => "1 sender alive".to_string(),
            n => format!("{n} senders alive"),
        };
        if let Some(by) = r.sender_by.filter(|_| r.senders > 0) {
            let name = self.task(by).map(|t| t.name.as_str()).unwrap_or("?");
            let newest = if r.senders == 1 { "" } else { "the newest " };
            senders.push_str(&format!(
                " ({newest}created or cloned by task {by} \"{name}\")"
            ));
        }
        let receiver = if r.receivers > 0 {
            "the receiver alive"
        } else {
            "the receiver gone"
        };
        write!(f, "    {senders}, {receiver}")?;
        match op {
            Some(Op::Recv) if r.senders > 0 && !waiting_on(Op::Send) && self.untracked_alive => {
                writeln!(f, "{UNTRACKED_MAY_SEND}")?
            }
            Some(Op::Recv) if r.senders > 0 && !waiting_on(Op::Send) => writeln!(
                f,
                "; no task is sending on it, and the live senders are never dropped"
            )?,
            Some(Op::Send) if r.receivers > 0 && !waiting_on(Op::Recv) => {
                writeln!(f, "; the buffer is full and no task is receiving from it")?
            }
            Some(Op::Closed) if r.receivers > 0 => {
                writeln!(f, "; the receiver never closes the channel or goes away")?
            }
            _ => writeln!(f)?,
        }
        self.write_others(f, r, wait)?;
        Ok(())
    }

    fn write_lock(
        &self,
        f: &mut impl fmt::Write,
        r: &ResourceRecord,
        wait: Option<&WaitRecord>,
    ) -> fmt::Result {
        writeln!(f, "    on {} #{} created at {}", r.kind, r.id, r.created_at)?;
        let holders: Vec<String> = r
            .holders
            .iter()
            .map(|h| {
                let name = self.task(*h).map(|t| t.name.as_str()).unwrap_or("?");
                format!("task {h} \"{name}\"")
            })
            .collect();
        if r.resource.is_socket() {
            writeln!(
                f,
                "    a real socket: what ends the wait (a peer connecting, sending or hanging \
                 up) is outside the program"
            )?;
        } else if holders.is_empty() {
            // Wake-up primitives (tokio's `Notify`, `watch`, …) have no holder to name.
            if !r.resource.is_holdless() {
                writeln!(f, "    held by nobody")?;
            }
        } else {
            writeln!(f, "    held by {}", holders.join(", "))?;
        }
        self.write_others(f, r, wait)?;
        Ok(())
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live: Vec<&TaskRecord> = self.live_tasks().collect();
        writeln!(
            f,
            "{} live task(s), {} pending operation(s)",
            live.len(),
            self.waits.len()
        )?;
        for task in live {
            writeln!(f)?;
            let mut s = String::new();
            self.write_task(&mut s, task)?;
            f.write_str(&s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_registrys_per_task_entries_stay_small() {
        // A run may hold 100,000 of each: the task's id is the maps' key, not a field.
        let task = std::mem::size_of::<super::TaskEntry>();
        let wait = std::mem::size_of::<super::WaitEntry>();
        assert!(task <= 40, "TaskEntry is {task} bytes");
        assert!(wait <= 64, "WaitEntry is {wait} bytes");
    }

    #[test]
    fn a_file_name_is_interned_once_for_all_its_sites() {
        // A record's site is copied, not allocated: every site of one file shares its name.
        let a = super::intern_site("src/interned_once.rs", 1, 2);
        let b = super::intern_site(&String::from("src/interned_once.rs"), 3, 4);
        assert_eq!((b.line, b.column), (3, 4));
        assert!(
            std::ptr::eq(a.file, b.file),
            "{a:?} and {b:?} hold two copies"
        );
        assert!(std::ptr::eq(
            a,
            super::intern_site("src/interned_once.rs", 1, 2)
        ));
    }
}
