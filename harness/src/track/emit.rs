//! The events primitives emit for the tracking layer, one function per event kind.
//!
//! Each function is a no-op outside a checked execution or with tracking off. Inside one, it
//! emits a `tracing` event (target `harness`) when the execution prints its trace
//! (`Check::trace`, `LEAKPROOF_TRACE`); otherwise the tracking layer would be the event's
//! only reader, so the change goes straight to the execution's registry, as the layer would
//! have made it ([`Update`]), without building, dispatching and parsing an event.
//!
//! A channel's state (length, handles, closed) changes at every send and receive: it goes
//! into counts the channel shares with the registry ([`Counts`]), never through an update
//! (and, with a printed trace, into a `res.state` event as well).

use std::panic::Location;
use std::sync::Arc;

use super::registry::{LiveCounts, OpName};
use super::{SiteIn, Update, TARGET};
use crate::rt::exec::Exec;

/// The execution, if it tracks.
fn tracked(exec: Option<&Exec>) -> Option<&Exec> {
    exec.filter(|e| e.tracking)
}

/// Whether the execution's changes go through `tracing` (someone prints them).
fn as_events(e: &Exec) -> bool {
    e.spans
}

/// A task was spawned; `name` is `None` for the default name (`task-N`).
pub(crate) fn task_spawned(
    exec: Option<&Exec>,
    task: u64,
    name: Option<&str>,
    parent: u64,
    site: &Location<'_>,
) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        let name = name.unwrap_or("");
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "task.spawn", task, name, parent,
            file = site.file(), line = site.line(), col = site.column());
    } else {
        e.registry.apply(Update::TaskSpawn {
            task,
            name,
            parent: Some(parent),
            site: SiteIn::Loc(site),
        });
    }
}

/// The checked body started (task 0, no parent).
pub(crate) fn body_started(exec: Option<&Exec>, site: &Location<'_>) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "task.spawn", task = 0u64, name = "main",
            file = site.file(), line = site.line(), col = site.column());
    } else {
        e.registry.apply(Update::TaskSpawn {
            task: 0,
            name: Some("main"),
            parent: None,
            site: SiteIn::Loc(site),
        });
    }
}

/// A task ended: `how` is `"ok"`, `"panicked"` or `"aborted"`.
pub(crate) fn task_ended(exec: Option<&Exec>, task: u64, how: &'static str) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "task.end", task, how);
    } else {
        e.registry.apply(Update::TaskEnd { task, how });
    }
}

/// A channel was created; `cap` is `-1` for unbounded.
pub(crate) fn resource_created(
    exec: Option<&Exec>,
    res: u64,
    kind: &'static str,
    cap: i64,
    site: &Location<'_>,
) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.new", res, kind, cap,
            senders = 1u64, receivers = 1u64,
            file = site.file(), line = site.line(), col = site.column());
    } else {
        e.registry.apply(Update::ResNew {
            res,
            kind,
            cap,
            senders: 1,
            receivers: 1,
            site: SiteIn::Loc(site),
        });
    }
}

/// Where a channel reports its length, handles and closed flag (see [`channel_created`]):
/// counts the registry reads when it takes a snapshot, and, when the execution prints its
/// trace, `res.state` events as well. Nothing outside a tracked execution.
pub(crate) struct Counts {
    live: Option<Arc<LiveCounts>>,
    events: bool,
}

impl Counts {
    /// Reports the channel's state now; called under the channel's lock, so that the last
    /// report is the channel's last state.
    #[inline]
    pub(crate) fn set(&self, res: u64, len: usize, senders: usize, receivers: usize, closed: bool) {
        if let Some(live) = &self.live {
            live.set(len, senders, receivers, closed);
            if self.events {
                tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.state", res,
                    len = len as u64, senders = senders as u64, receivers = receivers as u64,
                    closed);
            }
        }
    }

    /// Reports that `task` made the channel's newest sender (see
    /// [`ResourceRecord::sender_by`](super::ResourceRecord::sender_by)).
    #[inline]
    pub(crate) fn set_sender_by(&self, task: u64) {
        if let Some(live) = &self.live {
            live.set_sender_by(task);
        }
    }

    /// Reports the channel's length alone (a channel that reports it only when a task
    /// starts waiting on it).
    #[inline]
    pub(crate) fn set_len(&self, len: usize) {
        if let Some(live) = &self.live {
            live.set_len(len);
        }
    }
}

