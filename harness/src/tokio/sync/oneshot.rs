//! `tokio::sync::oneshot` on leakproof: a channel for one value, checked under every
//! checker.
//!
//! [`Sender::send`] never waits; it gives the value back if the receiver is gone or
//! closed. The [`Receiver`] is a future: `Ok(value)`, or [`error::RecvError`] if the
//! sender went away without sending. A task blocked on it shows in reports as
//! `[oneshot recv]` on `oneshot channel #N`, with whether the sender is still alive; since
//! the receiver is awaited directly (no call to point at), the wait is located at the
//! channel's creation site.
//!
//! Its state sits behind a leaf lock under shuttle (`Lock::new_shuttle_leaf`, one
//! scheduling point per operation): no critical section takes another harness lock or
//! yields, and the value and replaced wakers are dropped after the lock is released.
//!
//! ```
//! use leakproof::tokio::{self, sync::oneshot};
//!
//! leakproof::check::Check::new("doc-oneshot").shuttle(20).run(|| async {
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     tokio::spawn(async move {
//!         let _ = tx.send(3);
//!     });
//!     assert_eq!(rx.await, Ok(3));
//! }).unwrap();
//! ```
//!
//! Not mirrored (they fail to compile): `blocking_recv`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::rt::backend::{self, Lock};
use crate::rt::exec::{self, Exec};
use crate::rt::race::SyncClock;
use crate::track;

/// The errors of `oneshot`, with tokio's names and messages.
pub mod error {
    use std::fmt;

    /// The sender went away without sending.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why `try_recv` returned no value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing sent yet.
        Empty,
        /// The sender went away without sending, or the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TryRecvError::Empty => "channel empty",
                TryRecvError::Closed => "channel closed",
            })
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// The resource kind reports show.
const KIND: &str = "oneshot channel";

struct State<T> {
    value: Option<(T, SyncClock)>,
    /// The value was taken by the receiver.
    taken: bool,
    tx_alive: bool,
    /// The receiver closed the channel or is gone.
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
    /// What the sender's going away or the receiver's closing released.
    close: SyncClock,
}

struct Shared<T> {
    id: u64,
    site: &'static Location<'static>,
    state: Lock<State<T>>,
    exec: Option<Arc<Exec>>,
    /// Where [`report`](Shared::report) writes.
    counts: track::Counts,
}

impl<T> Shared<T> {
    /// Reports the channel's state to the tracking layer (under the channel's lock).
    fn report(&self, st: &State<T>) {
        self.counts.set(
            self.id,
            usize::from(st.value.is_some()),
            usize::from(st.tx_alive),
            usize::from(!st.rx_closed),
            !st.tx_alive || st.rx_closed,
        );
    }

    fn wait(&self, op: &'static str, site: &Location<'_>) {
        track::op_wait(
            self.exec.as_deref(),
            backend::current_task_id(),
            self.id,
            op,
            0,
            site,
        );
    }

    fn done(&self) {
        track::op_done(self.exec.as_deref(), backend::current_task_id());
    }
}

/// Creates a oneshot channel, as `tokio::sync::oneshot::channel`.
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let site = Location::caller();
    let exec = exec::current();
    let id = exec.as_ref().map(|e| e.next_id()).unwrap_or(0);
    let counts = track::channel_created(exec.as_deref(), id, KIND, 1, site);
    let shared = Arc::new(Shared {
        id,
        site,
        state: Lock::new_shuttle_leaf(State {
            value: None,
            taken: false,
            tx_alive: true,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
            close: SyncClock::default(),
        }),
        exec,
        counts,
    });
    (
        Sender {
            shared: Some(shared.clone()),
        },
        Receiver {
            shared,
            waiting: false,
        },
    )
}

/// Sends the channel's one value.
pub struct Sender<T> {
    /// `None` once the value was sent.
    shared: Option<Arc<Shared<T>>>,
}

/// Receives the channel's one value: await it.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    waiting: bool,
}

