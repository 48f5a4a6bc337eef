use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{Cancelled, Cx};

/// Gives other tasks a turn: returns `Pending` once, after asking to be polled again.
/// Cancel-aware: returns `Err(Cancelled)` if the task has been asked to stop.
pub fn yield_now(cx: &Cx) -> YieldNow<'_> {
    YieldNow { cx, yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow<'cx> {
    cx: &'cx Cx,
    yielded: bool,
}

impl Future for YieldNow<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        self.cx.checkpoint()?;
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        task.waker().wake_by_ref();
        Poll::Pending
    }
}
