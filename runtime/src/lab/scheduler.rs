//! The lab scheduler: one thread, one task per step, chosen by the run's strategy.
//!
//! Every step the scheduler lists what is runnable (queued tasks in wake order, then
//! the `block_on` body if it was woken), asks the strategy for an index (recorded for
//! replay), maybe injects chaos, records a `Polled` trace event and polls that one
//! task. When nothing is runnable it moves the virtual clock to the next timer
//! deadline and fires it, so sleeping costs no real time. When nothing is runnable and
//! no timer is pending, no task can ever be woken again (the lab runs no IO and no
//! other thread): that is a deadlock. The scheduler records it, then cancels every
//! root region with a short drain so the program unwinds through the normal
//! cancellation protocol and the report can still show finalizers and outcomes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::oracle::{DeadlockSnapshot, Violation, Wait};
use super::schedule::Decisions;
use super::strategy::Picker;
use super::{Chaos, LabConfig};
use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelReason};
use crate::runtime::park::Parker;
use crate::runtime::scheduler::RootWake;
use crate::runtime::shared::RuntimeShared;
use crate::task::core::{lock, TaskRef};
use crate::task::Runnable;
use crate::trace::TraceKind;

/// Polls a task ignores after a forced cancellation before its future is dropped.
const FORCED_DRAIN_POLLS: u32 = 64;

pub(crate) struct LabScheduler {
    seed: u64,
    parker: Arc<Parker>,
    /// Runnable tasks in the order they were woken.
    ready: Mutex<Vec<Runnable>>,
    /// Every task that was ever scheduled, by id (for chaos, oracles and reports).
    tasks: Mutex<BTreeMap<u64, TaskRef>>,
    run: Mutex<RunState>,
}

pub(crate) struct RunState {
    decisions: Decisions,
    picker: Picker,
    chaos: Chaos,
    max_steps: u64,
    forced_drain: Duration,
    pub(crate) steps: u64,
    /// Candidate keys of the current step (reused buffer; PCT only).
    keys: Vec<u64>,
    /// Why the lab cancelled everything, if it had to.
    forced: Option<&'static str>,
    pub(crate) violations: Vec<Violation>,
    /// What each blocked task said it waits for (see `lab::waiting_on`).
    pub(crate) waits: BTreeMap<u64, Wait>,
    pub(crate) deadlock: Option<DeadlockSnapshot>,
    /// The task and region ids of the `block_on` body.
    pub(crate) root: Option<(u64, u64)>,
}

impl RunState {
    fn empty() -> RunState {
        RunState {
            decisions: Decisions::new(0, None),
            picker: Picker::Random,
            chaos: Chaos::default(),
            max_steps: 0,
            forced_drain: Duration::ZERO,
            steps: 0,
            keys: Vec::new(),
            forced: None,
            violations: Vec::new(),
            waits: BTreeMap::new(),
            deadlock: None,
            root: None,
        }
    }

    pub(crate) fn take_decisions(&mut self) -> Vec<u32> {
        self.decisions.take_recorded()
    }

    pub(crate) fn replay_divergence(&self) -> Option<&str> {
        self.decisions.diverged.as_deref()
    }
}

impl LabScheduler {
    pub(crate) fn new(config: &LabConfig) -> LabScheduler {
        let mut decisions = Decisions::new(config.seed, config.replay.clone());
        let picker = Picker::new(config.strategy, &mut decisions.rng);
        LabScheduler {
            seed: config.seed,
            parker: Arc::new(Parker::default()),
            ready: Mutex::new(Vec::new()),
            tasks: Mutex::new(BTreeMap::new()),
            run: Mutex::new(RunState {
                decisions,
                picker,
                chaos: config.chaos,
                max_steps: config.max_steps,
                forced_drain: config.drain_budget,
                steps: 0,
                keys: Vec::new(),
                forced: None,
                violations: Vec::new(),
                waits: BTreeMap::new(),
                deadlock: None,
                root: None,
            }),
        }
    }

