//! A real run of the seed's fan-out fetch: starts an HTTP server on loopback, fetches several
//! URLs from it concurrently (`patterns::fan_in::fan_in` over
//! `patterns::cancel::fetch_with_timeout`, with real HTTP I/O injected as the work), on a
//! real multi-thread tokio runtime with leakproof's tracking layer on, then prints the
//! results and the leak report.
//!
//! ```sh
//! cargo run --release -p http-fan-out
//! ```
//!
//! The server, its connections, the fetches and the fan-in are all harness tasks, so the
//! leak check at the end covers every one of them: the server stops on its context, each
//! fetch that misses the deadline is cancelled (its HTTP exchange dropped), and nothing is
//! left running. `cargo test -p http-fan-out` runs the same code (its `#[test]` below); the
//! package is a workspace member outside the default members, so that the plain `cargo test`
//! and `cargo run -- check` never build the hyper stack (`.ci/run` tests it on its own).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use harness::check::{Check, Failure, Stats};
use harness::context::{Context, ContextError};
use harness::{task, time, track};
use patterns::cancel::fetch_with_timeout;
use patterns::fan_in::fan_in;

/// One URL's outcome: the body of a 200, the failure (status or transport error), or the
/// context's error when the deadline cut the fetch short.
pub type Fetched = Result<Result<String, String>, ContextError>;

/// What a run did.
pub struct Outcome {
    /// Each URL with its outcome, in request order.
    pub results: Vec<(String, Fetched)>,
    /// The tokio checker's verdict: `Ok` when nothing leaked.
    pub verdict: Result<Stats, Failure>,
    /// The tracking registry at the end of the body, after the server stopped.
    pub snapshot: String,
    /// How long the fan-out took.
    pub elapsed: Duration,
    /// Tasks the tracking layer saw in the run, the body included.
    pub tasks: usize,
}

/// The paths the fan-out fetches: squares that answer after `n × 10 ms`, one that fails,
/// one slower than the deadline.
pub const PATHS: &[&str] = &[
    "/square/1",
    "/square/2",
    "/square/3",
    "/square/4",
    "/fail",
    "/slow",
];

/// The fan-out's deadline.
pub const DEADLINE: Duration = Duration::from_millis(500);

