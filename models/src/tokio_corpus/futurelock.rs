//! Futurelock: a `select!` over `&mut future` leaves that future holding its place in a
//! lock's queue while the other branch's handler waits for the same lock. Oxide wrote it up
//! as RFD 609 (<https://rfd.shared.oxide.computer/rfd/0609>); omicron#9272,
//! <https://github.com/oxidecomputer/omicron/issues/9272> ("Audit cases of
//! `tokio::mpsc::channel, size of 1`", background in omicron#9259), gives the shape: a
//! future "queued first, but only returning `Poll::Pending`", another `select!` branch
//! triggers, and its handler's own wait "will be stuck forever, queued behind the first
//! [one], which is no longer polled".
//!
//! tokio's `Mutex` is fair: the lock goes to the waiters in the order they asked, and a
//! waiter keeps its place until its future is dropped. Here a request handler pins
//! `record(..)` (lock the journal, append) and races it against a 10 ms deadline in a
//! `select!`; on the deadline it logs a slow-request entry — through the same lock. When the
//! journal is busy (a background compaction holds the lock) the pinned `record` queues; the
//! deadline fires; the handler's `lock()` queues behind `record`. Compaction releases the
//! lock to `record`, which is never polled again while its own task waits in the handler.
//! Every task is blocked.
//!
//! The fix used here: do not poll a future by reference across a `select!` whose other
//! branches wait on what it may hold; give it a task of its own (`tokio::spawn`), which
//! runs to completion whichever branch is selected, and wait for its `JoinHandle` instead.

use std::sync::Arc;
use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::Mutex;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The futurelock models: the pinned future polled by reference, and the spawned one.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/futurelock",
            pattern: "models/src/tokio_corpus/futurelock.rs",
            summary: "a select! over &mut record() loses to a deadline whose handler locks the journal; record() holds the lock's queue place, unpolled",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/futurelock-fixed",
            pattern: "models/src/tokio_corpus/futurelock.rs",
            summary: "record() runs in a task of its own; the select! waits on its JoinHandle",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

type Journal = Arc<Mutex<Vec<&'static str>>>;

async fn record(journal: Journal, entry: &'static str) {
    let mut journal = journal.lock().await;
    journal.push(entry);
}

/// As shipped: the request's record is polled by reference in the `select!`.
async fn handle_request(journal: Journal) {
    let write = record(journal.clone(), "request");
    tokio::pin!(write);
    tokio::select! {
        _ = &mut write => {}
        _ = tokio::time::sleep(Duration::from_millis(10)) => {
            record(journal.clone(), "slow request").await;
            write.await;
        }
    }
}

/// Fixed: the record runs in its own task.
async fn handle_request_fixed(journal: Journal) {
    let mut write = tokio::spawn(record(journal.clone(), "request"));
    tokio::select! {
        done = &mut write => done.expect("record panicked"),
        _ = tokio::time::sleep(Duration::from_millis(10)) => {
            record(journal.clone(), "slow request").await;
            write.await.expect("record panicked");
        }
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let j = journal.clone();
        let compaction = tokio::task::Builder::new()
            .name("compaction")
            .spawn(async move {
                let mut journal = j.lock().await;
                tokio::task::yield_now().await;
                journal.retain(|e| *e != "compacted");
            })
            .expect("spawn the compaction");
        if fixed {
            handle_request_fixed(journal.clone()).await;
        } else {
            handle_request(journal.clone()).await;
        }
        compaction.await.unwrap();
        assert!(journal.lock().await.contains(&"request"));
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
