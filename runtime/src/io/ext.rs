//! The cancel-aware extension traits (Tokio's method names with `&cx` first).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::check;
use crate::cx::Cx;

/// Reading methods for every [`AsyncRead`]; see the [module docs](crate::io) for what
/// a cancelled read keeps.
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; `Ok(0)` at end of stream.
    fn read<'a>(&'a mut self, cx: &'a Cx, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read {
            reader: self,
            cx,
            buf,
        }
    }

    /// Fills `buf` completely; `UnexpectedEof` if the stream ends first.
    fn read_exact<'a>(&'a mut self, cx: &'a Cx, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            cx,
            buf,
            filled: 0,
        }
    }

    /// Appends everything up to end of stream to `buf`; returns the count.
    fn read_to_end<'a>(&'a mut self, cx: &'a Cx, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start = buf.len();
        ReadToEnd {
            reader: self,
            cx,
            buf,
            start,
        }
    }

    /// Appends everything up to end of stream to `buf` (which must stay valid UTF-8);
    /// returns the count of bytes.
    fn read_to_string<'a>(&'a mut self, cx: &'a Cx, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        let bytes = std::mem::take(buf).into_bytes();
        ReadToString {
            reader: self,
            cx,
            start: bytes.len(),
            bytes,
            out: buf,
        }
    }

    /// A reader that yields at most `limit` bytes of this one.
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take { inner: self, limit }
    }

    /// A reader that yields this one to its end, then `next`.
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain {
            first: self,
            second: next,
            first_done: false,
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The reader of [`AsyncReadExt::take`].
#[derive(Debug)]
pub struct Take<R> {
    inner: R,
    limit: u64,
}

impl<R> Take<R> {
    /// Bytes left before this reader reports end of stream.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Changes the limit.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Take<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.limit == 0 {
            return Poll::Ready(Ok(0));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.limit).unwrap_or(usize::MAX));
        let n = std::task::ready!(Pin::new(&mut self.inner).poll_read(task, &mut buf[..max]))?;
        self.limit -= n as u64;
        Poll::Ready(Ok(n))
    }
}

/// The reader of [`AsyncReadExt::chain`].
#[derive(Debug)]
pub struct Chain<A, B> {
    first: A,
    second: B,
    first_done: bool,
}

impl<A, B> Chain<A, B> {
    /// The two readers.
    pub fn into_inner(self) -> (A, B) {
        (self.first, self.second)
    }
}

impl<A: AsyncRead + Unpin, B: AsyncRead + Unpin> AsyncRead for Chain<A, B> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.first_done {
            let n = std::task::ready!(Pin::new(&mut self.first).poll_read(task, buf))?;
            if n > 0 || buf.is_empty() {
                return Poll::Ready(Ok(n));
            }
            self.first_done = true;
        }
        Pin::new(&mut self.second).poll_read(task, buf)
    }
}

/// Writing methods for every [`AsyncWrite`].
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `buf`; returns how much.
    fn write<'a>(&'a mut self, cx: &'a Cx, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write {
            writer: self,
            cx,
            buf,
        }
    }

    /// Writes all of `buf`.
    fn write_all<'a>(&'a mut self, cx: &'a Cx, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll {
            writer: self,
            cx,
            buf,
        }
    }

    /// Flushes buffered data to the underlying stream.
    fn flush<'a>(&'a mut self, cx: &'a Cx) -> Flush<'a, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self, cx }
    }

    /// Flushes, then shuts down the write direction (`poll_close`): the peer reads
    /// end of stream.
    fn shutdown<'a>(&'a mut self, cx: &'a Cx) -> Shutdown<'a, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self, cx }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// Line-oriented methods for every [`AsyncBufRead`].
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Appends bytes up to and including `byte` (or end of stream) to `buf`; returns
    /// the count (`0` at end of stream).
    fn read_until<'a>(
        &'a mut self,
        cx: &'a Cx,
        byte: u8,
        buf: &'a mut Vec<u8>,
    ) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            cx,
            byte,
            buf,
            read: 0,
        }
    }

    /// Appends one line, newline included, to `buf`; returns the count of bytes (`0`
    /// at end of stream).
    fn read_line<'a>(&'a mut self, cx: &'a Cx, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        let bytes = std::mem::take(buf).into_bytes();
        ReadLine {
            reader: self,
            cx,
            start: bytes.len(),
            bytes,
            read: 0,
            out: buf,
        }
    }

    /// The lines of this reader, without their `\n` / `\r\n`.
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines {
            reader: self,
            line: Vec::new(),
        }
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Future of [`AsyncReadExt::read`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    cx: &'a Cx,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let this = &mut *self;
        Pin::new(&mut *this.reader).poll_read(task, this.buf)
    }
}

