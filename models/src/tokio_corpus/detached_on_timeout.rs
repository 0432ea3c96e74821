//! A `timeout` drops the future that held a `JoinHandle`, and the task it spawned waits
//! forever: tokio#1830, <https://github.com/tokio-rs/tokio/issues/1830> ("Consider making
//! JoinHandle cancel on drop").
//!
//! The report: dropping a `JoinHandle` detaches its task, which "makes it very easy to 'leak'
//! tasks", and "even if a user did try to hold onto the JoinHandle to prevent a leak, if the
//! *wrapping* future is dropped, the spawned task will still 'leak'". Here `warm_up` spawns a
//! filler task that waits until the warm-up has prepared the cache (which needs the
//! configuration a loader task delivers), then fills it; `warm_up` holds the filler's
//! `JoinHandle` and awaits it at the end. The caller bounds the warm-up with
//! `tokio::time::timeout`. When the timeout wins while `warm_up` still waits for the
//! configuration, the warm-up future is dropped, the handle with it, and the filler waits on
//! its `Notify` for a signal nobody will give: a detached task that outlives the test.
//!
//! The fix is the cancel-on-drop the issue asks for, as tokio ships it: the filler lives in
//! a `JoinSet` owned by the warm-up, and dropping a `JoinSet` aborts its tasks.

use std::sync::Arc;
use std::time::Duration;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::{oneshot, Mutex, Notify};
use tokio::task::JoinSet;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The detached-on-timeout models: the filler behind a plain `JoinHandle`, and in a `JoinSet`.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/detached-on-timeout",
            pattern: "models/src/tokio_corpus/detached_on_timeout.rs",
            summary: "timeout drops the warm-up future holding the filler's JoinHandle; the filler waits on its Notify forever",
            expect: Expect::Fail(FailureKind::Leak),
            // Only when the timeout wins the race, which a real run rarely makes it do.
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/detached-on-timeout-fixed",
            pattern: "models/src/tokio_corpus/detached_on_timeout.rs",
            summary: "the filler lives in a JoinSet owned by the warm-up: a timeout aborts it",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

#[derive(Default)]
struct Cache {
    prepared: Option<u32>,
    entries: Vec<u32>,
}

async fn fill(cache: Arc<Mutex<Cache>>, ready: Arc<Notify>) {
    ready.notified().await;
    let mut cache = cache.lock().await;
    assert!(cache.prepared.is_some());
    cache.entries.push(1);
}

async fn prepare(cache: &Mutex<Cache>, config: oneshot::Receiver<u32>) {
    let config = config.await.expect("the loader sends the configuration");
    cache.lock().await.prepared = Some(config);
}

/// As shipped: the filler's `JoinHandle` is held by the warm-up future.
async fn warm_up(cache: Arc<Mutex<Cache>>, config: oneshot::Receiver<u32>) {
    let ready = Arc::new(Notify::new());
    let filler = tokio::task::Builder::new()
        .name("cache-filler")
        .spawn(fill(cache.clone(), ready.clone()))
        .expect("spawn the filler");
    prepare(&cache, config).await;
    ready.notify_one();
    filler.await.expect("the filler panicked");
}

/// Fixed: the filler lives in a `JoinSet`, which aborts it when the warm-up is dropped.
async fn warm_up_fixed(cache: Arc<Mutex<Cache>>, config: oneshot::Receiver<u32>) {
    let ready = Arc::new(Notify::new());
    let mut fillers = JoinSet::new();
    fillers.spawn(fill(cache.clone(), ready.clone()));
    prepare(&cache, config).await;
    ready.notify_one();
    while let Some(done) = fillers.join_next().await {
        done.expect("the filler panicked");
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let cache = Arc::new(Mutex::new(Cache::default()));
        let (config_tx, config_rx) = oneshot::channel();
        tokio::task::Builder::new()
            .name("config-loader")
            .spawn(async move {
                // The warm-up may have given up (and dropped the receiver): nothing to do.
                let _ = config_tx.send(7);
            })
            .expect("spawn the loader");
        let limit = Duration::from_millis(50);
        let warmed = if fixed {
            tokio::time::timeout(limit, warm_up_fixed(cache.clone(), config_rx)).await
        } else {
            tokio::time::timeout(limit, warm_up(cache.clone(), config_rx)).await
        };
        if warmed.is_ok() {
            assert_eq!(cache.lock().await.entries, vec![1]);
        }
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
