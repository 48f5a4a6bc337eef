//! The lab runtime: deterministic schedules, virtual time, chaos, oracles, replay and
//! exploration.
//!
//! Concurrency bugs hide in interleavings that a real scheduler produces once in a
//! million runs, and a failure that cannot be replayed cannot be debugged. The lab runs
//! ordinary asupersync code (`Cx`, regions, `spawn`, `time::sleep`, cancellation, and
//! whatever is built on them) on **one thread**, and makes every choice a real runtime
//! leaves to chance a function of a seed:
//!
//! - **Seeded scheduling.** At every step the lab picks the next task to poll with a
//!   [`Strategy`] (uniform random, or PCT) driven by a seeded generator. The same seed
//!   gives the same schedule and the same trace, step for step
//!   ([`LabReport::trace_hash`]); the choices can be saved and replayed exactly
//!   ([`LabReport::save_schedule`], [`LabConfig::replay`]).
//! - **Virtual time.** `cx.now()`, `Instant::now()`, sleeps, timeouts, budget deadlines
//!   and drain deadlines all read a virtual clock. When no task is runnable the clock
//!   jumps to the next timer, so an hour of `sleep` takes microseconds.
//! - **Chaos** ([`Chaos`], all off by default): delays before polls (virtual time
//!   moves), spurious wake-ups, and cancellation requests (`CancelKind::User`, message
//!   `"lab chaos"`) that the victim observes at its next checkpoint. Each is a recorded
//!   choice, so it replays too.
//! - **Oracles** ([`oracle`]), on by default: task leak, quiescence, cancellation
//!   protocol and deadlock; custom ones plug in through [`Oracle`],
//!   [`check_on_close`] and [`report_violation`].
//! - **Exploration** ([`Explorer`]) runs a program across many seeds and stops at the
//!   first failure with its seed and a one-line replay;
//!   `#[asupersync::lab_test(seeds = 0..500)]` does the same as a `#[test]`.
//!
//! ```
//! use std::time::Duration;
//! use asupersync::lab::{LabConfig, LabRuntime};
//!
//! let lab = LabRuntime::new(LabConfig::seed(7));
//! let report = lab.block_on(|cx| async move {
//!     let t0 = cx.now();
//!     let a = cx.spawn(|cx| async move {
//!         asupersync::time::sleep(&cx, Duration::from_secs(3600)).await.ok();
//!     });
//!     a.join(&cx).await.unwrap();
//!     cx.now() - t0
//! });
//! assert!(report.is_ok(), "{}", report.failure().unwrap_or_default());
//! assert_eq!(report.outcome.unwrap(), Duration::from_secs(3600));
//! ```

mod explore;
pub mod net;
pub mod oracle;
mod rng;
mod schedule;
pub(crate) mod scheduler;
mod strategy;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use explore::{Explored, Explorer, LabFailure};
pub use oracle::{Oracle, RegionInfo, RunView, TaskInfo, Violation, Wait};
pub use schedule::Schedule;
pub(crate) use scheduler::LabScheduler;
pub use strategy::Strategy;

use crate::cx::Cx;
use crate::outcome::{Outcome, PanicPayload};
use crate::runtime::shared::{Config, RuntimeShared};
use crate::time::Instant;
use crate::trace::TraceEvent;

/// Fault injection probabilities, all zero by default. Each roll is made once per
/// scheduling step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chaos {
    /// Probability of a delay before a poll: virtual time jumps by up to `max_delay`
    /// (and any timer that falls due fires).
    pub delay: f64,
    /// The longest injected delay.
    pub max_delay: Duration,
    /// Probability of waking a random live task for no reason (futures must tolerate
    /// being polled when nothing changed).
    pub spurious_wake: f64,
    /// Probability of cancelling a random live task (`CancelKind::User`, `"lab chaos"`,
    /// the default drain); it observes the request at its next checkpoint.
    pub cancel: f64,
}

impl Default for Chaos {
    fn default() -> Self {
        Chaos {
            delay: 0.0,
            max_delay: Duration::from_millis(10),
            spurious_wake: 0.0,
            cancel: 0.0,
        }
    }
}

/// How a lab run is set up: seed, strategy, chaos, oracles.
#[derive(Clone)]
#[must_use]
pub struct LabConfig {
    pub(crate) seed: u64,
    pub(crate) strategy: Strategy,
    pub(crate) chaos: Chaos,
    pub(crate) max_steps: u64,
    pub(crate) drain_budget: Duration,
    pub(crate) oracles: Vec<Arc<dyn Oracle>>,
    pub(crate) replay: Option<Arc<[u32]>>,
    pub(crate) excerpt: usize,
}

impl LabConfig {
    /// The step limit before a run is declared a livelock.
    pub const DEFAULT_MAX_STEPS: u64 = 100_000;

