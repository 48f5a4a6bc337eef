//! Idle timeouts, client request timeouts and the connection limit.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use brownfield::server::{handle_connection, ConnectionContext};
use brownfield::{Client, Config, Store};
use common::{within, TestServer};
use tokio::io::{duplex, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time;

#[tokio::test]
async fn idle_clients_are_disconnected() -> std::io::Result<()> {
    let server = TestServer::start_with(Config {
        idle_timeout: Duration::from_millis(150),
        ..Config::ephemeral()
    })
    .await;
    let stream = TcpStream::connect(server.addr).await?;
    let mut lines = BufReader::new(stream).lines();

    let started = time::Instant::now();
    assert_eq!(
        within(lines.next_line()).await?.as_deref(),
        Some("ERR idle timeout")
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(within(lines.next_line()).await?, None, "then EOF");

    server.stop().await;
    Ok(())
}

/// The same idle timeout on virtual time: no real waiting, no sockets.
#[tokio::test(start_paused = true)]
async fn idle_timeout_on_virtual_time() -> std::io::Result<()> {
    let (_stop, shutdown) = watch::channel(false);
    let context = ConnectionContext::standalone(Store::new(8), Duration::from_secs(60), shutdown);
    let (client_side, server_side) = duplex(1024);
    let handler = tokio::spawn(handle_connection(server_side, context));

    let (reader, mut writer) = tokio::io::split(client_side);
    let mut lines = BufReader::new(reader).lines();

    time::advance(Duration::from_secs(59)).await;
    writer.write_all(b"PING\n").await?;
    assert_eq!(lines.next_line().await?.as_deref(), Some("PONG"));

    // The activity above reset the clock: 59 more seconds are still fine ...
    time::advance(Duration::from_secs(59)).await;
    writer.write_all(b"SET k v\n").await?;
    assert_eq!(lines.next_line().await?.as_deref(), Some("OK"));

    // ... but a full minute of silence is not.
    let before = time::Instant::now();
    time::advance(Duration::from_secs(61)).await;
    assert_eq!(
        lines.next_line().await?.as_deref(),
        Some("ERR idle timeout")
    );
    assert!(before.elapsed() >= Duration::from_secs(60));
    assert_eq!(lines.next_line().await?, None);
    handler.await.expect("handler task")?;
    Ok(())
}

#[tokio::test]
async fn client_gives_up_on_a_silent_server() -> std::io::Result<()> {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let silent = tokio::spawn(async move {
        let (socket, _) = listener.accept().await?;
        time::sleep(Duration::from_secs(5)).await;
        drop(socket);
        std::io::Result::Ok(())
    });

    let client = Client::connect_with_timeout(addr, Duration::from_millis(100)).await?;
    let err = client.ping().await.expect_err("no reply");
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    let err = client.ping().await.expect_err("connection is now unusable");
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);

    silent.abort();
    Ok(())
}

#[tokio::test]
async fn clients_over_the_limit_are_turned_away() -> std::io::Result<()> {
    let server = TestServer::start_with(Config {
        max_connections: 2,
        ..Config::ephemeral()
    })
    .await;
    let first = Client::connect(server.addr).await?;
    let second = Client::connect(server.addr).await?;
    first.ping().await?;
    second.ping().await?;

    let third = Client::connect(server.addr).await?;
    let err = third.ping().await.expect_err("over the limit");
    assert!(err.to_string().contains("server busy"), "{err}");

    // A slot frees up when someone leaves.
    first.quit().await?;
    let retry = within(async {
        loop {
            let client = Client::connect(server.addr).await?;
            match client.ping().await {
                Ok(()) => return std::io::Result::Ok(client),
                Err(_) => time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await?;
    retry.ping().await?;

    server.stop().await;
    Ok(())
}
