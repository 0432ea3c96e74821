//! Turning what an execution left behind (its finding, its registry) into a [`Failure`]
//! whose report reads like a Go goroutine dump.

use std::fmt::Write;

use super::untracked::Untracked;
use super::{Checker, Failure, FailureKind};
use crate::track::{Snapshot, TaskRecord};

/// What the checker knows about the failing execution.
pub(super) struct Facts<'a> {
    pub name: &'a str,
    pub checker: Checker,
    /// The checker whose schedule a replay followed (for the header).
    pub found_by: Option<Checker>,
    pub execution: u64,
    pub kind: FailureKind,
    /// The headline and details of a recorded finding, or of the checker's own verdict.
    pub text: String,
    pub replay: Option<String>,
    pub snapshot: Snapshot,
    pub body_done: bool,
    /// Tasks alive on the tokio checker's runtime that leakproof did not spawn.
    pub untracked: Untracked,
}

pub(super) fn build(mut f: Facts<'_>) -> Failure {
    // Tasks that wait on each other in a cycle are a deadlock, even when the body returned.
    let cycle = match f.kind {
        FailureKind::Leak | FailureKind::Deadlock => f.snapshot.wait_cycle(),
        _ => None,
    };
    if cycle.is_some() {
        f.kind = FailureKind::Deadlock;
    }
    // A leak or a deadlock is about tasks that are stuck: with none in the registry (an
    // execution that was not tracked, say) there is nothing to substantiate it, and a report
    // that claims one with no task in it would mislead.
    let alive = f
        .snapshot
        .live_tasks()
        .filter(|t| f.kind != FailureKind::Leak || t.id != 0)
        .count()
        + f.untracked.count;
    if matches!(f.kind, FailureKind::Leak | FailureKind::Deadlock) && alive == 0 {
        f.text = format!(
            "the checker stopped the execution as a {}, but leakproof's registry shows no task alive in it, \
             so there is no stuck task to report (an execution the harness did not track?)\n{}",
            f.kind,
            f.text
        );
        f.kind = FailureKind::Panic;
    }
    let mut r = String::new();
    let headline = match f.kind {
        FailureKind::Leak if f.snapshot.tokio_api || !f.untracked.is_empty() => "task leak",
        FailureKind::Leak => "goroutine leak",
        FailureKind::Deadlock => "deadlock",
        FailureKind::Race => "data race",
        FailureKind::Panic => "panic",
        FailureKind::ClosedSend => "send on closed channel",
        FailureKind::StepLimit => "step limit exceeded",
        FailureKind::BlockingInAsync => "blocking in async (slow poll)",
    };
    let _ = writeln!(r, "leakproof: {headline} in check \"{}\"", f.name);
    let by = f
        .found_by
        .map(|b| format!(" of a {b} schedule"))
        .unwrap_or_default();
    let _ = writeln!(r, "checker: {}{by}, execution {}", f.checker, f.execution);
    match &f.replay {
        Some(t) => {
            let _ = writeln!(r, "replay:  {t}");
        }
        None => {
            let _ = writeln!(
                r,
                "replay:  none (a tokio run is not reproducible; the model checkers' are)"
            );
        }
    }
    let _ = writeln!(r);
    if !f.text.is_empty() {
        let _ = writeln!(r, "{}", f.text.trim_end());
        let _ = writeln!(r);
    }
    f.snapshot.untracked_alive = !f.untracked.is_empty();
    let snap = &f.snapshot;
    if let Some(cycle) = &cycle {
        let _ = writeln!(r, "wait-for cycle:\n  {}\n", snap.describe_cycle(cycle));
    }
    let stuck: Vec<_> = snap
        .live_tasks()
        .filter(|t| f.kind != FailureKind::Leak || t.id != 0)
        .collect();
    match f.kind {
        FailureKind::Leak if stuck.is_empty() => {}
        FailureKind::Leak => {
            // A task on a timer or a real socket may still be woken: only tasks blocked on
            // the program's own primitives have nothing left to wake them.
            // Nor while a task leakproof does not track lives: it may hold what they wait on.
            // Nor a task on something leakproof does not model: what wakes it is unknown.
            let outside = !f.untracked.is_empty()
                || stuck
                    .iter()
                    .any(|t| snap.wait_of(t.id).is_none_or(|w| w.is_timer()));
            let _ = writeln!(
                r,
                "{} task(s) still alive after the body returned{}:",
                stuck.len(),
                if outside {
                    ""
                } else {
                    ", blocked with nothing left to wake them"
                }
            );
        }
        FailureKind::Deadlock => {
            let _ = writeln!(r, "all {} live task(s) are blocked:", stuck.len());
        }
        _ if !stuck.is_empty() => {
            let _ = writeln!(r, "live tasks when it happened:");
        }
        _ => {}
    }
    // In a leak or deadlock a task on no leakproof primitive is not running: it waits on
    // something leakproof does not model (elsewhere, it may really be running).
    let parked = matches!(f.kind, FailureKind::Leak | FailureKind::Deadlock);
    for task in stuck.iter().take(FULL_TASKS) {
        let _ = writeln!(r);
        let mut s = String::new();
        let _ = if parked {
            snap.write_stuck_task(&mut s, task)
        } else {
            snap.write_task(&mut s, task)
        };
        r.push_str(&s);
    }
    if stuck.len() > FULL_TASKS {
        write_rest(&mut r, snap, &stuck[FULL_TASKS..], parked);
    }
    if !f.untracked.is_empty() {
        if !stuck.is_empty() {
            let _ = writeln!(r);
        }
        f.untracked.write(&mut r);
    }
    if f.kind == FailureKind::Deadlock && f.body_done {
        let _ = writeln!(r, "\n(the body had returned)");
    }
    Failure {
        kind: f.kind,
        checker: f.checker,
        execution: f.execution,
        report: r,
        replay: f.replay,
        name: f.name.to_string(),
        snapshot: Box::new(f.snapshot),
        shrunk: None,
    }
}

