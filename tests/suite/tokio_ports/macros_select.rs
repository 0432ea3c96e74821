//! tokio's tests/macros_select.rs, ported: `harness::tokio::select!` against tokio's own
//! expectations, every test under loom, shuttle, PCT and the tokio checker.

use std::future::poll_fn;
use std::task::Poll::Ready;

use harness::tokio;
use harness::tokio::sync::oneshot;

use super::support::{self, spawn};
use crate::{assert_ok, assert_pending, assert_ready};

async fn one() -> usize {
    1
}

async fn require_mutable(_: &mut i32) {}

async fn async_noop() {}

async fn async_never() -> ! {
    std::future::pending().await
}

#[tokio::test(check = support::light)]
async fn sync_one_lit_expr_comma() {
    let foo = tokio::select! {
        foo = async { 1 } => foo,
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn no_branch_else_only() {
    let foo = tokio::select! {
        else => 1,
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn no_branch_else_only_biased() {
    let foo = tokio::select! {
        biased;
        else => 1,
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn nested_one() {
    let foo = tokio::select! {
        foo = async { 1 } => tokio::select! {
            bar = async { foo } => bar,
        },
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn sync_one_lit_expr_no_comma() {
    let foo = tokio::select! {
        foo = async { 1 } => foo
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn sync_one_lit_expr_block() {
    let foo = tokio::select! {
        foo = async { 1 } => { foo }
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn sync_one_await() {
    let foo = tokio::select! {
        foo = one() => foo,
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn sync_one_ident() {
    let one = one();
    let foo = tokio::select! {
        foo = one => foo,
    };
    assert_eq!(foo, 1);
}

#[tokio::test(check = support::light)]
async fn sync_two() {
    use std::cell::Cell;
    let cnt = Cell::new(0);
    let res = tokio::select! {
        foo = async { cnt.set(cnt.get() + 1); 1 } => foo,
        bar = async { cnt.set(cnt.get() + 1); 2 } => bar,
    };
    // Only the winner was polled to completion.
    assert_eq!(cnt.get(), 1);
    assert!(res == 1 || res == 2);
}

#[tokio::test(check = support::light)]
async fn drop_in_fut() {
    let s = "hello".to_string();
    let res = tokio::select! {
        foo = async {
            let v = one().await;
            drop(s);
            v
        } => foo
    };
    assert_eq!(res, 1);
}

#[tokio::test(check = support::light)]
async fn one_ready() {
    let (tx1, rx1) = oneshot::channel::<i32>();
    let (_tx2, rx2) = oneshot::channel::<i32>();
    tx1.send(1).unwrap();
    let v = tokio::select! {
        res = rx1 => assert_ok!(res),
        _ = rx2 => unreachable!(),
    };
    assert_eq!(v, 1);
}

#[tokio::test(check = support::light)]
async fn select_streams() {
    use harness::tokio::sync::mpsc;
    let (tx1, mut rx1) = mpsc::unbounded_channel::<i32>();
    let (tx2, mut rx2) = mpsc::unbounded_channel::<i32>();
    tokio::spawn(async move {
        assert_ok!(tx2.send(1));
        tokio::task::yield_now().await;
        assert_ok!(tx1.send(2));
        tokio::task::yield_now().await;
        assert_ok!(tx2.send(3));
        tokio::task::yield_now().await;
        drop((tx1, tx2));
    });
    let mut rem = true;
    let mut msgs = vec![];
    while rem {
        tokio::select! {
            Some(x) = rx1.recv() => msgs.push(x),
            Some(y) = rx2.recv() => msgs.push(y),
            else => rem = false,
        }
    }
    msgs.sort_unstable();
    assert_eq!(msgs, [1, 2, 3]);
}

#[tokio::test(check = support::light)]
async fn move_uncompleted_futures() {
    let (tx1, mut rx1) = oneshot::channel::<i32>();
    let (tx2, mut rx2) = oneshot::channel::<i32>();
    tx1.send(1).unwrap();
    tx2.send(2).unwrap();
    let ran;
    tokio::select! {
        res = &mut rx1 => {
            assert_eq!(assert_ok!(res), 1);
            assert_eq!(assert_ok!(rx2.await), 2);
            ran = true;
        },
        res = &mut rx2 => {
            assert_eq!(assert_ok!(res), 2);
            assert_eq!(assert_ok!(rx1.await), 1);
            ran = true;
        },
    }
    assert!(ran);
}

#[tokio::test(check = support::light)]
async fn nested() {
    let res = tokio::select! {
        x = async { 1 } => {
            tokio::select! {
                y = async { 2 } => x + y,
            }
        }
    };
    assert_eq!(res, 3);
}

#[tokio::test(check = support::light)]
async fn mutable_borrowing_future_with_same_borrow_in_block() {
    let mut value = 234;
    tokio::select! {
        _ = require_mutable(&mut value) => { },
        _ = async_noop() => {
            value += 5;
        },
    }
    assert!(value >= 234);
}

#[tokio::test(check = support::light)]
async fn mutable_borrowing_future_with_same_borrow_in_block_and_else() {
    let mut value = 234;
    tokio::select! {
        _ = require_mutable(&mut value) => { },
        _ = async_noop() => {
            value += 5;
        },
        else => {
            value += 27;
        },
    }
    assert!(value >= 234);
}

#[tokio::test(check = support::light)]
async fn future_panics_after_poll() {
    let (tx, rx) = oneshot::channel();
    let mut polled = false;
    let f = poll_fn(|_| {
        assert!(!polled, "a disabled branch was polled again");
        polled = true;
        Ready(None::<()>)
    });
    let mut f = spawn(async {
        tokio::select! {
            Some(_) = f => unreachable!(),
            ret = rx => ret.unwrap(),
        }
    });
    assert_pending!(f.poll());
    assert_pending!(f.poll());
    assert_ok!(tx.send(1));
    assert_eq!(assert_ready!(f.poll()), 1);
}

#[tokio::test(check = support::light)]
async fn disable_with_if() {
    let f = poll_fn(|_| -> std::task::Poll<()> { panic!("a branch disabled by `if` was polled") });
    let (tx, rx) = oneshot::channel();
    let mut f = spawn(async {
        tokio::select! {
            _ = f, if false => unreachable!(),
            _ = rx => (),
        }
    });
    assert_pending!(f.poll());
    assert_ok!(tx.send(()));
    assert!(f.is_woken());
    assert_ready!(f.poll());
}

#[tokio::test(check = support::light)]
async fn join_with_select() {
    let (tx1, mut rx1) = oneshot::channel();
    let (tx2, mut rx2) = oneshot::channel();
    let mut f = spawn(async {
        let mut a = None;
        let mut b = None;
        while a.is_none() || b.is_none() {
            tokio::select! {
                v1 = &mut rx1, if a.is_none() => a = Some(assert_ok!(v1)),
                v2 = &mut rx2, if b.is_none() => b = Some(assert_ok!(v2))
            }
        }
        (a.unwrap(), b.unwrap())
    });
    assert_pending!(f.poll());
    assert_ok!(tx1.send(123));
    assert!(f.is_woken());
    assert_pending!(f.poll());
    assert_ok!(tx2.send(456));
    assert!(f.is_woken());
    assert_eq!(assert_ready!(f.poll()), (123, 456));
}

#[tokio::test(check = support::light)]
async fn use_future_in_if_condition() {
    use harness::tokio::time::{self, Duration};
    tokio::select! {
        _ = time::sleep(Duration::from_millis(10)), if false => {
            panic!("if condition ignored")
        }
        _ = async { 1u32 } => {}
    }
}

#[tokio::test(check = support::light)]
async fn use_future_in_if_condition_biased() {
    use harness::tokio::time::{self, Duration};
    tokio::select! {
        biased;
        _ = time::sleep(Duration::from_millis(10)), if false => {
            panic!("if condition ignored")
        }
        _ = async { 1u32 } => {}
    }
}

#[tokio::test(check = support::light)]
async fn many_branches() {
    let num = tokio::select! {
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
    };
    assert_eq!(num, 1);
}

#[tokio::test(check = support::light)]
async fn never_branch_no_warnings() {
    let t = tokio::select! {
        _ = async_never() => 0,
        one_async_ready = one() => one_async_ready,
    };
    assert_eq!(t, 1);
}

#[tokio::test(check = support::light)]
async fn mut_on_left_hand_side() {
    let v = async move {
        let ok = async { 1 };
        tokio::pin!(ok);
        tokio::select! {
            mut a = &mut ok => {
                a += 1;
                a
            }
        }
    }
    .await;
    assert_eq!(v, 2);
}

#[tokio::test(check = support::light)]
async fn biased_one_not_ready() {
    let (_tx1, rx1) = oneshot::channel::<i32>();
    let (tx2, rx2) = oneshot::channel::<i32>();
    let (tx3, rx3) = oneshot::channel::<i32>();
    tx2.send(2).unwrap();
    tx3.send(3).unwrap();
    let v = tokio::select! {
        biased;
        _ = rx1 => unreachable!(),
        res = rx2 => assert_ok!(res),
        _ = rx3 => panic!("`biased;` polls rx2 before rx3"),
    };
    assert_eq!(v, 2);
}

#[tokio::test(check = support::light)]
async fn biased_eventually_ready() {
    use harness::tokio::task::yield_now;
    let one = async {};
    let two = async { yield_now().await };
    let three = async { yield_now().await };
    let mut count = 0u8;
    tokio::pin!(one, two, three);
    loop {
        tokio::select! {
            biased;
            _ = &mut two, if count < 2 => {
                count += 1;
                assert_eq!(count, 2);
            }
            _ = &mut three, if count < 3 => {
                count += 1;
                assert_eq!(count, 3);
            }
            _ = &mut one, if count < 1 => {
                count += 1;
                assert_eq!(count, 1);
            }
            else => break,
        }
    }
    assert_eq!(count, 3);
}

#[tokio::test(check = support::light)]
async fn default_numeric_fallback() {
    tokio::select! {
        _ = async {} => (),
        else => (),
    }
}

#[tokio::test(check = support::light)]
async fn mut_ref_patterns() {
    tokio::select! {
        Some(mut foo) = async { Some("1".to_string()) } => {
            assert_eq!(foo, "1");
            foo = "2".to_string();
            assert_eq!(foo, "2");
        },
    };
    tokio::select! {
        Some(ref foo) = async { Some("1".to_string()) } => {
            assert_eq!(*foo, "1");
        },
    };
    tokio::select! {
        Some(ref mut foo) = async { Some("1".to_string()) } => {
            assert_eq!(*foo, "1");
            *foo = "2".to_string();
            assert_eq!(*foo, "2");
        },
    };
}

#[tokio::test(check = support::light)]
async fn select_into_future() {
    struct NotAFuture;
    impl std::future::IntoFuture for NotAFuture {
        type Output = ();
        type IntoFuture = std::future::Ready<()>;
        fn into_future(self) -> Self::IntoFuture {
            std::future::ready(())
        }
    }
    tokio::select! {
        () = NotAFuture => {},
    }
}

#[tokio::test(check = support::light)]
async fn temporary_lifetime_extension() {
    tokio::select! {
        () = &mut std::future::ready(()) => {},
    }
}

// Beyond tokio's suite: the branch order comes from the checker's random source, so every
// branch wins in some execution, and a replay token replays the choice.

#[test]
fn unbiased_select_explores_both_branches() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let wins = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let w = wins.clone();
    support::no_loom("unbiased-select")
        .run(move || {
            let w = w.clone();
            async move {
                let i = tokio::select! {
                    _ = async {} => 0,
                    _ = async {} => 1,
                };
                w[i].fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    assert!(wins[0].load(Ordering::SeqCst) > 0 && wins[1].load(Ordering::SeqCst) > 0);
}

#[test]
fn select_without_else_panics_when_every_branch_is_disabled() {
    let failure = support::no_loom("select-all-disabled")
        .run(|| async {
            tokio::select! {
                Some(v) = async { None::<u8> } => assert_eq!(v, 0),
            }
        })
        .unwrap_err();
    assert_eq!(
        failure.kind,
        harness::check::FailureKind::Panic,
        "{failure}"
    );
    assert!(
        failure
            .report
            .contains("all branches are disabled and there is no else branch"),
        "{failure}"
    );
}
