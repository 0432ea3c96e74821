//! The bounded channel: `channel`, `Sender`, `Receiver`, `Permit`, `OwnedPermit`,
//! `WeakSender`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::chan::{Reserve, Shared};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};

/// Creates a channel with room for `buffer` values, as `tokio::sync::mpsc::channel`.
///
/// Panics if `buffer` is 0, as tokio does.
#[track_caller]
pub fn channel<T: Send>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let shared = Shared::new(Some(buffer), Location::caller());
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    pub(super) shared: Arc<Shared<T>>,
}

/// The receiving half of a bounded channel (one consumer).
pub struct Receiver<T> {
    pub(super) shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](WeakSender::upgrade) it to send.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// A reserved slot: [`send`](Permit::send) writes into it without waiting.
pub struct Permit<'a, T> {
    shared: &'a Shared<T>,
}

/// A reserved slot that owns its sender.
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

/// Several reserved slots (from [`Sender::reserve_many`]).
pub struct PermitIterator<'a, T> {
    shared: &'a Shared<T>,
    n: usize,
}

/// Waits for a slot; the waiter leaves the queue (passing on a granted slot) when dropped.
pub(super) struct ReserveFuture<'a, T> {
    shared: &'a Shared<T>,
    waiter: Option<u64>,
    site: &'static Location<'static>,
}

impl<T> Future for ReserveFuture<'_, T> {
    type Output = Result<(), ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        match self
            .shared
            .reserve(self.waiter, Some(cx.waker()), self.site)
        {
            Reserve::Got => {
                self.waiter = None;
                Poll::Ready(Ok(()))
            }
            Reserve::Closed => {
                self.waiter = None;
                Poll::Ready(Err(()))
            }
            Reserve::Waiting(id) => {
                self.waiter = Some(id);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ReserveFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter {
            self.shared.cancel_reserve(id);
        }
    }
}

impl<T> Sender<T> {
    fn reserve_slot(&self, site: &'static Location<'static>) -> ReserveFuture<'_, T> {
        ReserveFuture {
            shared: &self.shared,
            waiter: None,
            site,
        }
    }

    /// Sends `value`, waiting for a free slot; fails with the value once the receiver
    /// closed the channel or is gone.
    ///
    /// Cancel-safe as in tokio: dropped before it completes, it has sent nothing and
    /// keeps no place in the queue.
    #[track_caller]
    pub fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        let reserve = self.reserve_slot(Location::caller());
        async move {
            // A free slot: reserved and written at once. Else reserve (maybe wait), write.
            let value = match self.shared.send_now(value) {
                Ok(()) => return Ok(()),
                Err(value) => value,
            };
            match reserve.await {
                Ok(()) => self.shared.write(value).map_err(SendError),
                Err(()) => Err(SendError(value)),
            }
        }
    }

    /// Sends `value`, waiting at most `timeout` for a free slot.
    #[track_caller]
    pub fn send_timeout(
        &self,
        value: T,
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<(), SendTimeoutError<T>>> + '_ {
        let reserve = crate::time::timeout(timeout, self.reserve_slot(Location::caller()));
        async move {
            match reserve.await {
                Ok(Ok(())) => self.shared.write(value).map_err(SendTimeoutError::Closed),
                Ok(Err(())) => Err(SendTimeoutError::Closed(value)),
                Err(_) => Err(SendTimeoutError::Timeout(value)),
            }
        }
    }

    /// Sends without waiting: `Full` when no slot is free.
    #[track_caller]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let value = match self.shared.send_now(value) {
            Ok(()) => return Ok(()),
            Err(value) => value,
        };
        match self.shared.reserve(None, None, Location::caller()) {
            Reserve::Got => self.shared.write(value).map_err(TrySendError::Closed),
            Reserve::Closed => Err(TrySendError::Closed(value)),
            Reserve::Waiting(_) => Err(TrySendError::Full(value)),
        }
    }

    /// Waits for a free slot and reserves it.
    #[track_caller]
    pub fn reserve(&self) -> impl Future<Output = Result<Permit<'_, T>, SendError<()>>> + '_ {
        let reserve = self.reserve_slot(Location::caller());
        async move {
            match reserve.await {
                Ok(()) => Ok(Permit {
                    shared: &self.shared,
                }),
                Err(()) => Err(SendError(())),
            }
        }
    }

    /// Waits for `n` free slots, one after the other, and reserves them.
    #[track_caller]
    pub fn reserve_many(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<PermitIterator<'_, T>, SendError<()>>> + '_ {
        let site = Location::caller();
        async move {
            if n > self.max_capacity() || self.is_closed() {
                return Err(SendError(()));
            }
            let mut it = PermitIterator {
                shared: &self.shared,
                n: 0,
            };
            for _ in 0..n {
                match self.reserve_slot(site).await {
                    Ok(()) => it.n += 1,
                    Err(()) => return Err(SendError(())),
                }
            }
            Ok(it)
        }
    }

    /// Reserves a slot owned by the permit (which holds this sender).
    #[track_caller]
    pub fn reserve_owned(self) -> impl Future<Output = Result<OwnedPermit<T>, SendError<()>>> {
        let site = Location::caller();
        async move {
            let got = self.reserve_slot(site).await;
            match got {
                Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
                Err(()) => Err(SendError(())),
            }
        }
    }

    /// Reserves a slot if one is free right now.
    #[track_caller]
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.shared.reserve(None, None, Location::caller()) {
            Reserve::Got => Ok(Permit {
                shared: &self.shared,
            }),
            Reserve::Closed => Err(TrySendError::Closed(())),
            Reserve::Waiting(_) => Err(TrySendError::Full(())),
        }
    }

    /// Reserves `n` slots if they are free right now.
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        match self.shared.try_reserve_many(n) {
            Reserve::Got => Ok(PermitIterator {
                shared: &self.shared,
                n,
            }),
            Reserve::Closed => Err(TrySendError::Closed(())),
            Reserve::Waiting(_) => Err(TrySendError::Full(())),
        }
    }

    /// Reserves an owned slot if one is free right now; gives the sender back if not.
    #[track_caller]
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.shared.reserve(None, None, Location::caller()) {
            Reserve::Got => Ok(OwnedPermit { sender: Some(self) }),
            Reserve::Closed => Err(TrySendError::Closed(self)),
            Reserve::Waiting(_) => Err(TrySendError::Full(self)),
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

    /// How many slots are free now.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// The channel's buffer size, as given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.shared.cap.unwrap_or(usize::MAX)
    }

    /// A weak sender of the same channel.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.weak_delta(true);
        WeakSender {
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

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender(false);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sender(mpsc channel #{})", self.shared.id)
    }
}

