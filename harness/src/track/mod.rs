//! Tracking: a `tracing` layer that keeps the live registry of an execution.
//!
//! Every primitive reports what it does as `tracing` events with target `harness`
//! (task spawned and ended, channel created and changed, operation pending and done).
//! [`TrackingLayer`] turns those events into a [`Registry`]: which tasks are alive, what
//! each one is blocked on, and the state of every channel. The checkers install one per
//! run, reset it for every execution, and read it to explain a leak or a deadlock.
//!
//! The layer does one thing and composes with any other layer:
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! let layer = harness::track::TrackingLayer::new();
//! let registry = layer.registry();
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || {
//!     // run harness code here; `registry.snapshot()` shows its tasks and waits
//! });
//! assert!(registry.snapshot().tasks.is_empty());
//! ```

mod emit;
mod registry;

pub(crate) use emit::*;
pub use registry::{
    LogEntry, LogEvent, Registry, ResourceRecord, Site, Snapshot, TaskRecord, TaskState, WaitEdge,
    WaitRecord,
};

use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// How a `select!` wait with a timer arm ends its operation's name: time will end it.
pub const WITH_TIMER: &str = " (with a timer)";

/// The target of every event and span the primitives emit.
pub const TARGET: &str = "harness";

/// A `tracing_subscriber::Layer` that keeps the live registry of tasks and pending operations.
#[derive(Clone, Debug, Default)]
pub struct TrackingLayer {
    registry: Arc<Registry>,
}

impl TrackingLayer {
    /// A layer over a fresh, empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that feeds an existing registry.
    pub fn with_registry(registry: Arc<Registry>) -> Self {
        TrackingLayer { registry }
    }

    /// The registry this layer feeds.
    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.registry)
    }
}

/// The live tasks and pending operations of the execution running on this thread.
///
/// Outside any checker the snapshot is empty.
pub fn snapshot() -> Snapshot {
    crate::rt::exec::current()
        .map(|e| e.registry.snapshot())
        .unwrap_or_default()
}

/// Which event a `harness` event is (its `ev` field).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Ev {
    #[default]
    Other,
    TaskSpawn,
    TaskEnd,
    ResNew,
    ResState,
    ResHold,
    ResRelease,
    ResClose,
    OpWait,
    OpDone,
    MsgSent,
    MsgRecv,
}

impl Ev {
    fn parse(s: &str) -> Ev {
        match s {
            "task.spawn" => Ev::TaskSpawn,
            "task.end" => Ev::TaskEnd,
            "res.new" => Ev::ResNew,
            "res.state" => Ev::ResState,
            "res.hold" => Ev::ResHold,
            "res.release" => Ev::ResRelease,
            "res.close" => Ev::ResClose,
            "op.wait" => Ev::OpWait,
            "op.done" => Ev::OpDone,
            "msg.sent" => Ev::MsgSent,
            "msg.recv" => Ev::MsgRecv,
            _ => Ev::Other,
        }
    }
}

#[derive(Default)]
struct Fields {
    ev: Ev,
    task: Option<u64>,
    parent: Option<u64>,
    res: Option<u64>,
    name: String,
    kind: String,
    op: String,
    how: String,
    file: String,
    line: u32,
    col: u32,
    cap: Option<i64>,
    len: u64,
    senders: u64,
    receivers: u64,
    closed: bool,
    msg: u64,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "msg" => self.msg = value,
            "task" => self.task = Some(value),
            "parent" => self.parent = Some(value),
            "res" => self.res = Some(value),
            "line" => self.line = value as u32,
            "col" => self.col = value as u32,
            "len" => self.len = value,
            "senders" => self.senders = value,
            "receivers" => self.receivers = value,
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "cap" => self.cap = Some(value),
            _ => self.record_u64(field, value.max(0) as u64),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "closed" {
            self.closed = value;
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "ev" => {
                self.ev = Ev::parse(value);
                return;
            }
            "name" => &mut self.name,
            "kind" => &mut self.kind,
            "op" => &mut self.op,
            "how" => &mut self.how,
            "file" => &mut self.file,
            _ => return,
        };
        value.clone_into(slot);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            return;
        }
        self.record_str(field, &format!("{value:?}"));
    }
}

