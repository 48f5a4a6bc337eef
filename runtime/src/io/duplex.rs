//! An in-memory, bounded, bidirectional pipe (Tokio's `duplex`), for tests and for
//! connecting two pieces of IO code without a socket.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

use crate::task::core::lock;

/// Two connected streams; each direction buffers up to `capacity` bytes, and a writer
/// waits when its direction is full.
pub fn duplex(capacity: usize) -> (DuplexStream, DuplexStream) {
    let a_to_b = Arc::new(Mutex::new(Pipe::new(capacity.max(1))));
    let b_to_a = Arc::new(Mutex::new(Pipe::new(capacity.max(1))));
    (
        DuplexStream {
            read: b_to_a.clone(),
            write: a_to_b.clone(),
        },
        DuplexStream {
            read: a_to_b,
            write: b_to_a,
        },
    )
}

/// One end of a [`duplex`] pipe. Dropping it closes both directions: the other end
/// reads end of stream and its writes fail with `BrokenPipe`.
#[derive(Debug)]
pub struct DuplexStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

#[derive(Debug)]
struct Pipe {
    buf: VecDeque<u8>,
    capacity: usize,
    closed: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Pipe {
    fn new(capacity: usize) -> Pipe {
        Pipe {
            buf: VecDeque::with_capacity(capacity),
            capacity,
            closed: false,
            reader: None,
            writer: None,
        }
    }

    fn close(&mut self) {
        self.closed = true;
        if let Some(w) = self.reader.take() {
            w.wake();
        }
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }
}

fn store(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut pipe = lock(&self.read);
        if pipe.buf.is_empty() {
            if pipe.closed || out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            store(&mut pipe.reader, task.waker());
            return Poll::Pending;
        }
        let n = out.len().min(pipe.buf.len());
        let (front, back) = pipe.buf.as_slices();
        let from_front = n.min(front.len());
        out[..from_front].copy_from_slice(&front[..from_front]);
        out[from_front..n].copy_from_slice(&back[..n - from_front]);
        pipe.buf.drain(..n);
        if let Some(w) = pipe.writer.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut pipe = lock(&self.write);
        if pipe.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = pipe.capacity - pipe.buf.len();
        if room == 0 {
            store(&mut pipe.writer, task.waker());
            return Poll::Pending;
        }
        let n = room.min(data.len());
        pipe.buf.extend(&data[..n]);
        if let Some(w) = pipe.reader.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.write).close();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        lock(&self.read).close();
        lock(&self.write).close();
    }
}
