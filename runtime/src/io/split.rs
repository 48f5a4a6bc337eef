//! Splitting one read-write stream into a read half and a write half.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::task::core::lock;

/// Splits `stream` into halves that can live in different tasks. Each call on a half
/// takes a short lock on the stream (never held across a `Pending`). For the socket
/// types prefer their own `split`/`into_split`, which need no lock.
pub fn split<T: AsyncRead + AsyncWrite + Unpin>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let shared = Arc::new(Mutex::new(stream));
    (
        ReadHalf {
            stream: shared.clone(),
        },
        WriteHalf { stream: shared },
    )
}

/// The read half of [`split`].
#[derive(Debug)]
pub struct ReadHalf<T> {
    stream: Arc<Mutex<T>>,
}

/// The write half of [`split`].
#[derive(Debug)]
pub struct WriteHalf<T> {
    stream: Arc<Mutex<T>>,
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the write half split from the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.stream, &other.stream)
    }

    /// Puts the halves back together; `Err` gives them back if they do not match.
    pub fn unsplit(self, other: WriteHalf<T>) -> Result<T, (ReadHalf<T>, WriteHalf<T>)> {
        if !self.is_pair_of(&other) {
            return Err((self, other));
        }
        drop(other);
        match Arc::try_unwrap(self.stream) {
            Ok(mutex) => Ok(mutex.into_inner().unwrap_or_else(|e| e.into_inner())),
            Err(_) => unreachable!("both halves were given, so no other reference remains"),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.stream)).poll_read(task, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.stream)).poll_write(task, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.stream)).poll_flush(task)
    }

    fn poll_close(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.stream)).poll_close(task)
    }
}