    /// The run's seed, from which other seeded parts of a lab run (the simulated
    /// network) derive their own generators.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// Names the `block_on` body's task and region (for traces and reports).
    pub(crate) fn set_root(&self, task: u64, region: u64) {
        lock(&self.run).root = Some((task, region));
    }

    pub(crate) fn schedule(&self, runnable: Runnable) {
        let task = runnable.metadata();
        {
            let mut tasks = lock(&self.tasks);
            tasks.entry(task.id).or_insert_with(|| task.task_ref());
        }
        lock(&self.ready).push(runnable);
    }

    /// Nothing to do: the lab thread never parks (it advances virtual time instead).
    pub(crate) fn unpark(&self) {}

    pub(crate) fn parker(&self) -> Arc<Parker> {
        self.parker.clone()
    }

    pub(crate) fn clear(&self) {
        let dropped = std::mem::take(&mut *lock(&self.ready));
        drop(dropped);
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
        lock(&self.run)
    }

    /// Takes the run's records out; clears the task registry (which would otherwise
    /// keep the runtime alive through the tasks' regions).
    pub(crate) fn finish(&self) -> (RunState, Vec<TaskRef>) {
        let tasks: Vec<TaskRef> = std::mem::take(&mut *lock(&self.tasks))
            .into_values()
            .collect();
        let finished = std::mem::replace(&mut *lock(&self.run), RunState::empty());
        (finished, tasks)
    }