/// Future of [`AsyncReadExt::read_exact`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    cx: &'a Cx,
    buf: &'a mut [u8],
    filled: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let this = &mut *self;
        while this.filled < this.buf.len() {
            let n = std::task::ready!(
                Pin::new(&mut *this.reader).poll_read(task, &mut this.buf[this.filled..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            this.filled += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// Reads into the spare capacity of `buf` until end of stream, keeping every byte
/// read in `buf` whatever happens.
pub(crate) fn poll_read_to_end<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    task: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    loop {
        if buf.capacity() - buf.len() < 32 {
            buf.reserve(buf.len().clamp(32, 64 * 1024));
        }
        let len = buf.len();
        buf.resize(buf.capacity(), 0);
        let result = Pin::new(&mut *reader).poll_read(task, &mut buf[len..]);
        match result {
            Poll::Ready(Ok(0)) => {
                buf.truncate(len);
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok(n)) => buf.truncate(len + n),
            Poll::Ready(Err(e)) => {
                buf.truncate(len);
                return Poll::Ready(Err(e));
            }
            Poll::Pending => {
                buf.truncate(len);
                return Poll::Pending;
            }
        }
    }
}

/// Future of [`AsyncReadExt::read_to_end`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    cx: &'a Cx,
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let this = &mut *self;
        std::task::ready!(poll_read_to_end(this.reader, task, this.buf))?;
        Poll::Ready(Ok(this.buf.len() - this.start))
    }
}

/// Moves `bytes` back into `out`: all of them when valid UTF-8, else the valid prefix
/// (never less than `start`, which was valid when taken). Returns whether all fit.
fn restore_string(out: &mut String, bytes: &mut Vec<u8>, start: usize) -> bool {
    let taken = std::mem::take(bytes);
    match String::from_utf8(taken) {
        Ok(s) => {
            *out = s;
            true
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to().max(start);
            let mut taken = e.into_bytes();
            taken.truncate(valid);
            *out = String::from_utf8(taken).unwrap_or_default();
            false
        }
    }
}

/// Future of [`AsyncReadExt::read_to_string`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadToString<'a, R: ?Sized> {
    reader: &'a mut R,
    cx: &'a Cx,
    bytes: Vec<u8>,
    start: usize,
    out: &'a mut String,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Err(e) = check(this.cx) {
            restore_string(this.out, &mut this.bytes, this.start);
            return Poll::Ready(Err(e));
        }
        let result = std::task::ready!(poll_read_to_end(this.reader, task, &mut this.bytes));
        let read = this.bytes.len() - this.start;
        let valid = restore_string(this.out, &mut this.bytes, this.start);
        Poll::Ready(match result {
            Err(e) => Err(e),
            Ok(()) if valid => Ok(read),
            Ok(()) => {
                this.out.truncate(this.start);
                Err(invalid_utf8())
            }
        })
    }
}

impl<R: ?Sized> Drop for ReadToString<'_, R> {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            restore_string(self.out, &mut self.bytes, self.start);
        }
    }
}

fn invalid_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}

/// Future of [`AsyncWriteExt::write`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Write<'a, W: ?Sized> {
    writer: &'a mut W,
    cx: &'a Cx,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let this = &mut *self;
        Pin::new(&mut *this.writer).poll_write(task, this.buf)
    }
}

/// Future of [`AsyncWriteExt::write_all`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct WriteAll<'a, W: ?Sized> {
    writer: &'a mut W,
    cx: &'a Cx,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let this = &mut *self;
        while !this.buf.is_empty() {
            let n = std::task::ready!(Pin::new(&mut *this.writer).poll_write(task, this.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.buf = &this.buf[n..];
        }
        Poll::Ready(Ok(()))
    }
}

/// Future of [`AsyncWriteExt::flush`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Flush<'a, W: ?Sized> {
    writer: &'a mut W,
    cx: &'a Cx,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        Pin::new(&mut *self.writer).poll_flush(task)
    }
}

