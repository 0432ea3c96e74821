//! Tracking: a `tracing` layer that keeps the live registry of an execution.
//!
//! Every primitive reports what it does as `tracing` events with target `harness`
//! (task spawned and ended, channel created and changed, operation pending and done).
//! [`TrackingLayer`] turns those events into a [`Registry`]: which tasks are alive, what
//! each one is blocked on, and the state of every channel. The checkers install one per
//! run, reset it for every execution, and read it to explain a leak or a deadlock.
//!
//! Inside a checked execution whose trace nobody prints, the layer would be the events' only
//! reader: there the primitives apply the same changes to the execution's registry directly
//! (`Registry::apply`, what the layer does with an event), and skip building, dispatching and
//! parsing the event. `Check::trace` and `LEAKPROOF_TRACE` turn the events back on.
//!
//! The layer does one thing and composes with any other layer:
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! let layer = leakproof::track::TrackingLayer::new();
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
    LogEntry, LogEvent, Op, Registry, ResourceKind, ResourceRecord, Site, Snapshot, TaskRecord,
    TaskState, WaitEdge, WaitRecord,
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
    senders: u64,
    receivers: u64,
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
        let site = || SiteIn::Dyn(&f.file, f.line, f.col);
        let update = match f.ev {
            Ev::TaskSpawn => {
                let Some(task) = f.task else { return };
                Update::TaskSpawn {
                    task,
                    name: (!f.name.is_empty()).then_some(f.name.as_str()),
                    parent: f.parent,
                    site: site(),
                }
            }
            Ev::TaskEnd => {
                let Some(task) = f.task else { return };
                Update::TaskEnd {
                    task,
                    how: f.how.as_str(),
                }
            }
            Ev::ResNew => {
                let Some(res) = f.res else { return };
                Update::ResNew {
                    res,
                    kind: &f.kind,
                    cap: f.cap.unwrap_or(-1),
                    senders: f.senders as usize,
                    receivers: f.receivers as usize,
                    site: site(),
                }
            }
            // What it says is already in the counts the channel shares with the registry
            // (`emit::Counts`): the event is for the printed trace.
            Ev::ResState => return,
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
                Update::OpWait {
                    task,
                    res,
                    op: registry::OpName::Owned(f.op.as_str().into()),
                    site: site(),
                    spans,
                }
            }
            Ev::ResHold | Ev::ResRelease => {
                let (Some(task), Some(res)) = (f.task, f.res) else {
                    return;
                };
                if f.ev == Ev::ResHold {
                    Update::Hold { task, res }
                } else {
                    Update::Release { task, res }
                }
            }
            Ev::OpDone => {
                let Some(task) = f.task else { return };
                Update::OpDone { task }
            }
            Ev::MsgSent | Ev::MsgRecv => {
                let (Some(task), Some(res)) = (f.task, f.res) else {
                    return;
                };
                let (sent, msg) = (f.ev == Ev::MsgSent, f.msg);
                Update::Msg {
                    task,
                    res,
                    msg,
                    sent,
                }
            }
            Ev::ResClose => {
                let (Some(task), Some(res)) = (f.task, f.res) else {
                    return;
                };
                Update::Closed { task, res }
            }
            Ev::Other => {
                self.registry.count_event();
                return;
            }
        };
        self.registry.apply(update);
    }
}

/// Where an event happened: a `#[track_caller]` location, or the fields of a `tracing` event.
#[derive(Clone, Copy)]
pub(crate) enum SiteIn<'a> {
    Loc(&'a std::panic::Location<'a>),
    Dyn(&'a str, u32, u32),
}

impl SiteIn<'_> {
    fn interned(self) -> registry::SiteRef {
        match self {
            SiteIn::Loc(l) => registry::intern_location(l),
            SiteIn::Dyn(file, line, column) => registry::intern_site(file, line, column),
        }
    }

    fn site(self) -> Site {
        *self.interned()
    }
}

/// One change to the registry: what a `harness` event says. The layer builds it from an
/// event's fields; inside a checked execution that prints no trace, the primitives hand it
/// to their execution's registry directly, without building an event nobody else reads.
pub(crate) enum Update<'a> {
    TaskSpawn {
        task: u64,
        /// `None`: the default name, `task-N`.
        name: Option<&'a str>,
        parent: Option<u64>,
        site: SiteIn<'a>,
    },
    TaskEnd {
        task: u64,
        how: &'a str,
    },
    ResNew {
        res: u64,
        kind: &'a str,
        cap: i64,
        senders: usize,
        receivers: usize,
        site: SiteIn<'a>,
    },
    OpWait {
        task: u64,
        res: u64,
        op: registry::OpName,
        site: SiteIn<'a>,
        spans: Vec<String>,
    },
    OpDone {
        task: u64,
    },
    Hold {
        task: u64,
        res: u64,
    },
    Release {
        task: u64,
        res: u64,
    },
    /// A message sent or received (execution log only).
    Msg {
        task: u64,
        res: u64,
        msg: u64,
        sent: bool,
    },
    /// A task closed a channel (execution log only).
    Closed {
        task: u64,
        res: u64,
    },
}

