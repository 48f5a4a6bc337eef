//! A worker's own run queue: one crossbeam deque per lane (FIFO, stealable by the other
//! workers) plus a LIFO slot.
//!
//! The LIFO slot holds the task most recently woken by the task running on this worker
//! (a message just sent, a lock just released): running it next, while its data is
//! still in cache, is what makes request/response pairs fast. The slot is private to
//! the worker (only its own thread touches it, so it needs no atomics) and it is
//! drained right after each task turn, with a bound on consecutive LIFO turns so that
//! two tasks waking each other cannot starve the deque.

use std::cell::Cell;

use crossbeam_deque::{Stealer, Worker};

use super::super::lanes::{lane_order, Lane};
use crate::task::Runnable;

pub(super) struct LocalQueue {
    lanes: [Worker<Runnable>; 3],
    lifo: Cell<Option<Runnable>>,
}

impl LocalQueue {
    /// A queue and the stealers the other workers use to take from it.
    pub(super) fn new() -> (LocalQueue, [Stealer<Runnable>; 3]) {
        let lanes = [Worker::new_fifo(), Worker::new_fifo(), Worker::new_fifo()];
        let stealers = [lanes[0].stealer(), lanes[1].stealer(), lanes[2].stealer()];
        let queue = LocalQueue {
            lanes,
            lifo: Cell::new(None),
        };
        (queue, stealers)
    }

    pub(super) fn push_back(&self, runnable: Runnable) {
        self.lanes[Lane::of(&runnable) as usize].push(runnable);
    }

    /// Puts `runnable` in the LIFO slot; returns the task it displaced, if any.
    pub(super) fn push_lifo(&self, runnable: Runnable) -> Option<Runnable> {
        self.lifo.replace(Some(runnable))
    }

    pub(super) fn take_lifo(&self) -> Option<Runnable> {
        self.lifo.take()
    }

    /// The next task from the deques in `tick`'s lane order (the LIFO slot is drained
    /// by the run loop, not here).
    pub(super) fn pop(&self, tick: u32) -> Option<Runnable> {
        lane_order(tick)
            .into_iter()
            .find_map(|lane| self.lanes[lane as usize].pop())
    }

    pub(super) fn lane(&self, lane: Lane) -> &Worker<Runnable> {
        &self.lanes[lane as usize]
    }

    /// Empties the queue (when the worker stops).
    pub(super) fn drain(&self) -> Vec<Runnable> {
        let mut all: Vec<Runnable> = self.lifo.take().into_iter().collect();
        for lane in &self.lanes {
            while let Some(r) = lane.pop() {
                all.push(r);
            }
        }
        all
    }
}
