//! The TCP server: accept loop, per-connection handlers and graceful shutdown.
//!
//! [`Server::bind`] opens the listeners (and loads the snapshot);
//! [`Server::run`] serves until the `shutdown` future it is given completes
//! (`main.rs` passes Ctrl-C, tests pass a `oneshot` receiver). Then it:
//!
//! 1. stops accepting (the listener is dropped),
//! 2. flips the shutdown `watch` so every connection finishes the request it
//!    is on, tells its client `ERR server shutting down` and closes,
//! 3. waits (up to the configured drain timeout) until every connection has
//!    returned its `Semaphore` permit,
//! 4. stops the background tasks and lets the persister write a final snapshot.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{self, timeout};

use crate::config::Config;
use crate::persist::{self, PersistHandle};
use crate::protocol::{Command, Reply, MAX_LINE};
use crate::stats::{self, Metrics};
use crate::store::{self, Store};
use crate::{http, webhook};

/// What [`Server::run`] observed while shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections that were open when shutdown began.
    pub open_at_shutdown: usize,
    /// Whether all of them closed within the drain timeout.
    pub drained: bool,
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Server {
    config: Config,
    listener: TcpListener,
    http_listener: Option<TcpListener>,
    store: Store,
    metrics: Arc<Metrics>,
}

impl Server {
    /// Binds the listeners and restores the snapshot, if one is configured.
    pub async fn bind(config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(config.listen_addr).await?;
        let http_listener = match config.http_addr {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let store = Store::new(config.event_capacity);
        if let Some(path) = &config.snapshot_path {
            store.restore(persist::load_snapshot(path).await?).await;
        }
        Ok(Server {
            config,
            listener,
            http_listener,
            store,
            metrics: Metrics::new(),
        })
    }

    /// Address of the line-protocol listener (useful when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Address of the HTTP listener, if enabled.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// A handle to the server's store.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Serves until `shutdown` completes, then drains (see the module docs).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<ShutdownReport> {
        let Server {
            config,
            listener,
            http_listener,
            store,
            metrics,
        } = self;

        let (notify_shutdown, shutdown_rx) = watch::channel(false);
        // Bounded so that the drain below can ask for every permit at once.
        let max_connections = config
            .max_connections
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let limit = Arc::new(Semaphore::new(max_connections));

        let mut background = JoinSet::new();
        background.spawn(store::purge_expired_keys(
            store.clone(),
            shutdown_rx.clone(),
        ));
        background.spawn(stats::sample_rates(
            metrics.clone(),
            config.stats_interval,
            shutdown_rx.clone(),
        ));
        if let Some(http_listener) = http_listener {
            let state = http::HttpState {
                store: store.clone(),
                metrics: metrics.clone(),
            };
            let shutdown = shutdown_rx.clone();
            background.spawn(async move {
                if let Err(err) = http::serve(http_listener, state, shutdown).await {
                    eprintln!("brownfield: http server failed: {err}");
                }
            });
        }
        if let Some(url) = config.webhook_url.clone() {
            background.spawn(webhook::run_notifier(
                url,
                store.changes(),
                metrics.clone(),
                shutdown_rx.clone(),
            ));
        }

        // The persister outlives the connections so that a SAVE in flight
        // during the drain still completes; it has its own stop signal.
        let (persist, persist_rx) = persist::channel();
        let (stop_persister, persister_shutdown) = watch::channel(false);
        let persister = tokio::spawn(persist::run_persister(
            store.clone(),
            config.snapshot_path.clone(),
            config.snapshot_interval,
            persist_rx,
            persister_shutdown,
        ));

        let context = ConnectionContext {
            store,
            metrics: metrics.clone(),
            persist: Some(persist),
            idle_timeout: config.idle_timeout,
            shutdown: shutdown_rx,
        };

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (socket, peer) = match accepted {
                        Ok(pair) => pair,
                        Err(err) => {
                            // Usually EMFILE or a connection reset before accept: back off.
                            eprintln!("brownfield: accept failed: {err}");
                            time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        metrics.connections_rejected.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(reject_busy(socket));
                        continue;
                    };
                    metrics.connections_total.fetch_add(1, Ordering::Relaxed);
                    metrics.connections_active.fetch_add(1, Ordering::Relaxed);
                    let context = context.clone();
                    tokio::spawn(async move {
                        if let Err(err) = handle_connection(socket, context.clone()).await {
                            eprintln!("brownfield: connection {peer}: {err}");
                        }
                        context.metrics.connections_active.fetch_sub(1, Ordering::Relaxed);
                        drop(permit);
                    });
                }
                _ = &mut shutdown => break,
            }
        }

        // 1. Stop accepting.
        drop(listener);
        metrics.set_draining();
        let open_at_shutdown = metrics.connections_active.load(Ordering::Relaxed);

        // 2. Tell every task to wind down.
        notify_shutdown.send_replace(true);
        drop(context);

        // 3. Every connection holds a permit: having them all back means drained.
        let drained = timeout(
            config.drain_timeout,
            limit.acquire_many(max_connections as u32),
        )
        .await
        .is_ok();

        // 4. Background tasks, then the final snapshot.
        let background_done = async { while background.join_next().await.is_some() {} };
        if timeout(Duration::from_secs(5), background_done)
            .await
            .is_err()
        {
            background.abort_all();
        }
        let _ = stop_persister.send(true);
        persister.await.map_err(io::Error::other)?;

        Ok(ShutdownReport {
            open_at_shutdown,
            drained,
        })
    }
}

/// Completes once the shutdown `watch` says `true` (or its sender is gone).
pub async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, before any other await.
    let _ = shutdown.wait_for(|&stop| stop).await;
}

