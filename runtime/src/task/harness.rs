//! The wrapper every task future and every region body runs inside.
//!
//! It turns a panic into [`Outcome::Panicked`] (so a panic never unwinds into the
//! scheduler) and enforces the last step of the cancellation protocol: once a
//! cancelled scope's drain budget is spent, the future is dropped instead of polled and
//! the result is [`Outcome::Cancelled`]. Dropping is the only way to stop code that
//! never reaches a checkpoint.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::core::{CorePtr, TaskCore};
use crate::cancel::{CancelKind, CancelReason};
use crate::cx::Cx;
use crate::outcome::{Outcome, PanicPayload};
use crate::region::RegionCore;
use crate::runtime::shared::RuntimeShared;
use crate::scope::CancelScope;
use crate::trace::TraceKind;

/// Whose scope a [`Drainable`] answers to.
#[derive(Clone, Copy)]
pub(crate) enum ScopeOf<'a> {
    Task(&'a TaskCore),
    Region(&'a RegionCore),
}

impl ScopeOf<'_> {
    fn scope(&self) -> &CancelScope {
        match self {
            ScopeOf::Task(t) => &t.scope,
            ScopeOf::Region(r) => &r.scope,
        }
    }

    fn ids(&self) -> (Option<u64>, Option<u64>) {
        match self {
            ScopeOf::Task(t) => (Some(t.id), Some(t.region.id)),
            ScopeOf::Region(r) => (None, Some(r.id)),
        }
    }

    fn rt(&self) -> &RuntimeShared {
        match self {
            ScopeOf::Task(t) => t.rt(),
            ScopeOf::Region(r) => &r.rt,
        }
    }
}

pin_project! {
    /// Runs a future to an [`Outcome`]: catches panics, drops it when its scope's drain
    /// budget is spent. The scope is passed to each poll rather than stored, so a
    /// task's harness need not keep a second pointer to its own core.
    pub(crate) struct Drainable<F> {
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Drainable<F> {
    pub(crate) fn new(future: F) -> Self {
        Drainable {
            future: Some(future),
        }
    }

    pub(crate) fn poll_in(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        owner: ScopeOf<'_>,
    ) -> Poll<Outcome<F::Output>> {
        let mut this = self.project();
        let rt = owner.rt();
        let scope = owner.scope();
        // The clock is read only for a cancelled scope: this runs on every poll.
        if scope.is_requested() && scope.drain_spent(rt.clock.now()) {
            drop_quietly(this.future.as_mut());
            let (task, region) = owner.ids();
            rt.trace.record(rt, task, region, TraceKind::DrainExpired);
            let reason = scope
                .reason()
                .unwrap_or_else(|| CancelReason::new(CancelKind::User));
            return Poll::Ready(Outcome::Cancelled(reason));
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // The runtime never polls a finished harness; a caller that does gets an
            // outcome rather than a panic inside the scheduler.
            return Poll::Ready(Outcome::Cancelled(CancelReason::new(
                CancelKind::RegionClosed,
            )));
        };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => {
                drop_quietly(this.future);
                Poll::Ready(Outcome::Ok(value))
            }
            Err(payload) => {
                drop_quietly(this.future);
                Poll::Ready(Outcome::Panicked(PanicPayload::new(payload)))
            }
        }
    }
}

/// Drops the future now; a panic in its destructor is swallowed because the outcome
/// is already decided.
fn drop_quietly<F>(mut future: Pin<&mut Option<F>>) {
    let _ = catch_unwind(AssertUnwindSafe(|| future.set(None)));
}

pin_project! {
    /// A task's future before and after its first poll. Until then it holds the
    /// spawner's closure: the closure needs the task's `Cx`, which needs a reference to
    /// the task's allocation, which exists only once the harness is inside it. So the
    /// closure is called on the first poll, in place, and the future it returns is
    /// never moved.
    #[project = StageProj]
    enum Stage<S, F> {
        Start { start: Option<S> },
        Run { #[pin] body: Drainable<F> },
    }
}

pin_project! {
    /// A spawned task's future: the drainable user future, then the guard that tells
    /// the region the task is gone (declared second so it drops after the future).
    pub(crate) struct TaskHarness<S, F> {
        #[pin]
        stage: Stage<S, F>,
        guard: TaskGuard,
    }
}

impl<S, F> TaskHarness<S, F>
where
    S: FnOnce(Cx) -> F,
    F: Future,
{
    /// # Safety
    ///
    /// `core` must be the metadata of the async-task allocation whose future this
    /// harness becomes (so it outlives every poll and the drop of the harness, and the
    /// harness is polled only by that task's `Runnable`), and its waker must be
    /// published ([`TaskCore::publish`]) before the harness is first polled.
    pub(crate) unsafe fn new(core: &TaskCore, start: S) -> Self {
        TaskHarness {
            stage: Stage::Start { start: Some(start) },
            // SAFETY: the caller's contract: the core outlives the harness.
            guard: TaskGuard(unsafe { CorePtr::new(core) }),
        }
    }
}

impl<S, F> Future for TaskHarness<S, F>
where
    S: FnOnce(Cx) -> F,
    F: Future,
{
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let core: &TaskCore = &this.guard.0;
        core.count_poll();
        if let StageProj::Start { start } = this.stage.as_mut().project() {
            let start = start.take().expect("a task's closure runs once");
            let task_cx = Cx::for_task(core.task_ref());
            match catch_unwind(AssertUnwindSafe(|| start(task_cx))) {
                Ok(body) => this.stage.set(Stage::Run {
                    body: Drainable::new(body),
                }),
                Err(payload) => {
                    return Poll::Ready(finished(
                        core,
                        Outcome::Panicked(PanicPayload::new(payload)),
                    ))
                }
            }
        }
        let StageProj::Run { body } = this.stage.project() else {
            unreachable!("the stage is Run after the first poll");
        };
        let outcome = std::task::ready!(body.poll_in(cx, ScopeOf::Task(core)));
        Poll::Ready(finished(core, outcome))
    }
}

fn finished<T>(core: &TaskCore, outcome: Outcome<T>) -> Outcome<T> {
    let rt = core.rt();
    rt.trace.record(
        rt,
        Some(core.id),
        Some(core.region.id),
        TraceKind::TaskFinished(outcome.severity()),
    );
    outcome
}

/// Runs when the task's future is gone, however that happened (completed, dropped by
/// the drain, dropped unpolled with the runtime, or refused by its region).
struct TaskGuard(CorePtr);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.on_finished();
    }
}
