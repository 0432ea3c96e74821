//! tokio's tests/sync_broadcast.rs, ported onto `harness::tokio::sync::broadcast` and run
//! under every checker; then delivery across tasks, and a subscriber that waits for events
//! from a sender kept alive but never used again as a buggy twin (a leak naming the
//! channel).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use harness::check::FailureKind;
use harness::tokio::sync::broadcast;
use harness::tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::sync_support::{each_checker, pending, ready, spawn};
use crate::common::{check_all, expect_failure, ALL};

macro_rules! assert_recv {
    ($e:expr) => {
        match $e.try_recv() {
            Ok(value) => value,
            Err(e) => panic!("expected recv; got = {:?}", e),
        }
    };
}

macro_rules! assert_empty {
    ($e:expr) => {
        match $e.try_recv() {
            Ok(value) => panic!("expected empty; got = {:?}", value),
            Err(TryRecvError::Empty) => {}
            Err(e) => panic!("expected empty; got = {:?}", e),
        }
    };
}

macro_rules! assert_lagged {
    ($e:expr, $n:expr) => {
        match $e {
            Err(TryRecvError::Lagged(n)) => assert_eq!(n, $n),
            other => panic!("did not lag: {other:?}"),
        }
    };
}

macro_rules! assert_closed {
    ($e:expr) => {
        match $e {
            Err(TryRecvError::Closed) => {}
            other => panic!("is not closed: {other:?}"),
        }
    };
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<broadcast::Sender<i32>>();
    assert_send_sync::<broadcast::Receiver<i32>>();
}

#[test]
fn send_try_recv_bounded() {
    each_checker("bc-send-try-recv", || async {
        let (tx, mut rx) = broadcast::channel(16);
        assert_empty!(rx);
        let n = tx.send("hello").unwrap();
        assert_eq!(n, 1);
        let val = assert_recv!(rx);
        assert_eq!(val, "hello");
        assert_empty!(rx);
    });
}

#[test]
fn send_two_recv() {
    each_checker("bc-send-two-recv", || async {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();
        assert_empty!(rx1);
        assert_empty!(rx2);
        let n = tx.send("hello").unwrap();
        assert_eq!(n, 2);
        assert_eq!(assert_recv!(rx1), "hello");
        assert_eq!(assert_recv!(rx2), "hello");
        assert_empty!(rx1);
        assert_empty!(rx2);
    });
}

#[test]
fn send_recv_bounded() {
    each_checker("bc-send-recv", || async {
        let (tx, mut rx) = broadcast::channel(16);
        let mut recv = spawn(rx.recv());
        pending(recv.poll());
        tx.send("hello").unwrap();
        assert!(recv.is_woken());
        assert_eq!(ready(recv.poll()).unwrap(), "hello");
    });
}

#[test]
fn send_two_recv_bounded() {
    each_checker("bc-send-two-recv-bounded", || async {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();
        let mut recv1 = spawn(rx1.recv());
        let mut recv2 = spawn(rx2.recv());
        pending(recv1.poll());
        pending(recv2.poll());
        tx.send("hello").unwrap();
        assert!(recv1.is_woken());
        assert!(recv2.is_woken());
        assert_eq!(ready(recv1.poll()).unwrap(), "hello");
        assert_eq!(ready(recv2.poll()).unwrap(), "hello");
        drop((recv1, recv2));
        let mut recv1 = spawn(rx1.recv());
        let mut recv2 = spawn(rx2.recv());
        pending(recv1.poll());
        tx.send("world").unwrap();
        assert!(recv1.is_woken());
        assert!(!recv2.is_woken());
        assert_eq!(ready(recv1.poll()).unwrap(), "world");
        assert_eq!(ready(recv2.poll()).unwrap(), "world");
    });
}

/// A receive future polled from a second task is woken through the second task's waker.
#[test]
fn change_tasks() {
    each_checker("bc-change-tasks", || async {
        let (tx, mut rx) = broadcast::channel(1);
        let mut recv = Box::pin(rx.recv());
        let flag1 = Arc::new(Flag::default());
        let flag2 = Arc::new(Flag::default());
        let w1 = Waker::from(flag1.clone());
        let w2 = Waker::from(flag2.clone());
        pending(recv.as_mut().poll(&mut Context::from_waker(&w1)));
        pending(recv.as_mut().poll(&mut Context::from_waker(&w2)));
        tx.send("hello").unwrap();
        assert!(flag2.0.load(Ordering::SeqCst));
    });
}

