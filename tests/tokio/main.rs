//! tokio's own tests, ported to `harness::tokio`: each module is one of tokio's test files
//! (tests/<file>.rs), its tests written again from tokio's, run with `#[tokio::test]` —
//! `harness::tokio::test`, so under loom, shuttle, PCT and the tokio checker. README
//! ("Checking tokio code") gives the tally per file and why each left-out test is left out.

mod support;

mod macros_join;
mod macros_select;
mod sync_mpsc;
mod sync_oneshot;
mod task_join_set;
mod time_interval;
mod time_timeout;
