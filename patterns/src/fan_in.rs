//! Fan-out / fan-in: one task per input, every result funnelled into one channel, which
//! closes once the last worker is done; the caller drains it.
//!
//! Next to it, the seed's first mistake: "first response wins", where the losers block
//! forever on a send that nobody will ever receive (a goroutine leak), and its fix.

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
