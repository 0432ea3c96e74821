//! How long one poll held its thread: the wall time of the poll minus the time the thread
//! spent waiting for a CPU meanwhile, so that a loaded machine does not make a short poll look
//! long.
//!
//! The rule, shared by the leak check and the tokio checker of `Check`: a poll is slow when
//! `wall time − run-queue delay ≥ threshold`. What remains after the subtraction is the time the
//! thread was running the poll (computing) or blocked inside it (sleeping, waiting on a std
//! `Mutex`, blocking I/O): both hold the worker thread and stall every task queued on it. The
//! time the thread was ready to run but preempted by other processes is the machine's load,
//! not the code's, and is not counted.
//!
//! The run-queue delay is Linux's per-thread scheduler statistic (the second number of
//! `/proc/thread-self/schedstat`, read with one `pread`). Reading it costs a system call, too
//! much for every poll (it tripled a tracked channel round trip), so a mark reuses the
//! thread's last reading while it is under [`RESAMPLE`] old: the delay then subtracted may also
//! hold the waits of those few milliseconds before the poll, which can only make a poll look
//! shorter (a poll held just over the threshold may go unreported), never longer. Where it cannot be read (other
//! systems, a kernel without scheduler statistics) the rule falls back to wall time; the
//! threshold (`LEAKPROOF_SLOW_POLL_MS`) is then the only guard against load.

use std::time::{Duration, Instant};

/// The start of a poll: when it began and the thread's run-queue delay then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    at: Instant,
    run_delay: Option<u64>,
}

/// What [`Mark::held`] measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Held {
    /// The poll's wall time.
    pub wall: Duration,
    /// Of that, the time the thread waited for a CPU (zero where it is not known).
    pub waited_for_cpu: Duration,
}

impl Held {
    /// The time the poll held its thread: running or blocked, not waiting for a CPU.
    pub(crate) fn held(&self) -> Duration {
        self.wall.saturating_sub(self.waited_for_cpu)
    }
}

impl Held {
    /// What a report adds after the time held: ` (and 12 ms more waiting for a CPU, not
    /// counted)`, or nothing when the thread never waited; `fmt` writes a duration in the
    /// report's own style.
    pub(crate) fn cpu_note(&self, fmt: impl Fn(Duration) -> String) -> String {
        cpu_note(self.waited_for_cpu, fmt)
    }
}

/// See [`Held::cpu_note`].
pub(crate) fn cpu_note(waited_for_cpu: Duration, fmt: impl Fn(Duration) -> String) -> String {
    if waited_for_cpu.is_zero() {
        String::new()
    } else {
        format!(
            " (and {} more waiting for a CPU, not counted)",
            fmt(waited_for_cpu)
        )
    }
}

impl Mark {
    /// Marks the start of a poll on the calling thread.
    pub(crate) fn now() -> Mark {
        // In this order, and the reverse at the end, every wait for a CPU between the two
        // reads falls inside the wall time.
        let at = Instant::now();
        Mark {
            run_delay: recent_run_delay(at),
            at,
        }
    }

    /// When the poll began.
    #[cfg_attr(not(tokio_unstable), allow(dead_code))] // the leak check's poll hooks need the flag
    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    /// How long the poll begun at this mark held the thread, measured now (on the same
    /// thread). Cheap when the wall time is under `limit`: the statistic is read only when
    /// the wall time alone would make the poll slow.
    pub(crate) fn held(&self, limit: Duration) -> Held {
        let wall = self.at.elapsed();
        if wall < limit {
            return Held {
                wall,
                waited_for_cpu: Duration::ZERO,
            };
        }
        let end = run_delay();
        let wall = self.at.elapsed();
        let waited_for_cpu = match (self.run_delay, end) {
            (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)).min(wall),
            _ => Duration::ZERO,
        };
        Held {
            wall,
            waited_for_cpu,
        }
    }
}

/// How old the thread's last reading of its run-queue delay may be for a mark to reuse it.
const RESAMPLE: Duration = Duration::from_millis(10);

/// The thread's run-queue delay as read at most [`RESAMPLE`] before `at` (read again when
/// the last reading is older): never more than its value at `at`.
fn recent_run_delay(at: Instant) -> Option<u64> {
    use std::cell::Cell;

    thread_local! {
        /// This thread's last reading, and when it was taken.
        static LAST: Cell<Option<(Instant, Option<u64>)>> = const { Cell::new(None) };
    }
    LAST.try_with(|last| match last.get() {
        Some((taken, delay)) if at.saturating_duration_since(taken) < RESAMPLE => delay,
        _ => {
            let delay = run_delay();
            last.set(Some((at, delay)));
            delay
        }
    })
    .ok()
    .flatten()
}

#[cfg(target_os = "linux")]
fn run_delay() -> Option<u64> {
    use std::cell::RefCell;
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    thread_local! {
        /// This thread's `schedstat`, opened once (`None` inside: it cannot be read here).
        static SCHEDSTAT: RefCell<Option<Option<File>>> = const { RefCell::new(None) };
    }
    SCHEDSTAT
        .try_with(|s| {
            let mut s = s.borrow_mut();
            let file = s
                .get_or_insert_with(|| File::open("/proc/thread-self/schedstat").ok())
                .as_ref()?;
            let mut buf = [0u8; 96];
            let n = file.read_at(&mut buf, 0).ok()?;
            // "<ns on a CPU> <ns waiting on a run queue> <time slices>"
            std::str::from_utf8(&buf[..n])
                .ok()?
                .split_ascii_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .ok()
        .flatten()
}

#[cfg(not(target_os = "linux"))]
fn run_delay() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_is_held_time() {
        let mark = Mark::now();
        std::thread::sleep(Duration::from_millis(30));
        let h = mark.held(Duration::from_millis(1));
        // A sleeping thread is not waiting for a CPU: only the wake-up's wait (if any) is
        // subtracted, never the sleep itself.
        assert!(h.held() >= Duration::from_millis(30), "{h:?}");
        assert_eq!(h.held() + h.waited_for_cpu, h.wall, "{h:?}");
    }

    #[test]
    fn a_mark_reuses_a_recent_reading_and_reads_again_once_it_is_old() {
        std::thread::sleep(RESAMPLE); // what this thread read before (if anything) is old now
        let first = Mark::now(); // so this one reads
        let again = Mark::now();
        if again.at.duration_since(first.at) < RESAMPLE {
            assert_eq!(
                first.run_delay, again.run_delay,
                "read once within {RESAMPLE:?}"
            );
        }
        std::thread::sleep(RESAMPLE + Duration::from_millis(5));
        let later = Mark::now();
        // A fresh reading is never below an older one.
        assert!(later.run_delay >= first.run_delay);
        // A reused reading only makes the poll look shorter: held ≤ wall, never more.
        let h = first.held(Duration::ZERO);
        assert!(h.held() <= h.wall, "{h:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_run_queue_delay_is_read_on_linux() {
        // Scheduler statistics exist on every Linux this project runs on (CI, the dev machines).
        assert!(run_delay().is_some());
        let a = run_delay().unwrap();
        let b = run_delay().unwrap();
        assert!(b >= a);
    }
}
