//! Exploration: one program, many seeds, stop at the first failure.

use std::fmt;
use std::future::Future;

use super::{LabConfig, LabRuntime, Schedule, Strategy};
use crate::cx::Cx;

/// Runs a program under the lab across seeds; see [`Explorer::run`].
#[derive(Debug, Clone)]
pub struct Explorer {
    config: LabConfig,
    test_name: Option<String>,
}

impl Explorer {
    /// Explores with `config` (its strategy, chaos and oracles); each run replaces the
    /// seed.
    pub fn new(config: LabConfig) -> Explorer {
        Explorer {
            config,
            test_name: None,
        }
    }

    /// The seeds `#[asupersync::lab_test]` tries when given none.
    pub const DEFAULT_SEEDS: std::ops::Range<u64> = 0..500;

    /// Uniform random scheduling.
    pub fn random() -> Explorer {
        Explorer::new(LabConfig::seed(0))
    }

    /// PCT with bug depth `depth`.
    pub fn pct(depth: u32) -> Explorer {
        Explorer::new(LabConfig::seed(0).strategy(Strategy::pct(depth)))
    }

    /// The `cargo test` filter that runs this exploration, for the replay line.
    pub fn test_name(mut self, name: impl Into<String>) -> Explorer {
        self.test_name = Some(name.into());
        self
    }

    /// Runs `body` once per seed, in order, and stops at the first run that panics,
    /// ends with a non-`Ok` outcome or violates an oracle.
    pub fn run<T, F, Fut>(
        &self,
        seeds: impl IntoIterator<Item = u64>,
        body: F,
    ) -> Result<Explored, Box<LabFailure>>
    where
        F: Fn(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        let mut runs = 0;
        let mut steps = 0;
        for seed in seeds {
            let lab = LabRuntime::new(self.config.clone().with_seed(seed));
            let report = lab.block_on(&body);
            runs += 1;
            steps += report.steps;
            if let Some(text) = report.failure() {
                return Err(Box::new(LabFailure {
                    seed,
                    strategy: self.config.strategy,
                    runs,
                    report: text,
                    schedule: report.schedule().clone(),
                    trace_hash: report.trace_hash(),
                    test_name: self.test_name.clone(),
                }));
            }
        }
        Ok(Explored { runs, steps })
    }
}

/// An exploration in which every run passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explored {
    /// Runs made.
    pub runs: u64,
    /// Scheduling steps over all runs.
    pub steps: u64,
}

/// The first failing run of an exploration.
#[derive(Debug, Clone)]
pub struct LabFailure {
    /// Its seed.
    pub seed: u64,
    /// The strategy it ran with.
    pub strategy: Strategy,
    /// How many runs it took to find (this one included).
    pub runs: u64,
    /// The run's failure report.
    pub report: String,
    /// Its choices, to save and replay exactly.
    pub schedule: Schedule,
    /// Its [`trace_hash`](super::LabReport::trace_hash): a replay must match it.
    pub trace_hash: u64,
    test_name: Option<String>,
}

impl LabFailure {
    /// The one-line way to run this seed again.
    pub fn replay_line(&self) -> String {
        match &self.test_name {
            Some(name) => format!("ASUPERSYNC_LAB_SEED={} cargo test {name}", self.seed),
            None => format!(
                "LabRuntime::new(LabConfig::seed({}){}).block_on(..)",
                self.seed,
                self.strategy.replay_expr()
            ),
        }
    }
}

impl fmt::Display for LabFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the lab found a failing schedule at seed {} (after {} run(s))",
            self.seed, self.runs
        )?;
        writeln!(f, "{}", self.report)?;
        write!(f, "replay: {}", self.replay_line())
    }
}

impl std::error::Error for LabFailure {}