async fn reject_busy(mut socket: TcpStream) {
    let reply = format!("{}\n", Reply::Error("server busy".into()));
    // Best effort: the client is turned away either way.
    let _ = timeout(Duration::from_secs(1), socket.write_all(reply.as_bytes())).await;
}

/// What a connection handler needs from the server.
#[derive(Debug, Clone)]
pub struct ConnectionContext {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// `None` when running without a persister (SAVE then reports an error).
    pub persist: Option<PersistHandle>,
    pub idle_timeout: Duration,
    pub shutdown: watch::Receiver<bool>,
}

impl ConnectionContext {
    /// A context for serving connections outside [`Server::run`]: in tests
    /// over `tokio::io::duplex`, or embedded in another accept loop.
    pub fn standalone(
        store: Store,
        idle_timeout: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        ConnectionContext {
            store,
            metrics: Metrics::new(),
            persist: None,
            idle_timeout,
            shutdown,
        }
    }
}

enum Flow {
    Continue,
    Close,
}

/// Serves one client until it quits, goes idle, disconnects or the server
/// shuts down.
pub async fn handle_connection<S>(stream: S, mut context: ConnectionContext) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut lines = BufReader::new(reader).lines();
    // Messages from this connection's subscriptions, forwarded by one task per channel.
    let (push_tx, mut push_rx) = mpsc::channel::<Reply>(64);
    let mut subscribed = false;
    let mut shutdown = context.shutdown.clone();
    let idle_timeout = context.idle_timeout;

    loop {
        let read_line = async {
            if subscribed {
                // Subscribers are listeners: they may stay quiet indefinitely.
                Ok(lines.next_line().await)
            } else {
                timeout(idle_timeout, lines.next_line()).await
            }
        };

        tokio::select! {
            // Finish what the client already sent before looking at anything else.
            biased;

            line = read_line => {
                let line = match line {
                    Err(_elapsed) => {
                        send(&mut writer, &Reply::Error("idle timeout".into())).await?;
                        break;
                    }
                    Ok(Ok(Some(line))) => line,
                    Ok(Ok(None)) => break, // client hung up
                    Ok(Err(err)) => return Err(err),
                };
                if line.len() > MAX_LINE {
                    send(&mut writer, &Reply::Error("line too long".into())).await?;
                    break;
                }
                if line.trim().is_empty() {
                    continue;
                }
                context.metrics.commands_total.fetch_add(1, Ordering::Relaxed);
                let (reply, flow) = match Command::parse(&line) {
                    Ok(command) => {
                        if let Command::Subscribe(channel) = &command {
                            subscribed = true;
                            spawn_forwarder(&context.store, channel, push_tx.clone()).await;
                        }
                        execute(command, &mut context).await
                    }
                    Err(err) => (Reply::Error(err.to_string()), Flow::Continue),
                };
                send(&mut writer, &reply).await?;
                if let Flow::Close = flow {
                    break;
                }
            }
            Some(message) = push_rx.recv() => {
                send(&mut writer, &message).await?;
            }
            _ = stopping(&mut shutdown) => {
                send(&mut writer, &Reply::Error("server shutting down".into())).await?;
                break;
            }
        }
    }

    writer.shutdown().await
}

async fn send<W: AsyncWrite + Unpin>(writer: &mut W, reply: &Reply) -> io::Result<()> {
    let line = format!("{reply}\n");
    writer.write_all(line.as_bytes()).await?;
    writer.flush().await
}

/// Forwards one pub/sub channel into the connection's push queue until the
/// connection goes away.
async fn spawn_forwarder(store: &Store, channel: &str, push: mpsc::Sender<Reply>) {
    let mut messages = store.subscribe(channel).await;
    let channel = channel.to_owned();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                received = messages.recv() => {
                    let reply = match received {
                        Ok(payload) => Reply::Message { channel: channel.clone(), payload },
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            Reply::Error(format!("lagged: {missed} messages dropped on {channel}"))
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    };
                    if push.send(reply).await.is_err() {
                        break;
                    }
                }
                _ = push.closed() => break,
            }
        }
    });
}

async fn execute(command: Command, context: &mut ConnectionContext) -> (Reply, Flow) {
    let store = &context.store;
    let reply = match command {
        Command::Ping(text) => Reply::Pong(text),
        Command::Get(key) => store.get(&key).await.map_or(Reply::Nil, Reply::Value),
        Command::Set { key, value, ttl } => {
            store.set(&key, &value, ttl).await;
            Reply::Ok
        }
        Command::Del(key) => Reply::Int(i64::from(store.delete(&key).await)),
        Command::Incr(key) => match store.incr(&key).await {
            Ok(n) => Reply::Int(n),
            Err(message) => Reply::Error(message),
        },
        Command::Keys => Reply::Keys(store.keys().await),
        Command::Wait { key, timeout } => {
            tokio::select! {
                value = store.wait_for(&key, timeout) => value.map_or(Reply::Nil, Reply::Value),
                _ = stopping(&mut context.shutdown) => {
                    Reply::Error("server shutting down".into())
                }
            }
        }
        Command::Publish { channel, payload } => {
            let receivers = store.publish(&channel, &payload).await;
            Reply::Int(i64::try_from(receivers).unwrap_or(i64::MAX))
        }
        Command::Subscribe(channel) => Reply::Subscribed(channel),
        Command::Save => match &context.persist {
            Some(persist) => match persist.save().await {
                Ok(count) => Reply::Saved(count),
                Err(err) => Reply::Error(err.to_string()),
            },
            None => Reply::Error("persistence is disabled".into()),
        },
        Command::Stats => Reply::Stats(context.metrics.report(store).await.to_pairs()),
        Command::Quit => return (Reply::Bye, Flow::Close),
    };
    (reply, Flow::Continue)
}
