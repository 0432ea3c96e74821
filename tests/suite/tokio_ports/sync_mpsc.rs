//! tokio's tests/sync_mpsc.rs, ported: `harness::tokio::sync::mpsc` against tokio's own
//! expectations, every test under loom, shuttle, PCT and the tokio checker.

use std::sync::Arc;

use harness::tokio;
use harness::tokio::sync::mpsc;
use harness::tokio::sync::mpsc::error::{SendError, TryRecvError, TrySendError};

use super::support::{self, spawn};
use crate::{
    assert_err, assert_ok, assert_pending, assert_ready, assert_ready_err, assert_ready_ok,
};

fn is_debug<T: std::fmt::Debug>(_: &T) {}

#[tokio::test(check = support::light)]
async fn send_recv_with_buffer() {
    let (tx, mut rx) = mpsc::channel::<i32>(16);
    tx.reserve().await.unwrap().send(1);
    tx.try_send(2).unwrap();
    drop(tx);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(check = support::light)]
async fn reserve_disarm() {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    let (tx1, tx2, tx3, tx4) = (tx.clone(), tx.clone(), tx.clone(), tx);
    let permit1 = assert_ok!(tx1.reserve().await);
    let permit2 = assert_ok!(tx2.reserve().await);
    // Both slots are taken: the next two wait.
    let mut r3 = spawn(tx3.reserve());
    assert_pending!(r3.poll());
    let mut r4 = spawn(tx4.reserve());
    assert_pending!(r4.poll());
    permit1.send(1);
    // A written slot frees only when the value is received.
    assert!(!r3.is_woken());
    rx.recv().await.unwrap();
    assert!(r3.is_woken());
    assert!(!r4.is_woken());
    // Dropping a permit frees its slot too.
    drop(permit2);
    assert!(r4.is_woken());
    let mut r1 = spawn(tx1.reserve());
    assert_pending!(r1.poll());
}

#[tokio::test(check = support::light)]
async fn async_send_recv_with_buffer() {
    let (tx, mut rx) = mpsc::channel(16);
    tokio::spawn(async move {
        assert_ok!(tx.send(1).await);
        assert_ok!(tx.send(2).await);
    });
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(check = support::light)]
async fn async_send_recv_many_with_buffer() {
    let (tx, mut rx) = mpsc::channel(2);
    let mut buffer = Vec::<i32>::with_capacity(3);
    // A limit of 0 returns at once.
    assert_eq!(rx.recv_many(&mut buffer, 0).await, 0);
    let handle = tokio::spawn(async move {
        for v in [1, 2, 7, 0] {
            assert_ok!(tx.send(v).await);
        }
    });
    let mut got = 0;
    while got < 4 {
        got += rx.recv_many(&mut buffer, 3).await;
        assert_eq!(buffer.len(), got);
    }
    assert_eq!(buffer, [1, 2, 7, 0]);
    assert_eq!(rx.recv_many(&mut buffer, 3).await, 0);
    handle.await.unwrap();
}

