//! Scheduling strategies: which runnable task the lab polls next.
//!
//! * **Random** picks uniformly among the runnable tasks at every step. Cheap, and good
//!   at bugs that many interleavings expose.
//! * **PCT** (probabilistic concurrency testing, Burckhardt et al., ASPLOS 2010) gives
//!   every task a random priority, always runs the highest-priority runnable task, and
//!   at `depth - 1` random steps demotes the running task below every other. A bug that
//!   needs `d` specific ordering constraints (its *depth*) is found in one run with
//!   probability at least `1 / (n * k^(d-1))` for `n` tasks and `k` steps, far better
//!   than random for bugs that need one task to be starved for a long stretch.
//!
//! Strategies only *propose*; the lab records the index chosen at every step, so a
//! recorded schedule replays without knowing which strategy made it.

use std::collections::HashMap;

use super::rng::SplitMix64;

/// How the lab chooses the next task to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Uniformly random among the runnable tasks, at every step.
    #[default]
    Random,
    /// Probabilistic concurrency testing with bug depth `depth` (at least 1): random
    /// task priorities and `depth - 1` priority-change points among the first
    /// `steps` scheduling steps (an estimate of how long a run is).
    Pct {
        /// The bug depth `d`: how many ordering constraints the bug needs.
        depth: u32,
        /// How many steps a run takes, roughly; change points fall in `1..=steps`.
        steps: u32,
    },
}

impl Strategy {
    /// The step estimate [`Strategy::pct`] uses.
    pub const DEFAULT_PCT_STEPS: u32 = 64;

    /// PCT with bug depth `depth` and the default step estimate.
    pub fn pct(depth: u32) -> Strategy {
        Strategy::Pct {
            depth: depth.max(1),
            steps: Strategy::DEFAULT_PCT_STEPS,
        }
    }

    /// How the strategy is written in a replay line (`LabConfig::seed(..).<this>`).
    pub(crate) fn replay_expr(&self) -> String {
        match self {
            Strategy::Random => String::new(),
            Strategy::Pct { depth, steps } => {
                format!(".strategy(Strategy::Pct {{ depth: {depth}, steps: {steps} }})")
            }
        }
    }
}

/// A strategy's state during one run.
pub(crate) enum Picker {
    Random,
    Pct(Pct),
}

pub(crate) struct Pct {
    depth: u32,
    /// Steps at which the running task is demoted, with the priority it gets.
    change_points: Vec<(u64, u64)>,
    priorities: HashMap<u64, u64>,
}

impl Picker {
    pub(crate) fn new(strategy: Strategy, rng: &mut SplitMix64) -> Picker {
        match strategy {
            Strategy::Random => Picker::Random,
            Strategy::Pct { depth, steps } => {
                let depth = depth.max(1);
                let change_points = (0..depth - 1)
                    .map(|j| {
                        let step = 1 + rng.below(u64::from(steps.max(1)));
                        // Demoted priorities are below every initial one (>= depth),
                        // and later demotions go lower still.
                        (step, u64::from(depth - 1 - j))
                    })
                    .collect();
                Picker::Pct(Pct {
                    depth,
                    change_points,
                    priorities: HashMap::new(),
                })
            }
        }
    }

    /// The index in `candidates` (task keys, `0` for the `block_on` body) to run at
    /// `step`.
    pub(crate) fn pick(&mut self, rng: &mut SplitMix64, step: u64, candidates: &[u64]) -> usize {
        match self {
            Picker::Random => rng.below(candidates.len() as u64) as usize,
            Picker::Pct(pct) => pct.pick(rng, step, candidates),
        }
    }

    pub(crate) fn needs_keys(&self) -> bool {
        matches!(self, Picker::Pct(_))
    }
}

impl Pct {
    fn priority(&mut self, rng: &mut SplitMix64, key: u64) -> u64 {
        let depth = u64::from(self.depth);
        *self
            .priorities
            .entry(key)
            .or_insert_with(|| depth + (rng.next_u64() >> 8))
    }

    fn highest(&mut self, rng: &mut SplitMix64, candidates: &[u64]) -> usize {
        let mut best = 0;
        let mut best_priority = 0;
        for (index, key) in candidates.iter().enumerate() {
            let priority = self.priority(rng, *key);
            if index == 0 || priority > best_priority {
                best = index;
                best_priority = priority;
            }
        }
        best
    }

    fn pick(&mut self, rng: &mut SplitMix64, step: u64, candidates: &[u64]) -> usize {
        let mut chosen = self.highest(rng, candidates);
        let demotions: Vec<u64> = self
            .change_points
            .iter()
            .filter(|(at, _)| *at == step)
            .map(|(_, priority)| *priority)
            .collect();
        for priority in demotions {
            self.priorities.insert(candidates[chosen], priority);
            chosen = self.highest(rng, candidates);
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_depth_one_runs_the_same_task_until_it_blocks() {
        let mut rng = SplitMix64::new(3);
        let mut picker = Picker::new(Strategy::pct(1), &mut rng);
        let candidates = [11, 12, 13];
        let first = picker.pick(&mut rng, 1, &candidates);
        for step in 2..50 {
            assert_eq!(picker.pick(&mut rng, step, &candidates), first);
        }
    }

    #[test]
    fn pct_change_point_demotes_the_running_task() {
        let mut rng = SplitMix64::new(5);
        let mut picker = Picker::new(Strategy::Pct { depth: 2, steps: 1 }, &mut rng);
        // The only change point is step 1: whoever would run first is demoted.
        let candidates = [21, 22];
        let Picker::Pct(pct) = &mut picker else {
            unreachable!()
        };
        let top = pct.highest(&mut rng, &candidates);
        let chosen = picker.pick(&mut rng, 1, &candidates);
        assert_ne!(chosen, top);
        assert_eq!(picker.pick(&mut rng, 2, &candidates), chosen);
    }
}