/// The server's answer to one request; `stop` is the server's context.
async fn handle(
    req: Request<Incoming>,
    stop: Context,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let reply = |status, body: String| {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        Ok(resp)
    };
    if let Some(n) = path
        .strip_prefix("/square/")
        .and_then(|n| n.parse::<u64>().ok())
    {
        time::sleep(Duration::from_millis(n * 10)).await;
        return reply(StatusCode::OK, (n * n).to_string());
    }
    match path.as_str() {
        "/fail" => reply(StatusCode::INTERNAL_SERVER_ERROR, "unavailable".into()),
        "/slow" => {
            harness::select! {
                _ = time::sleep(Duration::from_secs(5)) => reply(StatusCode::OK, "late".into()),
                _ = stop.done() => reply(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "no such path".into()),
    }
}

/// Serves HTTP/1 on `listener`, one harness task per connection, until `stop` is done; then
/// waits for every connection task before it returns.
async fn serve(listener: TcpListener, stop: Context) {
    let mut connections = Vec::new();
    loop {
        harness::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let stop = stop.clone();
                let n = connections.len();
                connections.push(task::spawn_named(format!("http-conn-{n}"), async move {
                    let service = hyper::service::service_fn(move |req| handle(req, stop.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }));
            }
            _ = stop.done() => break,
        }
    }
    for c in connections {
        let _ = c.await;
    }
}

/// One GET over a fresh connection: the body of a 200, or what went wrong. Dropping the
/// future (a cancelled fetch) closes the connection.
async fn get(url: String) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad url {url}: {e}"))?;
    let authority = uri.authority().ok_or("no host in url")?.clone();
    let stream = TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let req = Request::get(uri)
        .header(hyper::header::HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let exchange = async move {
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        let body = String::from_utf8_lossy(&body.to_bytes()).into_owned();
        if status == StatusCode::OK {
            Ok(body)
        } else {
            Err(format!("HTTP {}: {body}", status.as_u16()))
        }
    };
    // The connection is driven right here, next to the exchange: no task of its own.
    harness::select! {
        out = exchange => out,
        ended = conn => Err(format!("connection ended early: {ended:?}")),
    }
}

/// Starts the server, fans out one fetch per path under [`DEADLINE`], stops the server, on
/// `runs` real tokio runtimes with the tracking layer on.
pub fn run(runs: usize) -> Outcome {
    let results = Arc::new(Mutex::new(Vec::new()));
    let snapshot = Arc::new(Mutex::new(String::new()));
    let elapsed = Arc::new(Mutex::new(Duration::ZERO));
    let tasks = Arc::new(Mutex::new(0));
    let (r, s, e, t) = (
        results.clone(),
        snapshot.clone(),
        elapsed.clone(),
        tasks.clone(),
    );
    let verdict = Check::new("http_fan_out").tokio(runs).run(move || {
        let (results, snapshot, elapsed, tasks) = (r.clone(), s.clone(), e.clone(), t.clone());
        async move {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("a bound address");
            let (server_ctx, stop_server) = Context::background().with_cancel();
            let server = task::spawn_named("http-server", serve(listener, server_ctx));

            let urls: Vec<String> = PATHS.iter().map(|p| format!("http://{addr}{p}")).collect();
            let start = Instant::now();
            let (ctx, _cancel) = Context::background().with_timeout(DEADLINE);
            let fetched = fan_in(urls.clone(), move |url| {
                let ctx = ctx.clone();
                async move { fetch_with_timeout(&ctx, move |_ctx| get(url)).await }
            })
            .await;
            *elapsed.lock().unwrap() = start.elapsed();

            stop_server.cancel();
            server.await.expect("the server does not panic");
            let now = track::snapshot();
            *tasks.lock().unwrap() = now.tasks.len();
            *snapshot.lock().unwrap() = now.to_string();
            *results.lock().unwrap() = urls.into_iter().zip(fetched).collect();
        }
    });
    let results = std::mem::take(&mut *results.lock().unwrap());
    let snapshot = std::mem::take(&mut *snapshot.lock().unwrap());
    let elapsed = *elapsed.lock().unwrap();
    let tasks = *tasks.lock().unwrap();
    Outcome {
        tasks,
        results,
        verdict,
        snapshot,
        elapsed,
    }
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let outcome = run(1);
    println!(
        "fan-out of {} GETs against a loopback server, deadline {DEADLINE:?}, took {:?}:",
        PATHS.len(),
        outcome.elapsed
    );
    for (url, result) in &outcome.results {
        let shown = match result {
            Ok(Ok(body)) => format!("200 {body}"),
            Ok(Err(e)) => format!("failed: {e}"),
            Err(e) => format!("cancelled: {e}"),
        };
        println!("  {url:<36} {shown}");
    }
    println!();
    println!(
        "tracking registry when the body returned ({} tasks seen in the run):",
        outcome.tasks
    );
    println!("{}", outcome.snapshot.trim_end());
    println!();
    match &outcome.verdict {
        Ok(stats) => println!(
            "leak report: none ({} tokio run(s) with the tracking layer on: every task ended)",
            stats.executions
        ),
        Err(f) => {
            println!("{f}");
            std::process::exit(1);
        }
    }
}

#[test]
fn the_fan_out_fetches_over_real_http_and_leaks_nothing() {
    let outcome = run(2);
    if let Err(f) = &outcome.verdict {
        panic!("{f}");
    }
    assert_eq!(outcome.results.len(), PATHS.len());
    for ((url, result), path) in outcome.results.iter().zip(PATHS) {
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with(path),
            "{url}"
        );
        match *path {
            "/fail" => assert_eq!(*result, Ok(Err("HTTP 500: unavailable".to_string()))),
            "/slow" => assert_eq!(*result, Err(ContextError::DeadlineExceeded)),
            square => {
                let n: u64 = square.trim_start_matches("/square/").parse().unwrap();
                assert_eq!(*result, Ok(Ok((n * n).to_string())), "{square}");
            }
        }
    }
    // The body, the server, a connection per GET, and per GET a fan-in worker and a fetch
    // worker, plus the fan-in's closer.
    assert!(
        outcome.tasks >= 2 + 3 * PATHS.len(),
        "{} tasks",
        outcome.tasks
    );
    assert!(
        outcome.elapsed >= DEADLINE,
        "the slow fetch waits for the deadline"
    );
    assert!(
        outcome.elapsed < Duration::from_secs(5),
        "the slow fetch is cut short"
    );
}
