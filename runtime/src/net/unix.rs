//! Unix-domain stream and datagram sockets.
//!
//! Split a `UnixStream` with [`crate::io::split`].

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::cx::Cx;
use crate::io::cancel_aware;
use crate::reactor::{Direction, PollEvented};

/// A Unix-domain socket server.
#[derive(Debug)]
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist) and listens.
    pub fn bind(cx: &Cx, path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollEvented::new(cx, mio::net::UnixListener::bind(path)?)?,
        })
    }

    /// Waits for a connection. Cancel-aware: a pending connection stays queued.
    pub async fn accept(&self, cx: &Cx) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = cancel_aware(cx, |task| {
            self.io.poll_io(Direction::Read, task, |l| l.accept())
        })
        .await?;
        Ok((UnixStream::from_mio(cx, stream)?, addr))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// A Unix-domain stream connection; implements the futures-io traits.
#[derive(Debug)]
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`. Cancel-aware.
    pub async fn connect(cx: &Cx, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        cx.checkpoint()?;
        let stream = UnixStream::from_mio(cx, mio::net::UnixStream::connect(path)?)?;
        cancel_aware(cx, |task| {
            stream
                .io
                .poll_io(Direction::Write, task, |s| match s.take_error()? {
                    Some(e) => Err(e),
                    None => Ok(()),
                })
        })
        .await?;
        Ok(stream)
    }

    /// A connected pair of streams.
    pub fn pair(cx: &Cx) -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(cx, a)?, UnixStream::from_mio(cx, b)?))
    }

    fn from_mio(cx: &Cx, stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(cx, stream)?,
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both directions.
    pub fn shutdown_std(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(task, buf)
    }
}

impl AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(task, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.io.get_ref().shutdown(std::net::Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}

/// A Unix-domain datagram socket. Every method takes `&self`.
#[derive(Debug)]
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to `path` (which must not exist).
    pub fn bind(cx: &Cx, path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(cx, mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies once connected).
    pub fn unbound(cx: &Cx) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(cx, mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets.
    pub fn pair(cx: &Cx) -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((
            UnixDatagram::from_mio(cx, a)?,
            UnixDatagram::from_mio(cx, b)?,
        ))
    }

    fn from_mio(cx: &Cx, socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(cx, socket)?,
        })
    }

    /// Sets the default destination for `send` and the only source `recv` accepts.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends one datagram to `target`. Cancel-aware.
    pub async fn send_to(
        &self,
        cx: &Cx,
        buf: &[u8],
        target: impl AsRef<Path>,
    ) -> io::Result<usize> {
        let target = target.as_ref();
        cancel_aware(cx, |task| {
            self.io
                .poll_io(Direction::Write, task, |s| s.send_to(buf, target))
        })
        .await
    }

    /// Receives one datagram and its sender's address. Cancel-aware.
    pub async fn recv_from(&self, cx: &Cx, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        cancel_aware(cx, |task| {
            self.io.poll_io(Direction::Read, task, |s| s.recv_from(buf))
        })
        .await
    }

    /// Sends one datagram to the connected peer. Cancel-aware.
    pub async fn send(&self, cx: &Cx, buf: &[u8]) -> io::Result<usize> {
        cancel_aware(cx, |task| {
            self.io.poll_io(Direction::Write, task, |s| s.send(buf))
        })
        .await
    }

    /// Receives one datagram from the connected peer. Cancel-aware.
    pub async fn recv(&self, cx: &Cx, buf: &mut [u8]) -> io::Result<usize> {
        cancel_aware(cx, |task| {
            self.io.poll_io(Direction::Read, task, |s| s.recv(buf))
        })
        .await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}
