//! `Cx`, the capability context.
//!
//! Every effectful operation takes `&Cx` first. That makes effects visible in
//! signatures (a function without a `Cx` cannot sleep, spawn or do IO), and it gives
//! each operation what it needs to be cancel-correct: the task's cancellation state,
//! its budget, its region (where spawns go) and its clock (virtual under the lab).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::budget::Budget;
use crate::cancel::{CancelOrigin, CancelReason, Cancelled};
use crate::region::RegionCore;
use crate::runtime::shared::RuntimeShared;
use crate::scope::CancelScope;
use crate::task::core::TaskRef;
use crate::task::{spawn_in, TaskHandle};
use crate::time::Instant;
use crate::trace::TraceKind;

/// The capability context of a task: cheap to clone, `Send + Sync`.
///
/// A `Cx` belongs to one task and one region. The `Cx` a region body receives belongs
/// to that region: tasks spawned with it are owned by the region, and cancelling the
/// region is what its checkpoints observe.
#[derive(Clone)]
pub struct Cx {
    task: TaskRef,
    /// The region of a region body's `Cx` (which runs inside `task` but answers to the
    /// region's cancellation scope); `None` for a task's own `Cx`, whose region is the
    /// task's. So a task's `Cx` touches no reference count shared with its siblings.
    ///
    /// No copy of the budget either: it is derived on demand, which keeps a `Cx` two
    /// words wide (it is captured by nearly every task's future).
    body: Option<Arc<RegionCore>>,
}

impl Cx {
    pub(crate) fn for_task(task: TaskRef) -> Cx {
        Cx { task, body: None }
    }

    pub(crate) fn for_body(task: TaskRef, region: Arc<RegionCore>) -> Cx {
        Cx {
            task,
            body: Some(region),
        }
    }

    pub(crate) fn scope(&self) -> &CancelScope {
        match &self.body {
            Some(region) => &region.scope,
            None => &self.task.scope,
        }
    }

    pub(crate) fn is_body(&self) -> bool {
        self.body.is_some()
    }

    pub(crate) fn task_core(&self) -> &TaskRef {
        &self.task
    }

    /// The region this `Cx` spawns into.
    pub(crate) fn region_core(&self) -> &Arc<RegionCore> {
        self.body.as_ref().unwrap_or(&self.task.region)
    }

    pub(crate) fn runtime(&self) -> &Arc<RuntimeShared> {
        &self.region_core().rt
    }

    pub(crate) fn origin(&self) -> CancelOrigin {
        match &self.body {
            Some(region) => region.origin(),
            None => CancelOrigin::Task(self.task.id),
        }
    }

    /// The cooperative cancellation point: `Err(Cancelled)` once this task (or the
    /// region whose body this is) has been asked to stop. One atomic load when not.
    #[inline]
    pub fn checkpoint(&self) -> Result<(), Cancelled> {
        if self.scope().is_requested() {
            Err(Cancelled::new(self.cancel_reason().unwrap_or_else(|| {
                CancelReason::new(crate::CancelKind::User)
            })))
        } else {
            Ok(())
        }
    }

    /// `true` once cancellation has been requested.
    #[inline]
    pub fn is_cancel_requested(&self) -> bool {
        self.scope().is_requested()
    }