#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn send_slow_rx() {
    each_checker("bc-send-slow-rx", || async {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();
        {
            let mut recv2 = spawn(rx2.recv());
            {
                let mut recv1 = spawn(rx1.recv());
                pending(recv1.poll());
                pending(recv2.poll());
                tx.send("one").unwrap();
                assert!(recv1.is_woken());
                assert!(recv2.is_woken());
                tx.send("two").unwrap();
                assert_eq!(ready(recv1.poll()).unwrap(), "one");
            }
            assert_eq!(ready(spawn(rx1.recv()).poll()).unwrap(), "two");
            let mut recv1 = spawn(rx1.recv());
            pending(recv1.poll());
            tx.send("three").unwrap();
            assert!(recv1.is_woken());
            assert_eq!(ready(recv1.poll()).unwrap(), "three");
            assert_eq!(ready(recv2.poll()).unwrap(), "one");
        }
        assert_eq!(assert_recv!(rx2), "two");
        assert_eq!(assert_recv!(rx2), "three");
    });
}

#[test]
fn drop_rx_while_values_remain() {
    each_checker("bc-drop-rx-values-remain", || async {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();
        tx.send("one").unwrap();
        tx.send("two").unwrap();
        assert_recv!(rx1);
        assert_recv!(rx2);
        drop(rx2);
        drop(rx1);
    });
}

#[test]
fn lagging_rx() {
    each_checker("bc-lagging-rx", || async {
        let (tx, mut rx1) = broadcast::channel(2);
        let mut rx2 = tx.subscribe();
        tx.send("one").unwrap();
        tx.send("two").unwrap();
        assert_eq!("one", assert_recv!(rx1));
        tx.send("three").unwrap();
        assert_lagged!(rx2.try_recv(), 1);
        assert_eq!("two", assert_recv!(rx2));
        assert_eq!("two", assert_recv!(rx1));
        assert_eq!("three", assert_recv!(rx1));
        tx.send("four").unwrap();
        tx.send("five").unwrap();
        assert_lagged!(rx2.try_recv(), 1);
        tx.send("six").unwrap();
        assert_lagged!(rx2.try_recv(), 1);
    });
}

#[test]
fn send_no_rx() {
    each_checker("bc-send-no-rx", || async {
        let (tx, _) = broadcast::channel(16);
        assert!(tx.send("hello").is_err());
        let mut rx = tx.subscribe();
        tx.send("world").unwrap();
        assert_eq!("world", assert_recv!(rx));
    });
}

#[test]
#[should_panic]
fn zero_capacity() {
    broadcast::channel::<()>(0);
}

#[test]
#[should_panic]
fn capacity_too_big() {
    broadcast::channel::<()>(1 + (usize::MAX >> 1));
}

/// A `Clone` that panics loses that value for this receiver only (outside any checker: a
/// panic inside a model's execution is a finding).
#[test]
fn panic_in_clone() {
    use std::panic::{self, AssertUnwindSafe};

    #[derive(Eq, PartialEq, Debug)]
    struct MyVal(usize);

    impl Clone for MyVal {
        fn clone(&self) -> MyVal {
            assert_ne!(0, self.0);
            MyVal(self.0)
        }
    }

    let (tx, mut rx) = broadcast::channel(16);
    tx.send(MyVal(0)).unwrap();
    tx.send(MyVal(1)).unwrap();
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        let _ = rx.try_recv();
    }));
    assert!(res.is_err());
    assert_eq!(assert_recv!(rx), MyVal(1));
}

