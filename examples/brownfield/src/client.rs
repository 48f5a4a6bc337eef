//! Client library for the line protocol, plus helpers for the HTTP endpoints.
//!
//! A [`Client`] is one TCP connection. Its methods take `&self`: requests from
//! several tasks are serialised through a `tokio::sync::Mutex`, so an
//! `Arc<Client>` can be shared. Every request is bounded by a timeout; a
//! connection whose reply timed out is marked broken, since the late reply
//! would otherwise be read as the answer to the next request.
//!
//! [`Client::subscribe`] turns the connection into a [`Subscription`] that
//! yields published messages.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::timeout;

use crate::protocol::{Command, Reply};
use crate::stats::StatsReport;

/// Default bound on connecting and on waiting for each reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Connection {
    lines: Lines<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
    broken: bool,
}

impl Connection {
    async fn open(addr: impl ToSocketAddrs, limit: Duration) -> io::Result<Connection> {
        let stream = timeout(limit, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(Connection {
            lines: BufReader::new(reader).lines(),
            writer,
            broken: false,
        })
    }

    async fn send(&mut self, command: &Command) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "connection is broken after an earlier timeout",
            ));
        }
        let line = format!("{}\n", command.to_line());
        self.writer.write_all(line.as_bytes()).await
    }

    async fn receive(&mut self, limit: Option<Duration>) -> io::Result<Reply> {
        let line = match limit {
            Some(limit) => match timeout(limit, self.lines.next_line()).await {
                Ok(line) => line?,
                Err(_) => {
                    self.broken = true;
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "reply timed out"));
                }
            },
            None => self.lines.next_line().await?,
        };
        let line = line.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection")
        })?;
        Reply::parse(&line).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
    }
}

/// A connection to the server.
#[derive(Debug)]
pub struct Client {
    connection: AsyncMutex<Connection>,
    request_timeout: Duration,
}

fn server_error(message: String) -> io::Error {
    io::Error::other(format!("server error: {message}"))
}

fn unexpected(reply: Reply) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected reply: {reply}"),
    )
}

