//! leakproof's harness: Go's concurrency vocabulary for async Rust, checked under loom,
//! shuttle and tokio from one `cargo test`.
//!
//! Write a pattern once on these primitives ([`task`], [`chan`]); run it with
//! [`check::Check`], which explores it exhaustively under loom, randomly under shuttle
//! (random and PCT schedules) and for real on tokio, and reports leaked tasks, deadlocks,
//! data races on [`cell::RaceCell`]s, panics and sends on closed channels with a token
//! that replays the failing schedule.
//!
//! ```
//! use leakproof::{chan, check::Check, task};
//!
//! Check::new("doc-fan-in").shuttle(20).pct(20, 2).tokio(1).run(|| async {
//!     let (tx, rx) = chan::bounded(0);
//!     for i in 0..3u32 {
//!         let tx = tx.clone();
//!         task::spawn(async move { tx.send(i * i).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut sum = 0;
//!     while let Some(v) = rx.recv().await {
//!         sum += v;
//!     }
//!     assert_eq!(sum, 5);
//! }).unwrap();
//! ```

#![warn(missing_docs)]

// The test attribute names the library as `::leakproof` inside its own package.
extern crate self as leakproof;

pub mod cell;
pub mod chan;
pub mod check;
pub mod context;
pub mod leakcheck;
pub(crate) mod rt;
pub mod select;
pub mod sync;
pub mod task;
pub mod time;
pub mod tokio;
pub mod tokio_util;
pub mod track;