    /// A run whose every choice follows from `seed`, with the built-in oracles on.
    pub fn seed(seed: u64) -> LabConfig {
        LabConfig {
            seed,
            strategy: Strategy::Random,
            chaos: Chaos::default(),
            max_steps: LabConfig::DEFAULT_MAX_STEPS,
            drain_budget: Duration::from_secs(1),
            oracles: oracle::builtin(),
            replay: None,
            excerpt: 20,
        }
    }

    /// A run that replays the choices recorded in a schedule file
    /// ([`LabReport::save_schedule`]).
    pub fn replay(path: impl AsRef<Path>) -> std::io::Result<LabConfig> {
        Ok(LabConfig::from_schedule(&Schedule::load(path)?))
    }

    /// A run that replays `schedule`.
    pub fn from_schedule(schedule: &Schedule) -> LabConfig {
        let mut config = LabConfig::seed(schedule.seed).chaos(schedule.chaos);
        config.replay = Some(schedule.decisions.clone().into());
        config
    }

    /// Replaces the seed.
    pub fn with_seed(mut self, seed: u64) -> LabConfig {
        self.seed = seed;
        self
    }

    /// The scheduling strategy (default [`Strategy::Random`]).
    pub fn strategy(mut self, strategy: Strategy) -> LabConfig {
        self.strategy = strategy;
        self
    }

    /// All chaos settings at once.
    pub fn chaos(mut self, chaos: Chaos) -> LabConfig {
        self.chaos = chaos;
        self
    }

    /// Injects a delay of up to `max` before a poll with probability `p`.
    pub fn chaos_delay(mut self, p: f64, max: Duration) -> LabConfig {
        self.chaos.delay = p;
        self.chaos.max_delay = max;
        self
    }

    /// Wakes a random live task with probability `p` per step.
    pub fn chaos_spurious_wake(mut self, p: f64) -> LabConfig {
        self.chaos.spurious_wake = p;
        self
    }

    /// Cancels a random live task with probability `p` per step.
    pub fn chaos_cancel(mut self, p: f64) -> LabConfig {
        self.chaos.cancel = p;
        self
    }

    /// Scheduling steps before the run is stopped as a livelock (default 100,000).
    pub fn max_steps(mut self, steps: u64) -> LabConfig {
        self.max_steps = steps.max(1);
        self
    }

    /// Adds an oracle.
    pub fn oracle(mut self, oracle: Arc<dyn Oracle>) -> LabConfig {
        self.oracles.push(oracle);
        self
    }

    /// Turns off the oracle with this name.
    pub fn without_oracle(mut self, name: &str) -> LabConfig {
        self.oracles.retain(|o| o.name() != name);
        self
    }

    /// How many trace events a failure report shows before the point of failure
    /// (default 20).
    pub fn trace_excerpt(mut self, events: usize) -> LabConfig {
        self.excerpt = events;
        self
    }

    /// The seed.
    pub fn get_seed(&self) -> u64 {
        self.seed
    }

    /// The strategy.
    pub fn get_strategy(&self) -> Strategy {
        self.strategy
    }
}

impl fmt::Debug for LabConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabConfig")
            .field("seed", &self.seed)
            .field("strategy", &self.strategy)
            .field("chaos", &self.chaos)
            .field("max_steps", &self.max_steps)
            .field(
                "oracles",
                &self.oracles.iter().map(|o| o.name()).collect::<Vec<_>>(),
            )
            .field("replay", &self.replay.is_some())
            .finish()
    }
}

/// Runs programs deterministically; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct LabRuntime {
    config: LabConfig,
}

impl LabRuntime {
    /// A lab runtime with this configuration.
    pub fn new(config: LabConfig) -> LabRuntime {
        LabRuntime { config }
    }