/// Future of [`AsyncWriteExt::shutdown`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Shutdown<'a, W: ?Sized> {
    writer: &'a mut W,
    cx: &'a Cx,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        Pin::new(&mut *self.writer).poll_close(task)
    }
}

/// Appends to `buf` up to and including `byte`; `read` counts what was appended across
/// polls. Every byte consumed from the reader is in `buf`.
fn poll_read_until<R: AsyncBufRead + Unpin + ?Sized>(
    reader: &mut R,
    task: &mut Context<'_>,
    byte: u8,
    buf: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (done, used) = {
            let available = std::task::ready!(Pin::new(&mut *reader).poll_fill_buf(task))?;
            match available.iter().position(|&b| b == byte) {
                Some(i) => {
                    buf.extend_from_slice(&available[..=i]);
                    (true, i + 1)
                }
                None => {
                    buf.extend_from_slice(available);
                    (available.is_empty(), available.len())
                }
            }
        };
        Pin::new(&mut *reader).consume(used);
        *read += used;
        if done {
            return Poll::Ready(Ok(std::mem::take(read)));
        }
    }
}

/// Future of [`AsyncBufReadExt::read_until`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadUntil<'a, R: ?Sized> {
    reader: &'a mut R,
    cx: &'a Cx,
    byte: u8,
    buf: &'a mut Vec<u8>,
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntil<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let this = &mut *self;
        poll_read_until(this.reader, task, this.byte, this.buf, &mut this.read)
    }
}

/// Future of [`AsyncBufReadExt::read_line`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadLine<'a, R: ?Sized> {
    reader: &'a mut R,
    cx: &'a Cx,
    bytes: Vec<u8>,
    start: usize,
    read: usize,
    out: &'a mut String,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLine<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Err(e) = check(this.cx) {
            restore_string(this.out, &mut this.bytes, this.start);
            return Poll::Ready(Err(e));
        }
        let result = std::task::ready!(poll_read_until(
            this.reader,
            task,
            b'\n',
            &mut this.bytes,
            &mut this.read
        ));
        let valid = restore_string(this.out, &mut this.bytes, this.start);
        Poll::Ready(match result {
            Err(e) => Err(e),
            Ok(n) if valid => Ok(n),
            Ok(_) => {
                this.out.truncate(this.start);
                Err(invalid_utf8())
            }
        })
    }
}

impl<R: ?Sized> Drop for ReadLine<'_, R> {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            restore_string(self.out, &mut self.bytes, self.start);
        }
    }
}

/// The lines of an [`AsyncBufRead`], from [`AsyncBufReadExt::lines`].
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    /// The line read so far; survives a cancelled `next_line`.
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// The next line without its line ending, or `None` at end of stream.
    /// Cancel-safe: a partial line stays buffered and the next call continues it.
    pub async fn next_line(&mut self, cx: &Cx) -> io::Result<Option<String>> {
        let mut read = 0;
        std::future::poll_fn(|task| {
            check(cx)?;
            poll_read_until(&mut self.reader, task, b'\n', &mut self.line, &mut read)
        })
        .await?;
        if self.line.is_empty() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        String::from_utf8(line)
            .map(Some)
            .map_err(|_| invalid_utf8())
    }

    /// The underlying reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The underlying reader (a partial line still buffered here is dropped).
    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// Seeking for every [`AsyncSeek`] (files).
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the cursor; returns the new position from the start.
    fn seek<'a>(&'a mut self, cx: &'a Cx, position: io::SeekFrom) -> Seek<'a, Self>
    where
        Self: Unpin,
    {
        Seek {
            seeker: self,
            cx,
            position,
        }
    }

    /// The current position from the start.
    fn stream_position<'a>(&'a mut self, cx: &'a Cx) -> Seek<'a, Self>
    where
        Self: Unpin,
    {
        self.seek(cx, io::SeekFrom::Current(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// Future of [`AsyncSeekExt::seek`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Seek<'a, S: ?Sized> {
    seeker: &'a mut S,
    cx: &'a Cx,
    position: io::SeekFrom,
}

impl<S: AsyncSeek + Unpin + ?Sized> Future for Seek<'_, S> {
    type Output = io::Result<u64>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        check(self.cx)?;
        let position = self.position;
        Pin::new(&mut *self.seeker).poll_seek(task, position)
    }
}
