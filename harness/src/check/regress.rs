//! A check and its saved schedules: [`Check::run`](super::Check::run) replays the tokens saved
//! in the check's regressions file before any checker runs, then runs the checkers (or, with
//! `LEAKPROOF_HUNT`, hunts), and saves the replay token of a new failure to the file.
//!
//! The file is `leakproof-regressions/<check name>.txt` at the root of the crate whose test
//! runs the check (`CARGO_MANIFEST_DIR`), unless [`Check::regressions_dir`] says otherwise. The
//! rules are the models' (see [`saved`](super::saved)): a saved token that fails again fails
//! the check at once, before any checker, with the saved line named in the report; a token
//! that no longer fails, is stale or was recorded by another checker version is reported on
//! stderr and fails nothing.
//!
//! [`Check::regressions_dir`]: super::Check::regressions_dir

use std::path::PathBuf;

use super::saved::{self, Outcome};
use super::{hunt, Body, Check, Defaults, Failure, Stats};

/// Where a check's saved schedules are, and what it may do with them.
#[derive(Clone, Debug)]
pub(super) struct Policy {
    /// The folder of regressions files; None outside cargo with no folder chosen.
    pub dir: Option<PathBuf>,
    /// Replay the saved tokens first.
    pub replay: bool,
    /// Save the token of a new failure.
    pub save: bool,
}

impl Policy {
    /// The check's choices and the environment (`LEAKPROOF_SAVE_REGRESSIONS`,
    /// `LEAKPROOF_REPLAY_REGRESSIONS`, `CARGO_MANIFEST_DIR`).
    fn resolve(check: &Check) -> Policy {
        Policy {
            dir: check.regressions_dir.clone().or_else(saved::user_dir),
            replay: saved::replaying_allowed(),
            save: check.save_regressions && saved::saving_allowed(),
        }
    }
}

/// [`Check::run`](super::Check::run) after the panic hook is in place.
pub(super) fn run(check: Check, body: Body) -> Result<Stats, Failure> {
    if check.replay.is_some() {
        // One execution asked for by token: nothing saved is replayed, nothing is saved.
        return check.run_checkers(body);
    }
    let policy = Policy::resolve(&check);
    run_with(check, body, &policy, hunt::from_env().as_ref())
}

