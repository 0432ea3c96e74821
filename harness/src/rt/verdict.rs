//! Verdicts: [`FailureKind`], what went wrong in a failing execution (re-exported as
//! `leakproof::check::FailureKind`), and [`Stop`], the one reader of the checkers' own
//! panics: loom and shuttle stop an execution by panicking with a message (a deadlock, a
//! step bound, a schedule that does not fit), and leakproof reads its verdict from that
//! message here and nowhere else.
//!
//! Every message recognised has a unit test below that makes loom or shuttle raise it for
//! real, so an upstream change of wording fails a test rather than a verdict.

use std::any::Any;
use std::fmt;

use super::panic::{message, FailureSignal};

/// What went wrong in a failing execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A task still alive, blocked forever, after the body returned (a goroutine leak).
    Leak,
    /// Every live task blocked, the body included, with nothing left to wake them.
    Deadlock,
    /// Two unsynchronised accesses to a `RaceCell`, at least one a write.
    Race,
    /// A task or the body panicked (an assertion of the model failed, say).
    Panic,
    /// A send on a channel after `close()` (Go panics there).
    ClosedSend,
    /// The checker's step bound was exceeded (shuttle's max steps, loom's branch limit).
    StepLimit,
    /// A poll held its OS thread longer than `LEAKPROOF_SLOW_POLL_MS` (a std `Mutex` held
    /// across `.await`, `std::thread::sleep` or blocking I/O in async code): the tokio
    /// checker's verdict, with the task's name and spawn site. Time the thread spent waiting
    /// for a CPU is not counted, so a loaded machine does not trip it. Polls are virtual under
    /// loom and shuttle, which never report it.
    BlockingInAsync,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::Leak => "leak",
            FailureKind::Deadlock => "deadlock",
            FailureKind::Race => "race",
            FailureKind::Panic => "panic",
            FailureKind::ClosedSend => "send on closed channel",
            FailureKind::StepLimit => "step limit exceeded",
            FailureKind::BlockingInAsync => "blocking in async",
        })
    }
}

/// What a panic that reached the checker is: the checker's own stop, or the code's panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// leakproof's own [`FailureSignal`]: the execution recorded its finding and stopped.
    Signal,
    /// loom or shuttle found every task blocked ("deadlock; threads = …",
    /// "deadlock! blocked tasks: …").
    Deadlock,
    /// loom's branch limit or shuttle's `max_steps` bound was exceeded.
    StepLimit,
    /// shuttle's replay scheduler found that the schedule it follows does not fit the
    /// execution (a stale replay token).
    ScheduleMismatch,
    /// shuttle's PCT scheduler refused to go on: an execution ran one task only.
    NoConcurrency,
    /// loom's causality check failed on one of its cells (a data race on a `RaceCell`).
    Causality,
    /// Any other panic: the code under test's own.
    Other,
}

impl Stop {
    /// Reads a panic payload.
    pub(crate) fn of(payload: &(dyn Any + Send)) -> Stop {
        if payload.is::<FailureSignal>() {
            return Stop::Signal;
        }
        Stop::of_message(&message(payload))
    }

    /// Reads a panic message.
    pub(crate) fn of_message(msg: &str) -> Stop {
        if msg.starts_with("deadlock") {
            Stop::Deadlock
        } else if msg.contains("Model exceeded maximum number of branches")
            || msg.contains("exceeded max_steps bound")
        {
            Stop::StepLimit
        } else if msg.contains("scheduled task is not runnable")
            || msg.contains("schedule ended early")
            || msg.contains("expected context switch but next schedule step is random choice")
            || msg.contains("expected random choice but next schedule step is context switch")
        {
            Stop::ScheduleMismatch
        } else if msg.contains("did not exercise any concurrency") {
            Stop::NoConcurrency
        } else if msg.starts_with("Causality violation") {
            Stop::Causality
        } else {
            Stop::Other
        }
    }

