//! Select multiplexing: one event loop that handles incoming messages, sends a heartbeat on
//! every tick of a ticker task, and stops cleanly when its context is done, stopping the
//! ticker task and waiting for it.
//!
//! Next to it, the seed's mistake: the same loop returning on cancel without stopping its
//! ticker task, which then ticks on forever (a leak).

use std::time::Duration;

use harness::chan::{self, Receiver, Sender};
use harness::context::{Context, ContextError};
use harness::task::{self, JoinHandle};
use harness::time::{Instant, Ticker};

/// Why [`multiplex`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Its context was done, with this error.
    Context(ContextError),
    /// Every sender of its inbox was dropped (or the inbox was closed).
    InboxClosed,
}

/// What [`multiplex`] did before it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Messages handed to the handler.
    pub handled: usize,
    /// Heartbeats delivered to the heartbeat channel (numbered from 1 there).
    pub beats: u64,
    /// Why it stopped.
    pub stopped: Stop,
}

/// Starts a task that forwards the ticks of a [`Ticker`] on a channel with room for one,
/// like Go's `ticker.C`: a tick the reader has not taken yet makes the next one be
/// dropped. The task stops its ticker and ends once `stop` is done.
fn start_ticker(stop: Context, period: Duration) -> (Receiver<Instant>, JoinHandle<()>) {
    let (tx, rx) = chan::bounded(1);
    let handle = task::spawn_named("ticker", async move {
        let mut ticker = Ticker::new(period);
        loop {
            harness::select! {
                at = ticker.tick() => {
                    let _ = tx.try_send(at);
                }
                _ = stop.done() => {
                    ticker.stop();
                    return;
                }
            }
        }
    });
    (rx, handle)
}

/// The event loop: hands every message from `inbox` to `handle`, sends a numbered heartbeat
/// on `beats` every `period`, and returns once `ctx` is done or the inbox closes.
///
/// Before it returns it stops its ticker task and waits for it, so nothing it started
/// outlives it. A heartbeat that nobody takes never blocks the loop past cancellation.
///
/// ```
/// use std::time::Duration;
/// use harness::{chan, context::Context};
/// use patterns::multiplex::{multiplex, Stop};
///
/// # harness::check::Check::new("doc-multiplex").shuttle(10).run(|| async {
/// let (tx, inbox) = chan::bounded::<u32>(0);
/// let (beats, _monitor) = chan::unbounded();
/// let sender = harness::task::spawn(async move {
///     tx.send(1).await.unwrap();
///     tx.send(2).await.unwrap();
/// });
/// let mut seen = Vec::new();
/// let summary = multiplex(&Context::background(), inbox, beats, Duration::from_millis(5), |m| seen.push(m)).await;
/// sender.await.unwrap();
/// assert_eq!(seen, [1, 2]);
/// assert_eq!(summary.stopped, Stop::InboxClosed);
/// # }).unwrap();
/// ```
pub async fn multiplex<M, H>(
    ctx: &Context,
    inbox: Receiver<M>,
    beats: Sender<u64>,
    period: Duration,
    handle: H,
) -> Summary
where
    M: Send,
    H: FnMut(M),
{
    let (ticker_ctx, stop_ticker) = ctx.with_cancel();
    let (ticks, ticker) = start_ticker(ticker_ctx, period);
    let summary = event_loop(ctx, &inbox, &ticks, &beats, handle).await;
    stop_ticker.cancel();
    let _ = ticker.await;
    summary
}

/// The loop itself, shared by [`multiplex`] and its twin.
async fn event_loop<M: Send>(
    ctx: &Context,
    inbox: &Receiver<M>,
    ticks: &Receiver<Instant>,
    beats: &Sender<u64>,
    mut handle: impl FnMut(M),
) -> Summary {
    let mut handled = 0;
    let mut sent = 0;
    let done = |ctx: &Context| Stop::Context(ctx.err().expect("done() completed"));
    let stopped = loop {
        harness::select! {
            msg = inbox.recv() => match msg {
                Some(msg) => {
                    handle(msg);
                    handled += 1;
                }
                None => break Stop::InboxClosed,
            },
            tick = ticks.recv() => {
                if tick.is_none() {
                    // The ticker task only ends once its context, a child of ours, is done.
                    break done(ctx);
                }
                harness::select! {
                    delivered = beats.send(sent + 1) => {
                        if delivered.is_ok() {
                            sent += 1;
                        }
                    }
                    _ = ctx.done() => break done(ctx),
                }
            }
            _ = ctx.done() => break done(ctx),
        }
    };
    Summary {
        handled,
        beats: sent,
        stopped,
    }
}

/// BUGGY TWIN: [`multiplex`] with a ticker task that nobody ever stops. The loop returns on
/// cancel, and the ticker task goes on ticking into a channel nobody reads, for ever.
///
/// leakproof reports the task `"ticker"` as a leak (`FailureKind::Leak`): in models it is
/// stuck on `[ticker exhausted]` on a ticker created in this file (model time lets a ticker
/// fire only a few times per execution), on tokio it is still running after the grace period.
pub async fn multiplex_leaky<M, H>(
    ctx: &Context,
    inbox: Receiver<M>,
    beats: Sender<u64>,
    period: Duration,
    handle: H,
) -> Summary
where
    M: Send,
    H: FnMut(M),
{
    let (tx, ticks) = chan::bounded(1);
    // The bug: no way to stop this task, and nobody waits for it.
    task::spawn_named("ticker", async move {
        let mut ticker = Ticker::new(period);
        loop {
            let at = ticker.tick().await;
            let _ = tx.try_send(at);
        }
    });
    event_loop(ctx, &inbox, &ticks, &beats, handle).await
}
