//! Helpers shared by the integration tests: a server on ephemeral loopback
//! ports that is stopped through a `oneshot` instead of a real signal.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use brownfield::{Config, Server, ShutdownReport, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Upper bound for anything a test waits on.
pub const LIMIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<ShutdownReport>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(Config::ephemeral()).await
    }

    pub async fn start_with(config: Config) -> TestServer {
        let server = Server::bind(config).await.expect("bind test server");
        let addr = server.local_addr().expect("local addr");
        let http_addr = server.http_addr();
        let store = server.store();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            // A dropped sender also means stop.
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            http_addr,
            store,
            stop: Some(stop),
            task,
        }
    }

    /// Triggers graceful shutdown and waits for the server to finish draining.
    pub async fn stop(mut self) -> ShutdownReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within(&mut self.task)
            .await
            .expect("server task panicked")
            .expect("server run failed")
    }
}

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(future: F) -> F::Output {
    timeout(LIMIT, future)
        .await
        .expect("test step took longer than the limit")
}

/// A fresh path under the system temp dir for a snapshot file.
pub fn temp_snapshot_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir()
        .join(format!("brownfield-test-{}-{nanos}", std::process::id()))
        .join(format!("{name}.json"))
}
