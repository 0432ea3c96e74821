//! Two workers that message each other over bounded channels deadlock once both mailboxes
//! are full: ockam#1947, <https://github.com/build-trust/ockam/issues/1947> ("Possible
//! deadlock under high load, due to fixed-capacity channels?").
//!
//! The report: workers W1 and W2 message each other; both mailboxes are "very nearly at
//! their channels capacity"; W1 sends to W2 and waits for room, and "before W2 gets to do
//! that (while W1 is still blocked), W2 sends W1 a message" and waits too: each waits for
//! the other to receive, and neither will. Here each worker handles a hop-counted ping by
//! forwarding it to the other until its hops run out, then reports it done; four pings are
//! in flight in mailboxes of capacity 1, so both workers can hold one ping in hand in front
//! of a full mailbox. The test waits for every ping to finish: every task blocks.
//!
//! The fix the report weighs against fixed capacities: mailboxes that a cycle of workers
//! sends through are unbounded, so forwarding never waits (back-pressure, if any, belongs
//! where work enters the cycle, not inside it).

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::mpsc;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The bounded-cycle models: bounded mailboxes in a cycle, and unbounded ones.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/bounded-cycle",
            pattern: "models/src/tokio_corpus/bounded_cycle.rs",
            summary: "two workers forward pings to each other over mailboxes of capacity 1: both block sending, mailboxes full",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/bounded-cycle-fixed",
            pattern: "models/src/tokio_corpus/bounded_cycle.rs",
            summary: "the workers' mailboxes are unbounded: forwarding never waits and every ping finishes",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

enum Msg {
    /// Forward to the other worker while hops are left.
    Ping {
        hops: u32,
    },
    Stop,
}

/// A worker's mailbox, bounded as shipped or unbounded as fixed.
#[derive(Clone)]
enum Mailbox {
    Bounded(mpsc::Sender<Msg>),
    Unbounded(mpsc::UnboundedSender<Msg>),
}

impl Mailbox {
    async fn send(&self, msg: Msg) {
        let sent = match self {
            Mailbox::Bounded(tx) => tx.send(msg).await.is_ok(),
            Mailbox::Unbounded(tx) => tx.send(msg).is_ok(),
        };
        assert!(sent, "the worker's mailbox is closed");
    }
}

enum Inbox {
    Bounded(mpsc::Receiver<Msg>),
    Unbounded(mpsc::UnboundedReceiver<Msg>),
}

impl Inbox {
    async fn recv(&mut self) -> Option<Msg> {
        match self {
            Inbox::Bounded(rx) => rx.recv().await,
            Inbox::Unbounded(rx) => rx.recv().await,
        }
    }
}

fn mailbox(bounded: bool) -> (Mailbox, Inbox) {
    if bounded {
        let (tx, rx) = mpsc::channel(1);
        (Mailbox::Bounded(tx), Inbox::Bounded(rx))
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        (Mailbox::Unbounded(tx), Inbox::Unbounded(rx))
    }
}

async fn worker(mut inbox: Inbox, peer: Mailbox, done: mpsc::UnboundedSender<()>) {
    while let Some(msg) = inbox.recv().await {
        match msg {
            Msg::Ping { hops: 0 } => {
                let _ = done.send(());
            }
            Msg::Ping { hops } => peer.send(Msg::Ping { hops: hops - 1 }).await,
            Msg::Stop => break,
        }
    }
}

fn scenario(check: Check, size: Size, bounded: bool) -> Result<Stats, Failure> {
    let hops = size.pick(1, 2);
    // Four pings and two workers make loom's bound-2 space take seconds; the deadlock needs
    // no preemption at all (a worker runs until it blocks), so bound 1 finds it and keeps
    // `leakproof check` fast. Only loom reads the bound.
    let check = match size {
        Size::Loom => check.preemption_bound(Some(1)),
        Size::Full => check,
    };
    check.run(move || async move {
        let (w1, inbox1) = mailbox(bounded);
        let (w2, inbox2) = mailbox(bounded);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let first = tokio::task::Builder::new()
            .name("w1")
            .spawn(worker(inbox1, w2.clone(), done_tx.clone()))
            .expect("spawn w1");
        let second = tokio::task::Builder::new()
            .name("w2")
            .spawn(worker(inbox2, w1.clone(), done_tx))
            .expect("spawn w2");
        // Load: two pings into each mailbox.
        for _ in 0..2 {
            w1.send(Msg::Ping { hops }).await;
            w2.send(Msg::Ping { hops }).await;
        }
        for _ in 0..4 {
            done_rx.recv().await.expect("a worker ended early");
        }
        w1.send(Msg::Stop).await;
        w2.send(Msg::Stop).await;
        first.await.unwrap();
        second.await.unwrap();
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}
