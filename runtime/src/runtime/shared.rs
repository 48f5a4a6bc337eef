//! State shared by everything running on one runtime.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::Duration;

use super::context;
use super::scheduler::{current_thread::CurrentThread, RootWake, Scheduler};
use super::{RuntimeError, ShutdownState};
use crate::budget::Budget;
use crate::cancel::CancelReason;
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::region::{self, RegionCore};
use crate::task::core::{lock, TaskCore};
use crate::task::Runnable;
use crate::time::timer::TimerQueue;
use crate::time::Clock;
use crate::trace::Trace;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) default_drain: Duration,
    pub(crate) trace: bool,
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
    /// The IO reactor (started on first registration) and the blocking pool.
    pub(crate) io: crate::reactor::IoDriver,
    scheduler: Scheduler,
    ids: AtomicU64,
    roots: Mutex<HashMap<u64, Weak<RegionCore>>>,
    running: AtomicBool,
}

impl RuntimeShared {
    pub(crate) fn new_current_thread(config: Config) -> Arc<RuntimeShared> {
        Arc::new(RuntimeShared {
            clock: Clock::System,
            timers: TimerQueue::default(),
            trace: Trace::new(config.trace),
            shutdown: ShutdownState::default(),
            scheduler: Scheduler::CurrentThread(CurrentThread::new()),
            io: crate::reactor::IoDriver::new(&config.io),
            config,
            ids: AtomicU64::new(1),
            roots: Mutex::new(HashMap::new()),
            running: AtomicBool::new(false),
        })
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn schedule(&self, runnable: Runnable) {
        self.scheduler.schedule(runnable);
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
    }

    pub(crate) fn block_on<T, F, Fut>(self: &Arc<Self>, body: F) -> Result<Outcome<T>, RuntimeError>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        if context::is_entered() {
            return Err(RuntimeError::NestedBlockOn);
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(RuntimeError::AlreadyRunning);
        }
        let _running = ClearOnDrop(&self.running);
        let _enter = context::enter(self);

        let root_wake = Arc::new(RootWake::new(self.scheduler.parker()));
        let root_task = Arc::new_cyclic(|task: &Weak<TaskCore>| {
            let region = RegionCore::new_root(self.clone(), "root".into(), task.clone());
            TaskCore::new(
                self.next_id(),
                region,
                Budget::INFINITE,
                Some("block_on".into()),
            )
        });
        root_task.set_waker(Waker::from(root_wake.clone()));
        let root_region = root_task.region.clone();
        root_region.opened();

        let outcome = self.scheduler.block_on(
            self,
            &root_wake,
            region::run(&root_region, root_task.clone(), body),
        );
        root_task.on_finished();
        Ok(outcome)
    }

    /// Drops whatever is still queued when the runtime goes away.
    pub(crate) fn teardown(&self) {
        self.scheduler.clear();
        self.timers.clear();
        self.io.shutdown();
    }
}

struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
