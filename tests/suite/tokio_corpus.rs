//! The tokio bug corpus (`models/src/tokio_corpus/`): at least eight real bugs, each with its
//! public report linked at the top of its file and a fixed twin, written in tokio's API; and
//! the buggy twins' reports in tokio's words. (Every verdict, under every checker each model
//! claims, is asserted by `models::every_model_reaches_its_expected_verdict_under_every_checker`.)

use harness::check::{Checker, FailureKind};
use models::{Expect, Options};

#[test]
fn eight_real_tokio_bugs_each_linked_written_in_tokio_api_and_fixed() {
    let all = models::tokio_corpus::models();
    let bugs: Vec<_> = all
        .iter()
        .filter(|m| matches!(m.expect, Expect::Fail(_)))
        .collect();
    assert!(bugs.len() >= 8, "{} tokio bugs", bugs.len());
    let kinds: Vec<FailureKind> = bugs
        .iter()
        .map(|m| match m.expect {
            Expect::Fail(kind) => kind,
            _ => unreachable!(),
        })
        .collect();
    for kind in [FailureKind::Leak, FailureKind::Deadlock, FailureKind::Panic] {
        assert!(kinds.contains(&kind), "no {kind} in the tokio corpus");
    }
    for bug in bugs {
        assert!(bug.name.starts_with("tokio/"), "{}", bug.name);
        let fixed = format!("{}-fixed", bug.name);
        let twin = all
            .iter()
            .find(|m| m.name == fixed)
            .unwrap_or_else(|| panic!("{} has no fixed twin", bug.name));
        assert_eq!(twin.expect, Expect::Pass);
        assert_eq!(twin.checkers, models::ALL_CHECKERS, "{fixed}");
        for c in [Checker::Loom, Checker::Shuttle, Checker::Pct] {
            assert!(bug.checkers.contains(&c), "{} does not claim {c}", bug.name);
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(bug.pattern);
        let src = std::fs::read_to_string(&path).unwrap();
        let header: String = src
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            header.contains("<https://"),
            "{}: the first comment links the report",
            bug.pattern
        );
        assert!(
            src.contains("\nuse harness::tokio;\n"),
            "{}: written against tokio's paths",
            bug.pattern
        );
        assert!(
            models::corpus::models().iter().any(|m| m.name == bug.name),
            "{} is in the corpus registry (`leakproof corpus`)",
            bug.name
        );
    }
}

#[test]
fn the_self_sending_actor_is_reported_as_a_leak_in_tokio_words() {
    let model = models::find("tokio/actor-self-sender").unwrap();
    let failure = model
        .check(Checker::Shuttle, &Options::default())
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Leak);
    let r = &failure.report;
    // tokio's word for it, not Go's.
    assert!(r.starts_with("leakproof: task leak in check"), "{r}");
    assert!(!r.contains("goroutine"), "{r}");
    assert!(r.contains("task 2 \"id-actor\" [mpsc recv]:"), "{r}");
    assert!(
        r.contains("on mpsc channel #1 (capacity 8, 0 queued) created at models/src/tokio_corpus/actor_self_sender.rs:"),
        "{r}"
    );
    // The sender the actor keeps was cloned by the body before it spawned the actor.
    assert!(
        r.contains("1 sender alive (created or cloned by task 0 \"main\")"),
        "{r}"
    );
    assert!(
        r.contains("created by task 0 \"main\" at models/src/tokio_corpus/actor_self_sender.rs:"),
        "{r}"
    );
}

#[test]
fn the_bounded_cycle_names_both_workers_stuck_sending() {
    let model = models::find("tokio/bounded-cycle").unwrap();
    let failure = model.check(Checker::Pct, &Options::default()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Deadlock);
    let r = &failure.report;
    for worker in ["\"w1\" [mpsc send]:", "\"w2\" [mpsc send]:"] {
        assert!(r.contains(worker), "{worker}:\n{r}");
    }
    assert!(r.contains("(capacity 1,"), "{r}");
}

#[test]
fn the_recursive_read_is_a_wait_for_cycle_through_the_rwlock() {
    let model = models::find("tokio/rwlock-recursive-read").unwrap();
    let failure = model.check(Checker::Loom, &Options::default()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Deadlock);
    let r = &failure.report;
    assert!(r.contains("wait-for cycle:"), "{r}");
    assert!(r.contains("\"updater\" [write]:"), "{r}");
    assert!(r.contains("rwlock #"), "{r}");
}

#[test]
fn the_lost_select_message_fails_the_consumers_check() {
    let model = models::find("tokio/select-send-lost").unwrap();
    let failure = model.check(Checker::Pct, &Options::default()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Panic);
    assert!(
        failure.report.contains("events lost in the relay"),
        "{}",
        failure.report
    );
}
