//! Models of `patterns/src/bounded_spawn.rs`: a burst of requests, served with a cap and
//! without one, under the bound "never more than `limit` request tasks alive".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::time;
use patterns::bounded_spawn;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The bounded spawning models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "bounded-spawn",
            pattern: "patterns/src/bounded_spawn.rs",
            summary: "a burst of 3 requests, cap 2 (loom) or 8 requests, cap 3: never more than the cap alive, every response in request order",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: capped,
        },
        Model {
            name: "bounded-spawn/unbounded",
            pattern: "patterns/src/bounded_spawn.rs",
            summary: "the same burst with a task per request and no cap: more request tasks alive than the cap",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: ALL_CHECKERS,
            run: unbounded,
        },
    ]
}

/// (requests, cap): at most 3 spawned tasks under loom.
fn burst(size: Size) -> (u64, usize) {
    size.pick((3, 2), (8, 3))
}

/// The model's handler: counts the request tasks in flight, asserts the bound on entry,
/// and keeps the task alive for a while (virtual time under loom and shuttle, 5 ms on
/// tokio) so that a burst overlaps.
fn handler(
    in_flight: Arc<AtomicUsize>,
    limit: usize,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>>
       + Send
       + Sync
       + 'static {
    move |request: u64| {
        let in_flight = in_flight.clone();
        Box::pin(async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            if now > limit {
                let live = harness::track::snapshot().live_tasks().count();
                panic!(
                    "{now} request tasks in flight at once, over the cap of {limit} \
                     ({live} live tasks in all, the caller included)"
                );
            }
            time::sleep(Duration::from_millis(5)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            request * 10
        })
    }
}

fn capped(check: Check, size: Size) -> Result<Stats, Failure> {
    let (n, limit) = burst(size);
    check.run(move || async move {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let requests: Vec<u64> = (1..=n).collect();
        let out =
            bounded_spawn::serve(requests.clone(), limit, handler(in_flight.clone(), limit)).await;
        let want: Vec<u64> = requests.iter().map(|r| r * 10).collect();
        assert_eq!(out, want, "one response per request, in request order");
        assert_eq!(in_flight.load(Ordering::SeqCst), 0, "every request is done");
    })
}

fn unbounded(check: Check, size: Size) -> Result<Stats, Failure> {
    let (n, limit) = burst(size);
    check.run(move || async move {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let requests: Vec<u64> = (1..=n).collect();
        let out =
            bounded_spawn::serve_unbounded(requests.clone(), handler(in_flight.clone(), limit))
                .await;
        let want: Vec<u64> = requests.iter().map(|r| r * 10).collect();
        assert_eq!(out, want, "one response per request, in request order");
    })
}
