//! TCP listeners and streams, and the halves of a split stream.

use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::each_addr;
use crate::cx::Cx;
use crate::io::cancel_aware;
use crate::reactor::{Direction, PollEvented};

/// A TCP socket server, listening for connections.
#[derive(Debug)]
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first resolved address that binds) and listens.
    pub async fn bind(cx: &Cx, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        cx.checkpoint()?;
        let listener = each_addr(addr, mio::net::TcpListener::bind)?;
        Ok(TcpListener {
            io: PollEvented::new(cx, listener)?,
        })
    }

    /// Wraps a bound std listener (it is switched to non-blocking mode).
    pub fn from_std(cx: &Cx, listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::new(cx, mio::net::TcpListener::from_std(listener))?,
        })
    }

    /// Waits for a connection. Cancel-aware: a cancelled accept leaves any pending
    /// connection queued for the next accept.
    pub async fn accept(&self, cx: &Cx) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = cancel_aware(cx, |task| self.poll_accept_raw(task)).await?;
        Ok((TcpStream::from_mio(cx, stream)?, addr))
    }

    fn poll_accept_raw(
        &self,
        task: &mut Context<'_>,
    ) -> Poll<io::Result<(mio::net::TcpStream, SocketAddr)>> {
        self.io.poll_io(Direction::Read, task, |l| l.accept())
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The `IP_TTL` of the listening socket.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

/// A TCP connection.
///
/// Implements `futures_io::{AsyncRead, AsyncWrite}`; read and write it with the
/// cancel-aware [`AsyncReadExt`](crate::io::AsyncReadExt) /
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt) methods (`stream.read(&cx, &mut buf)`).
#[derive(Debug)]
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn. Cancel-aware: a
    /// cancelled connect closes the half-open socket.
    pub async fn connect(cx: &Cx, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        cx.checkpoint()?;
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let mut last_error = None;
        for addr in addrs {
            match TcpStream::connect_addr(cx, addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::Interrupted && cx.is_cancel_requested() => {
                    return Err(e)
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any address",
            )
        }))
    }

    async fn connect_addr(cx: &Cx, addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(cx, mio::net::TcpStream::connect(addr)?)?;
        cancel_aware(cx, |task| {
            // A non-blocking connect completes when the socket becomes writable: the
            // outcome is then in SO_ERROR, or the peer address is known. Writable
            // before the handshake finished counts as `WouldBlock` (wait again).
            stream.io.poll_io(Direction::Write, task, |socket| {
                if let Some(e) = socket.take_error()? {
                    return Err(e);
                }
                match socket.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    fn from_mio(cx: &Cx, stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(cx, stream)?,
        })
    }

    /// Wraps a connected std stream (it is switched to non-blocking mode).
    pub fn from_std(cx: &Cx, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(cx, mio::net::TcpStream::from_std(stream))
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Shuts down the read, write or both halves of the connection at once (the
    /// [`AsyncWriteExt::shutdown`](crate::io::AsyncWriteExt::shutdown) of a stream
    /// shuts down the write half).
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads without removing the data from the queue. Cancel-aware.
    pub async fn peek(&self, cx: &Cx, buf: &mut [u8]) -> io::Result<usize> {
        cancel_aware(cx, |task| {
            self.io.poll_io(Direction::Read, task, |s| s.peek(buf))
        })
        .await
    }

    /// Borrowed read and write halves, usable from two futures at once (for example
    /// in `join!`). Zero cost.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned read and write halves that can move into different tasks. Dropping the
    /// write half shuts down the write direction, as Tokio's does.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf {
                stream,
                shutdown_on_drop: true,
            },
        )
    }

    fn poll_read_inner(&self, task: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read(task, buf)
    }

    fn poll_write_inner(&self, task: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write(task, buf)
    }

    fn poll_write_vectored_inner(
        &self,
        task: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(task, bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self.io.get_ref().shutdown(Shutdown::Write) {
            // Already shut down or reset by the peer: the write side is closed either way.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

/// Implements the futures-io traits for a type that reaches a `TcpStream` through
/// `$stream` (the stream itself, or a half).
macro_rules! stream_io {
    ($ty:ty, |$this:ident| $stream:expr) => {
        impl AsyncRead for $ty {
            #[inline]
            fn poll_read(
                self: Pin<&mut Self>,
                task: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_inner(task, buf)
            }
        }
    };
    (write $ty:ty, |$this:ident| $stream:expr) => {
        impl AsyncWrite for $ty {
            #[inline]
            fn poll_write(
                self: Pin<&mut Self>,
                task: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_inner(task, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                task: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_vectored_inner(task, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Writes go straight to the kernel: nothing is buffered here.
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $this = &*self;
                Poll::Ready($stream.shutdown_write())
            }
        }
    };
}

stream_io!(TcpStream, |s| s);
stream_io!(write TcpStream, |s| s);

/// The read half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);
/// The write half of [`TcpStream::split`]; closing it shuts down the write direction.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

stream_io!(ReadHalf<'_>, |h| h.0);
stream_io!(write WriteHalf<'_>, |h| h.0);

/// The owned read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The owned write half of [`TcpStream::into_split`]. Dropping it shuts down the write
/// direction (the peer reads end-of-file).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same TcpStream")
    }
}

impl std::error::Error for ReuniteError {}

impl OwnedReadHalf {
    /// Puts the halves of [`TcpStream::into_split`] back together.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        let mut write = other;
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Arc::try_unwrap(self.stream).unwrap_or_else(|_| {
            unreachable!("both halves were given, so no other reference remains")
        }))
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf {
    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Drops the half without shutting down the write direction.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.stream.shutdown_write();
        }
    }
}

stream_io!(OwnedReadHalf, |h| h.stream);
stream_io!(write OwnedWriteHalf, |h| h.stream);