impl Registry {
    /// Applies one change (one `harness` event).
    pub(crate) fn apply(&self, u: Update<'_>) {
        let reg = self;
        reg.count_event();
        if reg.logging() {
            log(reg, &u);
        }
        match u {
            Update::TaskSpawn {
                task,
                name,
                parent,
                site,
            } => {
                reg.tasks.insert(
                    task,
                    registry::TaskEntry::new(
                        match name {
                            Some(n) => registry::TaskName::Given(n.into()),
                            None => registry::TaskName::Default,
                        },
                        parent,
                        site.interned(),
                    ),
                );
            }
            Update::TaskEnd { task, how } => {
                reg.waits.remove(&task);
                if let Some(mut t) = reg.tasks.get_mut(&task) {
                    t.state = match how {
                        "panicked" => TaskState::Panicked,
                        "aborted" => TaskState::Aborted,
                        _ => TaskState::Finished,
                    };
                }
            }
            Update::ResNew {
                res,
                kind,
                cap,
                senders,
                receivers,
                site,
            } => {
                let resource = ResourceKind::parse(kind);
                debug_assert!(
                    resource != ResourceKind::Other,
                    "leakproof: resource kind {kind:?} is not a ResourceKind: add it to ResourceKind::parse"
                );
                reg.resources.insert(
                    res,
                    ResourceRecord {
                        id: res,
                        kind: kind.to_string(),
                        resource,
                        capacity: (cap >= 0).then_some(cap as usize),
                        len: 0,
                        senders,
                        receivers,
                        closed: false,
                        created_at: site.site(),
                        holders: Vec::new(),
                        sender_by: None,
                    },
                );
            }
            Update::OpWait {
                task,
                res,
                op,
                site,
                spans,
            } => {
                // A task with a wait is blocked: the snapshot says so (see
                // `Registry::snapshot`), so that a wait costs one map write, not two.
                // Where operations enter the registry: parsed once, read by every rule.
                let (kind, timer) = Op::parse(op.as_str());
                reg.waits.insert(
                    task,
                    registry::WaitEntry {
                        resource: res,
                        op,
                        kind,
                        timer,
                        site: site.interned(),
                        spans: spans.into_boxed_slice(),
                    },
                );
            }
            Update::Hold { task, res } => {
                if let Some(mut r) = reg.resources.get_mut(&res) {
                    r.holders.push(task);
                    reg.holds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Update::Release { task, res } => {
                if let Some(mut r) = reg.resources.get_mut(&res) {
                    if let Some(i) = r.holders.iter().position(|h| *h == task) {
                        r.holders.remove(i);
                        reg.holds.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            Update::OpDone { task } => {
                reg.waits.remove(&task);
            }
            Update::Msg { .. } | Update::Closed { .. } => {}
        }
    }
}

/// Appends an update to the execution log.
fn log(reg: &Registry, u: &Update<'_>) {
    let (task, event) = match *u {
        Update::TaskSpawn { task, parent, .. } => (task, LogEvent::Spawned { parent }),
        Update::TaskEnd { task, how } => (
            task,
            LogEvent::Ended {
                how: how.to_string(),
            },
        ),
        Update::OpWait {
            task,
            res,
            ref op,
            site,
            ..
        } => (
            task,
            LogEvent::Waiting {
                res,
                op: op.as_str().to_string(),
                site: site.site(),
            },
        ),
        Update::Msg {
            task,
            res,
            msg,
            sent: true,
        } => (task, LogEvent::Sent { res, msg }),
        Update::Msg {
            task,
            res,
            msg,
            sent: false,
        } => (task, LogEvent::Received { res, msg }),
        Update::Closed { task, res } => (task, LogEvent::Closed { res }),
        _ => return,
    };
    reg.push_log(task, event);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(reg: &Registry, res: u64, kind: &str) {
        reg.apply(Update::ResNew {
            res,
            kind,
            cap: 0,
            senders: 1,
            receivers: 1,
            site: SiteIn::Loc(std::panic::Location::caller()),
        });
    }

    /// A resource's kind is parsed once, where it enters the registry: the record carries
    /// the variant the deadlock rules compare.
    #[test]
    fn a_resource_enters_the_registry_with_its_kind_parsed() {
        let reg = Registry::new();
        for (res, name, kind) in [
            (1, "rwlock", ResourceKind::RwLock),
            (2, "semaphore", ResourceKind::Semaphore),
            (3, "channel", ResourceKind::Chan),
            (4, "oneshot channel", ResourceKind::Oneshot),
            (5, "tcp stream", ResourceKind::TcpStream),
        ] {
            created(&reg, res, name);
            let snap = reg.snapshot();
            let r = snap.resource(res).expect("registered");
            assert_eq!((r.kind.as_str(), r.resource), (name, kind));
        }
    }

    /// A kind no rule knows (a misspelt name in a new primitive) fails every debug build that
    /// creates it, instead of silently switching a rule off.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "is not a ResourceKind")]
    fn an_unknown_resource_kind_panics_in_a_debug_build() {
        created(&Registry::new(), 1, "rw lock");
    }
}
