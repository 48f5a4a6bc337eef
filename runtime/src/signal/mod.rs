//! Signals: `ctrl_c(&cx)` and Unix signal streams, and the runtime's Ctrl-C shutdown.
//!
//! Each listener installs a handler (through `signal-hook-registry`, so it chains with
//! other handlers in the process) whose only action is to write one byte into a
//! non-blocking socket pair, the one thing a signal handler may safely do. The other
//! end is registered with the runtime's reactor, so a delivery wakes the waiting task
//! like any readable socket. Deliveries that arrive between two `recv`s coalesce into
//! one, as with Tokio. Dropping the listener removes its action; as with Tokio, the
//! process-wide handler itself stays installed, so once a signal has been listened for
//! its default action (terminating on SIGINT/SIGTERM) does not come back.
//!
//! A runtime built with
//! [`RuntimeBuilder::shutdown_on_ctrl_c(true)`](crate::RuntimeBuilder::shutdown_on_ctrl_c)
//! listens for SIGINT the same way and shuts itself down on the first one, which is
//! what makes `cx.shutdown_signal()` fire on Ctrl-C.

pub mod unix;

use std::io::{self, Read};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use crate::cancel::{CancelKind, CancelReason};
use crate::cx::Cx;
use crate::reactor::Registration;
use crate::runtime::shared::RuntimeShared;
use crate::task::core::lock;
use unix::{HandlerPipe, SignalKind};

/// Waits for the next Ctrl-C (SIGINT). Cancel-aware: returns an `Interrupted` error
/// built from [`Cancelled`](crate::Cancelled) once the task is asked to stop.
///
/// Listening starts when this is called; a Ctrl-C that arrived earlier is not seen.
/// From then on SIGINT no longer terminates the process (see the module docs).
pub async fn ctrl_c(cx: &Cx) -> io::Result<()> {
    let mut signal = unix::signal(cx, SignalKind::interrupt())?;
    signal.recv(cx).await.map_err(io::Error::from)
}

/// The runtime's own SIGINT listener (see the module docs). Its handler is removed
/// when it is dropped, with the runtime.
pub(crate) struct ShutdownListener {
    state: Arc<ListenerWake>,
}

struct ListenerWake {
    runtime: Weak<RuntimeShared>,
    pipe: Mutex<Option<(HandlerPipe, mio::net::UnixStream, Registration)>>,
}

/// Installs the SIGINT listener of `runtime` (called by `RuntimeBuilder::build`).
pub(crate) fn listen_for_shutdown(runtime: &Arc<RuntimeShared>) -> io::Result<()> {
    let (handler, mut reader) = HandlerPipe::install(SignalKind::interrupt())?;
    let registration = runtime.io.register(&mut reader)?;
    let state = Arc::new(ListenerWake {
        runtime: Arc::downgrade(runtime),
        pipe: Mutex::new(Some((handler, reader, registration))),
    });
    // Arms the wait: the reactor calls `wake` when the pipe becomes readable.
    state.clone().wake();
    *lock(&runtime.io.shutdown_listener) = Some(ShutdownListener { state });
    Ok(())
}

impl Wake for ListenerWake {
    fn wake(self: Arc<Self>) {
        let waker = Waker::from(self.clone());
        let mut task = Context::from_waker(&waker);
        let mut delivered = false;
        {
            let guard = lock(&self.pipe);
            let Some((_, reader, registration)) = guard.as_ref() else {
                return;
            };
            loop {
                match registration
                    .poll_io(crate::reactor::Direction::Read, &mut task, || drain(reader))
                {
                    Poll::Ready(Ok(n)) if n > 0 => delivered = true,
                    // Pending (armed again), an error, or a closed pipe: stop here.
                    _ => break,
                }
            }
        }
        if delivered {
            if let Some(runtime) = self.runtime.upgrade() {
                let reason = CancelReason::new(CancelKind::Shutdown).with_message("Ctrl-C");
                let drain = runtime.default_drain();
                runtime.shutdown(reason, drain);
            }
        }
    }
}

impl Drop for ShutdownListener {
    fn drop(&mut self) {
        lock(&self.state.pipe).take();
    }
}

/// Reads every pending byte from a signal pipe; `Ok(count)`, `WouldBlock` when empty.
pub(crate) fn drain(mut reader: &mio::net::UnixStream) -> io::Result<usize> {
    let mut buf = [0u8; 64];
    let mut total = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => return Ok(total),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