#[test]
fn dropping_tx_notifies_rx() {
    each_checker("bc-dropping-tx-notifies", || async {
        let (tx, mut rx1) = broadcast::channel::<()>(16);
        let mut rx2 = tx.subscribe();
        let tx2 = tx.clone();
        let mut recv1 = spawn(rx1.recv());
        let mut recv2 = spawn(rx2.recv());
        pending(recv1.poll());
        pending(recv2.poll());
        drop(tx);
        pending(recv1.poll());
        pending(recv2.poll());
        drop(tx2);
        assert!(recv1.is_woken());
        assert!(recv2.is_woken());
        assert_eq!(ready(recv1.poll()), Err(RecvError::Closed));
        assert_eq!(ready(recv2.poll()), Err(RecvError::Closed));
    });
}

#[test]
fn unconsumed_messages_are_dropped() {
    each_checker("bc-unconsumed-dropped", || async {
        let (tx, rx) = broadcast::channel(16);
        let msg = Arc::new(());
        tx.send(msg.clone()).unwrap();
        assert_eq!(2, Arc::strong_count(&msg));
        drop(rx);
        assert_eq!(1, Arc::strong_count(&msg));
    });
}

#[test]
fn single_capacity_recvs() {
    each_checker("bc-single-capacity", || async {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        assert_eq!(assert_recv!(rx), 1);
        assert_empty!(rx);
    });
}

#[test]
fn single_capacity_recvs_after_drop_1() {
    each_checker("bc-single-capacity-drop-1", || async {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        drop(tx);
        assert_eq!(assert_recv!(rx), 1);
        assert_closed!(rx.try_recv());
    });
}

#[test]
fn single_capacity_recvs_after_drop_2() {
    each_checker("bc-single-capacity-drop-2", || async {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_closed!(rx.try_recv());
    });
}

#[test]
fn dropping_sender_does_not_overwrite() {
    each_checker("bc-drop-sender-no-overwrite", || async {
        let (tx, mut rx) = broadcast::channel(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(assert_recv!(rx), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_closed!(rx.try_recv());
    });
}

#[test]
fn lagging_receiver_recovers_after_wrap_closed_1() {
    each_checker("bc-lag-wrap-closed-1", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 1..=3 {
            tx.send(i).unwrap();
        }
        drop(tx);
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_closed!(rx.try_recv());
    });
}

#[test]
fn lagging_receiver_recovers_after_wrap_closed_2() {
    each_checker("bc-lag-wrap-closed-2", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 1..=4 {
            tx.send(i).unwrap();
        }
        drop(tx);
        assert_lagged!(rx.try_recv(), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_eq!(assert_recv!(rx), 4);
        assert_closed!(rx.try_recv());
    });
}

#[test]
fn lagging_receiver_recovers_after_wrap_open() {
    each_checker("bc-lag-wrap-open", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 1..=3 {
            tx.send(i).unwrap();
        }
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);
    });
}

#[test]
fn receiver_len_with_lagged() {
    each_checker("bc-receiver-len-lagged", || async {
        let (tx, mut rx) = broadcast::channel(3);
        for v in [10, 20, 30, 40] {
            tx.send(v).unwrap();
        }
        assert_eq!(rx.len(), 4);
        assert_eq!(assert_recv!(rx), 10);
        tx.send(50).unwrap();
        tx.send(60).unwrap();
        assert_eq!(rx.len(), 5);
        assert_lagged!(rx.try_recv(), 1);
    });
}

#[test]
fn resubscribe_points_to_tail() {
    each_checker("bc-resubscribe-tail", || async {
        let (tx, mut rx) = broadcast::channel(3);
        tx.send(1).unwrap();
        let mut rx_resub = rx.resubscribe();
        assert_empty!(rx_resub);
        assert_eq!(assert_recv!(rx), 1);
        tx.send(2).unwrap();
        assert_eq!(assert_recv!(rx_resub), 2);
        tx.send(3).unwrap();
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);
        assert_eq!(assert_recv!(rx_resub), 3);
        assert_empty!(rx_resub);
    });
}

#[test]
fn resubscribe_lagged() {
    each_checker("bc-resubscribe-lagged", || async {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut rx_resub = rx.resubscribe();
        assert_lagged!(rx.try_recv(), 1);
        assert_empty!(rx_resub);
        assert_eq!(assert_recv!(rx), 2);
        assert_empty!(rx);
        assert_empty!(rx_resub);
    });
}

