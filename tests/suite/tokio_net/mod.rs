//! Networking through `leakproof::tokio::net`: a small actor-based TCP service written in
//! plain tokio (kv.rs), compiled twice from the same file, on real tokio and on
//! `leakproof::tokio`, and checked on the tokio checker: the correct service passes with
//! every task tracked, its leaky twin (connections spawned and forgotten) is a leak whose
//! report names the task blocked on a socket read; under the model checkers a socket is a
//! clear error, never a hang.

use std::sync::{Arc, Mutex};

use harness::check::{Check, Failure, FailureKind};

/// kv.rs on real tokio.
mod on_tokio {
    pub mod kv {
        use ::tokio;
        include!("kv.rs");
    }
}

/// kv.rs on `leakproof::tokio`.
mod on_leakproof {
    pub mod kv {
        use harness::tokio;
        include!("kv.rs");
    }
}

#[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_works_on_real_tokio() {
    let idle = on_tokio::kv::exchange(false).await;
    drop(idle);
}

/// Runs the exchange on the tokio checker; the idle clients stay connected until the check
/// is over (as a client of a server that shut down would).
fn check_exchange(name: &str, leaky: bool) -> Result<(), Failure> {
    let idle = Arc::new(Mutex::new(Vec::new()));
    let keep = idle.clone();
    let out = Check::new(name)
        .tokio(3)
        .run(move || {
            let keep = keep.clone();
            async move {
                let client = on_leakproof::kv::exchange(leaky).await;
                keep.lock().unwrap().push(client);
            }
        })
        .map(|_| ());
    drop(idle);
    out
}

#[test]
fn the_service_passes_the_tokio_checker() {
    check_exchange("tokio-net/kv", false).unwrap_or_else(|f| panic!("false alarm:\n{f}"));
}

#[test]
fn forgotten_connections_are_a_leak_blocked_on_a_socket_read() {
    let f = check_exchange("tokio-net/kv-leaky", true).expect_err("the leak is found");
    assert_eq!(f.kind, FailureKind::Leak, "{f}");
    let report = f.to_string();
    // README ("Networking") shows this report: `-- --nocapture` prints it.
    eprintln!("{report}");
    // The connection task, blocked on its socket, with where the socket came from.
    assert!(report.contains("[tcp read]"), "{report}");
    // A task on a socket may still be woken from outside: the report does not claim otherwise.
    assert!(!report.contains("nothing left to wake them"), "{report}");
    assert!(report.contains("on tcp stream #"), "{report}");
    assert!(report.contains("kv.rs"), "{report}");
    // The actor it keeps alive, on the channel whose sender the connection holds.
    assert!(report.contains("[mpsc recv]"), "{report}");
}

#[test]
fn a_socket_under_a_model_checker_is_a_clear_error() {
    for check in [
        Check::new("tokio-net/shuttle").shuttle(1),
        Check::new("tokio-net/loom").loom(),
    ] {
        let f = check
            .run(|| async {
                let _ = on_leakproof::kv::exchange(false).await;
            })
            .expect_err("no socket under a model checker");
        assert_eq!(f.kind, FailureKind::Panic, "{f}");
        assert!(
            f.to_string()
                .contains("real sockets run on the tokio checker only"),
            "{f}"
        );
    }
}
