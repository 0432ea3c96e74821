//! tokio's tests/sync_oneshot.rs, ported: `harness::tokio::sync::oneshot` against tokio's
//! own expectations, every test under loom, shuttle, PCT and the tokio checker.

use std::future::Future;
use std::pin::Pin;

use harness::tokio;
use harness::tokio::sync::oneshot;
use harness::tokio::sync::oneshot::error::TryRecvError;

use super::support::{self, spawn};
use crate::{
    assert_err, assert_ok, assert_pending, assert_ready, assert_ready_err, assert_ready_ok,
};

fn is_send<T: Send>() {}

#[test]
fn sender_and_receiver_are_send() {
    is_send::<oneshot::Sender<i32>>();
    is_send::<oneshot::Receiver<i32>>();
}

#[tokio::test(check = support::light)]
async fn send_recv() {
    let (tx, rx) = oneshot::channel();
    let mut rx = spawn(rx);
    assert_pending!(rx.poll());
    assert_ok!(tx.send(1));
    assert!(rx.is_woken());
    assert_eq!(assert_ready_ok!(rx.poll()), 1);
}

#[tokio::test(check = support::light)]
async fn async_send_recv() {
    let (tx, rx) = oneshot::channel();
    assert_ok!(tx.send(1));
    assert_eq!(assert_ok!(rx.await), 1);
}

#[tokio::test(check = support::light)]
async fn close_tx() {
    let (tx, rx) = oneshot::channel::<i32>();
    let mut rx = spawn(rx);
    assert_pending!(rx.poll());
    drop(tx);
    assert!(rx.is_woken());
    assert_ready_err!(rx.poll());
}

#[tokio::test(check = support::light)]
async fn close_rx() {
    // First, without the receiver ever polled.
    let (tx, _) = oneshot::channel();
    assert_err!(tx.send(1));
    // Then with the sender waiting in `closed`.
    let (tx, rx) = oneshot::channel();
    let mut tx = spawn(tx);
    assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));
    drop(rx);
    assert!(tx.is_woken());
    assert!(tx.get_mut().is_closed());
    assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));
    assert_err!(tx.into_inner().send(1));
}

#[tokio::test(check = support::light)]
async fn async_rx_closed() {
    let (mut tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        drop(rx);
    });
    tx.closed().await;
}

#[tokio::test(check = support::light)]
async fn explicit_close_poll() {
    // A value sent before `close` is still received.
    let (tx, rx) = oneshot::channel();
    let mut rx = spawn(rx);
    assert_ok!(tx.send(1));
    rx.get_mut().close();
    assert_eq!(assert_ready_ok!(rx.poll()), 1);
    // `close` wakes the sender waiting in `closed`; its send then fails.
    for send in [true, false] {
        let (tx, rx) = oneshot::channel::<i32>();
        let mut tx = spawn(tx);
        let mut rx = spawn(rx);
        assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));
        rx.get_mut().close();
        assert!(tx.is_woken());
        assert!(tx.get_mut().is_closed());
        assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));
        if send {
            assert_err!(tx.into_inner().send(1));
        }
        assert_ready_err!(rx.poll());
    }
}

#[tokio::test(check = support::light)]
async fn explicit_close_try_recv() {
    let (tx, mut rx) = oneshot::channel();
    assert_ok!(tx.send(1));
    rx.close();
    assert_eq!(assert_ok!(rx.try_recv()), 1);
    let (tx, mut rx) = oneshot::channel::<i32>();
    let mut tx = spawn(tx);
    assert_pending!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));
    rx.close();
    assert!(tx.is_woken());
    assert!(tx.get_mut().is_closed());
    assert_ready!(tx.enter(|cx, mut tx| tx.poll_closed(cx)));
    assert_err!(rx.try_recv());
}

#[test]
#[should_panic(expected = "called after complete")]
fn close_try_recv_poll() {
    // Outside any checker: tokio's panic comes straight through.
    let (_tx, rx) = oneshot::channel::<i32>();
    let mut rx = spawn(rx);
    rx.get_mut().close();
    assert_err!(rx.get_mut().try_recv());
    let _ = rx.poll();
}

#[tokio::test(check = support::light)]
async fn close_after_recv() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    tx.send(17).unwrap();
    assert_eq!(rx.try_recv().unwrap(), 17);
    rx.close();
}

#[tokio::test(check = support::light)]
async fn try_recv_after_completion() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    tx.send(17).unwrap();
    assert_eq!(rx.try_recv().unwrap(), 17);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    rx.close();
}

#[tokio::test(check = support::light)]
async fn try_recv_after_completion_await() {
    let (tx, rx) = oneshot::channel::<i32>();
    let mut rx = spawn(rx);
    tx.send(17).unwrap();
    assert_eq!(assert_ready!(rx.poll()), Ok(17));
    assert_eq!(rx.get_mut().try_recv(), Err(TryRecvError::Closed));
    rx.get_mut().close();
}