#[test]
fn resubscribe_to_closed_channel() {
    each_checker("bc-resubscribe-closed", || async {
        let (tx, rx) = broadcast::channel::<u32>(2);
        drop(tx);
        let mut rx_resub = rx.resubscribe();
        assert_closed!(rx_resub.try_recv());
    });
}

#[test]
fn sender_len() {
    each_checker("bc-sender-len", || async {
        let (tx, mut rx1) = broadcast::channel(4);
        let mut rx2 = tx.subscribe();
        assert_eq!(tx.len(), 0);
        assert!(tx.is_empty());
        for i in 1..=3 {
            tx.send(i).unwrap();
        }
        assert_eq!(tx.len(), 3);
        assert!(!tx.is_empty());
        assert_recv!(rx1);
        assert_recv!(rx1);
        assert_eq!(tx.len(), 3);
        assert!(!tx.is_empty());
        assert_recv!(rx2);
        assert_eq!(tx.len(), 2);
        assert!(!tx.is_empty());
        for i in 4..=6 {
            tx.send(i).unwrap();
        }
        assert_eq!(tx.len(), 4);
        assert!(!tx.is_empty());
    });
}

/// tokio's test draws from `rand`; a fixed linear congruential sequence here, 200 steps.
#[test]
fn sender_len_random() {
    each_checker("bc-sender-len-random", || async {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();
        let mut x: u64 = 7;
        for _ in 0..200 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            match (x >> 33) % 4 {
                0 => {
                    let _ = rx1.try_recv();
                }
                1 => {
                    let _ = rx2.try_recv();
                }
                _ => {
                    tx.send(0).unwrap();
                }
            }
            let expected_len = usize::min(usize::max(rx1.len(), rx2.len()), 16);
            assert_eq!(tx.len(), expected_len);
        }
    });
}

struct SendOnDrop(broadcast::Sender<()>);

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl Wake for SendOnDrop {
    fn wake(self: Arc<Self>) {}
}

/// A waker whose destructor sends: the channel never drops wakers under its lock.
#[test]
fn send_in_waker_drop() {
    each_checker("bc-send-in-waker-drop", || async {
        let (tx, mut rx) = broadcast::channel(16);
        let mut fut = Box::pin(async {
            let _ = rx.recv().await;
        });
        let waker = Waker::from(Arc::new(SendOnDrop(tx)));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(waker);
        let mut cx = Context::from_waker(Waker::noop());
        let _ = fut.as_mut().poll(&mut cx);

        let (tx, mut rx) = broadcast::channel(16);
        let mut fut = Box::pin(async {
            let _ = rx.recv().await;
        });
        let waker = Waker::from(Arc::new(SendOnDrop(tx.clone())));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(waker);
        let _ = tx.send(());
    });
}

#[test]
fn broadcast_sender_closed() {
    each_checker("bc-sender-closed", || async {
        let (tx, rx) = broadcast::channel::<()>(1);
        let rx2 = tx.subscribe();
        let mut task = spawn(tx.closed());
        pending(task.poll());
        drop(rx);
        assert!(!task.is_woken());
        pending(task.poll());
        drop(rx2);
        assert!(task.is_woken());
        ready(task.poll());
    });
}

#[test]
fn broadcast_sender_closed_with_extra_subscribe() {
    each_checker("bc-sender-closed-extra-subscribe", || async {
        let (tx, rx) = broadcast::channel::<()>(1);
        let rx2 = tx.subscribe();
        let mut task = spawn(tx.closed());
        pending(task.poll());
        drop(rx);
        assert!(!task.is_woken());
        pending(task.poll());
        drop(rx2);
        assert!(task.is_woken());
        let rx3 = tx.subscribe();
        pending(task.poll());
        drop(rx3);
        assert!(task.is_woken());
        ready(task.poll());
        let mut task2 = spawn(tx.closed());
        ready(task2.poll());
        let rx4 = tx.subscribe();
        let mut task3 = spawn(tx.closed());
        pending(task3.poll());
        drop(rx4);
        assert!(task3.is_woken());
        ready(task3.poll());
    });
}

struct QueryOnWake {
    sender: broadcast::Sender<()>,
    woken: AtomicBool,
}

