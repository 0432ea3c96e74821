//! The unbounded channel: `unbounded_channel`, `UnboundedSender`, `UnboundedReceiver`,
//! `WeakUnboundedSender`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::bounded::{recv, recv_many, try_recv, Closed};
use super::chan::{Reserve, Shared};
use super::error::{SendError, TryRecvError};

/// Creates a channel whose senders never wait, as `tokio::sync::mpsc::unbounded_channel`.
#[track_caller]
pub fn unbounded_channel<T: Send>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let shared = Shared::new(None, Location::caller());
    (
        UnboundedSender {
            shared: shared.clone(),
        },
        UnboundedReceiver { shared },
    )
}

/// The sending half of an unbounded channel.
pub struct UnboundedSender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once; fails with the value once the receiver closed the channel or
    /// is gone.
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let value = match self.shared.send_now(value) {
            Ok(()) => return Ok(()),
            Err(value) => value,
        };
        match self.shared.reserve(None, None, Location::caller()) {
            Reserve::Got => self.shared.write(value).map_err(SendError),
            Reserve::Closed | Reserve::Waiting(_) => Err(SendError(value)),
        }
    }

    /// Waits until the receiver closed the channel or is gone.
    #[track_caller]
    pub fn closed(&self) -> impl Future<Output = ()> + '_ {
        Closed {
            shared: &self.shared,
            waiting: false,
            site: Location::caller(),
        }
    }

    /// Whether the receiver closed the channel or is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// A weak sender of the same channel.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.shared.weak_delta(true);
        WeakUnboundedSender {
            shared: self.shared.clone(),
        }
    }

    /// Whether both senders belong to one channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Live senders of the channel.
    pub fn strong_count(&self) -> usize {
        self.shared.counts().0
    }

    /// Live weak senders of the channel.
    pub fn weak_count(&self) -> usize {
        self.shared.counts().1
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender(false);
        UnboundedSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.shared.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnboundedSender(mpsc channel #{})", self.shared.id)
    }
}

impl<T> WeakUnboundedSender<T> {
    /// A sender, if any sender of the channel is still alive.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.shared.add_sender(true).then(|| UnboundedSender {
            shared: self.shared.clone(),
        })
    }

    /// Live senders of the channel.
    pub fn strong_count(&self) -> usize {
        self.shared.counts().0
    }

    /// Live weak senders of the channel.
    pub fn weak_count(&self) -> usize {
        self.shared.counts().1
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.shared.weak_delta(true);
        WeakUnboundedSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.shared.weak_delta(false);
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakUnboundedSender(mpsc channel #{})", self.shared.id)
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value; `None` once every sender is gone (or the channel was
    /// closed) and the buffer is drained.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        recv(&self.shared, Location::caller())
    }

    /// Waits for at least one value, then moves up to `limit` values into `buffer`.
    #[track_caller]
    pub fn recv_many<'a>(
        &'a mut self,
        buffer: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        recv_many(&self.shared, buffer, limit, Location::caller())
    }

    /// Receives without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        try_recv(&self.shared)
    }

    /// Polls for the next value (for hand-written futures).
    #[track_caller]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut waiting = false;
        self.shared
            .poll_recv(Some(cx.waker()), 0, None, Location::caller(), &mut waiting)
    }

    /// Closes the channel: sends fail from now on; values already sent can still be
    /// received.
    pub fn close(&mut self) {
        self.shared.close_rx(false);
    }

    /// Whether the channel is closed (by `close` or because every sender is gone).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed() || self.shared.counts().0 == 0
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.shared.len() == 0
    }

    /// How many values are buffered.
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Live senders of the channel.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.counts().0
    }

    /// Live weak senders of the channel.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.counts().1
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.shared.close_rx(true);
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnboundedReceiver(mpsc channel #{})", self.shared.id)
    }
}
