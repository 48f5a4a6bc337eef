//! A line-based chat server: a task per client in one region, `broadcast` fan-out,
//! nicknames, and a graceful shutdown that tells every client before closing.
//!
//! `cargo run --example chat_server [ADDR]` (default `127.0.0.1:7879`, or
//! `ASUPERSYNC_EXAMPLE_ADDR`), then `nc 127.0.0.1 7879` from a few terminals: type a
//! nickname, then chat. Ctrl-C the server: every client reads
//! `* server shutting down` and its connection closes. The server's logic is
//! `asupersync_examples::chat_server::serve`.

use std::time::Duration;

use asupersync::net::TcpListener;
use asupersync::Outcome;
use asupersync_examples::{chat_server, listen_addr, server_runtime};

/// How long clients get to receive the shutdown notice before they are dropped.
const DRAIN: Duration = Duration::from_secs(2);

fn main() {
    let addr = listen_addr("127.0.0.1:7879");
    let rt = server_runtime(DRAIN);
    let outcome = rt.block_on(|cx| async move {
        let listener = TcpListener::bind(&cx, addr.as_str()).await?;
        println!("chat server on {} (Ctrl-C to stop)", listener.local_addr()?);
        match chat_server::serve(&cx, listener).await {
            Outcome::Ok(report) => report,
            other => panic!("the server region ended with {other:?}"),
        }
    });
    match outcome {
        Outcome::Ok(Ok(report)) => println!("server stopped, nothing left running: {report:?}"),
        Outcome::Ok(Err(e)) => eprintln!("chat server failed: {e}"),
        other => eprintln!("runtime: {other:?}"),
    }
}
