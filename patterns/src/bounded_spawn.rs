//! Bounded spawning: a task per incoming request, but never more than `limit` of them at
//! once. Before spawning, the dispatcher takes a permit from a [`Semaphore`] (waiting while
//! all `limit` are out); each request task gives its permit back when it is done (Go's
//! `sem := make(chan struct{}, limit)`: `sem <- struct{}{}` before `go`, `<-sem` at the end).
//!
//! Next to it, the mistake: a task per request with no cap ([`serve_unbounded`]). Under a
//! burst of requests the number of live tasks grows with the burst (in Go: goroutines,
//! memory, open connections), which the model's bound "at most `limit` request tasks alive"
//! catches.

use std::future::Future;
use std::sync::Arc;

use harness::sync::Semaphore;
use harness::task::{self, JoinHandle};

/// Handles every request in its own task (named `request-<i>`), at most `limit` of them
/// alive at once, and returns the responses in request order.
///
/// The permit is taken before the task is spawned, so the cap holds for the tasks
/// themselves, not only for the work inside them; the dispatcher waits while `limit`
/// requests are in flight.
///
/// ```
/// # harness::check::Check::new("doc-bounded-spawn").shuttle(10).run(|| async {
/// let out = patterns::bounded_spawn::serve(vec![1u64, 2, 3], 2, |r| async move { r + 1 }).await;
/// assert_eq!(out, vec![2, 3, 4]);
/// # }).unwrap();
/// ```
pub async fn serve<R, O, H, Fut>(requests: Vec<R>, limit: usize, handler: H) -> Vec<O>
where
    R: Send + 'static,
    O: Send + 'static,
    H: Fn(R) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    assert!(limit > 0, "bounded spawning needs a limit of at least one");
    let slots = Arc::new(Semaphore::new(limit));
    let handler = Arc::new(handler);
    let mut handles = Vec::with_capacity(requests.len());
    for (i, request) in requests.into_iter().enumerate() {
        // The permit outlives this scope (it belongs to the task): take it for good here,
        // and give it back by hand when the task is done.
        slots.acquire().await.forget();
        let (slots, handler) = (slots.clone(), handler.clone());
        handles.push(task::spawn_named(format!("request-{i}"), async move {
            let response = handler(request).await;
            slots.add_permits(1);
            response
        }));
    }
    collect(handles).await
}

/// BUGGY TWIN: a task per request with no cap: a burst of `n` requests has `n` tasks alive
/// at once.
pub async fn serve_unbounded<R, O, H, Fut>(requests: Vec<R>, handler: H) -> Vec<O>
where
    R: Send + 'static,
    O: Send + 'static,
    H: Fn(R) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    let handler = Arc::new(handler);
    let handles = requests
        .into_iter()
        .enumerate()
        .map(|(i, request)| {
            let handler = handler.clone();
            task::spawn_named(
                format!("request-{i}"),
                async move { handler(request).await },
            )
        })
        .collect();
    collect(handles).await
}

/// Every task's output, in spawn order.
async fn collect<O>(handles: Vec<JoinHandle<O>>) -> Vec<O> {
    let mut out = Vec::with_capacity(handles.len());
    for (i, h) in handles.into_iter().enumerate() {
        match h.await {
            Ok(response) => out.push(response),
            Err(e) => panic!("request-{i} did not complete: {e}"),
        }
    }
    out
}
