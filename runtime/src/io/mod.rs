//! Asynchronous IO: the runtime-neutral `futures-io` traits, cancel-aware extension
//! methods with Tokio's names, buffering, copying, splitting and an in-memory pipe.
//!
//! IO types ([`TcpStream`](crate::net::TcpStream), [`File`](crate::fs::File),
//! [`DuplexStream`], process pipes, ...) implement `futures_io::{AsyncRead,
//! AsyncWrite, AsyncBufRead}`, so they work with any code written against those
//! traits. The extension traits add Tokio's methods with `&cx` first:
//! `stream.read(&cx, &mut buf)`, `stream.write_all(&cx, b"..")`,
//! `reader.read_line(&cx, &mut line)`, `reader.lines().next_line(&cx)`.
//!
//! # Cancellation
//!
//! Each of these futures checks `cx.checkpoint()` every time it is polled. A cancel
//! request wakes the task, so a read blocked on a silent peer returns promptly with an
//! `io::Error` of kind [`Interrupted`](std::io::ErrorKind::Interrupted) whose inner
//! error is the [`Cancelled`](crate::Cancelled) (downcast it to learn the reason).
//! What was already transferred is never thrown away silently:
//!
//! - `read_to_end`, `read_until` append to the caller's `Vec` as they go: after a
//!   cancel it holds every byte read.
//! - `read_to_string`, `read_line` keep every complete character read in the caller's
//!   `String` (a multi-byte character cut in half by the cancel, at most 3 bytes, is
//!   not valid UTF-8 and is dropped).
//! - [`Lines::next_line`] keeps a partial line inside the `Lines`, and the next call
//!   continues it: it is cancel-safe.
//! - `read_exact` leaves the bytes it read at the start of the caller's buffer but,
//!   like Tokio's, cannot report how many; use `read` in a loop when that matters.
//! - Bytes a [`BufReader`] has buffered stay buffered for the next read.
//! - `write`/`write_all`: what was written is in the kernel; `write_all` does not
//!   report how much, so treat the stream as unusable after a cancelled `write_all`.
//! - `copy`/`copy_bidirectional`: bytes read but not yet written are dropped.

mod buf;
mod duplex;
mod ext;
mod split;
mod stdio;
mod util;

pub use buf::{BufReader, BufWriter};
pub use duplex::{duplex, DuplexStream};
pub(crate) use ext::poll_read_to_end;
pub use ext::{
    AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, Chain, Flush, Lines, Read,
    ReadExact, ReadLine, ReadToEnd, ReadToString, ReadUntil, Seek, Shutdown, Take, Write, WriteAll,
};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use split::{split, ReadHalf, WriteHalf};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
pub use util::{
    copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_buf, empty, repeat, sink, Empty,
    Repeat, Sink,
};

use std::future::Future;
use std::io;
use std::task::{Context, Poll};

use crate::cx::Cx;

/// Polls `op` after a checkpoint each time: the shape of every cancel-aware wait in
/// the IO modules. `op` must leave nothing half-done when it returns `Pending`.
pub(crate) fn cancel_aware<'a, T>(
    cx: &'a Cx,
    mut op: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>> + 'a,
) -> impl Future<Output = io::Result<T>> + 'a {
    std::future::poll_fn(move |task| {
        if let Err(cancelled) = cx.checkpoint() {
            return Poll::Ready(Err(cancelled.into()));
        }
        op(task)
    })
}

/// The error a cancelled IO future returns, if `cx` has been cancelled.
#[inline]
pub(crate) fn check(cx: &Cx) -> Result<(), io::Error> {
    cx.checkpoint().map_err(io::Error::from)
}