/// How many tasks a report writes out in full; the rest are counted, grouped by what they
/// wait on and where they were spawned (as Go groups identical goroutines in a dump).
const FULL_TASKS: usize = 50;

/// `… and 99,950 more task(s): 99,950 [recv] blocked at src/a.rs:3:9, spawned at …`.
fn write_rest(r: &mut String, snap: &Snapshot, rest: &[&TaskRecord], parked: bool) {
    let mut groups: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for task in rest {
        let what = match snap.wait_of(task.id) {
            Some(w) => format!("[{}] blocked at {}", w.op, w.site),
            None => format!("[{}]", Snapshot::idle_label(task, parked)),
        };
        *groups
            .entry((what, task.spawned_at.to_string()))
            .or_default() += 1;
    }
    let _ = writeln!(
        r,
        "\n... and {} more task(s), not written out (a report writes {FULL_TASKS} in full):",
        rest.len()
    );
    for ((what, spawned), n) in groups {
        let _ = writeln!(r, "    {n} task(s) {what}, spawned at {spawned}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leak_or_deadlock_with_no_task_alive_is_not_reported_as_one() {
        for kind in [FailureKind::Leak, FailureKind::Deadlock] {
            let f = build(Facts {
                name: "empty",
                checker: Checker::Replay,
                found_by: Some(Checker::Loom),
                execution: 3,
                kind,
                text: String::new(),
                replay: None,
                snapshot: Snapshot::default(),
                body_done: true,
                untracked: Untracked::default(),
            });
            assert_eq!(f.kind, FailureKind::Panic, "{}", f.report);
            assert!(!f.report.contains("goroutine leak"), "{}", f.report);
            assert!(!f.report.contains("0 task(s)"), "{}", f.report);
            assert!(f.report.contains("no task alive"), "{}", f.report);
        }
    }
}
