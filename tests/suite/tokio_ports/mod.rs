//! tokio's own conformance tests, ported onto `harness::tokio` and run under every checker
//! (loom, shuttle random, shuttle PCT, a real tokio runtime): one module per tokio test file
//! (tests/<file>.rs), its tests written again from tokio's, with buggy twins where a detector
//! applies. README ("Checking tokio code") gives the tally per file and why each left-out test
//! is left out.

mod attribute;
mod support;
mod sync_support;

mod macros_join;
mod macros_select;
mod sync_barrier;
mod sync_broadcast;
mod sync_mpsc;
mod sync_mutex;
mod sync_notify;
mod sync_oneshot;
mod sync_rwlock;
mod sync_semaphore;
mod sync_watch;
mod task_join_set;
mod time_interval;
mod time_timeout;
mod tokio_util;
