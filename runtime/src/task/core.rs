//! Per-task state, and the references that keep it alive.
//!
//! # One allocation per task
//!
//! A spawned task is one heap allocation: async-task's raw task, which holds its
//! header, the schedule function, the future (our [`TaskHarness`](super::harness))
//! and, as async-task's *metadata*, this [`TaskCore`]. The scheduler reads the core
//! straight from a queued `Runnable<TaskCore>` (to pick a lane), and everything else
//! that must name a task (its `Cx`, its region's task list, a deadline timer, the lab's
//! registry) holds a [`TaskRef`].
//!
//! A `TaskRef` is a pointer to the core plus one reference count on the allocation
//! around it, taken through the task's own waker: async-task's wakers count references
//! on the raw task, and async-task drops the metadata only when it destroys the
//! allocation, after the last `Runnable`, waker and `Task` are gone (`raw.rs`: `destroy`
//! is reached only from `drop_ref`/`drop_waker`/the `Task`'s drop once the count is
//! zero and the `Task` is gone, and drops the header, metadata included, before it
//! deallocates). So a live `TaskRef` is a live core. The core stores the waker's raw
//! parts (data and vtable, which own no count) so that a `TaskRef` is one pointer wide;
//! cloning one clones the waker, dropping one drops a waker.
//!
//! The `block_on` body's task has no async-task allocation (it is polled in place); its
//! core lives in an `Arc` whose `Wake` impl forwards to the root's waker
//! ([`RootTask`]), and its raw parts are those of that `Arc`'s waker. The rule is the
//! same: the raw parts name a waker whose count keeps the core alive.
//!
//! This replaced an `Arc<TaskCore>` next to the raw task: two allocations per spawn
//! (each freed on whichever thread finished the task, so glibc's arena locks were
//! taken twice), and the core's own copy of the task's waker behind a mutex.
//!
//! One caveat shapes who may hold an *uncounted* pointer ([`CorePtr`]): async-task
//! frees a pending task whose last reference goes without dropping its future, so
//! nothing may rely on the harness's drop to release such a pointer unless something
//! else keeps a count (the region's task list does).
//!
//! Why not our own raw task (Tokio's `task/` module)? async-task already gives one
//! allocation with metadata, a waker that counts references and a vetted state
//! machine; writing our own would add a large amount of `unsafe` and loom models for
//! the same layout.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{RawWakerVTable, Wake, Waker};

use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelOrigin, CancelReason};
use crate::region::RegionCore;
use crate::runtime::shared::RuntimeShared;
use crate::scope::{CancelScope, Requested};
use crate::trace::TraceKind;

/// A task's state: async-task's metadata of the task's allocation (see the
/// [module docs](self)).
pub(crate) struct TaskCore {
    pub(crate) id: u64,
    pub(crate) name: Option<Arc<str>>,
    /// The region that owns this task.
    pub(crate) region: Arc<RegionCore>,
    pub(crate) scope: CancelScope,
    pub(crate) budget: Budget,
    /// The raw parts of the task's own waker, set once before the task is published
    /// ([`TaskCore::publish`]); they own no reference count.
    waker_data: AtomicPtr<()>,
    waker_vtable: AtomicPtr<RawWakerVTable>,
    /// The task's key in its region's task list, [`NOT_REGISTERED`] until admitted.
    region_key: AtomicUsize,
    cost_left: AtomicU64,
    polls: AtomicU32,
    finished: AtomicBool,
}

