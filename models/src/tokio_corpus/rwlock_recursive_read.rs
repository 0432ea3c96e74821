//! A task that takes a second read lock while it holds one deadlocks behind a writer that
//! queued in between: tokio#2849, <https://github.com/tokio-rs/tokio/issues/2849>
//! ("RwLock: Recursive reads cause deadlock").
//!
//! The report's test takes `read1`, spawns a task that asks for the write lock, and then
//! takes `read2` — which "await[s] forever". tokio's `RwLock` is fair: once a writer waits,
//! new readers queue behind it, so the second read waits for the writer, and the writer
//! waits for the first read to be released, which the same task holds. The maintainers
//! answered that this is due to the fairness of `RwLock`, and the docs now warn about it
//! (tokio#3389). Here it happens inside a small settings store whose `describe` reads the
//! settings and calls `version`, which reads them again; a task updating the settings
//! queues its write between the two reads.
//!
//! The fix takes the read lock once and passes the guard's contents down.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::tokio;
use tokio::sync::RwLock;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The rwlock-recursive-read models: the nested read, and the single read.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "tokio/rwlock-recursive-read",
            pattern: "models/src/tokio_corpus/rwlock_recursive_read.rs",
            summary: "describe() reads the settings and calls version(), which reads again: a writer queued in between blocks both",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "tokio/rwlock-recursive-read-fixed",
            pattern: "models/src/tokio_corpus/rwlock_recursive_read.rs",
            summary: "describe() takes the read lock once and works from that guard",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

struct Settings {
    name: String,
    version: u32,
}

struct Store {
    settings: RwLock<Settings>,
}

impl Store {
    async fn version(&self) -> u32 {
        self.settings.read().await.version
    }

    /// As shipped: reads, and reads again through `version` while still holding the guard.
    async fn describe(&self) -> String {
        let settings = self.settings.read().await;
        let version = self.version().await;
        format!("{} v{}", settings.name, version)
    }

    /// Fixed: one read guard for the whole description.
    async fn describe_fixed(&self) -> String {
        let settings = self.settings.read().await;
        format!("{} v{}", settings.name, settings.version)
    }

    async fn bump(&self) {
        let mut settings = self.settings.write().await;
        settings.version += 1;
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let store = Arc::new(Store {
            settings: RwLock::new(Settings {
                name: "cache".to_string(),
                version: 1,
            }),
        });
        let writer = store.clone();
        let updater = tokio::task::Builder::new()
            .name("updater")
            .spawn(async move { writer.bump().await })
            .expect("spawn the updater");
        let text = if fixed {
            store.describe_fixed().await
        } else {
            store.describe().await
        };
        assert!(text == "cache v1" || text == "cache v2", "{text}");
        updater.await.unwrap();
        assert_eq!(store.version().await, 2);
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
