//! Change webhooks: every keyspace change is POSTed as JSON to a configured
//! URL with `reqwest` (plain HTTP; this service does not do TLS).
//!
//! The notifier follows the store's `broadcast` of changes. Deliveries are
//! sequential and bounded by a timeout; a failed delivery is counted and
//! dropped (no retries: webhooks here are best-effort notifications). If the
//! notifier falls behind, the broadcast channel drops the oldest changes and
//! the notifier reports the gap in the next payload.
//!
//! reqwest runs on Tokio only, so this module stays in the quarantine when
//! the rest of the app is migrated.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use crate::stats::Metrics;
use crate::store::Change;

/// The JSON body of one webhook delivery.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookPayload<'a> {
    pub event: &'static str,
    #[serde(flatten)]
    pub change: &'a Change,
    /// Changes dropped since the previous delivery because the notifier lagged.
    #[serde(skip_serializing_if = "is_zero")]
    pub missed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Timeout for one delivery, connection included.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Background task: POSTs changes to `url` until shutdown.
pub async fn run_notifier(
    url: String,
    mut changes: broadcast::Receiver<Change>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .user_agent(concat!("brownfield/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            eprintln!("brownfield: webhook disabled, cannot build client: {err}");
            return;
        }
    };

    let mut missed = 0;
    loop {
        let change = tokio::select! {
            received = changes.recv() => match received {
                Ok(change) => change,
                Err(RecvError::Lagged(n)) => {
                    missed += n;
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            _ = shutdown.changed() => return,
        };

        let payload = WebhookPayload {
            event: "key_changed",
            change: &change,
            missed,
        };
        match deliver(&client, &url, &payload).await {
            Ok(()) => {
                missed = 0;
                metrics.webhooks_sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                metrics.webhooks_failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("brownfield: webhook to {url} failed: {err}");
            }
        }
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    payload: &WebhookPayload<'_>,
) -> reqwest::Result<()> {
    client
        .post(url)
        .json(payload)
        .send()
        .await?
        .error_for_status()
        .map(drop)
}