    /// Runs `body` in a fresh root region on a fresh lab runtime (every call is a
    /// separate run from the same seed), then checks the oracles.
    pub fn block_on<T, F, Fut>(&self, body: F) -> LabReport<T>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        let config = &self.config;
        let rt = RuntimeShared::new_lab(
            Config {
                default_drain: Config::DEFAULT_DRAIN,
                trace: true,
                // Leaks become `obligation-leak` violations under the lab (see
                // `obligation::report_leaks`); the policy is not consulted.
                obligation_leak_policy: crate::obligation::LeakPolicy::Panic,
                io: Default::default(),
            },
            LabScheduler::new(config),
        );
        let start = rt.clock.now();
        let outcome = match catch_unwind(AssertUnwindSafe(|| RuntimeShared::block_on(&rt, body))) {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(error)) => Outcome::Panicked(PanicPayload::new(Box::new(format!(
                "the lab could not run the body: {error}"
            )))),
            Err(payload) => Outcome::Panicked(PanicPayload::new(payload)),
        };
        let end = rt.clock.now();
        let lab = rt.lab().expect("a lab runtime has the lab scheduler");
        let (mut run, task_cores) = lab.finish();
        let trace = rt.trace.take();
        rt.teardown();

        let mut regions = BTreeMap::new();
        let tasks: Vec<TaskInfo> = task_cores
            .iter()
            .map(|core| {
                let mut region = Some(&core.region);
                while let Some(r) = region {
                    regions.entry(r.id).or_insert_with(|| RegionInfo {
                        id: r.id,
                        name: r.name.clone(),
                        parent: r.parent().map(|p| p.id),
                        pending_finalizers: r.pending_finalizers(),
                    });
                    region = r.parent();
                }
                TaskInfo {
                    id: core.id,
                    name: core.name.clone(),
                    region: core.region.id,
                    finished: core.is_finished(),
                    drain_deadline: core.scope.drain().deadline,
                }
            })
            .collect();
        drop(task_cores);
        let regions: Vec<RegionInfo> = regions.into_values().collect();

        let mut violations = std::mem::take(&mut run.violations);
        if let Some(divergence) = run.replay_divergence() {
            violations.push(Violation::new("replay", divergence));
        }
        {
            let view = RunView {
                seed: config.seed,
                start,
                trace: &trace,
                tasks: &tasks,
                regions: &regions,
                root_task: run.root.map(|(task, _)| task),
                deadlock: run.deadlock.as_ref(),
            };
            for oracle in &config.oracles {
                violations.extend(oracle.check(&view));
            }
        }
        LabReport {
            outcome,
            seed: config.seed,
            strategy: config.strategy,
            steps: run.steps,
            violations,
            elapsed: end.duration_since(start),
            schedule: Schedule {
                seed: config.seed,
                chaos: config.chaos,
                decisions: run.take_decisions(),
            },
            trace,
            start,
            tasks,
            regions,
            root_task: run.root.map(|(task, _)| task),
            excerpt: config.excerpt,
        }
    }
}

/// What a lab run did: the body's outcome, the oracles' findings, the trace and the
/// schedule.
pub struct LabReport<T> {
    /// The body's outcome (`Panicked` also when the lab itself had to give up).
    pub outcome: Outcome<T>,
    /// The seed of the run.
    pub seed: u64,
    /// The strategy of the run.
    pub strategy: Strategy,
    /// Scheduling steps taken (polls).
    pub steps: u64,
    /// What the oracles found (empty for a clean run).
    pub violations: Vec<Violation>,
    /// Virtual time that passed during the run.
    pub elapsed: Duration,
    schedule: Schedule,
    trace: Vec<TraceEvent>,
    start: Instant,
    tasks: Vec<TaskInfo>,
    regions: Vec<RegionInfo>,
    root_task: Option<u64>,
    excerpt: usize,
}

impl<T> LabReport<T> {
    /// `true` when the body returned and no oracle found anything.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok() && self.violations.is_empty()
    }

    /// Every event of the run, scheduling steps (`Polled`) included.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// A hash of the whole trace (times relative to the start, tasks, regions, event
    /// kinds): equal for two runs exactly when they did the same thing in the same
    /// order, as far as the trace can tell.
    pub fn trace_hash(&self) -> u64 {
        let mut hasher = Fnv1a::default();
        for e in &self.trace {
            hasher.write_u64(e.at.duration_since(self.start).as_nanos() as u64);
            hasher.write_u64(e.task.map_or(0, |t| t + 1));
            hasher.write_u64(e.region.map_or(0, |r| r + 1));
            let _ = write!(hasher, "{:?}", e.kind);
        }
        hasher.0
    }

    /// The choices of this run.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Saves the choices of this run; [`LabConfig::replay`] runs it again exactly.
    pub fn save_schedule(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        self.schedule.save(path)
    }

    /// The oracles' view of the run (tasks, regions, trace).
    pub fn view(&self) -> RunView<'_> {
        RunView {
            seed: self.seed,
            start: self.start,
            trace: &self.trace,
            tasks: &self.tasks,
            regions: &self.regions,
            root_task: self.root_task,
            deadlock: None,
        }
    }

    /// A description of what went wrong (the outcome if not `Ok`, each violation with
    /// its tasks, regions and a trace excerpt), or `None` for a clean run.
    pub fn failure(&self) -> Option<String> {
        if self.is_ok() {
            return None;
        }
        let view = self.view();
        let mut text = format!(
            "lab run failed: seed {}, strategy {:?}, {} steps, {:?} of virtual time",
            self.seed, self.strategy, self.steps, self.elapsed
        );
        match &self.outcome {
            Outcome::Ok(_) => {}
            Outcome::Err(_) => text.push_str("\n  outcome: error"),
            Outcome::Cancelled(reason) => {
                let _ = write!(text, "\n  outcome: cancelled: {reason}");
            }
            Outcome::Panicked(payload) => {
                let _ = write!(text, "\n  outcome: panicked: {}", payload.message());
            }
        }
        for violation in &self.violations {
            let _ = write!(text, "\n  {violation}");
            if !violation.tasks.is_empty() {
                let names: Vec<String> = violation
                    .tasks
                    .iter()
                    .map(|t| view.task_label(Some(*t)))
                    .collect();
                let _ = write!(text, "\n    tasks: {}", names.join(", "));
            }
            if !violation.regions.is_empty() {
                let names: Vec<String> = violation
                    .regions
                    .iter()
                    .map(|r| view.region_label(*r))
                    .collect();
                let _ = write!(text, "\n    regions: {}", names.join(", "));
            }
            let end = violation
                .at_event
                .map_or(self.trace.len(), |i| (i + 1).min(self.trace.len()));
            self.excerpt_into(&mut text, end);
        }
        if self.violations.is_empty() {
            self.excerpt_into(&mut text, self.trace.len());
        }
        Some(text)
    }

    fn excerpt_into(&self, text: &mut String, end: usize) {
        let view = self.view();
        let begin = end.saturating_sub(self.excerpt);
        let _ = write!(
            text,
            "\n    trace (events {begin}..{end} of {}):",
            self.trace.len()
        );
        for i in begin..end {
            let _ = write!(text, "\n      {}", view.event_line(i));
        }
    }

    /// The body's value, or a panic with [`failure`](LabReport::failure)'s text.
    #[track_caller]
    pub fn unwrap(self) -> T {
        if let Some(failure) = self.failure() {
            panic!("{failure}");
        }
        match self.outcome {
            Outcome::Ok(v) => v,
            _ => unreachable!("a clean run has an Ok outcome"),
        }
    }
}

