//! Pipeline: generate → square → sink, each stage a task between two channels, with
//! back-pressure through bounded channels; when the source closes its output, every stage
//! drains, closes its own output and ends, in order.
//!
//! The channels here are Go's: a [`Link`] holds both ends of one channel, the writing stage
//! and the reading stage share it, and the writer closes it explicitly when it is done
//! (Go's `defer close(out)`). This is how Go pipelines are written, and how they are often
//! ported; it also means that a reader that walks away does not disconnect its writer.
//!
//! Next to it, the mistake: a sink that stops reading early (it wants only the first `k`
//! values) and just returns. Its upstream stages block forever on their sends, with nobody
//! left to read ([`first_squares_leaky`], `FailureKind::Leak`). The fix is Go's explicit
//! cancellation: every stage also selects on a `done` channel ([`generate_until`],
//! [`square_until`]), and the sink closes `done` when it stops ([`first_squares`]).

use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::task;

/// One channel with both its ends, shared by the stage that writes it and the stage that
/// reads it, like a Go `chan T` value; closed by its writer with `tx.close()`.
pub struct Link<T> {
    /// The writing end.
    pub tx: Sender<T>,
    /// The reading end.
    pub rx: Receiver<T>,
}

/// A new [`Link`] holding `capacity` values (0: rendezvous); reports name the channel by
/// the caller's line.
#[track_caller]
pub fn link<T: Send>(capacity: usize) -> Arc<Link<T>> {
    let (tx, rx) = chan::bounded(capacity);
    Arc::new(Link { tx, rx })
}

/// Stage one, the source: a task (named `generate`) that sends every number on a new link
/// of `capacity`, then closes it.
pub fn generate(nums: Vec<u64>, capacity: usize) -> Arc<Link<u64>> {
    let out = link(capacity);
    let o = out.clone();
    task::spawn_named("generate", async move {
        for n in nums {
            // Only this stage closes its output, after this loop: cannot fail.
            let _ = o.tx.send(n).await;
        }
        o.tx.close();
    });
    out
}

/// Stage two: a task (named `square`) that squares every number of `input` onto a new link
/// of `capacity`, and closes it once `input` is closed and drained.
pub fn square(input: Arc<Link<u64>>, capacity: usize) -> Arc<Link<u64>> {
    let out = link(capacity);
    let o = out.clone();
    task::spawn_named("square", async move {
        while let Some(n) = input.rx.recv().await {
            let _ = o.tx.send(n * n).await;
        }
        o.tx.close();
    });
    out
}

/// Stage three, in the caller: every value of `input` until it is closed, in order.
pub async fn sink(input: &Link<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    while let Some(v) = input.rx.recv().await {
        out.push(v);
    }
    out
}

/// The whole pipeline: the squares of `nums`, in order, through links of `capacity`.
///
/// ```
/// # harness::check::Check::new("doc-pipeline").shuttle(10).run(|| async {
/// assert_eq!(patterns::pipeline::squares(vec![1, 2, 3], 1).await, vec![1, 4, 9]);
/// # }).unwrap();
/// ```
pub async fn squares(nums: Vec<u64>, capacity: usize) -> Vec<u64> {
    sink(&square(generate(nums, capacity), capacity)).await
}

/// BUGGY TWIN: the first `k` squares, from the same stages, but the sink just stops
/// reading after `k` values.
///
/// With more values left than the links can buffer, `square` blocks forever sending to
/// the sink, and `generate` may block forever sending to `square`: leaked tasks
/// (`FailureKind::Leak`), each reported blocked on `chan send` to its output link.
pub async fn first_squares_leaky(nums: Vec<u64>, k: usize, capacity: usize) -> Vec<u64> {
    take(&square(generate(nums, capacity), capacity), k).await
}

/// Sends `value` on `out` unless `done` is closed first; false when the stage should stop.
async fn send_or_done<T: Send>(out: &Link<T>, value: T, done: &Link<()>) -> bool {
    harness::select! {
        r = out.tx.send(value) => r.is_ok(),
        _ = done.rx.recv() => false,
    }
}

/// Receives from `input` unless `done` is closed first; `None` when the input is closed and
/// drained or the stage should stop.
async fn recv_or_done<T: Send>(input: &Link<T>, done: &Link<()>) -> Option<T> {
    harness::select! {
        v = input.rx.recv() => v,
        _ = done.rx.recv() => None,
    }
}

/// [`generate`] that also stops, without closing its output, once `done` is closed.
pub fn generate_until(nums: Vec<u64>, capacity: usize, done: Arc<Link<()>>) -> Arc<Link<u64>> {
    let out = link(capacity);
    let o = out.clone();
    task::spawn_named("generate", async move {
        for n in nums {
            if !send_or_done(&o, n, &done).await {
                return;
            }
        }
        o.tx.close();
    });
    out
}

/// [`square`] that also stops, without closing its output, once `done` is closed.
pub fn square_until(input: Arc<Link<u64>>, capacity: usize, done: Arc<Link<()>>) -> Arc<Link<u64>> {
    let out = link(capacity);
    let o = out.clone();
    task::spawn_named("square", async move {
        while let Some(n) = recv_or_done(&input, &done).await {
            if !send_or_done(&o, n * n, &done).await {
                return;
            }
        }
        o.tx.close();
    });
    out
}

/// The first `k` squares of `nums`, in order: the stages also watch a `done` link, and the
/// sink closes it when it stops reading (Go: `defer close(done)`); every stage still
/// running stops at its next send or receive.
///
/// ```
/// # harness::check::Check::new("doc-first-squares").shuttle(10).run(|| async {
/// assert_eq!(patterns::pipeline::first_squares(vec![1, 2, 3, 4], 2, 1).await, vec![1, 4]);
/// # }).unwrap();
/// ```
pub async fn first_squares(nums: Vec<u64>, k: usize, capacity: usize) -> Vec<u64> {
    let done = link::<()>(0);
    let squares = square_until(
        generate_until(nums, capacity, done.clone()),
        capacity,
        done.clone(),
    );
    let first = take(&squares, k).await;
    done.tx.close();
    first
}

/// Up to `k` values of `input`, in order.
async fn take(input: &Link<u64>, k: usize) -> Vec<u64> {
    let mut first = Vec::with_capacity(k);
    while first.len() < k {
        match input.rx.recv().await {
            Some(v) => first.push(v),
            None => break,
        }
    }
    first
}
