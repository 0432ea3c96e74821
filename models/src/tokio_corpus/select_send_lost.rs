//! A `select!` loop cancels a receive-then-send future after the receive: the message it
//! held is lost. tokio#5947, <https://github.com/tokio-rs/tokio/pull/5947> ("sync: improve
//! cancel-safety documentation for mpsc::Sender::send"): "This specific issue (data loss
//! because a send got cancelled) has bitten our team a couple of times over the last few
//! months. We've switched to recommending this kind of reserve pattern instead."
//!
//! tokio's `select!` drops every branch future that did not complete. `Receiver::recv` is
//! cancel-safe (a message is either returned or left in the channel), and so is a bare
//! `Sender::send` (cancelled, it sent nothing) — but the message moved into that `send` is
//! dropped with it. Here a relay forwards events from an upstream channel to a slow
//! downstream consumer and beats a heartbeat while idle; its forwarding step, `forward_one`,
//! receives an event and sends it on. When the heartbeat fires while `forward_one` waits for
//! room downstream, the future is dropped with the event inside: the consumer never gets it,
//! and its check that every event arrived fails.
//!
//! The fix keeps only cancel-safe operations in the `select!`: the branch receives (which
//! holds nothing when cancelled), and the handler sends, outside the race.

use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::mpsc;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The select-send-lost models: the receive-and-send future raced, and the receive alone.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/select-send-lost",
            pattern: "models/src/tokio_corpus/select_send_lost.rs",
            summary: "a heartbeat wins the select! while forward_one waits to send on: the event it received is dropped",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/select-send-lost-fixed",
            pattern: "models/src/tokio_corpus/select_send_lost.rs",
            summary: "the select! only receives; the handler sends: a heartbeat never drops an event",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

const HEARTBEAT: Duration = Duration::from_millis(20);
/// Heartbeats per relay run (each a new timer that may fire at any moment in the models).
const MAX_BEATS: u32 = 2;

/// Receives one event and forwards it; false once upstream is closed (or downstream gone).
async fn forward_one(upstream: &mut mpsc::Receiver<u32>, downstream: &mpsc::Sender<u32>) -> bool {
    match upstream.recv().await {
        Some(event) => downstream.send(event).await.is_ok(),
        None => false,
    }
}

/// As shipped: the whole receive-and-send step is a `select!` branch.
async fn relay(mut upstream: mpsc::Receiver<u32>, downstream: mpsc::Sender<u32>) -> u32 {
    let mut beats = 0;
    loop {
        tokio::select! {
            more = forward_one(&mut upstream, &downstream) => {
                if !more {
                    break;
                }
            }
            _ = tokio::time::sleep(HEARTBEAT), if beats < MAX_BEATS => beats += 1,
        }
    }
    beats
}

/// Fixed: only the receive races the heartbeat.
async fn relay_fixed(mut upstream: mpsc::Receiver<u32>, downstream: mpsc::Sender<u32>) -> u32 {
    let mut beats = 0;
    loop {
        tokio::select! {
            event = upstream.recv() => match event {
                Some(event) => {
                    if downstream.send(event).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep(HEARTBEAT), if beats < MAX_BEATS => beats += 1,
        }
    }
    beats
}

fn scenario(check: Check, size: Size, fixed: bool) -> Result<Stats, Failure> {
    let events = size.pick(2, 3);
    check.run(move || async move {
        let (up_tx, up_rx) = mpsc::channel(1);
        let (down_tx, mut down_rx) = mpsc::channel(1);
        let producer = tokio::task::Builder::new()
            .name("producer")
            .spawn(async move {
                for event in 1..=events {
                    up_tx.send(event).await.expect("the relay is gone");
                }
            })
            .expect("spawn the producer");
        let consumer = tokio::task::Builder::new()
            .name("consumer")
            .spawn(async move {
                let mut got = Vec::new();
                while let Some(event) = down_rx.recv().await {
                    got.push(event);
                }
                got
            })
            .expect("spawn the consumer");
        if fixed {
            relay_fixed(up_rx, down_tx).await;
        } else {
            relay(up_rx, down_tx).await;
        }
        producer.await.unwrap();
        let got = consumer.await.unwrap();
        assert_eq!(
            got,
            (1..=events).collect::<Vec<_>>(),
            "events lost in the relay"
        );
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
