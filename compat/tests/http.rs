//! Real Tokio-only HTTP crates across the boundary: reqwest called from native regions
//! (and cancelled mid-request), and hyper servers and clients driven by native tasks
//! through the IO adapters, the region executor and the host timer.

mod support;

use support::common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use asupersync::{CancelKind, Outcome};
use asupersync_tokio_compat::hyper_rt::{hyper_io, HostExecutor, HostTimer, RegionExecutor};
use asupersync_tokio_compat::io::FromTokio;
use asupersync_tokio_compat::TokioHost;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};

fn host(name: &str) -> TokioHost {
    TokioHost::builder().thread_name(name).build().unwrap()
}

/// What the plain-TCP test server saw of one connection.
#[derive(Debug)]
enum ServerEvent {
    RequestReceived,
    /// The client closed the connection (EOF or reset) this long after the request.
    ClientClosed,
}

/// A minimal HTTP/1.1 server on a std thread (no Tokio involved): reads one request,
/// then either answers `body` or, with `None`, never answers and reports when the
/// client closes the connection.
fn plain_server(body: Option<&'static str>) -> (SocketAddr, std_mpsc::Receiver<ServerEvent>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (events, events_rx) = std_mpsc::channel();
    // asupersync: allow(detached-spawn) -- serves one connection and exits; the test observes it through `events`
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).unwrap();
            assert!(n > 0, "client closed before sending a request");
            request.extend_from_slice(&buf[..n]);
        }
        let _ = events.send(ServerEvent::RequestReceived);
        match body {
            Some(body) => {
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).unwrap();
            }
            None => {
                // Delay the response forever; a read returns when the client goes.
                socket
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                match socket.read(&mut buf) {
                    Ok(0) => {
                        let _ = events.send(ServerEvent::ClientClosed);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                        let _ = events.send(ServerEvent::ClientClosed);
                    }
                    other => panic!("expected the client to close, got {other:?}"),
                }
            }
        }
    });
    (addr, events_rx)
}

/// Waits for the next server event without blocking the native runtime for long.
async fn next_event(
    cx: &asupersync::Cx,
    events: &mut std_mpsc::Receiver<ServerEvent>,
) -> ServerEvent {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match events.try_recv() {
            Ok(event) => return event,
            Err(std_mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                asupersync::time::sleep(cx, Duration::from_millis(2))
                    .await
                    .unwrap();
            }
            Err(e) => panic!("no server event: {e:?}"),
        }
    }
}

#[test]
fn reqwest_called_from_a_native_region_gets_the_response() {
    let host = host("compat-reqwest");
    common::on_each_flavor(|cx| {
        let host = host.clone();
        async move {
            let (addr, _events) = plain_server(Some("hello from loopback"));
            let outcome = asupersync::Region::open(&cx, "http", |cx| async move {
                host.run(&cx, async move {
                    let response = reqwest::get(format!("http://{addr}/greeting")).await?;
                    let status = response.status().as_u16();
                    Ok::<_, reqwest::Error>((status, response.text().await?))
                })
                .await
            })
            .await;
            let (status, body) = outcome.unwrap().unwrap().unwrap();
            assert_eq!(status, 200);
            assert_eq!(body, "hello from loopback");
        }
    });
}

#[test]
fn cancelling_a_native_region_mid_request_closes_the_connection() {
    let host = host("compat-reqwest-cancel");
    // Region cancellation gives the tasks inside the runtime's default drain budget.
    support::on_each_flavor_with_drain(Duration::from_millis(300), |cx| {
        let host = host.clone();
        async move {
            let (addr, events) = plain_server(None);
            let cancelled_at = std::sync::Arc::new(std::sync::Mutex::new(None));
            let cancelled_at_in_region = cancelled_at.clone();
            let request_host = host.clone();
            let region = asupersync::Region::open(&cx, "http", |cx| async move {
                let canceller = cx.clone();
                let events = cx.spawn(move |cx| async move {
                    let mut events = events;
                    assert!(matches!(
                        next_event(&cx, &mut events).await,
                        ServerEvent::RequestReceived
                    ));
                    *cancelled_at_in_region.lock().unwrap() = Some(Instant::now());
                    canceller.cancel_region(asupersync::CancelReason::user("user went away"));
                    events
                });
                let outcome = request_host
                    .run(&cx, async move {
                        // reqwest knows nothing of the token: only the abort stops it.
                        reqwest::get(format!("http://{addr}/slow"))
                            .await
                            .map(|_| ())
                    })
                    .await;
                (outcome, Instant::now(), events)
            })
            .await;
            // The region was cancelled, but its body finished: it returned the run's
            // outcome before the drain was spent.
            let (outcome, returned_at, events) = region.unwrap();
            match outcome {
                Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::User),
                other => panic!("expected Cancelled, got {other:?}"),
            }
            let cancelled_at = cancelled_at
                .lock()
                .unwrap()
                .expect("the region was cancelled");
            let returned_after = returned_at - cancelled_at;
            assert!(
                returned_after < Duration::from_secs(1),
                "run returned {returned_after:?} after the cancel"
            );
            // The events task is joined by the region; its receiver is back here.
            let events = events.join(&cx).await;
            let mut events = match events {
                Outcome::Ok(events) => events,
                other => panic!("events task: {:?}", other.map(|_| ())),
            };
            assert!(matches!(
                next_event(&cx, &mut events).await,
                ServerEvent::ClientClosed
            ));
            // reqwest's connection task, spawned with tokio::spawn, is gone too.
            let deadline = Instant::now() + Duration::from_secs(2);
            while host.metrics().tokio_tasks_alive != 0 {
                assert!(Instant::now() < deadline, "{:?}", host.metrics());
                asupersync::time::sleep(&cx, Duration::from_millis(2))
                    .await
                    .unwrap();
            }
        }
    });
}

