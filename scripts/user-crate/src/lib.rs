//! A user's crate: squares numbers on worker tasks while a monitor task waits for every
//! worker to finish, written once on leakproof's primitives. `squares_leaky` has the bug Go
//! programs know well: an early return that skips `wg.done()`, so the monitor waits forever.

use leakproof::sync::WaitGroup;
use leakproof::{chan, task};

/// Squares every non-zero input on its own task; zeros are skipped. Leaks the monitor task:
/// a worker that skips its input returns without `wg.done()`.
pub async fn squares_leaky(inputs: Vec<u32>) -> Vec<u32> {
    squares_with(inputs, false).await
}

/// Squares every non-zero input on its own task; zeros are skipped. Every worker marks
/// itself done, on every path, so the monitor ends.
pub async fn squares(inputs: Vec<u32>) -> Vec<u32> {
    squares_with(inputs, true).await
}

async fn squares_with(inputs: Vec<u32>, done_on_skip: bool) -> Vec<u32> {
    let (tx, rx) = chan::unbounded();
    let wg = WaitGroup::new();
    for x in inputs {
        wg.add(1);
        let (tx, wg) = (tx.clone(), wg.clone());
        task::spawn_named(format!("square-{x}"), async move {
            tracing::info!(x, "squaring");
            if x == 0 {
                if done_on_skip {
                    wg.done();
                }
                return;
            }
            tx.send(x * x).await.unwrap();
            wg.done();
        });
    }
    drop(tx);
    task::spawn_named("monitor", async move {
        wg.wait().await;
        tracing::info!("every worker is done");
    });
    let mut out = Vec::new();
    while let Some(v) = rx.recv().await {
        out.push(v);
    }
    out.sort();
    out
}
