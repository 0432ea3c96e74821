//! Atomics that the model checkers see: `std::sync::atomic`'s types and methods, backed by
//! loom's atomics under loom, shuttle's under shuttle and std's on tokio.
//!
//! Use them instead of `std::sync::atomic` for state shared between tasks of a checked body:
//! under loom every access is a scheduling point and loom explores what each load may read
//! under the [`Ordering`]s used (so a `Relaxed` publication bug shows up), under shuttle every
//! access is a scheduling point (shuttle treats every ordering as `SeqCst`). A std atomic is
//! invisible to both: a lost update between a separate `load` and `store` would never be
//! interleaved.
//!
//! ```
//! use std::sync::Arc;
//! use leakproof::{check::Check, sync::atomic::{AtomicUsize, Ordering}, task};
//!
//! Check::new("doc-atomic").shuttle(20).run(|| async {
//!     let hits = Arc::new(AtomicUsize::new(0));
//!     let h = hits.clone();
//!     let t = task::spawn(async move { h.fetch_add(1, Ordering::SeqCst); });
//!     hits.fetch_add(1, Ordering::SeqCst); // one read-modify-write: no update is lost
//!     t.await.unwrap();
//!     assert_eq!(hits.load(Ordering::SeqCst), 2);
//! }).unwrap();
//! ```
//!
//! For [`RaceCell`](crate::cell::RaceCell)'s race detector, a store or read-modify-write with
//! `Release`, `AcqRel` or `SeqCst` happens before a load with `Acquire`, `AcqRel` or `SeqCst`
//! that reads from it (or from a read-modify-write after it); `Relaxed` orders nothing, on
//! every backend (shuttle runs every atomic as `SeqCst`, the detector still honours the
//! ordering written).
//!
//! Like every harness primitive, an atomic belongs to the execution it was created in:
//! create it inside the checked body (they cannot be `static`). `get_mut` is not offered
//! (loom's atomics have no such access); use [`AtomicUsize::into_inner`] and friends.

use std::fmt;

use crate::rt::backend;
use crate::rt::race::{AtomicClock, AtomicEffect};

pub use std::sync::atomic::Ordering;

/// A compare-and-swap is a read-modify-write when it succeeds, a load when it fails.
fn cas_effect<T>(r: &Result<T, T>, success: Ordering, failure: Ordering) -> AtomicEffect {
    match r {
        Ok(_) => AtomicEffect::Rmw(success),
        Err(_) => AtomicEffect::Load(failure),
    }
}