async fn hello(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let thread = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    let body = format!("{} {} on {thread}", request.method(), request.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

#[test]
fn a_hyper_server_driven_by_a_native_task_serves_a_real_client() {
    let host = host("compat-hyper-server");
    common::on_each_flavor(|cx| {
        let host = host.clone();
        async move {
            let listener = host
                .run(&cx, tokio::net::TcpListener::bind("127.0.0.1:0"))
                .await
                .unwrap()
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let native_thread = std::thread::current().name().map(str::to_owned);
            let client_host = host.clone();
            let client = cx.spawn(move |cx| async move {
                client_host
                    .run(&cx, async move {
                        let client = reqwest::Client::new();
                        let mut bodies = Vec::new();
                        for path in ["/one", "/two"] {
                            let response =
                                client.get(format!("http://{addr}{path}")).send().await?;
                            bodies.push(response.text().await?);
                        }
                        Ok::<_, reqwest::Error>(bodies)
                    })
                    .await
            });
            // Accepting needs the Tokio listener; serving the connection does not.
            let (socket, _) = host
                .run(&cx, async move { listener.accept().await })
                .await
                .unwrap()
                .unwrap();
            // The connection is a plain future, polled right here by the native task,
            // over a futures-io stream.
            hyper::server::conn::http1::Builder::new()
                .timer(HostTimer::new(&host))
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(hyper_io(FromTokio::new(socket)), service_fn(hello))
                .await
                .unwrap();
            let bodies = client.join(&cx).await.unwrap().unwrap().unwrap();
            let native_thread = native_thread.unwrap_or_else(|| "unnamed".into());
            assert_eq!(
                bodies,
                [
                    format!("GET /one on {native_thread}"),
                    format!("GET /two on {native_thread}")
                ]
            );
        }
    });
}

#[test]
fn hyper_http2_runs_on_native_tasks_over_an_in_memory_pipe() {
    let host = host("compat-hyper-h2");
    common::on_each_flavor(|cx| {
        let host = host.clone();
        async move {
            let (client_end, server_end) = tokio::io::duplex(16 * 1024);
            let region_host = host.clone();
            let outcome = asupersync::Region::open(&cx, "h2", |cx| async move {
                let host = region_host;
                let server_timer = HostTimer::new(&host);
                let server_exec = RegionExecutor::new(&cx);
                let server = cx.spawn(move |_cx| async move {
                    hyper::server::conn::http2::Builder::new(server_exec)
                        .timer(server_timer)
                        .serve_connection(hyper_io(FromTokio::new(server_end)), service_fn(hello))
                        .await
                });
                // The client's background work goes to the host instead, to cover both
                // executors.
                let (mut sender, connection) =
                    hyper::client::conn::http2::Builder::new(HostExecutor::new(&host))
                        .timer(HostTimer::new(&host))
                        .handshake::<_, Full<Bytes>>(hyper_io(FromTokio::new(client_end)))
                        .await
                        .unwrap();
                // hyper drives the h2 connection in a task on the executor.
                assert!(
                    host.metrics().tokio_tasks_alive >= 1,
                    "{:?}",
                    host.metrics()
                );
                let connection = cx.spawn(move |_cx| connection);
                // Concurrent streams on one connection, each a hyper background task
                // spawned into this region by the executor.
                let mut responses = Vec::new();
                for path in ["/a", "/b", "/c"] {
                    let request = Request::builder()
                        .uri(format!("http://pipe{path}"))
                        .body(Full::new(Bytes::new()))
                        .unwrap();
                    responses.push(sender.send_request(request));
                }
                let mut bodies = Vec::new();
                // asupersync: allow(loop-without-checkpoint) -- three responses of a bounded test
                for response in responses {
                    let response = response.await.unwrap();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    bodies.push(String::from_utf8(body.to_vec()).unwrap());
                }
                drop(sender);
                connection.join(&cx).await.unwrap().unwrap();
                server.join(&cx).await.unwrap().unwrap();
                bodies
            })
            .await;
            let bodies = outcome.unwrap();
            // What the client spawned on the host ended with its connection.
            let deadline = Instant::now() + Duration::from_secs(2);
            while host.metrics().tokio_tasks_alive != 0 {
                assert!(Instant::now() < deadline, "{:?}", host.metrics());
                asupersync::time::sleep(&cx, Duration::from_millis(2))
                    .await
                    .unwrap();
            }
            assert_eq!(bodies.len(), 3);
            for (body, path) in bodies.iter().zip(["/a", "/b", "/c"]) {
                assert!(body.starts_with(&format!("GET {path} on ")), "{body}");
                assert!(
                    !body.contains("compat-hyper-h2"),
                    "served on the host: {body}"
                );
            }
        }
    });
}
