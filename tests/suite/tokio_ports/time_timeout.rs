//! tokio's tests/time_timeout.rs, ported: `harness::tokio::time::{timeout, timeout_at}`.
//!
//! Left out: the tests that assert a timeout is still pending after `advance` moved the
//! clock close to its deadline (virtual time may fire a timer at any scheduling point
//! after it was set), and the one that reads `tokio::io` (not mirrored).

use harness::tokio;
use harness::tokio::time::{self, timeout, timeout_at, Duration, Instant};

use super::support::{self, spawn};
use crate::{assert_pending, assert_ready_err, assert_ready_ok};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(check = support::light)]
async fn simultaneous_deadline_future_completion() {
    // A future ready at the deadline wins: it is polled first.
    let mut fut = spawn(timeout_at(Instant::now(), async {}));
    assert_ready_ok!(fut.poll());
}

#[tokio::test(check = support::light)]
async fn completed_future_past_deadline() {
    let mut fut = spawn(timeout_at(Instant::now() - ms(1000), async {}));
    assert_ready_ok!(fut.poll());
}

#[tokio::test(check = support::virtual_time)]
async fn deadline_now_elapses() {
    time::pause();
    let mut fut = spawn(timeout_at(Instant::now(), std::future::pending::<()>()));
    time::advance(ms(1)).await;
    assert_ready_err!(fut.poll());
}

#[tokio::test(check = support::virtual_time)]
async fn deadline_future_elapses() {
    time::pause();
    let mut fut = spawn(timeout_at(
        Instant::now() + ms(300),
        std::future::pending::<()>(),
    ));
    assert_pending!(fut.poll());
    time::advance(ms(301)).await;
    assert_ready_err!(fut.poll());
}

// Beyond tokio's suite: a timeout around a receive explores both outcomes.

#[test]
fn timeout_explores_both_the_work_and_the_timer_winning() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let seen = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let s = seen.clone();
    support::virtual_no_loom("timeout-both-ways")
        .run(move || {
            let s = s.clone();
            async move {
                let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    let _ = tx.send(1);
                });
                let i = match timeout(ms(10), rx).await {
                    Ok(_) => 0,
                    Err(_) => 1,
                };
                s[i].fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    assert!(seen[0].load(Ordering::SeqCst) > 0, "the work never won");
    assert!(seen[1].load(Ordering::SeqCst) > 0, "the timer never won");
}
