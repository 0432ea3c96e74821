//! Worker pool: a fixed number of workers pull jobs from one shared channel until it
//! closes; their results come back on one channel, which closes once the last worker is
//! done (in Go, `sync.WaitGroup` plus `close(results)`; here the last worker's sender
//! closes it as it drops).
//!
//! Next to it, the mistakes people make with it:
//! - closing the results channel as soon as the jobs are queued, while the workers are
//!   still busy with them: their sends land on a closed channel
//!   ([`worker_pool_closes_early`], `FailureKind::ClosedSend`);
//! - counting the processed jobs in shared memory without synchronisation
//!   ([`count_jobs_racy`], a data race, `FailureKind::Race`);
//! - counting them with an atomic `load`, an `.await`, then a `store`: two workers read the
//!   same value and one increment is lost ([`count_jobs_lost_update`]; the count comes out
//!   short, which the model's property catches as a `FailureKind::Panic`).
//!
//! The fixes: [`worker_pool`] (close after the workers, not after the jobs),
//! [`count_jobs`] (one atomic read-modify-write, `fetch_add`) and [`count_jobs_locked`]
//! (the same shared memory, under a mutex).

use std::future::Future;
use std::sync::Arc;

use harness::cell::RaceCell;
use harness::chan;
use harness::sync::atomic::{AtomicU64, Ordering};
use harness::sync::Mutex;
use harness::task;

/// When the results channel gets closed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CloseResults {
    /// When the last worker ends and drops its sender: no worker can send any more.
    AfterWorkers,
    /// As soon as every job is queued (the bug).
    AfterQueueing,
}

/// Runs `work` on every job with `workers` workers and returns every result, in the order
/// they were finished.
///
/// The caller queues every job on a channel with room for all of them and closes it; each
/// worker takes jobs until that channel is closed and drained. Every worker owns a sender
/// of the results channel, and the caller drops its own: the channel closes when the last
/// worker ends (Go: `wg.Wait(); close(results)`), which ends the caller's receive loop.
/// Every job is processed exactly once, by one of the workers.
///
/// ```
/// # harness::check::Check::new("doc-worker-pool").shuttle(10).run(|| async {
/// let mut out = patterns::worker_pool::worker_pool(2, vec![1u64, 2, 3], |x| async move { x * 10 }).await;
/// out.sort();
/// assert_eq!(out, vec![10, 20, 30]);
/// # }).unwrap();
/// ```
pub async fn worker_pool<J, O, W, Fut>(workers: usize, jobs: Vec<J>, work: W) -> Vec<O>
where
    J: Send + 'static,
    O: Send + 'static,
    W: Fn(J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    pool(workers, jobs, work, CloseResults::AfterWorkers).await
}

/// BUGGY TWIN: the same pool, but the caller closes the results channel as soon as it has
/// queued every job ("the jobs are all out, so we are done"), before it reads any result.
///
/// The workers are still working: each result they send lands on a closed channel,
/// "send on closed channel" (`FailureKind::ClosedSend`; Go panics there), and the caller
/// gets no results at all.
pub async fn worker_pool_closes_early<J, O, W, Fut>(workers: usize, jobs: Vec<J>, work: W) -> Vec<O>
where
    J: Send + 'static,
    O: Send + 'static,
    W: Fn(J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    pool(workers, jobs, work, CloseResults::AfterQueueing).await
}

