//! tokio's `broadcast` channel: every receiver gets every value, lagging receivers lose the
//! oldest ones.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use super::wait_set::{park_on, WaitSet};
use crate::rt::backend::Lock;
use crate::rt::race::SyncClock;
use crate::sync::waiters::Tracked;

/// Error types of the `broadcast` channel.
pub mod error {
    use std::fmt;

    send_error! {
        /// [`Sender::send`](super::Sender::send) failed: no receiver is alive; the value
        /// comes back.
    }

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub enum RecvError {
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// The receiver fell behind: this many of the oldest values it had not seen were
        /// dropped; the next `recv` returns the oldest value still held.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => write!(f, "channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub enum TryRecvError {
        /// No value this receiver has not seen, for now.
        Empty,
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// The receiver fell behind by this many values (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => write!(f, "channel empty"),
                TryRecvError::Closed => write!(f, "channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Msg<T> {
    /// `None` once every receiver that was to see it has (or gave up).
    value: Option<T>,
    /// Receivers that have yet to see it.
    unseen: usize,
    /// What the sender released.
    clock: SyncClock,
}

struct State<T> {
    /// The last `cap` values sent; `buf[0]` has position `head`.
    buf: VecDeque<Msg<T>>,
    head: u64,
    cap: usize,
    senders: usize,
    receivers: usize,
    waiters: WaitSet,
    /// Senders waiting in `closed`.
    closed_waiters: WaitSet,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
    }

    /// The receiver at position `next` will never read `[next, tail)`: forget it there.
    fn unsee_from(&mut self, next: u64) {
        let from = next.saturating_sub(self.head) as usize;
        for m in self.buf.iter_mut().skip(from) {
            m.unseen -= 1;
            if m.unseen == 0 {
                m.value = None;
            }
        }
    }

    fn len(&self) -> usize {
        self.buf.iter().filter(|m| m.unseen > 0).count()
    }
}

struct Shared<T> {
    res: Tracked,
    state: Lock<State<T>>,
}

/// Creates a broadcast channel that keeps the last `capacity` values (rounded up to a power
/// of two, as tokio does): use it when every subscriber must see every event (a pub/sub
/// bus, a shutdown signal with a reason), and a subscriber that falls too far behind should
/// be told so rather than hold senders back.
///
/// A receiver that is `capacity` values behind loses the oldest: its next `recv` returns
/// [`RecvError::Lagged`]`(n)`, then the oldest value still held. `recv` returns
/// [`RecvError::Closed`] once every sender is gone and it has seen everything. A task that
/// waits in `recv` on a channel whose senders are kept alive but never send shows in reports
/// as `[broadcast recv]` "on broadcast #N created at …".
///
/// Panics if `capacity` is 0 (as tokio does).
///
/// ```
/// use leakproof::{check::Check, tokio::sync::broadcast};
///
/// Check::new("doc-broadcast").shuttle(10).run(|| async {
///     let (tx, mut rx1) = broadcast::channel(4);
///     let mut rx2 = tx.subscribe();
///     tx.send("event").unwrap();
///     drop(tx);
///     assert_eq!(rx1.recv().await, Ok("event"));
///     assert_eq!(rx2.recv().await, Ok("event"));
///     assert_eq!(rx2.recv().await, Err(broadcast::error::RecvError::Closed));
/// }).unwrap();
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeded `usize::MAX / 2`"
    );
    let shared = Arc::new(Shared {
        res: Tracked::new("broadcast", Location::caller()),
        state: Lock::new(State {
            buf: VecDeque::new(),
            head: 0,
            cap: capacity.next_power_of_two(),
            senders: 1,
            receivers: 1,
            waiters: WaitSet::default(),
            closed_waiters: WaitSet::default(),
        }),
    });
    let rx = Receiver {
        shared: shared.clone(),
        next: 0,
    };
    (Sender { shared }, rx)
}

/// The sending half of a broadcast channel; `Clone`.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half of a broadcast channel: it sees every value sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next value to read.
    next: u64,
}

impl<T> Sender<T> {
    /// A sender whose channel has no receiver yet (see [`channel`] for `capacity`).
    #[track_caller]
    pub fn new(capacity: usize) -> Self
    where
        T: Clone,
    {
        let (tx, rx) = channel(capacity);
        drop(rx);
        tx
    }