const NOT_REGISTERED: usize = usize::MAX;

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
            waker_data: AtomicPtr::new(std::ptr::null_mut()),
            waker_vtable: AtomicPtr::new(std::ptr::null_mut()),
            region_key: AtomicUsize::new(NOT_REGISTERED),
            cost_left: AtomicU64::new(budget.cost_quota().unwrap_or(u64::MAX)),
            polls: AtomicU32::new(0),
            finished: AtomicBool::new(false),
        }
    }

    pub(crate) fn rt(&self) -> &Arc<RuntimeShared> {
        &self.region.rt
    }

    /// Records the raw parts of the task's own waker, and turns the count `waker`
    /// holds into the first [`TaskRef`].
    ///
    /// # Safety
    ///
    /// `waker` must keep alive the allocation this core lives in (every clone of it
    /// holding one count on it, as async-task's wakers and `Arc` wakers do), and this
    /// must be called before any other [`TaskRef`] to the core is made or the core is
    /// reachable from another thread.
    pub(crate) unsafe fn publish(&self, waker: Waker) -> TaskRef {
        self.waker_data
            .store(waker.data().cast_mut(), Ordering::Relaxed);
        self.waker_vtable.store(
            std::ptr::from_ref(waker.vtable()).cast_mut(),
            Ordering::Relaxed,
        );
        std::mem::forget(waker);
        TaskRef {
            core: NonNull::from(self),
        }
    }

    /// The task's waker, borrowed: never dropped, so it takes and gives no count.
    fn borrowed_waker(&self) -> ManuallyDrop<Waker> {
        let data = self.waker_data.load(Ordering::Relaxed);
        let vtable = self.waker_vtable.load(Ordering::Relaxed);
        assert!(
            !vtable.is_null(),
            "a task's waker is used before it was published"
        );
        // SAFETY: `publish` stored the parts of a valid waker of this task (its contract),
        // and they stay valid while the allocation around `self` lives, which `&self`
        // guarantees. The waker is never dropped, so no count is given back that was
        // not taken.
        ManuallyDrop::new(unsafe { Waker::new(data, &*vtable) })
    }

    /// Wakes the task (a no-op for a finished one).
    pub(crate) fn wake(&self) {
        self.borrowed_waker().wake_by_ref();
    }

    /// A waker of the task (it keeps the task's allocation alive while it exists).
    pub(crate) fn waker(&self) -> Waker {
        Waker::clone(&self.borrowed_waker())
    }

    /// A counted reference to this task.
    pub(crate) fn task_ref(&self) -> TaskRef {
        std::mem::forget(self.waker());
        TaskRef {
            core: NonNull::from(self),
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Remembers the task's key in its region's task list.
    pub(crate) fn set_region_key(&self, key: usize) {
        self.region_key.store(key, Ordering::Relaxed);
    }

    /// Arms the budget's deadline: when it passes, the task is cancelled with
    /// [`CancelKind::Deadline`].
    pub(crate) fn arm_deadline(&self) {
        if let Some(deadline) = self.budget.get_deadline() {
            let waker = Waker::from(Arc::new(DeadlineCancel(self.task_ref())));
            let key = self.rt().timers.insert(deadline, waker);
            if let Some(old) = self.scope.set_deadline_timer(key) {
                self.rt().timers.remove(old);
            }
        }
    }

    /// Counts one poll against the budget's poll quota, cancelling the task when it
    /// is spent.
    pub(crate) fn count_poll(&self) {
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
    pub(crate) fn charge(&self, cost: u64) {
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
    pub(crate) fn cancel(&self, reason: CancelReason, drain: Budget) {
        self.cancel_as(reason, drain, DrainTimer::Own);
    }

    /// [`cancel`](TaskCore::cancel), for a task whose region arms one drain timer for
    /// all its tasks instead of one each.
    pub(crate) fn cancel_as(&self, reason: CancelReason, drain: Budget, timer: DrainTimer) {
        if self.is_finished() {
            return;
        }
        let rt = self.rt();
        let kind = reason.kind;
        match self
            .scope
            .request(reason, drain.get_deadline(), drain.poll_quota())
        {
            Requested::First(children) => {
                rt.trace.record(
                    rt,
                    Some(self.id),
                    Some(self.region.id),
                    TraceKind::CancelRequested(kind),
                );
                // Most tasks open no region: build the children's reason (a cause
                // chain, so an allocation) only for those that did.
                if !children.is_empty() {
                    let reason = self.scope.reason().expect("the scope was just cancelled");
                    let child_reason = reason.for_child(CancelOrigin::Task(self.id));
                    for child in children {
                        child.cancel(child_reason.clone(), drain);
                    }
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
        let timers = &self.rt().timers;
        let key = timers.insert(deadline, self.waker());
        if let Some(old) = self.scope.set_drain_timer(key) {
            timers.remove(old);
        }
        // A cancel racing the task's end: its clean-up (`on_finished`, which sets the
        // flag before taking the timers under the scope's lock) may have missed this
        // timer, whose waker would keep the finished task's allocation until the drain
        // deadline.
        if self.is_finished() {
            for key in self.scope.take_timers() {
                timers.remove(key);
            }
        }
    }

    /// Called exactly once, when the task's future is gone: releases its timers and
    /// tells its region (if it was admitted to one).
    pub(crate) fn on_finished(&self) {
        self.finished.store(true, Ordering::Release);
        // Skip the locks when there is nothing to release: this runs for every task.
        if self.budget.get_deadline().is_some() || self.scope.is_requested() {
            let timers = &self.rt().timers;
            for key in self.scope.take_timers() {
                timers.remove(key);
            }
        }
        let key = self.region_key.load(Ordering::Relaxed);
        if key != NOT_REGISTERED {
            self.region.task_finished(key);
        }
    }
}

/// A counted reference to a task: keeps the task's allocation, and so its
/// [`TaskCore`], alive (see the [module docs](self)).
pub(crate) struct TaskRef {
    core: NonNull<TaskCore>,
}

// SAFETY: a `TaskRef` is a shared reference to a `TaskCore` (which is `Send + Sync`)
// plus one count of an atomic reference count, which may be given back from any thread
// (async-task's and `Arc`'s wakers are `Send + Sync`).
unsafe impl Send for TaskRef {}
// SAFETY: as above; `&TaskRef` only gives `&TaskCore`.
unsafe impl Sync for TaskRef {}

impl Deref for TaskRef {
    type Target = TaskCore;

    #[inline]
    fn deref(&self) -> &TaskCore {
        // SAFETY: this `TaskRef` owns a count on the allocation around the core, so
        // the core is alive (module docs).
        unsafe { self.core.as_ref() }
    }
}

impl Clone for TaskRef {
    #[inline]
    fn clone(&self) -> TaskRef {
        self.task_ref()
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // Give back the count this `TaskRef` took (`task_ref`), as a waker drop. The
        // core may be destroyed by it, so nothing is read from it afterwards.
        let waker = ManuallyDrop::into_inner(self.borrowed_waker());
        drop(waker);
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &TaskRef) -> bool {
        self.core == other.core
    }
}

/// A pointer to a task's core that holds no reference count, for holders that are
/// known to be gone before the core: the task's own harness (which lives inside the
/// allocation that holds the core) and its handle (whose async-task `Task` keeps that
/// allocation alive).
///
/// Not for the region's task list: async-task frees a task that is idle (pending) when
/// its last reference goes, *without dropping its future* (`raw.rs`, `run`: `Pending`,
/// then `drop_ref`, then `destroy`), so the harness's guard would never take the entry
/// out. The list holds [`TaskRef`]s, which keep such a task alive (it waits, like any
/// pending task, until its region cancels it). A test below pins that behaviour.
pub(crate) struct CorePtr(NonNull<TaskCore>);

// SAFETY: `CorePtr` only gives `&TaskCore`, and `TaskCore` is `Send + Sync`.
unsafe impl Send for CorePtr {}
// SAFETY: as above.
unsafe impl Sync for CorePtr {}

impl CorePtr {
    /// # Safety
    ///
    /// `core` must stay alive (at the same address) for as long as the `CorePtr`.
    pub(crate) unsafe fn new(core: &TaskCore) -> CorePtr {
        CorePtr(NonNull::from(core))
    }
}

impl Deref for CorePtr {
    type Target = TaskCore;

    #[inline]
    fn deref(&self) -> &TaskCore {
        // SAFETY: `CorePtr::new`'s contract: the core outlives this pointer.
        unsafe { self.0.as_ref() }
    }
}

/// The core of the `block_on` body's task, which has no async-task allocation: the
/// `Arc` around it is the allocation, and waking it wakes the root.
pub(crate) struct RootTask {
    pub(crate) core: TaskCore,
    root: Arc<crate::runtime::scheduler::RootWake>,
}

impl RootTask {
    /// Allocates the root task's core and publishes its waker.
    pub(crate) fn start(core: TaskCore, root: Arc<crate::runtime::scheduler::RootWake>) -> TaskRef {
        let task = Arc::new(RootTask { core, root });
        let waker = Waker::from(task.clone());
        // SAFETY: an `Arc` waker counts references on this `Arc`, whose allocation holds
        // the core; nothing else has seen the core yet.
        unsafe { task.core.publish(waker) }
    }
}

impl Wake for RootTask {
    fn wake(self: Arc<Self>) {
        self.root.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.root.wake_by_ref();
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

/// A waker that, when its timer fires, cancels the task whose deadline passed. The
/// timer is removed when the task finishes, so it does not keep the task alive past
/// that.
struct DeadlineCancel(TaskRef);

impl Wake for DeadlineCancel {
    fn wake(self: Arc<Self>) {
        let task = &self.0;
        let reason = CancelReason::new(CancelKind::Deadline).with_message("budget deadline passed");
        task.cancel(reason, task.rt().default_drain());
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Runtime locks never run user code while held, so poisoning cannot leave them
    // half-updated.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Metadata that records when async-task drops it.
    struct Meta(Arc<AtomicBool>);

    impl Drop for Meta {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Pins the async-task behaviour [`TaskRef`](super::TaskRef) relies on: the
    /// metadata lives until the last waker is gone, even after the task completed,
    /// its `Runnable` was consumed and its `Task` dropped.
    #[test]
    fn async_task_drops_the_metadata_only_with_the_last_reference() {
        let dropped = Arc::new(AtomicBool::new(false));
        let (runnable, task) = async_task::Builder::new()
            .metadata(Meta(dropped.clone()))
            .spawn(|_meta: &Meta| async { 5 }, |_r| {});
        let waker = runnable.waker();
        let second = waker.clone();
        let meta: *const Meta = runnable.metadata();
        assert!(!runnable.run(), "a ready future completes in one run");
        assert_eq!(poll_ready(task), 5);
        assert!(!dropped.load(Ordering::SeqCst));
        drop(waker);
        assert!(!dropped.load(Ordering::SeqCst));
        // Waking a finished task through a surviving waker is harmless.
        second.wake_by_ref();
        // SAFETY: `second` still counts a reference on the allocation (the property
        // under test), so the metadata is alive.
        assert!(!unsafe { &*meta }.0.load(Ordering::SeqCst));
        drop(second);
        assert!(dropped.load(Ordering::SeqCst));
    }

    /// Pins why a region's task list must hold counted references: async-task frees
    /// a pending task whose last reference goes without dropping its future, so a
    /// guard inside the future (ours tells the region the task is gone) never runs.
    #[test]
    fn async_task_frees_an_unreferenced_idle_task_without_dropping_its_future() {
        let meta_dropped = Arc::new(AtomicBool::new(false));
        let future_dropped = Arc::new(AtomicBool::new(false));
        let guard = Meta(future_dropped.clone());
        let (runnable, task) = async_task::Builder::new()
            .metadata(Meta(meta_dropped.clone()))
            .spawn(
                move |_meta: &Meta| async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                },
                |_r| {},
            );
        task.detach();
        // Polled once (pending, no waker kept), then the runnable's reference goes.
        assert!(!runnable.run());
        assert!(
            meta_dropped.load(Ordering::SeqCst),
            "the allocation was freed"
        );
        assert!(
            !future_dropped.load(Ordering::SeqCst),
            "async-task now drops the future first: the region list could hold CorePtrs"
        );
    }

    /// Every task carries a core and (nearly always) a `Cx` in its one allocation; the
    /// idle-task memory target (`docs/performance.md`) depends on both staying small.
    #[test]
    fn the_core_and_the_cx_stay_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<super::TaskRef>(), size_of::<usize>());
        assert_eq!(size_of::<crate::cx::Cx>(), 2 * size_of::<usize>());
        assert!(
            size_of::<super::TaskCore>() <= 144,
            "TaskCore grew to {} bytes",
            size_of::<super::TaskCore>()
        );
    }

    /// Polls a future that is already complete (no executor needed).
    fn poll_ready<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the task had not completed"),
        }
    }
}
