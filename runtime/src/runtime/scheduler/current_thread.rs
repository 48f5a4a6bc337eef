//! The current-thread scheduler: every task runs on the thread that calls `block_on`.
//!
//! Two run queues, as in Tokio's current-thread scheduler: a task woken or spawned on
//! the runtime thread itself (the common case: one task wakes another) goes to a
//! *local* queue that only that thread touches, with no lock and no unpark; a task
//! woken from another thread goes to the *injected* queue behind a mutex and unparks
//! the runtime thread if it sleeps (the handshake, and its loom models, are in
//! [`RemoteQueue`]). The runtime thread serves the local queue and looks at the
//! injected one when the local one is empty and every [`FAIRNESS_INTERVAL`] tasks
//! regardless, so neither starves; an atomic flag lets it skip the mutex while
//! nothing was injected.
//!
//! That thread also drives the IO reactor: when it has nothing to run it parks in
//! `epoll_wait` until the next timer deadline (see [`crate::reactor`]), and while it
//! is busy it polls for readiness without blocking every [`EVENT_INTERVAL`] task
//! turns, so sockets are not starved by tasks that keep each other busy.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::ptr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::lanes::{Lanes, FAIRNESS_INTERVAL};
use super::remote_queue::RemoteQueue;
use super::RootWake;
use crate::reactor::IoDriver;
use crate::runtime::park::{Driver, Parker};
use crate::runtime::shared::RuntimeShared;
use crate::task::Runnable;

/// Tasks run per turn before the root future and the timers get a look.
const BATCH: usize = 128;

/// Task turns (the root's included) between two non-blocking IO polls of a busy
/// runtime (Tokio's `event_interval`).
const EVENT_INTERVAL: usize = 61;

pub(crate) struct CurrentThread {
    /// Tasks scheduled from other threads, or while no `block_on` runs, and the
    /// parker that wakes the runtime thread for them.
    injected: RemoteQueue<Lanes>,
}

/// The runtime thread's own state, on `block_on`'s stack.
struct Local {
    scheduler: *const CurrentThread,
    lanes: RefCell<Lanes>,
    /// Tasks taken so far, for the injected queue's fairness turn.
    tick: Cell<u32>,
}

thread_local! {
    /// The `block_on` running on this thread, while it is on the stack.
    static LOCAL: Cell<*const Local> = const { Cell::new(ptr::null()) };
}

/// Resets [`LOCAL`] when `block_on` returns or unwinds.
struct ResetLocal(*const Local);

impl Drop for ResetLocal {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|c| c.set(self.0));
    }
}

impl CurrentThread {
    /// A scheduler whose thread parks in `io`'s reactor.
    pub(crate) fn new(io: Arc<IoDriver>) -> CurrentThread {
        let parker = Arc::new(Parker::new(Some(io as Arc<dyn Driver>)));
        CurrentThread {
            injected: RemoteQueue::new(parker),
        }
    }

    pub(crate) fn schedule(&self, runnable: Runnable) {
        let Err(runnable) = self.schedule_local(runnable) else {
            return;
        };
        self.injected.push(runnable);
    }

    /// Queues `runnable` locally if this thread is running this scheduler's
    /// `block_on`; hands it back otherwise.
    #[inline]
    fn schedule_local(&self, runnable: Runnable) -> Result<(), Runnable> {
        let local = LOCAL.try_with(Cell::get).unwrap_or(ptr::null());
        // SAFETY: `LOCAL` is non-null only while `block_on` is on this thread's stack
        // with the `Local` it points to alive (set on entry, reset by `ResetLocal` on
        // return or unwind), and it is only read on the thread that set it.
        match unsafe { local.as_ref() } {
            Some(local) if ptr::eq(local.scheduler, self) => {
                // The thread is running, not parked: it sees the task before it parks.
                local.lanes.borrow_mut().push(runnable);
                Ok(())
            }
            _ => Err(runnable),
        }
    }

    pub(crate) fn unpark(&self) {
        self.injected.parker().unpark();
    }

    pub(crate) fn parker(&self) -> Arc<Parker> {
        self.injected.parker().clone()
    }

    pub(crate) fn block_on<F: Future>(
        &self,
        rt: &RuntimeShared,
        root: &Arc<RootWake>,
        future: F,
    ) -> F::Output {
        let local = Local {
            scheduler: self,
            lanes: RefCell::new(Lanes::default()),
            tick: Cell::new(0),
        };
        let previous = LOCAL.with(|c| c.replace(&local));
        let output = {
            let _reset = ResetLocal(previous);
            self.run(rt, root, &local, future)
        };
        // Nothing should be left (the root region closed to quiescence), but a task
        // woken late must not be lost with the stack frame.
        let left = local.lanes.borrow_mut().clear();
        if !left.is_empty() {
            self.injected.push_all(left);
        }
        output
    }

    fn run<F: Future>(
        &self,
        rt: &RuntimeShared,
        root: &Arc<RootWake>,
        local: &Local,
        future: F,
    ) -> F::Output {
        let waker = Waker::from(root.clone());
        let mut context = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut turns_since_io = 0;
        loop {
            if root.take() {
                if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                    return output;
                }
                turns_since_io += 1;
            }
            let mut ran = 0;
            while ran < BATCH {
                let Some(runnable) = self.next_task(local) else {
                    break;
                };
                super::coop::budgeted(|| runnable.run());
                ran += 1;
            }
            turns_since_io += ran;
            rt.timers.fire_expired(rt.clock.now());
            if ran == 0 && !root.is_woken() {
                self.park(rt, root, local);
                turns_since_io = 0;
            } else if turns_since_io >= EVENT_INTERVAL {
                rt.io.poll_now();
                turns_since_io = 0;
            }
        }
    }

    /// The local queue first, the injected one when it is empty, and the injected one
    /// first every [`FAIRNESS_INTERVAL`] tasks.
    fn next_task(&self, local: &Local) -> Option<Runnable> {
        let tick = local.tick.get().wrapping_add(1);
        local.tick.set(tick);
        if tick % FAIRNESS_INTERVAL == 0 {
            if let Some(runnable) = self.injected.pop() {
                return Some(runnable);
            }
        }
        let next = local.lanes.borrow_mut().pop();
        next.or_else(|| self.injected.pop())
    }

    fn park(&self, rt: &RuntimeShared, root: &RootWake, local: &Local) {
        self.injected.park_if_idle(
            || !local.lanes.borrow().is_empty() || root.is_woken(),
            // A due timer still gets a non-blocking look at IO.
            || rt.begin_timed_park(),
        );
        rt.timers.end_park();
        rt.timers.fire_expired(rt.clock.now());
    }

    pub(crate) fn clear(&self) {
        self.injected.clear();
    }
}
