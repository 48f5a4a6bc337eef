//! The three lanes of a run queue.

use std::collections::VecDeque;

use crate::task::Runnable;

/// How often (in pops) the lower lanes are served first, so they cannot starve.
const FAIRNESS_INTERVAL: u32 = 61;

#[derive(Default)]
pub(crate) struct Lanes {
    cancel: VecDeque<Runnable>,
    timed: VecDeque<Runnable>,
    ready: VecDeque<Runnable>,
    ticks: u32,
}

impl Lanes {
    pub(crate) fn push(&mut self, runnable: Runnable) {
        let task = runnable.metadata();
        if task.scope.is_requested() {
            self.cancel.push_back(runnable);
        } else if task.budget.get_deadline().is_some() {
            self.timed.push_back(runnable);
        } else {
            self.ready.push_back(runnable);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Runnable> {
        self.ticks = self.ticks.wrapping_add(1);
        match self.ticks % FAIRNESS_INTERVAL {
            0 => self
                .ready
                .pop_front()
                .or_else(|| self.timed.pop_front())
                .or_else(|| self.cancel.pop_front()),
            n if n == FAIRNESS_INTERVAL / 2 => self
                .timed
                .pop_front()
                .or_else(|| self.ready.pop_front())
                .or_else(|| self.cancel.pop_front()),
            _ => self
                .cancel
                .pop_front()
                .or_else(|| self.timed.pop_front())
                .or_else(|| self.ready.pop_front()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cancel.is_empty() && self.timed.is_empty() && self.ready.is_empty()
    }

    pub(crate) fn clear(&mut self) -> Vec<Runnable> {
        let mut all: Vec<Runnable> = self.cancel.drain(..).collect();
        all.extend(self.timed.drain(..));
        all.extend(self.ready.drain(..));
        all
    }
}