    pub(crate) fn block_on<F: Future>(
        &self,
        rt: &RuntimeShared,
        root: &Arc<RootWake>,
        future: F,
    ) -> F::Output {
        debug_assert!(rt.clock.is_virtual());
        let waker = Waker::from(root.clone());
        let mut context = Context::from_waker(&waker);
        let mut future = pin!(future);
        let (root_task, root_region) = lock(&self.run).root.unzip();
        loop {
            let queued = lock(&self.ready).len();
            let root_ready = root.is_woken();
            let runnable = queued + usize::from(root_ready);
            if runnable == 0 {
                if let Some(deadline) = rt.timers.next_deadline() {
                    rt.clock.advance_to(deadline);
                    rt.timers.fire_expired(rt.clock.now());
                } else {
                    self.stuck(rt);
                }
                continue;
            }
            let pick = self.pick(rt, queued, root_ready);
            if pick == queued {
                root.take();
                rt.trace
                    .record(rt, root_task, root_region, TraceKind::Polled);
                if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                    return output;
                }
            } else {
                let task = lock(&self.ready).remove(pick);
                let core = task.metadata();
                rt.trace
                    .record(rt, Some(core.id), Some(core.region.id), TraceKind::Polled);
                task.run();
            }
            if rt
                .timers
                .next_deadline()
                .is_some_and(|d| d <= rt.clock.now())
            {
                rt.timers.fire_expired(rt.clock.now());
            }
        }
    }

    /// Chooses the step's candidate and applies the step's chaos. Index `queued` is
    /// the `block_on` body.
    fn pick(&self, rt: &RuntimeShared, queued: usize, root_ready: bool) -> usize {
        let candidates = queued + usize::from(root_ready);
        let mut run = lock(&self.run);
        run.steps += 1;
        let step = run.steps;
        if step > run.max_steps {
            if run.forced.is_none() {
                let message = format!(
                    "the program took more than {} scheduling steps (a livelock, or raise LabConfig::max_steps)",
                    run.max_steps
                );
                run.violations.push(Violation::new("step-limit", message));
                drop(run);
                self.force(rt, "step limit reached");
                run = lock(&self.run);
            } else if step > run.max_steps.saturating_mul(2) {
                drop(run);
                panic!("lab: the program keeps running after the lab cancelled everything at the step limit");
            }
        }
        let run = &mut *run;
        let pick = if candidates == 1 {
            0
        } else if run.picker.needs_keys() && !run.decisions.is_replay() {
            run.keys.clear();
            run.keys
                .extend(lock(&self.ready).iter().map(|r| r.metadata().id));
            if root_ready {
                run.keys.push(run.root.map_or(0, |(task, _)| task));
            }
            let (picker, keys) = (&mut run.picker, &run.keys);
            run.decisions
                .choose(candidates, |rng| picker.pick(rng, step, keys))
        } else {
            run.decisions.below(candidates)
        };
        let chaos = run.chaos;
        let delay = run.decisions.chance(chaos.delay).then(|| {
            // In thousandths of the maximum, so a recorded choice stays small.
            let permille = run.decisions.below(1000) as u32 + 1;
            chaos.max_delay * permille / 1000
        });
        let wake = run.decisions.chance(chaos.spurious_wake);
        let cancel = run.decisions.chance(chaos.cancel);
        let mut wake_target = None;
        let mut cancel_target = None;
        if wake || cancel {
            let live: Vec<TaskRef> = lock(&self.tasks)
                .values()
                .filter(|t| !t.is_finished())
                .cloned()
                .collect();
            if !live.is_empty() {
                if wake {
                    wake_target = Some(live[run.decisions.below(live.len())].clone());
                }
                if cancel {
                    cancel_target = Some(live[run.decisions.below(live.len())].clone());
                }
            }
        }
        let _ = run;
        if let Some(delay) = delay {
            rt.trace
                .record(rt, None, None, TraceKind::Lab("chaos: delay"));
            rt.clock.advance_to(rt.clock.now() + delay);
        }
        if let Some(task) = wake_target {
            rt.trace.record(
                rt,
                Some(task.id),
                Some(task.region.id),
                TraceKind::Lab("chaos: spurious wake-up"),
            );
            task.wake();
        }
        if let Some(task) = cancel_target {
            rt.trace.record(
                rt,
                Some(task.id),
                Some(task.region.id),
                TraceKind::Lab("chaos: cancel"),
            );
            task.cancel(
                CancelReason::new(CancelKind::User).with_message("lab chaos"),
                rt.default_drain(),
            );
        }
        pick
    }

    /// Nothing runnable, no timer pending: record the deadlock (once) and cancel
    /// everything so the program unwinds.
    fn stuck(&self, rt: &RuntimeShared) {
        let mut run = lock(&self.run);
        if run.forced.is_some() {
            let why = run.forced.unwrap_or_default();
            drop(run);
            panic!("lab: the program is stuck even after the lab cancelled everything ({why})");
        }
        // The body is blocked too (it is not runnable), first in the list.
        let blocked: Vec<u64> = run
            .root
            .map(|(task, _)| task)
            .into_iter()
            .chain(
                lock(&self.tasks)
                    .values()
                    .filter(|t| !t.is_finished())
                    .map(|t| t.id),
            )
            .collect();
        rt.trace.record(rt, None, None, TraceKind::Lab("deadlock"));
        run.deadlock = Some(DeadlockSnapshot {
            at_event: rt.trace.len().saturating_sub(1),
            blocked,
            waits: run.waits.clone(),
        });
        drop(run);
        self.force(rt, "deadlock");
    }

    fn force(&self, rt: &RuntimeShared, why: &'static str) {
        let drain = {
            let mut run = lock(&self.run);
            run.forced = Some(why);
            run.forced_drain
        };
        let budget = Budget::INFINITE
            .with_deadline(rt.clock.now() + drain)
            .with_poll_quota(FORCED_DRAIN_POLLS);
        let reason = CancelReason::new(CancelKind::Shutdown)
            .with_message(format!("lab: {why}; cancelling everything"));
        rt.shutdown(reason, budget);
    }

    /// Records a violation found while the program runs (custom checks, obligations).
    pub(crate) fn report(&self, rt: &RuntimeShared, mut violation: Violation) {
        violation.at_event = Some(rt.trace.len().saturating_sub(1));
        lock(&self.run).violations.push(violation);
    }
}
