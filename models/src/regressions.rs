//! Saved regressions: failing schedules kept in `models/regressions/<model>.txt`, one
//! replay token per line with the failure kind and the checker's version as a comment,
//! replayed before anything else runs (as proptest does with its regression files).
//!
//! ```text
//! # leakproof regressions of model fan-in/first-wins-leaky: one replay token per line.
//! lp1:shuttle:910226a43d8004c8004d0ba04808222101000000  # leak; shuttle 0.9.10
//! ```
//!
//! A shuttle schedule is only meaningful to the shuttle version that recorded it, so a token
//! saved under another version is refused rather than replayed wrongly.
//!
//! A token can also go *stale*: a change to the model or to the harness's scheduling steps
//! makes its schedule stop fitting the execution (shuttle: "scheduled task is not runnable";
//! loom: the execution it names no longer exists). A stale token is reported as such, with
//! the command that replaces it (`leakproof hunt --refresh MODEL`), and fails nothing: only a
//! real regression does (the token replays and fails differently, or a saved bug no longer
//! fails while the model expects it to).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use harness::check::{catch_replay_error, Failure, FailureKind, ReplayError, ReplayToken};

use crate::Model;

/// The shuttle version this build replays schedules with (pinned in Cargo.lock).
pub const SHUTTLE_VERSION: &str = "0.9.10";
/// The loom version this build explores with (pinned in Cargo.lock).
pub const LOOM_VERSION: &str = "0.7.3";

/// A token read from a regressions file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The replay token.
    pub token: String,
    /// The failure kind it was saved with.
    pub kind: Option<FailureKind>,
    /// `shuttle 0.9.10` or `loom 0.7.3`: the checker that recorded it.
    pub version: String,
    /// 1-based line in the file.
    pub line: usize,
}

/// What replaying a saved token gave.
#[derive(Debug)]
pub enum Outcome {
    /// It fails as it was saved.
    Reproduced(Failure),
    /// It fails, but with another kind than the one saved.
    FailsDifferently {
        /// The kind saved with it.
        saved: Option<FailureKind>,
        /// The failure now.
        now: Failure,
    },
    /// It no longer fails: the bug it recorded is fixed.
    Fixed,
    /// Recorded by another checker version: not replayed.
    Refused(String),
    /// The token no longer replays on this model: its schedule does not fit the execution
    /// any more, or the execution it names does not exist. Hunt a fresh one.
    Stale(ReplayError),
    /// The line is not a valid token.
    Corrupt(String),
}

/// Where regressions files live: `$LEAKPROOF_REGRESSIONS`, else `models/regressions`.
pub fn dir() -> PathBuf {
    match std::env::var_os("LEAKPROOF_REGRESSIONS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions"),
    }
}

/// The regressions file of a model in `dir` (`/` in names becomes `__`).
pub fn file_in(dir: &Path, model: &str) -> PathBuf {
    dir.join(format!("{}.txt", model.replace('/', "__")))
}

fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Leak => "leak",
        FailureKind::Deadlock => "deadlock",
        FailureKind::Race => "race",
        FailureKind::Panic => "panic",
        FailureKind::ClosedSend => "closed-send",
        FailureKind::StepLimit => "step-limit",
    }
}

fn parse_kind(s: &str) -> Option<FailureKind> {
    [
        FailureKind::Leak,
        FailureKind::Deadlock,
        FailureKind::Race,
        FailureKind::Panic,
        FailureKind::ClosedSend,
        FailureKind::StepLimit,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == s.trim())
}

fn version_of(token: &str) -> String {
    if token.starts_with("lp1:loom:") {
        format!("loom {LOOM_VERSION}")
    } else {
        format!("shuttle {SHUTTLE_VERSION}")
    }
}

/// Reads a regressions file; a missing file has no tokens.
pub fn load(path: &Path) -> Result<Vec<Saved>, String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line_no = i + 1;
            let (token, comment) = match line.split_once('#') {
                Some((t, c)) => (t.trim(), c.trim()),
                None => (line.trim(), ""),
            };
            if token.is_empty() {
                return None;
            }
            let (kind, version) = match comment.split_once(';') {
                Some((k, v)) => (parse_kind(k), v.trim().to_string()),
                None => (None, String::new()),
            };
            Some(Saved {
                token: token.to_string(),
                kind,
                version,
                line: line_no,
            })
        })
        .collect())
}