impl Wake for QueryOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        assert_eq!(self.sender.receiver_count(), 0);
        assert_eq!(self.sender.len(), 0);
        assert!(self.sender.is_empty());
        assert!(self.sender.send(()).is_err());
        self.woken.store(true, Ordering::SeqCst);
    }
}

/// The waker of `closed` runs outside the channel's lock and sees it closed.
#[test]
fn broadcast_sender_closed_in_waker() {
    each_checker("bc-sender-closed-in-waker", || async {
        let (sender, receiver) = broadcast::channel::<()>(1);
        sender.send(()).unwrap();
        let wake_state = Arc::new(QueryOnWake {
            sender: sender.clone(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(wake_state.clone());
        let mut cx = Context::from_waker(&waker);
        let mut closed = std::pin::pin!(sender.closed());
        pending(closed.as_mut().poll(&mut cx));
        drop(receiver);
        assert!(wake_state.woken.load(Ordering::SeqCst));
        ready(closed.as_mut().poll(&mut cx));
    });
}

#[test]
fn broadcast_sender_new_must_be_closed() {
    each_checker("bc-sender-new-closed", || async {
        let tx: broadcast::Sender<()> = broadcast::Sender::new(1);
        let mut task = spawn(tx.closed());
        ready(task.poll());
        let _rx = tx.subscribe();
        let mut task2 = spawn(tx.closed());
        pending(task2.poll());
    });
}

#[test]
fn slow_receiver_within_capacity_does_not_lag() {
    each_checker("bc-slow-within-capacity", || async {
        let (tx, mut slow) = broadcast::channel(2);
        let mut fast = tx.subscribe();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(assert_recv!(fast), 1);
        assert_eq!(assert_recv!(fast), 2);
        assert_empty!(fast);
        assert_eq!(assert_recv!(slow), 1);
        assert_eq!(assert_recv!(slow), 2);
        assert_empty!(slow);
    });
}

#[test]
fn capacity_overflow_reports_lagged_then_oldest_retained() {
    each_checker("bc-overflow-lagged-oldest", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for v in [10, 20, 30] {
            tx.send(v).unwrap();
        }
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 20);
        assert_eq!(assert_recv!(rx), 30);
        assert_empty!(rx);
    });
}

#[test]
fn lagged_count_matches_number_of_overwritten_messages() {
    each_checker("bc-lagged-count", || async {
        let (tx, mut rx) = broadcast::channel(4);
        for i in 1..=4 {
            tx.send(i).unwrap();
        }
        assert_eq!(assert_recv!(rx), 1);
        for i in 5..=8 {
            tx.send(i).unwrap();
        }
        assert_lagged!(rx.try_recv(), 3);
        for i in 5..=8 {
            assert_eq!(assert_recv!(rx), i);
        }
        assert_empty!(rx);
    });
}

#[test]
fn lag_uses_power_of_two_buffer_length() {
    each_checker("bc-lag-power-of-two", || async {
        let (tx, mut rx) = broadcast::channel(3);
        for i in 1..=4 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 4);
        assert_eq!(assert_recv!(rx), 1);
        tx.send(5).unwrap();
        assert_eq!(rx.len(), 4);
        tx.send(6).unwrap();
        assert_eq!(rx.len(), 5);
        assert_lagged!(rx.try_recv(), 1);
        for i in 3..=6 {
            assert_eq!(assert_recv!(rx), i);
        }
        assert_empty!(rx);
    });
}

#[test]
fn async_recv_lagged_then_resumes_from_oldest_retained() {
    each_checker("bc-async-recv-lagged", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for v in [10, 20, 30] {
            tx.send(v).unwrap();
        }
        assert!(matches!(rx.recv().await, Err(RecvError::Lagged(1))));
        assert_eq!(rx.recv().await.unwrap(), 20);
        assert_eq!(rx.recv().await.unwrap(), 30);
    });
}

#[test]
fn lag_catch_up_then_lag_again() {
    each_checker("bc-lag-catch-up-again", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 1..=3 {
            tx.send(i).unwrap();
        }
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);
        for i in 4..=6 {
            tx.send(i).unwrap();
        }
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 5);
        assert_eq!(assert_recv!(rx), 6);
        assert_empty!(rx);
    });
}

