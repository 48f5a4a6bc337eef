//! State shared by everything running on one runtime.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use super::context;
use super::scheduler::multi_thread::MultiThread;
use super::scheduler::{current_thread::CurrentThread, RootWake, ScheduleKind, Scheduler};
use super::{RuntimeError, ShutdownState};
use crate::budget::Budget;
use crate::cancel::CancelReason;
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::reactor::IoDriver;
use crate::region::{self, RegionCore};
use crate::task::core::{lock, RootTask, TaskCore};
use crate::task::Runnable;
use crate::time::timer::TimerQueue;
use crate::time::Clock;
use crate::trace::Trace;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) default_drain: Duration,
    pub(crate) trace: bool,
    pub(crate) obligation_leak_policy: crate::obligation::LeakPolicy,
    /// IO and blocking-pool settings (thread names, pool cap, keep-alive, Ctrl-C).
    pub(crate) io: crate::reactor::IoConfig,
}

impl Config {
    pub(crate) const DEFAULT_DRAIN: Duration = Duration::from_secs(10);
}

pub(crate) struct RuntimeShared {
    pub(crate) clock: Clock,
    pub(crate) timers: TimerQueue,
    pub(crate) trace: Trace,
    pub(crate) shutdown: ShutdownState,
    pub(crate) config: Config,
    /// The IO reactor and the blocking pool; the schedulers' parkers sleep in the
    /// reactor, so they share it.
    pub(crate) io: Arc<IoDriver>,
    scheduler: Scheduler,
    ids: AtomicU64,
    roots: Mutex<HashMap<u64, Weak<RegionCore>>>,
    lifecycle: Mutex<Lifecycle>,
}

/// Whether the runtime's threads still run, and how many `block_on` calls need them.
///
/// After a shutdown request the threads (workers, blocking pool) stop and the reactor
/// closes as soon as no `block_on` is running: at once if none is, else when the last
/// one returns. A `block_on` after that returns `Cancelled` without running its body.
/// Both decisions are taken under this lock, and the request is published before it
/// is taken, so a shutdown racing with the last `block_on` stops the runtime exactly
/// once.
#[derive(Default)]
struct Lifecycle {
    active_block_ons: usize,
    stopped: bool,
}

impl RuntimeShared {
    pub(crate) fn new_current_thread(config: Config) -> std::io::Result<Arc<RuntimeShared>> {
        let io = Arc::new(IoDriver::new(&config.io)?);
        let scheduler = CurrentThread::new(io.clone());
        // A timer inserted from another thread (a task polled elsewhere with this
        // runtime's cx, as compat's host does) must wake the parked runtime thread.
        let timers = TimerQueue::default();
        let parker = scheduler.parker();
        timers.set_wake_hook(Box::new(move || parker.unpark()));
        Ok(Arc::new(RuntimeShared {
            clock: Clock::System,
            timers,
            trace: Trace::new(config.trace),
            shutdown: ShutdownState::default(),
            scheduler: Scheduler::CurrentThread(scheduler),
            io,
            config,
            ids: AtomicU64::new(1),
            roots: Mutex::new(HashMap::new()),
            lifecycle: Mutex::new(Lifecycle::default()),
        }))
    }

    /// A runtime for the lab: a virtual clock, tracing on, and the lab's seeded
    /// single-thread scheduler.
    pub(crate) fn new_lab(config: Config, lab: crate::lab::LabScheduler) -> Arc<RuntimeShared> {
        let clock = Clock::new_virtual();
        Arc::new(RuntimeShared {
            timers: TimerQueue::new(clock.now()),
            clock,
            trace: Trace::new(true),
            shutdown: ShutdownState::default(),
            scheduler: Scheduler::Lab(Box::new(lab)),
            // No reactor: the lab never touches real epoll (`lab::net` simulates it).
            io: Arc::new(IoDriver::without_reactor(&config.io)),
            config: Config {
                trace: true,
                ..config
            },
            ids: AtomicU64::new(1),
            roots: Mutex::new(HashMap::new()),
            lifecycle: Mutex::new(Lifecycle::default()),
        })
    }

    /// The lab scheduler, when this runtime is a lab runtime.
    /// A driver thread is about to park: how long it may sleep before the next timer
    /// is due (`None`: no timer). Until [`end_park`](crate::time::timer::TimerQueue::end_park), a timer inserted from
    /// another thread with an earlier deadline calls the wake hook.
    pub(crate) fn begin_timed_park(&self) -> Option<Duration> {
        self.timers
            .begin_park()
            .map(|deadline| deadline.duration_since(self.clock.now()))
    }

