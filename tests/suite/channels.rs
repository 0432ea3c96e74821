//! Channel-semantics conformance: every property of `harness::chan` is checked under each
//! of the four checkers in turn (loom exhaustively, shuttle random, shuttle PCT and a real
//! tokio runtime), and a failure names the checker it came from.
//!
//! loom models are kept tiny (at most two spawned tasks and three values). loom explores
//! every interleaving of the one-task models; the two-task ones use a preemption bound
//! (2 or 3) so that each takes well under a second.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use harness::chan::{self, SendError, TryRecvError, TrySendError};
use harness::check::{Check, FailureKind};
use harness::task;

use crate::common;

use common::{yield_a_few, Tally};

/// Runs `body` under each checker, one after the other; panics naming the checker whose
/// run failed. loom explores every interleaving (no preemption bound): fine for models
/// with one spawned task.
fn check_all<F, Fut>(name: &str, body: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    common::check_all(name, None, body)
}

/// [`check_all`] with loom's preemption bound set to `bound`, for the two-task models whose
/// unbounded exploration would take too long.
fn check_all_loom_bound<F, Fut>(name: &str, bound: usize, body: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    common::check_all(name, Some(bound), body)
}

/// Runs `body` under each checker and requires each run to fail with `kind`, found by that
/// checker.
fn expect_failure_all<F, Fut>(name: &str, kind: FailureKind, body: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    common::expect_failure(name, kind, &common::ALL, None, body);
}

// ---------------------------------------------------------------------------------------
// The helpers themselves: an assertion that fails inside a body is a failure everywhere.
// ---------------------------------------------------------------------------------------

#[test]
fn a_failed_assertion_in_a_body_or_task_fails_every_checker() {
    expect_failure_all("assert-in-body", FailureKind::Panic, || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        tx.send(1).await.unwrap();
        assert_eq!(rx.recv().await, Some(2), "deliberately wrong");
    });
    expect_failure_all("assert-in-task", FailureKind::Panic, || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let h = task::spawn(async move {
            assert_eq!(rx.recv().await, Some(2), "deliberately wrong");
        });
        tx.send(1).await.unwrap();
        let _ = h.await;
    });
}

#[test]
fn pct_runs_a_body_that_spawns_no_task() {
    let r = Check::new("no-task").pct(2, 3).run(|| async {
        let (tx, rx) = chan::bounded::<u32>(1);
        tx.send(1).await.unwrap();
        assert_eq!(rx.recv().await, Some(1));
    });
    if let Err(f) = r {
        panic!("{:?} under {}:\n{f}", f.kind, f.checker);
    }
}

// ---------------------------------------------------------------------------------------
// FIFO order
// ---------------------------------------------------------------------------------------