#[tokio::test(check = support::light)]
async fn start_send_past_cap() {
    let (tx1, mut rx) = mpsc::channel(1);
    let tx2 = tx1.clone();
    assert_ok!(tx1.try_send(()));
    let mut r1 = spawn(tx1.reserve());
    assert_pending!(r1.poll());
    {
        let mut r2 = spawn(tx2.reserve());
        assert_pending!(r2.poll());
        drop(r1);
        assert!(rx.recv().await.is_some());
        // The slot goes to the reservation still waiting, not the dropped one.
        assert!(r2.is_woken());
    }
    drop(tx1);
    drop(tx2);
    assert!(rx.recv().await.is_none());
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn buffer_gteq_one() {
    mpsc::channel::<i32>(0);
}

#[tokio::test(check = support::light)]
async fn send_recv_unbounded() {
    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    assert_ok!(tx.send(1));
    assert_ok!(tx.send(2));
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    drop(tx);
    assert!(rx.recv().await.is_none());
}

#[tokio::test(check = support::light)]
async fn send_recv_many_unbounded() {
    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    let mut buffer = Vec::new();
    assert_eq!(rx.recv_many(&mut buffer, 0).await, 0);
    for v in [7, 13, 100, 1002] {
        assert_ok!(tx.send(v));
    }
    assert_eq!(rx.recv_many(&mut buffer, 0).await, 0);
    let mut count = 0;
    while count < 4 {
        count += rx.recv_many(&mut buffer, 1).await;
    }
    assert_eq!(buffer, [7, 13, 100, 1002]);
    buffer.clear();
    for v in [5, 6, 7, 2] {
        assert_ok!(tx.send(v));
    }
    assert_eq!(rx.recv_many(&mut buffer, 32).await, 4);
    assert_eq!(buffer, [5, 6, 7, 2]);
    drop(tx);
    // Closed and drained: 0 at once.
    assert_eq!(rx.recv_many(&mut buffer, 4).await, 0);
    assert!(rx.recv().await.is_none());
}

#[tokio::test(check = support::light)]
async fn send_recv_many_bounded_capacity() {
    let mut buffer: Vec<String> = Vec::with_capacity(9);
    let limit = buffer.capacity();
    let (tx, mut rx) = mpsc::channel(100);
    let mut expected: Vec<String> = (0..limit).map(|x| x.to_string()).collect();
    for x in expected.clone() {
        tx.send(x).await.unwrap();
    }
    tx.send("one more".to_string()).await.unwrap();
    assert_eq!(rx.recv_many(&mut buffer, limit).await, limit);
    assert_eq!(buffer, expected);
    assert_eq!(rx.recv_many(&mut buffer, limit).await, 1);
    expected.push("one more".to_string());
    assert_eq!(buffer, expected);
    tokio::spawn(async move {
        tx.send("final".to_string()).await.unwrap();
    });
    // The sender lives in the task until it has sent: the next call gets its value.
    assert_eq!(rx.recv_many(&mut buffer, limit).await, 1);
    expected.push("final".to_string());
    assert_eq!(buffer, expected);
    assert_eq!(rx.recv_many(&mut buffer, limit).await, 0);
}

#[tokio::test(check = support::light)]
async fn send_recv_many_unbounded_capacity() {
    let mut buffer: Vec<String> = Vec::with_capacity(9);
    let limit = buffer.capacity();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut expected: Vec<String> = (0..limit).map(|x| x.to_string()).collect();
    for x in expected.clone() {
        tx.send(x).unwrap();
    }
    tx.send("one more".to_string()).unwrap();
    assert_eq!(rx.recv_many(&mut buffer, limit).await, limit);
    assert_eq!(rx.recv_many(&mut buffer, limit).await, 1);
    expected.push("one more".to_string());
    assert_eq!(buffer, expected);
    tokio::spawn(async move {
        tx.send("final".to_string()).unwrap();
    });
    assert_eq!(rx.recv_many(&mut buffer, limit).await, 1);
    expected.push("final".to_string());
    assert_eq!(buffer, expected);
    assert_eq!(rx.recv_many(&mut buffer, limit).await, 0);
}

#[tokio::test(check = support::light)]
async fn recv_many_with_non_empty_buffer_bounded_rx_closed_and_idle() {
    let (_tx, mut rx) = mpsc::channel::<i32>(1);
    let mut buffer = vec![1];
    rx.close();
    assert_eq!(rx.recv_many(&mut buffer, 1).await, 0);
    assert_eq!(buffer, [1]);
}

#[tokio::test(check = support::light)]
async fn recv_many_with_non_empty_buffer_unbounded_rx_closed_and_idle() {
    let (_tx, mut rx) = mpsc::unbounded_channel::<i32>();
    let mut buffer = vec![1];
    rx.close();
    assert_eq!(rx.recv_many(&mut buffer, 1).await, 0);
    assert_eq!(buffer, [1]);
}

#[tokio::test(check = support::light)]
async fn async_send_recv_unbounded() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        assert_ok!(tx.send(1));
        assert_ok!(tx.send(2));
    });
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(check = support::light)]
async fn no_t_bounds_buffer() {
    struct NoImpls;
    let (tx, mut rx) = mpsc::channel(100);
    // Debug and Clone do not need them from T.
    is_debug(&tx);
    is_debug(&rx);
    assert!(tx.clone().try_send(NoImpls).is_ok());
    assert!(rx.recv().await.is_some());
}

#[tokio::test(check = support::light)]
async fn no_t_bounds_unbounded() {
    struct NoImpls;
    let (tx, mut rx) = mpsc::unbounded_channel();
    is_debug(&tx);
    is_debug(&rx);
    assert!(tx.clone().send(NoImpls).is_ok());
    assert!(rx.recv().await.is_some());
}

