//! The events primitives emit for the tracking layer, one function per event kind.
//!
//! Each function is a no-op outside a checked execution or with tracking off.

use std::panic::Location;

use super::TARGET;
use crate::rt::exec::Exec;

fn on(exec: Option<&Exec>) -> bool {
    exec.is_some_and(|e| e.tracking)
}

/// A task was spawned.
pub(crate) fn task_spawned(
    exec: Option<&Exec>,
    task: u64,
    name: &str,
    parent: u64,
    site: &Location<'_>,
) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "task.spawn", task, name, parent,
            file = site.file(), line = site.line(), col = site.column());
    }
}

/// The checked body started (task 0, no parent).
pub(crate) fn body_started(exec: Option<&Exec>, site: &Location<'_>) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "task.spawn", task = 0u64, name = "main",
            file = site.file(), line = site.line(), col = site.column());
    }
}

/// A task ended: `how` is `"ok"`, `"panicked"` or `"aborted"`.
pub(crate) fn task_ended(exec: Option<&Exec>, task: u64, how: &'static str) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "task.end", task, how);
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
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.new", res, kind, cap,
            senders = 1u64, receivers = 1u64,
            file = site.file(), line = site.line(), col = site.column());
    }
}

/// A channel's handles, length or closed flag changed.
pub(crate) fn resource_state(
    exec: Option<&Exec>,
    res: u64,
    len: usize,
    senders: usize,
    receivers: usize,
    closed: bool,
) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.state", res,
            len = len as u64, senders = senders as u64, receivers = receivers as u64, closed);
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
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "op.wait", task, res, op,
            len = len as u64, file = site.file(), line = site.line(), col = site.column());
    }
}

/// A task stopped waiting (its operation completed or was abandoned).
pub(crate) fn op_done(exec: Option<&Exec>, task: u64) {
    if let Some(e) = exec {
        e.bump();
    }
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "op.done", task);
    }
}

fn logging(exec: Option<&Exec>) -> bool {
    exec.is_some_and(|e| e.tracking && e.log)
}

/// A send completed: message `msg` is in the channel or taken (execution log only).
pub(crate) fn msg_sent(exec: Option<&Exec>, task: u64, res: u64, msg: u64) {
    if logging(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "msg.sent", task, res, msg);
    }
}

/// A receive took message `msg` (execution log only).
pub(crate) fn msg_received(exec: Option<&Exec>, task: u64, res: u64, msg: u64) {
    if logging(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "msg.recv", task, res, msg);
    }
}

/// A task closed a channel (execution log only).
pub(crate) fn closed(exec: Option<&Exec>, task: u64, res: u64) {
    if logging(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.close", task, res);
    }
}

/// A lock-like resource (mutex, rwlock, semaphore, …) was created; it has no capacity.
pub(crate) fn lock_created(exec: Option<&Exec>, res: u64, kind: &'static str, site: &Location<'_>) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.new", res, kind, cap = -1i64,
            senders = 0u64, receivers = 0u64,
            file = site.file(), line = site.line(), col = site.column());
    }
}

/// `task` now holds `res` (acquired a lock, a read lock, a permit).
pub(crate) fn held(exec: Option<&Exec>, task: u64, res: u64) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.hold", task, res);
    }
}

/// `task` let go of `res`.
pub(crate) fn released(exec: Option<&Exec>, task: u64, res: u64) {
    if on(exec) {
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "res.release", task, res);
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
    if on(exec) {
        let (file, line, col) = site;
        tracing::event!(target: TARGET, tracing::Level::TRACE, ev = "op.wait", task, res, op,
            len = 0u64, file, line, col);
    }
}
