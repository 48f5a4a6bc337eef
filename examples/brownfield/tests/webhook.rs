//! Change webhooks: the server POSTs JSON to a receiver on loopback.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use brownfield::client::http_stats;
use brownfield::{Client, Config};
use common::{within, TestServer};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A minimal HTTP/1.1 receiver: records each request's path and JSON body
/// and answers `204 No Content`, keeping connections alive.
async fn webhook_receiver(
) -> std::io::Result<(SocketAddr, mpsc::UnboundedReceiver<(String, Value)>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (deliveries, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let deliveries = deliveries.clone();
            tokio::spawn(async move {
                let _ = serve_requests(socket, deliveries).await;
            });
        }
    });
    Ok((addr, received))
}

async fn serve_requests(
    socket: TcpStream,
    deliveries: mpsc::UnboundedSender<(String, Value)>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).await?;
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let _ = deliveries.send((path, value));
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .await?;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_changes_are_posted_as_json() -> std::io::Result<()> {
    let (receiver_addr, mut received) = webhook_receiver().await?;
    let server = TestServer::start_with(Config {
        webhook_url: Some(format!("http://{receiver_addr}/hooks/keys")),
        ..Config::ephemeral()
    })
    .await;

    let client = Client::connect(server.addr).await?;
    client.set("order:7", "shipped").await?;
    client.delete("order:7").await?;

    let (path, first) = within(received.recv()).await.expect("first delivery");
    assert_eq!(path, "/hooks/keys");
    assert_eq!(
        first,
        json!({"event": "key_changed", "key": "order:7", "kind": "set", "value": "shipped"})
    );
    let (_, second) = within(received.recv()).await.expect("second delivery");
    assert_eq!(
        second,
        json!({"event": "key_changed", "key": "order:7", "kind": "deleted", "value": null})
    );

    let http = server.http_addr.expect("http enabled");
    let stats = within(async {
        loop {
            let stats = http_stats(http).await?;
            if stats.webhooks_sent == 2 {
                return std::io::Result::Ok(stats);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await?;
    assert_eq!(stats.webhooks_failed, 0);

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn failed_deliveries_are_counted_not_fatal() -> std::io::Result<()> {
    // A port that was just free: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let server = TestServer::start_with(Config {
        webhook_url: Some(format!("http://{closed}/")),
        ..Config::ephemeral()
    })
    .await;

    let client = Client::connect(server.addr).await?;
    client.set("k", "v").await?;

    let http = server.http_addr.expect("http enabled");
    within(async {
        while http_stats(http).await?.webhooks_failed < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        std::io::Result::Ok(())
    })
    .await?;
    // The server carries on regardless.
    assert_eq!(client.get("k").await?.as_deref(), Some("v"));

    server.stop().await;
    Ok(())
}