/// Saved tokens first, then the checkers or a hunt, then saving what failed.
pub(super) fn run_with(
    check: Check,
    body: Body,
    policy: &Policy,
    hunting: Option<&hunt::HuntEnv>,
) -> Result<Stats, Failure> {
    let dir = policy.dir.as_ref().filter(|_| policy.replay || policy.save);
    let file = dir.map(|d| saved::file_in(d, &check.name));
    if let Some(file) = &file {
        if let Err(e) = saved::claim(file, &check.name, check.site) {
            panic!("leakproof: {e}");
        }
    }
    if let (Some(file), true) = (&file, policy.replay) {
        let list = saved::load(file).unwrap_or_else(|e| panic!("leakproof: {e}"));
        for s in &list {
            let at = format!("{}:{}", saved::shown(file).display(), s.line);
            let outcome = saved::replay_one(s, |token| {
                check.clone().replay_token(token).run_checkers(body.clone())
            });
            match outcome {
                Outcome::Reproduced(mut f) => {
                    f.report = format!(
                        "leakproof: the saved schedule {at} ({}) fails again, replayed before any checker ran\n{}",
                        s.kind.map(saved::kind_name).unwrap_or("kind not saved"),
                        f.report
                    );
                    return Err(f);
                }
                Outcome::FailsDifferently { saved, now } => {
                    let mut f = now;
                    f.report = format!(
                        "leakproof: the saved schedule {at} (saved as {}) now fails with {}, replayed before any checker ran\n{}",
                        saved.map(saved::kind_name).unwrap_or("?"),
                        saved::kind_name(f.kind),
                        f.report
                    );
                    return Err(f);
                }
                Outcome::Fixed => hunt::say(&format!(
                    "leakproof: check \"{}\": the saved schedule {at} no longer fails: fixed \
                     (remove the line once the fix is kept)",
                    check.name
                )),
                Outcome::Refused(why) => hunt::say(&format!(
                    "leakproof: check \"{}\": the saved schedule {at} is not replayed: {why}",
                    check.name
                )),
                Outcome::Stale(e) => hunt::say(&format!(
                    "leakproof: check \"{}\": the saved schedule {at} is stale: {e}; \
                     it fails nothing (remove the line, or hunt a fresh one with LEAKPROOF_HUNT)",
                    check.name
                )),
                Outcome::Corrupt(why) => panic!(
                    "leakproof: {at} is not a saved schedule: {why}; correct or delete the line"
                ),
            }
        }
    }
    let result = match hunting {
        Some(env) => {
            let base = check.seed.unwrap_or_else(|| Defaults::from_env().seed);
            hunt::hunt(&check, body, env, base)
        }
        None => check.clone().run_checkers(body),
    };
    let Err(mut f) = result else { return result };
    let savable = f
        .replay
        .as_deref()
        .is_some_and(|t| !t.starts_with("lp1:loom-file:"));
    if let (Some(dir), true, true) = (&policy.dir, policy.save, savable) {
        match saved::save(dir, &check.name, "check", &f) {
            Ok(path) => f.report.push_str(&format!(
                "\nsaved to {}: replayed first from now on (LEAKPROOF_SAVE_REGRESSIONS=0 or \
                 Check::save_regressions(false) turns saving off)\n",
                saved::shown(&path).display()
            )),
            Err(e) => f.report.push_str(&format!(
                "\ncould not save the schedule to {}: {e}\n",
                saved::shown(dir).display()
            )),
        }
    }
    Err(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{body, Checker, FailureKind};
    use crate::{chan, task};

    async fn leaky() {
        let (tx, rx) = chan::bounded::<u8>(0);
        task::spawn_named("stuck", async move {
            let _ = tx.send(1).await;
        });
        std::mem::forget(rx);
    }

    #[test]
    fn a_failure_is_saved_then_replayed_first() {
        let dir = std::env::temp_dir().join(format!("lp-regress-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let policy = Policy {
            dir: Some(dir.clone()),
            replay: true,
            save: true,
        };
        let check = || Check::new("regress/leaky").shuttle(50);
        let first = run_with(check(), body(leaky), &policy, None).unwrap_err();
        assert_eq!(first.kind, FailureKind::Leak);
        assert_eq!(first.checker, Checker::Shuttle);
        let file = saved::file_in(&dir, "regress/leaky");
        assert!(first.report.contains("saved to"), "{first}");
        let lines = saved::load(&file).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(Some(lines[0].token.as_str()), first.replay.as_deref());
        // The next run replays it before any checker: the replay checker reports it.
        let again = run_with(check(), body(leaky), &policy, None).unwrap_err();
        assert_eq!(again.checker, Checker::Replay, "{again}");
        assert!(again.report.contains("fails again"), "{again}");
        assert!(again.report.contains("regress__leaky.txt:2"), "{again}");
        assert_eq!(saved::load(&file).unwrap().len(), 1);
        // A fixed body passes: the saved token no longer fails, and the checkers run.
        let fixed = run_with(check(), body(|| async {}), &policy, None).unwrap();
        assert_eq!(fixed.executions, 50);
        // Saving off: a failure found by the checkers leaves the file as it was.
        let off = Policy {
            save: false,
            ..policy.clone()
        };
        let other = run_with(
            Check::new("regress/unsaved").shuttle(50),
            body(leaky),
            &off,
            None,
        )
        .unwrap_err();
        assert!(!other.report.contains("saved to"), "{other}");
        assert!(!saved::file_in(&dir, "regress/unsaved").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