    /// Whether the panic is the checker's own stop rather than the code under test's: such
    /// a panic must keep unwinding to the checker, not be recorded as the task's panic.
    pub(crate) fn is_checker_panic(self) -> bool {
        matches!(
            self,
            Stop::Signal | Stop::Deadlock | Stop::StepLimit | Stop::ScheduleMismatch
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// The verdict on the panic `f` raises (it must raise one).
    fn stop_of(f: impl FnOnce()) -> (Stop, String) {
        let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the checker must panic");
        (Stop::of(&*payload), message(&*payload))
    }

    fn shuttle_config(max_steps: usize) -> shuttle::Config {
        let mut config = shuttle::Config::new();
        config.failure_persistence = shuttle::FailurePersistence::None;
        config.silence_warnings = true;
        config.max_steps = shuttle::MaxSteps::FailAfter(max_steps);
        config
    }

    fn shuttle_replay(
        schedule: shuttle::scheduler::Schedule,
        f: impl Fn() + Send + Sync + 'static,
    ) {
        let scheduler = shuttle::scheduler::ReplayScheduler::new_from_schedule(schedule);
        shuttle::Runner::new(scheduler, shuttle_config(1000)).run(f);
    }

    /// A body that needs a few context switches: it spawns a thread and joins it.
    fn spawn_and_join() {
        shuttle::thread::spawn(|| {}).join().unwrap();
    }

    #[test]
    fn the_failure_signal() {
        let (stop, _) = stop_of(|| std::panic::panic_any(FailureSignal));
        assert_eq!(stop, Stop::Signal);
        assert!(stop.is_checker_panic());
    }

    #[test]
    fn loom_deadlock() {
        let (stop, msg) = stop_of(|| loom::model(loom::thread::park));
        assert_eq!(stop, Stop::Deadlock, "{msg}");
        assert!(stop.is_checker_panic());
    }

    #[test]
    fn loom_branch_limit() {
        let (stop, msg) = stop_of(|| {
            let mut builder = loom::model::Builder::new();
            builder.max_branches = 3;
            builder.check(|| {
                // Leaked, with the thread's handle: loom objects dropped while loom's panic
                // unwinds would panic again.
                let a: &'static loom::sync::atomic::AtomicUsize =
                    Box::leak(Box::new(loom::sync::atomic::AtomicUsize::new(0)));
                std::mem::forget(loom::thread::spawn(move || {
                    for _ in 0..4 {
                        a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }));
                for _ in 0..4 {
                    a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        });
        assert_eq!(stop, Stop::StepLimit, "{msg}");
        assert!(stop.is_checker_panic());
    }

    #[test]
    fn loom_causality_violation() {
        let (stop, msg) = stop_of(|| {
            loom::model(|| {
                let cell = loom::sync::Arc::new(loom::cell::UnsafeCell::new(0));
                let other = cell.clone();
                let t = loom::thread::spawn(move || other.with_mut(|p| unsafe { *p = 1 }));
                cell.with_mut(|p| unsafe { *p = 2 });
                t.join().unwrap();
            })
        });
        assert_eq!(stop, Stop::Causality, "{msg}");
        assert!(!stop.is_checker_panic());
    }

    #[test]
    fn shuttle_deadlock() {
        let (stop, msg) = stop_of(|| {
            let scheduler = shuttle::scheduler::RandomScheduler::new(1);
            shuttle::Runner::new(scheduler, shuttle_config(1000)).run(shuttle::thread::park);
        });
        assert_eq!(stop, Stop::Deadlock, "{msg}");
    }

    #[test]
    fn shuttle_step_bound() {
        let (stop, msg) = stop_of(|| {
            let scheduler = shuttle::scheduler::RandomScheduler::new(1);
            shuttle::Runner::new(scheduler, shuttle_config(5)).run(|| loop {
                shuttle::thread::yield_now();
            });
        });
        assert_eq!(stop, Stop::StepLimit, "{msg}");
    }

    #[test]
    fn pct_without_concurrency() {
        let (stop, msg) = stop_of(|| {
            let scheduler = shuttle::scheduler::PctScheduler::new(2, 2);
            shuttle::Runner::new(scheduler, shuttle_config(1000)).run(|| {});
        });
        assert_eq!(stop, Stop::NoConcurrency, "{msg}");
        assert!(!stop.is_checker_panic());
    }

    #[test]
    fn replay_schedule_ended_early() {
        let schedule = shuttle::scheduler::Schedule::new_from_task_ids(0, [0usize]);
        let (stop, msg) = stop_of(|| shuttle_replay(schedule, spawn_and_join));
        assert_eq!(stop, Stop::ScheduleMismatch, "{msg}");
        assert!(msg.contains("schedule ended early"), "{msg}");
    }

    #[test]
    fn replay_task_not_runnable() {
        let schedule = shuttle::scheduler::Schedule::new_from_task_ids(0, [0usize, 7, 7, 7]);
        let (stop, msg) = stop_of(|| shuttle_replay(schedule, spawn_and_join));
        assert_eq!(stop, Stop::ScheduleMismatch, "{msg}");
        assert!(msg.contains("not runnable"), "{msg}");
    }

    #[test]
    fn replay_random_choice_instead_of_a_switch() {
        let mut schedule = shuttle::scheduler::Schedule::new(0);
        schedule.push_task(0usize.into());
        schedule.push_random();
        let (stop, msg) = stop_of(|| shuttle_replay(schedule, spawn_and_join));
        assert_eq!(stop, Stop::ScheduleMismatch, "{msg}");
        assert!(msg.contains("expected context switch"), "{msg}");
    }

    #[test]
    fn replay_switch_instead_of_a_random_choice() {
        let schedule = shuttle::scheduler::Schedule::new_from_task_ids(0, [0usize, 0, 0]);
        let (stop, msg) = stop_of(|| {
            shuttle_replay(schedule, || {
                shuttle::rand::RngCore::next_u64(&mut shuttle::rand::thread_rng());
            })
        });
        assert_eq!(stop, Stop::ScheduleMismatch, "{msg}");
        assert!(msg.contains("expected random choice"), "{msg}");
    }

    #[test]
    fn anything_else_is_the_code_under_tests() {
        let (stop, _) = stop_of(|| panic!("assertion failed: x == 1"));
        assert_eq!(stop, Stop::Other);
        assert!(!stop.is_checker_panic());
    }
}
