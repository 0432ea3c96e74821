//! Kubernetes #62464 (GoBench GoKer `blocking/kubernetes/62464`): the CPU manager's state
//! read-locks itself from inside a method that already holds its read lock, while the
//! policy waits to write it.
//!
//! `get_cpu_set_or_default` read-locks the state, then calls the public getters
//! `get_cpu_set` and `get_default_cpu_set`, each of which read-locks the state again. In
//! between, the static policy's `remove_container` asks for the write lock
//! (`set_default_cpu_set`). The writer-preferring lock makes the nested read wait for the
//! writer and the writer wait for the outer read: the reconcile loop and the policy both
//! stop. Same shape as cockroach-6181, reached through two layers of getters.
//!
//! The fix splits each getter into a locking public method and an unlocked helper, and
//! the compound read calls the helpers under its single read lock.

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::RwLock;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The kubernetes-62464 models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/kubernetes-62464",
            pattern: "models/src/corpus/kubernetes_62464.rs",
            summary: "get_cpu_set_or_default read-locks the state again through its getters while remove_container waits to write",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/kubernetes-62464-fixed",
            pattern: "models/src/corpus/kubernetes_62464.rs",
            summary: "the compound read uses unlocked helpers under one read lock: reconcile and remove both finish",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The CPU assignments: per-container sets and the default set.
struct Assignments {
    container: Option<u32>,
    default: u32,
}

/// The state, behind one read-write lock (Go's `stateMemory` embeds a `sync.RWMutex`).
struct StateMemory {
    state: RwLock<Assignments>,
}

impl StateMemory {
    async fn get_cpu_set(&self) -> Option<u32> {
        self.state.read().await.container
    }

    async fn get_default_cpu_set(&self) -> u32 {
        self.state.read().await.default
    }

    async fn set_default_cpu_set(&self, set: u32) {
        self.state.write().await.default = set;
    }

    /// As shipped: the getters lock again under the outer read lock.
    async fn get_cpu_set_or_default_buggy(&self) -> u32 {
        let outer = self.state.read().await;
        let set = match self.get_cpu_set().await {
            Some(set) => set,
            None => self.get_default_cpu_set().await,
        };
        drop(outer);
        set
    }

    /// Fixed: one read lock, the fields read through it.
    async fn get_cpu_set_or_default_fixed(&self) -> u32 {
        let st = self.state.read().await;
        st.container.unwrap_or(st.default)
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let state = Arc::new(StateMemory {
            state: RwLock::new(Assignments {
                container: None,
                default: 0b0011,
            }),
        });
        let s = state.clone();
        let reconcile = task::spawn_named("reconcile", async move {
            if fixed {
                s.get_cpu_set_or_default_fixed().await
            } else {
                s.get_cpu_set_or_default_buggy().await
            }
        });
        let s = state.clone();
        let policy = task::spawn_named("remove-container", async move {
            let current = s.get_default_cpu_set().await;
            s.set_default_cpu_set(current | 0b0100).await;
        });
        let seen = reconcile.await.unwrap();
        policy.await.unwrap();
        assert!(
            seen == 0b0011 || seen == 0b0111,
            "a default set, old or new"
        );
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
