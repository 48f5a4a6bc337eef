//! A worker thread's run loop.
//!
//! Each turn: take the next task (the local lanes in the tick's order; the injector
//! first every [`FAIRNESS_INTERVAL`] ticks so outside work cannot starve), else search
//! (steal half of another worker's lane, or a batch from the injector), else park. A
//! task turn runs the task with a fresh cooperative budget, then drains the LIFO slot
//! at most [`MAX_LIFO_TURNS`] times in a row. Every [`MAINTENANCE_INTERVAL`] ticks the
//! worker polls IO without blocking (if no other worker is driving) and fires expired
//! timers even though it is busy, so neither waits for the whole runtime to go idle.
//!
//! Parking: the first worker to park takes the *driver* token and sleeps in the IO
//! reactor's `epoll_wait` until the next timer deadline; the others sleep on their
//! condvars until notified. Unparking the driver goes through the reactor's waker. A
//! timer inserted with an earlier deadline than the driver sleeps until wakes the
//! driver (see
//! [`TimerQueue::set_wake_hook`](crate::time::timer::TimerQueue::set_wake_hook)).
//!
//! The tasks the driver's IO events (and the timers it fires) wake go to its own
//! queue without a notification each; once it is back from parking it wakes one
//! sleeper if it brought back more than one task, so the rest can be stolen (Tokio's
//! `should_notify_others`).

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::super::coop;
use super::super::lanes::{lane_order, Lane, FAIRNESS_INTERVAL};
use super::inject::retry;
use super::queue::LocalQueue;
use super::Shared;
use crate::runtime::context;
use crate::runtime::shared::RuntimeShared;
use crate::task::Runnable;

/// Consecutive turns the LIFO slot may take before its task goes to the back of the
/// queue (two tasks waking each other would otherwise monopolise the worker).
const MAX_LIFO_TURNS: u32 = 3;

/// How often (in ticks) a busy worker fires expired timers and checks for stop.
const MAINTENANCE_INTERVAL: u32 = 61;

pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    rt: Arc<RuntimeShared>,
    index: usize,
    queue: LocalQueue,
    tick: Cell<u32>,
    searching: Cell<bool>,
    /// Set while a task is being polled: only then does a wake go to the LIFO slot.
    in_task: Cell<bool>,
    /// Set while the worker parks (and dispatches IO events and timers).
    parking: Cell<bool>,
    /// Tasks queued on this worker while it was parking.
    queued_while_parking: Cell<usize>,
    rng: Cell<u32>,
}

thread_local! {
    /// The worker running on this thread, while its run loop is on the stack.
    static CURRENT: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

/// Calls `f` with this thread's worker if it belongs to `shared`'s runtime.
#[inline]
pub(super) fn with_current<R>(shared: &Shared, f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let worker = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: `CURRENT` is non-null only while `Worker::run` is on this thread's stack
    // (set on entry, reset by `ResetCurrent` on exit, unwinding included), and `run`
    // borrows the worker for its whole duration, so the pointer is valid here; it is
    // only ever read on the thread that set it.
    let worker = unsafe { worker.as_ref() };
    f(worker.filter(|w| ptr::eq(Arc::as_ptr(&w.shared), shared)))
}

struct ResetCurrent;

impl Drop for ResetCurrent {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(ptr::null()));
    }
}

impl Worker {
    pub(super) fn new(
        shared: Arc<Shared>,
        rt: Arc<RuntimeShared>,
        index: usize,
        queue: LocalQueue,
    ) -> Worker {
        Worker {
            shared,
            rt,
            index,
            queue,
            tick: Cell::new(0),
            searching: Cell::new(false),
            in_task: Cell::new(false),
            parking: Cell::new(false),
            queued_while_parking: Cell::new(0),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
        }
    }

    pub(super) fn run(&self) {
        let _enter = context::enter(&self.rt);
        CURRENT.with(|c| c.set(self));
        let _reset = ResetCurrent;
        while !self.shared.is_stopping() {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            if tick % MAINTENANCE_INTERVAL == 0 {
                self.maintenance();
            }
            if let Some(task) = self.next_task(tick) {
                self.run_task(task);
            } else if let Some(task) = self.search(tick) {
                self.run_task(task);
            } else {
                self.park();
            }
        }
        // Whatever is left is dropped by the runtime's teardown, after every worker
        // has stopped; hand it over rather than dropping futures here.
        for runnable in self.queue.drain() {
            self.shared.inject.push(Lane::of(&runnable), runnable);
        }
    }