#[tokio::test(check = support::light)]
async fn send_recv_buffer_limited() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    assert_ok!(tx.reserve().await).send(1);
    let mut p2 = spawn(tx.reserve());
    assert_pending!(p2.poll());
    assert!(rx.recv().await.is_some());
    assert!(p2.is_woken());
    // The freed slot is granted to the waiting reservation, not to try_send.
    assert_err!(tx.try_send(1337));
    assert_ready_ok!(p2.poll()).send(2);
    assert!(rx.recv().await.is_some());
}

#[tokio::test(check = support::light)]
async fn recv_close_gets_none_idle() {
    let (tx, mut rx) = mpsc::channel::<i32>(10);
    rx.close();
    assert!(rx.recv().await.is_none());
    // A result, not a finding: tokio's semantics.
    assert_eq!(assert_err!(tx.send(1).await), SendError(1));
}

#[tokio::test(check = support::light)]
async fn recv_close_gets_none_reserved() {
    let (tx1, mut rx) = mpsc::channel::<i32>(1);
    let tx2 = tx1.clone();
    let permit1 = assert_ok!(tx1.reserve().await);
    let mut permit2 = spawn(tx2.reserve());
    assert_pending!(permit2.poll());
    rx.close();
    assert!(permit2.is_woken());
    assert_ready_err!(permit2.poll());
    {
        let mut recv = spawn(rx.recv());
        assert_pending!(recv.poll());
        permit1.send(123);
        assert!(recv.is_woken());
        assert_eq!(assert_ready!(recv.poll()), Some(123));
    }
    assert!(rx.recv().await.is_none());
}

#[tokio::test(check = support::light)]
async fn failed_reserve_many_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(2);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = spawn(tx.reserve_many(2));
    assert_pending!(reserve.poll());
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    // The reservation still holds a slot: the receiver must wait for it.
    drop(permit);
    assert!(!recv.is_woken());
    assert_ready_err!(reserve.poll());
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn cancelled_reserve_many_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(2);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = spawn(tx.reserve_many(2));
    assert_pending!(reserve.poll());
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    drop(permit);
    assert!(!recv.is_woken());
    drop(reserve);
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn failed_reserve_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = spawn(tx.reserve());
    assert_pending!(reserve.poll());
    // The slot is granted to the waiting reservation, which has not taken it yet.
    drop(permit);
    assert!(reserve.is_woken());
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    // It fails on the closed channel and gives the slot back: the receiver wakes.
    assert_ready_err!(reserve.poll());
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn cancelled_reserve_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = spawn(tx.reserve());
    assert_pending!(reserve.poll());
    drop(permit);
    assert!(reserve.is_woken());
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    drop(reserve);
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn tx_close_gets_none() {
    let (_, mut rx) = mpsc::channel::<i32>(10);
    assert!(rx.recv().await.is_none());
}

#[tokio::test(check = support::light)]
async fn try_send_fail() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send("hello").unwrap();
    assert!(matches!(
        assert_err!(tx.try_send("fail")),
        TrySendError::Full(_)
    ));
    assert_eq!(rx.recv().await, Some("hello"));
    assert_ok!(tx.try_send("goodbye"));
    drop(tx);
    assert_eq!(rx.recv().await, Some("goodbye"));
    assert!(rx.recv().await.is_none());
}

