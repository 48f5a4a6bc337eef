//! Graceful shutdown: stop accepting, drain open connections, answer
//! in-flight requests, give up on connections that cannot be drained.

mod common;

use std::time::Duration;

use brownfield::{Client, Config};
use common::{within, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn open_connections_are_told_and_closed() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let addr = server.addr;

    let mut connections = Vec::new();
    for _ in 0..3 {
        let mut stream = BufReader::new(TcpStream::connect(addr).await?);
        stream.get_mut().write_all(b"PING\n").await?;
        let mut reply = String::new();
        within(stream.read_line(&mut reply)).await?;
        assert_eq!(reply, "PONG\n");
        connections.push(stream);
    }

    let report = server.stop().await;
    assert_eq!(report.open_at_shutdown, 3);
    assert!(report.drained);

    for stream in &mut connections {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if within(stream.read_line(&mut line)).await? == 0 {
                break;
            }
            lines.push(line);
        }
        assert_eq!(lines, ["ERR server shutting down\n"]);
    }

    let refused = TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the listener is closed after shutdown");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_wait_is_answered_at_shutdown() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let client = Client::connect(server.addr).await?;
    let probe = Client::connect(server.addr).await?;
    probe.ping().await?;

    let waiting =
        tokio::spawn(async move { client.wait("never-set", Duration::from_secs(60)).await });
    // Let the WAIT reach the server before shutting down.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let report = server.stop().await;
    assert!(report.drained);
    assert_eq!(report.open_at_shutdown, 2);
    let err = within(waiting)
        .await
        .expect("waiter task")
        .expect_err("WAIT is interrupted");
    assert!(err.to_string().contains("server shutting down"), "{err}");
    Ok(())
}

#[tokio::test]
async fn idle_server_shuts_down_immediately() {
    let server = TestServer::start().await;
    let started = tokio::time::Instant::now();
    let report = server.stop().await;
    assert_eq!(report.open_at_shutdown, 0);
    assert!(report.drained);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A subscriber that stops reading blocks its connection in a write; the
/// drain gives up on it after `drain_timeout` instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_gives_up_on_a_stuck_connection() -> std::io::Result<()> {
    let server = TestServer::start_with(Config {
        drain_timeout: Duration::from_millis(200),
        ..Config::ephemeral()
    })
    .await;

    // Subscribes, then never reads again.
    let mut stuck = BufReader::new(TcpStream::connect(server.addr).await?);
    stuck.get_mut().write_all(b"SUB firehose\n").await?;
    let mut confirmation = String::new();
    within(stuck.read_line(&mut confirmation)).await?;
    assert_eq!(confirmation, "SUBSCRIBED firehose\n");

    // Far more than the socket buffers hold.
    let publisher = Client::connect(server.addr).await?;
    let payload = "x".repeat(32 * 1024);
    for _ in 0..400 {
        publisher.publish("firehose", &payload).await?;
    }

    let report = server.stop().await;
    assert!(!report.drained, "the stuck subscriber cannot be drained");
    assert_eq!(report.open_at_shutdown, 2);
    drop((stuck, publisher));
    Ok(())
}
