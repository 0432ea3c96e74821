//! tokio's own conformance tests, ported onto `harness::tokio` and run under every checker
//! (loom, shuttle random, shuttle PCT, a real tokio runtime), one module per tokio test file,
//! with buggy twins where a detector applies.

#[path = "../common/mod.rs"]
mod common;

mod sync_barrier;
mod sync_broadcast;
mod sync_mutex;
mod sync_notify;
mod sync_rwlock;
mod sync_semaphore;
mod sync_support;
mod sync_watch;
mod tokio_util;
