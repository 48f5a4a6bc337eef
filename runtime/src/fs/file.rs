//! `File`: an open file whose reads and writes run on the blocking pool.

use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::asyncify;
use crate::cx::Cx;
use crate::runtime::shared::RuntimeShared;
use crate::task::blocking::BlockingJob;

/// The largest chunk one pool job reads or writes.
const MAX_CHUNK: usize = 64 * 1024;

/// An open file. Implements `futures_io::{AsyncRead, AsyncWrite, AsyncSeek}`; use the
/// cancel-aware [`AsyncReadExt`](crate::io::AsyncReadExt) /
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt) methods with it.
///
/// As with Tokio's `File`, a write returns once its bytes are handed to the pool: call
/// `flush(&cx)` (or `shutdown(&cx)`) to wait for them to reach the OS and to see a
/// write error. An operation in flight when the `File` is dropped still completes on
/// the pool.
pub struct File {
    std: Arc<std::fs::File>,
    rt: Arc<RuntimeShared>,
    state: State,
    /// The error of a background write, reported by the next operation.
    last_write_error: Option<io::Error>,
}

#[derive(Debug)]
enum State {
    /// No operation in flight; `buf[pos..]` holds bytes read ahead.
    Idle {
        buf: Vec<u8>,
        pos: usize,
    },
    Busy(Op),
}

