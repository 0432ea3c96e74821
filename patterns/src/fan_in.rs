//! Fan-out / fan-in: one task per input, every result funnelled into one channel, which
//! closes once the last worker is done; the caller drains it.
//!
//! Next to it, the seed's first mistake: "first response wins", where the losers block
//! forever on a send that nobody will ever receive (a goroutine leak), and its fix.
//!
//! And closing from the wrong side: several producers share one channel, and each closes it
//! when it is done ([`merge_each_closes`]); the first to finish closes it under the others,
//! whose next send is a "send on closed channel". The channel must be closed once, by
//! whoever knows that every producer is done ([`merge`]).

use std::future::Future;
use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::task;

/// Runs `work` on every input in its own task and returns the results in input order.
///
/// A closer task waits for every worker (Go's `wg.Wait()`) and then closes the results
/// channel (Go's `close(out)`), which ends the caller's receive loop.
///
/// ```
/// # harness::check::Check::new("doc-fan-in-pattern").shuttle(10).run(|| async {
/// let out = patterns::fan_in::fan_in(vec![1u64, 2, 3], |x| async move { x + 1 }).await;
/// assert_eq!(out, vec![2, 3, 4]);
/// # }).unwrap();
/// ```
pub async fn fan_in<I, O, W, Fut>(inputs: Vec<I>, work: W) -> Vec<O>
where
    I: Send + 'static,
    O: Send + 'static,
    W: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    let n = inputs.len();
    let work = Arc::new(work);
    let (tx, rx) = chan::bounded::<(usize, O)>(0);
    let mut workers = Vec::with_capacity(n);
    for (i, input) in inputs.into_iter().enumerate() {
        let tx = tx.clone();
        let work = work.clone();
        workers.push(task::spawn_named(format!("worker-{i}"), async move {
            let out = work(input).await;
            // The caller drains until close, so this send always finds a receiver.
            let _ = tx.send((i, out)).await;
        }));
    }
    task::spawn_named("closer", async move {
        for w in workers {
            let _ = w.await;
        }
        tx.close();
    });
    let mut results: Vec<Option<O>> = (0..n).map(|_| None).collect();
    while let Some((i, out)) = rx.recv().await {
        results[i] = Some(out);
    }
    results
        .into_iter()
        .map(|r| r.expect("every worker sends exactly one result before the channel closes"))
        .collect()
}

/// Squares every input concurrently: the seed's fan-out/fan-in example.
///
/// ```
/// # harness::check::Check::new("doc-square-all").shuttle(10).run(|| async {
/// assert_eq!(patterns::fan_in::square_all(vec![1, 2, 3]).await, vec![1, 4, 9]);
/// # }).unwrap();
/// ```
pub async fn square_all(inputs: Vec<u64>) -> Vec<u64> {
    fan_in(inputs, |x| async move { x * x }).await
}

/// A query whose replies arrive on a channel held in the query itself, the way Go code
/// holds channels in structs.
struct Query<O> {
    replies: Sender<O>,
    first: Receiver<O>,
}

/// BUGGY TWIN: asks every replica and returns the first reply, on a rendezvous channel.
///
/// Every replica but the winner blocks forever on `send`: nobody receives again, and the
/// receiver stays alive because each replica holds the query. leakproof reports the losers
/// as leaked tasks (`FailureKind::Leak`), each blocked on `chan send`.
pub async fn first_response_leaky<I, O, W, Fut>(replicas: Vec<I>, work: W) -> O
where
    I: Send + 'static,
    O: Send + 'static,
    W: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    first_response_on(replicas, work, 0).await
}

/// Asks every replica and returns the first reply; the losers' replies go into a buffer
/// with room for all of them, so no replica ever blocks (Go's fix: `make(chan T, n)`).
///
/// ```
/// # harness::check::Check::new("doc-first-response").shuttle(10).run(|| async {
/// let first = patterns::fan_in::first_response(vec![1u64, 2], |x| async move { x * 10 }).await;
/// assert!(first == 10 || first == 20);
/// # }).unwrap();
/// ```
pub async fn first_response<I, O, W, Fut>(replicas: Vec<I>, work: W) -> O
where
    I: Send + 'static,
    O: Send + 'static,
    W: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    let n = replicas.len();
    first_response_on(replicas, work, n).await
}

async fn first_response_on<I, O, W, Fut>(replicas: Vec<I>, work: W, capacity: usize) -> O
where
    I: Send + 'static,
    O: Send + 'static,
    W: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    assert!(
        !replicas.is_empty(),
        "first_response needs at least one replica"
    );
    let (replies, first) = chan::bounded(capacity);
    let query = Arc::new(Query { replies, first });
    let work = Arc::new(work);
    for (i, replica) in replicas.into_iter().enumerate() {
        let query = query.clone();
        let work = work.clone();
        task::spawn_named(format!("replica-{i}"), async move {
            let reply = work(replica).await;
            let _ = query.replies.send(reply).await;
        });
    }
    query
        .first
        .recv()
        .await
        .expect("the query holds a sender, so the channel cannot close")
}

/// Merges the values of several producers (one task each, `producer-<i>`) into one shared
/// channel and returns them as they arrive; each producer's values keep their order.
///
/// No producer closes the channel: each owns a sender, and the channel closes when the last
/// of them is dropped, that is once every producer is done (Go: `wg.Wait(); close(out)` in
/// one place, never in the producers).
///
/// ```
/// # harness::check::Check::new("doc-merge").shuttle(10).run(|| async {
/// let mut all = patterns::fan_in::merge(vec![vec![1u64, 2], vec![3]]).await;
/// all.sort();
/// assert_eq!(all, vec![1, 2, 3]);
/// # }).unwrap();
/// ```
pub async fn merge<T: Send + 'static>(producers: Vec<Vec<T>>) -> Vec<T> {
    let (tx, rx) = chan::bounded::<T>(0);
    for (i, values) in producers.into_iter().enumerate() {
        let tx = tx.clone();
        task::spawn_named(format!("producer-{i}"), async move {
            for v in values {
                // Nobody closes the channel while a producer holds a sender: cannot fail.
                let _ = tx.send(v).await;
            }
        });
    }
    drop(tx);
    drain(&rx).await
}

/// BUGGY TWIN: merges like [`merge`], but each producer closes the shared channel when it
/// has sent its own values, as if it were the only one.
///
/// The first producer to finish closes the channel while the others still have values to
/// send: their next send fails and is reported as "send on closed channel"
/// (`FailureKind::ClosedSend`; Go panics there), and their remaining values are lost.
pub async fn merge_each_closes<T: Send + 'static>(producers: Vec<Vec<T>>) -> Vec<T> {
    let (tx, rx) = chan::bounded::<T>(0);
    for (i, values) in producers.into_iter().enumerate() {
        let tx = tx.clone();
        task::spawn_named(format!("producer-{i}"), async move {
            for v in values {
                if tx.send(v).await.is_err() {
                    return;
                }
            }
            tx.close();
        });
    }
    drop(tx);
    drain(&rx).await
}

/// Every value until the channel is closed and drained.
async fn drain<T: Send>(rx: &Receiver<T>) -> Vec<T> {
    let mut all = Vec::new();
    while let Some(v) = rx.recv().await {
        all.push(v);
    }
    all
}
