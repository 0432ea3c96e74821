//! Kubernetes #6632 (GoBench GoKer `blocking/kubernetes/6632`): a frame writer that sends
//! on an unbuffered channel while holding the write lock, and a monitor that takes the
//! write lock when the connection closes instead of receiving.
//!
//! (GoBench's kernel announces the close with a send on the close channel; this port closes
//! the channel.)
//!
//! The SPDY connection's idle monitor loops on a `select`: a value on `reset` restarts the
//! idle timer, a value on `close` ends the connection. Every `write_frame` locks the write
//! lock and, under it, sends on the rendezvous `reset` channel. On close, the monitor
//! locks the write lock to close `reset` and clear it (so that later writes skip the
//! reset). When the close arrives while a writer is between taking the lock and
//! delivering its reset, the monitor waits for the lock and the writer waits for the
//! monitor to receive: neither moves, and whoever waits for the writer waits forever.
//!
//! The fix keeps the monitor serving resets while it waits for the write lock: on close it
//! selects between taking the lock and receiving a reset, so a writer that holds the lock
//! always gets its reset delivered, releases the lock, and the monitor then takes it.

use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::Mutex;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The kubernetes-6632 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/kubernetes-6632",
            pattern: "models/src/corpus/kubernetes_6632.rs",
            summary: "write_frame sends a reset under the write lock; the monitor, on close, waits for that lock instead of receiving",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/kubernetes-6632-fixed",
            pattern: "models/src/corpus/kubernetes_6632.rs",
            summary: "on close the monitor selects between the write lock and a pending reset: writes and close complete",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The idle-aware framer: the reset channel (cleared on close) under the write lock and
/// the connection's close channel (closed, never sent on).
struct IdleAwareFramer {
    write_lock: Mutex<Option<Sender<()>>>,
    reset_rx: Receiver<()>,
    close_tx: Sender<()>,
    close_rx: Receiver<()>,
    fixed: bool,
}

impl IdleAwareFramer {
    fn new(fixed: bool) -> Arc<Self> {
        let (reset_tx, reset_rx) = chan::bounded(0);
        let (close_tx, close_rx) = chan::bounded(0);
        Arc::new(IdleAwareFramer {
            write_lock: Mutex::new(Some(reset_tx)),
            reset_rx,
            close_tx,
            close_rx,
            fixed,
        })
    }

    /// The idle monitor: counts resets until the connection closes.
    async fn monitor(&self) -> u32 {
        let mut resets = 0;
        loop {
            harness::select! {
                _ = self.reset_rx.recv() => resets += 1,
                _ = self.close_rx.recv() => break,
            }
        }
        let mut reset = if self.fixed {
            // Fixed: keep taking resets until the write lock is ours.
            loop {
                harness::select! {
                    guard = self.write_lock.lock() => break guard,
                    _ = self.reset_rx.recv() => resets += 1,
                }
            }
        } else {
            self.write_lock.lock().await
        };
        if let Some(tx) = reset.take() {
            tx.close();
        }
        resets
    }

    /// Writes one frame, then tells the monitor the connection is not idle.
    async fn write_frame(&self) {
        let reset = self.write_lock.lock().await;
        let Some(tx) = reset.as_ref() else {
            return;
        };
        let _ = tx.send(()).await;
        drop(reset);
    }
}

fn scenario(check: Check, size: Size, fixed: bool) -> Result<Stats, Failure> {
    let frames = size.pick(1, 2);
    check.run(move || async move {
        let framer = IdleAwareFramer::new(fixed);
        let f = framer.clone();
        let closer = task::spawn_named("conn-close", async move {
            // The connection announces its close by closing the channel (Go's `close`).
            f.close_tx.close();
        });
        let f = framer.clone();
        let monitor = task::spawn_named("monitor", async move { f.monitor().await });
        let f = framer.clone();
        let writer = task::spawn_named("write-frame", async move {
            for _ in 0..frames {
                f.write_frame().await;
            }
        });
        closer.await.unwrap();
        writer.await.unwrap();
        let resets = monitor.await.unwrap();
        assert!(resets <= frames, "a reset per frame at most");
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