/// One producer task sends 0, 1, 2; the body must receive them in that order, then `None`.
fn fifo(name: &str, make: fn() -> (chan::Sender<u32>, chan::Receiver<u32>)) {
    check_all(name, move || async move {
        let (tx, rx) = make();
        let producer = task::spawn(async move {
            for i in 0..3 {
                tx.send(i).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        assert_eq!(got, [0, 1, 2]);
        producer.await.unwrap();
    });
}

#[test]
fn fifo_on_buffered_channel() {
    // Capacity 2 with three values: the third send has to wait for room.
    fifo("fifo-bounded-2", || chan::bounded(2));
}

#[test]
fn fifo_on_unbounded_channel() {
    fifo("fifo-unbounded", chan::unbounded);
}

#[test]
fn fifo_on_rendezvous_channel() {
    fifo("fifo-rendezvous", || chan::bounded(0));
}

#[test]
fn fifo_with_values_buffered_before_the_receiver_starts() {
    check_all("fifo-prefilled", || async {
        let (tx, rx) = chan::bounded::<u32>(3);
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        let consumer = task::spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        });
        assert_eq!(consumer.await.unwrap(), [0, 1, 2]);
    });
}

// ---------------------------------------------------------------------------------------
// Rendezvous (bounded(0))
// ---------------------------------------------------------------------------------------

#[test]
fn rendezvous_try_send_without_waiting_receiver_is_full() {
    check_all("rendezvous-try-send", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
        assert_eq!(tx.len(), 0);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        // The failed try_send delivered nothing.
        drop(tx);
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn rendezvous_send_stays_pending_until_received() {
    check_all("rendezvous-send-pending", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let (done_tx, done_rx) = chan::unbounded::<&'static str>();
        let sender = task::spawn(async move {
            tx.send(7).await.unwrap();
            done_tx.send("sent").await.unwrap();
        });
        yield_a_few().await;
        assert!(
            !sender.is_finished(),
            "a rendezvous send completed with no receiver"
        );
        assert_eq!(done_rx.try_recv(), Err(TryRecvError::Empty));
        // An offered value is not buffered.
        assert_eq!(rx.len(), 0);
        assert_eq!(rx.recv().await, Some(7));
        sender.await.unwrap();
        assert_eq!(done_rx.recv().await, Some("sent"));
        assert_eq!(done_rx.recv().await, None);
    });
}

#[test]
fn rendezvous_recv_stays_pending_until_sent() {
    check_all("rendezvous-recv-pending", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let receiver = task::spawn(async move { rx.recv().await });
        yield_a_few().await;
        assert!(
            !receiver.is_finished(),
            "recv on an empty open channel completed"
        );
        tx.send(5).await.unwrap();
        assert_eq!(receiver.await.unwrap(), Some(5));
    });
}

#[test]
fn rendezvous_try_send_reaches_a_waiting_receiver() {
    check_all("rendezvous-try-send-waiting", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let receiver = task::spawn(async move { rx.recv().await });
        // Full until the receiver is parked in recv; then the value goes straight to it.
        let mut v = 9;
        loop {
            match tx.try_send(v) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    v = back;
                    task::yield_now().await;
                }
                Err(e) => panic!("unexpected try_send error: {e:?}"),
            }
        }
        assert_eq!(receiver.await.unwrap(), Some(9));
    });
}

