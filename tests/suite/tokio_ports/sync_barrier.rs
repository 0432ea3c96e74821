//! tokio's tests/sync_barrier.rs, ported onto `harness::tokio::sync::Barrier` and run under
//! every checker; then a barrier across tasks, and a barrier one task short as a buggy twin
//! (a deadlock naming the barrier).

use std::sync::Arc;

use harness::check::FailureKind;
use harness::tokio::sync::Barrier;

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

#[test]
fn barrier_future_is_send() {
    fn is_send<T: Send>(_: T) {}
    each_checker("barrier-future-send", || async {
        let b = Barrier::new(0);
        is_send(b.wait());
    });
}

#[test]
fn zero_does_not_block() {
    each_checker("barrier-zero", || async {
        let b = Barrier::new(0);
        for _ in 0..2 {
            let mut w = spawn(b.wait());
            assert!(ready(w.poll()).is_leader());
        }
    });
}

#[test]
fn single() {
    each_checker("barrier-single", || async {
        let b = Barrier::new(1);
        for _ in 0..3 {
            let mut w = spawn(b.wait());
            assert!(ready(w.poll()).is_leader());
        }
    });
}

#[test]
fn tango() {
    each_checker("barrier-tango", || async {
        let b = Barrier::new(2);
        let mut w1 = spawn(b.wait());
        pending(w1.poll());
        let mut w2 = spawn(b.wait());
        let wr2 = ready(w2.poll());
        let wr1 = ready(w1.poll());
        assert!(wr1.is_leader() || wr2.is_leader());
        assert!(!(wr1.is_leader() && wr2.is_leader()));
    });
}

/// tokio's `lots` with 100 tasks per round; 10 here (same rounds, cheaper under loom).
#[test]
fn lots() {
    each_checker("barrier-lots", || async {
        const N: usize = 10;
        let b = Barrier::new(N);
        for _ in 0..10 {
            let mut wait = Vec::new();
            for _ in 0..N - 1 {
                let mut w = spawn(b.wait());
                pending(w.poll());
                wait.push(w);
            }
            for w in &mut wait {
                pending(w.poll());
            }
            let mut w = spawn(b.wait());
            let mut found_leader = ready(w.poll()).is_leader();
            for mut w in wait {
                let wr = ready(w.poll());
                if wr.is_leader() {
                    assert!(!found_leader);
                    found_leader = true;
                }
            }
            assert!(found_leader);
        }
    });
}

// Across tasks

/// Three tasks meet; exactly one is the leader, and what each wrote before the barrier is
/// visible to all after it (the barrier orders memory, for `RaceCell` too).
#[test]
fn one_leader_across_tasks() {
    check_all("barrier-across-tasks", Some(2), || async {
        let b = Arc::new(Barrier::new(3));
        let cells = Arc::new([
            harness::cell::RaceCell::new(0u32),
            harness::cell::RaceCell::new(0u32),
            harness::cell::RaceCell::new(0u32),
        ]);
        let mut handles = Vec::new();
        for i in 0..2 {
            let (b, cells) = (b.clone(), cells.clone());
            handles.push(harness::task::spawn(async move {
                cells[i].set(1);
                let leader = b.wait().await.is_leader();
                let seen: u32 = cells.iter().map(|c| c.get()).sum();
                assert_eq!(seen, 3);
                leader
            }));
        }
        cells[2].set(1);
        let mut leaders = usize::from(b.wait().await.is_leader());
        let seen: u32 = cells.iter().map(|c| c.get()).sum();
        assert_eq!(seen, 3);
        for h in handles {
            leaders += usize::from(h.await.unwrap());
        }
        assert_eq!(leaders, 1);
    });
}

/// The buggy twin: a barrier sized for three, but only two tasks ever reach it. Every
/// checker reports the deadlock, naming the barrier.
#[test]
fn barrier_one_short_deadlocks() {
    let failures = expect_failure(
        "tokio-barrier-one-short",
        FailureKind::Deadlock,
        &ALL,
        None,
        || async {
            let b = Arc::new(Barrier::new(3));
            let b2 = b.clone();
            let other = harness::task::spawn(async move {
                b2.wait().await;
            });
            b.wait().await;
            other.await.unwrap();
        },
    );
    for f in failures {
        assert!(f.report.contains("[barrier wait]"), "{f}");
        assert!(f.report.contains("on barrier #"), "{f}");
    }
}
