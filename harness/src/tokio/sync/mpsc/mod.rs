//! `tokio::sync::mpsc` on leakproof: multi-producer, single-consumer channels with tokio's
//! rules, checked under loom, shuttle, PCT and the tokio checker.
//!
//! - [`channel`]`(n)` has room for `n` values (`n == 0` panics, as in tokio); a send waits
//!   for a free slot. [`unbounded_channel`] never makes a sender wait.
//! - A send fails with [`error::SendError`] holding the value once the receiver closed
//!   the channel ([`Receiver::close`]) or is gone: that is a result, never a finding.
//! - [`Receiver::recv`] returns values in order, then `None` once every sender is gone (or
//!   the channel was closed) and the buffer is drained.
//! - `send` reserves a slot and writes in the same poll: a send that loses a `select!`
//!   sent nothing. [`Sender::reserve`] gives a [`Permit`] that sends without waiting.
//!
//! A task blocked on a channel shows in reports with tokio's words:
//!
//! ```text
//! task 3 "actor" [mpsc recv]:
//!     blocked at src/actor.rs:40:31
//!     on mpsc channel #2 (capacity 4, 0 queued) created at src/actor.rs:12:23
//!     1 sender alive (created or cloned by task 0 "main"), the receiver alive; no task is
//!     sending on it, and the live senders are never dropped
//! ```
//!
//! The task named beside the senders is the one that created the channel or made its
//! newest sender (a clone, an upgraded [`WeakSender`]): where a sender was made is known,
//! where it went since is not, so it is a lead to the sender that keeps the channel open.
//!
//! ```
//! use leakproof::tokio::{self, sync::mpsc};
//!
//! leakproof::check::Check::new("doc-mpsc").shuttle(20).run(|| async {
//!     let (tx, mut rx) = mpsc::channel::<u32>(2);
//!     for i in 0..3 {
//!         let tx = tx.clone();
//!         tokio::spawn(async move { tx.send(i).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut sum = 0;
//!     while let Some(v) = rx.recv().await {
//!         sum += v;
//!     }
//!     assert_eq!(sum, 3);
//! }).unwrap();
//! ```
//!
//! Not mirrored (they fail to compile): `blocking_send`, `blocking_recv`,
//! `Sender::poll_reserve` (tokio-util's `PollSender`), `Receiver::poll_recv_many`.

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
