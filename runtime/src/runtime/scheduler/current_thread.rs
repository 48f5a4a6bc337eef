//! The current-thread scheduler: every task runs on the thread that calls `block_on`.
//!
//! That thread also drives the IO reactor: when it has nothing to run it parks in
//! `epoll_wait` until the next timer deadline (see [`crate::reactor`]), and while it
//! is busy it polls for readiness without blocking every [`EVENT_INTERVAL`] task
//! turns, so sockets are not starved by tasks that keep each other busy.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::lanes::Lanes;
use super::RootWake;
use crate::reactor::IoDriver;
use crate::runtime::park::{Driver, Parker};
use crate::runtime::shared::RuntimeShared;
use crate::task::core::lock;
use crate::task::Runnable;

/// Tasks run per turn before the root future and the timers get a look.
const BATCH: usize = 128;

/// Task turns (the root's included) between two non-blocking IO polls of a busy
/// runtime (Tokio's `event_interval`).
const EVENT_INTERVAL: usize = 61;

pub(crate) struct CurrentThread {
    lanes: Mutex<Lanes>,
    parker: Arc<Parker>,
    /// Set while the thread is (about to be) parked; a schedule only pays for an
    /// unpark when it is.
    parked: AtomicBool,
}

impl CurrentThread {
    /// A scheduler whose thread parks in `io`'s reactor.
    pub(crate) fn new(io: Arc<IoDriver>) -> CurrentThread {
        CurrentThread {
            lanes: Mutex::new(Lanes::default()),
            parker: Arc::new(Parker::new(Some(io as Arc<dyn Driver>))),
            parked: AtomicBool::new(false),
        }
    }

    pub(crate) fn schedule(&self, runnable: Runnable) {
        lock(&self.lanes).push(runnable);
        if self.parked.load(Ordering::SeqCst) {
            self.parker.unpark();
        }
    }

    pub(crate) fn unpark(&self) {
        self.parker.unpark();
    }

    pub(crate) fn parker(&self) -> Arc<Parker> {
        self.parker.clone()
    }

    pub(crate) fn block_on<F: Future>(
        &self,
        rt: &RuntimeShared,
        root: &Arc<RootWake>,
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
                let next = lock(&self.lanes).pop();
                let Some(runnable) = next else { break };
                super::coop::budgeted(|| runnable.run());
                ran += 1;
            }
            turns_since_io += ran;
            rt.timers.fire_expired(rt.clock.now());
            if ran == 0 && !root.is_woken() {
                self.park(rt, root);
                turns_since_io = 0;
            } else if turns_since_io >= EVENT_INTERVAL {
                rt.io.poll_now();
                turns_since_io = 0;
            }
        }
    }

    fn park(&self, rt: &RuntimeShared, root: &RootWake) {
        self.parked.store(true, Ordering::SeqCst);
        if lock(&self.lanes).is_empty() && !root.is_woken() {
            let timeout = rt
                .timers
                .next_deadline()
                .map(|deadline| deadline.duration_since(rt.clock.now()));
            // A due timer still gets a non-blocking look at IO.
            self.parker.park_driving(timeout);
        }
        self.parked.store(false, Ordering::SeqCst);
        rt.timers.fire_expired(rt.clock.now());
    }

    pub(crate) fn clear(&self) {
        let dropped = lock(&self.lanes).clear();
        // Dropped outside the lock: dropping a task drops its future, which may wake
        // (and so schedule) others.
        drop(dropped);
    }
}
