//! `tokio::sync` on leakproof: tokio's synchronisation primitives, with tokio's paths and
//! semantics, on the harness's tracking, race detection and checkers.

pub mod mpsc;
pub mod oneshot;
