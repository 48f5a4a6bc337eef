//! The cancel-correct TCP echo server.
//!
//! The whole server is one region. The accept loop is the region's body and every
//! connection is a task spawned *in the region*, so [`serve`] cannot return while a
//! connection is still being served: when it returns, every connection task has
//! finished and every socket is closed. There is no detached task to forget, and
//! nothing to track by hand for a graceful shutdown.
//!
//! Shutdown is the cancellation protocol. Ctrl-C (or `Runtime::shutdown`, or cancelling
//! the caller's region) stops the accept loop and cancels every connection task; a
//! connection blocked in `read` sees the request at once (`Interrupted`), returns, and
//! its socket is dropped, so the client reads end-of-file. A task that did not stop
//! within the drain budget would be dropped by the runtime: the region closes either
//! way.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use asupersync::io::{AsyncReadExt, AsyncWriteExt};
use asupersync::net::{TcpListener, TcpStream};
use asupersync::{Cx, Outcome, Region};

use crate::accept_until_shutdown;

/// What a finished server did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EchoReport {
    /// Connections accepted.
    pub connections: u64,
    /// Connections the client closed.
    pub closed_by_client: u64,
    /// Connections closed because the server was shutting down.
    pub closed_by_shutdown: u64,
    /// Bytes echoed over all connections.
    pub bytes_echoed: u64,
}

/// Serves echo connections on `listener` until shutdown, waits for every connection
/// to finish, and returns what it did. An accept error other than the shutdown ends
/// the accept loop with `Ok(Err)`, once the open connections have ended.
pub async fn serve(cx: &Cx, listener: TcpListener) -> Outcome<io::Result<EchoReport>> {
    let stats = Arc::new(Stats::default());
    let counted = stats.clone();
    let served = Region::open(cx, "echo-server", |cx| async move {
        while let Some((stream, _peer)) = accept_until_shutdown(&cx, &listener).await? {
            let stats = counted.clone();
            // The connection belongs to the region: `serve` waits for it.
            cx.spawn(move |cx| async move {
                let result = echo(&cx, stream, &stats).await;
                stats.record_close(&cx, result);
            });
            counted.connections.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })
    .await;
    // The region is closed: every connection task is done, every socket closed.
    served.map(|accepted: io::Result<()>| accepted.map(|()| stats.report()))
}

/// Echoes until the client closes (`Ok`) or the task is cancelled (`Err(Interrupted)`
/// from the read or write that was waiting).
async fn echo(cx: &Cx, mut stream: TcpStream, stats: &Stats) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(cx, &mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(cx, &buf[..n]).await?;
        stats.bytes_echoed.fetch_add(n as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    closed_by_client: AtomicU64,
    closed_by_shutdown: AtomicU64,
    bytes_echoed: AtomicU64,
}

impl Stats {
    fn record_close(&self, cx: &Cx, result: io::Result<()>) {
        match result {
            Ok(()) => self.closed_by_client.fetch_add(1, Ordering::Relaxed),
            Err(_) if cx.is_cancel_requested() => {
                self.closed_by_shutdown.fetch_add(1, Ordering::Relaxed)
            }
            // A reset or another IO error: the client is gone.
            Err(_) => self.closed_by_client.fetch_add(1, Ordering::Relaxed),
        };
    }

    fn report(&self) -> EchoReport {
        EchoReport {
            connections: self.connections.load(Ordering::Relaxed),
            closed_by_client: self.closed_by_client.load(Ordering::Relaxed),
            closed_by_shutdown: self.closed_by_shutdown.load(Ordering::Relaxed),
            bytes_echoed: self.bytes_echoed.load(Ordering::Relaxed),
        }
    }
}
