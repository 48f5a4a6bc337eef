use std::fmt;
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

use slab::Slab;

use crate::cancel::Cancelled;
use crate::cx::Cx;

/// Lets `n` tasks wait until all of them have reached the same point.
///
/// `wait(&cx)` is cancel-safe: a task cancelled before the barrier trips withdraws
/// its arrival (the barrier still needs `n` live arrivals). A task whose arrival
/// already tripped the barrier returns `Ok` even if it is cancelled at the same time,
/// because the others were released counting on it.
pub struct Barrier {
    n: usize,
    state: Mutex<BarrierState>,
}

struct BarrierState {
    arrived: usize,
    generation: u64,
    waiters: Slab<Waker>,
}

/// What [`Barrier::wait`] returns: exactly one task per generation is the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// `true` for the task whose arrival tripped the barrier.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks (`n == 0` behaves like `1`).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(BarrierState {
                arrived: 0,
                generation: 0,
                waiters: Slab::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BarrierState> {
        crate::task::core::lock(&self.state)
    }

    /// Waits until `n` tasks are waiting; then all are released and the barrier
    /// starts over.
    pub async fn wait(&self, cx: &Cx) -> Result<BarrierWaitResult, Cancelled> {
        cx.checkpoint()?;
        let (generation, mut key) = {
            let mut state = self.lock();
            state.arrived += 1;
            if state.arrived == self.n {
                state.arrived = 0;
                state.generation += 1;
                let wakers: Vec<Waker> = state.waiters.drain().collect();
                drop(state);
                wakers.into_iter().for_each(Waker::wake);
                return Ok(BarrierWaitResult(true));
            }
            (state.generation, None::<usize>)
        };
        let mut guard = Withdraw {
            barrier: self,
            generation,
            key: None,
        };
        poll_fn(|task| {
            let mut state = self.lock();
            if state.generation != generation {
                if let Some(k) = key.take() {
                    if state.waiters.contains(k) {
                        state.waiters.remove(k);
                    }
                }
                guard.generation = u64::MAX;
                return Poll::Ready(Ok(BarrierWaitResult(false)));
            }
            if let Err(cancelled) = cx.checkpoint() {
                drop(state);
                return Poll::Ready(Err(cancelled));
            }
            match key {
                Some(k) => state.waiters[k] = task.waker().clone(),
                None => key = Some(state.waiters.insert(task.waker().clone())),
            }
            guard.key = key;
            Poll::Pending
        })
        .await
    }
}

/// Withdraws an arrival that did not trip the barrier (cancelled or dropped).
struct Withdraw<'a> {
    barrier: &'a Barrier,
    /// The generation arrived in; `u64::MAX` once released.
    generation: u64,
    key: Option<usize>,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        if self.generation == u64::MAX {
            return;
        }
        let mut state = self.barrier.lock();
        if state.generation == self.generation {
            state.arrived -= 1;
            if let Some(k) = self.key.take() {
                if state.waiters.contains(k) {
                    state.waiters.remove(k);
                }
            }
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}
