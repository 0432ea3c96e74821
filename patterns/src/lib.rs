//! Go's concurrency patterns written once, as ordinary async Rust on leakproof's
//! primitives, each next to the buggy twins that leakproof must flag.
//!
//! | pattern | file | buggy twins |
//! |---|---|---|
//! | fan-out / fan-in | [`fan_in`] | [`fan_in::first_response_leaky`] (leak) |
//!
//! The same code runs under loom, shuttle and tokio: the models in the `models` crate
//! choose the checker, the pattern does not know which one runs it.

pub mod fan_in;
