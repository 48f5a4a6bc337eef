//! The HTTP side door: `GET /health` and `GET /stats`, served with hyper 1
//! (HTTP/1.1 only) on its own listener.
//!
//! hyper is driven through `hyper_util::rt::TokioIo`, so this module is
//! Tokio-bound: it is the part of the app that stays in the quarantine when
//! the rest moves to a native runtime.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::server::stopping;
use crate::stats::Metrics;
use crate::store::Store;

/// What the HTTP handlers read.
#[derive(Debug, Clone)]
pub struct HttpState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
}

/// Serves HTTP on `listener` until `shutdown` flips to `true`, then lets the
/// open connections finish their current request (for up to five seconds).
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    eprintln!("brownfield: http accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopping(&mut shutdown) => break,
        };

        let state = state.clone();
        let mut conn_shutdown = shutdown.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| route(request, state.clone()));
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        eprintln!("brownfield: http connection error: {err}");
                    }
                }
                _ = stopping(&mut conn_shutdown) => {
                    connection.as_mut().graceful_shutdown();
                    // Finish the request in flight, if any.
                    let _ = connection.await;
                }
            }
        });

        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }

    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
    Ok(())
}

async fn route(
    request: Request<Incoming>,
    state: HttpState,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/health") => {
            if state.metrics.is_draining() {
                json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"draining"}"#)
            } else {
                json(StatusCode::OK, r#"{"status":"ok"}"#)
            }
        }
        (&Method::GET, "/stats") => {
            let report = state.metrics.report(&state.store).await;
            match serde_json::to_string(&report) {
                Ok(body) => json(StatusCode::OK, body),
                Err(err) => json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(r#"{{"error":"{err}"}}"#),
                ),
            }
        }
        (_, "/health" | "/stats") => json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"method not allowed"}"#,
        ),
        _ => json(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#),
    };
    Ok(response)
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
