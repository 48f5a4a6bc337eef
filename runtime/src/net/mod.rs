//! Networking: TCP, UDP and Unix-domain sockets on the runtime's reactor.
//!
//! The shapes are Tokio's with `&cx` first wherever an operation waits
//! (`TcpListener::bind(&cx, addr).await`, `listener.accept(&cx).await`,
//! `TcpStream::connect(&cx, addr).await`, `socket.recv_from(&cx, &mut buf).await`).
//! Every waiting operation is cancel-aware: once its task is asked to stop it returns
//! an `io::Error` of kind `Interrupted` built from [`Cancelled`](crate::Cancelled),
//! and it gives up nothing it had already received (a datagram or connection is either
//! returned or still queued in the kernel).
//!
//! The stream types implement the runtime-neutral `futures_io::{AsyncRead,
//! AsyncWrite}`; the cancel-aware reading and writing helpers (`read`, `write_all`,
//! `read_line`, ...) come from the extension traits in [`crate::io`].
//!
//! ```
//! use asupersync::io::{AsyncReadExt, AsyncWriteExt};
//! use asupersync::net::{TcpListener, TcpStream};
//! use asupersync::RuntimeBuilder;
//!
//! let rt = RuntimeBuilder::current_thread().build().unwrap();
//! let echoed = rt.block_on(|cx| async move {
//!     let listener = TcpListener::bind(&cx, "127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     // The server task is owned by the root region, which waits for it.
//!     cx.spawn(move |cx| async move {
//!         let (mut stream, _) = listener.accept(&cx).await?;
//!         let mut buf = [0u8; 64];
//!         let n = stream.read(&cx, &mut buf).await?;
//!         stream.write_all(&cx, &buf[..n]).await
//!     });
//!     let mut client = TcpStream::connect(&cx, addr).await?;
//!     client.write_all(&cx, b"ping").await?;
//!     let mut reply = [0u8; 4];
//!     client.read_exact(&cx, &mut reply).await?;
//!     Ok::<_, std::io::Error>(reply)
//! });
//! assert_eq!(&echoed.unwrap().unwrap(), b"ping");
//! ```
//!
//! Addresses are resolved with `std::net::ToSocketAddrs`, which is immediate for IP
//! literals (the common case for servers) but blocks for host names; resolve names
//! with `task::spawn_blocking` first if that matters.

pub mod tcp;
mod udp;
pub mod unix;

pub use tcp::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpListener, TcpStream, WriteHalf,
};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::cx::Cx;

/// Resolves `host` (for example `"example.com:443"`) to socket addresses, on the
/// blocking pool (name resolution blocks). Cancel-aware before it starts.
pub async fn lookup_host(
    cx: &Cx,
    host: impl ToSocketAddrs + Send + 'static,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    let addrs = crate::fs::asyncify(cx, move || {
        host.to_socket_addrs().map(|a| a.collect::<Vec<_>>())
    })
    .await?;
    Ok(addrs.into_iter())
}

/// Resolves `addr` and tries `f` on each address until one succeeds.
fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        match f(addr) {
            Ok(v) => return Ok(v),
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
