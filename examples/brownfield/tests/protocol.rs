//! Request/reply round trips over loopback TCP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use brownfield::{Client, Config};
use common::{temp_snapshot_path, within, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn basic_commands_round_trip() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let client = Client::connect(server.addr).await?;

    client.ping().await?;
    assert_eq!(client.get("greeting").await?, None);
    client.set("greeting", "hello, world").await?;
    assert_eq!(
        client.get("greeting").await?.as_deref(),
        Some("hello, world")
    );
    assert_eq!(client.incr("visits").await?, 1);
    assert_eq!(client.incr("visits").await?, 2);
    assert_eq!(client.keys().await?, vec!["greeting", "visits"]);
    assert!(client.delete("greeting").await?);
    assert!(!client.delete("greeting").await?);
    client.quit().await?;

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_requests_get_errors_and_keep_the_connection() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let stream = TcpStream::connect(server.addr).await?;
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();

    writer
        .write_all(b"FROB x\nGET\nSET n abc\nINCR n\nPING still here\n")
        .await?;
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(within(lines.next_line()).await?.unwrap_or_default());
    }
    assert_eq!(
        replies,
        [
            "ERR unknown command `FROB`",
            "ERR missing key",
            "OK",
            "ERR value of `n` is not an integer",
            "PONG still here",
        ]
    );

    let client = Client::connect(server.addr).await?;
    let err = client.incr("n").await.expect_err("INCR on text fails");
    assert!(err.to_string().contains("not an integer"), "{err}");

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn keys_with_ttl_expire() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let client = Client::connect(server.addr).await?;

    client
        .set_with_ttl("session", "abc", Duration::from_millis(400))
        .await?;
    assert_eq!(client.get("session").await?.as_deref(), Some("abc"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.get("session").await?, None);
    assert!(client.keys().await?.is_empty());

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn wait_returns_once_another_client_sets_the_key() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let waiter = Client::connect(server.addr).await?;
    let setter = Client::connect(server.addr).await?;

    let waiting = tokio::spawn(async move { waiter.wait("job:1", Duration::from_secs(5)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    setter.set("job:1", "done").await?;

    let result = within(waiting).await.expect("waiter task")?;
    assert_eq!(result.as_deref(), Some("done"));

    // And a WAIT nobody satisfies answers NIL after its timeout.
    assert_eq!(
        setter.wait("job:2", Duration::from_millis(100)).await?,
        None
    );

    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_increment_one_counter() -> std::io::Result<()> {
    const CLIENTS: usize = 8;
    const INCREMENTS: usize = 50;
    let server = TestServer::start().await;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let addr = server.addr;
        tasks.spawn(async move {
            let client = Client::connect(addr).await?;
            for _ in 0..INCREMENTS {
                client.incr("hits").await?;
            }
            std::io::Result::Ok(())
        });
    }
    while let Some(joined) = within(tasks.join_next()).await {
        joined.expect("client task panicked")?;
    }

    let client = Client::connect(server.addr).await?;
    assert_eq!(
        client.get("hits").await?.as_deref(),
        Some((CLIENTS * INCREMENTS).to_string().as_str())
    );
    let stats = client.stats().await?;
    let total: u64 = stats
        .iter()
        .find(|(key, _)| key == "connections_total")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or_default();
    assert_eq!(total, CLIENTS as u64 + 1);

    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_can_be_shared_between_tasks() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let client = Arc::new(Client::connect(server.addr).await?);

    let handles: Vec<_> = (0..4)
        .map(|task| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                for i in 0..25 {
                    let key = format!("t{task}:k{i}");
                    client.set(&key, &format!("v{i}")).await?;
                    assert_eq!(client.get(&key).await?, Some(format!("v{i}")));
                }
                std::io::Result::Ok(())
            })
        })
        .collect();
    for handle in handles {
        within(handle).await.expect("task panicked")?;
    }
    assert_eq!(client.keys().await?.len(), 100);

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn save_writes_a_snapshot_that_a_restart_loads() -> std::io::Result<()> {
    let path = temp_snapshot_path("save");
    let config = Config {
        snapshot_path: Some(path.clone()),
        ..Config::ephemeral()
    };

    let server = TestServer::start_with(config.clone()).await;
    let client = Client::connect(server.addr).await?;
    client.set("user:1", "ada").await?;
    client.set("user:2", "grace").await?;
    assert_eq!(client.save().await?, 2);
    assert!(tokio::fs::try_exists(&path).await?);
    // Changed after the SAVE: must reach the file through the final snapshot.
    client.set("user:3", "barbara").await?;
    drop(client);
    server.stop().await;

    let restarted = TestServer::start_with(config).await;
    let client = Client::connect(restarted.addr).await?;
    assert_eq!(client.keys().await?, vec!["user:1", "user:2", "user:3"]);
    assert_eq!(client.get("user:2").await?.as_deref(), Some("grace"));
    restarted.stop().await;

    if let Some(dir) = path.parent() {
        tokio::fs::remove_dir_all(dir).await?;
    }
    Ok(())
}

#[tokio::test]
async fn save_without_persistence_is_an_error() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let client = Client::connect(server.addr).await?;
    let err = client
        .save()
        .await
        .expect_err("no snapshot path configured");
    assert!(err.to_string().contains("persistence is disabled"), "{err}");
    server.stop().await;
    Ok(())
}
