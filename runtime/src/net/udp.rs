//! UDP sockets.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use super::each_addr;
use crate::cx::Cx;
use crate::io::cancel_aware;
use crate::reactor::{Direction, PollEvented};

/// A UDP socket. Every method takes `&self`, so one socket can be shared (in an `Arc`)
/// by a receiving and a sending task; several tasks may wait on the same direction.
#[derive(Debug)]
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first resolved address that binds).
    pub async fn bind(cx: &Cx, addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        cx.checkpoint()?;
        let socket = each_addr(addr, mio::net::UdpSocket::bind)?;
        Ok(UdpSocket {
            io: PollEvented::new(cx, socket)?,
        })
    }

    /// Wraps a bound std socket (it is switched to non-blocking mode).
    pub fn from_std(cx: &Cx, socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollEvented::new(cx, mio::net::UdpSocket::from_std(socket))?,
        })
    }

    /// Sets the default destination for [`send`](UdpSocket::send) and the only source
    /// [`recv`](UdpSocket::recv) accepts.
    pub async fn connect(&self, cx: &Cx, addr: impl ToSocketAddrs) -> io::Result<()> {
        cx.checkpoint()?;
        each_addr(addr, |addr| self.io.get_ref().connect(addr))
    }

    /// Sends `buf` to `target`; returns the bytes sent. Cancel-aware.
    pub async fn send_to(
        &self,
        cx: &Cx,
        buf: &[u8],
        target: impl ToSocketAddrs,
    ) -> io::Result<usize> {
        let target = each_addr(target, Ok)?;
        cancel_aware(cx, |task| {
            self.io
                .poll_io(Direction::Write, task, |s| s.send_to(buf, target))
        })
        .await
    }

    /// Receives one datagram into `buf`; returns its length and sender. Cancel-aware:
    /// a cancelled receive leaves the datagram queued.
    pub async fn recv_from(&self, cx: &Cx, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        cancel_aware(cx, |task| {
            self.io.poll_io(Direction::Read, task, |s| s.recv_from(buf))
        })
        .await
    }

    /// Sends `buf` to the connected peer. Cancel-aware.
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

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }
}