impl<T> fmt::Debug for LabReport<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabReport")
            .field("seed", &self.seed)
            .field("steps", &self.steps)
            .field("outcome", &self.outcome.severity())
            .field("violations", &self.violations)
            .finish_non_exhaustive()
    }
}

/// FNV-1a, 64 bit: a hash whose value is the same on every platform and release.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write_bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.write_bytes(&v.to_le_bytes());
    }
}

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// `true` when `cx` runs under the lab runtime.
pub fn is_lab(cx: &Cx) -> bool {
    cx.runtime().lab().is_some()
}

/// Reports a violation of `oracle` at this point of the run, tagged with `cx`'s task
/// and region. Returns `false` (and does nothing) outside the lab.
///
/// This is the door for properties only the running program can see: an obligation
/// dropped unresolved, a counter that must be back to zero.
pub fn report_violation(cx: &Cx, oracle: &'static str, message: impl Into<String>) -> bool {
    report_in(
        cx.runtime(),
        Some(cx.task_id()),
        cx.region_id(),
        oracle,
        message.into(),
    )
}

pub(crate) fn report_in(
    rt: &RuntimeShared,
    task: Option<u64>,
    region: u64,
    oracle: &'static str,
    message: String,
) -> bool {
    let Some(lab) = rt.lab() else {
        return false;
    };
    lab.report(
        rt,
        Violation::new(oracle, message)
            .with_tasks(task)
            .with_regions([region]),
    );
    true
}

/// Runs `check` when `cx`'s region closes (after quiescence, as a finalizer) and
/// reports `Err(message)` as a violation of `oracle`. Outside the lab a failed check
/// is printed to stderr.
pub fn check_on_close<F>(cx: &Cx, oracle: &'static str, check: F)
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    // The runtime, not the Cx: a finalizer holding its own region's Cx would keep
    // the region alive through its own finalizer list.
    let rt = cx.runtime().clone();
    let region = cx.region_id();
    cx.defer(async move {
        if let Err(message) = check() {
            if !report_in(&rt, None, region, oracle, message.clone()) {
                eprintln!("asupersync: [{oracle}] check failed at region close: {message}");
            }
        }
    });
}

/// Tells the lab's deadlock oracle that `cx`'s task is about to wait for `resource`,
/// held by the tasks `holders` as far as known (`None`, `Some(id)` or a list): the
/// edges of the wait-for graph, printed as a cycle when the run deadlocks. Call
/// [`done_waiting`] when the wait ends. No effect outside the lab.
pub fn waiting_on(cx: &Cx, resource: impl Into<String>, holders: impl IntoIterator<Item = u64>) {
    if let Some(lab) = cx.runtime().lab() {
        lab.state().waits.insert(
            cx.task_id(),
            Wait {
                resource: resource.into(),
                holders: holders.into_iter().collect(),
            },
        );
    }
}

/// Ends the wait [`waiting_on`] announced.
pub fn done_waiting(cx: &Cx) {
    if let Some(lab) = cx.runtime().lab() {
        lab.state().waits.remove(&cx.task_id());
    }
}