impl Client {
    /// Connects with the default timeouts.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Client> {
        Client::connect_with_timeout(addr, DEFAULT_TIMEOUT).await
    }

    /// Connects; `request_timeout` bounds the connect and every reply.
    pub async fn connect_with_timeout(
        addr: impl ToSocketAddrs,
        request_timeout: Duration,
    ) -> io::Result<Client> {
        Ok(Client {
            connection: AsyncMutex::new(Connection::open(addr, request_timeout).await?),
            request_timeout,
        })
    }

    /// Sends one command and returns the reply; `ERR` replies become errors.
    pub async fn request(&self, command: &Command) -> io::Result<Reply> {
        // A WAIT legitimately takes as long as its own timeout.
        let limit = match command {
            Command::Wait { timeout, .. } => *timeout + self.request_timeout,
            _ => self.request_timeout,
        };
        let mut connection = self.connection.lock().await;
        connection.send(command).await?;
        match connection.receive(Some(limit)).await? {
            Reply::Error(message) => Err(server_error(message)),
            reply => Ok(reply),
        }
    }

    pub async fn ping(&self) -> io::Result<()> {
        match self.request(&Command::Ping(None)).await? {
            Reply::Pong(_) => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub async fn get(&self, key: &str) -> io::Result<Option<String>> {
        match self.request(&Command::Get(key.into())).await? {
            Reply::Value(value) => Ok(Some(value)),
            Reply::Nil => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    pub async fn set(&self, key: &str, value: &str) -> io::Result<()> {
        self.set_inner(key, value, None).await
    }

    /// Sets a key that expires after `ttl` (millisecond resolution).
    pub async fn set_with_ttl(&self, key: &str, value: &str, ttl: Duration) -> io::Result<()> {
        self.set_inner(key, value, Some(ttl)).await
    }

    async fn set_inner(&self, key: &str, value: &str, ttl: Option<Duration>) -> io::Result<()> {
        let command = Command::Set {
            key: key.into(),
            value: value.into(),
            ttl,
        };
        match self.request(&command).await? {
            Reply::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Deletes a key; returns whether it existed.
    pub async fn delete(&self, key: &str) -> io::Result<bool> {
        match self.request(&Command::Del(key.into())).await? {
            Reply::Int(n) => Ok(n > 0),
            other => Err(unexpected(other)),
        }
    }

    pub async fn incr(&self, key: &str) -> io::Result<i64> {
        match self.request(&Command::Incr(key.into())).await? {
            Reply::Int(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    pub async fn keys(&self) -> io::Result<Vec<String>> {
        match self.request(&Command::Keys).await? {
            Reply::Keys(keys) => Ok(keys),
            other => Err(unexpected(other)),
        }
    }

    /// Blocks (server side) until `key` has a value, or `limit` passes.
    pub async fn wait(&self, key: &str, limit: Duration) -> io::Result<Option<String>> {
        let command = Command::Wait {
            key: key.into(),
            timeout: limit,
        };
        match self.request(&command).await? {
            Reply::Value(value) => Ok(Some(value)),
            Reply::Nil => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// Publishes on a channel; returns how many subscribers received it.
    pub async fn publish(&self, channel: &str, payload: &str) -> io::Result<usize> {
        let command = Command::Publish {
            channel: channel.into(),
            payload: payload.into(),
        };
        match self.request(&command).await? {
            Reply::Int(n) => Ok(usize::try_from(n).unwrap_or(0)),
            other => Err(unexpected(other)),
        }
    }

    /// Asks the server to write a snapshot now; returns the key count.
    pub async fn save(&self) -> io::Result<usize> {
        match self.request(&Command::Save).await? {
            Reply::Saved(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    pub async fn stats(&self) -> io::Result<Vec<(String, String)>> {
        match self.request(&Command::Stats).await? {
            Reply::Stats(pairs) => Ok(pairs),
            other => Err(unexpected(other)),
        }
    }

    /// Says goodbye and closes the connection.
    pub async fn quit(self) -> io::Result<()> {
        let mut connection = self.connection.into_inner();
        connection.send(&Command::Quit).await?;
        match connection.receive(Some(self.request_timeout)).await? {
            Reply::Bye => connection.writer.shutdown().await,
            other => Err(unexpected(other)),
        }
    }

    /// Subscribes to `channel`, turning this connection into a [`Subscription`].
    pub async fn subscribe(self, channel: &str) -> io::Result<Subscription> {
        let mut subscription = Subscription {
            connection: self.connection.into_inner(),
            request_timeout: self.request_timeout,
        };
        subscription.subscribe(channel).await?;
        Ok(subscription)
    }
}

/// A connection in subscriber mode.
#[derive(Debug)]
pub struct Subscription {
    connection: Connection,
    request_timeout: Duration,
}

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: String,
    pub payload: String,
}

impl Subscription {
    /// Adds another channel to this subscription.
    pub async fn subscribe(&mut self, channel: &str) -> io::Result<()> {
        self.connection
            .send(&Command::Subscribe(channel.into()))
            .await?;
        // Messages on earlier channels may arrive before the confirmation.
        loop {
            match self.connection.receive(Some(self.request_timeout)).await? {
                Reply::Subscribed(name) if name == channel => return Ok(()),
                Reply::Message { .. } => continue,
                Reply::Error(message) => return Err(server_error(message)),
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Waits for the next message; `Ok(None)` when the server closes the stream.
    pub async fn next_message(&mut self) -> io::Result<Option<Message>> {
        match self.connection.receive(None).await {
            Ok(Reply::Message { channel, payload }) => Ok(Some(Message { channel, payload })),
            Ok(Reply::Error(message)) if message == "server shutting down" => Ok(None),
            Ok(Reply::Error(message)) => Err(server_error(message)),
            Ok(other) => Err(unexpected(other)),
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// `GET /health` on the HTTP listener: the status code and body.
pub async fn http_health(http_addr: SocketAddr) -> io::Result<(u16, String)> {
    let response = http_client()?
        .get(format!("http://{http_addr}/health"))
        .send()
        .await
        .map_err(io::Error::other)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(io::Error::other)?;
    Ok((status, body))
}

/// `GET /stats` on the HTTP listener, decoded.
pub async fn http_stats(http_addr: SocketAddr) -> io::Result<StatsReport> {
    http_client()?
        .get(format!("http://{http_addr}/stats"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(io::Error::other)?
        .json()
        .await
        .map_err(io::Error::other)
}

fn http_client() -> io::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(DEFAULT_TIMEOUT)
        .build()
        .map_err(io::Error::other)
}