    /// Schedules `runnable` from this worker: a task woken by the running task goes to
    /// the LIFO slot, anything else to the back of its lane.
    #[inline]
    pub(super) fn schedule_local(&self, runnable: Runnable, is_yield: bool) {
        if self.in_task.get() && !is_yield && Lane::of(&runnable) != Lane::Cancel {
            match self.queue.push_lifo(runnable) {
                // The worker runs it right after the current turn: nobody to wake.
                None => return,
                Some(displaced) => self.queue.push_back(displaced),
            }
        } else {
            self.queue.push_back(runnable);
        }
        if self.parking.get() {
            // This worker runs it once back from parking; `park` decides then whether
            // others are needed.
            self.queued_while_parking
                .set(self.queued_while_parking.get() + 1);
            return;
        }
        self.shared.notify_parked_from_awake_worker();
    }

    fn next_task(&self, tick: u32) -> Option<Runnable> {
        if tick % FAIRNESS_INTERVAL == 0 {
            if let Some(task) = self.take_injected(tick) {
                return Some(task);
            }
        }
        self.queue.pop(tick).or_else(|| self.take_injected(tick))
    }

    fn take_injected(&self, tick: u32) -> Option<Runnable> {
        lane_order(tick)
            .into_iter()
            .find_map(|lane| self.shared.inject.steal_into(lane, self.queue.lane(lane)))
    }

    /// Steals half of a lane of another worker (starting at a random victim), else a
    /// batch from the injector. Only half the workers search at once.
    fn search(&self, tick: u32) -> Option<Runnable> {
        if !self.searching.get() {
            if !self.shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let workers = self.shared.stealers.len();
        let start = self.next_random() as usize % workers;
        for offset in 0..workers {
            let victim = (start + offset) % workers;
            if victim == self.index {
                continue;
            }
            for lane in lane_order(tick) {
                let stealer = &self.shared.stealers[victim][lane as usize];
                // Half of the victim's lane (crossbeam's default batch stops at 32).
                let steal_half =
                    || stealer.steal_batch_with_limit_and_pop(self.queue.lane(lane), usize::MAX);
                if let Some(task) = retry(steal_half) {
                    return Some(task);
                }
            }
        }
        self.take_injected(tick)
    }

    fn run_task(&self, task: Runnable) {
        if self.searching.replace(false) && self.shared.idle.transition_worker_from_searching() {
            // The last searcher found work: someone else takes over the search, for
            // the rest of the work and whatever this task spawns.
            self.shared.notify_parked_from_awake_worker();
        }
        self.poll(task);
        let mut lifo_turns = 0;
        while let Some(next) = self.queue.take_lifo() {
            if lifo_turns == MAX_LIFO_TURNS {
                self.queue.push_back(next);
                self.shared.notify_parked_from_awake_worker();
                break;
            }
            lifo_turns += 1;
            self.poll(next);
        }
    }

    #[inline]
    fn poll(&self, task: Runnable) {
        self.in_task.set(true);
        coop::budgeted(|| task.run());
        self.in_task.set(false);
    }

    fn park(&self) {
        let idle = &self.shared.idle;
        let was_searching = self.searching.replace(false);
        if idle.transition_worker_to_parked(self.index, was_searching)
            && self.shared.has_pending_work()
        {
            // Work arrived while this last searcher was giving up; its pusher relied on
            // the search, so hand it to someone (possibly this very worker).
            self.shared.notify_parked();
        }
        self.parking.set(true);
        self.queued_while_parking.set(0);
        let parker = &self.shared.parkers[self.index];
        if !self.shared.is_stopping() {
            if self.shared.driver.take_or_ask(self.index) {
                // A due timer still gets a non-blocking look at IO.
                parker.park_driving(self.rt.begin_timed_park());
                self.rt.timers.end_park();
                self.shared.driver.release_after_park();
            } else {
                parker.park(None);
            }
        }
        self.searching
            .set(idle.transition_worker_from_parked(self.index));
        self.rt.timers.fire_expired(self.rt.clock.now());
        self.parking.set(false);
        if self.queued_while_parking.get() > 1 && !self.searching.get() {
            self.shared.notify_parked_from_awake_worker();
        }
    }

    /// A busy worker's periodic chores: poll IO without blocking unless another
    /// worker is driving, and fire expired timers unless another thread is at it (no
    /// waiting on either).
    fn maintenance(&self) {
        if self.shared.driver.try_take(self.index) {
            self.rt.io.poll_now();
            if let Some(asked) = self.shared.driver.release_after_poll() {
                // It parked on its condvar meanwhile: let it take over the reactor.
                self.shared.parkers[asked].unpark();
            }
        }
        self.rt.timers.try_fire_expired(self.rt.clock.now());
    }

    fn next_random(&self) -> u32 {
        // xorshift32: victim selection only needs to spread, not to be unpredictable.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }
}

impl Shared {
    pub(super) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}