    /// Sends `value` to every receiver alive; returns how many. Never waits: a full buffer
    /// drops its oldest value. Fails, giving the value back, when no receiver is alive.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut st = self.shared.state.lock();
        if st.receivers == 0 {
            return Err(SendError(value));
        }
        if st.buf.len() == st.cap {
            st.buf.pop_front();
            st.head += 1;
        }
        let receivers = st.receivers;
        st.buf.push_back(Msg {
            value: Some(value),
            unseen: receivers,
            clock: SyncClock::released_now(),
        });
        let wake = st.waiters.take_all();
        drop(st);
        for k in wake {
            k.wake();
        }
        Ok(receivers)
    }

    /// A new receiver, which sees the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// Values held that some receiver has yet to see.
    pub fn len(&self) -> usize {
        self.shared.state.lock().len()
    }

    /// Whether every value held has been seen by every receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receivers are alive.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().receivers
    }

    /// How many senders are alive.
    pub fn sender_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// Whether `other` sends on the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Waits until no receiver is alive.
    #[track_caller]
    pub fn closed(&self) -> impl Future<Output = ()> + Send + '_
    where
        T: Send,
    {
        let sh = &*self.shared;
        park_on(
            &sh.res,
            "broadcast closed",
            Location::caller(),
            &sh.state,
            |st| &mut st.closed_waiters,
            |st| (st.receivers == 0).then_some(()),
        )
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut st = shared.state.lock();
    st.receivers += 1;
    let next = st.tail();
    drop(st);
    Receiver {
        shared: shared.clone(),
        next,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.senders -= 1;
        let wake = if st.senders == 0 {
            st.waiters.take_all()
        } else {
            Vec::new()
        };
        drop(st);
        for k in wake {
            k.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broadcast::Sender(broadcast #{})", self.shared.res.id)
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value: waits while there is none; `Err(Lagged(n))` if `n` values
    /// were lost to a full buffer, `Err(Closed)` once every sender is gone and every value
    /// seen. Cancel-safe.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Result<T, RecvError>> + Send + '_
    where
        T: Send,
    {
        let site = Location::caller();
        let Receiver { shared, next } = self;
        let sh: &Shared<T> = shared;
        park_on(
            &sh.res,
            "broadcast recv",
            site,
            &sh.state,
            |st| &mut st.waiters,
            move |st| match take(st, next) {
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                Ok(v) => Some(Ok(v)),
            },
        )
    }

    /// Receives the next value if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.shared.state.lock();
        take(&mut st, &mut self.next)
    }
}

/// The next value for the receiver at `*next`, under the channel's lock.
fn take<T: Clone>(st: &mut State<T>, next: &mut u64) -> Result<T, TryRecvError> {
    if *next < st.head {
        let lagged = st.head - *next;
        *next = st.head;
        return Err(TryRecvError::Lagged(lagged));
    }
    if *next == st.tail() {
        return Err(if st.senders == 0 {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        });
    }
    let i = (*next - st.head) as usize;
    // Moved past the value first: a `clone` that panics loses it for this receiver only.
    *next += 1;
    let m = &mut st.buf[i];
    m.clock.acquire();
    m.unseen -= 1;
    let v = m.value.clone();
    if m.unseen == 0 {
        m.value = None;
    }
    Ok(v.expect("a value some receiver has not seen is held"))
}

impl<T> Receiver<T> {
    /// Values sent that this receiver has not seen yet (lost ones included).
    pub fn len(&self) -> usize {
        let st = self.shared.state.lock();
        (st.tail() - self.next) as usize
    }

    /// Whether this receiver has seen every value sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().senders == 0
    }

    /// How many senders are alive.
    pub fn sender_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// Whether `other` receives from the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A new receiver of the same channel, which sees the values sent from now on.
    pub fn resubscribe(&self) -> Self {
        new_receiver(&self.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(mut st) = self.shared.state.lock_in_drop() else {
            return;
        };
        st.receivers -= 1;
        st.unsee_from(self.next);
        let wake = if st.receivers == 0 {
            st.closed_waiters.take_all()
        } else {
            Vec::new()
        };
        drop(st);
        for k in wake {
            k.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broadcast::Receiver(broadcast #{})", self.shared.res.id)
    }
}