impl Fields {
    fn site(&self) -> Site {
        Site {
            file: self.file.clone(),
            line: self.line,
            column: self.col,
        }
    }
}

impl<S> Layer<S> for TrackingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let reg = &self.registry;
        reg.count_event();
        if reg.logging() {
            log(reg, &f);
        }
        match f.ev {
            Ev::TaskSpawn => {
                let Some(id) = f.task else { return };
                let site = f.site();
                reg.tasks.insert(
                    id,
                    TaskRecord {
                        id,
                        name: f.name,
                        parent: f.parent,
                        spawned_at: site,
                        state: TaskState::Running,
                    },
                );
            }
            Ev::TaskEnd => {
                let Some(id) = f.task else { return };
                reg.waits.remove(&id);
                if let Some(mut t) = reg.tasks.get_mut(&id) {
                    t.state = match f.how.as_str() {
                        "panicked" => TaskState::Panicked,
                        "aborted" => TaskState::Aborted,
                        _ => TaskState::Finished,
                    };
                }
            }
            Ev::ResNew => {
                let Some(id) = f.res else { return };
                let site = f.site();
                reg.resources.insert(
                    id,
                    ResourceRecord {
                        id,
                        kind: f.kind,
                        capacity: f.cap.filter(|c| *c >= 0).map(|c| c as usize),
                        len: 0,
                        senders: f.senders as usize,
                        receivers: f.receivers as usize,
                        closed: false,
                        created_at: site,
                        holders: Vec::new(),
                    },
                );
            }
            Ev::ResState => {
                let Some(id) = f.res else { return };
                if let Some(mut r) = reg.resources.get_mut(&id) {
                    r.len = f.len as usize;
                    r.senders = f.senders as usize;
                    r.receivers = f.receivers as usize;
                    r.closed = f.closed;
                }
            }
            Ev::OpWait => {
                let (Some(task), Some(res)) = (f.task, f.res) else {
                    return;
                };
                let spans = ctx
                    .event_scope(event)
                    .map(|scope| {
                        scope
                            .from_root()
                            .filter(|s| s.metadata().target() != TARGET)
                            .map(|s| s.name().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let site = f.site();
                if let Some(mut r) = reg.resources.get_mut(&res) {
                    r.len = f.len as usize;
                }
                reg.waits.insert(
                    task,
                    WaitRecord {
                        task,
                        resource: res,
                        op: f.op,
                        site,
                        spans,
                    },
                );
                if let Some(mut t) = reg.tasks.get_mut(&task) {
                    t.state = TaskState::Blocked;
                }
            }
            Ev::ResHold => {
                let (Some(task), Some(res)) = (f.task, f.res) else {
                    return;
                };
                if let Some(mut r) = reg.resources.get_mut(&res) {
                    r.holders.push(task);
                    reg.holds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Ev::ResRelease => {
                let (Some(task), Some(res)) = (f.task, f.res) else {
                    return;
                };
                if let Some(mut r) = reg.resources.get_mut(&res) {
                    if let Some(i) = r.holders.iter().position(|h| *h == task) {
                        r.holders.remove(i);
                        reg.holds.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            Ev::OpDone => {
                let Some(task) = f.task else { return };
                reg.waits.remove(&task);
                if let Some(mut t) = reg.tasks.get_mut(&task) {
                    if t.state == TaskState::Blocked {
                        t.state = TaskState::Running;
                    }
                }
            }
            _ => {}
        }
    }
}

/// Appends an event to the execution log.
fn log(reg: &Registry, f: &Fields) {
    let Some(task) = f.task else { return };
    let event = match f.ev {
        Ev::TaskSpawn => LogEvent::Spawned { parent: f.parent },
        Ev::TaskEnd => LogEvent::Ended { how: f.how.clone() },
        Ev::OpWait => LogEvent::Waiting {
            res: f.res.unwrap_or_default(),
            op: f.op.clone(),
            site: f.site(),
        },
        Ev::MsgSent => LogEvent::Sent {
            res: f.res.unwrap_or_default(),
            msg: f.msg,
        },
        Ev::MsgRecv => LogEvent::Received {
            res: f.res.unwrap_or_default(),
            msg: f.msg,
        },
        Ev::ResClose => LogEvent::Closed {
            res: f.res.unwrap_or_default(),
        },
        _ => return,
    };
    reg.push_log(task, event);
}
