//! Task dumps for the leak report: tokio's `Handle::dump` (its `taskdump` feature, Linux on
//! x86, x86_64, aarch64 and s390x, with `--cfg tokio_unstable`) gives each live task's
//! backtrace at its last yield point; the report keeps the frames of the user's own code.
//!
//! leakproof turns it on with its own `taskdump` feature (off by default, so that other systems
//! build). Elsewhere, or without the feature, [`dump`] returns nothing and the report says how
//! to get dumps.
//!
//! A frame is the user's own when its file is neither in the Rust standard library (`/rustc/…`,
//! a toolchain's `library/`) nor in a dependency fetched by cargo (`.cargo/registry`,
//! `.cargo/git`), nor leakproof's own leak check: what is left is the test's crate and the
//! workspace around it.

// The frame helpers below serve only builds that take dumps (and the unit tests).
#![cfg_attr(
    not(all(
        feature = "taskdump",
        tokio_unstable,
        target_os = "linux",
        any(
            target_arch = "aarch64",
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "s390x"
        )
    )),
    allow(dead_code)
)]

use std::collections::HashMap;
use std::time::Duration;

/// Whether this build takes task dumps for leak reports (re-exported as
/// `leakproof::leakcheck::TASK_DUMPS`): leakproof's `taskdump` feature, `--cfg tokio_unstable`,
/// and Linux on x86, x86_64, aarch64 or s390x, where tokio builds `Handle::dump`.
///
/// ```
/// // A test asserting a dump's frames runs them only where dumps exist.
/// if leakproof::leakcheck::TASK_DUMPS {
///     assert!(cfg!(target_os = "linux"));
/// }
/// ```
pub const AVAILABLE: bool = cfg!(all(
    feature = "taskdump",
    tokio_unstable,
    target_os = "linux",
    any(
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "s390x"
    )
));

/// What the dump found for the tasks asked about.
#[derive(Default)]
pub(crate) struct Dumps {
    /// Each task's own frames, innermost first, by tokio task id.
    pub frames: HashMap<u64, Vec<String>>,
    /// Why there are no dumps, when a dump was tried and failed.
    pub failed: Option<String>,
}

/// Whether `file` is the user's own code (see the module docs).
pub(crate) fn is_users_file(file: &str) -> bool {
    let file = file.replace('\\', "/");
    let foreign = [
        "/rustc/",
        "/.cargo/registry/",
        "/.cargo/git/",
        "/lib/rustlib/",
        "/library/core/",
        "/library/std/",
        "/library/alloc/",
        "harness/src/leakcheck/",
    ];
    !foreign.iter().any(|f| file.contains(f))
}

/// A symbol's name without its trailing hash (`::h0123456789abcdef`).
pub(crate) fn clean_symbol(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

#[cfg(all(
    feature = "taskdump",
    tokio_unstable,
    target_os = "linux",
    any(
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "s390x"
    )
))]
pub(crate) async fn dump(ids: &[u64], limit: Duration) -> Dumps {
    let handle = tokio::runtime::Handle::current();
    // tokio's dump waits for every worker to pause: one stuck in a poll would keep it waiting.
    let dump = match tokio::time::timeout(limit, handle.dump()).await {
        Ok(d) => d,
        Err(_) => {
            return Dumps {
                frames: HashMap::new(),
                failed: Some(format!(
                    "no task dump: tokio's dump did not finish within {limit:?} (a worker \
                     thread is blocked inside a poll)"
                )),
            }
        }
    };
    let mut frames = HashMap::new();
    for task in dump.tasks().iter() {
        let id: u64 = task.id().to_string().parse().unwrap_or(0);
        if !ids.contains(&id) {
            continue;
        }
        let mut own = Vec::new();
        for bt in task.trace().resolve_backtraces() {
            for frame in bt.frames() {
                for sym in frame.symbols() {
                    let Some(file) = sym.filename() else { continue };
                    let file = file.to_string_lossy();
                    if !is_users_file(&file) {
                        continue;
                    }
                    let name = sym
                        .name_demangled()
                        .map(clean_symbol)
                        .unwrap_or("<unknown>");
                    let line = match (sym.lineno(), sym.colno()) {
                        (Some(l), Some(c)) => format!("{name} at {}:{l}:{c}", shorten(&file)),
                        (Some(l), None) => format!("{name} at {}:{l}", shorten(&file)),
                        _ => format!("{name} at {}", shorten(&file)),
                    };
                    if !own.contains(&line) {
                        own.push(line);
                    }
                }
            }
        }
        frames.insert(id, own);
    }
    Dumps {
        frames,
        failed: None,
    }
}

#[cfg(not(all(
    feature = "taskdump",
    tokio_unstable,
    target_os = "linux",
    any(
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "s390x"
    )
)))]
pub(crate) async fn dump(_ids: &[u64], _limit: Duration) -> Dumps {
    Dumps::default()
}

/// A file's path relative to the current directory (the package under test), when it is
/// inside it.
fn shorten(file: &str) -> String {
    if let Ok(dir) = std::env::current_dir() {
        if let Ok(rel) = std::path::Path::new(file).strip_prefix(&dir) {
            return rel.display().to_string();
        }
    }
    file.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_frames_are_kept_and_the_rest_trimmed() {
        assert!(is_users_file("tests/leakcheck.rs"));
        assert!(is_users_file("/home/me/project/src/server.rs"));
        assert!(!is_users_file(
            "/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/sync/oneshot.rs"
        ));
        assert!(!is_users_file(
            "/rustc/4a4ef493e3a1488c6e321570238084b38948f6db/library/core/src/future/future.rs"
        ));
        assert!(!is_users_file(
            "/work/project/harness/src/leakcheck/runtime.rs"
        ));
    }

    #[test]
    fn symbol_hashes_are_dropped() {
        assert_eq!(
            clean_symbol("leakcheck::named_task::{{closure}}::h0123456789abcdef"),
            "leakcheck::named_task::{{closure}}"
        );
        assert_eq!(clean_symbol("a::hb"), "a::hb");
    }
}
