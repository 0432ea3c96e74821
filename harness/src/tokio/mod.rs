//! tokio's API on leakproof's primitives: with `use harness::tokio;` at its top, a file
//! written for tokio runs under loom, shuttle, PCT and the tokio checker, its tasks and
//! waits tracked and reported in tokio's words.

pub mod sync;