/// A channel was created (`cap` is `-1` for unbounded): registers it, and returns where it
/// reports its state changes from now on.
pub(crate) fn channel_created(
    exec: Option<&Exec>,
    res: u64,
    kind: &'static str,
    cap: i64,
    site: &Location<'_>,
) -> Counts {
    resource_created(exec, res, kind, cap, site);
    match tracked(exec) {
        None => Counts {
            live: None,
            events: false,
        },
        Some(e) => Counts {
            live: Some(e.registry.live_counts(res)),
            events: as_events(e),
        },
    }
}

/// A task started waiting on `op` of resource `res`.
pub(crate) fn op_wait(
    exec: Option<&Exec>,
    task: u64,
    res: u64,
    op: &'static str,
    len: usize,
    site: &Location<'_>,
) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "op.wait", task, res, op,
            len = len as u64, file = site.file(), line = site.line(), col = site.column());
    } else {
        e.registry.apply(Update::OpWait {
            task,
            res,
            op: OpName::Static(op),
            site: SiteIn::Loc(site),
            spans: Vec::new(),
        });
    }
}

/// A task stopped waiting (its operation completed or was abandoned).
pub(crate) fn op_done(exec: Option<&Exec>, task: u64) {
    if let Some(e) = exec {
        e.bump();
    }
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "op.done", task);
    } else {
        e.registry.apply(Update::OpDone { task });
    }
}

/// The execution, if it keeps an execution log.
fn logged(exec: Option<&Exec>) -> Option<&Exec> {
    exec.filter(|e| e.tracking && e.log)
}

/// A send completed: message `msg` is in the channel or taken (execution log only).
pub(crate) fn msg_sent(exec: Option<&Exec>, task: u64, res: u64, msg: u64) {
    let Some(e) = logged(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "msg.sent", task, res, msg);
    } else {
        e.registry.apply(Update::Msg {
            task,
            res,
            msg,
            sent: true,
        });
    }
}

/// A receive took message `msg` (execution log only).
pub(crate) fn msg_received(exec: Option<&Exec>, task: u64, res: u64, msg: u64) {
    let Some(e) = logged(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "msg.recv", task, res, msg);
    } else {
        e.registry.apply(Update::Msg {
            task,
            res,
            msg,
            sent: false,
        });
    }
}

/// A task closed a channel (execution log only).
pub(crate) fn closed(exec: Option<&Exec>, task: u64, res: u64) {
    let Some(e) = logged(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.close", task, res);
    } else {
        e.registry.apply(Update::Closed { task, res });
    }
}

/// A lock-like resource (mutex, rwlock, semaphore, …) was created; it has no capacity.
pub(crate) fn lock_created(exec: Option<&Exec>, res: u64, kind: &'static str, site: &Location<'_>) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.new", res, kind, cap = -1i64,
            senders = 0u64, receivers = 0u64,
            file = site.file(), line = site.line(), col = site.column());
    } else {
        e.registry.apply(Update::ResNew {
            res,
            kind,
            cap: -1,
            senders: 0,
            receivers: 0,
            site: SiteIn::Loc(site),
        });
    }
}

/// `task` now holds `res` (acquired a lock, a read lock, a permit).
pub(crate) fn held(exec: Option<&Exec>, task: u64, res: u64) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.hold", task, res);
    } else {
        e.registry.apply(Update::Hold { task, res });
    }
}

/// `task` let go of `res`.
pub(crate) fn released(exec: Option<&Exec>, task: u64, res: u64) {
    let Some(e) = tracked(exec) else { return };
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.release", task, res);
    } else {
        e.registry.apply(Update::Release { task, res });
    }
}

/// A task started waiting on an operation named at run time (a `select!` and its arms).
pub(crate) fn op_wait_dyn(
    exec: Option<&Exec>,
    task: u64,
    res: u64,
    op: &str,
    site: (&str, u32, u32),
) {
    let Some(e) = tracked(exec) else { return };
    let (file, line, col) = site;
    if as_events(e) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "op.wait", task, res, op,
            len = 0u64, file, line, col);
    } else {
        e.registry.apply(Update::OpWait {
            task,
            res,
            op: OpName::Owned(op.into()),
            site: SiteIn::Dyn(file, line, col),
            spans: Vec::new(),
        });
    }
}
