//! tokio's tests/macros_join.rs (and the matching tests of macros_try_join.rs), ported:
//! `harness::tokio::{join!, try_join!}`, every test under loom, shuttle, PCT and tokio.

use std::sync::{Arc, Mutex};

use harness::tokio;
use harness::tokio::sync::oneshot;

use super::support::{self, spawn};
use crate::{assert_pending, assert_ready};

#[tokio::test(check = support::light)]
async fn sync_one_lit_expr_comma() {
    assert_eq!(tokio::join!(async { 1 },), (1,));
    assert_eq!(tokio::join!(biased; async { 1 },), (1,));
}

#[tokio::test(check = support::light)]
async fn sync_one_lit_expr_no_comma() {
    assert_eq!(tokio::join!(async { 1 }), (1,));
    assert_eq!(tokio::join!(biased; async { 1 }), (1,));
}

#[tokio::test(check = support::light)]
async fn sync_two_lit_expr_comma() {
    assert_eq!(tokio::join!(async { 1 }, async { 2 },), (1, 2));
    assert_eq!(tokio::join!(biased; async { 1 }, async { 2 },), (1, 2));
}

#[tokio::test(check = support::light)]
async fn sync_two_lit_expr_no_comma() {
    assert_eq!(tokio::join!(async { 1 }, async { 2 }), (1, 2));
    assert_eq!(tokio::join!(biased; async { 1 }, async { 2 }), (1, 2));
}

#[tokio::test(check = support::light)]
async fn two_await() {
    let (tx1, rx1) = oneshot::channel::<&str>();
    let (tx2, rx2) = oneshot::channel::<u32>();
    let mut join =
        spawn(async { tokio::join!(async { rx1.await.unwrap() }, async { rx2.await.unwrap() }) });
    assert_pending!(join.poll());
    tx2.send(123).unwrap();
    assert!(join.is_woken());
    assert_pending!(join.poll());
    tx1.send("hello").unwrap();
    assert!(join.is_woken());
    assert_eq!(assert_ready!(join.poll()), ("hello", 123));
}

/// Each future records its number, then yields; four rounds.
async fn record(x: i32, order: Arc<Mutex<Vec<i32>>>) {
    for _ in 0..4 {
        order.lock().unwrap().push(x);
        tokio::task::yield_now().await;
    }
}

#[tokio::test(check = support::light)]
async fn a_different_future_is_polled_first_every_time_poll_fn_is_polled() {
    let order = Arc::new(Mutex::new(vec![]));
    tokio::join!(
        record(1, order.clone()),
        record(2, order.clone()),
        record(3, order.clone()),
    );
    assert_eq!(*order.lock().unwrap(), [1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3]);
}

#[tokio::test(check = support::light)]
async fn futures_are_polled_in_order_in_biased_mode() {
    let order = Arc::new(Mutex::new(vec![]));
    tokio::join!(
        biased;
        record(1, order.clone()),
        record(2, order.clone()),
        record(3, order.clone()),
    );
    assert_eq!(*order.lock().unwrap(), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
}

#[tokio::test(check = support::light)]
#[allow(clippy::unit_cmp)]
async fn empty_join() {
    assert_eq!(tokio::join!(), ());
    assert_eq!(tokio::join!(biased;), ());
}

#[tokio::test(check = support::light)]
async fn join_into_future() {
    struct NotAFuture;
    impl std::future::IntoFuture for NotAFuture {
        type Output = ();
        type IntoFuture = std::future::Ready<()>;
        fn into_future(self) -> Self::IntoFuture {
            std::future::ready(())
        }
    }
    tokio::join!(NotAFuture);
}

#[tokio::test(check = support::light)]
async fn caller_names_const_count() {
    let (tx, rx) = oneshot::channel::<u32>();
    const COUNT: u32 = 2;
    let mut join = spawn(async { tokio::join!(async { tx.send(COUNT).unwrap() }) });
    assert_ready!(join.poll());
    assert_eq!(rx.await.unwrap(), 2);
}

#[tokio::test(check = support::light)]
async fn uninhabited_output_type() {
    use std::convert::Infallible;
    use std::future::pending;
    let mut join = spawn(async { tokio::join!(pending::<Infallible>(), async { 1 }) });
    assert_pending!(join.poll());
    let mut join = spawn(async { tokio::join!(biased; async { 1 }, pending::<Infallible>()) });
    assert_pending!(join.poll());
    let mut join = spawn(async { tokio::join!(pending::<Infallible>()) });
    assert_pending!(join.poll());
}

fn ok<T>(val: T) -> Result<T, ()> {
    Ok(val)
}

#[tokio::test(check = support::light)]
async fn try_join_lit_exprs() {
    // macros_try_join.rs: sync_one_lit_expr_(no_)comma, sync_two_lit_expr_(no_)comma
    assert_eq!(tokio::try_join!(async { ok(1) },), Ok((1,)));
    assert_eq!(tokio::try_join!(biased; async { ok(1) }), Ok((1,)));
    assert_eq!(
        tokio::try_join!(async { ok(1) }, async { ok(2) },),
        Ok((1, 2))
    );
    assert_eq!(
        tokio::try_join!(biased; async { ok(1) }, async { ok(2) }),
        Ok((1, 2))
    );
}

#[tokio::test(check = support::light)]
async fn try_join_two_await() {
    let (tx1, rx1) = oneshot::channel::<&str>();
    let (tx2, rx2) = oneshot::channel::<u32>();
    let mut join = spawn(async { tokio::try_join!(rx1, rx2) });
    assert_pending!(join.poll());
    tx2.send(123).unwrap();
    assert!(join.is_woken());
    assert_pending!(join.poll());
    tx1.send("hello").unwrap();
    assert!(join.is_woken());
    let res: Result<(&str, u32), _> = assert_ready!(join.poll());
    assert_eq!(res, Ok(("hello", 123)));
}

#[tokio::test(check = support::light)]
async fn try_join_err_abort_early() {
    let (tx1, rx1) = oneshot::channel::<&str>();
    let (tx2, rx2) = oneshot::channel::<u32>();
    let (_tx3, rx3) = oneshot::channel::<u32>();
    let mut join = spawn(async { tokio::try_join!(rx1, rx2, rx3) });
    assert_pending!(join.poll());
    tx2.send(123).unwrap();
    assert!(join.is_woken());
    assert_pending!(join.poll());
    // The first error ends the join, though rx3 never completes.
    drop(tx1);
    assert!(join.is_woken());
    let res = assert_ready!(join.poll());
    assert!(res.is_err());
}

#[tokio::test(check = support::light)]
async fn try_join_empty() {
    assert_eq!(tokio::try_join!() as Result<_, ()>, Ok(()));
    assert_eq!(tokio::try_join!(biased;) as Result<_, ()>, Ok(()));
}
