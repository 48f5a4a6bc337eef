//! The global injector: where tasks scheduled from outside the workers land (spawns and
//! wakes from the `block_on` thread, from timers fired off-worker, from other runtimes'
//! threads). One lock-free crossbeam `Injector` per lane, so a cancelled task scheduled
//! from outside still runs before ready ones.

use crossbeam_deque::{Injector, Steal, Worker};

use super::super::lanes::Lane;
use crate::task::Runnable;

#[derive(Default)]
pub(super) struct Inject {
    lanes: [Injector<Runnable>; 3],
}

impl Inject {
    pub(super) fn push(&self, lane: Lane, runnable: Runnable) {
        self.lanes[lane as usize].push(runnable);
    }

    /// Takes one task from `lane` and moves a batch after it into `into` (the worker's
    /// deque for the same lane), so the injector is not hit once per task.
    pub(super) fn steal_into(&self, lane: Lane, into: &Worker<Runnable>) -> Option<Runnable> {
        retry(|| self.lanes[lane as usize].steal_batch_and_pop(into))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lanes.iter().all(Injector::is_empty)
    }

    /// Empties the injector (at teardown).
    pub(super) fn drain(&self) -> Vec<Runnable> {
        let mut all = Vec::new();
        for lane in &self.lanes {
            while let Some(r) = retry(|| lane.steal()) {
                all.push(r);
            }
        }
        all
    }
}

/// Runs a steal until it settles: `Retry` means a concurrent operation won a race, not
/// that the queue is empty.
pub(super) fn retry(mut steal: impl FnMut() -> Steal<Runnable>) -> Option<Runnable> {
    loop {
        match steal() {
            Steal::Success(r) => return Some(r),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}
