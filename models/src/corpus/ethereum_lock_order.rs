//! parity-ethereum #9952 (Qin et al., PLDI 2020, reproduced blocking bug
//! `ethereum-blocking-3`): two read-write locks taken in conflicting orders.
//!
//! The blockchain keeps its best block and its best ancient block behind two read-write
//! locks. `chain_info` reads the best block, then the best ancient block; `commit` writes
//! the best ancient block, then the best block. When each has taken its first lock, each
//! waits for the other's: an AB-BA deadlock between a reader and a writer.
//!
//! The fix takes the two locks in one order everywhere (best block first).

use std::sync::Arc;

use harness::check::{Check, Failure, FailureKind, Stats};
use harness::sync::RwLock;
use harness::task;

use crate::{Expect, Model, Size, ALL_CHECKERS};

/// The ethereum-lock-order models.
pub fn models() -> Vec<Model> {
    vec![
        Model {
            name: "corpus/ethereum-lock-order",
            pattern: "models/src/corpus/ethereum_lock_order.rs",
            summary: "chain_info reads best then ancient; commit writes ancient then best: AB-BA",
            expect: Expect::Fail(FailureKind::Deadlock),
            checkers: super::MODEL_CHECKERS,
            run: buggy,
        },
        Model {
            name: "corpus/ethereum-lock-order-fixed",
            pattern: "models/src/corpus/ethereum_lock_order.rs",
            summary: "both take best then ancient: chain_info and commit both finish",
            expect: Expect::Pass,
            checkers: ALL_CHECKERS,
            run: fixed,
        },
    ]
}

/// The chain's two best-block numbers.
struct BlockChain {
    best_block: RwLock<u64>,
    best_ancient_block: RwLock<u64>,
}

impl BlockChain {
    /// Reads both numbers (best block first).
    async fn chain_info(&self) -> (u64, u64) {
        let best = self.best_block.read().await;
        let ancient = self.best_ancient_block.read().await;
        (*best, *ancient)
    }

    /// Imports a block: as shipped, the ancient block's lock first.
    async fn commit_buggy(&self, number: u64) {
        let mut ancient = self.best_ancient_block.write().await;
        let mut best = self.best_block.write().await;
        *ancient = *best;
        *best = number;
    }

    /// Fixed: the same order as `chain_info`.
    async fn commit_fixed(&self, number: u64) {
        let mut best = self.best_block.write().await;
        let mut ancient = self.best_ancient_block.write().await;
        *ancient = *best;
        *best = number;
    }
}

fn scenario(check: Check, fixed: bool) -> Result<Stats, Failure> {
    check.run(move || async move {
        let chain = Arc::new(BlockChain {
            best_block: RwLock::new(1),
            best_ancient_block: RwLock::new(0),
        });
        let c = chain.clone();
        let info = task::spawn_named("chain-info", async move { c.chain_info().await });
        if fixed {
            chain.commit_fixed(2).await;
        } else {
            chain.commit_buggy(2).await;
        }
        let (best, ancient) = info.await.unwrap();
        assert!(
            (best, ancient) == (1, 0) || (best, ancient) == (2, 1),
            "a consistent pair, before or after the commit"
        );
    })
}

fn buggy(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, false)
}

fn fixed(check: Check, _size: Size) -> Result<Stats, Failure> {
    scenario(check, true)
}
