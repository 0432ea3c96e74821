//! Publish/subscribe: a broker task owns the list of subscribers and forwards every
//! published message to each of them, on a small buffered channel per subscriber.
//! Subscribing, unsubscribing, publishing and shutting down are messages to the broker, so
//! the list needs no lock.
//!
//! Next to it, the classic pub/sub deadlock: a subscriber that unsubscribes with a plain
//! send while the broker is blocked delivering to that very subscriber's full buffer. Each
//! waits for the other. The fix drains the subscription while it waits for the broker.
//!
//! This is the pattern the README's walkthrough "Check a pattern of your own" builds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use harness::chan::{self, Receiver, Sender};
use harness::context::Context;
use harness::task::{self, JoinHandle};

/// What the broker is asked to do.
enum Cmd<T> {
    Subscribe(u64, Sender<T>),
    Unsubscribe(u64),
    Publish(T),
    Shutdown,
}

/// A handle on a running broker; clones share it.
///
/// ```
/// use harness::context::Context;
/// use patterns::pubsub::Broker;
///
/// # harness::check::Check::new("doc-pubsub").shuttle(10).run(|| async {
/// let (broker, running) = Broker::start(&Context::background(), 1);
/// let sub = broker.subscribe().await.unwrap();
/// let reader = harness::task::spawn(async move {
///     let mut got = Vec::new();
///     while let Some(m) = sub.recv().await {
///         got.push(m);
///     }
///     got
/// });
/// broker.publish("a").await;
/// broker.publish("b").await;
/// broker.shutdown().await;
/// assert_eq!(reader.await.unwrap(), ["a", "b"]);
/// running.await.unwrap();
/// # }).unwrap();
/// ```
pub struct Broker<T> {
    cmds: Sender<Cmd<T>>,
    next_id: Arc<AtomicU64>,
    buffer: usize,
}

impl<T> Clone for Broker<T> {
    fn clone(&self) -> Self {
        Broker {
            cmds: self.cmds.clone(),
            next_id: self.next_id.clone(),
            buffer: self.buffer,
        }
    }
}

/// One subscriber's end: the messages published since it subscribed, in order.
pub struct Subscription<T> {
    id: u64,
    messages: Receiver<T>,
    cmds: Sender<Cmd<T>>,
}

impl<T: Clone + Send + 'static> Broker<T> {
    /// Starts the broker task. Each subscriber gets a channel with room for `buffer`
    /// messages; a full one holds the broker up (back-pressure) until it is read, until
    /// the subscriber unsubscribes, or until `ctx` is done.
    ///
    /// The broker runs until [`shutdown`](Broker::shutdown), until `ctx` is done, or until
    /// every handle and subscription is dropped; then it closes every subscriber's channel.
    pub fn start(ctx: &Context, buffer: usize) -> (Broker<T>, JoinHandle<()>) {
        let (cmds, inbox) = chan::bounded(0);
        let ctx = ctx.clone();
        let running = task::spawn_named("broker", async move {
            let mut subs: Vec<(u64, Sender<T>)> = Vec::new();
            'serve: loop {
                let cmd = harness::select! {
                    cmd = inbox.recv() => cmd,
                    _ = ctx.done() => break 'serve,
                };
                match cmd {
                    None | Some(Cmd::Shutdown) => break 'serve,
                    Some(Cmd::Subscribe(id, tx)) => subs.push((id, tx)),
                    // Dropping its sender closes the subscriber's channel.
                    Some(Cmd::Unsubscribe(id)) => subs.retain(|(i, _)| *i != id),
                    Some(Cmd::Publish(msg)) => {
                        let mut gone = Vec::new();
                        for (id, tx) in &subs {
                            harness::select! {
                                sent = tx.send(msg.clone()) => {
                                    // The subscriber dropped its end without unsubscribing.
                                    if sent.is_err() {
                                        gone.push(*id);
                                    }
                                }
                                _ = ctx.done() => break 'serve,
                            }
                        }
                        subs.retain(|(i, _)| !gone.contains(i));
                    }
                }
            }
            for (_, tx) in subs {
                tx.close();
            }
        });
        let broker = Broker {
            cmds,
            next_id: Arc::new(AtomicU64::new(0)),
            buffer,
        };
        (broker, running)
    }

    /// Subscribes: every message published after this returns reaches the subscription,
    /// in order. `None` if the broker has stopped.
    pub async fn subscribe(&self) -> Option<Subscription<T>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, messages) = chan::bounded(self.buffer);
        self.cmds.send(Cmd::Subscribe(id, tx)).await.ok()?;
        Some(Subscription {
            id,
            messages,
            cmds: self.cmds.clone(),
        })
    }

    /// Publishes `msg` to every current subscriber; returns once the broker has taken it,
    /// and false if the broker has stopped.
    pub async fn publish(&self, msg: T) -> bool {
        self.cmds.send(Cmd::Publish(msg)).await.is_ok()
    }

    /// Stops the broker after every message published before it has been delivered; each
    /// subscription then drains and ends.
    pub async fn shutdown(&self) {
        let _ = self.cmds.send(Cmd::Shutdown).await;
    }
}

impl<T: Send + 'static> Subscription<T> {
    /// The next message, or `None` once the broker has closed this subscription.
    pub async fn recv(&self) -> Option<T> {
        self.messages.recv().await
    }

    /// Leaves: the broker drops this subscriber. While waiting for the broker to take the
    /// request, messages still arriving are read and discarded, so that a broker blocked on
    /// this subscription's full buffer can move on and take it.
    pub async fn unsubscribe(self) {
        loop {
            harness::select! {
                _ = self.cmds.send(Cmd::Unsubscribe(self.id)) => return,
                msg = self.messages.recv() => {
                    if msg.is_none() {
                        return; // the broker has stopped: nothing to leave
                    }
                }
            }
        }
    }

    /// BUGGY TWIN of [`unsubscribe`](Subscription::unsubscribe): asks the broker with a plain
    /// send and stops reading meanwhile. If the broker is blocked delivering to this
    /// subscription's full buffer, neither can move: leakproof reports a deadlock
    /// (`FailureKind::Deadlock`), this subscriber blocked on `[chan send]` to the broker's
    /// channel and the broker blocked sending to the subscriber's.
    pub async fn unsubscribe_blocking(self) {
        let _ = self.cmds.send(Cmd::Unsubscribe(self.id)).await;
    }
}
