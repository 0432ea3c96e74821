//! Models of `patterns/src/worker_pool.rs`: the pool, the pool that closes its results
//! early, and the job counters (atomic, lost update, data race).

use std::sync::{Arc, Mutex};

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::task;
use patterns::worker_pool;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The worker pool models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "worker-pool",
            pattern: "patterns/src/worker_pool.rs",
            summary: "2 workers, 2 jobs (loom) or 4 workers, 10 jobs: exactly the multiset of results comes back, each job processed once, no task outlives the pool",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: pool,
        },
        Model {
            name: "worker-pool/close-results-early",
            pattern: "patterns/src/worker_pool.rs",
            summary: "the caller closes the results channel once the jobs are queued: the workers' results land on a closed channel",
            expect: Expect::Fail(FailureKind::ClosedSend),
            checkers: ALL_CHECKERS,
            run: pool_closes_early,
        },
        Model {
            name: "worker-pool/count",
            pattern: "patterns/src/worker_pool.rs",
            summary: "workers count processed jobs with one atomic fetch_add: the count equals the number of jobs",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: count,
        },
        Model {
            name: "worker-pool/count-lost-update",
            pattern: "patterns/src/worker_pool.rs",
            summary: "workers count with an atomic load, an await, then a store: an increment is lost and the count falls short",
            expect: Expect::Fail(FailureKind::Panic),
            checkers: ALL_CHECKERS,
            run: count_lost_update,
        },
        Model {
            name: "worker-pool/count-racy",
            pattern: "patterns/src/worker_pool.rs",
            summary: "workers count in a RaceCell with no synchronisation: a data race between two workers' accesses",
            expect: Expect::Fail(FailureKind::Race),
            checkers: ALL_CHECKERS,
            run: count_racy,
        },
        Model {
            name: "worker-pool/count-locked",
            pattern: "patterns/src/worker_pool.rs",
            summary: "the same RaceCell counter, each update under a mutex and read after the pool: no race, the count equals the number of jobs",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: count_locked,
        },
    ]
}

/// (workers, jobs): under loom two workers and two jobs, enough for two workers to read one
/// counter value.
fn pool_size(size: Size) -> (usize, u64) {
    size.pick((2, 2), (4, 10))
}

fn pool(check: Check, size: Size) -> Result<Stats, Failure> {
    let (workers, n) = pool_size(size);
    check.run(move || async move {
        let jobs: Vec<u64> = (1..=n).collect();
        let processed = Arc::new(Mutex::new(Vec::new()));
        let log = processed.clone();
        let mut out = worker_pool::worker_pool(workers, jobs.clone(), move |job: u64| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(job);
                task::yield_now().await;
                (job, job * job)
            }
        })
        .await;
        out.sort();
        let want: Vec<(u64, u64)> = jobs.iter().map(|&j| (j, j * j)).collect();
        assert_eq!(out, want, "the pool must return exactly one result per job");
        let mut processed = processed.lock().unwrap().clone();
        processed.sort();
        assert_eq!(processed, jobs, "every job must be processed exactly once");
    })
}

fn pool_closes_early(check: Check, size: Size) -> Result<Stats, Failure> {
    let (workers, n) = pool_size(size);
    check.run(move || async move {
        let out = worker_pool::worker_pool_closes_early(
            workers,
            (1..=n).collect(),
            |job: u64| async move {
                task::yield_now().await;
                job * job
            },
        )
        .await;
        // The channel is closed before the caller reads anything.
        assert!(out.is_empty(), "no result can arrive: {out:?}");
    })
}

fn count(check: Check, size: Size) -> Result<Stats, Failure> {
    let (workers, n) = pool_size(size);
    check.run(move || async move {
        let counted = worker_pool::count_jobs(workers, n).await;
        assert_eq!(counted, n, "the pool counted {counted} of {n} jobs");
    })
}

fn count_lost_update(check: Check, size: Size) -> Result<Stats, Failure> {
    let (workers, n) = pool_size(size);
    check.run(move || async move {
        let counted = worker_pool::count_jobs_lost_update(workers, n).await;
        assert_eq!(
            counted, n,
            "lost update: the pool counted {counted} of {n} jobs"
        );
    })
}

fn count_racy(check: Check, size: Size) -> Result<Stats, Failure> {
    let (workers, n) = pool_size(size);
    check.run(move || async move {
        // No property on the count: whether an increment is lost depends on the schedule;
        // the unsynchronised accesses themselves are the bug the race detector reports.
        let _counted = worker_pool::count_jobs_racy(workers, n).await;
    })
}

fn count_locked(check: Check, size: Size) -> Result<Stats, Failure> {
    let (workers, n) = pool_size(size);
    check.run(move || async move {
        let counted = worker_pool::count_jobs_locked(workers, n).await;
        assert_eq!(counted, n, "the pool counted {counted} of {n} jobs");
    })
}
