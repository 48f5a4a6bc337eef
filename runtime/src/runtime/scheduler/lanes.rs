//! The three lanes of a run queue, and the order they are served in.
//!
//! Every queue of every scheduler is split into lanes served cancel > timed > ready: a
//! cancelled task runs first so it drains promptly, a task with a deadline before one
//! without. Strict priority could starve the lower lanes, so every
//! [`FAIRNESS_INTERVAL`] ticks the order is turned around ([`lane_order`]). The
//! current-thread scheduler keeps the lanes in [`Lanes`]; the multi-thread scheduler
//! keeps one lock-free deque per lane and worker and asks [`Lane::of`] and
//! [`lane_order`] the same questions.

use std::collections::VecDeque;

use crate::task::Runnable;

/// How often (in ticks) the lower lanes are served first, so they cannot starve.
pub(crate) const FAIRNESS_INTERVAL: u32 = 61;

/// One lane of a run queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lane {
    Cancel = 0,
    Timed = 1,
    Ready = 2,
}

impl Lane {
    /// The lane `runnable` belongs in right now.
    #[inline]
    pub(crate) fn of(runnable: &Runnable) -> Lane {
        let task = runnable.metadata();
        if task.scope.is_requested() {
            Lane::Cancel
        } else if task.budget.get_deadline().is_some() {
            Lane::Timed
        } else {
            Lane::Ready
        }
    }
}

/// The order in which the lanes are served on `tick`: priority order, except that every
/// [`FAIRNESS_INTERVAL`] ticks the ready lane and (half an interval later) the timed
/// lane go first.
#[inline]
pub(crate) fn lane_order(tick: u32) -> [Lane; 3] {
    match tick % FAIRNESS_INTERVAL {
        0 => [Lane::Ready, Lane::Timed, Lane::Cancel],
        n if n == FAIRNESS_INTERVAL / 2 => [Lane::Timed, Lane::Ready, Lane::Cancel],
        _ => [Lane::Cancel, Lane::Timed, Lane::Ready],
    }
}

/// A run queue split into lanes (single-threaded: the caller locks it).
#[derive(Default)]
pub(crate) struct Lanes {
    lanes: [VecDeque<Runnable>; 3],
    ticks: u32,
}

impl Lanes {
    pub(crate) fn push(&mut self, runnable: Runnable) {
        self.lanes[Lane::of(&runnable) as usize].push_back(runnable);
    }

    pub(crate) fn pop(&mut self) -> Option<Runnable> {
        self.ticks = self.ticks.wrapping_add(1);
        lane_order(self.ticks)
            .into_iter()
            .find_map(|lane| self.lanes[lane as usize].pop_front())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lanes.iter().all(VecDeque::is_empty)
    }

    pub(crate) fn clear(&mut self) -> Vec<Runnable> {
        self.lanes
            .iter_mut()
            .flat_map(|lane| lane.drain(..))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lane_leads_within_one_fairness_interval() {
        let mut leaders = std::collections::HashSet::new();
        for tick in 0..FAIRNESS_INTERVAL {
            leaders.insert(lane_order(tick)[0]);
            let mut order = lane_order(tick).to_vec();
            order.sort_by_key(|l| *l as usize);
            assert_eq!(order, [Lane::Cancel, Lane::Timed, Lane::Ready]);
        }
        assert_eq!(leaders.len(), 3);
    }
}
