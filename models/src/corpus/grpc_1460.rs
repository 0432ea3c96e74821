//! grpc-go #1460 (GoBench GoKer `blocking/grpc/1460`): the keepalive task holds the transport
//! mutex while it waits for "a stream was opened"; the task that opens a stream needs that
//! mutex before it can announce it.
//!
//! The transport keeps its open streams under a mutex and a rendezvous channel that wakes
//! the keepalive loop when the first stream opens. Keepalive locks the mutex, sees no
//! stream and, still holding the lock, waits on the channel. `new_stream` blocks on the
//! mutex, so the announcement is never made: both tasks wait forever. When `new_stream`
//! wins the mutex instead, its non-blocking send finds nobody listening and is dropped,
//! and keepalive, seeing a stream, never waits: the bug needs keepalive to go first.
//!
//! The fix releases the mutex before waiting, and gives the wake-up channel a buffer of one
//! so that an announcement made between the unlock and the receive is kept, not lost.

use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The grpc-1460 models: the buggy transport and the fixed one.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/grpc-1460",
            pattern: "models/src/corpus/grpc_1460.rs",
            summary: "keepalive waits on the wake-up channel while holding the transport mutex; new_stream blocks on the mutex",
            expect: Expect::Fail(FailureKind::Deadlock),
            // A real run exposes it only when keepalive locks first (every measured run did,
            // but no scheduler promises it).
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/grpc-1460-fixed",
            pattern: "models/src/corpus/grpc_1460.rs",
            summary: "keepalive unlocks before waiting and the wake-up has a buffer of one: both tasks finish",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The client transport: the open streams and the keepalive wake-up, as the Go struct
/// holds them.
struct Http2Client {
    active_streams: Mutex<Vec<u32>>,
    awaken_tx: Sender<()>,
    awaken_rx: Receiver<()>,
}

impl Http2Client {
    fn new(wake_buffer: usize) -> Arc<Self> {
        let (awaken_tx, awaken_rx) = chan::bounded(wake_buffer);
        Arc::new(Http2Client {
            active_streams: Mutex::new(Vec::new()),
            awaken_tx,
            awaken_rx,
        })
    }

    /// The keepalive loop's first step, as shipped: waits for a stream with the lock held.
    async fn keepalive_buggy(&self) {
        let streams = self.active_streams.lock().await;
        if streams.is_empty() {
            let _ = self.awaken_rx.recv().await;
        }
        drop(streams);
    }

    /// The fixed keepalive: looks under the lock, waits without it.
    async fn keepalive_fixed(&self) {
        let empty = self.active_streams.lock().await.is_empty();
        if empty {
            let _ = self.awaken_rx.recv().await;
        }
    }

    /// Opens a stream; the first one wakes keepalive with a send that never blocks
    /// (Go's `select { case ch <- x: default: }`).
    async fn new_stream(&self, id: u32) {
        let mut streams = self.active_streams.lock().await;
        streams.push(id);
        if streams.len() == 1 {
            let _ = self.awaken_tx.try_send(());
        }
        drop(streams);
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let client = Http2Client::new(if fixed { 1 } else { 0 });
        let c = client.clone();
        let keepalive = task::spawn_named("keepalive", async move {
            if fixed {
                c.keepalive_fixed().await
            } else {
                c.keepalive_buggy().await
            }
        });
        let c = client.clone();
        let opener = task::spawn_named("new-stream", async move { c.new_stream(1).await });
        keepalive.await.unwrap();
        opener.await.unwrap();
        assert_eq!(*client.active_streams.lock().await, vec![1]);
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
