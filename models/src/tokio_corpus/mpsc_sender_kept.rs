//! The task draining a channel still holds a `Sender` of it, so `recv()` never returns
//! `None`: tokio#1761, <https://github.com/tokio-rs/tokio/issues/1761> ("tokio::mpsc
//! deadlocking myself").
//!
//! The report's orchestrator creates a channel, hands clones of the sender to producer
//! tasks, and drains the receiver with `while let Some(value) = rx.recv().await` until there
//! is "nothing left". The producers finish and drop their clones, but the orchestrator still
//! owns the original `tx`: the channel never closes, `recv()` waits forever, and since the
//! producers are done nothing else runs.
//!
//! The fix, as the maintainers answered: drop the orchestrator's own sender before draining
//! (here: move it into the last producer).

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::mpsc;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The mpsc-sender-kept models: the orchestrator keeping its sender, and dropping it.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/mpsc-sender-kept",
            pattern: "models/src/tokio_corpus/mpsc_sender_kept.rs",
            summary: "the orchestrator drains the channel while still holding its own Sender: recv() never returns None",
            expect: Expect::Fail(FailureKind::Deadlock),
            // Every run: the orchestrator's sender is alive whatever the interleaving.
            checkers: ALL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/mpsc-sender-kept-fixed",
            pattern: "models/src/tokio_corpus/mpsc_sender_kept.rs",
            summary: "the orchestrator gives its own Sender away before draining: recv() returns None once producers finish",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

#[derive(Debug, PartialEq)]
enum MyEnum {
    Foo,
    Bar,
    Moo,
}

async fn send_bar(tx: mpsc::Sender<MyEnum>) {
    if tx.send(MyEnum::Bar).await.is_err() {
        panic!("error sending BAR");
    }
}

async fn send_moo(tx: mpsc::Sender<MyEnum>) {
    if tx.send(MyEnum::Moo).await.is_err() {
        panic!("error sending MOO");
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let (tx, mut rx) = mpsc::channel(100);
        let sender = tx.clone();
        tokio::spawn(async move {
            if sender.send(MyEnum::Foo).await.is_err() {
                panic!("error sending FOO");
            }
        });
        tokio::spawn(send_bar(tx.clone()));
        if fixed {
            // The orchestrator's own sender goes to the last producer.
            tokio::spawn(send_moo(tx));
        } else {
            tokio::spawn(send_moo(tx.clone()));
        }
        let mut got = Vec::new();
        while let Some(value) = rx.recv().await {
            got.push(value);
        }
        assert_eq!(got.len(), 3);
        assert!(got.contains(&MyEnum::Foo) && got.contains(&MyEnum::Bar));
        assert!(got.contains(&MyEnum::Moo));
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
