//! # brownfield — a small key-value and pub/sub server on plain Tokio
//!
//! `brownfield` is a line-protocol key-value store with TTLs, blocking
//! `WAIT`, pub/sub channels, snapshot persistence, change webhooks and an HTTP
//! `/health` + `/stats` endpoint.
//!
//! It is written the way a Tokio service usually is — `tokio::spawn` per
//! connection, `tokio::sync` everywhere, `select!` loops, hyper and reqwest
//! for the HTTP bits — because it exists as the input that
//! `cargo asupersync audit` inventories and `cargo asupersync migrate`
//! rewrites.
//!
//! Modules:
//! - [`protocol`] — request/reply lines (pure, no IO)
//! - [`store`] — the shared keyspace, expiry task, pub/sub channels
//! - [`persist`] — the snapshot writer task
//! - [`stats`] — counters and the rate sampler
//! - [`server`] — accept loop, connection handler, graceful shutdown
//! - [`http`] — `/health` and `/stats` over hyper (stays on Tokio)
//! - [`webhook`] — POSTs changes with reqwest (stays on Tokio)
//! - [`client`] — the client library
//! - [`config`] — configuration

pub mod client;
pub mod config;
pub mod http;
pub mod persist;
pub mod protocol;
pub mod server;
pub mod stats;
pub mod store;
pub mod webhook;

pub use client::{Client, Subscription};
pub use config::Config;
pub use server::{Server, ShutdownReport};
pub use store::Store;
