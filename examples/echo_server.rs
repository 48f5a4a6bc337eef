//! The cancel-correct TCP echo server: a region, a listener, a task per connection,
//! and Ctrl-C that drains them all before `main` returns.
//!
//! `cargo run --example echo_server [ADDR]` (default `127.0.0.1:7878`, or
//! `ASUPERSYNC_EXAMPLE_ADDR`), then `nc 127.0.0.1 7878` from a few terminals, and
//! Ctrl-C the server: every client sees its connection close. The server's logic is
//! `asupersync_examples::echo_server::serve`.

use std::time::Duration;

use asupersync::net::TcpListener;
use asupersync::Outcome;
use asupersync_examples::{echo_server, listen_addr, server_runtime};

/// How long connections get to finish after Ctrl-C before they are dropped.
const DRAIN: Duration = Duration::from_secs(5);

fn main() {
    let addr = listen_addr("127.0.0.1:7878");
    let rt = server_runtime(DRAIN);
    let outcome = rt.block_on(|cx| async move {
        let listener = TcpListener::bind(&cx, addr.as_str()).await?;
        println!("echo server on {} (Ctrl-C to stop)", listener.local_addr()?);
        match echo_server::serve(&cx, listener).await {
            Outcome::Ok(report) => report,
            other => panic!("the server region ended with {other:?}"),
        }
    });
    match outcome {
        Outcome::Ok(Ok(report)) => println!("server stopped, nothing left running: {report:?}"),
        Outcome::Ok(Err(e)) => eprintln!("echo server failed: {e}"),
        other => eprintln!("runtime: {other:?}"),
    }
}
