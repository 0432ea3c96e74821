//! An actor that keeps a `Sender` to its own mailbox never shuts down: tokio#4023,
//! <https://github.com/tokio-rs/tokio/issues/4023> ("Implement a Weak `mpsc` Sender variant").
//!
//! The actor recipe of Alice Ryhl's "Actors with Tokio"
//! (<https://ryhl.io/blog/actors-with-tokio/>) shuts an actor down through RAII: the actor
//! loops on `recv()`, and once every handle (every `Sender`) is dropped `recv()` returns `None`
//! and the task ends. The report: an actor that sends messages to itself keeps a clone of its
//! own sender, "but then RAII of Sender copies can no longer be relied on as a signal to shut
//! the actor down, since it will always hold a Handle to itself". Here the id actor schedules
//! a `Tick` to itself after each request; when the test drops the last handle the actor waits
//! in `recv()` forever, detached: a task that outlives the test.
//!
//! The fix is the one tokio shipped for that issue: the actor keeps a `WeakSender`
//! (`Sender::downgrade`) and upgrades it only for the moment it sends, so its own sender no
//! longer keeps the channel open.

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::{mpsc, oneshot};

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The actor-self-sender models: the actor holding its own sender, and the one holding a
/// weak sender.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/actor-self-sender",
            pattern: "models/src/tokio_corpus/actor_self_sender.rs",
            summary: "the id actor keeps a Sender to its own mailbox: after the last handle is dropped it waits in recv() forever",
            expect: Expect::Fail(FailureKind::Leak),
            // Every run leaves the actor waiting: no interleaving lets it see `None`.
            checkers: ALL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/actor-self-sender-fixed",
            pattern: "models/src/tokio_corpus/actor_self_sender.rs",
            summary: "the actor keeps a WeakSender to itself: dropping the last handle ends it",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

enum ActorMessage {
    GetUniqueId { respond_to: oneshot::Sender<u32> },
    Tick,
}

/// How the actor reaches its own mailbox.
enum SelfSender {
    Strong(mpsc::Sender<ActorMessage>),
    Weak(mpsc::WeakSender<ActorMessage>),
}

struct MyActor {
    receiver: mpsc::Receiver<ActorMessage>,
    me: SelfSender,
    next_id: u32,
    ticks: u32,
}

impl MyActor {
    fn handle_message(&mut self, msg: ActorMessage) {
        match msg {
            ActorMessage::GetUniqueId { respond_to } => {
                self.next_id += 1;
                let _ = respond_to.send(self.next_id);
                // Book-keeping later, through the actor's own mailbox.
                match &self.me {
                    SelfSender::Strong(me) => {
                        let _ = me.try_send(ActorMessage::Tick);
                    }
                    SelfSender::Weak(me) => {
                        if let Some(me) = me.upgrade() {
                            let _ = me.try_send(ActorMessage::Tick);
                        }
                    }
                }
            }
            ActorMessage::Tick => self.ticks += 1,
        }
    }
}

async fn run_my_actor(mut actor: MyActor) {
    while let Some(msg) = actor.receiver.recv().await {
        actor.handle_message(msg);
    }
}

/// The handle the rest of the program holds.
#[derive(Clone)]
struct MyActorHandle {
    sender: mpsc::Sender<ActorMessage>,
}

impl MyActorHandle {
    fn new(weak_self: bool) -> Self {
        let (sender, receiver) = mpsc::channel(8);
        let me = if weak_self {
            SelfSender::Weak(sender.downgrade())
        } else {
            SelfSender::Strong(sender.clone())
        };
        let actor = MyActor {
            receiver,
            me,
            next_id: 0,
            ticks: 0,
        };
        tokio::task::Builder::new()
            .name("id-actor")
            .spawn(run_my_actor(actor))
            .expect("spawn the actor");
        Self { sender }
    }

    async fn get_unique_id(&self) -> u32 {
        let (send, recv) = oneshot::channel();
        let msg = ActorMessage::GetUniqueId { respond_to: send };
        let _ = self.sender.send(msg).await;
        recv.await.expect("actor task has been killed")
    }
}

fn scenario(check: Check, size: Size, weak_self: bool) -> Result<Stats, Failure> {
    let requests = size.pick(1, 3);
    check.run(move || async move {
        let handle = MyActorHandle::new(weak_self);
        for want in 1..=requests {
            assert_eq!(handle.get_unique_id().await, want);
        }
        // The last handle goes away: the actor should see `None` and end.
        drop(handle);
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
