//! The test attribute itself: `crate = "path"` names the `tokio` module the expansion uses,
//! as tokio's own attribute takes the path of the tokio crate. Without it the macro reads
//! this package's Cargo.toml, where the library is a dependency renamed `harness` (every
//! other test in this suite relies on that default).

use super::support;
use harness::tokio;

/// A path to this crate's own re-export, which only the `crate` argument can name.
mod reexport {
    pub use harness::tokio as lp_tokio;
}

#[tokio::test(crate = "harness::tokio", check = support::light)]
async fn crate_names_the_module_by_its_path() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move { tx.send(7u8).unwrap() });
    assert_eq!(rx.await.unwrap(), 7);
}

#[tokio::test(crate = "self::reexport::lp_tokio", check = support::no_loom)]
async fn crate_may_be_a_path_the_default_could_not_find() -> Result<(), String> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move { tx.send(1u8).await.unwrap() });
    let mut rx = rx;
    match rx.recv().await {
        Some(1) => Ok(()),
        other => Err(format!("received {other:?}")),
    }
}
