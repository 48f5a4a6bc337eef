//! IO across the boundary, both ways.
//!
//! Native IO types implement the runtime-neutral `futures-io` traits; Tokio-only crates
//! want `tokio::io::{AsyncRead, AsyncWrite}`. The two families differ only in how a read
//! buffer is described (`&mut [u8]` against Tokio's `ReadBuf`) and in the name of the
//! shutdown call (`poll_close` against `poll_shutdown`), so the adapters are thin and
//! hold no buffer of their own:
//!
//! - [`IntoTokio`] wraps a `futures-io` type (a native `TcpStream`, an in-memory pipe)
//!   so Tokio code can use it — hand it to `hyper`, `tokio-util` codecs, `tokio::io::copy`.
//! - [`FromTokio`] wraps a Tokio IO type so native code (and anything written against
//!   `futures-io`) can use it.
//!
//! Neither adapter needs a Tokio runtime context of its own: readiness comes from the
//! wrapped type. Cancellation stays with the caller: dropping a pending read or write
//! loses nothing, because both trait families report progress only on completion.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::ReadBuf;

pin_project! {
    /// A Tokio IO type seen through the `futures-io` traits.
    #[derive(Debug)]
    pub struct FromTokio<T> {
        #[pin]
        inner: T,
    }
}

pin_project! {
    /// A `futures-io` type (native IO) seen through Tokio's IO traits.
    #[derive(Debug)]
    pub struct IntoTokio<T> {
        #[pin]
        inner: T,
    }
}

macro_rules! wrapper_methods {
    ($name:ident) => {
        impl<T> $name<T> {
            /// Wraps `inner`.
            pub fn new(inner: T) -> Self {
                $name { inner }
            }

            /// The wrapped value.
            pub fn get_ref(&self) -> &T {
                &self.inner
            }

            /// The wrapped value, mutably.
            pub fn get_mut(&mut self) -> &mut T {
                &mut self.inner
            }

            /// Unwraps.
            pub fn into_inner(self) -> T {
                self.inner
            }
        }
    };
}

wrapper_methods!(FromTokio);
wrapper_methods!(IntoTokio);

impl<T: tokio::io::AsyncRead> futures_io::AsyncRead for FromTokio<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, &mut read_buf))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: tokio::io::AsyncWrite> futures_io::AsyncWrite for FromTokio<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

impl<T: tokio::io::AsyncBufRead> futures_io::AsyncBufRead for FromTokio<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

impl<T: futures_io::AsyncRead> tokio::io::AsyncRead for IntoTokio<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // `futures-io` reads into initialized memory; Tokio tracks how much of its
        // buffer is initialized, so after the first read this zeroes nothing.
        let n = ready!(self
            .project()
            .inner
            .poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite> tokio::io::AsyncWrite for IntoTokio<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

impl<T: futures_io::AsyncBufRead> tokio::io::AsyncBufRead for IntoTokio<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}