/// Declares one public atomic type over its backend enum.
macro_rules! atomic {
    (
        $(#[$doc:meta])*
        $name:ident, $t:ty, $example:literal,
        [$($(#[$mdoc:meta])* $rmw:ident),*]
    ) => {
        $(#[$doc])*
        pub struct $name(backend::$name, AtomicClock);

        impl $name {
            #[doc = concat!("A new atomic holding `v`, of the current checker's kind.\n\n```\n",
                "use leakproof::sync::atomic::{", stringify!($name), ", Ordering};\n",
                "let a = ", stringify!($name), "::new(", $example, ");\n",
                "assert_eq!(a.load(Ordering::SeqCst), ", $example, ");\n```")]
            #[track_caller]
            pub fn new(v: $t) -> Self {
                $name(backend::$name::new(v), AtomicClock::default())
            }

            /// Loads the value.
            #[track_caller]
            pub fn load(&self, order: Ordering) -> $t {
                self.1.run(|| self.0.load(order), |_| AtomicEffect::Load(order))
            }

            /// Stores `v`.
            #[track_caller]
            pub fn store(&self, v: $t, order: Ordering) {
                self.1.run(|| self.0.store(v, order), |_| AtomicEffect::Store(order))
            }

            /// Stores `v`, returning the previous value.
            #[track_caller]
            pub fn swap(&self, v: $t, order: Ordering) -> $t {
                self.1.run(|| self.0.swap(v, order), |_| AtomicEffect::Rmw(order))
            }

            /// Stores `new` if the value is `current`; returns the previous value, `Ok` if
            /// it was `current`.
            #[track_caller]
            pub fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                self.1.run(
                    || self.0.compare_exchange(current, new, success, failure),
                    |r| cas_effect(r, success, failure),
                )
            }

            /// Like [`compare_exchange`](Self::compare_exchange), but may fail spuriously
            /// on std (loom and shuttle never fail spuriously).
            #[track_caller]
            pub fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                self.1.run(
                    || self.0.compare_exchange_weak(current, new, success, failure),
                    |r| cas_effect(r, success, failure),
                )
            }

            /// Applies `f` until the update succeeds or `f` returns `None`; returns the
            /// previous value, `Ok` if an update was stored.
            #[track_caller]
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: F,
            ) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                self.1.run(
                    || self.0.fetch_update(set_order, fetch_order, f),
                    |r| cas_effect(r, set_order, fetch_order),
                )
            }

            $(
                $(#[$mdoc])*
                #[track_caller]
                pub fn $rmw(&self, v: $t, order: Ordering) -> $t {
                    self.1.run(|| self.0.$rmw(v, order), |_| AtomicEffect::Rmw(order))
                }
            )*

            /// Consumes the atomic and returns the value.
            #[track_caller]
            pub fn into_inner(self) -> $t {
                self.0.into_inner()
            }
        }

        impl Default for $name {
            #[track_caller]
            fn default() -> Self {
                $name::new(<$t>::default())
            }
        }

        impl From<$t> for $name {
            #[track_caller]
            fn from(v: $t) -> Self {
                $name::new(v)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.load(Ordering::Relaxed), f)
            }
        }
    };
}

/// Declares one public atomic integer type.
macro_rules! atomic_int {
    ($(#[$doc:meta])* $name:ident, $t:ty) => {
        atomic!(
            $(#[$doc])*
            $name, $t, "5",
            [
                /// Adds `v` (wrapping), returning the previous value.
                fetch_add,
                /// Subtracts `v` (wrapping), returning the previous value.
                fetch_sub,
                /// Bitwise "and" with `v`, returning the previous value.
                fetch_and,
                /// Bitwise "nand" with `v`, returning the previous value.
                fetch_nand,
                /// Bitwise "or" with `v`, returning the previous value.
                fetch_or,
                /// Bitwise "xor" with `v`, returning the previous value.
                fetch_xor,
                /// Stores the maximum of the value and `v`, returning the previous value.
                fetch_max,
                /// Stores the minimum of the value and `v`, returning the previous value.
                fetch_min
            ]
        );
    };
}

atomic!(
    /// A boolean shared between tasks: `std::sync::atomic::AtomicBool` that the checkers see.
    AtomicBool, bool, "true",
    [
        /// Logical "and" with `v`, returning the previous value.
        fetch_and,
        /// Logical "nand" with `v`, returning the previous value.
        fetch_nand,
        /// Logical "or" with `v`, returning the previous value.
        fetch_or,
        /// Logical "xor" with `v`, returning the previous value.
        fetch_xor
    ]
);

impl AtomicBool {
    /// Negates the value, returning the previous value.
    #[track_caller]
    pub fn fetch_not(&self, order: Ordering) -> bool {
        self.fetch_xor(true, order)
    }
}

atomic_int!(
    /// A `usize` shared between tasks: `std::sync::atomic::AtomicUsize` that the checkers see.
    AtomicUsize,
    usize
);
atomic_int!(
    /// A `u64` shared between tasks: `std::sync::atomic::AtomicU64` that the checkers see.
    AtomicU64,
    u64
);
atomic_int!(
    /// An `i64` shared between tasks: `std::sync::atomic::AtomicI64` that the checkers see.
    AtomicI64,
    i64
);
