//! Schedulers: which runnable task runs next, and on which thread.
//!
//! Every scheduler keeps three lanes per queue, served in the order cancel > timed >
//! ready: a cancelled task runs first so it drains promptly, a task with a deadline
//! before one without. A fairness interval serves the lower lanes first now and then so
//! that no lane starves (see [`lanes`]). Both schedulers give each task turn a
//! cooperative budget ([`coop`]).

pub(crate) mod coop;
pub(crate) mod current_thread;
mod lanes;
pub(crate) mod multi_thread;
mod remote_queue;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Wake;

use super::park::Parker;
use crate::task::Runnable;
pub(crate) use multi_thread::ScheduleKind;

pub(crate) enum Scheduler {
    CurrentThread(current_thread::CurrentThread),
    /// The lab runtime's seeded, single-thread scheduler (`crate::lab`).
    Lab(Box<crate::lab::LabScheduler>),
    MultiThread(multi_thread::MultiThread),
}

impl Scheduler {
    #[inline]
    pub(crate) fn schedule(&self, runnable: Runnable, kind: ScheduleKind) {
        match self {
            Scheduler::CurrentThread(s) => s.schedule(runnable),
            Scheduler::Lab(s) => s.schedule(runnable),
            Scheduler::MultiThread(s) => s.schedule(runnable, kind),
        }
    }

    /// Wakes the thread running `block_on`, if it parks on the scheduler (the
    /// current-thread runtime; a multi-thread root parks on its own parker and is woken
    /// through its waker).
    pub(crate) fn unpark(&self) {
        match self {
            Scheduler::CurrentThread(s) => s.unpark(),
            Scheduler::Lab(s) => s.unpark(),
            Scheduler::MultiThread(_) => {}
        }
    }

    /// The parker a `block_on` call sleeps on.
    pub(crate) fn root_parker(&self) -> Arc<Parker> {
        match self {
            Scheduler::CurrentThread(s) => s.parker(),
            Scheduler::Lab(s) => s.parker(),
            Scheduler::MultiThread(_) => Arc::new(Parker::default()),
        }
    }

    /// Whether only one `block_on` may run at a time.
    pub(crate) fn is_single_threaded(&self) -> bool {
        matches!(self, Scheduler::CurrentThread(_))
    }

    pub(crate) fn block_on<F: std::future::Future>(
        &self,
        rt: &super::shared::RuntimeShared,
        root: &Arc<RootWake>,
        future: F,
    ) -> F::Output {
        match self {
            Scheduler::CurrentThread(s) => s.block_on(rt, root, future),
            Scheduler::Lab(s) => s.block_on(rt, root, future),
            Scheduler::MultiThread(s) => s.block_on(root, future),
        }
    }

    pub(crate) fn clear(&self) {
        match self {
            Scheduler::CurrentThread(s) => s.clear(),
            Scheduler::Lab(s) => s.clear(),
            Scheduler::MultiThread(s) => s.clear(),
        }
    }
}

/// The waker of the `block_on` body, which is polled in place on the calling thread
/// rather than queued: it may borrow from the caller's stack and need not be `Send`.
pub(crate) struct RootWake {
    woken: AtomicBool,
    parker: Arc<Parker>,
}

impl RootWake {
    pub(crate) fn new(parker: Arc<Parker>) -> RootWake {
        RootWake {
            woken: AtomicBool::new(true),
            parker,
        }
    }

    /// Takes the wake-up, if there was one since the last call.
    pub(crate) fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    pub(crate) fn parker(&self) -> &Parker {
        &self.parker
    }
}

impl Wake for RootWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.parker.unpark();
        }
    }
}
