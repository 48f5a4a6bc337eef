//! Copying between streams.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::check;
use crate::cx::Cx;

const COPY_BUFFER: usize = 8 * 1024;

/// One direction of a copy: a buffer that is filled from the reader and drained into
/// the writer, remembering partial progress across `Pending`.
struct CopyBuffer {
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    read_done: bool,
    total: u64,
}

impl CopyBuffer {
    fn new() -> CopyBuffer {
        CopyBuffer::with_capacity(COPY_BUFFER)
    }

    fn with_capacity(capacity: usize) -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; capacity.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
            read_done: false,
            total: 0,
        }
    }

    /// Copies until the reader's end of stream, then flushes; returns the total.
    fn poll_copy<R, W>(
        &mut self,
        task: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.pos == self.filled && !self.read_done {
                match reader.as_mut().poll_read(task, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.read_done = true,
                    Poll::Ready(Ok(n)) => {
                        self.pos = 0;
                        self.filled = n;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // Nothing to read right now: make what was written visible.
                        std::task::ready!(writer.as_mut().poll_flush(task))?;
                        return Poll::Pending;
                    }
                }
            }
            while self.pos < self.filled {
                let n = std::task::ready!(writer
                    .as_mut()
                    .poll_write(task, &self.buf[self.pos..self.filled]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.pos += n;
                self.total += n as u64;
            }
            if self.read_done && self.pos == self.filled {
                std::task::ready!(writer.as_mut().poll_flush(task))?;
                return Poll::Ready(Ok(self.total));
            }
        }
    }
}

/// Copies everything from `reader` to `writer` until the reader's end of stream, then
/// flushes the writer; returns the number of bytes copied. Cancel-aware (bytes read
/// but not yet written when the cancel arrives are dropped).
pub async fn copy<R, W>(cx: &Cx, reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buffer = CopyBuffer::new();
    std::future::poll_fn(|task| {
        check(cx)?;
        buffer.poll_copy(task, Pin::new(&mut *reader), Pin::new(&mut *writer))
    })
    .await
}

/// Copies from a buffered reader to `writer` without an intermediate buffer (the
/// reader's buffer is written directly); returns the number of bytes copied.
/// Cancel-aware.
pub async fn copy_buf<R, W>(cx: &Cx, reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: futures_io::AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut total = 0u64;
    std::future::poll_fn(|task| loop {
        check(cx)?;
        let available = match Pin::new(&mut *reader).poll_fill_buf(task) {
            Poll::Ready(result) => result?,
            Poll::Pending => {
                std::task::ready!(Pin::new(&mut *writer).poll_flush(task))?;
                return Poll::Pending;
            }
        };
        if available.is_empty() {
            std::task::ready!(Pin::new(&mut *writer).poll_flush(task))?;
            return Poll::Ready(Ok(total));
        }
        let n = std::task::ready!(Pin::new(&mut *writer).poll_write(task, available))?;
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        Pin::new(&mut *reader).consume(n);
        total += n as u64;
    })
    .await
}

/// A reader that is always at end of stream (and a writer that accepts nothing
/// is [`sink`]).
pub fn empty() -> Empty {
    Empty
}

/// The reader of [`empty`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl futures_io::AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _: usize) {}
}

/// A writer that discards everything written to it.
pub fn sink() -> Sink {
    Sink
}

/// The writer of [`sink`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink;

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A reader that yields `byte` forever.
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

/// The reader of [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        buf.fill(self.byte);
        Poll::Ready(Ok(buf.len()))
    }
}

/// Copies both ways between `a` and `b` at once. When one side reaches end of stream,
/// the other side's write direction is shut down; returns `(a to b, b to a)` byte
/// counts once both directions are done. Cancel-aware.
pub async fn copy_bidirectional<A, B>(cx: &Cx, a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(cx, a, b, COPY_BUFFER, COPY_BUFFER).await
}

/// [`copy_bidirectional`] with the buffer size of each direction.
pub async fn copy_bidirectional_with_sizes<A, B>(
    cx: &Cx,
    a: &mut A,
    b: &mut B,
    a_to_b_size: usize,
    b_to_a_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Direction::Copying(CopyBuffer::with_capacity(a_to_b_size));
    let mut b_to_a = Direction::Copying(CopyBuffer::with_capacity(b_to_a_size));
    std::future::poll_fn(|task| {
        check(cx)?;
        let forward = a_to_b.poll(task, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let backward = b_to_a.poll(task, Pin::new(&mut *b), Pin::new(&mut *a))?;
        match (forward, backward) {
            (Poll::Ready(x), Poll::Ready(y)) => Poll::Ready(Ok((x, y))),
            _ => Poll::Pending,
        }
    })
    .await
}

enum Direction {
    Copying(CopyBuffer),
    ShuttingDown(u64),
    Done(u64),
}

impl Direction {
    fn poll<R, W>(
        &mut self,
        task: &mut Context<'_>,
        reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> io::Result<Poll<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        match self {
            Direction::Copying(buffer) => {
                match buffer.poll_copy(task, reader, writer.as_mut()) {
                    Poll::Ready(total) => *self = Direction::ShuttingDown(total?),
                    Poll::Pending => return Ok(Poll::Pending),
                }
                self.poll_shutdown(task, writer)
            }
            Direction::ShuttingDown(_) => self.poll_shutdown(task, writer),
            Direction::Done(total) => Ok(Poll::Ready(*total)),
        }
    }

    fn poll_shutdown<W: AsyncWrite + ?Sized>(
        &mut self,
        task: &mut Context<'_>,
        writer: Pin<&mut W>,
    ) -> io::Result<Poll<u64>> {
        let Direction::ShuttingDown(total) = *self else {
            return Ok(Poll::Pending);
        };
        match writer.poll_close(task) {
            Poll::Ready(result) => {
                result?;
                *self = Direction::Done(total);
                Ok(Poll::Ready(total))
            }
            Poll::Pending => Ok(Poll::Pending),
        }
    }
}