#[tokio::test(check = support::light)]
async fn try_send_fail_with_try_recv() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send("hello").unwrap();
    assert!(matches!(
        assert_err!(tx.try_send("fail")),
        TrySendError::Full(_)
    ));
    assert_eq!(rx.try_recv(), Ok("hello"));
    assert_ok!(tx.try_send("goodbye"));
    drop(tx);
    assert_eq!(rx.try_recv(), Ok("goodbye"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test(check = support::light)]
async fn reserve_many_above_cap() {
    let (tx, _rx) = mpsc::channel::<()>(1);
    assert_err!(tx.reserve_many(2).await);
    assert_err!(tx.reserve_many(usize::MAX).await);
}

#[tokio::test(check = support::light)]
async fn try_reserve_many_zero() {
    let (tx, rx) = mpsc::channel::<()>(1);
    assert!(assert_ok!(tx.try_reserve_many(0)).next().is_none());
    // Even when full.
    tx.try_send(()).unwrap();
    assert!(assert_ok!(tx.try_reserve_many(0)).next().is_none());
    drop(rx);
    assert_eq!(
        assert_err!(tx.try_reserve_many(0)),
        TrySendError::Closed(())
    );
}

#[tokio::test(check = support::light)]
async fn reserve_many_zero() {
    let (tx, rx) = mpsc::channel::<()>(1);
    assert!(assert_ok!(tx.reserve_many(0).await).next().is_none());
    tx.send(()).await.unwrap();
    assert!(assert_ok!(tx.reserve_many(0).await).next().is_none());
    drop(rx);
    assert_err!(tx.reserve_many(0).await);
}

#[tokio::test(check = support::light)]
async fn try_reserve_many_edge_cases() {
    let (tx, rx) = mpsc::channel::<()>(1);
    assert!(assert_ok!(tx.try_reserve_many(0)).next().is_none());
    assert!(matches!(
        assert_err!(tx.try_reserve_many(2)),
        TrySendError::Full(())
    ));
    assert!(matches!(
        assert_err!(tx.try_reserve_many(usize::MAX)),
        TrySendError::Full(())
    ));
    drop(rx);
    assert_err!(tx.reserve_many(0).await);
}

#[tokio::test(check = support::light)]
async fn try_reserve_fails() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    assert!(matches!(
        assert_err!(tx.try_reserve()),
        TrySendError::Full(())
    ));
    permit.send("foo");
    assert_eq!(rx.recv().await, Some("foo"));
    // A dropped permit gives its slot back.
    drop(tx.try_reserve().unwrap());
    let _permit = tx.try_reserve().unwrap();
}

