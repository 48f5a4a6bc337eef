//! Tasks: spawning into regions, handles, and `yield_now` / `spawn_blocking`.
//!
//! A task always belongs to the region of the `Cx` that spawned it, and that region
//! does not close until the task is gone. So there is no `detach`: dropping a
//! [`TaskHandle`] only gives up the right to join, and the region still owns the task.

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

use self::core::TaskCore;
use self::harness::TaskHarness;
use crate::budget::Budget;
use crate::cx::Cx;
use crate::region::RegionCore;
use crate::trace::TraceKind;

/// The runnable type the schedulers queue: async-task's single-allocation task with
/// the task's core state as metadata (the scheduler reads it to pick a lane).
pub(crate) type Runnable = async_task::Runnable<Arc<TaskCore>>;

/// Spawns `f(cx)` as a task in `region`. A region that no longer accepts tasks gives
/// a handle whose join reports [`CancelKind::RegionClosed`](crate::CancelKind::RegionClosed);
/// `f` is then never called.
pub(crate) fn spawn_in<F, Fut, T>(
    region: &Arc<RegionCore>,
    budget: Budget,
    name: Option<Arc<str>>,
    f: F,
) -> TaskHandle<T>
where
    F: FnOnce(Cx) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = &region.rt;
    let core = Arc::new(TaskCore::new(rt.next_id(), region.clone(), budget, name));
    let region_key = match region.register_task(&core) {
        Ok(key) => key,
        Err(reason) => {
            rt.trace
                .record(rt, Some(core.id), Some(region.id), TraceKind::BornCancelled);
            core.on_finished();
            return TaskHandle::born_cancelled(core, reason);
        }
    };
    rt.trace
        .record(rt, Some(core.id), Some(region.id), TraceKind::Spawned);
    let future = f(Cx::for_task(core.clone()));
    let harness = TaskHarness::new(core.clone(), region_key, future);
    let schedule_rt = rt.clone();
    let (runnable, task) = async_task::Builder::new()
        .metadata(core.clone())
        .spawn(move |_| harness, schedule_with(schedule_rt));
    core.set_waker(runnable.waker());
    core.arm_deadline();
    rt.schedule_spawned(runnable);
    TaskHandle::running(core, task.fallible())
}

/// The schedule function of every task: a wake goes to the runtime's scheduler, told
/// whether the task woke itself while running (a yield, which goes behind its siblings).
fn schedule_with(
    rt: Arc<crate::runtime::shared::RuntimeShared>,
) -> async_task::WithInfo<impl Fn(Runnable, async_task::ScheduleInfo) + Send + Sync + 'static> {
    async_task::WithInfo(move |r: Runnable, info: async_task::ScheduleInfo| {
        rt.schedule(r, info.woken_while_running)
    })
}

/// Spawns runtime bookkeeping (an abandoned region's finalizers) into `region` without
/// the admission check: the region cannot close before this task finishes, even if it
/// is cancelled, because the work is part of closing.
pub(crate) fn spawn_internal<Fut>(region: &Arc<RegionCore>, future: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = &region.rt;
    let core = Arc::new(TaskCore::new(
        rt.next_id(),
        region.clone(),
        Budget::INFINITE,
        None,
    ));
    let region_key = region.register_task_unchecked(&core);
    let harness = TaskHarness::new(core.clone(), region_key, future);
    let schedule_rt = rt.clone();
    let (runnable, task) = async_task::Builder::new()
        .metadata(core.clone())
        .spawn(move |_| harness, schedule_with(schedule_rt));
    core.set_waker(runnable.waker());
    rt.schedule_spawned(runnable);
    task.detach();
}
