//! Keeps shuttle's own stderr lines out of leakproof's output (for binaries that run checks:
//! the `leakproof` CLI, a user's own runner).
//!
//! shuttle prints a few lines with `eprintln!` whenever an execution fails, whatever its
//! configuration says; leakproof reports every failure itself (with a replay token), so these
//! lines only interleave noise with its reports. [`Filter::install`] points file descriptor 2
//! at a pipe and a thread copies every line from it to the real stderr except shuttle's;
//! the filter is removed, and everything still in the pipe copied, when it is dropped (also
//! while a panic unwinds). Only whole lines that start like one of shuttle's are dropped.
//! Install it once, at the start of `main`, before other threads run (it swaps descriptor 2
//! for the whole process), and leave it out while tracing (shuttle's lines belong to a trace).
//!
//! Under `cargo test`, libtest captures each test's output before it reaches descriptor 2 and
//! shows it only for a failing test; a test binary with `harness = false` can install the
//! filter in its `main` like any other binary.
//!
//! ```no_run
//! let _filter = leakproof::check::stderr::Filter::install();
//! // run checks: shuttle's own lines no longer reach stderr
//! ```

use std::sync::OnceLock;

/// How shuttle's unconditional lines start.
const SHUTTLE_LINES: &[&str] = &[
    "Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE",
    "test panicked in task '",
    "test panicked while dropping the tasks that were unfinished",
    "test panicked in a task that was still unwinding",
    "Task failed, serializing schedule",
];

/// Whether a line of stderr is one of shuttle's own.
pub fn is_shuttle_noise(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    SHUTTLE_LINES.iter().any(|p| line.starts_with(p))
        || (line.contains("more panics while dropping the tasks")
            && line.ends_with("were ignored\n"))
}

/// Whether the real stderr (not the filter's pipe) is a terminal.
static TERMINAL: OnceLock<bool> = OnceLock::new();

/// Whether leakproof's stderr is a terminal (asked before the filter took it over).
pub fn stderr_is_terminal() -> bool {
    *TERMINAL.get_or_init(|| std::io::IsTerminal::is_terminal(&std::io::stderr()))
}

#[cfg(unix)]
mod imp {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};
    use std::sync::{Mutex, OnceLock};
    use std::thread::JoinHandle;

    extern "C" {
        fn dup2(oldfd: i32, newfd: i32) -> i32;
    }

    /// The real stderr, while the filter holds file descriptor 2.
    static REAL: OnceLock<Mutex<File>> = OnceLock::new();

    /// The installed filter; dropping it puts stderr back.
    pub struct Filter {
        saved: OwnedFd,
        copier: Option<JoinHandle<()>>,
    }

    impl Filter {
        /// Installs the filter; `None` (and stderr left as it is) if the pipe cannot be made.
        pub fn install() -> Option<Filter> {
            super::stderr_is_terminal();
            let saved = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
            let out = File::from(saved.try_clone().ok()?);
            let (mut reader, writer) = std::io::pipe().ok()?;
            // SAFETY: dup2 on two open descriptors; no other thread runs yet.
            if unsafe { dup2(writer.as_raw_fd(), 2) } < 0 {
                return None;
            }
            drop(writer); // descriptor 2 is now the pipe's only write end
            let _ = REAL.set(Mutex::new(File::from(saved.try_clone().ok()?)));
            let copier = std::thread::spawn(move || {
                let mut out = out;
                let mut pending: Vec<u8> = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        if !super::is_shuttle_noise(&line) {
                            let _ = out.write_all(&line);
                        }
                    }
                }
                let _ = out.write_all(&pending);
                let _ = out.flush();
            });
            Some(Filter {
                saved,
                copier: Some(copier),
            })
        }
    }

    impl Drop for Filter {
        fn drop(&mut self) {
            let _ = std::io::stderr().flush();
            // Closing the pipe's write end (descriptor 2) lets the copier drain it and stop.
            // SAFETY: dup2 on two open descriptors.
            unsafe { dup2(self.saved.as_raw_fd(), 2) };
            if let Some(copier) = self.copier.take() {
                let _ = copier.join();
            }
        }
    }

    /// Writes a progress line (no newline) straight to the real stderr.
    pub fn progress(text: &str) {
        match REAL.get() {
            Some(real) => {
                let mut real = real.lock().unwrap_or_else(|e| e.into_inner());
                let _ = real.write_all(text.as_bytes());
                let _ = real.flush();
            }
            None => eprint!("{text}"),
        }
    }

    /// Writes `text` straight to the real stderr, past the filter and past the test
    /// harness's capture (for the watchdog's last words before the process ends).
    pub(crate) fn write_real(text: &str) {
        match REAL.get() {
            Some(_) => progress(text),
            None => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    /// No filter on this platform: shuttle's lines show.
    pub struct Filter;

    impl Filter {
        /// Does nothing here.
        pub fn install() -> Option<Filter> {
            None
        }
    }

    /// Writes a progress line (no newline) to stderr.
    pub fn progress(text: &str) {
        eprint!("{text}");
    }

    /// Writes `text` to stderr, past the test harness's capture.
    pub(crate) fn write_real(text: &str) {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

pub(crate) use imp::write_real;
pub use imp::{progress, Filter};
