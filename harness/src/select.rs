//! `select!`: Go's `select` statement. Waits on several channel operations, timers or
//! `ctx.done()`; exactly one arm runs.
//!
//! Use it wherever Go code says `select { case v := <-ch: … case out <- x: … default: … }`.
//! When several arms are ready at once, one is picked at random from the checker's random
//! source (shuttle's under shuttle and PCT, so a replay token reproduces the choice; a
//! seeded generator on tokio). Under loom, which explores interleavings rather than random
//! draws, the arms are tried in a rotating order that loom's interleavings vary: every arm
//! wins in the executions where it is the one that is ready. A `default` arm makes the
//! select non-blocking. A losing arm consumes nothing: no value is taken from a channel and
//! no send is delivered, even on a rendezvous channel where a receiver pairs with a select's
//! send while another arm is winning.
//!
//! ```
//! use harness::{chan, check::Check, task};
//!
//! Check::new("doc-select").shuttle(50).run(|| async {
//!     let (a_tx, a_rx) = chan::bounded::<u32>(0);
//!     let (b_tx, b_rx) = chan::bounded::<&str>(1);
//!     task::spawn(async move { a_tx.send(7).await.unwrap() });
//!     b_tx.send("hi").await.unwrap();
//!     let mut got = Vec::new();
//!     for _ in 0..2 {
//!         harness::select! {
//!             v = a_rx.recv() => got.push(format!("a{}", v.unwrap())),
//!             s = b_rx.recv() => got.push(s.unwrap().to_string()),
//!         }
//!     }
//!     got.sort();
//!     assert_eq!(got, ["a7", "hi"]);
//! }).unwrap();
//! ```
//!
//! A waiting select shows in the tracking registry as one pending operation, `select { … }`,
//! that lists its arms.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::rt::backend;
use crate::track;

const OPEN: usize = usize::MAX;

/// The decision of one select: which arm won, once one has.
#[derive(Debug)]
pub(crate) struct Claim {
    winner: AtomicUsize,
}

/// One arm's handle on its select's decision.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct ArmClaim {
    claim: Arc<Claim>,
    arm: usize,
}

impl ArmClaim {
    /// Wins the select for this arm, or says it already has; false if another arm won.
    pub(crate) fn try_claim(&self) -> bool {
        match self.claim.winner.compare_exchange(
            OPEN,
            self.arm,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(w) => w == self.arm,
        }
    }

    /// Whether another arm won.
    pub(crate) fn lost(&self) -> bool {
        let w = self.claim.winner.load(Ordering::Acquire);
        w != OPEN && w != self.arm
    }

    /// Undoes a claim this arm made but could not use (nothing was taken).
    pub(crate) fn give_back(&self) {
        let _ =
            self.claim
                .winner
                .compare_exchange(self.arm, OPEN, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Whether both arms belong to one select (which must never match itself).
    pub(crate) fn same_select(&self, other: &ArmClaim) -> bool {
        Arc::ptr_eq(&self.claim, &other.claim)
    }
}

/// A future that can be an arm of `select!`.
#[doc(hidden)]
pub trait SelectArm {
    /// What the arm gives its pattern.
    type Output;
    /// Polls the arm; it may complete only by winning `claim`.
    fn poll_arm(self: Pin<&mut Self>, cx: &mut Context<'_>, claim: &ArmClaim)
        -> Poll<Self::Output>;
    /// How reports name the arm.
    fn describe(&self) -> String;
}

impl<T> SelectArm for crate::chan::RecvFuture<'_, T> {
    type Output = Option<T>;
    fn poll_arm(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        claim: &ArmClaim,
    ) -> Poll<Option<T>> {
        self.arm(claim.clone());
        self.poll(cx)
    }
    fn describe(&self) -> String {
        format!("recv ch#{}", self.channel_id())
    }
}

impl<T> SelectArm for crate::chan::SendFuture<'_, T> {
    type Output = Result<(), crate::chan::SendError<T>>;
    fn poll_arm(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        claim: &ArmClaim,
    ) -> Poll<Self::Output> {
        self.arm(claim.clone());
        self.poll(cx)
    }
    fn describe(&self) -> String {
        format!("send ch#{}", self.channel_id())
    }
}

/// Any other future as an arm (a timer, `ctx.done()`, a join): it consumes nothing, so it
/// completes whenever it is ready and wins the select.
#[doc(hidden)]
pub struct AnyArm<F> {
    future: Pin<Box<F>>,
    label: &'static str,
}

impl<F: Future> SelectArm for AnyArm<F> {
    type Output = F::Output;
    fn poll_arm(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        claim: &ArmClaim,
    ) -> Poll<F::Output> {
        match self.future.as_mut().poll(cx) {
            Poll::Ready(v) if claim.try_claim() => Poll::Ready(v),
            _ => Poll::Pending,
        }
    }
    fn describe(&self) -> String {
        self.label.to_string()
    }
}

#[doc(hidden)]
pub mod __private {
    //! What `select!` expands to. Not public API.
    use super::*;
    pub use std::cell::Cell;
    pub use std::future::poll_fn;
    pub use std::pin::pin;
    pub use std::task::Poll;

