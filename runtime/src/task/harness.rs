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
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::core::TaskCore;
use crate::cancel::{CancelKind, CancelReason};
use crate::outcome::{Outcome, PanicPayload};
use crate::region::RegionCore;
use crate::scope::CancelScope;
use crate::trace::TraceKind;

/// Whose scope a [`Drainable`] answers to.
pub(crate) enum ScopeOf {
    Task(Arc<TaskCore>),
    Region(Arc<RegionCore>),
}

impl ScopeOf {
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

    fn rt(&self) -> &Arc<crate::runtime::shared::RuntimeShared> {
        match self {
            ScopeOf::Task(t) => t.rt(),
            ScopeOf::Region(r) => &r.rt,
        }
    }
}

pin_project! {
    /// Runs a future to an [`Outcome`]: catches panics, drops it when its scope's drain
    /// budget is spent.
    pub(crate) struct Drainable<F> {
        #[pin]
        future: Option<F>,
        owner: ScopeOf,
    }
}

impl<F: Future> Drainable<F> {
    pub(crate) fn new(owner: ScopeOf, future: F) -> Self {
        Drainable {
            future: Some(future),
            owner,
        }
    }
}

impl<F: Future> Future for Drainable<F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let rt = this.owner.rt();
        let scope = this.owner.scope();
        // The flag first: reading the clock on every poll of every task is not free.
        if scope.is_requested() && scope.drain_spent(rt.clock.now()) {
            drop_quietly(this.future.as_mut());
            let (task, region) = this.owner.ids();
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
    /// A spawned task's future: the drainable user future, then the guard that tells
    /// the region the task is gone (declared second so it drops after the future).
    pub(crate) struct TaskHarness<F> {
        #[pin]
        inner: Drainable<F>,
        guard: TaskGuard,
    }
}

impl<F: Future> TaskHarness<F> {
    pub(crate) fn new(core: Arc<TaskCore>, region_key: usize, future: F) -> Self {
        TaskHarness {
            inner: Drainable::new(ScopeOf::Task(core.clone()), future),
            guard: TaskGuard { core, region_key },
        }
    }
}

impl<F: Future> Future for TaskHarness<F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        this.guard.core.count_poll();
        let outcome = std::task::ready!(this.inner.poll(cx));
        let core = &this.guard.core;
        let rt = core.rt();
        rt.trace.record(
            rt,
            Some(core.id),
            Some(core.region.id),
            TraceKind::TaskFinished(outcome.severity()),
        );
        Poll::Ready(outcome)
    }
}

/// Runs when the task's future is gone, however that happened (completed, dropped by
/// the drain, or dropped with the runtime).
pub(crate) struct TaskGuard {
    core: Arc<TaskCore>,
    region_key: usize,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.core.on_finished();
        self.core.region.task_finished(self.region_key);
    }
}
