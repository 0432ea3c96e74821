//! Context cancellation: a call that runs its work in a task and gives up when its context
//! is done (deadline passed or parent cancelled), cancelling the work and waiting for the
//! task, so that nothing it started outlives it.
//!
//! Next to it, the seed's goroutine leak: the same call whose worker sends its result
//! without selecting on `ctx.done()`, and is left blocked on that send forever once the
//! caller has given up.

use std::future::Future;
use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::context::{Context, ContextError};
use harness::task;

/// One call: its context and the channel its worker answers on, shared by the caller and
/// the worker the way Go code keeps a call's channel in a struct.
struct Call<T> {
    ctx: Context,
    reply: Sender<T>,
    replies: Receiver<T>,
}

impl<T: Send> Call<T> {
    /// Reports name the channel after the caller of `new`.
    #[track_caller]
    fn new(ctx: Context) -> Arc<Call<T>> {
        let (reply, replies) = chan::bounded(0);
        Arc::new(Call {
            ctx,
            reply,
            replies,
        })
    }
}

/// Runs `work` in a task and returns its output, or the context's error once `ctx` is done
/// first: [`ContextError::DeadlineExceeded`] when its deadline passed (make one with
/// `ctx.with_timeout(d)`), [`ContextError::Canceled`] when it or an ancestor was cancelled.
///
/// `work` gets a child of `ctx` (so it can hand it on, as Go code passes `ctx` down). When
/// the call gives up, the work's future is dropped, which cancels it, and the call waits
/// for its task before returning: nothing it started outlives it. Models inject a
/// simulated service as `work`, real code real I/O (see the `http_fan_out` example).
///
/// ```
/// use std::time::Duration;
/// use harness::context::{Context, ContextError};
/// use patterns::cancel::fetch_with_timeout;
///
/// # harness::check::Check::new("doc-fetch").shuttle(10).run(|| async {
/// let ok = fetch_with_timeout(&Context::background(), |_ctx| async { 42 }).await;
/// assert_eq!(ok, Ok(42));
/// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(5));
/// let hung = fetch_with_timeout(&ctx, |_ctx| std::future::pending::<u32>()).await;
/// assert_eq!(hung, Err(ContextError::DeadlineExceeded));
/// # }).unwrap();
/// ```
pub async fn fetch_with_timeout<T, W, Fut>(ctx: &Context, work: W) -> Result<T, ContextError>
where
    T: Send + 'static,
    W: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    if let Some(err) = ctx.err() {
        return Err(err);
    }
    // Our own child, cancelled on the way out so the worker stops whatever happens.
    let (ctx, stop) = ctx.with_cancel();
    let call = Call::new(ctx);
    let worker = task::spawn_named("fetch", {
        let call = call.clone();
        async move {
            let ctx = call.ctx.clone();
            harness::select! {
                out = work(ctx.clone()) => {
                    // The caller may have given up meanwhile: never block on it.
                    harness::select! {
                        _ = call.reply.send(out) => {}
                        _ = ctx.done() => {}
                    }
                }
                // Dropping the work's future cancels it.
                _ = ctx.done() => {}
            }
        }
    });
    let result = harness::select! {
        out = call.replies.recv() => Ok(out.expect("the call holds a sender, so its channel stays open")),
        _ = call.ctx.done() => Err(call.ctx.err().expect("done() completed, so the context has an error")),
    };
    stop.cancel();
    // The worker leaves promptly now: wait for it, so that it does not outlive the call.
    let _ = worker.await;
    result
}

/// BUGGY TWIN: [`fetch_with_timeout`] as the seed wrote it. The worker sends its result
/// without selecting on `ctx.done()`, and the caller returns on `ctx.done()` without
/// waiting for it.
///
/// When the deadline wins, the worker finishes its work (or the work notices the context
/// and fails) and then blocks forever on a send nobody will receive: a goroutine leak,
/// reported as `FailureKind::Leak` naming the task `"fetch"` blocked on `[chan send]` on
/// the call's channel, created in this file.
pub async fn fetch_with_timeout_leaky<T, W, Fut>(ctx: &Context, work: W) -> Result<T, ContextError>
where
    T: Send + 'static,
    W: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let call = Call::new(ctx.clone());
    task::spawn_named("fetch", {
        let call = call.clone();
        async move {
            let out = work(call.ctx.clone()).await;
            // The bug: no `ctx.done()` arm, so nothing unblocks this send once the
            // caller is gone.
            let _ = call.reply.send(out).await;
        }
    });
    harness::select! {
        out = call.replies.recv() => Ok(out.expect("the call holds a sender, so its channel stays open")),
        _ = call.ctx.done() => Err(call.ctx.err().expect("done() completed, so the context has an error")),
    }
}
