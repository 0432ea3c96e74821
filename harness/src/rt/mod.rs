//! The checker's machinery: backend dispatch, the execution context, panic plumbing
//! and happens-before tracking for data races.
//! Users never touch this module; primitives and checkers build on it.

pub(crate) mod backend;
pub(crate) mod clock;
pub(crate) mod exec;
pub(crate) mod id_hash;
pub(crate) mod panic;
pub(crate) mod race;
pub(crate) mod verdict;
