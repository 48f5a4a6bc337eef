//! Per-task state shared by the task's future, its handle, its region and its `Cx`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Wake, Waker};

use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelOrigin, CancelReason};
use crate::region::RegionCore;
use crate::runtime::shared::RuntimeShared;
use crate::scope::{CancelScope, Requested};
use crate::time::timer::TimerKey;
use crate::trace::TraceKind;

pub(crate) struct TaskCore {
    pub(crate) id: u64,
    pub(crate) name: Option<Arc<str>>,
    /// The region that owns this task.
    pub(crate) region: Arc<RegionCore>,
    pub(crate) scope: CancelScope,
    pub(crate) budget: Budget,
    /// The task's own waker, used to wake it when it is cancelled. Cleared when the
    /// task finishes so the task allocation is not kept alive by its own state.
    waker: Mutex<Option<Waker>>,
    deadline_timer: Mutex<Option<TimerKey>>,
    cost_left: AtomicU64,
    polls: AtomicU32,
    finished: AtomicBool,
}

impl TaskCore {
    pub(crate) fn new(
        id: u64,
        region: Arc<RegionCore>,
        budget: Budget,
        name: Option<Arc<str>>,
    ) -> TaskCore {
        TaskCore {
            id,
            name,
            region,
            scope: CancelScope::new(),
            budget,
            waker: Mutex::new(None),
            deadline_timer: Mutex::new(None),
            cost_left: AtomicU64::new(budget.cost_quota().unwrap_or(u64::MAX)),
            polls: AtomicU32::new(0),
            finished: AtomicBool::new(false),
        }
    }

    pub(crate) fn rt(&self) -> &Arc<RuntimeShared> {
        &self.region.rt
    }

    /// Installs the task's waker. A cancel that arrived before there was a waker to
    /// arm the drain timer with (a region cancelled from another thread mid-spawn) gets
    /// its timer now.
    pub(crate) fn set_waker(&self, waker: Waker) {
        *lock(&self.waker) = Some(waker);
        if self.scope.is_requested() {
            self.arm_drain_timer();
        }
    }

    pub(crate) fn wake(&self) {
        let waker = lock(&self.waker).clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Arms the budget's deadline: when it passes, the task is cancelled with
    /// [`CancelKind::Deadline`].
    pub(crate) fn arm_deadline(self: &Arc<Self>) {
        if let Some(deadline) = self.budget.get_deadline() {
            let waker = Waker::from(Arc::new(DeadlineCancel(Arc::downgrade(self))));
            let key = self.rt().timers.insert(deadline, waker);
            *lock(&self.deadline_timer) = Some(key);
        }
    }

    /// Counts one poll against the budget's poll quota, cancelling the task when it
    /// is spent.
    pub(crate) fn count_poll(self: &Arc<Self>) {
        if let Some(quota) = self.budget.poll_quota() {
            let polls = self.polls.fetch_add(1, Ordering::Relaxed) + 1;
            if polls > quota && !self.scope.is_requested() {
                let reason = CancelReason::new(CancelKind::PollQuota)
                    .with_message(format!("poll quota of {quota} spent"));
                self.cancel(reason, self.rt().default_drain());
            }
        }
    }

    /// Spends `cost` from the budget's cost quota; cancels the task once it is spent.
    pub(crate) fn charge(self: &Arc<Self>, cost: u64) {
        let prev = self
            .cost_left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                Some(left.saturating_sub(cost))
            })
            .unwrap_or(0);
        if prev != u64::MAX && prev < cost {
            let reason = CancelReason::new(CancelKind::CostQuota).with_message("cost quota spent");
            self.cancel(reason, self.rt().default_drain());
        }
    }

    /// Step one of the protocol for this task: record the request, push it down to the
    /// regions opened in the task, arm the drain deadline, and wake the task so its
    /// cancel-aware operations return `Err(Cancelled)`.
    pub(crate) fn cancel(self: &Arc<Self>, reason: CancelReason, drain: Budget) {
        self.cancel_as(reason, drain, DrainTimer::Own);
    }

    /// [`cancel`](TaskCore::cancel), for a task whose region arms one drain timer for
    /// all its tasks instead of one each.
    pub(crate) fn cancel_as(
        self: &Arc<Self>,
        reason: CancelReason,
        drain: Budget,
        timer: DrainTimer,
    ) {
        if self.is_finished() {
            return;
        }
        let rt = self.rt().clone();
        let kind = reason.kind;
        match self
            .scope
            .request(reason.clone(), drain.get_deadline(), drain.poll_quota())
        {
            Requested::First(children) => {
                rt.trace.record(
                    &rt,
                    Some(self.id),
                    Some(self.region.id),
                    TraceKind::CancelRequested(kind),
                );
                let child_reason = reason.for_child(CancelOrigin::Task(self.id));
                for child in children {
                    child.cancel(child_reason.clone(), drain);
                }
                if timer == DrainTimer::Own {
                    self.arm_drain_timer();
                }
                self.wake();
            }
            Requested::Strengthened | Requested::Unchanged => {
                if timer == DrainTimer::Own {
                    self.arm_drain_timer();
                }
            }
        }
    }

    /// (Re-)arms the timer that wakes the task when its drain deadline passes, so the
    /// harness can drop a future that ignored the request.
    fn arm_drain_timer(&self) {
        let Some(deadline) = self.scope.drain().deadline else {
            return;
        };
        let Some(waker) = lock(&self.waker).clone() else {
            return;
        };
        let timers = &self.rt().timers;
        let key = timers.insert(deadline, waker);
        if let Some(old) = self.scope.set_drain_timer(key) {
            timers.remove(old);
        }
    }

    /// Called exactly once, when the task's future is gone.
    pub(crate) fn on_finished(&self) {
        self.finished.store(true, Ordering::Release);
        // Skip the locks when there is nothing to release: this runs for every task.
        let timers = &self.rt().timers;
        if self.budget.get_deadline().is_some() {
            if let Some(key) = lock(&self.deadline_timer).take() {
                timers.remove(key);
            }
        }
        if self.scope.is_requested() {
            if let Some(key) = self.scope.take_drain_timer() {
                timers.remove(key);
            }
        }
        lock(&self.waker).take();
    }
}

/// Who arms the timer that wakes a cancelled task when its drain deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DrainTimer {
    /// The task arms its own (it was cancelled on its own).
    Own,
    /// Its region arms one for every task it cancels at once.
    Region,
}

/// A waker that, when its timer fires, cancels the task whose deadline passed.
struct DeadlineCancel(Weak<TaskCore>);

impl Wake for DeadlineCancel {
    fn wake(self: Arc<Self>) {
        if let Some(task) = self.0.upgrade() {
            let reason =
                CancelReason::new(CancelKind::Deadline).with_message("budget deadline passed");
            let drain = task.rt().default_drain();
            task.cancel(reason, drain);
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Runtime locks never run user code while held, so poisoning cannot leave them
    // half-updated.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
