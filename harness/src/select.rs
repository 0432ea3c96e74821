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
//! use leakproof::{chan, check::Check, task};
//!
//! Check::new("doc-select").shuttle(50).run(|| async {
//!     let (a_tx, a_rx) = chan::bounded::<u32>(0);
//!     let (b_tx, b_rx) = chan::bounded::<&str>(1);
//!     task::spawn(async move { a_tx.send(7).await.unwrap() });
//!     b_tx.send("hi").await.unwrap();
//!     let mut got = Vec::new();
//!     while got.len() < 2 {
//!         leakproof::select! {
//!             // The sender's task ends after its send, which closes `a`; a closed
//!             // channel is always ready, with `None`.
//!             v = a_rx.recv() => got.extend(v.map(|v| format!("a{v}"))),
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
//!
//! How it works, as Go's `selectgo` does it: a select first tries every arm in its random
//! order without waiting; the first that can complete wins. With `default`, and no arm
//! ready, it looks at the channels of its arms once more and takes the default only if
//! none of them changed meanwhile, so that at one moment no arm was ready (Go locks every
//! channel of the select at once instead). Otherwise every arm parks (a waiting receiver,
//! a send offer) and the select sleeps; a partner that completes a parked arm (hands it a
//! value, takes its offer) first wins the select for that arm, atomically, so only one arm
//! ever completes. Once an arm has won, the others are withdrawn before its body runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::rt::backend;
use crate::track;

const OPEN: usize = usize::MAX;

/// The most arms a `select!` may have (besides `default`).
const MAX_ARMS: usize = 8;

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
    /// Wins the select for this arm: `Some(true)` if this call won it, `Some(false)` if the
    /// arm had already won, `None` if another arm won.
    pub(crate) fn claim(&self) -> Option<bool> {
        match self.claim.winner.compare_exchange(
            OPEN,
            self.arm,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Some(true),
            Err(w) if w == self.arm => Some(false),
            Err(_) => None,
        }
    }

    /// Wins the select for this arm, or says it already has; false if another arm won.
    pub(crate) fn try_claim(&self) -> bool {
        self.claim().is_some()
    }

    /// Whether another arm won.
    pub(crate) fn lost(&self) -> bool {
        let w = self.claim.winner.load(Ordering::Acquire);
        w != OPEN && w != self.arm
    }

    /// Undoes a claim this arm has just won but could not use (nothing was taken). Only the
    /// select's own task does this, while it runs, and it then looks at every arm again.
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

/// What one attempt at a select arm came to.
#[doc(hidden)]
#[derive(Debug)]
pub enum Step<T> {
    /// The arm completed: it won the select.
    Ready(T),
    /// The arm cannot complete now (it waits if it was asked to park). A channel operation
    /// gives its channel's version, for the `default` check.
    Waiting(Option<u64>),
    /// Another arm won the select meanwhile.
    Lost,
    /// The arm won the select for a moment but its partner's select went another way, so it
    /// gave the claim back: every arm must be looked at again.
    Retry,
}

/// A future that can be an arm of `select!`.
#[doc(hidden)]
pub trait SelectArm: Unpin {
    /// What the arm gives its pattern.
    type Output;
    /// Tries to complete the arm, which it may only do by winning `claim`; with `park`, an
    /// arm that cannot complete waits (and wakes `cx` when it may).
    fn step(&mut self, cx: &mut Context<'_>, claim: &ArmClaim, park: bool) -> Step<Self::Output>;
    /// Withdraws whatever the arm left waiting in a channel.
    fn withdraw(&mut self);
    /// The version of the arm's channel, if it is a channel operation.
    fn version(&self) -> Option<u64>;
    /// How reports name the arm.
    fn describe(&self) -> String;
}

impl<T> SelectArm for crate::chan::RecvFuture<'_, T> {
    type Output = Option<T>;
    fn step(&mut self, cx: &mut Context<'_>, claim: &ArmClaim, park: bool) -> Step<Option<T>> {
        crate::chan::RecvFuture::step(self, cx, Some(claim), park)
    }
    fn withdraw(&mut self) {
        crate::chan::RecvFuture::withdraw(self)
    }
    fn version(&self) -> Option<u64> {
        Some(crate::chan::RecvFuture::version(self))
    }
    fn describe(&self) -> String {
        format!("recv ch#{}", self.channel_id())
    }
}

