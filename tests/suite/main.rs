//! The workspace's integration tests, as modules of one test binary (each tests/*.rs file was
//! a binary of its own, compiled and linked separately): `cargo test --test suite` runs them
//! all, `cargo test --test suite race::` one module. tests/leakcheck.rs stays a binary of its
//! own: CI runs it once more without `--cfg tokio_unstable`.
//!
//! | module | what it tests |
//! |---|---|
//! | `models` | every model under every checker |
//! | `channels` | channel semantics on every backend |
//! | `golang` | Go's channel and select conformance |
//! | `sync`, `time_context` | the sync primitives; time and contexts |
//! | `checks` | the checkers themselves |
//! | `race` | the race detector |
//! | `cli` | the `leakproof` command line, run as a user runs it |
//! | `tokio_ports` | tokio's own tests ported to `harness::tokio`, one module per tokio file |
//! | `tokio_corpus` | the tokio bug corpus: links, fixed twins, reports in tokio's words |
//! | `tokio_net` | a TCP service in plain tokio through `leakproof::tokio::net` on the tokio checker |

#[path = "../common/mod.rs"]
mod common;

mod channels;
mod checks;
mod cli;
mod golang;
mod models;
mod race;
mod sync;
mod time_context;
mod tokio_corpus;
mod tokio_net;
mod tokio_ports;
mod tokio_untracked;
