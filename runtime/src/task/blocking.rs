//! `spawn_blocking`: run blocking code on the runtime's blocking pool, owned by the
//! caller's region.
//!
//! The job is represented in its region by a small waiter task, spawned like any
//! other: the region cannot close while the waiter waits, so it cannot close while the
//! job runs, and the handle joins like any task (`Outcome::Ok(value)`, `Panicked` if
//! the job panicked, `Cancelled` if the region was already closing and the job never
//! started). A thread cannot be interrupted, so cancelling the waiter does not stop
//! the job: it raises the job's [`CancelFlag`], which a long job polls to stop early,
//! and keeps waiting for the job to return. Only if the job outlives the waiter's
//! drain budget does the waiter stop waiting (the harness drops it); the job then runs
//! to completion on the pool unowned, and the runtime's drop still joins its thread.
//! Like Tokio's, dropping the runtime therefore waits for running blocking jobs: a
//! job that never returns keeps the drop waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::core::lock;
use super::TaskHandle;
use crate::cx::Cx;
use crate::runtime::shared::RuntimeShared;

/// Runs `f` on the blocking pool; the returned handle joins with its value.
///
/// Tokio's `spawn_blocking(f)` with `&cx` first. The job belongs to `cx`'s region.
/// To stop early when cancelled, use [`spawn_blocking_with`], or move a clone of `cx`
/// into `f` and check `cx.is_cancel_requested()` (that sees the caller's
/// cancellation, not a cancel of this handle alone).
///
/// ```
/// use asupersync::{task, RuntimeBuilder};
/// let rt = RuntimeBuilder::current_thread().build().unwrap();
/// let sum = rt.block_on(|cx| async move {
///     task::spawn_blocking(&cx, || (1..=10u64).sum::<u64>()).join(&cx).await.unwrap()
/// });
/// assert_eq!(sum.unwrap(), 55);
/// ```
pub fn spawn_blocking<F, R>(cx: &Cx, f: F) -> TaskHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_blocking_with(cx, move |_| f())
}

/// Like [`spawn_blocking`], handing the job a [`CancelFlag`] that is raised when the
/// job's task is cancelled (by its handle, its region, or shutdown).
pub fn spawn_blocking_with<F, R>(cx: &Cx, f: F) -> TaskHandle<R>
where
    F: FnOnce(&CancelFlag) -> R + Send + 'static,
    R: Send + 'static,
{
    cx.spawn_named("spawn_blocking", move |cx: Cx| async move {
        let job = BlockingJob::submit(cx.runtime(), f);
        let result = WaitJob { cx: &cx, job: &job }.await;
        match result {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Raised when a blocking job's task is cancelled; the job polls it to stop early.
#[derive(Debug, Clone)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// `true` once the job's task has been asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A job submitted to the blocking pool and the slot its result arrives in. Not owned
/// by any region: `spawn_blocking` wraps it in a task for that; file operations use it
/// directly (they are short and always finish).
pub(crate) struct BlockingJob<R> {
    slot: Arc<Slot<R>>,
}

impl<R: Send + 'static> BlockingJob<R> {
    pub(crate) fn submit<F>(rt: &RuntimeShared, f: F) -> BlockingJob<R>
    where
        F: FnOnce(&CancelFlag) -> R + Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                result: None,
                waker: None,
            }),
            cancel: CancelFlag(Arc::new(AtomicBool::new(false))),
        });
        let job_slot = slot.clone();
        let job = Box::new(move || {
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&job_slot.cancel)));
            job_slot.complete(result);
        });
        if rt.io.blocking.submit(job).is_err() {
            slot.complete(Err(Box::new(
                "the blocking pool has shut down: the runtime is being dropped",
            )));
        }
        BlockingJob { slot }
    }
}

impl<R> BlockingJob<R> {
    /// The job's result (`Err` carries its panic) once it has run.
    pub(crate) fn poll_result(&self, task: &mut Context<'_>) -> Poll<std::thread::Result<R>> {
        let mut state = lock(&self.slot.state);
        if let Some(result) = state.result.take() {
            return Poll::Ready(result);
        }
        match &state.waker {
            Some(w) if w.will_wake(task.waker()) => {}
            _ => state.waker = Some(task.waker().clone()),
        }
        Poll::Pending
    }

    pub(crate) fn cancel(&self) {
        self.slot.cancel.0.store(true, Ordering::Release);
    }
}

struct Slot<R> {
    state: Mutex<SlotState<R>>,
    cancel: CancelFlag,
}

struct SlotState<R> {
    result: Option<std::thread::Result<R>>,
    waker: Option<Waker>,
}

impl<R> Slot<R> {
    fn complete(&self, result: std::thread::Result<R>) {
        let waker = {
            let mut state = lock(&self.state);
            state.result = Some(result);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Waits for the job; on cancellation raises the flag and keeps waiting.
struct WaitJob<'a, R> {
    cx: &'a Cx,
    job: &'a BlockingJob<R>,
}

impl<R> Future for WaitJob<'_, R> {
    type Output = std::thread::Result<R>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        if self.cx.is_cancel_requested() {
            self.job.cancel();
        }
        self.job.poll_result(task)
    }
}
