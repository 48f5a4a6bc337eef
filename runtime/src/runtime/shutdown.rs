//! The runtime's shutdown signal: a one-way flag with waiters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::Waker;

use slab::Slab;

#[derive(Debug, Default)]
pub(crate) struct ShutdownState {
    requested: AtomicBool,
    waiters: Mutex<Slab<Waker>>,
}

impl ShutdownState {
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::Release);
        let waiters: Vec<Waker> = crate::task::core::lock(&self.waiters).drain().collect();
        for waker in waiters {
            waker.wake();
        }
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// `Ok` once shutdown was requested; otherwise registers (or refreshes) the
    /// waiter and returns its key.
    pub(crate) fn poll_requested(&self, key: Option<usize>, waker: &Waker) -> Result<(), usize> {
        if self.is_requested() {
            return Ok(());
        }
        let mut waiters = crate::task::core::lock(&self.waiters);
        if self.is_requested() {
            return Ok(());
        }
        match key {
            Some(k) if waiters.contains(k) => {
                if !waiters[k].will_wake(waker) {
                    waiters[k] = waker.clone();
                }
                Err(k)
            }
            _ => Err(waiters.insert(waker.clone())),
        }
    }

    pub(crate) fn forget(&self, key: usize) {
        let mut waiters = crate::task::core::lock(&self.waiters);
        if waiters.contains(key) {
            waiters.remove(key);
        }
    }
}
