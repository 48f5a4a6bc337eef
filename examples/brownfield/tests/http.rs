//! The hyper-served `/health` and `/stats` endpoints, queried with reqwest.

mod common;

use brownfield::client::{http_health, http_stats};
use brownfield::{Client, Config};
use common::TestServer;

#[tokio::test]
async fn health_reports_ok() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let http = server.http_addr.expect("http enabled");

    let (status, body) = http_health(http).await?;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"status":"ok"}"#);

    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reflect_traffic() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let http = server.http_addr.expect("http enabled");

    let client = Client::connect(server.addr).await?;
    client.set("a", "1").await?;
    client.set("b", "2").await?;
    client.get("a").await?;

    let stats = http_stats(http).await?;
    assert_eq!(stats.keys, 2);
    assert_eq!(stats.commands_total, 3);
    assert_eq!(stats.connections_active, 1);
    assert_eq!(stats.connections_total, 1);
    assert!(!stats.draining);

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn unknown_routes_and_methods_are_rejected() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start().await;
    let http = server.http_addr.expect("http enabled");
    let client = reqwest::Client::new();

    let missing = client.get(format!("http://{http}/metrics")).send().await?;
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    let wrong_method = client.post(format!("http://{http}/stats")).send().await?;
    assert_eq!(
        wrong_method.status(),
        reqwest::StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        wrong_method
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn http_can_be_turned_off() {
    let server = TestServer::start_with(Config {
        http_addr: None,
        ..Config::ephemeral()
    })
    .await;
    assert!(server.http_addr.is_none());
    server.stop().await;
}
