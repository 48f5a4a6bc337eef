use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::timer::TimerKey;
use super::Instant;
use crate::{Cancelled, Cx};

/// Waits until `duration` has passed on the runtime's clock.
///
/// Returns `Err(Cancelled)` as soon as the task is asked to stop.
pub fn sleep(cx: &Cx, duration: Duration) -> Sleep<'_> {
    let deadline = cx.now().checked_add(duration).unwrap_or_else(far_future);
    sleep_until(cx, deadline)
}

/// Waits until `deadline` on the runtime's clock.
///
/// Returns `Err(Cancelled)` as soon as the task is asked to stop.
pub fn sleep_until(cx: &Cx, deadline: Instant) -> Sleep<'_> {
    Sleep {
        cx,
        deadline,
        key: None,
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep<'cx> {
    cx: &'cx Cx,
    deadline: Instant,
    key: Option<TimerKey>,
}

impl Sleep<'_> {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// `true` once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.cx.now() >= self.deadline
    }

    /// Moves the deadline (re-arming the timer on the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        self.deadline = deadline;
    }

    fn deregister(&mut self) {
        if let Some(key) = self.key.take() {
            self.cx.runtime().timers.remove(key);
        }
    }
}

impl Sleep<'_> {
    /// Polls the deadline alone, without looking at cancellation (for combinators
    /// such as `timeout` that leave cancellation to the future they wrap).
    pub(crate) fn poll_elapsed(&mut self, task: &mut Context<'_>) -> Poll<()> {
        if self.cx.now() >= self.deadline {
            self.deregister();
            return Poll::Ready(());
        }
        let timers = &self.cx.runtime().timers;
        match self.key {
            Some(key) => timers.update_waker(key, task.waker()),
            None => self.key = Some(timers.insert(self.deadline, task.waker().clone())),
        }
        Poll::Pending
    }
}

impl Future for Sleep<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = this.cx.checkpoint() {
            this.deregister();
            return Poll::Ready(Err(cancelled));
        }
        std::task::ready!(this.poll_elapsed(task));
        // An always-elapsed sleep in a loop must still give its siblings a turn.
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        Poll::Ready(Ok(()))
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        self.deregister();
    }
}
