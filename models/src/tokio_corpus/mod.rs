//! The tokio bug corpus: real bugs of tokio programs, from public reports, written in plain
//! tokio API (`use harness::tokio;` at the top of each file, so the code reads as tokio code
//! and would compile against tokio with that one line changed), each as the buggy program
//! and its fix.
//!
//! | case | report | bug | expected |
//! |---|---|---|---|
//! | [`actor_self_sender`] | tokio#4023 | an actor keeps a `Sender` to itself, so it never sees `None` | leak |
//! | [`detached_on_timeout`] | tokio#1830 | a `timeout` drops the future holding a `JoinHandle`; the task waits forever | leak |
//! | [`mpsc_sender_kept`] | tokio#1761 | the receiving task still holds a `Sender` while draining the channel | deadlock |
//! | [`bounded_cycle`] | ockam#1947 | two workers send to each other over bounded channels, both full | deadlock |
//! | [`rwlock_recursive_read`] | tokio#2849 | a second `read()` while holding one, behind a queued writer | deadlock |
//! | [`notify_waiters_lost`] | fletch#194 | `notify_waiters` between the check and `notified()`: the wakeup is lost | deadlock |
//! | [`futurelock`] | omicron#9272, RFD 609 | a `select!` over `&mut fut` whose lock queue place blocks the other branch | deadlock |
//! | [`select_send_lost`] | tokio#5947 | a `select!` cancels a receive-then-send future after the receive: the message is lost | panic |
//!
//! Models are named `tokio/<case>` (the bug) and `tokio/<case>-fixed` (the fix, expected to
//! pass under every checker). They are part of [`crate::corpus::models`], so `leakproof
//! corpus` measures them with the Go-style corpus and `leakproof check` and `cargo test` run
//! them with every other model. As there, a buggy model claims the tokio checker only where
//! a real run exposes the bug every time.

use crate::Model;

pub mod actor_self_sender;
pub mod bounded_cycle;
pub mod detached_on_timeout;
pub mod futurelock;
pub mod mpsc_sender_kept;
pub mod notify_waiters_lost;
pub mod rwlock_recursive_read;
pub mod select_send_lost;

/// The checkers a buggy model claims when a real tokio run does not expose it every time
/// (the corpus's own list).
pub use crate::corpus::MODEL_CHECKERS;

/// Every tokio corpus model, case by case (each bug followed by its fix).
pub fn models() -> Vec<Model> {
    let mut models = Vec::new();
    models.extend(actor_self_sender::models());
    models.extend(detached_on_timeout::models());
    models.extend(mpsc_sender_kept::models());
    models.extend(bounded_cycle::models());
    models.extend(rwlock_recursive_read::models());
    models.extend(notify_waiters_lost::models());
    models.extend(futurelock::models());
    models.extend(select_send_lost::models());
    models
}