#[tokio::test(check = support::light)]
async fn reserve_many_and_send() {
    let (tx, mut rx) = mpsc::channel(20);
    for i in 0..20 {
        for permit in assert_ok!(tx.reserve_many(i).await) {
            permit.send("foo");
            assert_eq!(rx.recv().await, Some("foo"));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[tokio::test(check = support::light)]
async fn try_reserve_many_and_send() {
    let (tx, mut rx) = mpsc::channel(20);
    for i in 0..20 {
        for permit in assert_ok!(tx.try_reserve_many(i)) {
            permit.send("foo");
            assert_eq!(rx.recv().await, Some("foo"));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[tokio::test(check = support::light)]
async fn reserve_many_on_closed_channel() {
    let (tx, rx) = mpsc::channel::<()>(100);
    drop(rx);
    assert_err!(tx.reserve_many(10).await);
}

#[tokio::test(check = support::light)]
async fn try_reserve_many_on_closed_channel() {
    let (tx, rx) = mpsc::channel::<usize>(100);
    drop(rx);
    assert!(matches!(
        assert_err!(tx.try_reserve_many(10)),
        TrySendError::Closed(())
    ));
}

#[tokio::test(check = support::light)]
async fn try_reserve_many_full() {
    for n in 1..8 {
        for k in 0..n {
            let (tx, mut rx) = mpsc::channel::<usize>(n);
            let permits = assert_ok!(tx.try_reserve_many(n));
            assert_eq!(permits.len(), n);
            assert_eq!(tx.capacity(), 0);
            assert!(matches!(
                assert_err!(tx.try_reserve_many(1)),
                TrySendError::Full(_)
            ));
            for permit in permits.take(k) {
                permit.send(0);
            }
            // k written, the other n - k given back.
            assert_eq!(tx.capacity(), n - k);
            assert_ok!(tx.try_reserve_many(1));
            assert!(matches!(
                assert_err!(tx.try_reserve_many(n - k + 1)),
                TrySendError::Full(_)
            ));
            for _ in 0..k {
                assert_eq!(rx.recv().await, Some(0));
            }
            assert_eq!(tx.capacity(), n);
        }
    }
}

#[tokio::test(check = support::light)]
async fn drop_permit_releases_permit() {
    let (tx1, _rx) = mpsc::channel::<i32>(1);
    let tx2 = tx1.clone();
    let permit = assert_ok!(tx1.reserve().await);
    let mut reserve2 = spawn(tx2.reserve());
    assert_pending!(reserve2.poll());
    drop(permit);
    assert!(reserve2.is_woken());
    assert_ready_ok!(reserve2.poll());
}

#[tokio::test(check = support::light)]
async fn drop_permit_iterator_releases_permits() {
    for n in 1..8 {
        let (tx1, _rx) = mpsc::channel::<i32>(n);
        let tx2 = tx1.clone();
        let permits = assert_ok!(tx1.reserve_many(n).await);
        let mut reserve2 = spawn(tx2.reserve_many(n));
        assert_pending!(reserve2.poll());
        drop(permits);
        assert!(reserve2.is_woken());
        drop(assert_ready_ok!(reserve2.poll()));
        assert_eq!(tx1.capacity(), n);
    }
}

/// After `close`, a receiver with nothing buffered waits for the permits still out; the
/// way the last one comes back (`end`) must wake it.
async fn last_permit_wakes_closed_receiver(end: u8) {
    let (tx, mut rx) = mpsc::channel::<()>(100);
    let tx2 = tx.clone();
    let permit = tx.try_reserve().unwrap();
    let owned = tx2.try_reserve_owned().unwrap();
    let many = tx.try_reserve_many(1).unwrap();
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    drop(many);
    assert!(!recv.is_woken());
    drop(owned.release());
    assert!(!recv.is_woken());
    match end {
        0 => drop(permit),
        _ => permit.send(()),
    }
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn dropping_last_permit_wakes_closed_receiver() {
    last_permit_wakes_closed_receiver(0).await;
}

#[tokio::test(check = support::light)]
async fn sending_last_permit_wakes_closed_receiver() {
    last_permit_wakes_closed_receiver(1).await;
}

#[tokio::test(check = support::light)]
async fn dropping_last_owned_permit_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(100);
    let permit = tx.try_reserve_owned().unwrap();
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    drop(permit);
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn dropping_last_permit_iterator_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(100);
    let permits = tx.try_reserve_many(1).unwrap();
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    drop(permits);
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
}

#[tokio::test(check = support::light)]
async fn sending_last_owned_permit_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(100);
    let permit = tx.try_reserve_owned().unwrap();
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    let _sender = permit.send(());
    assert!(recv.is_woken());
    assert_eq!(assert_ready!(recv.poll()), Some(()));
}

#[tokio::test(check = support::light)]
async fn releasing_last_owned_permit_wakes_closed_receiver() {
    let (tx, mut rx) = mpsc::channel::<()>(100);
    let permit = tx.try_reserve_owned().unwrap();
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    let inert = permit.release();
    assert!(recv.is_woken());
    assert_ready!(recv.poll());
    drop(inert);
}

#[tokio::test(check = support::light)]
async fn dropping_rx_closes_channel() {
    let (tx, rx) = mpsc::channel(100);
    let msg = Arc::new(());
    assert_ok!(tx.try_send(msg.clone()));
    drop(rx);
    assert_err!(tx.reserve().await);
    assert_err!(tx.reserve_many(10).await);
    // The buffered value went with the receiver.
    assert_eq!(Arc::strong_count(&msg), 1);
}

#[tokio::test(check = support::light)]
async fn dropping_rx_closes_channel_for_try() {
    let (tx, rx) = mpsc::channel(100);
    let msg = Arc::new(());
    tx.try_send(msg.clone()).unwrap();
    drop(rx);
    assert!(matches!(
        tx.try_send(msg.clone()),
        Err(TrySendError::Closed(_))
    ));
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(_))));
    assert!(matches!(
        tx.try_reserve_owned(),
        Err(TrySendError::Closed(_))
    ));
    assert_eq!(Arc::strong_count(&msg), 1);
}

#[tokio::test(check = support::light)]
async fn dropping_rx_drops_sender_wakers_outside_lock() {
    use std::future::Future;
    use std::task::{Context, Poll, Wake, Waker};
    // A waker that holds a permit: dropping it gives the permit back, which locks the
    // channel. The receiver's drop must drop wakers after it let go of the lock.
    struct PermitInWaker {
        _permit: mpsc::OwnedPermit<i32>,
    }
    impl Wake for PermitInWaker {
        fn wake(self: Arc<Self>) {}
    }
    let (tx, rx) = mpsc::channel(2);
    let permit = tx.clone().try_reserve_owned().unwrap();
    tx.try_send(1).unwrap();
    let mut reserve = Box::pin(tx.reserve());
    let waker = Waker::from(Arc::new(PermitInWaker { _permit: permit }));
    assert!(reserve
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(waker);
    drop(rx);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(matches!(
        reserve.as_mut().poll(&mut cx),
        Poll::Ready(Err(_))
    ));
}

#[tokio::test(check = support::light)]
async fn unconsumed_messages_are_dropped() {
    let msg = Arc::new(());
    let (tx, rx) = mpsc::channel(100);
    tx.try_send(msg.clone()).unwrap();
    assert_eq!(Arc::strong_count(&msg), 2);
    drop((tx, rx));
    assert_eq!(Arc::strong_count(&msg), 1);
}

#[tokio::test(check = support::light)]
async fn ready_close_cancel_bounded() {
    let (tx, mut rx) = mpsc::channel::<()>(100);
    let _tx2 = tx.clone();
    let permit = assert_ok!(tx.reserve().await);
    rx.close();
    let mut recv = spawn(rx.recv());
    assert_pending!(recv.poll());
    drop(permit);
    assert!(recv.is_woken());
    assert!(assert_ready!(recv.poll()).is_none());
}

#[tokio::test(check = support::light)]
async fn permit_available_not_acquired_close() {
    let (tx1, mut rx) = mpsc::channel::<()>(1);
    let tx2 = tx1.clone();
    let permit1 = assert_ok!(tx1.reserve().await);
    let mut permit2 = spawn(tx2.reserve());
    assert_pending!(permit2.poll());
    rx.close();
    drop(permit1);
    assert!(permit2.is_woken());
    drop(permit2);
    assert!(rx.recv().await.is_none());
}

#[tokio::test(check = support::light)]
async fn try_recv_bounded() {
    let (tx, mut rx) = mpsc::channel(5);
    for _ in 0..5 {
        tx.try_send("hello").unwrap();
    }
    assert!(tx.try_send("hello").is_err());
    for _ in 0..5 {
        assert_eq!(rx.try_recv(), Ok("hello"));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    for _ in 0..4 {
        tx.try_send("hello").unwrap();
    }
    assert_eq!(rx.try_recv(), Ok("hello"));
    tx.try_send("hello").unwrap();
    tx.try_send("hello").unwrap();
    assert!(tx.try_send("hello").is_err());
    for _ in 0..5 {
        assert_eq!(rx.try_recv(), Ok("hello"));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    for _ in 0..3 {
        tx.try_send("hello").unwrap();
    }
    drop(tx);
    for _ in 0..3 {
        assert_eq!(rx.try_recv(), Ok("hello"));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test(check = support::light)]
async fn try_recv_unbounded() {
    for num in 0..20 {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..num {
            tx.send(i).unwrap();
        }
        for i in 0..num {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}

#[tokio::test(check = support::light)]
async fn try_recv_after_receiver_close() {
    let (_tx, mut rx) = mpsc::channel::<()>(5);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test(check = support::light)]
async fn try_recv_after_receiver_close_with_permit() {
    let (tx, mut rx) = mpsc::channel::<()>(5);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    rx.close();
    // A permit is still out: a value may still come.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(permit);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test(check = support::light)]
async fn try_recv_close_while_empty_bounded() {
    let (tx, mut rx) = mpsc::channel::<()>(5);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test(check = support::light)]
async fn try_recv_close_while_empty_unbounded() {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test(check = support::virtual_time)]
async fn recv_timeout() {
    use harness::tokio::sync::mpsc::error::SendTimeoutError::{Closed, Timeout};
    use harness::tokio::time::Duration;
    let (tx, rx) = mpsc::channel(5);
    for v in [10, 20, 30, 40, 50] {
        assert_eq!(tx.send_timeout(v, Duration::from_secs(1)).await, Ok(()));
    }
    assert_eq!(
        tx.send_timeout(60, Duration::from_secs(1)).await,
        Err(Timeout(60))
    );
    drop(rx);
    assert_eq!(
        tx.send_timeout(70, Duration::from_secs(1)).await,
        Err(Closed(70))
    );
}

#[tokio::test(check = support::light)]
async fn test_tx_capacity() {
    let (tx, _rx) = mpsc::channel::<()>(10);
    assert_eq!((tx.capacity(), tx.max_capacity()), (10, 10));
    let _permit = tx.reserve().await.unwrap();
    assert_eq!((tx.capacity(), tx.max_capacity()), (9, 10));
    tx.send(()).await.unwrap();
    assert_eq!((tx.capacity(), tx.max_capacity()), (8, 10));
}

#[tokio::test(check = support::light)]
async fn test_rx_is_closed_when_calling_close_with_sender() {
    let (_tx, mut rx) = mpsc::channel::<()>(10);
    rx.close();
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_closed_when_dropping_all_senders() {
    let (tx, rx) = mpsc::channel::<()>(10);
    let another = tx.clone();
    let task = tokio::spawn(async move { drop(another) });
    drop(tx);
    let _ = task.await;
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_not_closed_when_there_are_senders() {
    let (_tx, rx) = mpsc::channel::<()>(10);
    assert!(!rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_not_closed_when_there_are_senders_and_buffer_filled() {
    let (tx, rx) = mpsc::channel(10);
    for i in 0..10 {
        assert!(tx.send(i).await.is_ok());
    }
    assert!(!rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_closed_when_there_are_no_senders_and_there_are_messages() {
    let (tx, rx) = mpsc::channel(10);
    for i in 0..10 {
        assert!(tx.send(i).await.is_ok());
    }
    drop(tx);
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_closed_when_there_are_messages_and_close_is_called() {
    let (tx, mut rx) = mpsc::channel(10);
    for i in 0..10 {
        assert!(tx.send(i).await.is_ok());
    }
    rx.close();
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_not_closed_when_there_are_permits_but_not_senders() {
    let (tx, rx) = mpsc::channel::<()>(10);
    let _permit = tx.reserve_owned().await.expect("a free slot");
    assert!(!rx.is_closed());
}

/// The `is_empty` and `len` checks of tokio's suite, on both kinds of channel: after
/// `sent` values and `received` of them, with the senders dropped or not, and with the
/// receiver closed or not.
async fn check_len(bounded: bool, sent: usize, received: usize, drop_tx: bool, close: bool) {
    let (btx, mut brx) = mpsc::channel::<usize>(100);
    let (utx, mut urx) = mpsc::unbounded_channel::<usize>();
    for i in 0..sent {
        if bounded {
            assert!(btx.send(i).await.is_ok());
            assert_eq!(brx.len(), i + 1);
        } else {
            assert!(utx.send(i).is_ok());
            assert_eq!(urx.len(), i + 1);
        }
    }
    if drop_tx {
        drop(btx);
        drop(utx);
    }
    if close {
        brx.close();
        urx.close();
    }
    for i in 0..received {
        if bounded {
            assert!(brx.recv().await.is_some());
            assert_eq!(brx.len(), sent - i - 1);
        } else {
            assert!(urx.recv().await.is_some());
            assert_eq!(urx.len(), sent - i - 1);
        }
    }
    let (len, empty) = if bounded {
        (brx.len(), brx.is_empty())
    } else {
        (urx.len(), urx.is_empty())
    };
    assert_eq!(len, sent - received);
    assert_eq!(empty, sent == received);
}

#[tokio::test(check = support::light)]
async fn test_rx_is_empty_when_no_messages_were_sent() {
    check_len(true, 0, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_is_not_empty_when_there_are_messages_in_the_buffer() {
    check_len(true, 1, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_is_not_empty_when_the_buffer_is_full() {
    check_len(true, 10, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_is_not_empty_when_all_but_one_messages_are_consumed() {
    check_len(true, 10, 9, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_is_empty_all_senders_are_dropped_and_messages_consumed() {
    check_len(true, 10, 10, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_on_empty_channel() {
    check_len(true, 0, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_on_empty_channel_without_senders() {
    check_len(true, 0, 0, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_on_filled_channel() {
    check_len(true, 100, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_on_filled_channel_without_senders() {
    check_len(true, 100, 0, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_when_consuming_all_messages() {
    check_len(true, 100, 100, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_when_close_is_called() {
    check_len(true, 1, 0, false, true).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_when_close_is_called_before_dropping_sender() {
    check_len(true, 1, 0, true, true).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_len_when_close_is_called_after_dropping_sender() {
    check_len(true, 1, 0, true, true).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_empty_when_no_messages_were_sent() {
    check_len(false, 0, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_not_empty_when_there_are_messages_in_the_buffer() {
    check_len(false, 1, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_not_empty_when_all_but_one_messages_are_consumed() {
    check_len(false, 10, 9, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_empty_all_senders_are_dropped_and_messages_consumed() {
    check_len(false, 10, 10, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_on_empty_channel() {
    check_len(false, 0, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_on_empty_channel_without_senders() {
    check_len(false, 0, 0, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_with_multiple_messages() {
    check_len(false, 100, 0, false, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_with_multiple_messages_and_dropped_senders() {
    check_len(false, 100, 0, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_when_consuming_all_messages() {
    check_len(false, 100, 100, true, false).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_when_close_is_called() {
    check_len(false, 1, 0, false, true).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_when_close_is_called_before_dropping_sender() {
    check_len(false, 1, 0, true, true).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_len_when_close_is_called_after_dropping_sender() {
    check_len(false, 1, 0, true, true).await;
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_empty_when_all_messages_are_consumed() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        assert!(tx.send(i).is_ok());
    }
    while rx.try_recv().is_ok() {}
    assert!(rx.is_empty());
}

#[tokio::test(check = support::light)]
async fn test_rx_is_empty_when_all_messages_are_consumed() {
    let (tx, mut rx) = mpsc::channel(10);
    for i in 0..10 {
        assert!(tx.send(i).await.is_ok());
    }
    while rx.try_recv().is_ok() {}
    assert!(rx.is_empty());
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_closed_when_calling_close_with_sender() {
    let (_tx, mut rx) = mpsc::unbounded_channel::<()>();
    rx.close();
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_closed_when_dropping_all_senders() {
    let (tx, rx) = mpsc::unbounded_channel::<()>();
    let another = tx.clone();
    let task = tokio::spawn(async move { drop(another) });
    drop(tx);
    let _ = task.await;
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_not_closed_when_there_are_senders() {
    let (_tx, rx) = mpsc::unbounded_channel::<()>();
    assert!(!rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_closed_when_there_are_no_senders_and_there_are_messages() {
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        assert!(tx.send(i).is_ok());
    }
    drop(tx);
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_rx_unbounded_is_closed_when_there_are_messages_and_close_is_called() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        assert!(tx.send(i).is_ok());
    }
    rx.close();
    assert!(rx.is_closed());
}

#[tokio::test(check = support::light)]
async fn test_is_empty_32_msgs() {
    let (sender, mut receiver) = mpsc::channel(33);
    for value in 1..100 {
        sender.send(value).await.unwrap();
        receiver.recv().await.unwrap();
        assert!(receiver.is_empty(), "{value}. len: {}", receiver.len());
    }
}

#[tokio::test(check = support::light)]
async fn release_waker_on_rx_drop() {
    use std::task::{Context, Wake, Waker};
    struct DummyWaker;
    impl Wake for DummyWaker {
        fn wake(self: Arc<Self>) {}
    }
    let dummy = Arc::new(DummyWaker);
    let waker = Waker::from(dummy.clone());
    let mut cx = Context::from_waker(&waker);
    let (_tx, mut rx) = mpsc::channel::<()>(1);
    assert_pending!(rx.poll_recv(&mut cx));
    assert_eq!(Arc::strong_count(&dummy), 3);
    drop(rx);
    assert_eq!(
        Arc::strong_count(&dummy),
        2,
        "dropping rx did not drop its waker"
    );
}

// Beyond tokio's suite: what the checkers find in mpsc code.

#[test]
fn a_send_that_loses_a_select_sends_nothing() {
    // tokio's guarantee: `send` reserves and writes in one poll, so a send branch that
    // loses has not sent. Under every checker, across every interleaving.
    support::light("a_send_that_loses_a_select_sends_nothing")
        .run(|| async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let (go_tx, mut go_rx) = mpsc::channel::<()>(1);
            tx.send(0).await.unwrap(); // full
            let t = tokio::spawn(async move {
                let _ = go_tx.send(()).await;
            });
            let sent = tokio::select! {
                r = tx.send(1) => r.is_ok(),
                _ = go_rx.recv() => false,
            };
            assert_eq!(rx.recv().await, Some(0));
            if !sent {
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            } else {
                assert_eq!(rx.try_recv(), Ok(1));
            }
            t.await.unwrap();
        })
        .unwrap();
}