#[tokio::test(check = support::light)]
async fn drops_tasks() {
    let (mut tx, mut rx) = oneshot::channel::<i32>();
    let mut tx_task = spawn(());
    let mut rx_task = spawn(());
    assert_pending!(tx_task.enter(|cx, _| tx.poll_closed(cx)));
    assert_pending!(rx_task.enter(|cx, _| Pin::new(&mut rx).poll(cx)));
    drop(tx);
    drop(rx);
    // Both ends gone: no waker of either task is kept.
    assert_eq!(tx_task.waker_ref_count(), 1);
    assert_eq!(rx_task.waker_ref_count(), 1);
}

#[tokio::test(check = support::light)]
async fn receiver_changes_task() {
    let (tx, mut rx) = oneshot::channel();
    let mut task1 = spawn(());
    let mut task2 = spawn(());
    assert_pending!(task1.enter(|cx, _| Pin::new(&mut rx).poll(cx)));
    assert_eq!(task1.waker_ref_count(), 2);
    assert_eq!(task2.waker_ref_count(), 1);
    assert_pending!(task2.enter(|cx, _| Pin::new(&mut rx).poll(cx)));
    assert_eq!(task1.waker_ref_count(), 1);
    assert_eq!(task2.waker_ref_count(), 2);
    assert_ok!(tx.send(1));
    assert!(!task1.is_woken());
    assert!(task2.is_woken());
    assert_ready_ok!(task2.enter(|cx, _| Pin::new(&mut rx).poll(cx)));
}

#[tokio::test(check = support::light)]
async fn sender_changes_task() {
    let (mut tx, rx) = oneshot::channel::<i32>();
    let mut task1 = spawn(());
    let mut task2 = spawn(());
    assert_pending!(task1.enter(|cx, _| tx.poll_closed(cx)));
    assert_eq!(task1.waker_ref_count(), 2);
    assert_eq!(task2.waker_ref_count(), 1);
    assert_pending!(task2.enter(|cx, _| tx.poll_closed(cx)));
    assert_eq!(task1.waker_ref_count(), 1);
    assert_eq!(task2.waker_ref_count(), 2);
    drop(rx);
    assert!(!task1.is_woken());
    assert!(task2.is_woken());
    assert_ready!(task2.enter(|cx, _| tx.poll_closed(cx)));
}

/// How a receiver comes to its end in the `is_terminated` / `is_empty` tests.
#[derive(Clone, Copy)]
enum End {
    SendThenPoll,
    SendThenTryRecv,
    DropSender,
    Close,
}

async fn terminated_and_empty(end: End) {
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert!(
        !rx.is_terminated(),
        "not terminated before anything happened"
    );
    assert!(rx.is_empty(), "empty before anything was sent");
    let mut task = spawn(());
    match end {
        End::SendThenPoll | End::SendThenTryRecv => {
            tx.send(17).unwrap();
            assert!(!rx.is_terminated(), "not terminated once sent");
            assert!(!rx.is_empty(), "not empty once sent");
            if let End::SendThenPoll = end {
                let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
                assert_eq!(assert_ready!(poll), Ok(17));
            } else {
                assert_eq!(rx.try_recv().expect("the value is waiting"), 17);
            }
        }
        End::DropSender | End::Close => {
            let mut _kept = None;
            if let End::DropSender = end {
                drop(tx);
            } else {
                rx.close();
                _kept = Some(tx);
            }
            assert!(!rx.is_terminated(), "not terminated before it is polled");
            assert!(rx.is_empty());
            let poll = task.enter(|cx, _| Pin::new(&mut rx).poll(cx));
            assert_ready_err!(poll);
        }
    }
    assert!(rx.is_terminated(), "terminated once its result was read");
    assert!(rx.is_empty(), "empty once its result was read");
}

#[tokio::test(check = support::light)]
async fn receiver_is_terminated_send() {
    terminated_and_empty(End::SendThenPoll).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_empty_send() {
    terminated_and_empty(End::SendThenPoll).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_terminated_try_recv() {
    terminated_and_empty(End::SendThenTryRecv).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_empty_try_recv() {
    terminated_and_empty(End::SendThenTryRecv).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_terminated_drop() {
    terminated_and_empty(End::DropSender).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_empty_drop() {
    terminated_and_empty(End::DropSender).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_terminated_rx_close() {
    terminated_and_empty(End::Close).await;
}

#[tokio::test(check = support::light)]
async fn receiver_is_empty_rx_close() {
    terminated_and_empty(End::Close).await;
}

// Beyond tokio's suite: what the checkers find in oneshot code.

#[test]
fn a_forgotten_oneshot_sender_is_a_leak_with_tokio_words() {
    let failure = support::no_loom("forgotten-oneshot-sender")
        .run(|| async {
            let (tx, rx) = oneshot::channel::<u32>();
            tokio::task::Builder::new()
                .name("waiter")
                .spawn(async move {
                    let _ = rx.await;
                })
                .unwrap();
            // The sender lives on and never sends.
            std::mem::forget(tx);
        })
        .unwrap_err();
    assert_eq!(failure.kind, harness::check::FailureKind::Leak, "{failure}");
    assert!(
        failure.report.contains("\"waiter\" [oneshot recv]"),
        "{failure}"
    );
    assert!(failure.report.contains("on oneshot channel #"), "{failure}");
    assert!(
        failure
            .report
            .contains("the sender is alive but nothing sends on it"),
        "{failure}"
    );
}
