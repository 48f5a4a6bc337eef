//! Unix signals as streams: `signal(&cx, SignalKind::terminate())?.recv(&cx).await`.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use crate::cancel::Cancelled;
use crate::cx::Cx;
use crate::io::cancel_aware;
use crate::reactor::{Direction, PollEvented};

/// Which signal to listen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// `SIGINT` (Ctrl-C).
    pub fn interrupt() -> Self {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`.
    pub fn terminate() -> Self {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`.
    pub fn hangup() -> Self {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`.
    pub fn quit() -> Self {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    pub fn user_defined1() -> Self {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    pub fn user_defined2() -> Self {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`.
    pub fn child() -> Self {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGWINCH`.
    pub fn window_change() -> Self {
        SignalKind(libc::SIGWINCH)
    }

    /// Any signal by number.
    pub fn from_raw(signum: i32) -> Self {
        SignalKind(signum)
    }

    /// The signal number.
    pub fn as_raw_value(&self) -> i32 {
        self.0
    }
}

/// A stream of deliveries of one signal, from [`signal`]. Once a signal has been
/// listened for, its default action (for example terminating on SIGTERM) no longer
/// runs, even after the `Signal` is dropped (as with Tokio).
#[derive(Debug)]
pub struct Signal {
    reader: PollEvented<mio::net::UnixStream>,
    _handler: HandlerPipe,
}

/// Starts listening for `kind` on `cx`'s runtime.
///
/// `Err` for signals that cannot be handled (`SIGKILL`, `SIGSTOP`, and the
/// synchronous fault signals `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`).
pub fn signal(cx: &Cx, kind: SignalKind) -> io::Result<Signal> {
    let (handler, reader) = HandlerPipe::install(kind)?;
    Ok(Signal {
        reader: PollEvented::new(cx, reader)?,
        _handler: handler,
    })
}

impl Signal {
    /// Waits for the next delivery (deliveries since the last `recv` count as one).
    /// Cancel-aware.
    pub async fn recv(&mut self, cx: &Cx) -> Result<(), Cancelled> {
        let result = cancel_aware(cx, |task| {
            self.reader.poll_io(Direction::Read, task, super::drain)
        })
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(_) => Err(cx.checkpoint().err().unwrap_or_else(|| {
                Cancelled::new(crate::CancelReason::new(crate::CancelKind::Shutdown))
            })),
        }
    }
}

/// A registered signal handler writing into a socket pair's write end; removes the
/// handler when dropped.
#[derive(Debug)]
pub(crate) struct HandlerPipe {
    id: signal_hook_registry::SigId,
}

impl HandlerPipe {
    /// Installs a handler for `kind`; returns it with the non-blocking read end.
    pub(crate) fn install(kind: SignalKind) -> io::Result<(HandlerPipe, mio::net::UnixStream)> {
        if signal_hook_registry::FORBIDDEN.contains(&kind.0) || kind.0 == libc::SIGBUS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {} cannot be listened for", kind.0),
            ));
        }
        let (reader, writer) = mio::net::UnixStream::pair()?;
        let writer = Arc::new(writer);
        let action = move || {
            let byte = 1u8;
            // SAFETY: `write(2)` is async-signal-safe; the fd stays open because the
            // closure owns the socket (the registry drops the closure only once no
            // handler can run it). The socket is non-blocking, so a full buffer makes
            // the write fail instead of blocking the handler; the pending bytes already
            // guarantee a wake-up. signal-hook-registry saves and restores errno.
            unsafe {
                libc::write(writer.as_raw_fd(), std::ptr::addr_of!(byte).cast(), 1);
            }
        };
        // SAFETY: the action only calls `write(2)`, which is async-signal-safe, and
        // allocates, locks and panics nowhere.
        let id = unsafe { signal_hook_registry::register(kind.0, action) }?;
        Ok((HandlerPipe { id }, reader))
    }
}

impl Drop for HandlerPipe {
    fn drop(&mut self) {
        signal_hook_registry::unregister(self.id);
    }
}
