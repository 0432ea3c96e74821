//! `tokio::net`'s TCP sockets on leakproof: real sockets for the tokio checker, every wait on
//! them tracked, so a task stuck on the network shows in reports with what it waits for.
//!
//! Use it when the code under check talks TCP (a server's accept loop, a client, an actor
//! that owns a connection): with `use leakproof::tokio;` its `tokio::net::TcpListener` and
//! `TcpStream` are these, and a run on the tokio checker sees every task it spawns and every
//! socket it waits on. A task blocked on a socket is reported as `[tcp read]` (`tcp write`,
//! `tcp accept`, `tcp connect`) on `tcp stream #N` or `tcp listener #N`, with where it
//! was created. Such a wait never counts towards a deadlock (the peer may still
//! send), but a task still waiting on a socket once the body returned and the grace period is
//! over is a leak, as any other task.
//!
//! Real sockets exist only on the tokio checker: loom, shuttle and PCT cannot schedule the
//! network, so `bind` and `connect` panic there with a message that says so (pick the
//! checkers of such a test with `#[tokio::test(check = path::to::fn)]`).
//!
//! Reads and writes go through tokio's own `AsyncReadExt` / `AsyncWriteExt` (and any
//! wrapper, such as `BufReader`), which do not say where they were called from: a wait on a
//! socket is located where the socket was accepted or connected.
//!
//! ```
//! use leakproof::check::Check;
//! use leakproof::tokio::{self, io::{AsyncReadExt, AsyncWriteExt}, net::{TcpListener, TcpStream}};
//!
//! Check::new("doc-tcp").tokio(1).run(|| async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = tokio::spawn(async move {
//!         let (mut conn, _) = listener.accept().await.unwrap();
//!         let mut buf = [0u8; 5];
//!         conn.read_exact(&mut buf).await.unwrap();
//!         buf
//!     });
//!     let mut client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     assert_eq!(&server.await.unwrap(), b"hello");
//! }).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::rt::backend::{self, Backend};
use crate::rt::exec;
use crate::sync::waiters::Tracked;

pub use ::tokio::net::ToSocketAddrs;

/// The resource kind of a listener, as reports show it (the registry knows `tcp ` kinds:
/// their waits never count as stuck, and they have no holder).
pub(crate) const LISTENER: &str = "tcp listener";
/// The resource kind of a connection, as reports show it.
pub(crate) const STREAM: &str = "tcp stream";

/// Panics unless the running checker is the tokio checker (or no checker runs).
#[track_caller]
fn real_io_only(what: &str) {
    if backend::current() != Backend::Tokio {
        panic!(
            "leakproof::tokio::net::{what}: real sockets run on the tokio checker only; loom, \
             shuttle and PCT cannot schedule the network. Check this code with `Check::tokio` \
             alone (for a test: `#[tokio::test(check = path::to::fn)]` with a fn that returns \
             `Check::new(name).tokio(runs)`)"
        );
    }
}

/// A socket's wait on one operation: registered while its poll is pending, ended when it is
/// ready or dropped.
struct Wait {
    op: &'static str,
    on: bool,
}

impl Wait {
    const fn new(op: &'static str) -> Wait {
        Wait { op, on: false }
    }

    fn track<T>(&mut self, res: &Tracked, site: &Location<'_>, p: Poll<T>) -> Poll<T> {
        match p {
            Poll::Pending if !self.on => {
                self.on = true;
                res.wait(self.op, site);
            }
            Poll::Ready(_) if self.on => {
                self.on = false;
                res.done();
            }
            _ => {}
        }
        p
    }

    fn end(&mut self, res: &Tracked) {
        if std::mem::take(&mut self.on) && exec::is_live() && !std::thread::panicking() {
            res.done();
        }
    }
}

/// A TCP socket server, listening for connections: tokio's, with its waits tracked.
///
/// ```
/// use leakproof::check::Check;
/// use leakproof::tokio::net::TcpListener;
///
/// Check::new("doc-listener").tokio(1).run(|| async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     assert!(listener.local_addr().unwrap().port() > 0);
/// }).unwrap();
/// ```
pub struct TcpListener {
    inner: ::tokio::net::TcpListener,
    res: Tracked,
}

impl TcpListener {
    /// Binds a listener to `addr` (port 0: one the system picks). Panics under loom, shuttle
    /// and PCT (real sockets run on the tokio checker only).
    #[track_caller]
    pub fn bind<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpListener>> {
        real_io_only("TcpListener::bind");
        let site = Location::caller();
        async move {
            let inner = ::tokio::net::TcpListener::bind(addr).await?;
            Ok(TcpListener {
                inner,
                res: Tracked::new(LISTENER, site),
            })
        }
    }

    /// Waits for the next connection; a task waiting here shows as `[tcp accept]`.
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + '_ {
        let site = Location::caller();
        async move {
            let mut on = WaitOn::new(&self.res, "tcp accept");
            let (s, addr) =
                std::future::poll_fn(|cx| on.track(site, self.inner.poll_accept(cx))).await?;
            drop(on);
            Ok((TcpStream::wrap(s, site), addr))
        }
    }

    /// Polls for the next connection (tokio's `poll_accept`).
    #[track_caller]
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let site = Location::caller();
        self.inner
            .poll_accept(cx)
            .map_ok(|(s, addr)| (TcpStream::wrap(s, site), addr))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The socket's `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.ttl()
    }

    /// Sets the socket's `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.set_ttl(ttl)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpListener({LISTENER} #{}, ", self.res.id)?;
        match self.inner.local_addr() {
            Ok(a) => write!(f, "{a})"),
            Err(_) => f.write_str("?)"),
        }
    }
}

