//! Go's concurrency patterns written once, as ordinary async Rust on leakproof's
//! primitives, each next to the buggy twins that leakproof must flag.
//!
//! | pattern | file | correct versions | buggy twins (what leakproof reports) |
//! |---|---|---|---|
//! | fan-out / fan-in | [`fan_in`] | [`fan_in::fan_in`], [`fan_in::first_response`], [`fan_in::merge`] | [`fan_in::first_response_leaky`] (leak), [`fan_in::merge_each_closes`] (send on closed channel: closed from the wrong side) |
//! | worker pool | [`worker_pool`] | [`worker_pool::worker_pool`], [`worker_pool::count_jobs`], [`worker_pool::count_jobs_locked`] | [`worker_pool::worker_pool_closes_early`] (send on closed channel), [`worker_pool::count_jobs_racy`] (data race), [`worker_pool::count_jobs_lost_update`] (lost update: the model's count fails, panic) |
//! | pipeline | [`pipeline`] | [`pipeline::squares`], [`pipeline::first_squares`] | [`pipeline::first_squares_leaky`] (leak: the sink stops reading early) |
//! | bounded spawning | [`bounded_spawn`] | [`bounded_spawn::serve`] | [`bounded_spawn::serve_unbounded`] (the model's bound "at most N alive" fails, panic) |
//! | context cancellation | [`cancel`] | [`cancel::fetch_with_timeout`] | [`cancel::fetch_with_timeout_leaky`] (leak: the worker's send ignores `ctx.done()`) |
//! | select multiplexing | [`multiplex`] | [`multiplex::multiplex`] | [`multiplex::multiplex_leaky`] (leak: the ticker task is never stopped) |
//! | publish/subscribe (the README walkthrough's) | [`pubsub`] | [`pubsub::Broker`], [`pubsub::Subscription::unsubscribe`] | [`pubsub::Subscription::unsubscribe_blocking`] (deadlock: unsubscribing while the broker blocks on our buffer) |
//!
//! The same code runs under loom, shuttle and tokio: the models in the `models` crate
//! choose the checker, the pattern does not know which one runs it.

pub mod bounded_spawn;
pub mod cancel;
pub mod fan_in;
pub mod multiplex;
pub mod pipeline;
pub mod pubsub;
pub mod worker_pool;
