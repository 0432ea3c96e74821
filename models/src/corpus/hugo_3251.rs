//! Hugo #3251 (GoBench GoKer `blocking/hugo/3251`): per-URL locks kept in a map behind an
//! `RWMutex`, taken in opposite orders on the lock and the unlock path (AB-BA).
//!
//! Fetching a remote resource locks "its URL" first, so that two fetches of one URL do
//! not download it twice. `url_lock` takes the map's write lock, finds (or adds) the URL's
//! mutex and locks it *while still holding the write lock*. `url_unlock` takes the map's
//! read lock to find the URL's mutex and unlock it. A task holding the URL mutex that
//! comes back to unlock waits for the map's read lock; a second task holds the map's write
//! lock and waits for the URL mutex: neither can move. Hugo hit it with 50 goroutines
//! fetching one URL ten times each; two tasks and one URL are enough.
//!
//! The fix releases the map's lock before locking the URL's mutex, so no task ever waits
//! for a URL while holding the map.

use std::collections::HashMap;
use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::{Mutex, MutexGuard, RwLock};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The hugo-3251 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/hugo-3251",
            pattern: "models/src/corpus/hugo_3251.rs",
            summary: "url_lock locks the URL's mutex under the map's write lock; url_unlock needs the map's read lock: AB-BA",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/hugo-3251-fixed",
            pattern: "models/src/corpus/hugo_3251.rs",
            summary: "url_lock releases the map before it waits for the URL's mutex: every fetch completes",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The per-URL locks, keyed by URL, behind one read-write lock (Go's `remoteLock`).
#[derive(Default)]
struct RemoteLock {
    urls: RwLock<HashMap<&'static str, Arc<Mutex<u32>>>>,
}

impl RemoteLock {
    /// Finds or adds `url`'s mutex; with the map's write lock held.
    fn entry(
        map: &mut HashMap<&'static str, Arc<Mutex<u32>>>,
        url: &'static str,
    ) -> Arc<Mutex<u32>> {
        map.entry(url).or_default().clone()
    }

    /// Downloads `url` once under its lock, as `resGetRemote` does: lock, fetch, unlock.
    async fn get_remote(&self, url: &'static str, fixed: bool) {
        let mutex = if fixed {
            // Fixed: find the URL's mutex under the map's lock, then let go of the map.
            let mut map = self.urls.write().await;
            Self::entry(&mut map, url)
        } else {
            // Shipped: the write guard stays alive across the URL lock below.
            let mut map = self.urls.write().await;
            let mutex = Self::entry(&mut map, url);
            let guard = mutex.lock().await;
            drop(map);
            return self.fetch_and_unlock(url, guard).await;
        };
        let guard = mutex.lock().await;
        self.fetch_and_unlock(url, guard).await
    }

    /// Counts one download, then `url_unlock`: finds the URL's mutex under the map's read
    /// lock and unlocks it.
    async fn fetch_and_unlock(&self, url: &'static str, mut guard: MutexGuard<'_, u32>) {
        *guard += 1;
        let map = self.urls.read().await;
        if map.contains_key(url) {
            drop(guard);
        }
        drop(map);
    }
}

fn scenario(check: Check, size: Size, fixed: bool) -> Result<Stats, Failure> {
    let (tasks, rounds) = size.pick((2, 1), (3, 2));
    check.run(move || async move {
        let locks = Arc::new(RemoteLock::default());
        let url = "http://Foo.Bar/foo_Bar-Foo";
        let mut fetchers = Vec::new();
        for i in 0..tasks {
            let locks = locks.clone();
            fetchers.push(task::spawn_named(format!("fetch-{i}"), async move {
                for _ in 0..rounds {
                    locks.get_remote(url, fixed).await;
                }
            }));
        }
        for f in fetchers {
            f.await.unwrap();
        }
        let map = locks.urls.read().await;
        let downloads = *map[url].lock().await;
        assert_eq!(downloads, tasks * rounds, "every fetch is counted once");
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
