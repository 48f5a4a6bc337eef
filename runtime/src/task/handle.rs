use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::core::TaskCore;
use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelOrigin, CancelReason};
use crate::cx::Cx;
use crate::outcome::Outcome;

type AsyncTask<T> = async_task::FallibleTask<Outcome<T>, Arc<TaskCore>>;

/// A handle to a spawned task: join it, cancel it, or ask whether it finished.
///
/// Dropping the handle neither cancels nor detaches the task: its region still owns it
/// and will not close before it is done.
pub struct TaskHandle<T> {
    core: Arc<TaskCore>,
    state: State<T>,
}

enum State<T> {
    Running(Option<AsyncTask<T>>),
    /// Spawned into a region that no longer accepts tasks.
    BornCancelled(Option<CancelReason>),
}

impl<T> TaskHandle<T> {
    pub(crate) fn running(core: Arc<TaskCore>, task: AsyncTask<T>) -> Self {
        TaskHandle {
            core,
            state: State::Running(Some(task)),
        }
    }

    pub(crate) fn born_cancelled(core: Arc<TaskCore>, reason: CancelReason) -> Self {
        TaskHandle {
            core,
            state: State::BornCancelled(Some(reason)),
        }
    }

    /// The task's id (unique within its runtime).
    pub fn id(&self) -> u64 {
        self.core.id
    }

    /// The task's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.core.name.as_deref()
    }

    /// `true` once the task's future is gone (finished, panicked or dropped by the
    /// cancellation protocol).
    pub fn is_finished(&self) -> bool {
        match &self.state {
            State::Running(Some(task)) => task.is_finished(),
            State::Running(None) | State::BornCancelled(_) => true,
        }
    }

    /// Asks the task to stop, with the runtime's default drain budget.
    pub fn cancel(&self, reason: CancelReason) {
        let drain = self.core.rt().default_drain();
        self.core.cancel(reason, drain);
    }

    /// Asks the task to stop with a user reason, giving it `drain` to finish: once the
    /// drain's deadline or poll quota is spent, its future is dropped.
    pub fn cancel_with(&self, drain: Budget) {
        self.core.cancel(CancelReason::new(CancelKind::User), drain);
    }

    /// Waits for the task and returns its [`Outcome`].
    ///
    /// If the joining task is itself cancelled while it waits, it passes the request on
    /// to the joined task (as `ParentCancelled`, with the same drain) and keeps waiting:
    /// joining is owning, so the wait stays bounded and no result is lost.
    pub fn join(self, cx: &Cx) -> Join<'_, T> {
        Join {
            handle: self,
            cx,
            forwarded: false,
        }
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        if let State::Running(task) = &mut self.state {
            if let Some(task) = task.take() {
                task.detach();
            }
        }
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.core.id)
            .field("name", &self.core.name)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The future returned by [`TaskHandle::join`].
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'cx, T> {
    handle: TaskHandle<T>,
    cx: &'cx Cx,
    forwarded: bool,
}

impl<T> Future for Join<'_, T> {
    type Output = Outcome<T>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Outcome<T>> {
        // Every field is Unpin.
        let this = self.get_mut();
        if !this.forwarded {
            if let Some(reason) = this.cx.cancel_reason() {
                this.forwarded = true;
                let child_reason = reason.for_child(CancelOrigin::Task(this.cx.task_id()));
                let drain = this.cx.drain_budget();
                this.handle.core.cancel(child_reason, drain);
            }
        }
        match &mut this.handle.state {
            State::BornCancelled(reason) => Poll::Ready(Outcome::Cancelled(
                reason
                    .take()
                    .unwrap_or_else(|| CancelReason::new(CancelKind::RegionClosed)),
            )),
            State::Running(slot) => {
                let Some(inner) = slot.as_mut() else {
                    return Poll::Ready(Outcome::Cancelled(CancelReason::new(
                        CancelKind::RegionClosed,
                    )));
                };
                match Pin::new(inner).poll(task) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(result) => {
                        slot.take();
                        Poll::Ready(result.unwrap_or_else(|| {
                            // The runnable was dropped unrun: the runtime went away.
                            Outcome::Cancelled(
                                CancelReason::new(CancelKind::Shutdown)
                                    .with_message("the runtime dropped the task"),
                            )
                        }))
                    }
                }
            }
        }
    }
}
