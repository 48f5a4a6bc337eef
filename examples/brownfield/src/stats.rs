//! Server metrics: counters bumped by the connection handlers, a sampler task
//! that turns them into a rate on a fixed `interval`, and the report served
//! by `STATS` and by `GET /stats`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::{interval, Duration, Instant, MissedTickBehavior};

use crate::store::Store;

/// Counters shared by every part of the server.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    pub connections_active: AtomicUsize,
    pub connections_total: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub commands_total: AtomicU64,
    pub webhooks_sent: AtomicU64,
    pub webhooks_failed: AtomicU64,
    /// Commands per second over the last sampling interval, times 1000.
    ops_per_sec_milli: AtomicU64,
    draining: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            connections_active: AtomicUsize::new(0),
            connections_total: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            commands_total: AtomicU64::new(0),
            webhooks_sent: AtomicU64::new(0),
            webhooks_failed: AtomicU64::new(0),
            ops_per_sec_milli: AtomicU64::new(0),
            draining: AtomicBool::new(false),
        }
    }
}

/// A point-in-time view of the metrics, as JSON for `/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub keys: usize,
    pub connections_active: usize,
    pub connections_total: u64,
    pub connections_rejected: u64,
    pub commands_total: u64,
    pub ops_per_sec: f64,
    pub webhooks_sent: u64,
    pub webhooks_failed: u64,
    pub uptime_secs: u64,
    pub draining: bool,
}

impl StatsReport {
    /// The report as `key=value` pairs for the line protocol.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        vec![
            ("keys".into(), self.keys.to_string()),
            (
                "connections_active".into(),
                self.connections_active.to_string(),
            ),
            (
                "connections_total".into(),
                self.connections_total.to_string(),
            ),
            ("commands_total".into(), self.commands_total.to_string()),
            ("ops_per_sec".into(), format!("{:.1}", self.ops_per_sec)),
            ("uptime_secs".into(), self.uptime_secs.to_string()),
        ]
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Builds a report, reading the key count from `store`.
    pub async fn report(&self, store: &Store) -> StatsReport {
        StatsReport {
            keys: store.len().await,
            connections_active: self.connections_active.load(Ordering::Relaxed),
            connections_total: self.connections_total.load(Ordering::Relaxed),
            connections_rejected: self.connections_rejected.load(Ordering::Relaxed),
            commands_total: self.commands_total.load(Ordering::Relaxed),
            ops_per_sec: self.ops_per_sec_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            webhooks_sent: self.webhooks_sent.load(Ordering::Relaxed),
            webhooks_failed: self.webhooks_failed.load(Ordering::Relaxed),
            uptime_secs: self.started.elapsed().as_secs(),
            draining: self.is_draining(),
        }
    }
}

/// Background task: samples the command counter every `every` until shutdown.
pub async fn sample_rates(
    metrics: Arc<Metrics>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last_count = metrics.commands_total.load(Ordering::Relaxed);
    let mut last_at = ticker.tick().await;

    loop {
        tokio::select! {
            now = ticker.tick() => {
                let count = metrics.commands_total.load(Ordering::Relaxed);
                let secs = now.duration_since(last_at).as_secs_f64();
                if secs > 0.0 {
                    let rate = (count - last_count) as f64 / secs;
                    metrics
                        .ops_per_sec_milli
                        .store((rate * 1000.0) as u64, Ordering::Relaxed);
                }
                last_count = count;
                last_at = now;
            }
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sampler_computes_a_rate() {
        let metrics = Metrics::new();
        let (stop, shutdown) = watch::channel(false);
        let sampler = tokio::spawn(sample_rates(
            metrics.clone(),
            Duration::from_secs(1),
            shutdown,
        ));
        tokio::task::yield_now().await;

        metrics.commands_total.fetch_add(50, Ordering::Relaxed);
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;

        let report = metrics.report(&Store::new(1)).await;
        assert_eq!(report.ops_per_sec, 50.0);

        stop.send(true).expect("sampler is running");
        sampler.await.expect("sampler exits");
    }
}
