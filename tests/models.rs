//! Every model under every checker it claims: each verdict must be the expected one, and the
//! buggy twins' reports must name what a developer needs to fix them.

use harness::check::{Checker, FailureKind};
use models::{Expect, Options};

#[test]
fn every_model_reaches_its_expected_verdict_under_every_checker() {
    let mut wrong = Vec::new();
    // Saved regressions replay before anything else, as proptest's regression files do.
    let dir = models::regressions::dir();
    for model in models::all() {
        match models::regressions::replay_saved(&dir, &model) {
            Ok(outcomes) => {
                for (saved, outcome) in outcomes {
                    let (line, ok) = models::regressions::describe(&model, &saved, &outcome);
                    eprintln!("saved regression: {line}");
                    if !ok {
                        wrong.push(line);
                    }
                }
            }
            Err(e) => wrong.push(e),
        }
    }
    for model in models::all() {
        for &checker in model.checkers {
            let result = model.check(checker, &Options::default());
            if !model.expect.matches(&result) {
                let got = match &result {
                    Ok(s) => format!("pass after {} executions", s.executions),
                    Err(f) => format!("{}:\n{}", f.kind, f.report),
                };
                wrong.push(format!(
                    "{} under {checker}: expected {}, got {got}",
                    model.name, model.expect
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected verdicts:\n{}",
        wrong.join("\n\n")
    );
}

#[test]
fn every_model_has_a_buggy_twin_or_is_one_and_names_are_unique() {
    let all = models::all();
    let mut names: Vec<_> = all.iter().map(|m| m.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len(), "model names must be unique");
    assert!(all.iter().any(|m| matches!(m.expect, Expect::Fail(_))));
    assert!(all.iter().any(|m| m.expect == Expect::Pass));
}

#[test]
fn leaky_first_wins_report_names_the_losers_their_spawn_site_and_the_send() {
    let model = models::find("fan-in/first-wins-leaky").unwrap();
    for checker in [
        Checker::Loom,
        Checker::Shuttle,
        Checker::Pct,
        Checker::Tokio,
    ] {
        let failure = model.check(checker, &Options::default()).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Leak, "{checker}");
        assert_eq!(failure.checker, checker);
        let r = &failure.report;
        assert!(r.contains("goroutine leak"), "{r}");
        assert!(r.contains("\"replica-"), "names a losing replica:\n{r}");
        assert!(
            r.contains("[chan send]"),
            "says it is stuck on a send:\n{r}"
        );
        assert!(
            r.contains("created by task 0 \"main\" at patterns/src/fan_in.rs:"),
            "gives the spawn site:\n{r}"
        );
        assert!(
            r.contains("blocked at patterns/src/fan_in.rs:"),
            "gives the send's site:\n{r}"
        );
        assert!(
            r.contains("(cap 0, len 0) created at patterns/src/fan_in.rs:"),
            "{r}"
        );
        assert!(r.contains("no live receiver will read it"), "{r}");
        assert!(
            !r.contains("task 0 \"main\" ["),
            "the body itself is not a leak:\n{r}"
        );
        match checker {
            Checker::Tokio => assert!(failure.replay.is_none()),
            _ => {
                let token = failure
                    .replay
                    .clone()
                    .expect("model checkers give a replay token");
                assert!(r.contains(&token));
                let again = model
                    .replay(harness::check::ReplayToken::parse(&token).unwrap())
                    .unwrap_err();
                assert_eq!(again.kind, FailureKind::Leak, "replaying {token}");
                assert_eq!(again.checker, Checker::Replay);
            }
        }
    }
}
