//! The shared key-value store, its expiry task and the pub/sub channels.
//!
//! [`Store`] is a cheap-to-clone handle. Keys live in a `tokio::sync::RwLock`
//! (readers do not block each other; writers are short). Keys can carry a TTL:
//! they are hidden as soon as they expire and removed by
//! [`purge_expired_keys`], a background task that sleeps until the next
//! deadline and is woken early through a `Notify` when a sooner one appears.
//!
//! Every change is announced on a `broadcast` channel ([`Store::changes`]),
//! which feeds `WAIT`, the webhook notifier and anything else that wants to
//! follow the keyspace. `PUB`/`SUB` channels are one `broadcast` sender per
//! channel name, kept in a `Mutex`-guarded map.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch, Mutex, Notify, RwLock};
use tokio::time::{self, Duration, Instant};

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Set,
    Deleted,
    Expired,
}

/// A keyspace change notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub key: String,
    pub kind: ChangeKind,
    /// The new value for [`ChangeKind::Set`], `None` otherwise.
    pub value: Option<String>,
}

/// One key as written to (and read back from) a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub key: String,
    pub value: String,
    /// Time left to live when the snapshot was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

#[derive(Debug)]
struct Entry {
    value: String,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

#[derive(Debug, Default)]
struct Keyspace {
    entries: HashMap<String, Entry>,
    /// Expiry deadlines in order, so the purge task finds the next one cheaply.
    expirations: BTreeSet<(Instant, String)>,
}

impl Keyspace {
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        if let Some(at) = entry.expires_at {
            self.expirations.remove(&(at, key.to_owned()));
        }
        Some(entry)
    }
}

#[derive(Debug)]
struct Shared {
    keyspace: RwLock<Keyspace>,
    channels: Mutex<HashMap<String, broadcast::Sender<String>>>,
    changes: broadcast::Sender<Change>,
    purge_wakeup: Notify,
    capacity: usize,
    /// Bumped on every mutation; the persister compares it to decide whether
    /// a snapshot is due.
    version: AtomicU64,
}

