//! How a task woken on another thread reaches a current-thread runtime's thread.
//!
//! The runtime thread alone runs its tasks; another thread that wakes one pushes it
//! here, under a mutex, and unparks the runtime thread if it sleeps (in the reactor's
//! `epoll_wait` or on the parker's condvar). Two flags keep the common paths cheap:
//!
//! - `has_items` (written under the lock) lets the runtime thread skip the lock
//!   while nothing was pushed;
//! - `parked` lets a push skip the unpark while the runtime thread is busy: it will
//!   look at the queue before it sleeps.
//!
//! The wake-up must never be lost, so the two sides race as in Dekker's algorithm:
//! the runtime thread announces `parked`, *then* re-checks the queue under its lock
//! (not the `has_items` hint) before sleeping; a push queues under the lock, *then*
//! reads `parked`. Whichever takes the lock second sees the other: the runtime thread
//! finds the task, or the push finds `parked` and unparks (the parker keeps a token,
//! so an unpark that lands before the sleep still ends it). And since `has_items` is
//! only ever changed under the lock, together with the queue, the hint is never
//! stale once the thread has been through that lock or been unparked after a push:
//! it cannot hide a task the thread should run.
//!
//! The type is generic over the queue so that the loom models below check this very
//! code with a plain queue of numbers; the scheduler uses its [`Lanes`].

use crate::loom::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex, MutexGuard,
};
use std::sync::Arc;
use std::time::Duration;

use super::lanes::Lanes;
use crate::runtime::park::Parker;
use crate::task::Runnable;

/// What [`RemoteQueue`] needs of the queue it guards.
pub(crate) trait RunQueue: Default {
    type Item;
    fn push(&mut self, item: Self::Item);
    fn pop(&mut self) -> Option<Self::Item>;
    fn is_empty(&self) -> bool;
    fn clear(&mut self) -> Vec<Self::Item>;
}

impl RunQueue for Lanes {
    type Item = Runnable;

    fn push(&mut self, runnable: Runnable) {
        Lanes::push(self, runnable);
    }

    fn pop(&mut self) -> Option<Runnable> {
        Lanes::pop(self)
    }

    fn is_empty(&self) -> bool {
        Lanes::is_empty(self)
    }

    fn clear(&mut self) -> Vec<Runnable> {
        Lanes::clear(self)
    }
}

/// Tasks handed to the runtime thread from elsewhere, and the parker that wakes it.
pub(crate) struct RemoteQueue<Q> {
    queue: Mutex<Q>,
    /// Whether `queue` may hold a task (written under its lock): the runtime thread
    /// reads it to skip the lock while nothing was pushed.
    has_items: AtomicBool,
    /// Set while the runtime thread is (about to be) parked; a push only pays for an
    /// unpark when it is.
    parked: AtomicBool,
    parker: Arc<Parker>,
}

impl<Q: RunQueue> RemoteQueue<Q> {
    /// An empty queue whose runtime thread sleeps in `parker`.
    pub(crate) fn new(parker: Arc<Parker>) -> RemoteQueue<Q> {
        RemoteQueue {
            queue: Mutex::new(Q::default()),
            has_items: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            parker,
        }
    }

    pub(crate) fn parker(&self) -> &Arc<Parker> {
        &self.parker
    }

    /// Queues `item` from any thread and wakes the runtime thread if it sleeps or is
    /// about to.
    pub(crate) fn push(&self, item: Q::Item) {
        self.push_all([item]);
        // After the push (the lock's release): see the module docs.
        if self.parked.load(Ordering::SeqCst) {
            self.parker.unpark();
        }
    }

    /// Queues `items` without waking anyone: for the runtime thread itself, handing
    /// on what its own queue still held when `block_on` returned.
    pub(crate) fn push_all(&self, items: impl IntoIterator<Item = Q::Item>) {
        let mut queue = self.lock();
        for item in items {
            queue.push(item);
        }
        if !queue.is_empty() {
            self.has_items.store(true, Ordering::SeqCst);
        }
    }

    /// The next queued item, without taking the lock while nothing was pushed.
    pub(crate) fn pop(&self) -> Option<Q::Item> {
        if !self.has_items.load(Ordering::Acquire) {
            return None;
        }
        let mut queue = self.lock();
        let next = queue.pop();
        if queue.is_empty() {
            self.has_items.store(false, Ordering::SeqCst);
        }
        next
    }

