//! A Tokio-only client, quarantined: reqwest called through
//! `asupersync_tokio_compat::run`, and a region deadline cancelling it across the
//! boundary.
//!
//! `run(&cx, fut)` runs `fut` on the compat crate's Tokio host (its own threads) and is
//! owned by the caller's region like any native wait: the region cannot close while
//! the Tokio future lives. When the native side is cancelled, the Tokio side is told
//! (`asupersync_tokio_compat::cancelled()`), and a future that ignores it, as reqwest
//! does, is aborted on the host just before the native drain budget is spent; `run`
//! then returns `Outcome::Cancelled` with the native reason, and only after the Tokio
//! future has been dropped, its connection closed.
//!
//! The HTTP server the client talks to is native and local (a task of the demo's
//! region on a loopback port), so the example needs no network.
//!
//! This file and the example's `main` use Tokio-ecosystem crates, so they are listed
//! in the workspace's `quarantine` for `cargo asupersync lint`.

use std::io;
use std::time::Duration;

use asupersync::channel::oneshot;
use asupersync::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use asupersync::net::TcpListener;
use asupersync::{time, Budget, CancelReason, Cx, Outcome, Region};

use crate::accept_until_shutdown;

/// What the body of `/hello` is.
pub const GREETING: &str = "hello from a native server";

/// What a reqwest call returned, as seen from the native side.
pub type Fetched = Outcome<Result<String, reqwest::Error>>;

/// What the demo saw.
#[derive(Debug)]
pub struct CompatDemo {
    /// The answer to a plain request.
    pub greeting: Fetched,
    /// The request the server never answers, cut short by the region's deadline.
    pub slow: Fetched,
    /// How long the slow call took from start to `run` returning.
    pub slow_call_took: Duration,
    /// The server saw the slow request's connection close: the Tokio future was
    /// really dropped, not just forgotten.
    pub slow_connection_closed: bool,
}

/// Fetches `url` with reqwest, a Tokio-only client, inside the quarantine.
pub async fn fetch(cx: &Cx, url: String) -> Fetched {
    asupersync_tokio_compat::run(cx, async move {
        reqwest::get(url).await?.error_for_status()?.text().await
    })
    .await
}

/// Starts the loopback server, fetches `/hello`, then fetches `/slow` in a region
/// whose budget ends after `deadline`, and stops the server.
pub async fn demo(cx: &Cx, deadline: Duration) -> io::Result<CompatDemo> {
    let listener = TcpListener::bind(cx, "127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let demo = Region::open(cx, "compat-demo", |cx| async move {
        let (closed_tx, mut closed_rx) = oneshot::channel();
        let server = cx.spawn_named("loopback-http", move |cx| async move {
            serve_http(&cx, listener, closed_tx).await
        });

        let greeting = fetch(&cx, format!("http://{addr}/hello")).await;

        // The deadline cancels the region, and with it the `run` inside: the
        // cancellation crosses into Tokio and comes back as `Cancelled(Deadline)`.
        let started = cx.now();
        let slow = Region::builder("slow-call")
            .budget(Budget::timeout(deadline))
            .open(&cx, |cx| async move {
                fetch(&cx, format!("http://{addr}/slow")).await
            })
            .await
            .and_then(|fetched| fetched);
        let slow_call_took = cx.now() - started;

        let closed = time::timeout(&cx, Duration::from_secs(5), closed_rx.recv(&cx)).await;
        server.cancel(CancelReason::user("the demo is over"));
        // The server stops at its pending accept; a failure of its own would show here.
        if let Outcome::Ok(Err(e)) = server.join(&cx).await {
            eprintln!("the loopback server failed: {e}");
        }
        CompatDemo {
            greeting,
            slow,
            slow_call_took,
            slow_connection_closed: matches!(closed, Ok(Ok(()))),
        }
    })
    .await;
    match demo {
        Outcome::Ok(demo) => Ok(demo),
        other => Err(io::Error::other(format!(
            "the demo region ended with {other:?}"
        ))),
    }
}

/// A minimal HTTP/1.1 server, one connection at a time: `/slow` never answers and
/// reports on `closed` when its client hangs up; anything else gets [`GREETING`].
async fn serve_http(cx: &Cx, listener: TcpListener, closed: oneshot::Sender<()>) -> io::Result<()> {
    let mut closed = Some(closed);
    while let Some((stream, _peer)) = accept_until_shutdown(cx, &listener).await? {
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let mut request_line = String::new();
        reader.read_line(cx, &mut request_line).await?;
        let mut header = String::new();
        while reader.read_line(cx, &mut header).await? > 2 {
            header.clear();
        }
        if request_line.split_whitespace().nth(1) == Some("/slow") {
            // Never answer: wait for the client to give up (EOF, or a reset).
            let _ = reader.read_to_end(cx, &mut Vec::new()).await;
            cx.checkpoint()?;
            if let Some(closed) = closed.take() {
                let _ = closed.send(());
            }
        } else {
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{GREETING}",
                GREETING.len()
            );
            writer.write_all(cx, response.as_bytes()).await?;
        }
    }
    Ok(())
}