    /// Holds an arm's future until the macro turns it into a [`SelectArm`].
    pub struct Wrap<F>(pub Cell<Option<F>>, pub &'static str);

    /// Channel receives become claim-aware arms (found first: autoref specialisation).
    pub trait ViaRecv {
        type Arm;
        fn __into_arm(self) -> Self::Arm;
    }
    impl<'a, T> ViaRecv for &&Wrap<crate::chan::RecvFuture<'a, T>> {
        type Arm = crate::chan::RecvFuture<'a, T>;
        fn __into_arm(self) -> Self::Arm {
            self.0.take().expect("select arm taken once")
        }
    }

    /// Channel sends become claim-aware arms.
    pub trait ViaSend {
        type Arm;
        fn __into_arm(self) -> Self::Arm;
    }
    impl<'a, T> ViaSend for &&Wrap<crate::chan::SendFuture<'a, T>> {
        type Arm = crate::chan::SendFuture<'a, T>;
        fn __into_arm(self) -> Self::Arm {
            self.0.take().expect("select arm taken once")
        }
    }

    /// Every other future.
    pub trait ViaAny {
        type Arm;
        fn __into_arm(self) -> Self::Arm;
    }
    impl<F: Future> ViaAny for &Wrap<F> {
        type Arm = AnyArm<F>;
        fn __into_arm(self) -> Self::Arm {
            AnyArm {
                future: Box::pin(self.0.take().expect("select arm taken once")),
                label: self.1,
            }
        }
    }

    /// The state of one select: its decision, the order it tries arms in, its registry entry.
    pub struct Select {
        claim: Arc<Claim>,
        /// A random permutation of the arms, drawn when the select starts.
        pub order: Vec<usize>,
        site: (&'static str, u32, u32),
        reported: bool,
        /// The arm count, which is also the index of the default arm.
        arms: usize,
    }

    impl Select {
        /// A select over `arms` arms, at `site`.
        pub fn new(arms: usize, site: (&'static str, u32, u32)) -> Select {
            let mut order: Vec<usize> = (0..arms).collect();
            for i in (1..arms).rev() {
                let j = (backend::random_u64() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            Select {
                claim: Arc::new(Claim {
                    winner: AtomicUsize::new(OPEN),
                }),
                order,
                site,
                reported: false,
                arms,
            }
        }

        /// Arm `i`'s handle on the decision.
        pub fn claim(&self, i: usize) -> ArmClaim {
            ArmClaim {
                claim: self.claim.clone(),
                arm: i,
            }
        }

        /// The arm that has won, if one has.
        pub fn winner(&self) -> Option<usize> {
            match self.claim.winner.load(Ordering::Acquire) {
                OPEN => None,
                w => Some(w),
            }
        }

        /// Takes the default arm, unless an arm won meanwhile.
        pub fn take_default(&self) -> bool {
            self.claim(self.arms).try_claim()
        }

        /// Reports the select as waiting (once), naming its arms.
        pub fn waiting(&mut self, arms: &[String]) {
            if !self.reported {
                self.reported = true;
                let exec = crate::rt::exec::current();
                let task = backend::current_task_id();
                // A timer arm reported its wait while it was polled: time will end this select.
                let timer = exec
                    .as_ref()
                    .and_then(|e| e.registry.waits.get(&task).map(|w| w.is_timer()))
                    .unwrap_or(false);
                let op = format!(
                    "select {{ {} }}{}",
                    arms.join(", "),
                    if timer { track::WITH_TIMER } else { "" }
                );
                track::op_wait_dyn(exec.as_deref(), task, 0, &op, self.site);
            }
        }
    }

    impl Drop for Select {
        fn drop(&mut self) {
            if self.reported && !std::thread::panicking() {
                let exec = crate::rt::exec::current();
                track::op_done(exec.as_deref(), backend::current_task_id());
            }
        }
    }

    /// Polls one arm.
    pub fn poll<A: SelectArm>(
        arm: Pin<&mut A>,
        cx: &mut Context<'_>,
        claim: &ArmClaim,
    ) -> Poll<A::Output> {
        arm.poll_arm(cx, claim)
    }

    /// Names one arm for reports.
    pub fn describe<A: SelectArm>(arm: &Pin<&mut A>) -> String {
        arm.describe()
    }
}

/// Waits on several futures at once, like Go's `select`; see the [module docs](crate::select).
///
/// Arms are `pattern = future => expression` (a block or an expression followed by a
/// comma), plus an optional `default => expression`. At most eight arms.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            @arms []
            @default []
            @slots [(__a0 __o0 0) (__a1 __o1 1) (__a2 __o2 2) (__a3 __o3 3) (__a4 __o4 4) (__a5 __o5 5) (__a6 __o6 6) (__a7 __o7 7)]
            $($tokens)*
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // default => block
    (@arms [$($arms:tt)*] @default [] @slots [$($slots:tt)*]
        default => $body:block $(,)? $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($arms)*] @default [$body] @slots [$($slots)*] $($rest)*)
    };
    // default => expr,
    (@arms [$($arms:tt)*] @default [] @slots [$($slots:tt)*]
        default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($arms)*] @default [{ $body }] @slots [$($slots)*] $($($rest)*)?)
    };
    // pat = fut => block
    (@arms [$($arms:tt)*] @default [$($d:tt)*] @slots [($a:ident $o:ident $i:tt) $($slots:tt)*]
        $pat:pat = $fut:expr => $body:block $(,)? $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($arms)* ($a $o $i ($pat) ($fut) $body)] @default [$($d)*] @slots [$($slots)*] $($rest)*)
    };
    // pat = fut => expr,
    (@arms [$($arms:tt)*] @default [$($d:tt)*] @slots [($a:ident $o:ident $i:tt) $($slots:tt)*]
        $pat:pat = $fut:expr => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($arms)* ($a $o $i ($pat) ($fut) { $body })] @default [$($d)*] @slots [$($slots)*] $($($rest)*)?)
    };
    // done
    (@arms [$(($a:ident $o:ident $i:tt ($pat:pat) ($fut:expr) $body:block))*] @default [$($d:block)?] @slots [$($slots:tt)*]) => {{
        #[allow(unused_imports)]
        use $crate::select::__private::{ViaAny as _, ViaRecv as _, ViaSend as _};
        let mut __select = $crate::select::__private::Select::new(
            $crate::__select_count!($($i)*),
            (file!(), line!(), column!()),
        );
        $(
            let __wrap = $crate::select::__private::Wrap(
                $crate::select::__private::Cell::new(Some($fut)),
                stringify!($fut),
            );
            let mut $a = $crate::select::__private::pin!((&&__wrap).__into_arm());
            let mut $o = None;
        )*
        let __names: Vec<String> = vec![$($crate::select::__private::describe(&$a)),*];
        let __won: usize = $crate::select::__private::poll_fn(|__cx| {
            loop {
                // An arm that another task completed for us (a receiver took our send) won.
                if let Some(__w) = __select.winner() {
                    $(
                        if __w == $i {
                            if let $crate::select::__private::Poll::Ready(__v) =
                                $crate::select::__private::poll($a.as_mut(), __cx, &__select.claim($i))
                            {
                                $o = Some(__v);
                                return $crate::select::__private::Poll::Ready($i);
                            }
                            return $crate::select::__private::Poll::Pending;
                        }
                    )*
                    return $crate::select::__private::Poll::Ready(usize::MAX);
                }
                for __k in 0..__select.order.len() {
                    let __arm = __select.order[__k];
                    $(
                        if __arm == $i {
                            if let $crate::select::__private::Poll::Ready(__v) =
                                $crate::select::__private::poll($a.as_mut(), __cx, &__select.claim($i))
                            {
                                $o = Some(__v);
                                return $crate::select::__private::Poll::Ready($i);
                            }
                        }
                    )*
                }
                if __select.winner().is_some() {
                    continue;
                }
                $crate::__select_default!(__select, $($d)?);
                __select.waiting(&__names);
                return $crate::select::__private::Poll::Pending;
            }
        }).await;
        drop(__select);
        $(
            if __won == $i {
                #[allow(unreachable_patterns, clippy::match_single_binding)]
                match $o.take() {
                    Some($pat) => $body,
                    _ => panic!("select!: the winning arm's value does not match its pattern"),
                }
            } else
        )*
        {
            $crate::__select_default_body!($($d)?)
        }
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_count {
    () => { 0usize };
    ($head:tt $($tail:tt)*) => { 1usize + $crate::__select_count!($($tail)*) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_default {
    ($s:ident,) => {};
    ($s:ident, $d:block) => {
        if $s.take_default() {
            return $crate::select::__private::Poll::Ready(usize::MAX);
        }
        continue;
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_default_body {
    () => {
        unreachable!("select!: no arm won")
    };
    ($d:block) => {
        $d
    };
}
