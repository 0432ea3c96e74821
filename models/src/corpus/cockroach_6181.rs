//! CockroachDB #6181 (GoBench GoKer `blocking/cockroach/6181`): a read lock taken again,
//! through `String()`, by a task that already holds it, while a writer waits.
//!
//! `lookup_range_descriptor` read-locks the range cache and logs the cache; formatting the
//! cache calls its `String()` method, which read-locks the cache again. Go's `RWMutex`
//! (and leakproof's `RwLock`) is writer-preferring: once a writer waits, new readers wait
//! behind it. Several lookups run at once, and each ends by write-locking the cache. When
//! one lookup waits for the write lock while another holds the read lock and asks for it
//! again, the reader waits for the writer, the writer waits for the reader: deadlock.
//!
//! The fix formats the cache with the lock already held (`string_locked`), so no task
//! ever takes the read lock twice.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::{RwLock, WaitGroup};
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The cockroach-6181 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/cockroach-6181",
            pattern: "models/src/corpus/cockroach_6181.rs",
            summary: "a lookup read-locks the cache twice (through String()) while another lookup waits to write-lock it",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/cockroach-6181-fixed",
            pattern: "models/src/corpus/cockroach_6181.rs",
            summary: "the lookup formats the cache under the read lock it already holds: every lookup completes",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The range descriptor cache: its entries behind one read-write lock.
#[derive(Default)]
struct RangeDescriptorCache {
    ranges: RwLock<Vec<u32>>,
}

impl RangeDescriptorCache {
    /// Go's `String()`: formats the cache, taking the read lock itself.
    async fn string(&self) -> String {
        let ranges = self.ranges.read().await;
        Self::string_locked(&ranges)
    }

    /// Formats the cache; the caller holds the lock.
    fn string_locked(ranges: &[u32]) -> String {
        format!("{} range(s)", ranges.len())
    }

    /// Looks a range up (logging the cache), then records it under the write lock.
    async fn lookup_range_descriptor(&self, key: u32, fixed: bool) -> String {
        let ranges = self.ranges.read().await;
        let logged = if fixed {
            Self::string_locked(&ranges)
        } else {
            // The read guard `ranges` is still alive here.
            self.string().await
        };
        drop(ranges);
        self.ranges.write().await.push(key);
        logged
    }
}

fn scenario(check: Check, size: Size, fixed: bool) -> Result<Stats, Failure> {
    let lookups = size.pick(2, 3);
    check.run(move || async move {
        let cache = Arc::new(RangeDescriptorCache::default());
        let wg = WaitGroup::new();
        for i in 0..lookups {
            wg.add(1);
            let (cache, wg) = (cache.clone(), wg.clone());
            task::spawn_named(format!("lookup-{i}"), async move {
                let line = cache.lookup_range_descriptor(i, fixed).await;
                assert!(line.ends_with("range(s)"));
                wg.done();
            });
        }
        wg.wait().await;
        assert_eq!(cache.ranges.read().await.len(), lookups as usize);
    })
}

fn buggy(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, false)
}

fn fixed(check: Check, size: Size) -> Result<Stats, Failure> {
    scenario(check, size, true)
}