impl<T> WeakSender<T> {
    /// A sender, if any sender of the channel is still alive.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.shared.add_sender(true).then(|| Sender {
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

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.weak_delta(true);
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.weak_delta(false);
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakSender(mpsc channel #{})", self.shared.id)
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot, without waiting. If the receiver is gone the
    /// value is dropped, as in tokio.
    pub fn send(self, value: T) {
        let shared = self.shared;
        std::mem::forget(self);
        let _ = shared.write(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.shared.release_reserved();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permit(mpsc channel #{})", self.shared.id)
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an owned permit holds its sender");
        let _ = sender.shared.write(value);
        sender
    }

    /// Gives the slot back unused, and the sender with it.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an owned permit holds its sender");
        sender.shared.release_reserved();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(s) = self.sender.take() {
            s.shared.release_reserved();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedPermit")
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;
    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit {
            shared: self.shared,
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        for _ in 0..self.n {
            self.shared.release_reserved();
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PermitIterator({} left)", self.n)
    }
}

/// The future of `closed()` on a sender.
pub(super) struct Closed<'a, T> {
    pub(super) shared: &'a Shared<T>,
    pub(super) waiting: bool,
    pub(super) site: &'static Location<'static>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.shared.poll_closed(cx, this.site, &mut this.waiting)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if self.waiting && crate::rt::exec::is_live() && !std::thread::panicking() {
            self.shared.done();
        }
    }
}

/// The future of `recv()` and `recv_many()`.
pub(super) struct Recv<'a, T> {
    pub(super) shared: &'a Shared<T>,
    pub(super) waiting: bool,
    pub(super) site: &'static Location<'static>,
    /// For `recv_many`: where further values go, and how many at most.
    pub(super) many: Option<(&'a mut Vec<T>, usize)>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let (more, extra) = match &mut this.many {
            Some((buf, limit)) => (limit.saturating_sub(1), Some(&mut **buf)),
            None => (0, None),
        };
        this.shared
            .poll_recv(Some(cx.waker()), more, extra, this.site, &mut this.waiting)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if self.waiting && crate::rt::exec::is_live() && !std::thread::panicking() {
            self.shared.done();
        }
    }
}

/// What both receivers do.
pub(super) fn recv<'a, T>(shared: &'a Shared<T>, site: &'static Location<'static>) -> Recv<'a, T> {
    Recv {
        shared,
        waiting: false,
        site,
        many: None,
    }
}

/// `recv_many` for both receivers: waits for one value, then takes up to `limit` in all.
pub(super) async fn recv_many<T>(
    shared: &Shared<T>,
    buffer: &mut Vec<T>,
    limit: usize,
    site: &'static Location<'static>,
) -> usize {
    if limit == 0 {
        return 0;
    }
    let before = buffer.len();
    let mut extra = Vec::new();
    let first = Recv {
        shared,
        waiting: false,
        site,
        many: Some((&mut extra, limit)),
    }
    .await;
    if let Some(v) = first {
        buffer.push(v);
        buffer.append(&mut extra);
    }
    buffer.len() - before
}

/// `try_recv` for both receivers.
pub(super) fn try_recv<T>(shared: &Shared<T>) -> Result<T, TryRecvError> {
    let mut waiting = false;
    match shared.poll_recv(None, 0, None, Location::caller(), &mut waiting) {
        Poll::Ready(Some(v)) => Ok(v),
        Poll::Ready(None) => Err(TryRecvError::Disconnected),
        Poll::Pending => Err(TryRecvError::Empty),
    }
}

impl<T> Receiver<T> {
    /// Receives the next value; `None` once every sender is gone (or the channel was
    /// closed) and the buffer is drained.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        recv(&self.shared, Location::caller())
    }

    /// Waits for at least one value, then moves up to `limit` values into `buffer`;
    /// returns how many (0 once the channel is closed and drained, or if `limit` is 0).
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

    /// Closes the channel: sends fail from now on; values already sent (or in reserved
    /// slots) can still be received.
    pub fn close(&mut self) {
        self.shared.close_rx(false);
    }

    /// Whether the channel is closed (by [`close`](Receiver::close) or because every
    /// sender is gone).
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

    /// How many slots are free now.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// The channel's buffer size.
    pub fn max_capacity(&self) -> usize {
        self.shared.cap.unwrap_or(usize::MAX)
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

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.close_rx(true);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Receiver(mpsc channel #{})", self.shared.id)
    }
}
