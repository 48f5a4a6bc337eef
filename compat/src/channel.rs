//! Channel bridges between Tokio's mpsc and native code.
//!
//! A Tokio `mpsc` channel is already executor-agnostic (its futures need no Tokio
//! context), so the bridges do not copy items through a second channel: they adapt
//! the ends. What they add is the native contract: waits are cancel-aware (`&Cx`
//! first, `Err(Cancelled)` promptly when the caller is asked to stop) and nothing is
//! lost on cancellation.
//!
//! - [`TokioReceiver`]: the receiving end of a Tokio channel, for native code: a
//!   `futures-core` [`Stream`] and a cancel-aware [`TokioReceiver::recv`].
//! - [`forward_to_tokio`]: drains a native [`Stream`] into a Tokio `Sender`, two-phase
//!   (a slot is reserved before an item is taken), so a cancel between the two steps
//!   loses no item.
//!
//! The native `asupersync::channel::mpsc` lands separately; until it does, the native
//! side of a bridge is any `Stream` (for Tokio → native, forward from
//! [`TokioReceiver`] into the native sender in a loop).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use asupersync::{Cancelled, Cx, Outcome};
use futures_core::Stream;
use tokio::sync::mpsc;

/// The receiving end of a Tokio mpsc channel, for native code.
#[derive(Debug)]
pub struct TokioReceiver<T> {
    rx: mpsc::Receiver<T>,
}

impl<T> TokioReceiver<T> {
    /// Adapts `rx`.
    pub fn new(rx: mpsc::Receiver<T>) -> Self {
        TokioReceiver { rx }
    }

    /// Receives the next item: `Ok(None)` once every sender is gone, `Err(Cancelled)`
    /// as soon as the caller is asked to stop (no item is taken then).
    pub async fn recv(&mut self, cx: &Cx) -> Result<Option<T>, Cancelled> {
        cancel_aware(cx, poll_fn(|task| self.rx.poll_recv(task))).await
    }

    /// Closes the channel for senders; items already sent can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// The Tokio receiver.
    pub fn into_inner(self) -> mpsc::Receiver<T> {
        self.rx
    }
}

impl<T> Stream for TokioReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(task)
    }
}

/// Why [`forward_to_tokio`] stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverGone {
    /// Items forwarded before the Tokio receiver went away.
    pub forwarded: usize,
}

/// Forwards every item of the native `items` stream into `tx`, returning how many.
///
/// Each step reserves a slot in the Tokio channel before it takes an item from the
/// stream, so cancelling the forwarder (it checks between and during waits) never
/// drops an item on the floor. `Err` if the Tokio receiver is gone.
pub async fn forward_to_tokio<S>(
    cx: &Cx,
    mut items: S,
    tx: &mpsc::Sender<S::Item>,
) -> Outcome<usize, ReceiverGone>
where
    S: Stream + Unpin,
{
    let mut forwarded = 0;
    loop {
        let permit = match cancel_aware(cx, tx.reserve()).await {
            Err(cancelled) => return Outcome::Cancelled(cancelled.into_reason()),
            Ok(Err(_closed)) => return Outcome::Err(ReceiverGone { forwarded }),
            Ok(Ok(permit)) => permit,
        };
        let next = poll_fn(|task| Pin::new(&mut items).poll_next(task));
        match cancel_aware(cx, next).await {
            // The reservation is released unused.
            Err(cancelled) => return Outcome::Cancelled(cancelled.into_reason()),
            Ok(None) => return Outcome::Ok(forwarded),
            Ok(Some(item)) => {
                permit.send(item);
                forwarded += 1;
            }
        }
    }
}

/// Polls `future` until it completes or `cx` is asked to stop. The native runtime
/// wakes a task when it is cancelled, so checking at each poll is enough.
async fn cancel_aware<F: Future>(cx: &Cx, future: F) -> Result<F::Output, Cancelled> {
    let mut future = std::pin::pin!(future);
    poll_fn(|task| {
        cx.checkpoint()?;
        future.as_mut().poll(task).map(Ok)
    })
    .await
}
