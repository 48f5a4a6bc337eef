//! tokio-postgres against a real PostgreSQL, from native regions.
//!
//! The server comes from the environment (`PGHOST` — a host name or a socket
//! directory —, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`; defaults: the Debian
//! socket directory `/var/run/postgresql`, port 5432, user and database `postgres`).
//! With no server reachable the tests say so on stderr and pass, unless
//! `COMPAT_REQUIRE_POSTGRES=1`, which CI sets once it starts a server.

mod support;

use std::time::Duration;

use asupersync::{CancelReason, Cx, Outcome};
use asupersync_tokio_compat::{cancelled, TokioHost};
use support::common;
use tokio_postgres::{Client, NoTls};

fn config() -> tokio_postgres::Config {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let mut config = tokio_postgres::Config::new();
    config
        .host(env("PGHOST", "/var/run/postgresql"))
        .port(
            env("PGPORT", "5432")
                .parse()
                .expect("PGPORT is a port number"),
        )
        .user(env("PGUSER", "postgres"))
        .dbname(env("PGDATABASE", "postgres"))
        .connect_timeout(Duration::from_secs(2));
    if let Ok(password) = std::env::var("PGPASSWORD") {
        config.password(password);
    }
    config
}

/// Connects on the host; the connection's driver is a tracked task of the calling
/// run, so it ends with the run. Must be called inside a `run`.
async fn connect() -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config().connect(NoTls).await?;
    drop(asupersync_tokio_compat::spawn(connection));
    Ok(client)
}

/// `true` if a server answers; otherwise explains the skip (or fails when required).
fn server_available(host: &TokioHost) -> bool {
    let rt = asupersync::RuntimeBuilder::current_thread()
        .build()
        .unwrap();
    let reachable = rt
        .block_on(|cx| {
            let host = host.clone();
            async move {
                host.run(&cx, async {
                    connect().await.map(drop).map_err(|e| e.to_string())
                })
                .await
            }
        })
        .unwrap()
        .unwrap();
    match reachable {
        Ok(()) => true,
        Err(error) => {
            let required = std::env::var("COMPAT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "COMPAT_REQUIRE_POSTGRES=1 but no PostgreSQL: {error}"
            );
            eprintln!(
                "skipping: no PostgreSQL reachable ({error}); set PGHOST/PGPORT/PGUSER to run these tests"
            );
            false
        }
    }
}

#[test]
fn tokio_postgres_queries_from_a_native_region() {
    let host = TokioHost::builder()
        .thread_name("compat-pg")
        .build()
        .unwrap();
    if !server_available(&host) {
        return;
    }
    common::on_each_flavor(|cx| {
        let host = host.clone();
        async move {
            let outcome = asupersync::Region::open(&cx, "db", |cx| async move {
                host.run(&cx, async {
                    let client = connect().await?;
                    let row = client.query_one("SELECT $1::INT4 + 1", &[&41i32]).await?;
                    Ok::<i32, tokio_postgres::Error>(row.get(0))
                })
                .await
            })
            .await;
            assert_eq!(outcome.unwrap().unwrap().unwrap(), 42);
        }
    });
}

/// How many backends are running `pg_sleep` (seen from a fresh connection).
async fn sleeping_backends(cx: &Cx, host: &TokioHost) -> i64 {
    host.run(cx, async {
        let client = connect().await.unwrap();
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    })
    .await
    .unwrap()
}

#[test]
fn a_native_cancel_cancels_the_query_on_the_server() {
    let host = TokioHost::builder()
        .thread_name("compat-pg-cancel")
        .build()
        .unwrap();
    if !server_available(&host) {
        return;
    }
    common::on_each_flavor(|cx| {
        let host = host.clone();
        async move {
            let query_host = host.clone();
            let query = cx.spawn(move |cx| async move {
                query_host
                    .run(&cx, async {
                        let client = connect().await.unwrap();
                        let cancel = client.cancel_token();
                        tokio::select! {
                            result = client.query_one("SELECT pg_sleep(30)", &[]) => {
                                format!("query finished: {:?}", result.map(|_| ()))
                            }
                            () = cancelled() => {
                                // Cooperative: tell the server, not just the socket.
                                cancel.cancel_query(NoTls).await.unwrap();
                                "cancelled on the server".to_string()
                            }
                        }
                    })
                    .await
            });
            // Wait until the server runs the query.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while sleeping_backends(&cx, &host).await == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the query never started"
                );
                asupersync::time::sleep(&cx, Duration::from_millis(10))
                    .await
                    .unwrap();
            }
            query.cancel(CancelReason::user("request abandoned"));
            match query.join(&cx).await {
                Outcome::Ok(Outcome::Ok(message)) => assert_eq!(message, "cancelled on the server"),
                other => panic!("expected the cooperative path, got {:?}", other.map(|_| ())),
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while sleeping_backends(&cx, &host).await != 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the query still runs on the server"
                );
                asupersync::time::sleep(&cx, Duration::from_millis(10))
                    .await
                    .unwrap();
            }
        }
    });
}
