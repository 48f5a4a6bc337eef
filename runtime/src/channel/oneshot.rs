//! A channel for one value.
//!
//! `tx.send(v)` never waits; `rx.recv(&cx)` waits for it and is cancel-safe (a
//! cancelled receive leaves the value in the channel for a later `recv` or
//! `try_recv`). Each side can see the other go: `tx.is_closed()` / `tx.closed(&cx)`
//! once the receiver is dropped or closed, `RecvError::Closed` once the sender is
//! dropped without sending.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::cancel::Cancelled;
use crate::cx::Cx;

pub use super::mpsc::{RecvError, TryRecvError};

/// The error types, under Tokio's path (`oneshot::error::RecvError`).
pub mod error {
    pub use super::{RecvError, TryRecvError};
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    tx_gone: bool,
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        crate::task::core::lock(&self.state)
    }
}

/// A channel for exactly one value.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            tx_gone: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            shared: Some(shared.clone()),
        },
        Receiver {
            shared,
            saw_sender_gone: false,
        },
    )
}

/// Sends the one value.
pub struct Sender<T> {
    shared: Option<Arc<Shared<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; `Err(value)` if the receiver is gone or closed.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let shared = self.shared.take().expect("a sender sends once");
        let mut state = shared.lock();
        state.tx_gone = true;
        if state.rx_closed {
            return Err(value);
        }
        state.value = Some(value);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// `true` once the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.shared.as_ref().is_none_or(|s| s.lock().rx_closed)
    }

    /// Waits until the receiver is dropped or closed (to stop computing a value
    /// nobody wants). Cancel-aware.
    pub async fn closed(&mut self, cx: &Cx) -> Result<(), Cancelled> {
        let Some(shared) = self.shared.as_ref() else {
            return Ok(());
        };
        std::future::poll_fn(|task| {
            cx.checkpoint()?;
            let mut state = shared.lock();
            if state.rx_closed {
                return Poll::Ready(Ok(()));
            }
            state.tx_waker = Some(task.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let mut state = shared.lock();
            state.tx_gone = true;
            let waker = state.rx_waker.take();
            drop(state);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives the one value.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// This receiver has seen the sender gone (it took the value, or found the
    /// channel disconnected). Nobody is then left to read `rx_closed`, so dropping
    /// the receiver need not take the lock: on a request/reply path that is one lock
    /// round trip (two read-modify-writes) saved per channel.
    saw_sender_gone: bool,
}

impl<T> Receiver<T> {
    /// Waits for the value. `Err(RecvError::Closed)` if the sender was dropped
    /// without sending (or the value was already taken); `Err(RecvError::Cancelled)`
    /// if the task is cancelled, leaving a value that arrives in the channel.
    pub fn recv<'a>(&'a mut self, cx: &'a Cx) -> Recv<'a, T> {
        Recv { rx: self, cx }
    }

    /// The value now, if it was sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.lock();
        self.saw_sender_gone = state.tx_gone;
        match state.value.take() {
            Some(v) => Ok(v),
            None if state.tx_gone => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses the value: the sender's `send` fails from now on (a value already sent
    /// can still be taken with `try_recv`).
    pub fn close(&mut self) {
        let mut state = self.shared.lock();
        state.rx_closed = true;
        let waker = state.tx_waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if !self.saw_sender_gone {
            self.close();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    cx: &'a Cx,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        self.cx.checkpoint()?;
        let rx = &mut *self.get_mut().rx;
        let mut state = rx.shared.lock();
        rx.saw_sender_gone = state.tx_gone;
        match state.value.take() {
            Some(v) => Poll::Ready(Ok(v)),
            None if state.tx_gone => Poll::Ready(Err(RecvError::Closed)),
            None => {
                match &mut state.rx_waker {
                    Some(waker) if waker.will_wake(task.waker()) => {}
                    slot => *slot = Some(task.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}
