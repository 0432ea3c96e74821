//! The tokio-util pieces Go-style tokio code leans on, on leakproof's machinery:
//! [`sync::CancellationToken`] and [`task::TaskTracker`], at tokio-util's own paths.

pub mod sync;
pub mod task;