impl<T> SelectArm for crate::chan::SendFuture<'_, T> {
    type Output = Result<(), crate::chan::SendError<T>>;
    fn step(&mut self, cx: &mut Context<'_>, claim: &ArmClaim, park: bool) -> Step<Self::Output> {
        crate::chan::SendFuture::step(self, cx, Some(claim), park)
    }
    fn withdraw(&mut self) {
        crate::chan::SendFuture::withdraw(self)
    }
    fn version(&self) -> Option<u64> {
        Some(crate::chan::SendFuture::version(self))
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
    fn step(&mut self, cx: &mut Context<'_>, claim: &ArmClaim, _park: bool) -> Step<F::Output> {
        match self.future.as_mut().poll(cx) {
            Poll::Ready(v) if claim.try_claim() => Step::Ready(v),
            Poll::Ready(_) => Step::Lost,
            Poll::Pending => Step::Waiting(None),
        }
    }
    fn withdraw(&mut self) {}
    fn version(&self) -> Option<u64> {
        None
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

    /// One arm and, once it has won, its output.
    pub struct Slot<A: SelectArm> {
        arm: A,
        out: Option<A::Output>,
    }

    impl<A: SelectArm> Slot<A> {
        /// Holds `arm`.
        pub fn new(arm: A) -> Self {
            Slot { arm, out: None }
        }

        /// The winning arm's output.
        pub fn take(&mut self) -> Option<A::Output> {
            self.out.take()
        }
    }

    /// An arm seen without its output type, so that [`poll_select`] can drive every arm.
    pub trait ArmOps {
        /// Like [`SelectArm::step`]; a `Ready` output stays in the slot.
        fn step(&mut self, cx: &mut Context<'_>, claim: &ArmClaim, park: bool) -> Step<()>;
        /// See [`SelectArm::withdraw`].
        fn withdraw(&mut self);
        /// See [`SelectArm::version`].
        fn version(&self) -> Option<u64>;
        /// See [`SelectArm::describe`].
        fn describe(&self) -> String;
    }

    impl<A: SelectArm> ArmOps for Slot<A> {
        fn step(&mut self, cx: &mut Context<'_>, claim: &ArmClaim, park: bool) -> Step<()> {
            match self.arm.step(cx, claim, park) {
                Step::Ready(v) => {
                    self.out = Some(v);
                    Step::Ready(())
                }
                Step::Waiting(v) => Step::Waiting(v),
                Step::Lost => Step::Lost,
                Step::Retry => Step::Retry,
            }
        }
        fn withdraw(&mut self) {
            self.arm.withdraw()
        }
        fn version(&self) -> Option<u64> {
            self.arm.version()
        }
        fn describe(&self) -> String {
            self.arm.describe()
        }
    }

    /// The state of one select: its decision, the order it tries arms in, its registry entry.
    pub struct Select {
        claim: Arc<Claim>,
        /// A random permutation of the arms, drawn when the select starts.
        order: Vec<usize>,
        site: (&'static str, u32, u32),
        reported: bool,
        /// The arm count, which is also the index of the default arm.
        arms: usize,
        has_default: bool,
    }

    impl Select {
        /// A select over `arms` arms (and a `default` arm if `has_default`), at `site`.
        pub fn new(arms: usize, has_default: bool, site: (&'static str, u32, u32)) -> Select {
            assert!(arms <= MAX_ARMS, "select!: at most {MAX_ARMS} arms");
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
                has_default,
            }
        }

        /// Arm `i`'s handle on the decision.
        fn claim(&self, i: usize) -> ArmClaim {
            ArmClaim {
                claim: self.claim.clone(),
                arm: i,
            }
        }

        /// The arm that has won, if one has.
        fn winner(&self) -> Option<usize> {
            match self.claim.winner.load(Ordering::Acquire) {
                OPEN => None,
                w => Some(w),
            }
        }

        /// Reports the select as waiting (once), naming its arms.
        fn waiting(&mut self, arms: &[&mut dyn ArmOps]) {
            if !self.reported {
                self.reported = true;
                let exec = crate::rt::exec::current();
                let task = backend::current_task_id();
                // A timer arm reported its wait while it was polled: time will end this select.
                let timer = exec
                    .as_ref()
                    .and_then(|e| e.registry.waits.get(&task).map(|w| w.is_timer()))
                    .unwrap_or(false);
                let names: Vec<String> = arms.iter().map(|a| a.describe()).collect();
                let op = format!(
                    "select {{ {} }}{}",
                    names.join(", "),
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

    /// Withdraws every arm but `keep`.
    fn withdraw_others(arms: &mut [&mut dyn ArmOps], keep: Option<usize>) {
        for (i, arm) in arms.iter_mut().enumerate() {
            if Some(i) != keep {
                arm.withdraw();
            }
        }
    }

    /// Polls a select: `Ready(i)` once arm `i` won (the index of the default arm is the arm
    /// count), every other arm withdrawn.
    pub fn poll_select(
        sel: &mut Select,
        arms: &mut [&mut dyn ArmOps],
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        debug_assert_eq!(arms.len(), sel.arms);
        loop {
            // A partner completed a parked arm for us (took our offer, handed us a value).
            if let Some(w) = sel.winner() {
                withdraw_others(arms, Some(w));
                return match arms[w].step(cx, &sel.claim(w), false) {
                    Step::Ready(()) => Poll::Ready(w),
                    // Cannot happen: the partner completed the arm when it won it.
                    _ => Poll::Pending,
                };
            }
            let mut versions = [None; MAX_ARMS];
            let mut again = false;
            for k in 0..sel.order.len() {
                let i = sel.order[k];
                match arms[i].step(cx, &sel.claim(i), !sel.has_default) {
                    Step::Ready(()) => {
                        withdraw_others(arms, Some(i));
                        return Poll::Ready(i);
                    }
                    Step::Waiting(v) => versions[i] = v,
                    Step::Lost => {
                        again = true;
                        break;
                    }
                    Step::Retry => {
                        withdraw_others(arms, None);
                        again = true;
                        break;
                    }
                }
            }
            if again {
                continue;
            }
            if sel.has_default {
                // Nothing parked, so nobody else can decide this select. No arm was ready
                // when we looked at it; take the default only if no arm's channel changed
                // since, so that no arm was ready at the moment we finished looking.
                let looked = versions.iter().filter(|v| v.is_some()).count();
                let unchanged = looked <= 1
                    || (0..arms.len())
                        .all(|i| versions[i].is_none() || arms[i].version() == versions[i]);
                if unchanged && sel.claim(sel.arms).try_claim() {
                    return Poll::Ready(sel.arms);
                }
                continue;
            }
            if sel.winner().is_some() {
                continue;
            }
            sel.waiting(arms);
            return Poll::Pending;
        }
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
            @slots [(__a0 0) (__a1 1) (__a2 2) (__a3 3) (__a4 4) (__a5 5) (__a6 6) (__a7 7)]
            $($tokens)*
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // default => block,
    (@arms [$($arms:tt)*] @default [] @slots [$($slots:tt)*]
        default => $body:block , $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($arms)*] @default [$body] @slots [$($slots)*] $($rest)*)
    };
    // default => block
    (@arms [$($arms:tt)*] @default [] @slots [$($slots:tt)*]
        default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($arms)*] @default [$body] @slots [$($slots)*] $($rest)*)
    };
    // default => expr,
    (@arms [$($arms:tt)*] @default [] @slots [$($slots:tt)*]
        default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($arms)*] @default [{ $body }] @slots [$($slots)*] $($($rest)*)?)
    };
    // pat = fut => block,
    (@arms [$($arms:tt)*] @default [$($d:tt)*] @slots [($a:ident $i:tt) $($slots:tt)*]
        $pat:pat = $fut:expr => $body:block , $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($arms)* ($a $i ($pat) ($fut) $body)] @default [$($d)*] @slots [$($slots)*] $($rest)*)
    };
    // pat = fut => block
    (@arms [$($arms:tt)*] @default [$($d:tt)*] @slots [($a:ident $i:tt) $($slots:tt)*]
        $pat:pat = $fut:expr => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($arms)* ($a $i ($pat) ($fut) $body)] @default [$($d)*] @slots [$($slots)*] $($rest)*)
    };
    // pat = fut => expr,
    (@arms [$($arms:tt)*] @default [$($d:tt)*] @slots [($a:ident $i:tt) $($slots:tt)*]
        $pat:pat = $fut:expr => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($arms)* ($a $i ($pat) ($fut) { $body })] @default [$($d)*] @slots [$($slots)*] $($($rest)*)?)
    };
    // done
    (@arms [$(($a:ident $i:tt ($pat:pat) ($fut:expr) $body:block))*] @default [$($d:block)?] @slots [$($slots:tt)*]) => {{
        #[allow(unused_imports)]
        use $crate::select::__private::{ViaAny as _, ViaRecv as _, ViaSend as _};
        let mut __select = $crate::select::__private::Select::new(
            $crate::__select_count!($($i)*),
            $crate::__select_has_default!($($d)?),
            (file!(), line!(), column!()),
        );
        $(
            let __wrap = $crate::select::__private::Wrap(
                $crate::select::__private::Cell::new(Some($fut)),
                stringify!($fut),
            );
            let mut $a = $crate::select::__private::Slot::new((&&__wrap).__into_arm());
        )*
        let __won: usize = $crate::select::__private::poll_fn(|__cx| {
            $crate::select::__private::poll_select(
                &mut __select,
                &mut [$(&mut $a as &mut dyn $crate::select::__private::ArmOps),*],
                __cx,
            )
        }).await;
        drop(__select);
        $(
            if __won == $i {
                #[allow(unreachable_patterns, clippy::match_single_binding)]
                match $a.take() {
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
macro_rules! __select_has_default {
    () => {
        false
    };
    ($d:block) => {
        true
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
