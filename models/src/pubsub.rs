//! Models of `patterns/src/pubsub.rs`: subscribers that stay receive every message in
//! order while another one leaves mid-stream; the twin's unsubscribe deadlocks with the
//! broker.

use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::context::Context;
use harness::{task, time};
use patterns::pubsub::Broker;

use harness::check::Checker;

use crate::{Expect, Model, Size, ALL_CHECKERS};

const SHUTTLE_PCT_TOKIO: &[Checker] = &[Checker::Shuttle, Checker::Pct, Checker::Tokio];

/// The publish/subscribe models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "pubsub",
            pattern: "patterns/src/pubsub.rs",
            summary: "1 (loom) or 2 subscribers stay and 1 leaves after its first message while 3 (loom) or 6 messages are published: the stayers get every message in order, the leaver its first, the broker shuts down cleanly",
            expect: Expect::Pass,
            // Not loom: loom reaches a false deadlock in the harness's select (a receive arm
            // misses a buffered value while the sender is parked in a select send; see the
            // ignored test in tests/channels.rs). Shuttle, PCT and tokio check it.
            checkers: SHUTTLE_PCT_TOKIO,
            run: stay_and_leave,
        },
        Model {
            name: "pubsub/unsubscribe-deadlock",
            pattern: "patterns/src/pubsub.rs",
            summary: "the leaver unsubscribes with a plain send while the broker blocks on its full buffer: each waits for the other",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: ALL_CHECKERS,
            run: unsubscribe_deadlock,
        },
    ]
}

/// `stayers` subscribers read until the broker closes them; one more, the leaver, reads one
/// message, takes a while to handle it, and unsubscribes (with the twin's plain send when
/// `blocking`). Every subscription has room for one message.
async fn scenario(stayers: usize, messages: u64, blocking: bool) {
    let (broker, running) = Broker::start(&Context::background(), 1);
    let mut readers = Vec::new();
    for i in 0..stayers {
        let sub = broker.subscribe().await.expect("the broker runs");
        readers.push(task::spawn_named(format!("stayer-{i}"), async move {
            let mut got = Vec::new();
            while let Some(m) = sub.recv().await {
                got.push(m);
            }
            got
        }));
    }
    let sub = broker.subscribe().await.expect("the broker runs");
    let leaver = task::spawn_named("leaver", async move {
        let first = sub.recv().await;
        time::sleep(Duration::from_millis(20)).await; // a slow handler
        if blocking {
            sub.unsubscribe_blocking().await;
        } else {
            sub.unsubscribe().await;
        }
        first
    });
    for m in 1..=messages {
        assert!(broker.publish(m).await, "the broker runs until shut down");
    }
    assert_eq!(
        leaver.await.unwrap(),
        Some(1),
        "the leaver gets the first message"
    );
    broker.shutdown().await;
    for r in readers {
        assert_eq!(
            r.await.unwrap(),
            (1..=messages).collect::<Vec<_>>(),
            "a subscriber that stays gets every message, in order"
        );
    }
    running.await.unwrap();
}

fn stay_and_leave(check: Check, size: Size) -> Result<Stats, Failure> {
    let (stayers, messages) = size.pick((1, 3), (2, 6));
    check.run(move || scenario(stayers, messages, false))
}

fn unsubscribe_deadlock(check: Check, size: Size) -> Result<Stats, Failure> {
    let (stayers, messages) = size.pick((1, 3), (2, 6));
    check.run(move || scenario(stayers, messages, true))
}