#[test]
fn a_value_handed_to_a_cancelled_receiver_goes_to_the_next_one() {
    // A non-blocking send on a rendezvous channel succeeds only while a receiver is parked in
    // recv, and hands the value over at once. If that receive is then cancelled (as a timeout
    // would cancel it), the value is not lost: it waits in the channel for the next receiver.
    check_all("rendezvous-cancelled-recv", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let sent = {
            let mut recv = std::pin::pin!(rx.recv());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(recv.as_mut().poll(&mut cx).is_pending());
            tx.try_send(1)
        };
        assert_eq!(sent, Ok(()), "a receiver was parked in recv");
        assert_eq!(
            rx.len(),
            1,
            "the handed-off value waits for the next receiver"
        );
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.len(), 0);
        assert_eq!(
            tx.try_send(2),
            Err(TrySendError::Full(2)),
            "nobody is parked now"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Buffered channels block when full
// ---------------------------------------------------------------------------------------

#[test]
fn buffered_channel_blocks_when_full() {
    check_all("bounded-1-full", || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        // Room for one: completes with no receiver.
        tx.send(1).await.unwrap();
        assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
        assert_eq!(rx.len(), 1);
        // A second send has to wait until the receiver makes room.
        let tx2 = tx.clone();
        let sender = task::spawn(async move { tx2.send(2).await.unwrap() });
        yield_a_few().await;
        assert!(!sender.is_finished(), "a send into a full buffer completed");
        assert_eq!(rx.len(), 1, "a waiting send must not grow the buffer");
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        sender.await.unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

// ---------------------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------------------

#[test]
fn close_then_drain() {
    check_all("close-then-drain", || async {
        let (tx, rx) = chan::bounded::<u32>(3);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        tx.close();
        assert!(tx.is_closed());
        assert!(rx.is_closed());
        // Values buffered before close() are still delivered, in order.
        assert_eq!(rx.len(), 2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx.recv().await, None, "None is sticky");
    });
}

#[test]
fn close_from_producer_task_then_drain() {
    check_all("close-producer-drain", || async {
        let (tx, rx) = chan::bounded::<u32>(2);
        // The producer keeps its sender alive after close(): close() alone ends the stream.
        let producer = task::spawn(async move {
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
            tx.close();
            tx
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        assert_eq!(got, [1, 2]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        let tx = producer.await.unwrap();
        assert!(tx.is_closed());
    });
}

#[test]
fn close_wakes_a_blocked_receiver() {
    check_all("close-wakes-receiver", || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let receiver = task::spawn(async move { rx.recv().await });
        yield_a_few().await;
        tx.close();
        assert_eq!(receiver.await.unwrap(), None);
    });
}

#[test]
fn close_wakes_every_blocked_receiver_and_a_value_handed_before_it_stays_theirs() {
    // A close takes every receiver nothing was handed to out of the channel's queue at once;
    // one a send handed its value to just before the close (the value waits in its entry
    // until it runs) still receives it.
    check_all_loom_bound("close-wakes-every-receiver", 2, || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let rx2 = rx.clone();
        let a = task::spawn(async move { rx.recv().await });
        let b = task::spawn(async move { rx2.recv().await });
        yield_a_few().await;
        // Handed to a waiting receiver if there is one, else buffered: either way received
        // exactly once, and the other receiver sees the close.
        tx.try_send(7).unwrap();
        tx.close();
        let mut got = vec![a.await.unwrap(), b.await.unwrap()];
        got.sort_unstable();
        assert_eq!(got, [None, Some(7)]);
    });
}

#[test]
fn dropping_every_sender_ends_the_receive_loop() {
    check_all_loom_bound("drop-senders-closes", 3, || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let tx2 = tx.clone();
        let a = task::spawn(async move {
            tx.send(1).await.unwrap();
        });
        let b = task::spawn(async move {
            tx2.send(2).await.unwrap();
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(rx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        a.await.unwrap();
        b.await.unwrap();
    });
}

#[test]
fn channel_stays_open_while_a_sender_clone_lives() {
    check_all("sender-clone-keeps-open", || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let tx2 = tx.clone();
        drop(tx);
        assert!(!rx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let sender = task::spawn(async move {
            tx2.send(3).await.unwrap();
            // tx2 dropped here: now the channel closes.
        });
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
        sender.await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------
// try_send / try_recv never block
// ---------------------------------------------------------------------------------------

#[test]
fn try_send_and_try_recv_never_block() {
    check_all("try-ops", || async {
        // Buffered.
        let (tx, rx) = chan::bounded::<u32>(1);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(tx.try_send(1), Ok(()));
        let full = tx.try_send(2).unwrap_err();
        assert_eq!(full, TrySendError::Full(2));
        assert_eq!(full.into_inner(), 2);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(tx.try_send(3), Ok(()));
        assert_eq!(rx.recv().await, Some(3));

        // Unbounded: never full.
        let (utx, urx) = chan::unbounded::<u32>();
        assert_eq!(urx.try_recv(), Err(TryRecvError::Empty));
        for i in 0..3 {
            assert_eq!(utx.try_send(i), Ok(()));
        }
        assert_eq!(urx.len(), 3);
        for i in 0..3 {
            assert_eq!(urx.try_recv(), Ok(i));
        }
        assert_eq!(urx.try_recv(), Err(TryRecvError::Empty));

        // Rendezvous: no receiver waiting, nothing to take.
        let (rtx, rrx) = chan::bounded::<u32>(0);
        assert_eq!(rtx.try_send(4), Err(TrySendError::Full(4)));
        assert_eq!(rrx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn try_recv_takes_from_a_blocked_sender() {
    check_all("try-recv-from-offer", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let sender = task::spawn(async move { tx.send(8).await });
        // Empty until the sender is parked in send; then try_recv takes its value.
        let v = loop {
            match rx.try_recv() {
                Ok(v) => break v,
                Err(TryRecvError::Empty) => task::yield_now().await,
                Err(TryRecvError::Closed) => panic!("closed while the sender lives"),
            }
        };
        assert_eq!(v, 8);
        assert_eq!(sender.await.unwrap(), Ok(()));
    });
}

// ---------------------------------------------------------------------------------------
// Disconnect: every receiver gone
// ---------------------------------------------------------------------------------------

#[test]
fn dropping_the_last_receiver_wakes_a_blocked_rendezvous_sender() {
    // Not a finding: the check passes.
    check_all("disconnect-rendezvous", || async {
        let (tx, rx) = chan::bounded::<u32>(0);
        let sender = task::spawn(async move { tx.send(1).await });
        yield_a_few().await;
        drop(rx);
        match sender.await.unwrap() {
            Err(SendError::Disconnected(v)) => assert_eq!(v, 1),
            other => panic!("expected Disconnected(1), got {other:?}"),
        }
    });
}

#[test]
fn dropping_the_last_receiver_wakes_a_sender_blocked_on_a_full_buffer() {
    check_all("disconnect-full-buffer", || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let sender = task::spawn(async move {
            for v in 1..=2 {
                if let Err(e) = tx.send(v).await {
                    return Some(e);
                }
            }
            None
        });
        yield_a_few().await;
        drop(rx);
        match sender.await.unwrap() {
            Some(SendError::Disconnected(v)) => assert!(v == 1 || v == 2, "value {v}"),
            other => panic!("expected Some(Disconnected(_)), got {other:?}"),
        }
    });
}

#[test]
fn disconnect_needs_every_receiver_clone_gone() {
    check_all("disconnect-clones", || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let rx2 = rx.clone();
        drop(rx);
        // One receiver clone is still alive: the channel is connected.
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(rx2.recv().await, Some(1));
        drop(rx2);
        assert_eq!(tx.try_send(2), Err(TrySendError::Disconnected(2)));
        match tx.send(3).await {
            Err(SendError::Disconnected(3)) => {}
            other => panic!("expected Disconnected(3), got {other:?}"),
        }
        assert!(!tx.is_closed(), "a disconnect is not a close");
    });
}

// ---------------------------------------------------------------------------------------
// Send after close: an error and a finding
// ---------------------------------------------------------------------------------------

#[test]
fn send_after_close_is_an_error_and_a_closed_send_finding() {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    expect_failure_all("send-after-close", FailureKind::ClosedSend, move || {
        let t = t.clone();
        async move {
            let (tx, _rx) = chan::bounded::<u32>(1);
            tx.close();
            let r = tx.send(7).await;
            t.note(matches!(r, Err(SendError::Closed(7))));
        }
    });
    tally.assert_all_ok("send after close returns SendError::Closed");
}

#[test]
fn try_send_after_close_is_an_error_and_a_closed_send_finding() {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    expect_failure_all("try-send-after-close", FailureKind::ClosedSend, move || {
        let t = t.clone();
        async move {
            let (tx, rx) = chan::unbounded::<u32>();
            tx.try_send(1).unwrap();
            tx.close();
            let r = tx.try_send(2);
            // The value sent before close() is still there; the late one is not.
            let drained = (rx.try_recv(), rx.try_recv());
            t.note(
                r == Err(TrySendError::Closed(2)) && drained == (Ok(1), Err(TryRecvError::Closed)),
            );
        }
    });
    tally.assert_all_ok("try_send after close returns TrySendError::Closed");
}

#[test]
fn close_under_a_blocked_sender_is_a_closed_send_finding() {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    expect_failure_all("close-under-sender", FailureKind::ClosedSend, move || {
        let t = t.clone();
        async move {
            let (tx, rx) = chan::bounded::<u32>(0);
            let tx2 = tx.clone();
            let sender = task::spawn(async move { tx2.send(5).await });
            yield_a_few().await;
            tx.close();
            let r = sender.await.unwrap();
            t.note(
                matches!(r, Err(SendError::Closed(5)))
                    && rx.try_recv() == Err(TryRecvError::Closed),
            );
        }
    });
    tally.assert_all_ok("a send blocked across close() returns SendError::Closed");
}

// ---------------------------------------------------------------------------------------
// Multiple consumers
// ---------------------------------------------------------------------------------------

#[test]
fn each_value_goes_to_exactly_one_of_several_receivers() {
    check_all_loom_bound("multi-consumer", 2, || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        let (res_tx, res_rx) = chan::unbounded::<(usize, u32)>();
        let mut consumers = Vec::new();
        for who in 0..2 {
            let rx = rx.clone();
            let res_tx = res_tx.clone();
            consumers.push(task::spawn(async move {
                while let Some(v) = rx.recv().await {
                    res_tx.send((who, v)).await.unwrap();
                }
            }));
        }
        drop(rx);
        drop(res_tx);
        for v in 0..3 {
            tx.send(v).await.unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some((_, v)) = res_rx.recv().await {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2], "each value exactly once");
        for c in consumers {
            c.await.unwrap();
        }
    });
}

// ---------------------------------------------------------------------------------------
// len, capacity, is_closed
// ---------------------------------------------------------------------------------------

#[test]
fn len_capacity_and_is_closed() {
    check_all("len-capacity-closed", || async {
        let (tx, rx) = chan::bounded::<u32>(2);
        assert_eq!(tx.capacity(), Some(2));
        assert_eq!((tx.len(), rx.len()), (0, 0));
        assert!(tx.is_empty() && rx.is_empty());
        assert!(!tx.is_closed() && !rx.is_closed());
        tx.send(1).await.unwrap();
        assert_eq!((tx.len(), rx.len()), (1, 1));
        tx.send(2).await.unwrap();
        assert_eq!((tx.len(), rx.len()), (2, 2));
        assert!(!tx.is_empty());
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!((tx.len(), rx.len()), (1, 1));
        tx.close();
        assert!(tx.is_closed() && rx.is_closed());
        assert_eq!(rx.len(), 1, "close() keeps buffered values");
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!((tx.len(), rx.len()), (0, 0));
        assert!(rx.is_closed());

        let (utx, urx) = chan::unbounded::<u32>();
        assert_eq!(utx.capacity(), None);
        utx.send(1).await.unwrap();
        assert_eq!(urx.len(), 1);
        let utx2 = utx.clone();
        drop(utx);
        assert!(!urx.is_closed(), "a sender clone is still alive");
        drop(utx2);
        assert!(urx.is_closed(), "every sender dropped closes the channel");
        assert_eq!(urx.len(), 1);

        let (rtx, rrx) = chan::bounded::<u32>(0);
        assert_eq!(rtx.capacity(), Some(0));
        assert_eq!((rtx.len(), rrx.len()), (0, 0));
        // A clone reports the same channel.
        let rtx2 = rtx.clone();
        assert_eq!(rtx2.capacity(), Some(0));
        rtx2.close();
        assert!(rtx.is_closed() && rrx.is_closed());
    });
}

#[test]
fn len_counts_buffered_values_only() {
    check_all("len-buffered-only", || async {
        let (tx, rx) = chan::bounded::<u32>(1);
        tx.send(1).await.unwrap();
        let tx2 = tx.clone();
        let sender = task::spawn(async move { tx2.send(2).await.unwrap() });
        yield_a_few().await;
        assert_eq!(tx.len(), 1, "a blocked send is not buffered");
        assert!(tx.len() <= tx.capacity().unwrap());
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        sender.await.unwrap();
        assert_eq!(rx.len(), 0);
    });
}

// ---------------------------------------------------------------------------------------
// Errors: Debug, Display, std::error::Error (no checker needed)
// ---------------------------------------------------------------------------------------

#[test]
fn errors_implement_display_and_error() {
    /// A value type with no Debug, to show the impls hold for any `T`.
    struct Opaque;

    fn as_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> Box<dyn std::error::Error> {
        Box::new(e)
    }

    let send_closed = as_error(SendError::Closed(Opaque)).to_string();
    let send_disc = as_error(SendError::Disconnected(Opaque)).to_string();
    let try_full = as_error(TrySendError::Full(Opaque)).to_string();
    let try_closed = as_error(TrySendError::Closed(Opaque)).to_string();
    let try_disc = as_error(TrySendError::Disconnected(Opaque)).to_string();
    let recv_empty = as_error(TryRecvError::Empty).to_string();
    let recv_closed = as_error(TryRecvError::Closed).to_string();

    for (what, text) in [
        ("SendError::Closed", &send_closed),
        ("SendError::Disconnected", &send_disc),
        ("TrySendError::Full", &try_full),
        ("TrySendError::Closed", &try_closed),
        ("TrySendError::Disconnected", &try_disc),
        ("TryRecvError::Empty", &recv_empty),
        ("TryRecvError::Closed", &recv_closed),
    ] {
        assert!(!text.trim().is_empty(), "{what} displays as nothing");
    }
    assert!(send_closed.contains("closed"), "{send_closed}");
    assert!(try_closed.contains("closed"), "{try_closed}");
    assert!(try_full.contains("full"), "{try_full}");
    assert!(recv_empty.contains("empty"), "{recv_empty}");
    assert_ne!(send_closed, send_disc);
    assert_ne!(try_full, try_closed);
    assert_ne!(try_closed, try_disc);
    assert_ne!(recv_empty, recv_closed);

    // Debug, without needing T: Debug.
    assert!(format!("{:?}", SendError::Closed(Opaque)).contains("Closed"));
    assert!(format!("{:?}", TrySendError::Full(Opaque)).contains("Full"));
    assert_eq!(format!("{:?}", TryRecvError::Empty), "Empty");

    // The value comes back.
    assert_eq!(SendError::Closed(1).into_inner(), 1);
    assert_eq!(SendError::Disconnected(2).into_inner(), 2);
    assert_eq!(TrySendError::Full(3).into_inner(), 3);
    assert_eq!(TrySendError::Closed(4).into_inner(), 4);
    assert_eq!(TrySendError::Disconnected(5).into_inner(), 5);

    // The plain enum is Copy + Eq.
    let e = TryRecvError::Closed;
    let copy = e;
    assert_eq!(e, copy);
    assert_ne!(TryRecvError::Empty, TryRecvError::Closed);
}

/// A receiver whose select has a receive arm on a full buffered channel must take the
/// buffered value, even while the sender is parked in a select send on that channel and
/// the receiver's other arm is a send nobody takes. Found by the `pubsub` model (the
/// broker and a subscriber draining while it unsubscribes): loom reaches a state where the
/// broker waits in `select { send ch#2, ctx.done() }` and the leaver in
/// `select { send ch#1, recv ch#2 }` with neither woken (`lp1:loom:2:1959`, seen on
/// 2026-11-29); 20000 shuttle and 20000 PCT executions did not. The cause was the loom
/// backend losing a wake-up when a woken task then blocked on a contended channel lock.
#[test]
fn a_select_receive_meets_a_select_send_parked_on_a_full_buffer_under_loom() {
    use harness::context::Context;
    Check::new("select-recv-vs-parked-select-send")
        .loom()
        .run(|| async {
            let ctx = Context::background();
            let (cmd_tx, cmd_rx) = chan::bounded::<u32>(0);
            let (tx, rx) = chan::bounded::<u32>(1);
            let broker = task::spawn_named("broker", async move {
                let mut tx = Some(tx);
                loop {
                    let cmd = harness::select! {
                        c = cmd_rx.recv() => c,
                        _ = ctx.done() => None,
                    };
                    match cmd {
                        Some(100) | None => return,
                        Some(0) => tx = None,
                        Some(v) => {
                            if let Some(tx) = &tx {
                                harness::select! {
                                    r = tx.send(v) => r.unwrap(),
                                    _ = ctx.done() => {}
                                }
                            }
                        }
                    }
                }
            });
            let leave_tx = cmd_tx.clone();
            let leaver = task::spawn_named("leaver", async move {
                let mut got = vec![rx.recv().await.unwrap()];
                harness::time::sleep(std::time::Duration::from_millis(20)).await;
                loop {
                    harness::select! {
                        _ = leave_tx.send(0) => return got,
                        v = rx.recv() => got.push(v.unwrap()),
                    }
                }
            });
            for v in 1..=3 {
                cmd_tx.send(v).await.unwrap();
            }
            assert_eq!(leaver.await.unwrap()[0], 1);
            cmd_tx.send(100).await.unwrap();
            broker.await.unwrap();
        })
        .unwrap();
}

/// A `select!` over a rendezvous receive and a buffered receive gets both values, and the
/// rendezvous send completes only once the select has received its value (never while the
/// select went the other way). The sender's task ends after its send, which closes the
/// rendezvous channel: a closed channel is always ready, so a later select may pick it and
/// get `None`, which is right only once the value was received. (An earlier version of this
/// test unwrapped that `None` and was kept ignored as a suspected lost value: the replay of
/// its failing schedule, `lp1:shuttle:91011496d5b5bb90fbc4cb130005550102`, showed `a7`
/// already received when the closed channel yielded `None`.)
#[test]
fn select_never_loses_a_rendezvous_value() {
    let result = Check::new("select keeps a rendezvous value")
        .shuttle(5_000)
        .pct(2_000, 3)
        .loom()
        .tokio(50)
        .run(|| async {
            let (a_tx, a_rx) = chan::bounded::<u32>(0);
            let (b_tx, b_rx) = chan::bounded::<&str>(1);
            let sent = Arc::new(AtomicBool::new(false));
            let sent_by_task = sent.clone();
            task::spawn(async move {
                a_tx.send(7).await.unwrap();
                sent_by_task.store(true, SeqCst);
            });
            b_tx.send("hi").await.unwrap();
            let mut got: Vec<String> = Vec::new();
            let mut a_closed = false;
            for _ in 0..2 {
                harness::select! {
                    v = a_rx.recv() => match v {
                        Some(v) => got.push(format!("a{v}")),
                        None => {
                            assert!(
                                got.iter().any(|g| g == "a7"),
                                "the rendezvous channel closed but its value never arrived: {got:?}"
                            );
                            a_closed = true;
                        }
                    },
                    s = b_rx.recv() => got.push(s.unwrap().to_string()),
                }
                if !got.iter().any(|g| g == "a7") {
                    assert!(
                        !sent.load(SeqCst),
                        "the rendezvous send returned Ok but the select did not receive it: {got:?}"
                    );
                }
            }
            if a_closed {
                got.push(b_rx.recv().await.unwrap().to_string());
            }
            got.sort();
            assert_eq!(got, ["a7", "hi"]);
        });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// The symmetric case: a `select!` whose rendezvous send arm loses to a ready buffered
/// receive delivers nothing (the receiver parked on the rendezvous channel gets `None` once
/// the sender is dropped), and one whose send arm wins delivers exactly its value.
#[test]
fn select_losing_rendezvous_send_delivers_nothing() {
    let result = Check::new("select's losing send delivers nothing")
        .shuttle(5_000)
        .pct(2_000, 3)
        .loom()
        .tokio(50)
        .run(|| async {
            let (a_tx, a_rx) = chan::bounded::<u32>(0);
            let (b_tx, b_rx) = chan::bounded::<&str>(1);
            b_tx.send("hi").await.unwrap();
            let taker = task::spawn(async move { a_rx.recv().await });
            let sent = harness::select! {
                r = a_tx.send(7) => {
                    r.unwrap();
                    true
                },
                s = b_rx.recv() => {
                    assert_eq!(s, Some("hi"));
                    false
                },
            };
            drop(a_tx);
            let taken = taker.await.unwrap();
            assert_eq!(
                taken,
                sent.then_some(7),
                "the receiver's value does not match which arm won (send arm won: {sent})"
            );
        });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
