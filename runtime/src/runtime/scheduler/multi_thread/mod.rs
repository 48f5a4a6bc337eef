//! The multi-thread work-stealing scheduler.
//!
//! Tasks run on a pool of worker threads. Each worker owns a [`LocalQueue`] (a
//! lock-free crossbeam deque per lane plus a LIFO slot); tasks scheduled from outside
//! the workers go to the global [`Inject`]or; an idle worker steals half of another's
//! lane. [`Idle`] keeps the wake-ups to the minimum: a spawn wakes at most one sleeper,
//! and only when no worker is already searching. The spawn, wake and poll paths take
//! no lock: a push to a deque plus one atomic load (the mutex in `Idle` is taken only
//! when a sleeper actually has to be woken).
//!
//! `block_on` polls the root future on the calling thread, as on the current-thread
//! runtime (it may borrow from the caller's stack and need not be `Send`), while the
//! workers run the spawned tasks.
//!
//! The workers also drive the IO reactor and the timers: the first worker to park
//! takes the *driver* token and sleeps in `epoll_wait` until the next timer deadline
//! (see [`worker`]); the tasks that IO wakes land in its own queue.

mod driver_token;
mod idle;
mod inject;
mod queue;
mod worker;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use crossbeam_deque::Stealer;

use super::lanes::Lane;
use super::RootWake;
use crate::reactor::IoDriver;
use crate::runtime::park::{Driver, Parker};
use crate::runtime::shared::RuntimeShared;
use crate::task::core::lock;
use crate::task::Runnable;
use driver_token::DriverToken;
use idle::Idle;
use inject::Inject;
use queue::LocalQueue;
use worker::Worker;

pub(crate) use idle::MAX_WORKERS;

/// How a task came to be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScheduleKind {
    /// Newly spawned: to the back of the queue.
    Spawn,
    /// Woken by someone else: the LIFO slot when the waker runs on a worker.
    Wake,
    /// Woke itself while running (`yield_now`): to the back, behind its siblings.
    Yield,
}

/// State the workers share.
pub(crate) struct Shared {
    inject: Inject,
    stealers: Box<[[Stealer<Runnable>; 3]]>,
    parkers: Box<[Parker]>,
    idle: Idle,
    /// Held by the worker that parks in the IO reactor until the next timer deadline
    /// (or that polls it without blocking, while busy).
    driver: DriverToken,
    stopping: AtomicBool,
}

impl Shared {
    #[inline]
    fn schedule(&self, runnable: Runnable, kind: ScheduleKind) {
        worker::with_current(self, |worker| match worker {
            Some(worker) => worker.schedule_local(runnable, kind != ScheduleKind::Wake),
            None => {
                self.inject.push(Lane::of(&runnable), runnable);
                self.notify_parked();
            }
        });
    }

    /// Wakes a sleeping worker if new work needs one (see [`Idle`]).
    #[inline]
    fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.parkers[worker].unpark();
        }
    }

    /// [`notify_parked`](Shared::notify_parked) from a worker that is awake (not
    /// between announcing it parks and waking up). With one worker there is nobody
    /// else to wake, and the check would cost a sequentially consistent
    /// read-modify-write on every spawn and every displaced LIFO task: a full fence
    /// that drains the store buffer each time (measured on `ping_pong`, 1 worker).
    #[inline]
    fn notify_parked_from_awake_worker(&self) {
        if self.stealers.len() > 1 {
            self.notify_parked();
        }
    }

    fn has_pending_work(&self) -> bool {
        !self.inject.is_empty()
            || self
                .stealers
                .iter()
                .any(|lanes| lanes.iter().any(|s| !s.is_empty()))
    }

    /// A timer earlier than the driver's wake-up was inserted: wake the driver.
    pub(crate) fn wake_driver(&self) {
        if let Some(worker) = self.driver.holder() {
            self.parkers[worker].unpark();
        }
    }
}

pub(crate) struct MultiThread {
    shared: Arc<Shared>,
    /// The workers' queues until [`start`](MultiThread::start) hands them to threads.
    pending: Mutex<Vec<LocalQueue>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl MultiThread {
    /// `workers` workers whose parked driver sleeps in `io`'s reactor.
    pub(crate) fn new(workers: usize, io: &Arc<IoDriver>) -> MultiThread {
        let (queues, stealers): (Vec<_>, Vec<_>) = (0..workers).map(|_| LocalQueue::new()).unzip();
        let shared = Arc::new(Shared {
            inject: Inject::default(),
            stealers: stealers.into_boxed_slice(),
            parkers: (0..workers)
                .map(|_| Parker::new(Some(io.clone() as Arc<dyn Driver>)))
                .collect(),
            idle: Idle::new(workers),
            driver: DriverToken::new(),
            stopping: AtomicBool::new(false),
        });
        MultiThread {
            shared,
            pending: Mutex::new(queues),
            threads: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Starts the worker threads, named `{thread_name}-{index}`.
    pub(crate) fn start(&self, rt: &Arc<RuntimeShared>, thread_name: &str) -> std::io::Result<()> {
        let queues = std::mem::take(&mut *lock(&self.pending));
        let mut threads = lock(&self.threads);
        for (index, queue) in queues.into_iter().enumerate() {
            let worker = Worker::new(self.shared.clone(), rt.clone(), index, queue);
            let handle = std::thread::Builder::new()
                .name(format!("{thread_name}-{index}"))
                .spawn(move || worker.run());
            match handle {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    drop(threads);
                    self.stop();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn schedule(&self, runnable: Runnable, kind: ScheduleKind) {
        self.shared.schedule(runnable, kind);
    }

    /// The root future runs on the calling thread, parked on its own parker between
    /// wake-ups; the workers do everything else.
    pub(crate) fn block_on<F: Future>(&self, root: &Arc<RootWake>, future: F) -> F::Output {
        let waker = Waker::from(root.clone());
        let mut context = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if root.take() {
                if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                    return output;
                }
            } else {
                root.parker().park(None);
            }
        }
    }

    /// Stops and joins every worker (idempotent).
    fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        for parker in self.shared.parkers.iter() {
            parker.unpark();
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        let me = std::thread::current().id();
        for handle in threads {
            // A worker dropping the last runtime reference cannot join itself.
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }

    /// Stops the workers, then drops every queued task.
    pub(crate) fn clear(&self) {
        self.stop();
        lock(&self.pending).clear();
        // Dropping a task drops its future, which may wake (and so schedule) others:
        // keep draining until nothing comes back.
        loop {
            let dropped = self.shared.inject.drain();
            if dropped.is_empty() {
                break;
            }
            drop(dropped);
        }
    }
}
