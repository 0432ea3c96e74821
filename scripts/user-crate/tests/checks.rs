//! The crate's checks, run by `cargo test` with the crate's own `tracing` subscriber installed
//! as the global default: leakproof's checkers must compose with it, not hide it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use leakproof::check::Check;
use tracing_subscriber::prelude::*;

/// Events of this crate's code that the crate's own subscriber saw.
static SEEN: AtomicUsize = AtomicUsize::new(0);

struct CountOurEvents;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountOurEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target().starts_with("my_crate") {
            SEEN.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn install_our_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| tracing_subscriber::registry().with(CountOurEvents).init());
}

/// Runs `f` and says how many of our events our subscriber saw meanwhile.
fn counting<R>(f: impl FnOnce() -> R) -> R {
    install_our_subscriber();
    let before = SEEN.load(Ordering::Relaxed);
    let r = f();
    let seen = SEEN.load(Ordering::Relaxed) - before;
    println!("our own subscriber saw {seen} events of our code inside the check");
    assert!(seen > 0, "our subscriber saw nothing of the checked code");
    r
}

#[test]
fn squares_leaky() {
    let result = counting(|| {
        Check::new("squares/leaky").run(|| async {
            assert_eq!(my_crate::squares_leaky(vec![0, 3]).await, vec![9]);
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn squares_correct() {
    let stats = counting(|| {
        Check::new("squares/correct").run(|| async {
            assert_eq!(my_crate::squares(vec![0, 3]).await, vec![9]);
        })
    })
    .unwrap();
    println!("squares/correct passed {} executions", stats.executions);
}

#[test]
fn squares_empty() {
    Check::new("squares/empty")
        .run(|| async {
            assert_eq!(my_crate::squares(vec![]).await, Vec::<u32>::new());
        })
        .unwrap();
}

/// One check built by a helper, so both tests below create it at the same place.
fn clash() -> Check {
    Check::new("squares/clash").shuttle(1)
}

// Two tests running checks of one name: whichever claims it second fails, in one process
// (`cargo test`, test threads) or in two (cargo-nextest, a process per test).
#[test]
#[ignore = "fails by design: run by scripts/user-crate.sh"]
fn name_clash_a() {
    clash().run(|| async {}).unwrap();
}

#[test]
#[ignore = "fails by design: run by scripts/user-crate.sh"]
fn name_clash_b() {
    clash().run(|| async {}).unwrap();
}

#[test]
#[should_panic(expected = "two checks share the regressions file")]
fn two_checks_with_one_name_are_an_error() {
    Check::new("squares/twice")
        .shuttle(1)
        .run(|| async {})
        .unwrap();
    Check::new("squares/twice")
        .shuttle(1)
        .run(|| async {})
        .unwrap();
}
