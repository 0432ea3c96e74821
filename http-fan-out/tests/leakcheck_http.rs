//! harness::leakcheck over code nobody here wrote: a hyper HTTP/1 server and client on
//! loopback, in plain tokio. The client's connection task runs in a task of its own, as hyper's
//! documentation shows; a test that hands the client back out of its body leaves that task
//! (and the server's side of the connection) running, and the check names them. The same test
//! shut down properly passes.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use harness::leakcheck::LeakCheck;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A loopback server: an accept loop and a task per connection, until `stop` fires.
async fn start_server() -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, mut stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted.unwrap();
                    conns.spawn(async move {
                        let service = hyper::service::service_fn(|_req| async {
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("pong"))))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                _ = &mut stopped => break,
            }
        }
        // Connections end when their clients hang up.
        while conns.join_next().await.is_some() {}
    });
    (addr, stop, server)
}

/// A client connection, driven by a task of its own (hyper's documented pattern).
async fn connect(addr: &str) -> (SendRequest<Empty<Bytes>>, tokio::task::JoinHandle<()>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    (sender, driver)
}

async fn ping(sender: &mut SendRequest<Empty<Bytes>>, addr: &str) -> String {
    let req = Request::get(format!("http://{addr}/ping"))
        .header(hyper::header::HOST, addr)
        .body(Empty::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

fn check() -> LeakCheck {
    LeakCheck::new().grace(Duration::from_millis(200))
}

fn runtime() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(2);
    b
}

#[test]
fn client_shut_down_properly_passes() {
    check()
        .run(runtime(), async {
            let (addr, stop, server) = start_server().await;
            let (mut sender, driver) = connect(&addr).await;
            assert_eq!(ping(&mut sender, &addr).await, "pong");
            drop(sender); // hyper closes the connection once the sender is gone
            driver.await.unwrap();
            let _ = stop.send(());
            server.await.unwrap();
        })
        .unwrap();
}

#[test]
fn client_whose_connection_outlives_the_test_is_a_leak() {
    let (kept, report) = {
        let mut kept = None;
        let report = check()
            .run(runtime(), async {
                let (addr, stop, _server) = start_server().await;
                let (mut sender, _driver) = connect(&addr).await;
                assert_eq!(ping(&mut sender, &addr).await, "pong");
                // The client outlives the test body (a fixture hands it back, a global keeps
                // it): its connection task and the server behind it keep running.
                kept = Some((sender, stop));
            })
            .unwrap_err();
        (kept, report)
    };
    eprintln!("{report}");
    let text = report.to_string();
    assert!(text.contains("task leak"), "{text}");
    // The accept loop, the server's connection task and the client's connection driver.
    assert_eq!(report.tasks.len(), 3, "{text}");
    if cfg!(tokio_unstable) {
        assert!(
            text.contains("http-fan-out/tests/leakcheck_http.rs:"),
            "{text}"
        );
    }
    drop(kept);
}
