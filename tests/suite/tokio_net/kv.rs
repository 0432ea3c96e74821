// A small actor-based TCP key-value service in plain tokio. It names only `tokio`, which
// the module that includes it brings in (as a crate's `use crate::rt::tokio;` shim line
// would): tokio_net/mod.rs includes it twice, unchanged, once after `use ::tokio;` and once
// after `use harness::tokio;` (leakproof's tokio).
//
// One actor task owns the map; every connection is a task that reads lines (`SET k v`,
// `GET k`), asks the actor through an mpsc channel with a oneshot for the reply, and writes
// the answer back. `serve` stops accepting once `shutdown` fires, tells its connections to
// stop, and returns only when they and the actor have ended.

use std::collections::HashMap;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// What a connection asks the actor.
enum Command {
    Set(String, String),
    Get(String, oneshot::Sender<Option<String>>),
}

/// The actor: the only owner of the map. Ends when every handle to it is gone.
async fn store(mut commands: mpsc::Receiver<Command>) {
    let mut map = HashMap::new();
    while let Some(c) = commands.recv().await {
        match c {
            Command::Set(k, v) => {
                map.insert(k, v);
            }
            Command::Get(k, reply) => {
                let _ = reply.send(map.get(&k).cloned());
            }
        }
    }
}

/// One client connection: a line in, a line out, until the client hangs up or the server
/// shuts down (when `stop` is `Some`; a connection given `None` ignores shutdown: the bug).
async fn connection(
    socket: TcpStream,
    store: mpsc::Sender<Command>,
    mut stop: Option<watch::Receiver<bool>>,
) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        let line = match stop.as_mut() {
            Some(stop) => tokio::select! {
                line = lines.next_line() => line,
                _ = stop.changed() => break,
            },
            None => lines.next_line().await,
        };
        let Ok(Some(line)) = line else { break };
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next(), words.next()) {
            (Some("SET"), Some(k), Some(v)) => {
                let _ = store.send(Command::Set(k.into(), v.into())).await;
                "OK".to_string()
            }
            (Some("GET"), Some(k), None) => {
                let (tx, rx) = oneshot::channel();
                let _ = store.send(Command::Get(k.into(), tx)).await;
                match rx.await {
                    Ok(Some(v)) => v,
                    _ => "NONE".to_string(),
                }
            }
            _ => "ERR".to_string(),
        };
        if write.write_all(format!("{answer}\n").as_bytes()).await.is_err() {
            break;
        }
    }
}

/// Serves `listener` until `shutdown` fires. With `track_connections`, connections are
/// told to stop and joined before it returns; without, they are spawned and forgotten (the
/// leaky twin: a client that stays connected keeps its connection task, blocked on a read,
/// after the server has returned).
pub async fn serve(
    listener: TcpListener,
    mut shutdown: oneshot::Receiver<()>,
    track_connections: bool,
) {
    let (commands, rx) = mpsc::channel(16);
    let actor = tokio::spawn(store(rx));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { break };
                if track_connections {
                    conns.spawn(connection(socket, commands.clone(), Some(stop_rx.clone())));
                } else {
                    tokio::spawn(connection(socket, commands.clone(), None));
                }
            }
            _ = &mut shutdown => break,
        }
    }
    let _ = stop_tx.send(true);
    while conns.join_next().await.is_some() {}
    drop(commands);
    if track_connections {
        actor.await.expect("the store ended");
    }
}

/// A client: sends each request line and collects the answers.
pub async fn client(addr: std::net::SocketAddr, requests: &[&str]) -> Vec<String> {
    let socket = TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut answers = Vec::new();
    for r in requests {
        write.write_all(format!("{r}\n").as_bytes()).await.expect("write");
        answers.push(lines.next_line().await.expect("read").expect("an answer"));
    }
    answers
}

/// The whole exchange: a server, a client that asks three things and hangs up, a client
/// that asks once and stays connected (returned: the caller decides how long it stays),
/// then shutdown. With `leaky`, the server forgets its connections.
pub async fn exchange(leaky: bool) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (stop, shutdown) = oneshot::channel();
    let server = tokio::spawn(serve(listener, shutdown, !leaky));
    let first = client(addr, &["SET lang rust", "GET lang", "GET go"]).await;
    assert_eq!(first, ["OK", "rust", "NONE"]);
    // A client that connects, asks once and stays connected.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET lang\n").await.expect("write");
    let mut answer = String::new();
    BufReader::new(&mut idle).read_line(&mut answer).await.expect("read");
    assert_eq!(answer, "rust\n");
    stop.send(()).expect("the server listens for shutdown");
    server.await.expect("the server ended");
    idle
}