#[test]
fn lag_is_per_receiver() {
    each_checker("bc-lag-per-receiver", || async {
        let (tx, mut slow) = broadcast::channel(2);
        let mut fast = tx.subscribe();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(assert_recv!(fast), 1);
        assert_eq!(assert_recv!(fast), 2);
        tx.send(3).unwrap();
        tx.send(4).unwrap();
        assert_eq!(assert_recv!(fast), 3);
        assert_eq!(assert_recv!(fast), 4);
        assert_lagged!(slow.try_recv(), 2);
        assert_eq!(assert_recv!(slow), 3);
        assert_eq!(assert_recv!(slow), 4);
        assert_empty!(slow);
        assert_empty!(fast);
    });
}

#[test]
fn lag_again_before_reading_retained_messages() {
    each_checker("bc-lag-again-before-reading", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 1..=3 {
            tx.send(i).unwrap();
        }
        assert_lagged!(rx.try_recv(), 1);
        for i in 4..=6 {
            tx.send(i).unwrap();
        }
        assert_lagged!(rx.try_recv(), 3);
        assert_eq!(assert_recv!(rx), 5);
        assert_eq!(assert_recv!(rx), 6);
        assert_empty!(rx);
    });
}

#[test]
fn single_slot_capacity_lag_semantics() {
    each_checker("bc-single-slot-lag", || async {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        assert_eq!(assert_recv!(rx), 1);
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        assert_lagged!(rx.try_recv(), 1);
        assert_eq!(assert_recv!(rx), 3);
        assert_empty!(rx);
    });
}

#[test]
fn receiver_len_after_lag_error_advances_cursor() {
    each_checker("bc-len-after-lag", || async {
        let (tx, mut rx) = broadcast::channel(2);
        for i in 1..=4 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 4);
        assert_lagged!(rx.try_recv(), 2);
        assert_eq!(rx.len(), 2);
        assert_eq!(assert_recv!(rx), 3);
        assert_eq!(rx.len(), 1);
        assert_eq!(assert_recv!(rx), 4);
        assert_eq!(rx.len(), 0);
    });
}

// Across tasks

/// Two subscribers in their own tasks each get every value, in order, then `Closed`.
#[test]
fn every_subscriber_gets_every_value() {
    check_all("bc-every-subscriber", Some(2), || async {
        let (tx, rx1) = broadcast::channel(4);
        let rx2 = tx.subscribe();
        let collect = |mut rx: broadcast::Receiver<u32>| async move {
            let mut got = Vec::new();
            loop {
                match rx.recv().await {
                    Ok(v) => got.push(v),
                    Err(RecvError::Closed) => return got,
                    Err(RecvError::Lagged(n)) => panic!("lagged by {n} within capacity"),
                }
            }
        };
        let a = harness::task::spawn(collect(rx1));
        let b = harness::task::spawn(collect(rx2));
        for v in 1..=2 {
            tx.send(v).unwrap();
        }
        drop(tx);
        assert_eq!(a.await.unwrap(), vec![1, 2]);
        assert_eq!(b.await.unwrap(), vec![1, 2]);
    });
}

/// The buggy twin: the subscriber loops until `Closed`, but the body keeps a clone of the
/// sender alive after its last send, so the subscriber waits forever: a leak, naming the
/// channel and the wait.
#[test]
fn sender_kept_alive_leaks_subscriber() {
    let failures = expect_failure(
        "tokio-broadcast-sender-kept",
        FailureKind::Leak,
        &ALL,
        None,
        || async {
            let (tx, mut rx) = broadcast::channel::<u32>(4);
            let keep = tx.clone(); // forgotten: the channel never closes
            harness::task::spawn(async move { while rx.recv().await.is_ok() {} });
            tx.send(1).unwrap();
            drop(tx);
            harness::task::yield_now().await;
            std::mem::forget(keep);
        },
    );
    for f in failures {
        assert!(f.report.contains("[broadcast recv]"), "{f}");
        assert!(f.report.contains("on broadcast #"), "{f}");
    }
}