async fn pool<J, O, W, Fut>(workers: usize, jobs: Vec<J>, work: W, close: CloseResults) -> Vec<O>
where
    J: Send + 'static,
    O: Send + 'static,
    W: Fn(J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    assert!(workers > 0, "a worker pool needs at least one worker");
    let work = Arc::new(work);
    let (jobs_tx, jobs_rx) = chan::bounded::<J>(jobs.len());
    let (results_tx, results_rx) = chan::bounded::<O>(0);
    for w in 0..workers {
        let (jobs_rx, results_tx, work) = (jobs_rx.clone(), results_tx.clone(), work.clone());
        task::spawn_named(format!("worker-{w}"), async move {
            while let Some(job) = jobs_rx.recv().await {
                let out = work(job).await;
                if results_tx.send(out).await.is_err() {
                    // Closed under our feet (the buggy twin): nobody will read the rest.
                    break;
                }
            }
        });
    }
    drop(jobs_rx);
    for job in jobs {
        // Room for every job, and the workers hold the receiver: cannot fail or wait.
        let _ = jobs_tx.send(job).await;
    }
    jobs_tx.close();
    if close == CloseResults::AfterQueueing {
        results_tx.close();
    }
    // The workers' senders are now the only ones: the last worker to end closes it.
    drop(results_tx);
    let mut results = Vec::new();
    while let Some(out) = results_rx.recv().await {
        results.push(out);
    }
    results
}

/// Processes the jobs `1..=jobs` with `workers` workers, counting each processed job in a
/// shared atomic counter with one `fetch_add`; returns the count, which is always `jobs`.
///
/// ```
/// # harness::check::Check::new("doc-count-jobs").shuttle(10).run(|| async {
/// assert_eq!(patterns::worker_pool::count_jobs(2, 5).await, 5);
/// # }).unwrap();
/// ```
pub async fn count_jobs(workers: usize, jobs: u64) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    worker_pool(workers, (1..=jobs).collect(), move |job: u64| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            job
        }
    })
    .await;
    counter.load(Ordering::SeqCst)
}

/// BUGGY TWIN: counts like [`count_jobs`], but each worker reads the counter, awaits
/// something (here a yield; in real code a log write or a database call), and stores the
/// value it read plus one.
///
/// Every access is atomic, so there is no data race, yet two workers that read the same
/// value both store it plus one: an increment is lost and the count comes out short of
/// `jobs`.
pub async fn count_jobs_lost_update(workers: usize, jobs: u64) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    worker_pool(workers, (1..=jobs).collect(), move |job: u64| {
        let c = c.clone();
        async move {
            let seen = c.load(Ordering::SeqCst);
            task::yield_now().await;
            c.store(seen + 1, Ordering::SeqCst);
            job
        }
    })
    .await;
    counter.load(Ordering::SeqCst)
}

/// BUGGY TWIN: counts the processed jobs in plain shared memory (a [`RaceCell`], leakproof's
/// stand-in for an unsynchronised variable) that every worker reads and writes with no
/// lock: a data race (`FailureKind::Race`), whether or not an increment happens to get lost
/// in a given run.
pub async fn count_jobs_racy(workers: usize, jobs: u64) -> u64 {
    let counter = Arc::new(RaceCell::new(0u64));
    let c = counter.clone();
    worker_pool(workers, (1..=jobs).collect(), move |job: u64| {
        let c = c.clone();
        async move {
            c.set(c.get() + 1);
            job
        }
    })
    .await;
    counter.get()
}

/// Counts like [`count_jobs_racy`], in the same unsynchronised cell, but each worker holds
/// a [`Mutex`] around its read and write (Go: `mu.Lock(); count++; mu.Unlock()`), and the
/// caller reads the count only once the pool is done: every access is ordered, no race.
///
/// ```
/// # harness::check::Check::new("doc-count-jobs-locked").shuttle(10).run(|| async {
/// assert_eq!(patterns::worker_pool::count_jobs_locked(2, 5).await, 5);
/// # }).unwrap();
/// ```
pub async fn count_jobs_locked(workers: usize, jobs: u64) -> u64 {
    let counter = Arc::new(RaceCell::new(0u64));
    let lock = Arc::new(Mutex::new(()));
    let (c, l) = (counter.clone(), lock.clone());
    worker_pool(workers, (1..=jobs).collect(), move |job: u64| {
        let (c, l) = (c.clone(), l.clone());
        async move {
            let _guard = l.lock().await;
            c.set(c.get() + 1);
            job
        }
    })
    .await;
    counter.get()
}
