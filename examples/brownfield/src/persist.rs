//! Snapshot persistence.
//!
//! One background task ([`run_persister`]) owns the snapshot file. It saves
//! on an `interval` when the store changed since the last save, and on demand
//! when a [`PersistHandle::save`] request arrives over its `mpsc` queue; each
//! request carries a `oneshot` sender for the result. Encoding runs on the
//! blocking pool (`spawn_blocking`), the file is written with `tokio::fs` to a
//! temporary name and renamed into place, so a crash never leaves half a
//! snapshot behind.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::MissedTickBehavior;
use tokio::{fs, task};

use crate::store::{SnapshotEntry, Store};

/// A request to the persister task.
#[derive(Debug)]
enum PersistRequest {
    /// Save now and report how many keys were written.
    Save {
        reply: oneshot::Sender<io::Result<usize>>,
    },
}

/// Sends requests to the persister task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PersistHandle {
    requests: mpsc::Sender<PersistRequest>,
}

impl PersistHandle {
    /// Asks the persister to write a snapshot now and waits for the result.
    pub async fn save(&self) -> io::Result<usize> {
        let (reply, result) = oneshot::channel();
        self.requests
            .send(PersistRequest::Save { reply })
            .await
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "persister has stopped")
}

/// Creates the request queue; pass the receiver to [`run_persister`].
pub fn channel() -> (PersistHandle, PersistReceiver) {
    let (requests, receiver) = mpsc::channel(32);
    (PersistHandle { requests }, PersistReceiver(receiver))
}

/// The persister's end of the request queue.
#[derive(Debug)]
pub struct PersistReceiver(mpsc::Receiver<PersistRequest>);

/// Reads a snapshot file; a missing file is an empty store.
pub async fn load_snapshot(path: &Path) -> io::Result<Vec<SnapshotEntry>> {
    let bytes = match fs::read(path).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    task::spawn_blocking(move || serde_json::from_slice(&bytes))
        .await
        .map_err(io::Error::other)?
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Writes the store's live keys to `path` atomically; returns the key count.
pub async fn write_snapshot(store: &Store, path: &Path) -> io::Result<usize> {
    let entries = store.snapshot().await;
    let count = entries.len();
    let bytes = task::spawn_blocking(move || serde_json::to_vec_pretty(&entries))
        .await
        .map_err(io::Error::other)?
        .map_err(io::Error::other)?;

    let tmp = temp_path(path);
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).await?;
    }
    fs::write(&tmp, bytes).await?;
    fs::rename(&tmp, path).await?;
    Ok(count)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The persister task. Without a `path` it still answers requests, with an
/// error, so `SAVE` tells the client that persistence is off.
///
/// On shutdown it writes a final snapshot if anything changed, then returns.
pub async fn run_persister(
    store: Store,
    path: Option<PathBuf>,
    every: Duration,
    PersistReceiver(mut requests): PersistReceiver,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut saved_version = store.version();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            Some(request) = requests.recv() => match request {
                PersistRequest::Save { reply } => {
                    let result = match &path {
                        Some(path) => {
                            let version = store.version();
                            let result = write_snapshot(&store, path).await;
                            if result.is_ok() {
                                saved_version = version;
                            }
                            result
                        }
                        None => Err(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "persistence is disabled",
                        )),
                    };
                    // The requester may have gone away; that's its business.
                    let _ = reply.send(result);
                }
            },
            _ = ticker.tick() => {
                if let Some(path) = &path {
                    let version = store.version();
                    if version != saved_version {
                        match write_snapshot(&store, path).await {
                            Ok(_) => saved_version = version,
                            Err(err) => eprintln!("brownfield: periodic snapshot failed: {err}"),
                        }
                    }
                }
            }
            _ = shutdown.changed() => break,
        }
    }

    if let Some(path) = &path {
        if store.version() != saved_version {
            if let Err(err) = write_snapshot(&store, path).await {
                eprintln!("brownfield: final snapshot failed: {err}");
            }
        }
    }
}
