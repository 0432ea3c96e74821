//! Saved regressions of the models: failing schedules kept in `models/regressions/<model>.txt`, one
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

use std::path::{Path, PathBuf};

use harness::check::saved;
pub use harness::check::saved::{
    file_in, kind_name, load, mark, needs_refresh, remove_lines, shown, Outcome, Saved,
    LOOM_VERSION, SHUTTLE_VERSION,
};
use harness::check::Failure;

use crate::Model;

/// Where regressions files live: `$LEAKPROOF_REGRESSIONS`, else `models/regressions`.
pub fn dir() -> PathBuf {
    match std::env::var_os("LEAKPROOF_REGRESSIONS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions"),
    }
}

/// Appends a failure's token to the model's file in `dir` (unless it is there already) and
/// returns the file's path.
pub fn save(dir: &Path, model: &str, failure: &Failure) -> std::io::Result<PathBuf> {
    saved::save(dir, model, "model", failure)
}

/// Replays one saved token on a model.
pub fn replay_one(model: &Model, saved: &Saved) -> Outcome {
    saved::replay_one(saved, |token| model.replay(token))
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