    /// Why this task was asked to stop, if it was.
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        self.scope().reason()
    }

    /// When the drain of this `Cx`'s cancellation ends: past it the runtime drops the
    /// future instead of polling it. `None` while no cancel was requested, or when the
    /// drain is bounded by a poll quota only.
    ///
    /// For bridges to other executors (the Tokio quarantine), which must stop work they
    /// host elsewhere *before* the drain is spent so they can still report it.
    pub fn drain_deadline(&self) -> Option<Instant> {
        if !self.is_cancel_requested() {
            return None;
        }
        self.scope().drain().deadline
    }

    /// This task's budget (the meet of its own and its region's).
    pub fn budget(&self) -> Budget {
        match &self.body {
            // A region's budget is already met with the `Cx` that opened it, whose task
            // runs the body: so it is the meet of the task's and the region's.
            Some(region) => region.budget,
            None => self.task.budget,
        }
    }

    /// Spends `cost` of the budget's cost quota; `Err(Cancelled)` once it is spent
    /// (the task is then cancelled with `CostQuota`).
    pub fn charge(&self, cost: u64) -> Result<(), Cancelled> {
        self.task.charge(cost);
        self.checkpoint()
    }

    /// The current time on the runtime's clock (virtual under the lab runtime).
    pub fn now(&self) -> Instant {
        self.region_core().rt.clock.now()
    }

    /// Records a message in the runtime's trace (when tracing is on), tagged with this
    /// task and region.
    pub fn trace(&self, message: impl fmt::Display) {
        let rt = &self.region_core().rt;
        if rt.trace.is_enabled() {
            rt.trace.record(
                rt,
                Some(self.task.id),
                Some(self.region_core().id),
                TraceKind::User(message.to_string()),
            );
        }
    }

    /// This task's id.
    pub fn task_id(&self) -> u64 {
        self.task.id
    }

    /// The id of the region this `Cx` spawns into.
    pub fn region_id(&self) -> u64 {
        self.region_core().id
    }

    /// The name of the region this `Cx` spawns into.
    pub fn region_name(&self) -> &str {
        &self.region_core().name
    }

    /// Spawns a task into this `Cx`'s region; the task receives its own `Cx`.
    ///
    /// The region will not close until the task is done. If the region is cancelled or
    /// finalizing, the task is *born cancelled*: `f` is not called and the handle's join
    /// reports `Cancelled` with [`CancelKind::RegionClosed`](crate::CancelKind::RegionClosed).
    ///
    /// `f` runs when the task is first polled, not during `spawn` (it receives the
    /// task's `Cx`, which exists only once the task does), so it must be `Send + 'static`
    /// like the future it returns; a panic in it is the task's panic.
    pub fn spawn<F, Fut, T>(&self, f: F) -> TaskHandle<T>
    where
        F: FnOnce(Cx) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(self.region_core(), self.budget(), None, f)
    }

    /// Like [`spawn`](Cx::spawn), with a budget for the task (met with this one).
    pub fn spawn_with<F, Fut, T>(&self, budget: Budget, f: F) -> TaskHandle<T>
    where
        F: FnOnce(Cx) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(self.region_core(), self.budget().meet(budget), None, f)
    }

    /// Like [`spawn`](Cx::spawn), naming the task (the name shows in traces and
    /// oracle reports).
    pub fn spawn_named<F, Fut, T>(&self, name: impl Into<Arc<str>>, f: F) -> TaskHandle<T>
    where
        F: FnOnce(Cx) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(self.region_core(), self.budget(), Some(name.into()), f)
    }

    /// Registers a finalizer on this `Cx`'s region: finalizers run in LIFO order once
    /// the region is quiescent, whether it finished or was cancelled.
    pub fn defer<Fut>(&self, finalizer: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.region_core().defer(Box::pin(finalizer));
    }

    /// Cancels this `Cx`'s region: every task in it and every region inside it, with
    /// the runtime's default drain budget.
    pub fn cancel_region(&self, reason: CancelReason) {
        let drain = self.region_core().rt.default_drain();
        self.region_core().cancel(reason, drain);
    }

    /// Resolves when the runtime is asked to shut down (`Runtime::shutdown`, or Ctrl-C
    /// where the runtime listens for it), or when this task is cancelled: a cancelled
    /// waiter stops waiting, so the signal drains at once as a losing `select!` branch.
    pub fn shutdown_signal(&self) -> ShutdownSignal<'_> {
        ShutdownSignal {
            cx: self,
            key: None,
        }
    }

    /// The drain budget this task hands on when it passes its own cancellation on.
    pub(crate) fn drain_budget(&self) -> Budget {
        let drain = self.scope().drain();
        let budget = crate::scope::Drain::budget(drain.deadline, drain.polls_left);
        if budget.is_infinite() {
            self.region_core().rt.default_drain()
        } else {
            budget
        }
    }
}

impl fmt::Debug for Cx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx")
            .field("task", &self.task.id)
            .field("region", &&*self.region_core().name)
            .field("cancel_requested", &self.is_cancel_requested())
            .finish()
    }
}

/// The future returned by [`Cx::shutdown_signal`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ShutdownSignal<'cx> {
    cx: &'cx Cx,
    key: Option<usize>,
}

impl Future for ShutdownSignal<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<()> {
        if self.cx.is_cancel_requested() {
            if let Some(key) = self.key.take() {
                self.cx.runtime().shutdown.forget(key);
            }
            return Poll::Ready(());
        }
        let shutdown = &self.cx.runtime().shutdown;
        let key = self.key;
        match shutdown.poll_requested(key, task.waker()) {
            Ok(()) => {
                self.key = None;
                Poll::Ready(())
            }
            Err(key) => {
                self.key = Some(key);
                Poll::Pending
            }
        }
    }
}

impl Drop for ShutdownSignal<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cx.runtime().shutdown.forget(key);
        }
    }
}