impl<T> Sender<T> {
    /// Sends `value`, without waiting; gives it back if the receiver closed the channel
    /// or is gone.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let shared = self.shared.take().expect("a sender holds its channel");
        let mut st = shared.state.lock();
        // The sender is gone once it sent, whatever the outcome.
        st.tx_alive = false;
        if st.rx_closed {
            st.close.acquire();
            shared.report(&st);
            return Err(value);
        }
        st.value = Some((value, SyncClock::released_now()));
        let wake = st.rx_waker.take();
        shared.report(&st);
        drop(st);
        if let Some(w) = wake {
            w.wake();
        }
        Ok(())
    }

    /// Whether the receiver closed the channel or is gone.
    pub fn is_closed(&self) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|s| s.state.lock().rx_closed)
    }

    /// Waits until the receiver closed the channel or is gone.
    #[track_caller]
    pub fn closed(&mut self) -> impl Future<Output = ()> + '_ {
        Closed {
            sender: self,
            waiting: false,
            site: Location::caller(),
        }
    }

    /// Polls whether the receiver closed the channel or is gone.
    #[track_caller]
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut waiting = false;
        self.poll_closed_at(cx, Location::caller(), &mut waiting)
    }

    fn poll_closed_at(
        &mut self,
        cx: &mut Context<'_>,
        site: &'static Location<'static>,
        waiting: &mut bool,
    ) -> Poll<()> {
        let shared = self.shared.as_ref().expect("a sender holds its channel");
        let mut st = shared.state.lock();
        if st.rx_closed {
            st.close.acquire();
            drop(st);
            if std::mem::take(waiting) {
                shared.done();
            }
            return Poll::Ready(());
        }
        let mut old = None;
        if !st
            .tx_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            old = st.tx_waker.replace(cx.waker().clone());
        }
        drop(st);
        drop(old);
        *waiting = true;
        shared.wait("closed", site);
        Poll::Pending
    }
}

/// The future of [`Sender::closed`].
struct Closed<'a, T> {
    sender: &'a mut Sender<T>,
    waiting: bool,
    site: &'static Location<'static>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.sender.poll_closed_at(cx, this.site, &mut this.waiting)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if self.waiting && exec::is_live() && !std::thread::panicking() {
            if let Some(s) = &self.sender.shared {
                s.done();
            }
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let Some(mut st) = shared.state.lock_in_drop() else {
            return;
        };
        st.tx_alive = false;
        st.close.release();
        let wake = st.rx_waker.take();
        shared.report(&st);
        drop(st);
        if let Some(w) = wake {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shared {
            Some(s) => write!(f, "Sender(oneshot channel #{})", s.id),
            None => f.write_str("Sender(sent)"),
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.shared.state.lock();
        if let Some((v, clock)) = st.value.take() {
            clock.acquire();
            st.taken = true;
            self.shared.report(&st);
            return Ok(v);
        }
        if st.taken || !st.tx_alive || st.rx_closed {
            st.close.acquire();
            st.taken = true;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Closes the channel: the sender's `send` fails from now on (a value sent before
    /// can still be taken with `try_recv`).
    pub fn close(&mut self) {
        let mut st = self.shared.state.lock();
        if !st.rx_closed {
            st.rx_closed = true;
            st.close.release();
        }
        let wake = st.tx_waker.take();
        self.shared.report(&st);
        drop(st);
        if let Some(w) = wake {
            w.wake();
        }
    }

    /// Whether no value is waiting to be taken.
    pub fn is_empty(&self) -> bool {
        self.shared.state.lock().value.is_none()
    }

    /// Whether the receiver already gave its result (the value, or the error).
    pub fn is_terminated(&self) -> bool {
        self.shared.state.lock().taken
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sh = &this.shared;
        let mut st = sh.state.lock();
        assert!(!st.taken, "called after complete");
        let out = if let Some((v, clock)) = st.value.take() {
            clock.acquire();
            st.taken = true;
            sh.report(&st);
            Ok(v)
        } else if !st.tx_alive || st.rx_closed {
            st.close.acquire();
            st.taken = true;
            Err(RecvError(()))
        } else {
            let mut old = None;
            if !st
                .rx_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                old = st.rx_waker.replace(cx.waker().clone());
            }
            drop(st);
            drop(old);
            this.waiting = true;
            sh.wait("recv", sh.site);
            return Poll::Pending;
        };
        drop(st);
        if std::mem::take(&mut this.waiting) {
            sh.done();
        }
        Poll::Ready(out)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.rx_closed = true;
        st.close.release();
        let wake = st.tx_waker.take();
        let value = st.value.take();
        self.shared.report(&st);
        drop(st);
        drop(value);
        if std::mem::take(&mut self.waiting) && !std::thread::panicking() {
            self.shared.done();
        }
        if let Some(w) = wake {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Receiver(oneshot channel #{})", self.shared.id)
    }
}
