//! `tokio::io`: tokio's own traits and helpers (`AsyncRead`, `AsyncWrite`, `AsyncReadExt`,
//! `AsyncWriteExt`, `AsyncBufReadExt`, `BufReader`, `BufWriter`, `split`, `copy`, `duplex`,
//! …), re-exported as they are.
//!
//! They wait only on the reader or writer they wrap, so on a [`net`](super::net) socket every
//! wait is the socket's, tracked; nothing here needs a runtime of its own.
//!
//! ```
//! use leakproof::tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! leakproof::check::Check::new("doc-io").shuttle(5).tokio(1).run(|| async {
//!     let (mut a, mut b) = leakproof::tokio::io::duplex(16);
//!     a.write_all(b"ping").await.unwrap();
//!     let mut buf = [0u8; 4];
//!     b.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"ping");
//! }).unwrap();
//! ```

pub use ::tokio::io::*;