    /// Called by the runtime thread when it found nothing to run: sleeps in the
    /// parker (driving IO for at most `timeout()`) unless a task was pushed or
    /// `has_other_work()`. Returns when woken, timed out, on IO or spuriously (the
    /// caller looks for work again); a push from here on never goes unnoticed.
    pub(crate) fn park_if_idle(
        &self,
        has_other_work: impl FnOnce() -> bool,
        timeout: impl FnOnce() -> Option<Duration>,
    ) {
        self.parked.store(true, Ordering::SeqCst);
        // Under the lock, after announcing the park: a push either is seen here or
        // sees `parked` and unparks (see `push`).
        let pushed = !self.lock().is_empty();
        if !pushed && !has_other_work() {
            self.parker.park_driving(timeout());
        }
        self.parked.store(false, Ordering::SeqCst);
    }

    /// Drops every queued item, and those their drops push in turn.
    pub(crate) fn clear(&self) {
        // Dropped outside the lock: dropping a task drops its future, which may wake
        // (and so push) others; keep draining until nothing comes back.
        loop {
            let dropped = self.lock().clear();
            if dropped.is_empty() {
                break;
            }
            drop(dropped);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Q> {
        // Never poisoned in practice: no user code runs under this lock (see `clear`).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(all(loom, test))]
mod loom_tests {
    use super::*;
    use crate::runtime::park::{loom_model_driver::ModelDriver, Driver};
    use std::collections::VecDeque;

    impl<T> RunQueue for VecDeque<T> {
        type Item = T;

        fn push(&mut self, item: T) {
            self.push_back(item);
        }

        fn pop(&mut self) -> Option<T> {
            self.pop_front()
        }

        fn is_empty(&self) -> bool {
            VecDeque::is_empty(self)
        }

        fn clear(&mut self) -> Vec<T> {
            self.drain(..).collect()
        }
    }

    type Queue = RemoteQueue<VecDeque<u32>>;

    /// The runtime thread's side, as `CurrentThread::run` does it with nothing else to
    /// run and no timer: take a pushed task, else park until woken. Returns the tasks
    /// run, in order, once `expected` of them have run.
    fn run_until(queue: &Queue, expected: usize) -> Vec<u32> {
        let mut ran = Vec::new();
        while ran.len() < expected {
            match queue.pop() {
                Some(task) => ran.push(task),
                None => queue.park_if_idle(|| false, || None),
            }
        }
        ran
    }

    /// A parker sleeping in the reactor (the current-thread runtime's case) or, with
    /// no driver, on its condvar.
    fn parker(in_driver: bool) -> Arc<Parker> {
        let driver = in_driver
            .then(|| std::sync::Arc::new(ModelDriver::default()) as std::sync::Arc<dyn Driver>);
        Arc::new(Parker::new(driver))
    }

    /// One push from another thread racing with the runtime thread's decision to
    /// park: the thread never sleeps through it (loom reports a deadlock if it could),
    /// and the first park to return has made the task visible to `pop` despite the
    /// `has_items` hint (the only unpark comes after the push, and the parker's
    /// blocking waits have no spurious returns here). The task runs once.
    #[test]
    fn loom_a_remote_push_racing_with_park_is_never_lost() {
        for in_driver in [true, false] {
            loom::model(move || {
                let queue = loom::sync::Arc::new(Queue::new(parker(in_driver)));
                let pusher = {
                    let queue = queue.clone();
                    loom::thread::spawn(move || queue.push(7))
                };
                let task = match queue.pop() {
                    Some(task) => task,
                    None => {
                        queue.park_if_idle(|| false, || None);
                        queue
                            .pop()
                            .expect("after the park returned, the hint shows the pushed task")
                    }
                };
                assert_eq!(task, 7);
                pusher.join().unwrap();
                assert_eq!(queue.pop(), None, "the task was taken exactly once");
            });
        }
    }

    /// Two pushes in a row from another thread while the runtime thread takes and
    /// parks: a pop can clear the hint while the second push is in flight, and an
    /// unpark can find the thread awake and leave a stale token. Both tasks run, each
    /// exactly once, and the thread never sleeps with one queued (a deadlock) nor
    /// spins past a task the hint hides (loom's branch limit).
    #[test]
    fn loom_two_remote_pushes_each_run_exactly_once() {
        for in_driver in [true, false] {
            loom::model(move || {
                let queue = loom::sync::Arc::new(Queue::new(parker(in_driver)));
                let pusher = {
                    let queue = queue.clone();
                    loom::thread::spawn(move || {
                        queue.push(1);
                        queue.push(2);
                    })
                };
                assert_eq!(run_until(&queue, 2), [1, 2], "each task ran exactly once");
                pusher.join().unwrap();
                assert_eq!(queue.pop(), None);
            });
        }
    }
}
