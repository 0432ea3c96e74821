//! Models of `patterns/src/cancel.rs`: `fetch_with_timeout` against a simulated service
//! (answers after a latency, fails on demand, or hangs), under a deadline, a parent's
//! cancellation and a race between the two; and the leaky twin.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::context::{Context, ContextError};
use harness::time::{self, Instant};
use harness::{task, track};
use patterns::cancel::{fetch_with_timeout, fetch_with_timeout_leaky};
use patterns::fan_in::fan_in;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The cancellation models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "cancel/fan-out",
            pattern: "patterns/src/cancel.rs",
            summary: "fan-out of fetches under a 5 ms deadline to a hung service (loom) plus fast and failing ones: the hung ones end DeadlineExceeded, the others answer (or, in models, hit the deadline), no call leaves work running",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fan_out_under_deadline,
        },
        Model {
            name: "cancel/parent",
            pattern: "patterns/src/cancel.rs",
            summary: "a user task cancels the parent context while the service hangs: the call returns Canceled and leaves no task behind",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: parent_cancelled,
        },
        Model {
            name: "cancel/race",
            pattern: "patterns/src/cancel.rs",
            summary: "the service answers just as the deadline passes: the call returns the answer or DeadlineExceeded (never early), and leaves no task behind",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: answer_races_deadline,
        },
        Model {
            name: "cancel/leaky",
            pattern: "patterns/src/cancel.rs",
            summary: "the seed's fetch: the worker's send ignores ctx.done(), so when the deadline wins it blocks forever",
            expect: Expect::Fail(FailureKind::Leak),
            checkers: ALL_CHECKERS,
            run: leaky_fetch,
        },
    ]
}

/// What the simulated service fails with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceError {
    /// The failure the service was asked to produce.
    Unavailable,
}

/// A simulated remote service: how it answers a request.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    /// Answers `10 × request` after this latency (virtual in models).
    Answers(Duration),
    /// Fails with [`ServiceError::Unavailable`] at once.
    Fails,
    /// Never answers.
    Hangs,
}

/// Counts service calls in flight: one while a call's future is alive, released when it
/// completes or is dropped (cancelled).
#[derive(Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InFlight {
    /// Calls still running.
    pub fn now(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Service {
    /// One request to the service, counted in `in_flight` for as long as it runs.
    pub async fn call(self, request: u64, in_flight: InFlight) -> Result<u64, ServiceError> {
        in_flight.0.fetch_add(1, Ordering::SeqCst);
        let _guard = InFlightGuard(in_flight.0.clone());
        match self {
            Service::Answers(latency) => {
                time::sleep(latency).await;
                Ok(request * 10)
            }
            Service::Fails => Err(ServiceError::Unavailable),
            Service::Hangs => std::future::pending().await,
        }
    }
}

/// Names of the spawned tasks still alive in this execution.
fn live_spawned_tasks() -> Vec<String> {
    track::snapshot()
        .live_tasks()
        .filter(|t| t.id != 0)
        .map(|t| format!("task {} {:?}", t.id, t.name))
        .collect()
}

/// What one call must leave behind: no task it started, no service call running.
fn assert_nothing_outlives(in_flight: &InFlight) {
    assert_eq!(
        live_spawned_tasks(),
        Vec::<String>::new(),
        "fetch_with_timeout returned with a task still alive"
    );
    assert_eq!(
        in_flight.now(),
        0,
        "a service call outlived fetch_with_timeout"
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fan_out_under_deadline(check: Check, size: Size) -> Result<Stats, Failure> {
    // Loom: one hung service (fan-in's worker and closer plus the fetch's worker: 3 tasks).
    let services = size.pick(
        vec![Service::Hangs],
        vec![
            Service::Answers(ms(1)),
            Service::Fails,
            Service::Hangs,
            Service::Answers(Duration::ZERO),
        ],
    );
    check.run(move || {
        let services = services.clone();
        async move {
            // Real time needs room for the quick services on a loaded machine.
            let deadline = if time::is_virtual() { ms(5) } else { ms(300) };
            let start = Instant::now();
            let (ctx, _cancel) = Context::background().with_timeout(deadline);
            let in_flight = InFlight::default();
            let requests: Vec<(u64, Service)> = (1..).zip(services.iter().copied()).collect();
            let flight = in_flight.clone();
            let results =
                fan_in(requests, move |(request, service)| {
                    let (ctx, flight) = (ctx.clone(), flight.clone());
                    async move {
                        fetch_with_timeout(&ctx, move |_ctx| service.call(request, flight)).await
                    }
                })
                .await;
            let virtual_time = time::is_virtual();
            for ((request, service), result) in (1..).zip(&services).zip(&results) {
                let deadline_hit = *result == Err(ContextError::DeadlineExceeded);
                if deadline_hit {
                    assert!(
                        start.elapsed() >= deadline,
                        "DeadlineExceeded before the deadline"
                    );
                }
                match service {
                    Service::Hangs => assert!(deadline_hit, "request {request}: {result:?}"),
                    // In a model the deadline may pass before a quick service is even
                    // called; on tokio the deadline is far off for these.
                    Service::Answers(_) => assert!(
                        *result == Ok(Ok(request * 10)) || (virtual_time && deadline_hit),
                        "request {request}: {result:?}"
                    ),
                    Service::Fails => assert!(
                        *result == Ok(Err(ServiceError::Unavailable))
                            || (virtual_time && deadline_hit),
                        "request {request}: {result:?}"
                    ),
                }
            }
            assert_eq!(in_flight.now(), 0, "a service call outlived its fetch");
        }
    })
}

fn parent_cancelled(check: Check, _size: Size) -> Result<Stats, Failure> {
    check.run(|| async {
        let (parent, cancel) = Context::background().with_cancel();
        let user = task::spawn_named("user", async move {
            time::sleep(ms(1)).await;
            cancel.cancel();
        });
        let in_flight = InFlight::default();
        let flight = in_flight.clone();
        let result = fetch_with_timeout(&parent, move |_ctx| Service::Hangs.call(1, flight)).await;
        assert_eq!(result, Err(ContextError::Canceled));
        user.await.unwrap();
        assert_nothing_outlives(&in_flight);
    })
}

fn answer_races_deadline(check: Check, _size: Size) -> Result<Stats, Failure> {
    check.run(|| async {
        let start = Instant::now();
        let (ctx, _cancel) = Context::background().with_timeout(ms(5));
        let in_flight = InFlight::default();
        let flight = in_flight.clone();
        let result =
            fetch_with_timeout(&ctx, move |_ctx| Service::Answers(ms(5)).call(4, flight)).await;
        match result {
            Ok(answer) => assert_eq!(answer, Ok(40)),
            Err(e) => {
                assert_eq!(e, ContextError::DeadlineExceeded);
                assert!(
                    start.elapsed() >= ms(5),
                    "DeadlineExceeded before the deadline"
                );
            }
        }
        assert_nothing_outlives(&in_flight);
    })
}

fn leaky_fetch(check: Check, _size: Size) -> Result<Stats, Failure> {
    check.run(|| async {
        let (ctx, _cancel) = Context::background().with_timeout(ms(5));
        let in_flight = InFlight::default();
        let flight = in_flight.clone();
        // A service slower than the deadline.
        let result =
            fetch_with_timeout_leaky(&ctx, move |_ctx| Service::Answers(ms(100)).call(2, flight))
                .await;
        assert!(
            result == Err(ContextError::DeadlineExceeded) || result == Ok(Ok(20)),
            "{result:?}"
        );
    })
}