/// Handle to the shared store. Clones share the same data.
#[derive(Debug, Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl Store {
    /// Creates an empty store whose broadcast channels hold `capacity` messages.
    pub fn new(capacity: usize) -> Store {
        let capacity = capacity.max(1);
        let (changes, _) = broadcast::channel(capacity);
        Store {
            shared: Arc::new(Shared {
                keyspace: RwLock::new(Keyspace::default()),
                channels: Mutex::new(HashMap::new()),
                changes,
                purge_wakeup: Notify::new(),
                capacity,
                version: AtomicU64::new(0),
            }),
        }
    }

    /// The value of `key`, unless it is missing or expired.
    pub async fn get(&self, key: &str) -> Option<String> {
        let keyspace = self.shared.keyspace.read().await;
        let entry = keyspace.entries.get(key)?;
        entry.is_live(Instant::now()).then(|| entry.value.clone())
    }

    /// Sets `key`, optionally expiring after `ttl`.
    pub async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        let expires_at = ttl.map(|ttl| Instant::now() + ttl);
        let wake_purger = {
            let mut keyspace = self.shared.keyspace.write().await;
            keyspace.remove(key);
            let mut sooner = false;
            if let Some(at) = expires_at {
                sooner = keyspace
                    .expirations
                    .first()
                    .is_none_or(|(next, _)| at < *next);
                keyspace.expirations.insert((at, key.to_owned()));
            }
            keyspace.entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at,
                },
            );
            sooner
        };
        if wake_purger {
            self.shared.purge_wakeup.notify_one();
        }
        self.changed(key, ChangeKind::Set, Some(value.to_owned()));
    }

    /// Removes `key`; returns whether it existed.
    pub async fn delete(&self, key: &str) -> bool {
        let removed = {
            let mut keyspace = self.shared.keyspace.write().await;
            keyspace
                .remove(key)
                .is_some_and(|entry| entry.is_live(Instant::now()))
        };
        if removed {
            self.changed(key, ChangeKind::Deleted, None);
        }
        removed
    }

    /// Adds one to the integer stored at `key` (missing counts as 0).
    pub async fn incr(&self, key: &str) -> Result<i64, String> {
        let value = {
            let mut keyspace = self.shared.keyspace.write().await;
            let now = Instant::now();
            let entry = keyspace
                .entries
                .entry(key.to_owned())
                .or_insert_with(|| Entry {
                    value: "0".into(),
                    expires_at: None,
                });
            if !entry.is_live(now) {
                entry.value = "0".into();
            }
            let current: i64 = entry
                .value
                .parse()
                .map_err(|_| format!("value of `{key}` is not an integer"))?;
            let next = current
                .checked_add(1)
                .ok_or_else(|| format!("value of `{key}` would overflow"))?;
            entry.value = next.to_string();
            next
        };
        self.changed(key, ChangeKind::Set, Some(value.to_string()));
        Ok(value)
    }

    /// All live keys, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let keyspace = self.shared.keyspace.read().await;
        let now = Instant::now();
        let mut keys: Vec<String> = keyspace
            .entries
            .iter()
            .filter(|(_, entry)| entry.is_live(now))
            .map(|(key, _)| key.clone())
            .collect();
        keys.sort();
        keys
    }

    /// Number of stored keys (expired ones count until they are purged).
    pub async fn len(&self) -> usize {
        self.shared.keyspace.read().await.entries.len()
    }

    /// Whether the store holds no keys at all.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Waits up to `limit` for `key` to have a value.
    pub async fn wait_for(&self, key: &str, limit: Duration) -> Option<String> {
        // Subscribe before looking, so a set between the two is not missed.
        let mut changes = self.changes();
        if let Some(value) = self.get(key).await {
            return Some(value);
        }
        let waiting = async {
            loop {
                match changes.recv().await {
                    Ok(change) if change.key == key && change.kind == ChangeKind::Set => {
                        return change.value;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(value) = self.get(key).await {
                            return Some(value);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        };
        time::timeout(limit, waiting).await.ok().flatten()
    }

    /// Follows every keyspace change from now on.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.shared.changes.subscribe()
    }

    /// Subscribes to a pub/sub channel.
    pub async fn subscribe(&self, channel: &str) -> broadcast::Receiver<String> {
        let mut channels = self.shared.channels.lock().await;
        channels
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(self.shared.capacity).0)
            .subscribe()
    }

    /// Publishes `payload` on `channel`; returns how many subscribers got it.
    pub async fn publish(&self, channel: &str, payload: &str) -> usize {
        let mut channels = self.shared.channels.lock().await;
        let Some(sender) = channels.get(channel) else {
            return 0;
        };
        match sender.send(payload.to_owned()) {
            Ok(receivers) => receivers,
            Err(_) => {
                // Everyone unsubscribed: forget the channel.
                channels.remove(channel);
                0
            }
        }
    }

    /// Monotonic mutation counter.
    pub fn version(&self) -> u64 {
        self.shared.version.load(Ordering::Acquire)
    }

    /// Copies the live keys out for persisting.
    pub async fn snapshot(&self) -> Vec<SnapshotEntry> {
        let keyspace = self.shared.keyspace.read().await;
        let now = Instant::now();
        let mut entries: Vec<SnapshotEntry> = keyspace
            .entries
            .iter()
            .filter(|(_, entry)| entry.is_live(now))
            .map(|(key, entry)| SnapshotEntry {
                key: key.clone(),
                value: entry.value.clone(),
                ttl_ms: entry
                    .expires_at
                    .map(|at| at.saturating_duration_since(now).as_millis() as u64),
            })
            .collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
    }

    /// Loads entries from a snapshot (at start-up) without announcing them.
    pub async fn restore(&self, entries: Vec<SnapshotEntry>) {
        let now = Instant::now();
        let mut keyspace = self.shared.keyspace.write().await;
        for entry in entries {
            let expires_at = entry.ttl_ms.map(|ms| now + Duration::from_millis(ms));
            if let Some(at) = expires_at {
                keyspace.expirations.insert((at, entry.key.clone()));
            }
            keyspace.entries.insert(
                entry.key,
                Entry {
                    value: entry.value,
                    expires_at,
                },
            );
        }
        drop(keyspace);
        self.shared.purge_wakeup.notify_one();
    }

    /// Removes every expired key; returns the next deadline, if any.
    async fn purge_expired(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut expired = Vec::new();
        let next = {
            let mut keyspace = self.shared.keyspace.write().await;
            while let Some((at, key)) = keyspace.expirations.first().cloned() {
                if at > now {
                    break;
                }
                keyspace.expirations.pop_first();
                keyspace.entries.remove(&key);
                expired.push(key);
            }
            keyspace.expirations.first().map(|(at, _)| *at)
        };
        for key in expired {
            self.changed(&key, ChangeKind::Expired, None);
        }
        next
    }

    fn changed(&self, key: &str, kind: ChangeKind, value: Option<String>) {
        self.shared.version.fetch_add(1, Ordering::AcqRel);
        // No receivers is fine: nobody is following changes right now.
        let _ = self.shared.changes.send(Change {
            key: key.to_owned(),
            kind,
            value,
        });
    }
}

/// Background task: removes expired keys until `shutdown` flips to `true`.
pub async fn purge_expired_keys(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        let next_deadline = store.purge_expired().await;
        tokio::select! {
            _ = async {
                match next_deadline {
                    Some(when) => time::sleep_until(when).await,
                    None => std::future::pending::<()>().await,
                }
            } => {}
            _ = store.shared.purge_wakeup.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_get_delete() {
        let store = Store::new(16);
        assert_eq!(store.get("a").await, None);
        store.set("a", "1", None).await;
        assert_eq!(store.get("a").await.as_deref(), Some("1"));
        assert!(store.delete("a").await);
        assert!(!store.delete("a").await);
        assert!(store.is_empty().await);
    }

    #[tokio::test]
    async fn incr_counts_and_rejects_text() {
        let store = Store::new(16);
        assert_eq!(store.incr("n").await, Ok(1));
        assert_eq!(store.incr("n").await, Ok(2));
        store.set("word", "hello", None).await;
        assert!(store.incr("word").await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn keys_expire_on_virtual_time() {
        let store = Store::new(16);
        let (stop, shutdown) = watch::channel(false);
        let purger = tokio::spawn(purge_expired_keys(store.clone(), shutdown));
        let mut changes = store.changes();

        store
            .set("session", "abc", Some(Duration::from_secs(30)))
            .await;
        store.set("forever", "x", None).await;
        assert_eq!(changes.recv().await.map(|c| c.kind), Ok(ChangeKind::Set));
        assert_eq!(changes.recv().await.map(|c| c.kind), Ok(ChangeKind::Set));

        time::advance(Duration::from_secs(29)).await;
        assert_eq!(store.get("session").await.as_deref(), Some("abc"));

        time::advance(Duration::from_secs(2)).await;
        // Hidden immediately, and purged by the background task.
        assert_eq!(store.get("session").await, None);
        let change = changes.recv().await.expect("expiry is announced");
        assert_eq!(change.key, "session");
        assert_eq!(change.kind, ChangeKind::Expired);
        assert_eq!(store.keys().await, vec!["forever".to_string()]);
        assert_eq!(store.len().await, 1);

        stop.send(true).expect("purger is running");
        purger.await.expect("purger exits cleanly");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sooner_deadline_wakes_the_purger() {
        let store = Store::new(16);
        let (_stop, shutdown) = watch::channel(false);
        let _purger = tokio::spawn(purge_expired_keys(store.clone(), shutdown));

        store
            .set("slow", "1", Some(Duration::from_secs(3600)))
            .await;
        tokio::task::yield_now().await;
        store.set("fast", "2", Some(Duration::from_secs(1))).await;
        time::advance(Duration::from_secs(2)).await;
        tokio::task::yield_now().await;
        assert_eq!(store.len().await, 1, "`fast` was purged before `slow`");
    }

    #[tokio::test]
    async fn publish_reaches_only_that_channel() {
        let store = Store::new(16);
        let mut news = store.subscribe("news").await;
        let mut sport = store.subscribe("sport").await;
        assert_eq!(store.publish("news", "extra!").await, 1);
        assert_eq!(store.publish("weather", "rain").await, 0);
        assert_eq!(news.recv().await.as_deref(), Ok("extra!"));
        assert!(sport.try_recv().is_err());
    }

    #[tokio::test]
    async fn snapshot_round_trip_keeps_ttls() {
        let store = Store::new(16);
        store.set("a", "1", None).await;
        store.set("b", "2", Some(Duration::from_secs(60))).await;
        let snapshot = store.snapshot().await;

        let restored = Store::new(16);
        restored.restore(snapshot.clone()).await;
        assert_eq!(restored.get("a").await.as_deref(), Some("1"));
        assert!(snapshot[1].ttl_ms.is_some_and(|ms| ms <= 60_000));
    }
}