/// A [`Wait`] on one resource that ends when dropped: an `accept` or `connect` future,
/// ready or dropped while pending (a `select!` that went another way).
struct WaitOn<'a> {
    res: &'a Tracked,
    wait: Wait,
}

impl<'a> WaitOn<'a> {
    fn new(res: &'a Tracked, op: &'static str) -> Self {
        WaitOn {
            res,
            wait: Wait::new(op),
        }
    }

    fn track<T>(&mut self, site: &Location<'_>, p: Poll<T>) -> Poll<T> {
        self.wait.track(self.res, site, p)
    }
}

impl Drop for WaitOn<'_> {
    fn drop(&mut self) {
        self.wait.end(self.res);
    }
}

/// What a connection and its halves share: its tracked identity, and where it was accepted
/// or connected (where its waits are located).
struct Conn {
    res: Tracked,
    site: &'static Location<'static>,
}

/// One direction of a connection and the wait it has registered (ended when the direction
/// is dropped).
struct Dir {
    conn: Arc<Conn>,
    wait: Wait,
}

impl Drop for Dir {
    fn drop(&mut self) {
        self.wait.end(&self.conn.res);
    }
}

/// A TCP connection: tokio's `TcpStream`, with its waits tracked.
pub struct TcpStream {
    inner: ::tokio::net::TcpStream,
    read: Dir,
    write: Dir,
}

impl TcpStream {
    fn wrap(inner: ::tokio::net::TcpStream, site: &'static Location<'static>) -> TcpStream {
        TcpStream::wrap_with(inner, Tracked::new(STREAM, site), site)
    }

    /// Opens a connection to `addr`; a task waiting here shows as `[tcp connect]`. Panics
    /// under loom, shuttle and PCT (real sockets run on the tokio checker only).
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpStream>> {
        real_io_only("TcpStream::connect");
        let site = Location::caller();
        async move {
            // Tracked before the connection exists: on the resource the stream will be.
            let res = Tracked::new(STREAM, site);
            let mut on = WaitOn::new(&res, "tcp connect");
            let mut connect = std::pin::pin!(::tokio::net::TcpStream::connect(addr));
            let inner = std::future::poll_fn(|cx| on.track(site, connect.as_mut().poll(cx))).await;
            drop(on);
            Ok(TcpStream::wrap_with(inner?, res, site))
        }
    }

    fn wrap_with(
        inner: ::tokio::net::TcpStream,
        res: Tracked,
        site: &'static Location<'static>,
    ) -> TcpStream {
        let conn = Arc::new(Conn { res, site });
        TcpStream {
            inner,
            read: Dir {
                conn: conn.clone(),
                wait: Wait::new("tcp read"),
            },
            write: Dir {
                conn,
                wait: Wait::new("tcp write"),
            },
        }
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Splits the connection into a reading and a writing half that can move to different
    /// tasks (tokio's `into_split`); each half's waits are tracked on this connection.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let TcpStream { inner, read, write } = self;
        let (r, w) = inner.into_split();
        (
            OwnedReadHalf { inner: r, read },
            OwnedWriteHalf { inner: w, write },
        )
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpStream({STREAM} #{}, ", self.read.conn.res.id)?;
        match (self.inner.local_addr(), self.inner.peer_addr()) {
            (Ok(l), Ok(p)) => write!(f, "{l} → {p})"),
            _ => f.write_str("?)"),
        }
    }
}

/// `AsyncRead` for a tracked socket (`$dir`: its read direction): tokio's poll, with the
/// direction's wait registered while it is pending.
macro_rules! tracked_read {
    ($ty:ty, $dir:ident) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let this = self.get_mut();
                let p = Pin::new(&mut this.inner).poll_read(cx, buf);
                let dir = &mut this.$dir;
                dir.wait.track(&dir.conn.res, dir.conn.site, p)
            }
        }
    };
}

/// `AsyncWrite` for a tracked socket (`$dir`: its write direction), as [`tracked_read`].
macro_rules! tracked_write {
    ($ty:ty, $dir:ident) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                let p = Pin::new(&mut this.inner).poll_write(cx, buf);
                let dir = &mut this.$dir;
                dir.wait.track(&dir.conn.res, dir.conn.site, p)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
            }
        }
    };
}

/// `local_addr` and `peer_addr` of a socket or half.
macro_rules! addresses {
    ($ty:ty) => {
        impl $ty {
            /// This end's address.
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.inner.local_addr()
            }

            /// The other end's address.
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                self.inner.peer_addr()
            }
        }
    };
}

tracked_read!(TcpStream, read);
tracked_write!(TcpStream, write);
tracked_read!(OwnedReadHalf, read);
tracked_write!(OwnedWriteHalf, write);
addresses!(TcpStream);
addresses!(OwnedReadHalf);
addresses!(OwnedWriteHalf);

/// The reading half of a [`TcpStream`] after `into_split`.
pub struct OwnedReadHalf {
    inner: ::tokio::net::tcp::OwnedReadHalf,
    read: Dir,
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedReadHalf({STREAM} #{})", self.read.conn.res.id)
    }
}

/// The writing half of a [`TcpStream`] after `into_split`; dropping it shuts the write
/// direction down, as tokio's does.
pub struct OwnedWriteHalf {
    inner: ::tokio::net::tcp::OwnedWriteHalf,
    write: Dir,
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedWriteHalf({STREAM} #{})", self.write.conn.res.id)
    }
}
