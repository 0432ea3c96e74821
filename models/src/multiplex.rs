//! Models of `patterns/src/multiplex.rs`: the event loop handles every message, sends its
//! heartbeats and stops on cancel with its ticker task; the twin leaves its ticker task
//! ticking.

use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::context::{Context, ContextError};
use harness::time;
use harness::{chan, task, track};
use patterns::multiplex::{multiplex, multiplex_leaky, Stop};

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The multiplexer models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "multiplex",
            pattern: "patterns/src/multiplex.rs",
            summary: "send 2 (loom) or 5 messages, wait for a heartbeat, cancel: every message handled in order, heartbeats numbered 1..n, stops with Canceled and leaves no task",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: handles_beats_and_stops,
        },
        Model {
            name: "multiplex/ticker-leak",
            pattern: "patterns/src/multiplex.rs",
            summary: "the same loop returning on cancel without stopping its ticker task, which ticks on for ever",
            expect: Expect::Fail(FailureKind::Leak),
            checkers: ALL_CHECKERS,
            run: ticker_left_running,
        },
    ]
}

/// The scenario, with the correct loop (`leaky` false) or its twin. The twin's run does not
/// check for live tasks itself: finding the one left behind is leakproof's job.
async fn scenario(messages: u64, leaky: bool) {
    let (ctx, cancel) = Context::background().with_cancel();
    let (inbox_tx, inbox) = chan::bounded::<u64>(0);
    let (beats_tx, beats) = chan::unbounded::<u64>();
    let period = Duration::from_millis(2);
    let looper = task::spawn_named("multiplexer", async move {
        let mut handled = Vec::new();
        let summary = if leaky {
            multiplex_leaky(&ctx, inbox, beats_tx, period, |m| handled.push(m)).await
        } else {
            multiplex(&ctx, inbox, beats_tx, period, |m| handled.push(m)).await
        };
        (summary, handled)
    });
    for m in 1..=messages {
        inbox_tx
            .send(m)
            .await
            .expect("the loop reads its inbox until cancelled");
    }
    assert_eq!(
        beats.recv().await,
        Some(1),
        "the first heartbeat is number 1"
    );
    cancel.cancel();
    let (summary, handled) = looper.await.expect("the loop does not panic");
    assert_eq!(summary.stopped, Stop::Context(ContextError::Canceled));
    assert_eq!(
        handled,
        (1..=messages).collect::<Vec<_>>(),
        "every message, in order"
    );
    assert_eq!(summary.handled, handled.len());
    let mut got = vec![1];
    while let Ok(b) = beats.try_recv() {
        got.push(b);
    }
    assert_eq!(
        got,
        (1..=summary.beats).collect::<Vec<_>>(),
        "every heartbeat sent arrives, numbered"
    );
    if time::is_virtual() {
        assert!(
            summary.beats <= 3,
            "a ticker fires at most 3 times in a model: {summary:?}"
        );
    }
    if !leaky {
        let live: Vec<String> = track::snapshot()
            .live_tasks()
            .filter(|t| t.id != 0)
            .map(|t| format!("task {} {:?}", t.id, t.name))
            .collect();
        assert!(
            live.is_empty(),
            "still alive after the loop stopped: {live:?}"
        );
    }
}

fn handles_beats_and_stops(check: Check, size: Size) -> Result<Stats, Failure> {
    let messages = size.pick(2, 5);
    check.run(move || scenario(messages, false))
}

fn ticker_left_running(check: Check, size: Size) -> Result<Stats, Failure> {
    let messages = size.pick(1, 3);
    check.run(move || scenario(messages, true))
}