enum Op {
    Read(BlockingJob<(Vec<u8>, io::Result<usize>)>),
    Write(BlockingJob<(Vec<u8>, io::Result<()>)>),
    Seek(BlockingJob<(Vec<u8>, io::Result<u64>)>),
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Read(_) => "Read",
            Op::Write(_) => "Write",
            Op::Seek(_) => "Seek",
        })
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl File {
    /// Opens a file for reading.
    pub async fn open(cx: &Cx, path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(cx, path).await
    }

    /// Creates (or truncates) a file for writing.
    pub async fn create(cx: &Cx, path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(cx, path)
            .await
    }

    /// Wraps an open std file.
    pub fn from_std(cx: &Cx, file: std::fs::File) -> File {
        File {
            std: Arc::new(file),
            rt: cx.runtime().clone(),
            state: State::Idle {
                buf: Vec::new(),
                pos: 0,
            },
            last_write_error: None,
        }
    }

    /// Metadata of the open file.
    pub async fn metadata(&self, cx: &Cx) -> io::Result<std::fs::Metadata> {
        let std = self.std.clone();
        asyncify(cx, move || std.metadata()).await
    }

    /// Flushes pending writes, then `fsync`s data and metadata.
    pub async fn sync_all(&mut self, cx: &Cx) -> io::Result<()> {
        crate::io::AsyncWriteExt::flush(self, cx).await?;
        let std = self.std.clone();
        asyncify(cx, move || std.sync_all()).await
    }

    /// Flushes pending writes, then truncates or extends the file to `size` bytes.
    pub async fn set_len(&mut self, cx: &Cx, size: u64) -> io::Result<()> {
        crate::io::AsyncWriteExt::flush(self, cx).await?;
        let std = self.std.clone();
        asyncify(cx, move || std.set_len(size)).await
    }

    /// Waits for the operation in flight. A finished read's bytes stay in the idle
    /// buffer as read-ahead (a following write or seek steps back over them); a
    /// background write's error is returned once.
    fn poll_idle(&mut self, task: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Busy(op) = &self.state {
            let (mut buf, result) = match op {
                Op::Read(job) => {
                    let (buf, result) = unwrap(std::task::ready!(job.poll_result(task)));
                    (buf, result.map(Some))
                }
                Op::Write(job) => {
                    let (buf, result) = unwrap(std::task::ready!(job.poll_result(task)));
                    (buf, result.map(|()| None::<usize>))
                }
                Op::Seek(job) => {
                    let (buf, result) = unwrap(std::task::ready!(job.poll_result(task)));
                    (buf, result.map(|_| None::<usize>))
                }
            };
            buf.truncate(result.as_ref().ok().copied().flatten().unwrap_or(0));
            self.state = State::Idle { buf, pos: 0 };
            result?;
        }
        if let Some(e) = self.last_write_error.take() {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(()))
    }

    fn take_idle_buf(&mut self) -> Vec<u8> {
        match std::mem::replace(
            &mut self.state,
            State::Idle {
                buf: Vec::new(),
                pos: 0,
            },
        ) {
            State::Idle { mut buf, .. } => {
                buf.clear();
                buf
            }
            State::Busy(_) => unreachable!("only called when idle"),
        }
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Idle { buf, pos } if *pos < buf.len() => {
                    let n = out.len().min(buf.len() - *pos);
                    out[..n].copy_from_slice(&buf[*pos..*pos + n]);
                    *pos += n;
                    return Poll::Ready(Ok(n));
                }
                State::Idle { .. } => {
                    if let Some(e) = this.last_write_error.take() {
                        return Poll::Ready(Err(e));
                    }
                    if out.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut buf = this.take_idle_buf();
                    let want = out.len().min(MAX_CHUNK);
                    let std = this.std.clone();
                    this.state = State::Busy(Op::Read(BlockingJob::submit(&this.rt, move |_| {
                        buf.resize(want, 0);
                        let result = loop {
                            match (&*std).read(&mut buf) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                other => break other,
                            }
                        };
                        (buf, result)
                    })));
                }
                State::Busy(Op::Read(job)) => {
                    let (mut buf, result) = unwrap(std::task::ready!(job.poll_result(task)));
                    let n = *result.as_ref().unwrap_or(&0);
                    buf.truncate(n);
                    this.state = State::Idle { buf, pos: 0 };
                    match result {
                        Ok(0) => return Poll::Ready(Ok(0)),
                        Ok(_) => {}
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                State::Busy(_) => std::task::ready!(this.poll_idle(task))?,
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_idle(task))?;
        let unread = match &this.state {
            State::Idle { buf, pos } => buf.len() - pos,
            State::Busy(_) => 0,
        };
        let mut buf = this.take_idle_buf();
        let n = data.len().min(MAX_CHUNK);
        buf.extend_from_slice(&data[..n]);
        let std = this.std.clone();
        this.state = State::Busy(Op::Write(BlockingJob::submit(&this.rt, move |_| {
            // Bytes read ahead but not consumed: step back over them first so the
            // write lands where the reader is.
            let mut result = Ok(());
            if unread > 0 {
                result = (&*std)
                    .seek(io::SeekFrom::Current(-(unread as i64)))
                    .map(|_| ());
            }
            if result.is_ok() {
                result = (&*std).write_all(&buf);
            }
            (buf, result)
        })));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.poll_idle(task)
    }

    fn poll_close(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(task)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        pos: io::SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            if let State::Busy(Op::Seek(job)) = &this.state {
                let (buf, result) = std::task::ready!(job.poll_result(task))
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                this.state = State::Idle { buf, pos: 0 };
                return Poll::Ready(result);
            }
            std::task::ready!(this.poll_idle(task))?;
            let unread = match &this.state {
                State::Idle { buf, pos } => (buf.len() - pos) as i64,
                State::Busy(_) => 0,
            };
            let buf = this.take_idle_buf();
            let target = match pos {
                io::SeekFrom::Current(offset) => io::SeekFrom::Current(offset - unread),
                other => other,
            };
            let std = this.std.clone();
            this.state = State::Busy(Op::Seek(BlockingJob::submit(&this.rt, move |_| {
                let result = (&*std).seek(target);
                (buf, result)
            })));
        }
    }
}

/// A pool job's value, or its panic re-raised in the caller.
fn unwrap<T>(result: std::thread::Result<T>) -> T {
    result.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// Options for opening a file (Tokio's `OpenOptions`, with `&cx` on `open`).
#[derive(Debug, Clone)]
pub struct OpenOptions(std::fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off.
    pub fn new() -> Self {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.0.read(on);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.0.write(on);
        self
    }

    /// Writes append to the end.
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.0.append(on);
        self
    }

    /// Truncate to length 0 on open.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.0.truncate(on);
        self
    }

    /// Create if missing.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.0.create(on);
        self
    }

    /// Create, failing if the file exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.0.create_new(on);
        self
    }

    /// Opens `path` with these options.
    pub async fn open(&self, cx: &Cx, path: impl AsRef<Path>) -> io::Result<File> {
        let options = self.0.clone();
        let path = path.as_ref().to_owned();
        let std = asyncify(cx, move || options.open(path)).await?;
        Ok(File::from_std(cx, std))
    }
}
