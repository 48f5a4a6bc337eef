use std::fmt;
use std::future::{poll_fn, Future};
use std::task::Poll;

use crate::cancel::{CancelReason, Cancelled};
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::task::TaskHandle;

/// Dynamic fan-out: spawn any number of tasks, join them in completion order, cancel
/// them together.
///
/// The tasks belong to the region of the `Cx` the group was made with (the region,
/// not the group, owns them): dropping the group neither cancels nor detaches them,
/// and the region does not close before they finish. Joining is owning: if the task
/// that joins is cancelled, `join_next` passes the cancellation on to every task in
/// the group and keeps waiting for them, so no outcome is lost and the wait stays
/// bounded by their drain budget.
pub struct TaskGroup<T> {
    cx: Cx,
    handles: Vec<TaskHandle<T>>,
    forwarded: bool,
}

impl<T: Send + 'static> TaskGroup<T> {
    /// An empty group spawning into `cx`'s region.
    pub fn new(cx: &Cx) -> TaskGroup<T> {
        TaskGroup {
            cx: cx.clone(),
            handles: Vec::new(),
            forwarded: false,
        }
    }

    /// Spawns a task into the group (and the group's region).
    pub fn spawn<F, Fut>(&mut self, f: F)
    where
        F: FnOnce(Cx) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let handle = self.cx.spawn(f);
        if self.forwarded {
            if let Some(reason) = self.cx.cancel_reason() {
                handle.cancel(reason);
            }
        }
        self.handles.push(handle);
    }

    /// Tasks not yet joined.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// `true` if every task was joined.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Waits for the next task to finish and returns its outcome; `None` once the
    /// group is empty.
    pub async fn join_next(&mut self, cx: &Cx) -> Option<Outcome<T>> {
        if self.handles.is_empty() {
            return None;
        }
        poll_fn(|task| {
            if !self.forwarded && cx.is_cancel_requested() {
                self.forwarded = true;
                for handle in &self.handles {
                    handle.forward_cancel(cx);
                }
            }
            for i in 0..self.handles.len() {
                if let Poll::Ready(outcome) = self.handles[i].poll_outcome(task) {
                    self.handles.swap_remove(i);
                    return Poll::Ready(Some(outcome));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Waits for every task; outcomes in completion order.
    pub async fn join_all(mut self, cx: &Cx) -> Vec<Outcome<T>> {
        let mut outcomes = Vec::with_capacity(self.handles.len());
        while let Some(outcome) = self.join_next(cx).await {
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Asks every task in the group to stop (with the runtime's default drain). They
    /// still have to be joined (or left to the region) to see their outcomes.
    pub fn cancel_all(&self, reason: CancelReason) {
        for handle in &self.handles {
            handle.cancel(reason.clone());
        }
    }

    /// Like [`join_next`](TaskGroup::join_next), but returns `Err(Cancelled)` instead
    /// of waiting when the joining task is cancelled (the tasks keep running, owned by
    /// the region).
    pub async fn try_join_next(&mut self, cx: &Cx) -> Result<Option<Outcome<T>>, Cancelled> {
        if self.handles.is_empty() {
            return Ok(None);
        }
        poll_fn(|task| {
            cx.checkpoint()?;
            for i in 0..self.handles.len() {
                if let Poll::Ready(outcome) = self.handles[i].poll_outcome(task) {
                    self.handles.swap_remove(i);
                    return Poll::Ready(Ok(Some(outcome)));
                }
            }
            Poll::Pending
        })
        .await
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("tasks", &self.handles.len())
            .finish()
    }
}
