//! An OS source paired with its reactor registration.

use std::io::{self, Read, Write};
use std::task::{Context, Poll};

use mio::event::Source;

use super::{Direction, Registration};
use crate::cx::Cx;

/// A mio source registered with its runtime's reactor. Deregisters before the source
/// closes, so the reactor never sees events for a reused file descriptor.
pub(crate) struct PollEvented<S: Source> {
    source: Option<S>,
    registration: Registration,
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PollEvented").field(self.get_ref()).finish()
    }
}

impl<S: Source> PollEvented<S> {
    /// Registers `source` with the reactor of `cx`'s runtime.
    pub(crate) fn new(cx: &Cx, mut source: S) -> io::Result<PollEvented<S>> {
        let registration = cx.runtime().io.register(&mut source)?;
        Ok(PollEvented {
            source: Some(source),
            registration,
        })
    }

    pub(crate) fn get_ref(&self) -> &S {
        self.source.as_ref().expect("source present until drop")
    }

    /// Runs the non-blocking `op` on the source, waiting for `direction` as needed.
    #[inline]
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        task: &mut Context<'_>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let source = self.get_ref();
        self.registration.poll_io(direction, task, || op(source))
    }
}

impl<S: Source> PollEvented<S>
where
    for<'a> &'a S: Read,
{
    #[inline]
    pub(crate) fn poll_read(
        &self,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, task, |mut s| s.read(buf))
    }
}

impl<S: Source> PollEvented<S>
where
    for<'a> &'a S: Write,
{
    #[inline]
    pub(crate) fn poll_write(&self, task: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, task, |mut s| s.write(buf))
    }

    #[inline]
    pub(crate) fn poll_write_vectored(
        &self,
        task: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, task, |mut s| s.write_vectored(bufs))
    }
}

impl<S: Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            let _ = self.registration.deregister(&mut source);
        }
    }
}
