// The producer/consumer program of the bench's `tokio` section, written in plain tokio API
// against whatever `tokio` the including file puts in scope: `harness::tokio` in the bench
// binary (src/bin/bench/tokio_api.rs), shuttle-tokio in scripts/shuttle-tokio-anchor. One
// source for both, so the two rates are of the same program.

use super::tokio;

/// `producers` tasks send `msgs` values each into one `mpsc::channel(cap)`; the caller
/// receives every value, then joins the producers.
pub async fn producer_consumer(producers: u64, msgs: u64, cap: usize) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(cap);
    let mut handles = Vec::new();
    for p in 0..producers {
        let tx = tx.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..msgs {
                tx.send(p * 100 + i).await.expect("the receiver is alive");
            }
        }));
    }
    drop(tx);
    for _ in 0..producers * msgs {
        assert!(rx.recv().await.is_some(), "every value arrives");
    }
    for h in handles {
        h.await.expect("the producer finished");
    }
}