    pub(crate) fn lab(&self) -> Option<&crate::lab::LabScheduler> {
        match &self.scheduler {
            Scheduler::Lab(lab) => Some(lab.as_ref()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// A multi-thread runtime with `workers` worker threads named `{thread_name}-{i}`.
    pub(crate) fn new_multi_thread(
        config: Config,
        workers: usize,
        thread_name: &str,
    ) -> std::io::Result<Arc<RuntimeShared>> {
        let io = Arc::new(IoDriver::new(&config.io)?);
        let scheduler = MultiThread::new(workers, &io);
        let timers = TimerQueue::default();
        let driver = scheduler.shared().clone();
        timers.set_wake_hook(Box::new(move || driver.wake_driver()));
        let rt = Arc::new(RuntimeShared {
            clock: Clock::System,
            timers,
            trace: Trace::new(config.trace),
            shutdown: ShutdownState::default(),
            scheduler: Scheduler::MultiThread(scheduler),
            io,
            config,
            ids: AtomicU64::new(1),
            roots: Mutex::new(HashMap::new()),
            lifecycle: Mutex::new(Lifecycle::default()),
        });
        if let Scheduler::MultiThread(s) = &rt.scheduler {
            if let Err(e) = s.start(&rt, thread_name) {
                rt.teardown();
                return Err(e);
            }
        }
        Ok(rt)
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues a task that was woken (`is_yield`: it woke itself while running).
    #[inline]
    pub(crate) fn schedule(&self, runnable: Runnable, is_yield: bool) {
        let kind = if is_yield {
            ScheduleKind::Yield
        } else {
            ScheduleKind::Wake
        };
        self.scheduler.schedule(runnable, kind);
    }

    /// Queues a newly spawned task.
    #[inline]
    pub(crate) fn schedule_spawned(&self, runnable: Runnable) {
        self.scheduler.schedule(runnable, ScheduleKind::Spawn);
    }

    /// The drain budget used when a canceller names none.
    pub(crate) fn default_drain(&self) -> Budget {
        Budget::deadline(self.clock.now() + self.config.default_drain)
    }

    pub(crate) fn register_root(&self, region: &Arc<RegionCore>) {
        lock(&self.roots).insert(region.id, Arc::downgrade(region));
    }

    pub(crate) fn unregister_root(&self, id: u64) {
        lock(&self.roots).remove(&id);
    }

    pub(crate) fn shutdown(&self, reason: CancelReason, drain: Budget) {
        self.shutdown.request();
        let roots: Vec<Arc<RegionCore>> = lock(&self.roots)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for root in roots {
            root.cancel(reason.clone(), drain);
        }
        self.scheduler.unpark();
        self.stop_if_idle(lock(&self.lifecycle));
    }

    /// Counts a `block_on` in, or says why it cannot run: a single-threaded runtime
    /// runs one `block_on` at a time, and none runs once the runtime has stopped.
    fn enter_block_on(&self, single: bool) -> Result<(), Refused> {
        let mut lifecycle = lock(&self.lifecycle);
        if single && lifecycle.active_block_ons > 0 {
            return Err(Refused::AlreadyRunning);
        }
        if lifecycle.stopped {
            return Err(Refused::Stopped);
        }
        lifecycle.active_block_ons += 1;
        Ok(())
    }

    /// Counts a `block_on` out; the last one out after a shutdown request stops the
    /// runtime's threads.
    fn exit_block_on(&self) {
        let mut lifecycle = lock(&self.lifecycle);
        lifecycle.active_block_ons -= 1;
        self.stop_if_idle(lifecycle);
    }

    /// Stops the runtime's threads if a shutdown was requested and no `block_on`
    /// needs them; the decision is taken once, under the lifecycle lock, and the
    /// teardown runs after it is released.
    fn stop_if_idle(&self, mut lifecycle: MutexGuard<'_, Lifecycle>) {
        let stop =
            lifecycle.active_block_ons == 0 && self.shutdown.is_requested() && !lifecycle.stopped;
        lifecycle.stopped |= stop;
        drop(lifecycle);
        if stop {
            self.teardown();
        }
    }

    pub(crate) fn block_on<T, F, Fut>(self: &Arc<Self>, body: F) -> Result<Outcome<T>, RuntimeError>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        if context::is_entered() {
            return Err(RuntimeError::NestedBlockOn);
        }
        match self.enter_block_on(self.scheduler.is_single_threaded()) {
            Ok(()) => {}
            Err(Refused::AlreadyRunning) => return Err(RuntimeError::AlreadyRunning),
            Err(Refused::Stopped) => {
                let reason = CancelReason::new(crate::cancel::CancelKind::Shutdown)
                    .with_message("block_on called after the runtime was shut down");
                return Ok(Outcome::Cancelled(reason));
            }
        }
        let _active = ExitBlockOn(self);
        let _enter = context::enter(self);

        let root_wake = Arc::new(RootWake::new(self.scheduler.root_parker()));
        let root_id = self.next_id();
        let root_region = RegionCore::new_root(self.clone(), "root".into(), root_id);
        let root_task = RootTask::start(
            TaskCore::new(
                root_id,
                root_region.clone(),
                Budget::INFINITE,
                Some("block_on".into()),
            ),
            root_wake.clone(),
        );
        root_region.set_owner(root_task.clone());
        // Closing the region releases its owner; if `block_on` unwinds first, this does.
        let _release = ReleaseOwner(&root_region);
        if let Some(lab) = self.lab() {
            lab.set_root(root_task.id, root_region.id);
        }
        root_region.opened();

        let outcome = self.scheduler.block_on(
            self,
            &root_wake,
            region::run(&root_region, root_task.clone(), body),
        );
        root_task.on_finished();
        Ok(outcome)
    }

    /// Stops the runtime's threads and its reactor and drops whatever is still
    /// queued: when the runtime goes away, or once it is shut down and idle.
    /// Idempotent.
    pub(crate) fn teardown(&self) {
        self.scheduler.clear();
        self.timers.clear();
        self.io.shutdown();
    }
}

/// Why `block_on` cannot run.
enum Refused {
    AlreadyRunning,
    Stopped,
}

struct ExitBlockOn<'a>(&'a RuntimeShared);

impl Drop for ExitBlockOn<'_> {
    fn drop(&mut self) {
        self.0.exit_block_on();
    }
}

/// Releases the root region's owner (see [`RegionCore::release_owner`]).
struct ReleaseOwner<'a>(&'a RegionCore);

impl Drop for ReleaseOwner<'_> {
    fn drop(&mut self) {
        self.0.release_owner();
    }
}
