use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::{sleep_until, Instant, Sleep};
use crate::Cx;

/// Runs `future` for at most `duration`; `Err(Elapsed)` if it did not finish in time
/// (the future is dropped then, as with `tokio::time::timeout`).
pub fn timeout<F: Future>(cx: &Cx, duration: Duration, future: F) -> Timeout<'_, F> {
    let deadline = cx
        .now()
        .checked_add(duration)
        .unwrap_or_else(|| cx.now() + Duration::from_secs(86400 * 365 * 30));
    timeout_at(cx, deadline, future)
}

/// Runs `future` until `deadline` at the latest.
pub fn timeout_at<F: Future>(cx: &Cx, deadline: Instant, future: F) -> Timeout<'_, F> {
    Timeout {
        future,
        sleep: sleep_until(cx, deadline),
    }
}

pin_project! {
    /// The future returned by [`timeout`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<'cx, F> {
        #[pin]
        future: F,
        sleep: Sleep<'cx>,
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

impl<F: Future> Future for Timeout<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(task) {
            return Poll::Ready(Ok(v));
        }
        // Cancellation is the inner future's to observe (it holds the cx too); the
        // timeout only answers for time.
        this.sleep.poll_elapsed(task).map(|()| Err(Elapsed(())))
    }
}
