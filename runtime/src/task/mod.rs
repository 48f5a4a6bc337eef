//! Tasks: spawning into regions, handles, and `yield_now` / `spawn_blocking`.
//!
//! A task always belongs to the region of the `Cx` that spawned it, and that region
//! does not close until the task is gone. So there is no `detach`: dropping a
//! [`TaskHandle`] only gives up the right to join, and the region still owns the task.
//!
//! # What a spawn costs
//!
//! One heap allocation (async-task's raw task, with the `TaskCore` as its metadata;
//! see `task/core.rs` for why and how the references to it work), one reference count taken
//! for the region's task list, and the region's lock to be admitted. The closure given
//! to `spawn` is stored in that allocation and called on the task's first poll: it
//! needs the task's own `Cx`, which cannot exist before the allocation does. So `spawn`
//! asks `F: Send + 'static`, and a closure's synchronous part runs on the worker that
//! first polls the task, not in the spawner; a panic in it is the task's panic. A task
//! born cancelled (its region refuses it) is allocated and dropped unpolled, so its
//! closure is never called. The schedule function captures nothing, so the task stores
//! no schedule state and a spawn clones no runtime `Arc`.

pub(crate) mod blocking;
pub(crate) mod core;
mod handle;
pub(crate) mod harness;
mod yield_now;

use std::future::Future;
use std::sync::Arc;

pub use blocking::{spawn_blocking, spawn_blocking_with, CancelFlag};
pub use handle::{Join, TaskHandle};
pub use yield_now::{yield_now, YieldNow};

use self::core::{TaskCore, TaskRef};
use self::harness::TaskHarness;
use crate::budget::Budget;
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::region::RegionCore;
use crate::runtime::shared::RuntimeShared;
use crate::trace::TraceKind;

/// The runnable type the schedulers queue: async-task's single-allocation task with
/// the task's core state as metadata (the scheduler reads it to pick a lane).
pub(crate) type Runnable = async_task::Runnable<TaskCore>;

type AsyncTask<T> = async_task::Task<Outcome<T>, TaskCore>;

/// Spawns `f(cx)` as a task in `region`. A region that no longer accepts tasks gives
/// a handle whose join reports [`CancelKind::RegionClosed`](crate::CancelKind::RegionClosed);
/// `f` is then never called.
///
/// `f` is called on the task's first poll, with the task's own `Cx` (see
/// [`TaskHarness`]).
pub(crate) fn spawn_in<F, Fut, T>(
    region: &Arc<RegionCore>,
    budget: Budget,
    name: Option<Arc<str>>,
    f: F,
) -> TaskHandle<T>
where
    F: FnOnce(Cx) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = &region.rt;
    let core = TaskCore::new(rt.next_id(), region.clone(), budget, name);
    let (runnable, task, task_ref) = allocate(core, f);
    let core = runnable.metadata();
    if let Err(reason) = region.register_task(task_ref) {
        rt.trace
            .record(rt, Some(core.id), Some(region.id), TraceKind::BornCancelled);
        let handle = TaskHandle::born_cancelled(core.id, core.name.clone(), reason);
        // Dropping the unrun runnable drops `f` uncalled; the task was never admitted,
        // so its guard leaves the region alone.
        drop(runnable);
        drop(task);
        return handle;
    }
    rt.trace
        .record(rt, Some(core.id), Some(region.id), TraceKind::Spawned);
    core.arm_deadline();
    rt.schedule_spawned(runnable);
    TaskHandle::running(task)
}

/// Allocates a task (one allocation: header, schedule function, harness and core) and
/// publishes its waker, which becomes the returned reference (the one its region's
/// task list keeps). The task is not admitted to its region nor scheduled yet.
fn allocate<F, Fut>(core: TaskCore, f: F) -> (Runnable, AsyncTask<Fut::Output>, TaskRef)
where
    F: FnOnce(Cx) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let (runnable, task) = async_task::Builder::new().metadata(core).spawn(
        // SAFETY: async-task passes the metadata already in place in the allocation
        // this harness is written into, and drops it only when it destroys that
        // allocation, after which the harness is never polled or dropped (it was
        // dropped before, or is freed unrun); only this task's `Runnable` polls the
        // harness, and the waker is published below, before the runnable is
        // scheduled.
        |core: &TaskCore| unsafe { TaskHarness::new(core, f) },
        async_task::WithInfo(schedule),
    );
    // SAFETY: the runnable's waker counts references on the allocation that holds the
    // core, and nothing but this function has seen the core yet.
    let task_ref = unsafe { runnable.metadata().publish(runnable.waker()) };
    (runnable, task, task_ref)
}

/// The schedule function of every task: a wake goes to the runtime's scheduler, told
/// whether the task woke itself while running (a yield, which goes behind its siblings).
///
/// It captures nothing (the runtime is reached through the task's core), so async-task
/// stores no schedule state in the task.
fn schedule(runnable: Runnable, info: async_task::ScheduleInfo) {
    let rt: *const RuntimeShared = Arc::as_ptr(runnable.metadata().rt());
    // The scheduler may drop the runnable (a runtime shutting down), and with it the
    // last reference to the runtime: a waker keeps the allocation, and through the
    // core's region the runtime, alive until the call returns. (async-task takes the
    // same count itself for a schedule function with captured state.) A thread that
    // runs this runtime holds a reference of its own already, so the common wake, from
    // a task of the same runtime, skips the two reference-count updates.
    let _alive = (!crate::runtime::context::is_running(rt)).then(|| runnable.waker());
    // SAFETY: `rt` points into the `Arc<RuntimeShared>` held by the core's region; it
    // stays alive for the whole call through `_alive`, or through the reference the
    // current thread holds while it runs this runtime (`context::is_running`).
    unsafe { &*rt }.schedule(runnable, info.woken_while_running);
}

/// Spawns runtime bookkeeping (an abandoned region's finalizers) into `region` without
/// the admission check: the region cannot close before this task finishes, even if it
/// is cancelled, because the work is part of closing.
pub(crate) fn spawn_internal<Fut>(region: &Arc<RegionCore>, future: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = &region.rt;
    let core = TaskCore::new(rt.next_id(), region.clone(), Budget::INFINITE, None);
    let (runnable, task, task_ref) = allocate(core, move |_cx| future);
    region.register_task_unchecked(task_ref);
    rt.schedule_spawned(runnable);
    task.detach();
}
