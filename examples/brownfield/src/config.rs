//! Server configuration.
//!
//! A [`Config`] is built from defaults, optionally overlaid with a small
//! `key = value` file (read with `tokio::fs`), and then with command-line
//! flags by `main.rs`. Tests build one directly with [`Config::ephemeral`].

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::fs;

/// Everything the server needs to know at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address of the line-protocol listener.
    pub listen_addr: SocketAddr,
    /// Address of the HTTP `/health` + `/stats` listener; `None` disables it.
    pub http_addr: Option<SocketAddr>,
    /// Connections served at once; further clients get `ERR server busy`.
    pub max_connections: usize,
    /// A client that sends nothing for this long is disconnected.
    pub idle_timeout: Duration,
    /// Where snapshots are written and loaded from; `None` keeps data in memory only.
    pub snapshot_path: Option<PathBuf>,
    /// How often a dirty store is written to the snapshot file.
    pub snapshot_interval: Duration,
    /// How often the stats sampler runs (ops/s rate for `/stats`).
    pub stats_interval: Duration,
    /// How long shutdown waits for open connections before giving up on them.
    pub drain_timeout: Duration,
    /// If set, every key change is POSTed as JSON to this URL.
    pub webhook_url: Option<String>,
    /// Capacity of the change-notification / pub-sub broadcast channel.
    pub event_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 7878)),
            http_addr: Some(SocketAddr::from(([127, 0, 0, 1], 7879))),
            max_connections: 256,
            idle_timeout: Duration::from_secs(300),
            snapshot_path: None,
            snapshot_interval: Duration::from_secs(30),
            stats_interval: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
            webhook_url: None,
            event_capacity: 1024,
        }
    }
}

impl Config {
    /// A configuration for tests and local tinkering: both listeners on
    /// ephemeral loopback ports, no persistence, no webhook.
    pub fn ephemeral() -> Self {
        Config {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Config::default()
        }
    }

    /// Reads a `key = value` config file on top of the defaults.
    ///
    /// Blank lines and lines starting with `#` are ignored. Durations are
    /// given in milliseconds (`idle_timeout_ms = 5000`).
    pub async fn load(path: impl AsRef<Path>) -> io::Result<Self> {
        let text = fs::read_to_string(path.as_ref()).await?;
        let mut config = Config::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                invalid(format!(
                    "{}:{}: expected `key = value`",
                    path.as_ref().display(),
                    index + 1
                ))
            })?;
            config.set(key.trim(), value.trim())?;
        }
        Ok(config)
    }

    /// Sets one option by name, as used by the config file and by `--key value` flags.
    pub fn set(&mut self, key: &str, value: &str) -> io::Result<()> {
        match key {
            "listen" | "listen_addr" => self.listen_addr = parse(key, value)?,
            "http" | "http_addr" => {
                self.http_addr = if value == "off" {
                    None
                } else {
                    Some(parse(key, value)?)
                }
            }
            "max_connections" => self.max_connections = parse(key, value)?,
            "idle_timeout_ms" => self.idle_timeout = millis(key, value)?,
            "snapshot" | "snapshot_path" => self.snapshot_path = Some(PathBuf::from(value)),
            "snapshot_interval_ms" => self.snapshot_interval = millis(key, value)?,
            "stats_interval_ms" => self.stats_interval = millis(key, value)?,
            "drain_timeout_ms" => self.drain_timeout = millis(key, value)?,
            "webhook" | "webhook_url" => self.webhook_url = Some(value.to_owned()),
            "event_capacity" => self.event_capacity = parse(key, value)?,
            other => return Err(invalid(format!("unknown config option `{other}`"))),
        }
        Ok(())
    }
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> io::Result<T>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|err| invalid(format!("bad value for `{key}`: {err}")))
}

fn millis(key: &str, value: &str) -> io::Result<Duration> {
    parse::<u64>(key, value).map(Duration::from_millis)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loads_a_config_file() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("brownfield-config-{}", std::process::id()));
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join("ticketd.conf");
        tokio::fs::write(
            &path,
            "# test config\nlisten = 127.0.0.1:0\nhttp = off\nidle_timeout_ms = 1500\n",
        )
        .await?;

        let config = Config::load(&path).await?;
        assert_eq!(config.listen_addr.port(), 0);
        assert!(config.http_addr.is_none());
        assert_eq!(config.idle_timeout, Duration::from_millis(1500));

        tokio::fs::remove_dir_all(&dir).await?;
        Ok(())
    }

    #[test]
    fn rejects_unknown_options() {
        let mut config = Config::default();
        assert!(config.set("colour", "blue").is_err());
        assert!(config.set("max_connections", "many").is_err());
    }
}
