//! A small load generator: N clients doing SET/GET pairs against a server.
//!
//! ```text
//! cargo run --example loadgen                      # starts its own server
//! cargo run --example loadgen -- 127.0.0.1:7878 8 500
//! ```
//!
//! Arguments: server address (or `-` for an in-process server), client
//! count, round trips per client.

use std::net::SocketAddr;
use std::sync::Arc;

use brownfield::{Client, Config, Server};
use tokio::sync::{oneshot, Barrier};
use tokio::task::JoinSet;
use tokio::time::Instant;

#[tokio::main(worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clients: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(4);
    let rounds: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(200);

    // Either a given server, or one of our own on an ephemeral port.
    let mut own_server = None;
    let addr: SocketAddr = match args.first().map(String::as_str) {
        Some(addr) if addr != "-" => addr
            .parse()
            .map_err(|_| std::io::Error::other(format!("bad address `{addr}`")))?,
        _ => {
            let server = Server::bind(Config {
                http_addr: None,
                ..Config::ephemeral()
            })
            .await?;
            let addr = server.local_addr()?;
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(server.run(async move {
                let _ = stopped.await;
            }));
            own_server = Some((stop, task));
            addr
        }
    };

    // Everyone connects first, then all start together.
    let start_line = Arc::new(Barrier::new(clients + 1));
    let mut workers = JoinSet::new();
    for worker in 0..clients {
        let start_line = Arc::clone(&start_line);
        workers.spawn(async move {
            let client = Client::connect(addr).await?;
            start_line.wait().await;
            for round in 0..rounds {
                let key = format!("load:{worker}:{round}");
                client.set(&key, "payload").await?;
                client.get(&key).await?;
            }
            client.quit().await
        });
    }
    start_line.wait().await;
    let started = Instant::now();
    while let Some(joined) = workers.join_next().await {
        joined.map_err(std::io::Error::other)??;
    }
    let elapsed = started.elapsed();

    let requests = clients * rounds * 2;
    println!(
        "{requests} requests from {clients} clients in {:.3}s: {:.0} req/s",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );

    if let Some((stop, task)) = own_server {
        let _ = stop.send(());
        task.await.map_err(std::io::Error::other)??;
    }
    Ok(())
}
