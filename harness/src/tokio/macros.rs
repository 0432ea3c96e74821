//! tokio's macros on leakproof: `select!`, `join!`, `try_join!` and `pin!`, with tokio's
//! grammar and semantics, exported as `leakproof::tokio::{select, join, try_join, pin}`.
//!
//! `select!` differs from tokio's in one place only: the branch it polls first is drawn
//! from the checker's random source (shuttle's, so that a replay token replays the choice),
//! never from tokio's own generator, which no checker controls.

/// Waits on several futures and runs the handler of the first to complete, as
/// `tokio::select!`.
///
/// Grammar: `<pattern> = <future> (, if <precondition>)? => <handler>,` branches, an
/// optional `else => <handler>`, and an optional leading `biased;`. Preconditions are
/// evaluated first; a branch whose precondition is false is not polled. Unless `biased;`,
/// the branches are polled starting from one picked at random (from the checker's random
/// source). The first branch to complete whose output matches its pattern wins: every
/// other branch's future is dropped (cancelled), and its handler runs, where `break`,
/// `continue`, `return` and `?` act on the enclosing code. A branch whose output does not
/// match its pattern is disabled; once every branch is disabled, `else` runs (a `select!`
/// without `else` panics, as tokio's does).
///
/// ```
/// use leakproof::tokio::{self, sync::mpsc, time::{self, Duration}};
///
/// leakproof::check::Check::new("doc-tokio-select").shuttle(20).run(|| async {
///     let (tx, mut rx) = mpsc::channel::<u32>(1);
///     tokio::spawn(async move { let _ = tx.send(1).await; });
///     let mut got = None;
///     loop {
///         tokio::select! {
///             Some(v) = rx.recv() => got = Some(v),
///             _ = time::sleep(Duration::from_millis(10)) => {}
///             else => break,
///         }
///         if got.is_some() { break; }
///     }
/// }).unwrap();
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __tokio_select {
    (biased; $($t:tt)*) => {
        $crate::__tokio_select_parse!(@biased true @branches [] @else []
            @slots [(_0 __f0 0) (_1 __f1 1) (_2 __f2 2) (_3 __f3 3) (_4 __f4 4) (_5 __f5 5) (_6 __f6 6) (_7 __f7 7) (_8 __f8 8) (_9 __f9 9) (_10 __f10 10) (_11 __f11 11) (_12 __f12 12) (_13 __f13 13) (_14 __f14 14) (_15 __f15 15) (_16 __f16 16) (_17 __f17 17) (_18 __f18 18) (_19 __f19 19) (_20 __f20 20) (_21 __f21 21) (_22 __f22 22) (_23 __f23 23) (_24 __f24 24) (_25 __f25 25) (_26 __f26 26) (_27 __f27 27) (_28 __f28 28) (_29 __f29 29) (_30 __f30 30) (_31 __f31 31) (_32 __f32 32) (_33 __f33 33) (_34 __f34 34) (_35 __f35 35) (_36 __f36 36) (_37 __f37 37) (_38 __f38 38) (_39 __f39 39) (_40 __f40 40) (_41 __f41 41) (_42 __f42 42) (_43 __f43 43) (_44 __f44 44) (_45 __f45 45) (_46 __f46 46) (_47 __f47 47) (_48 __f48 48) (_49 __f49 49) (_50 __f50 50) (_51 __f51 51) (_52 __f52 52) (_53 __f53 53) (_54 __f54 54) (_55 __f55 55) (_56 __f56 56) (_57 __f57 57) (_58 __f58 58) (_59 __f59 59) (_60 __f60 60) (_61 __f61 61) (_62 __f62 62) (_63 __f63 63)]
            $($t)*)
    };
    ($($t:tt)*) => {
        $crate::__tokio_select_parse!(@biased false @branches [] @else []
            @slots [(_0 __f0 0) (_1 __f1 1) (_2 __f2 2) (_3 __f3 3) (_4 __f4 4) (_5 __f5 5) (_6 __f6 6) (_7 __f7 7) (_8 __f8 8) (_9 __f9 9) (_10 __f10 10) (_11 __f11 11) (_12 __f12 12) (_13 __f13 13) (_14 __f14 14) (_15 __f15 15) (_16 __f16 16) (_17 __f17 17) (_18 __f18 18) (_19 __f19 19) (_20 __f20 20) (_21 __f21 21) (_22 __f22 22) (_23 __f23 23) (_24 __f24 24) (_25 __f25 25) (_26 __f26 26) (_27 __f27 27) (_28 __f28 28) (_29 __f29 29) (_30 __f30 30) (_31 __f31 31) (_32 __f32 32) (_33 __f33 33) (_34 __f34 34) (_35 __f35 35) (_36 __f36 36) (_37 __f37 37) (_38 __f38 38) (_39 __f39 39) (_40 __f40 40) (_41 __f41 41) (_42 __f42 42) (_43 __f43 43) (_44 __f44 44) (_45 __f45 45) (_46 __f46 46) (_47 __f47 47) (_48 __f48 48) (_49 __f49 49) (_50 __f50 50) (_51 __f51 51) (_52 __f52 52) (_53 __f53 53) (_54 __f54 54) (_55 __f55 55) (_56 __f56 56) (_57 __f57 57) (_58 __f58 58) (_59 __f59 59) (_60 __f60 60) (_61 __f61 61) (_62 __f62 62) (_63 __f63 63)]
            $($t)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_select_parse {
    // else => block,
    (@biased $b:tt @branches [$($br:tt)*] @else [] @slots [$($s:tt)*]
        else => $h:block, $($rest:tt)*) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)*] @else [$h] @slots [$($s)*] $($rest)*)
    };
    // else => block
    (@biased $b:tt @branches [$($br:tt)*] @else [] @slots [$($s:tt)*]
        else => $h:block $($rest:tt)*) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)*] @else [$h] @slots [$($s)*] $($rest)*)
    };
    // else => expr
    (@biased $b:tt @branches [$($br:tt)*] @else [] @slots [$($s:tt)*]
        else => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)*] @else [{ $h }] @slots [$($s)*] $($($rest)*)?)
    };
    // pat = fut, if cond => block,
    (@biased $b:tt @branches [$($br:tt)*] @else [$($e:tt)*] @slots [($v:ident $f:ident $i:tt) $($s:tt)*]
        $p:pat = $fut:expr, if $c:expr => $h:block, $($rest:tt)*) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)* ($v $f $i ($p) ($fut) ($c) $h)] @else [$($e)*] @slots [$($s)*] $($rest)*)
    };
    // pat = fut, if cond => block
    (@biased $b:tt @branches [$($br:tt)*] @else [$($e:tt)*] @slots [($v:ident $f:ident $i:tt) $($s:tt)*]
        $p:pat = $fut:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)* ($v $f $i ($p) ($fut) ($c) $h)] @else [$($e)*] @slots [$($s)*] $($rest)*)
    };
    // pat = fut, if cond => expr
    (@biased $b:tt @branches [$($br:tt)*] @else [$($e:tt)*] @slots [($v:ident $f:ident $i:tt) $($s:tt)*]
        $p:pat = $fut:expr, if $c:expr => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)* ($v $f $i ($p) ($fut) ($c) { $h })] @else [$($e)*] @slots [$($s)*] $($($rest)*)?)
    };
    // pat = fut => block,
    (@biased $b:tt @branches [$($br:tt)*] @else [$($e:tt)*] @slots [($v:ident $f:ident $i:tt) $($s:tt)*]
        $p:pat = $fut:expr => $h:block, $($rest:tt)*) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)* ($v $f $i ($p) ($fut) (true) $h)] @else [$($e)*] @slots [$($s)*] $($rest)*)
    };
    // pat = fut => block
    (@biased $b:tt @branches [$($br:tt)*] @else [$($e:tt)*] @slots [($v:ident $f:ident $i:tt) $($s:tt)*]
        $p:pat = $fut:expr => $h:block $($rest:tt)*) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)* ($v $f $i ($p) ($fut) (true) $h)] @else [$($e)*] @slots [$($s)*] $($rest)*)
    };
    // pat = fut => expr
    (@biased $b:tt @branches [$($br:tt)*] @else [$($e:tt)*] @slots [($v:ident $f:ident $i:tt) $($s:tt)*]
        $p:pat = $fut:expr => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__tokio_select_parse!(@biased $b @branches [$($br)* ($v $f $i ($p) ($fut) (true) { $h })] @else [$($e)*] @slots [$($s)*] $($($rest)*)?)
    };
    // no branch, only `else`
    (@biased $b:tt @branches [] @else [$e:block] @slots [$($s:tt)*]) => {
        $e
    };
    // every branch parsed
    (@biased $b:tt @branches [$(($v:ident $f:ident $i:tt ($p:pat) ($fut:expr) ($c:expr) $h:block))+]
        @else [$($e:block)?] @slots [$($s:tt)*]) => {{
        #[allow(non_camel_case_types, dead_code)]
        enum __Out<$($v,)+> { $($v($v),)+ __Disabled }
        const __N: u32 = $crate::__tokio_count!($($i)+);
        // The futures live in this inner block only: they are dropped (the losers
        // cancelled) before the winning handler runs, which may then use what they borrowed.
        #[allow(unused_variables, unused_mut, unreachable_patterns, unreachable_code, clippy::redundant_pattern_matching)]
        let mut __out = {
        let mut __disabled: u64 = 0;
        $(
            if !$c {
                __disabled |= 1u64 << $i;
            }
        )+
        // One tuple, so that temporaries in the branches' expressions live as long as it.
        let ($($f,)+) = ($($fut,)+);
        $(
            #[allow(unused_mut)]
            let mut $f = ::core::future::IntoFuture::into_future($f);
        )+
        let __start: u32 = if $b { 0 } else { $crate::tokio::__private::random_below(__N) };
        $crate::tokio::__private::poll_fn(|__cx| {
            let mut __pending = false;
            for __k in 0..__N {
                let __branch = $crate::tokio::__private::rot(__start + __k, __N);
                if __disabled & (1u64 << __branch) != 0 {
                    continue;
                }
                $(
                    if __branch == $i {
                        // SAFETY: the future lives in a local of this block that is never
                        // moved, and is dropped in place.
                        let __fut = unsafe { ::core::pin::Pin::new_unchecked(&mut $f) };
                        match ::core::future::Future::poll(__fut, __cx) {
                            ::core::task::Poll::Ready(__o) => {
                                match &__o {
                                    $crate::tokio::__private::clean_pattern!($p) => return ::core::task::Poll::Ready(__Out::$v(__o)),
                                    _ => {
                                        __disabled |= 1u64 << $i;
                                        continue;
                                    }
                                }
                            }
                            ::core::task::Poll::Pending => {
                                __pending = true;
                                continue;
                            }
                        }
                    }
                )+
            }
            if __pending {
                ::core::task::Poll::Pending
            } else {
                ::core::task::Poll::Ready(__Out::__Disabled)
            }
        }).await
        };
        #[allow(unreachable_patterns, unused_variables, unreachable_code)]
        let __value = match __out {
            $( __Out::$v($p) => $h, )+
            __Out::__Disabled => $crate::__tokio_select_else!($($e)?),
            _ => unreachable!("select!: the winning branch's output no longer matches its pattern"),
        };
        __value
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_select_else {
    () => {
        panic!("all branches are disabled and there is no else branch")
    };
    ($e:block) => {
        $e
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_count {
    ($($x:tt)*) => { [$($crate::__tokio_unit!($x)),*].len() as u32 };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_unit {
    ($x:tt) => {
        ()
    };
}

/// Runs several futures concurrently on the calling task and waits for all of them, as
/// `tokio::join!`; gives their outputs as a tuple.
///
/// ```
/// # leakproof::check::Check::new("doc-tokio-join").shuttle(5).run(|| async {
/// let (a, b) = leakproof::tokio::join!(async { 1 }, async { "two" });
/// assert_eq!((a, b), (1, "two"));
/// # }).unwrap();
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __tokio_join {
    (biased; ) => { async {}.await };
    (biased; $($e:expr),+ $(,)?) => {
        $crate::__tokio_join_impl!(@plain true @slots [(__f0 0) (__f1 1) (__f2 2) (__f3 3) (__f4 4) (__f5 5) (__f6 6) (__f7 7) (__f8 8) (__f9 9) (__f10 10) (__f11 11) (__f12 12) (__f13 13) (__f14 14) (__f15 15) (__f16 16) (__f17 17) (__f18 18) (__f19 19) (__f20 20) (__f21 21) (__f22 22) (__f23 23) (__f24 24) (__f25 25) (__f26 26) (__f27 27) (__f28 28) (__f29 29) (__f30 30) (__f31 31) (__f32 32) (__f33 33) (__f34 34) (__f35 35) (__f36 36) (__f37 37) (__f38 38) (__f39 39) (__f40 40) (__f41 41) (__f42 42) (__f43 43) (__f44 44) (__f45 45) (__f46 46) (__f47 47) (__f48 48) (__f49 49) (__f50 50) (__f51 51) (__f52 52) (__f53 53) (__f54 54) (__f55 55) (__f56 56) (__f57 57) (__f58 58) (__f59 59) (__f60 60) (__f61 61) (__f62 62) (__f63 63)]
            @futs [] $($e,)+)
    };
    () => { async {}.await };
    ($($e:expr),+ $(,)?) => {
        $crate::__tokio_join_impl!(@plain false @slots [(__f0 0) (__f1 1) (__f2 2) (__f3 3) (__f4 4) (__f5 5) (__f6 6) (__f7 7) (__f8 8) (__f9 9) (__f10 10) (__f11 11) (__f12 12) (__f13 13) (__f14 14) (__f15 15) (__f16 16) (__f17 17) (__f18 18) (__f19 19) (__f20 20) (__f21 21) (__f22 22) (__f23 23) (__f24 24) (__f25 25) (__f26 26) (__f27 27) (__f28 28) (__f29 29) (__f30 30) (__f31 31) (__f32 32) (__f33 33) (__f34 34) (__f35 35) (__f36 36) (__f37 37) (__f38 38) (__f39 39) (__f40 40) (__f41 41) (__f42 42) (__f43 43) (__f44 44) (__f45 45) (__f46 46) (__f47 47) (__f48 48) (__f49 49) (__f50 50) (__f51 51) (__f52 52) (__f53 53) (__f54 54) (__f55 55) (__f56 56) (__f57 57) (__f58 58) (__f59 59) (__f60 60) (__f61 61) (__f62 62) (__f63 63)]
            @futs [] $($e,)+)
    };
}

/// Runs several fallible futures concurrently and waits for all of them to succeed, or for
/// the first error, as `tokio::try_join!`.
///
/// ```
/// # leakproof::check::Check::new("doc-tokio-try-join").shuttle(5).run(|| async {
/// let r: Result<(u8, u8), &str> =
///     leakproof::tokio::try_join!(async { Ok(1) }, async { Err("no") });
/// assert_eq!(r, Err("no"));
/// # }).unwrap();
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __tokio_try_join {
    (biased; ) => { async { Ok(()) }.await };
    (biased; $($e:expr),+ $(,)?) => {
        $crate::__tokio_join_impl!(@try true @slots [(__f0 0) (__f1 1) (__f2 2) (__f3 3) (__f4 4) (__f5 5) (__f6 6) (__f7 7) (__f8 8) (__f9 9) (__f10 10) (__f11 11) (__f12 12) (__f13 13) (__f14 14) (__f15 15) (__f16 16) (__f17 17) (__f18 18) (__f19 19) (__f20 20) (__f21 21) (__f22 22) (__f23 23) (__f24 24) (__f25 25) (__f26 26) (__f27 27) (__f28 28) (__f29 29) (__f30 30) (__f31 31) (__f32 32) (__f33 33) (__f34 34) (__f35 35) (__f36 36) (__f37 37) (__f38 38) (__f39 39) (__f40 40) (__f41 41) (__f42 42) (__f43 43) (__f44 44) (__f45 45) (__f46 46) (__f47 47) (__f48 48) (__f49 49) (__f50 50) (__f51 51) (__f52 52) (__f53 53) (__f54 54) (__f55 55) (__f56 56) (__f57 57) (__f58 58) (__f59 59) (__f60 60) (__f61 61) (__f62 62) (__f63 63)]
            @futs [] $($e,)+)
    };
    () => { async { Ok(()) }.await };
    ($($e:expr),+ $(,)?) => {
        $crate::__tokio_join_impl!(@try false @slots [(__f0 0) (__f1 1) (__f2 2) (__f3 3) (__f4 4) (__f5 5) (__f6 6) (__f7 7) (__f8 8) (__f9 9) (__f10 10) (__f11 11) (__f12 12) (__f13 13) (__f14 14) (__f15 15) (__f16 16) (__f17 17) (__f18 18) (__f19 19) (__f20 20) (__f21 21) (__f22 22) (__f23 23) (__f24 24) (__f25 25) (__f26 26) (__f27 27) (__f28 28) (__f29 29) (__f30 30) (__f31 31) (__f32 32) (__f33 33) (__f34 34) (__f35 35) (__f36 36) (__f37 37) (__f38 38) (__f39 39) (__f40 40) (__f41 41) (__f42 42) (__f43 43) (__f44 44) (__f45 45) (__f46 46) (__f47 47) (__f48 48) (__f49 49) (__f50 50) (__f51 51) (__f52 52) (__f53 53) (__f54 54) (__f55 55) (__f56 56) (__f57 57) (__f58 58) (__f59 59) (__f60 60) (__f61 61) (__f62 62) (__f63 63)]
            @futs [] $($e,)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tokio_join_impl {
    (@$mode:ident $b:tt @slots [($f:ident $i:tt) $($s:tt)*] @futs [$($done:tt)*] $e:expr, $($rest:tt)*) => {
        $crate::__tokio_join_impl!(@$mode $b @slots [$($s)*] @futs [$($done)* ($f $i $e)] $($rest)*)
    };
    (@$mode:ident $b:tt @slots [$($s:tt)*] @futs [$(($f:ident $i:tt $e:expr))+]) => {{
        const __N: u32 = $crate::__tokio_count!($($i)+);
        $(
            let mut $f = $crate::tokio::__private::MaybeDone::new(::core::future::IntoFuture::into_future($e));
        )+
        // Unless biased, each poll starts with the next future, as tokio's does.
        let mut __skip: u32 = 0;
        let __r = $crate::tokio::__private::poll_fn(|__cx| {
            let mut __all = true;
            let __start = __skip;
            if !$b {
                __skip = $crate::tokio::__private::rot(__skip + 1, __N);
            }
            for __k in 0..__N {
                let __j = $crate::tokio::__private::rot(__start + __k, __N);
                $(
                    if __j == $i {
                        // SAFETY: the local is never moved and is dropped in place.
                        let mut __p = unsafe { ::core::pin::Pin::new_unchecked(&mut $f) };
                        if !__p.as_mut().poll_done(__cx) {
                            __all = false;
                        } else {
                            $crate::__tokio_join_impl!(@check $mode __p);
                        }
                    }
                )+
            }
            if __all { ::core::task::Poll::Ready(Ok(())) } else { ::core::task::Poll::Pending }
        }).await;
        $crate::__tokio_join_impl!(@out $mode __r $($f)+)
    }};
    (@check plain $p:ident) => {};
    (@check try $p:ident) => {
        if let Some(__err) = $p.as_mut().take_err() {
            return ::core::task::Poll::Ready(Err(__err));
        }
    };
    (@out plain $r:ident $($f:ident)+) => {{
        let _: Result<(), ::core::convert::Infallible> = $r;
        ($(
            // SAFETY: as above.
            unsafe { ::core::pin::Pin::new_unchecked(&mut $f) }.take_output(),
        )+)
    }};
    (@out try $r:ident $($f:ident)+) => {
        match $r {
            Err(__err) => Err(__err),
            Ok(()) => Ok(($(
                $crate::tokio::__private::ok_value(
                    // SAFETY: as above.
                    unsafe { ::core::pin::Pin::new_unchecked(&mut $f) }.take_output()
                ),
            )+)),
        }
    };
}

/// Pins values on the stack, as `tokio::pin!`: `pin!(fut)` shadows `fut` with a
/// `Pin<&mut _>`; `pin! { let x = expr; }` declares and pins.
///
/// ```
/// # leakproof::check::Check::new("doc-tokio-pin").shuttle(5).run(|| async {
/// let fut = async { 5 };
/// leakproof::tokio::pin!(fut);
/// assert_eq!((&mut fut).await, 5);
/// # }).unwrap();
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __tokio_pin {
    ($($x:ident),* $(,)?) => {
        $(
            let mut $x = $x;
            // SAFETY: the original is shadowed, so it can never be moved again.
            #[allow(unused_mut)]
            let mut $x = unsafe { ::core::pin::Pin::new_unchecked(&mut $x) };
        )*
    };
    ($(let $x:ident = $init:expr;)*) => {
        $(
            let $x = $init;
            $crate::__tokio_pin!($x);
        )*
    };
}
