use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::core::{CorePtr, TaskCore};
use super::AsyncTask;
use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelOrigin, CancelReason};
use crate::cx::Cx;
use crate::outcome::Outcome;

/// A handle to a spawned task: join it, cancel it, or ask whether it finished.
///
/// Dropping the handle neither cancels nor detaches the task: its region still owns it
/// and will not close before it is done.
///
/// Three words: programs keep handles by the thousand (`Vec<TaskHandle<_>>`), and the
/// rare born-cancelled state lives behind a box so that it does not set the size of
/// every handle (it took the handle from 24 to 88 bytes).
pub struct TaskHandle<T> {
    state: State<T>,
}

/// A task spawned into a region that no longer accepts tasks.
struct BornCancelled {
    id: u64,
    name: Option<Arc<str>>,
    reason: Option<CancelReason>,
}

enum State<T> {
    Running {
        /// Valid while `task` is held: async-task does not destroy an allocation whose
        /// `Task` is alive, so the handle needs no reference count of its own.
        core: CorePtr,
        /// `None` only while the handle is being dropped.
        task: Option<async_task::FallibleTask<Outcome<T>, TaskCore>>,
        /// The outcome was taken; the task must not be polled again.
        joined: bool,
    },
    /// Spawned into a region that no longer accepts tasks.
    BornCancelled(Box<BornCancelled>),
}

impl<T> TaskHandle<T> {
    pub(crate) fn running(task: AsyncTask<T>) -> Self {
        // SAFETY: the task is stored next to the pointer and dropped only with the
        // handle; while a `Task` is alive async-task keeps its allocation (`raw.rs`:
        // `destroy` runs only once the `TASK` bit is clear), and with it the metadata.
        let core = unsafe { CorePtr::new(task.metadata()) };
        TaskHandle {
            state: State::Running {
                core,
                task: Some(task.fallible()),
                joined: false,
            },
        }
    }

    pub(crate) fn born_cancelled(id: u64, name: Option<Arc<str>>, reason: CancelReason) -> Self {
        TaskHandle {
            state: State::BornCancelled(Box::new(BornCancelled {
                id,
                name,
                reason: Some(reason),
            })),
        }
    }

    /// The live task's core (`None` for a task that was born cancelled).
    fn core(&self) -> Option<&TaskCore> {
        match &self.state {
            State::Running { core, .. } => Some(core),
            State::BornCancelled(_) => None,
        }
    }

    /// The task's id (unique within its runtime).
    pub fn id(&self) -> u64 {
        match &self.state {
            State::Running { core, .. } => core.id,
            State::BornCancelled(born) => born.id,
        }
    }

    /// The task's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        match &self.state {
            State::Running { core, .. } => core.name.as_deref(),
            State::BornCancelled(born) => born.name.as_deref(),
        }
    }

    /// `true` once the task's future is gone (finished, panicked or dropped by the
    /// cancellation protocol).
    pub fn is_finished(&self) -> bool {
        match &self.state {
            State::Running {
                task: Some(task),
                joined: false,
                ..
            } => task.is_finished(),
            State::Running { .. } | State::BornCancelled(_) => true,
        }
    }

    /// Asks the task to stop, with the runtime's default drain budget.
    pub fn cancel(&self, reason: CancelReason) {
        if let Some(core) = self.core() {
            core.cancel(reason, core.rt().default_drain());
        }
    }

    /// Asks the task to stop with a user reason, giving it `drain` to finish: once the
    /// drain's deadline or poll quota is spent, its future is dropped.
    pub fn cancel_with(&self, drain: Budget) {
        if let Some(core) = self.core() {
            core.cancel(CancelReason::new(CancelKind::User), drain);
        }
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

impl<T> TaskHandle<T> {
    /// If `cx` is cancelled, passes the request on to this task (as
    /// `ParentCancelled`, with `cx`'s drain) and returns `true`: joining is owning.
    pub(crate) fn forward_cancel(&self, cx: &Cx) -> bool {
        let Some(reason) = cx.cancel_reason() else {
            return false;
        };
        if let Some(core) = self.core() {
            let child_reason = reason.for_child(CancelOrigin::Task(cx.task_id()));
            core.cancel(child_reason, cx.drain_budget());
        }
        true
    }

    /// Polls for the task's outcome (`Join` and `TaskGroup` share this).
    pub(crate) fn poll_outcome(&mut self, task: &mut Context<'_>) -> Poll<Outcome<T>> {
        match &mut self.state {
            State::BornCancelled(born) => Poll::Ready(Outcome::Cancelled(
                born.reason
                    .take()
                    .unwrap_or_else(|| CancelReason::new(CancelKind::RegionClosed)),
            )),
            State::Running {
                task: Some(inner),
                joined: joined @ false,
                ..
            } => match Pin::new(inner).poll(task) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(result) => {
                    *joined = true;
                    Poll::Ready(result.unwrap_or_else(|| {
                        // The runnable was dropped unrun: the runtime went away.
                        Outcome::Cancelled(
                            CancelReason::new(CancelKind::Shutdown)
                                .with_message("the runtime dropped the task"),
                        )
                    }))
                }
            },
            State::Running { .. } => Poll::Ready(Outcome::Cancelled(CancelReason::new(
                CancelKind::RegionClosed,
            ))),
        }
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        if let State::Running { task, .. } = &mut self.state {
            if let Some(task) = task.take() {
                task.detach();
            }
        }
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.id())
            .field("name", &self.name())
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
            this.forwarded = this.handle.forward_cancel(this.cx);
        }
        this.handle.poll_outcome(task)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_three_words_whatever_the_output() {
        let words = std::mem::size_of::<usize>() * 3;
        assert_eq!(std::mem::size_of::<TaskHandle<()>>(), words);
        assert_eq!(std::mem::size_of::<TaskHandle<[u64; 16]>>(), words);
    }
}
