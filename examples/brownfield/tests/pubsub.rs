//! Pub/sub delivery over loopback TCP.

mod common;

use std::time::Duration;

use brownfield::client::Message;
use brownfield::{Client, Config};
use common::{within, TestServer};

fn message(channel: &str, payload: &str) -> Option<Message> {
    Some(Message {
        channel: channel.into(),
        payload: payload.into(),
    })
}

#[tokio::test]
async fn every_subscriber_receives_each_message_in_order() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let mut first = Client::connect(server.addr)
        .await?
        .subscribe("news")
        .await?;
    let mut second = Client::connect(server.addr)
        .await?
        .subscribe("news")
        .await?;
    let publisher = Client::connect(server.addr).await?;

    assert_eq!(publisher.publish("news", "hello subscribers").await?, 2);
    assert_eq!(publisher.publish("news", "second edition").await?, 2);

    for subscriber in [&mut first, &mut second] {
        assert_eq!(
            within(subscriber.next_message()).await?,
            message("news", "hello subscribers")
        );
        assert_eq!(
            within(subscriber.next_message()).await?,
            message("news", "second edition")
        );
    }

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn subscribers_get_only_their_channels() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let mut sport = Client::connect(server.addr)
        .await?
        .subscribe("sport")
        .await?;
    let mut both = Client::connect(server.addr)
        .await?
        .subscribe("sport")
        .await?;
    both.subscribe("weather").await?;
    let publisher = Client::connect(server.addr).await?;

    assert_eq!(publisher.publish("weather", "rain").await?, 1);
    assert_eq!(publisher.publish("politics", "nobody listens").await?, 0);
    assert_eq!(publisher.publish("sport", "goal").await?, 2);

    // Two channels are forwarded independently: their relative order is not promised.
    let mut received = vec![
        within(both.next_message()).await?,
        within(both.next_message()).await?,
    ];
    received.sort_by_key(|m| m.as_ref().map(|m| m.channel.clone()));
    assert_eq!(
        received,
        vec![message("sport", "goal"), message("weather", "rain")]
    );
    assert_eq!(
        within(sport.next_message()).await?,
        message("sport", "goal")
    );

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn quiet_subscribers_are_not_idle_timed_out() -> std::io::Result<()> {
    let server = TestServer::start_with(Config {
        idle_timeout: Duration::from_millis(100),
        ..Config::ephemeral()
    })
    .await;
    let mut subscriber = Client::connect(server.addr)
        .await?
        .subscribe("alerts")
        .await?;

    tokio::time::sleep(Duration::from_millis(300)).await;
    let publisher = Client::connect(server.addr).await?;
    assert_eq!(publisher.publish("alerts", "disk full").await?, 1);
    assert_eq!(
        within(subscriber.next_message()).await?,
        message("alerts", "disk full")
    );

    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn subscription_ends_cleanly_at_shutdown() -> std::io::Result<()> {
    let server = TestServer::start().await;
    let mut subscriber = Client::connect(server.addr)
        .await?
        .subscribe("news")
        .await?;

    let report = server.stop().await;
    assert_eq!(report.open_at_shutdown, 1);
    assert!(report.drained);
    assert_eq!(within(subscriber.next_message()).await?, None);
    Ok(())
}
