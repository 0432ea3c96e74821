//! The bug corpus: real concurrency bugs, published with their interleavings, ported to
//! leakproof's primitives, each as the buggy code and its fix.
//!
//! Seeded mistakes written by the people who wrote the detector prove little; these bugs
//! happened in real projects or are the textbook examples that testing tools are measured
//! on. Each file ports one case in its own words and Rust's manners (shared state in
//! structs the way the original holds it, guards where Go had `Lock`/`Unlock`), with a
//! doc comment that tells the bug, the interleaving that exposes it and the fix.
//!
//! | case | origin | bug | expected |
//! |---|---|---|---|
//! | [`grpc_1460`] | GoBench GoKer grpc#1460 | lock held while receiving; the sender needs the lock | deadlock |
//! | [`hugo_3251`] | GoBench GoKer hugo#3251 | AB-BA through an `RWMutex` and per-URL mutexes | deadlock |
//! | [`cockroach_6181`] | GoBench GoKer cockroach#6181 | recursive read lock while a writer waits | deadlock |
//! | [`kubernetes_62464`] | GoBench GoKer kubernetes#62464 | recursive read lock through getters | deadlock |
//! | [`cockroach_584`] | GoBench GoKer cockroach#584 | missing unlock on `break`, then double lock | deadlock |
//! | [`cockroach_1055`] | GoBench GoKer cockroach#1055 | `WaitGroup` wait under a mutex a worker needs | deadlock |
//! | [`kubernetes_6632`] | GoBench GoKer kubernetes#6632 | send under a lock the receiver needs | deadlock |
//! | [`rayon_latch`] | Qin et al. PLDI'20, rayon f17d745 | latch misses a condvar notify | deadlock |
//! | [`ethereum_lock_order`] | Qin et al. PLDI'20, parity-ethereum#9952 | conflicting lock order | deadlock |
//! | [`tikv_539`] | Qin et al. PLDI'20, tikv#539 | condvar waiter trusts `Arc::strong_count` | deadlock |
//! | [`cargill_buffer`] | Cargill's bounded buffer | `signal` on a Cond shared by two conditions | deadlock |
//! | [`pct_figure1`] | PCT paper (ASPLOS'10), figure 1 | order violation (depth 1), atomicity violation and deadlock (depth 2) | panic, panic, deadlock |
//! | [`reorder_3`] | SCTBench `reorder_3` | two variables written and read unordered | race |
//! | [`twostage`] | SCTBench `twostage` | two locked stages read between them | panic |
//! | [`wronglock`] | SCTBench `wronglock` | one counter, two locks | race |
//! | [`din_phil3`] | SCTBench `din_phil3` | dining philosophers, circular lock order | deadlock |
//!
//! Models are named `corpus/<case>` (the bug, expected to fail with its kind) and
//! `corpus/<case>-fixed` (expected to pass under every checker). A buggy model lists the
//! checkers that must find it: loom, shuttle and PCT always; tokio only where a real run
//! exposes the bug every time (the real scheduler finds what it happens to produce, so a
//! claim of "tokio finds it" is kept only where it is deterministic). `leakproof corpus`
//! measures every checker on every case, tokio included, and README's "Real bugs" table
//! shows the result.
//!
//! Real bugs of tokio programs, written in tokio's own API, live in [`crate::tokio_corpus`]
//! (models `tokio/<case>` and `tokio/<case>-fixed`) and are part of this registry.

use harness::check::Checker;

use crate::Model;

pub mod cargill_buffer;
pub mod cockroach_1055;
pub mod cockroach_584;
pub mod cockroach_6181;
pub mod din_phil3;
pub mod ethereum_lock_order;
pub mod grpc_1460;
pub mod hugo_3251;
pub mod kubernetes_62464;
pub mod kubernetes_6632;
pub mod pct_figure1;
pub mod rayon_latch;
pub mod reorder_3;
pub mod tikv_539;
pub mod twostage;
pub mod wronglock;

/// The checkers a buggy model claims when a real tokio run does not expose it every time.
pub const MODEL_CHECKERS: &[Checker] = &[Checker::Loom, Checker::Shuttle, Checker::Pct];

/// Every corpus model, case by case (each bug followed by its fix).
pub fn models() -> Vec<Model> {
    let mut models = Vec::new();
    models.extend(grpc_1460::models());
    models.extend(hugo_3251::models());
    models.extend(cockroach_6181::models());
    models.extend(kubernetes_62464::models());
    models.extend(cockroach_584::models());
    models.extend(cockroach_1055::models());
    models.extend(kubernetes_6632::models());
    models.extend(rayon_latch::models());
    models.extend(ethereum_lock_order::models());
    models.extend(tikv_539::models());
    models.extend(cargill_buffer::models());
    models.extend(pct_figure1::models());
    models.extend(reorder_3::models());
    models.extend(twostage::models());
    models.extend(wronglock::models());
    models.extend(din_phil3::models());
    models.extend(crate::tokio_corpus::models());
    models
}