/// Appends a failure's token to the model's file in `dir` (unless it is there already) and
/// returns the file's path.
pub fn save(dir: &Path, model: &str, failure: &Failure) -> std::io::Result<PathBuf> {
    let token = failure.replay.as_deref().ok_or_else(|| {
        std::io::Error::other(format!(
            "a {} failure has no replay token to save",
            failure.checker
        ))
    })?;
    fs::create_dir_all(dir)?;
    let path = file_in(dir, model);
    let existing = load(&path).map_err(std::io::Error::other)?;
    if existing.iter().any(|s| s.token == token) {
        return Ok(path);
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    if existing.is_empty() && file.metadata()?.len() == 0 {
        writeln!(
            file,
            "# leakproof regressions of model {model}: one replay token per line, replayed before every check."
        )?;
    }
    writeln!(
        file,
        "{token}  # {}; {}",
        kind_name(failure.kind),
        version_of(token)
    )?;
    file.sync_all()?;
    Ok(path)
}

/// A path as a person at the current directory would type it (relative when inside it).
pub fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Replays one saved token on a model.
pub fn replay_one(model: &Model, saved: &Saved) -> Outcome {
    let token = match ReplayToken::parse(&saved.token) {
        Ok(t) => t,
        Err(e) => return Outcome::Corrupt(e.to_string()),
    };
    let ours = version_of(&saved.token);
    if !saved.version.is_empty() && saved.version != ours {
        return Outcome::Refused(format!(
            "recorded with {}, this build replays with {ours}: schedules do not carry over between versions; \
             hunt again to record a new one",
            saved.version
        ));
    }
    let result = match catch_replay_error(|| model.replay(token)) {
        Ok(result) => result,
        Err(e) => return Outcome::Stale(e),
    };
    match result {
        Ok(_) => Outcome::Fixed,
        Err(f) if Some(f.kind) == saved.kind || saved.kind.is_none() => Outcome::Reproduced(f),
        Err(f) => Outcome::FailsDifferently {
            saved: saved.kind,
            now: f,
        },
    }
}

/// Replays every token saved for a model in `dir`, in file order.
pub fn replay_saved(dir: &Path, model: &Model) -> Result<Vec<(Saved, Outcome)>, String> {
    let saved = load(&file_in(dir, model.name))?;
    Ok(saved
        .into_iter()
        .map(|s| {
            let outcome = replay_one(model, &s);
            (s, outcome)
        })
        .collect())
}

/// One line describing an outcome, and whether it is acceptable for the model's expectation.
pub fn describe(model: &Model, saved: &Saved, outcome: &Outcome) -> (String, bool) {
    let at = format!(
        "{}:{}",
        shown(&file_in(&dir(), model.name)).display(),
        saved.line
    );
    match outcome {
        Outcome::Reproduced(f) => {
            let ok = model.expect.matches(&Err(f.clone()));
            let what = if ok {
                "still fails as expected"
            } else {
                "still fails"
            };
            (format!("{at}: {what} ({})", f.kind), ok)
        }
        Outcome::FailsDifferently { saved, now } => (
            format!(
                "{at}: saved as {}, now fails with {}:\n{}",
                saved.map(kind_name).unwrap_or("?"),
                kind_name(now.kind),
                now.report
            ),
            false,
        ),
        Outcome::Fixed => (
            format!("{at}: no longer fails: fixed (remove the line once the fix is kept)"),
            model.expect == crate::Expect::Pass,
        ),
        Outcome::Refused(why) => (format!("{at}: refused: {why}"), true),
        Outcome::Stale(e) => (
            format!(
                "{at}: stale: {e}\n    replace it with a fresh one: cargo run --release -- hunt --refresh {}",
                model.name
            ),
            true,
        ),
        Outcome::Corrupt(why) => (format!("{at}: {why}"), false),
    }
}

/// A short word for how a saved token fared, for the `saved regression <word>:` lines.
pub fn mark(outcome: &Outcome, ok: bool) -> &'static str {
    match outcome {
        Outcome::Stale(_) => "STALE",
        Outcome::Refused(_) => "refused",
        _ if ok => "ok",
        _ => "UNEXPECTED",
    }
}

/// Whether a saved token can no longer be replayed by this build (stale, or recorded by
/// another checker version): `hunt --refresh` replaces such tokens.
pub fn needs_refresh(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Stale(_) | Outcome::Refused(_))
}

/// Removes the given lines (1-based) from the model's regressions file in `dir`, keeping
/// every other line (comments included) as it was.
pub fn remove_lines(dir: &Path, model: &str, lines: &[usize]) -> std::io::Result<()> {
    let path = file_in(dir, model);
    let text = fs::read_to_string(&path)?;
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| !lines.contains(&(i + 1)))
        .map(|(_, l)| l)
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    fs::write(&path, out)
}
