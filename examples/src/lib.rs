//! Runnable examples of asupersync; run one with `cargo run --example NAME`.
//!
//! Each example's logic lives in a module of this library and the example file is a
//! thin `main` around it, so the tests in `tests/` run exactly the code a reader runs:
//!
//! - [`echo_server`]: the cancel-correct TCP echo server (a region, a listener, a task
//!   per connection, shutdown that drains).
//! - [`chat_server`]: a line-based chat with `broadcast` fan-out, nicknames, and a
//!   graceful shutdown that tells every client before closing.
//! - [`compat_client`]: a Tokio-only client (reqwest) run through the compat
//!   quarantine, and a region deadline cancelling it across the boundary.
//! - [`lab_planted_bug`]: a check-then-act race that the lab explorer finds by seed,
//!   replays, and that the fixed version survives on every seed.
//!
//! `hello_regions` is the one-screen tour of regions and cancellation.
//!
//! The brownfield Tokio application used to demonstrate `cargo asupersync audit` and
//! `migrate` lives in `brownfield/`, outside the workspace so that it keeps plain Tokio.

pub mod chat_server;
pub mod compat_client;
pub mod echo_server;
pub mod lab_planted_bug;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use asupersync::net::{TcpListener, TcpStream};
use asupersync::{Cx, Runtime, RuntimeBuilder};

/// The address a server example listens on: its first argument, else the
/// `ASUPERSYNC_EXAMPLE_ADDR` environment variable, else `default`.
pub fn listen_addr(default: &str) -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("ASUPERSYNC_EXAMPLE_ADDR").ok())
        .unwrap_or_else(|| default.to_string())
}

/// The runtime of the server examples: Ctrl-C shuts it down, which fires
/// `cx.shutdown_signal()` and cancels every region; each cancelled task then has
/// `drain` to finish before the runtime drops it.
pub fn server_runtime(drain: Duration) -> Runtime {
    RuntimeBuilder::multi_thread()
        .shutdown_on_ctrl_c(true)
        .drain_budget(drain)
        .build()
        .expect("a valid runtime configuration")
}

/// Waits for the next connection; `Ok(None)` once the server is told to stop.
///
/// Stopping is cancellation: Ctrl-C (with [`server_runtime`]) or `Runtime::shutdown`
/// fires `cx.shutdown_signal()` *and* cancels every region, and a caller may cancel
/// the server's region on its own; either way the pending `accept` returns
/// `Interrupted` at once, which is a stop request, not a failure. Shared by the server
/// examples' accept loops.
pub async fn accept_until_shutdown(
    cx: &Cx,
    listener: &TcpListener,
) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    match listener.accept(cx).await {
        Ok(connection) => Ok(Some(connection)),
        Err(_) if cx.is_cancel_requested() => Ok(None),
        Err(e) => Err(e),
    }
}
