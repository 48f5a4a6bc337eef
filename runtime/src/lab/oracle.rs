//! Oracles: properties every lab run is checked against.
//!
//! Most oracles read the run after it ends: the trace (every spawn, poll,
//! cancellation step and region transition, in order) plus a snapshot of every task
//! and region. A few facts only exist while the program runs (a custom check at region
//! close, an obligation dropped unresolved, a wait-for edge); those are reported into
//! the run as it goes, through [`lab::report_violation`](super::report_violation),
//! [`lab::check_on_close`](super::check_on_close) and
//! [`lab::waiting_on`](super::waiting_on).
//!
//! Built in, on by default: `task-leak`, `quiescence`, `cancel-protocol`, `deadlock`
//! (plus `step-limit`, raised by the scheduler itself). The names `obligation-leak`
//! and `loser-drain` are reserved for the obligation tracking and `race!`/`select!`
//! combinators, which report through the same two doors (an [`Oracle`] over the trace,
//! or `report_violation` at the moment a leak is seen).

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::outcome::Severity;
use crate::time::Instant;
use crate::trace::{TraceEvent, TraceKind};

/// A property a lab run must satisfy, checked after the run.
pub trait Oracle: Send + Sync {
    /// The oracle's name, shown in reports (kebab-case).
    fn name(&self) -> &'static str;
    /// The violations found in `run` (empty when the property holds).
    fn check(&self, run: &RunView<'_>) -> Vec<Violation>;
}

/// A property that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The oracle that found it.
    pub oracle: &'static str,
    /// What went wrong, in words.
    pub message: String,
    /// The tasks concerned (ids; the report adds their names).
    pub tasks: Vec<u64>,
    /// The regions concerned.
    pub regions: Vec<u64>,
    /// The trace index where it was seen; the report's trace excerpt ends there.
    pub at_event: Option<usize>,
}

impl Violation {
    /// A violation with a message and nothing else yet.
    pub fn new(oracle: &'static str, message: impl Into<String>) -> Violation {
        Violation {
            oracle,
            message: message.into(),
            tasks: Vec::new(),
            regions: Vec::new(),
            at_event: None,
        }
    }

    /// Names the tasks concerned.
    pub fn with_tasks(mut self, tasks: impl IntoIterator<Item = u64>) -> Violation {
        self.tasks.extend(tasks);
        self
    }

    /// Names the regions concerned.
    pub fn with_regions(mut self, regions: impl IntoIterator<Item = u64>) -> Violation {
        self.regions.extend(regions);
        self
    }

    /// Sets the trace index the excerpt ends at.
    pub fn at(mut self, event: usize) -> Violation {
        self.at_event = Some(event);
        self
    }
}

/// A task as the run left it.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The task's id.
    pub id: u64,
    /// Its name (`cx.spawn_named`).
    pub name: Option<Arc<str>>,
    /// The region that owns it.
    pub region: u64,
    /// Whether its future is gone.
    pub finished: bool,
    /// The drain deadline it was given when cancelled.
    pub drain_deadline: Option<Instant>,
}

/// A region as the run left it (regions that held a task, and their ancestors).
#[derive(Debug, Clone)]
pub struct RegionInfo {
    /// The region's id.
    pub id: u64,
    /// Its name.
    pub name: Arc<str>,
    /// The region it is nested in.
    pub parent: Option<u64>,
    /// Finalizers registered and never run.
    pub pending_finalizers: usize,
}

/// What a blocked task said it waits for (see [`lab::waiting_on`](super::waiting_on)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The resource, in words (`"lock A"`).
    pub resource: String,
    /// The tasks holding it, as far as known (one for a mutex or a writer, any number
    /// of readers): the edges of the wait-for graph. The wait ends only when all of
    /// them have let go.
    pub holders: Vec<u64>,
}

/// The moment the scheduler found nothing runnable and nothing pending.
#[derive(Debug, Clone)]
pub(crate) struct DeadlockSnapshot {
    pub(crate) at_event: usize,
    pub(crate) blocked: Vec<u64>,
    pub(crate) waits: BTreeMap<u64, Wait>,
}

/// A finished run, as oracles see it.
pub struct RunView<'a> {
    /// The run's seed.
    pub seed: u64,
    /// When the run started on its (virtual) clock.
    pub start: Instant,
    /// Every event, in order.
    pub trace: &'a [TraceEvent],
    /// Every task that was scheduled.
    pub tasks: &'a [TaskInfo],
    /// Every region that held a task, and its ancestors.
    pub regions: &'a [RegionInfo],
    /// The task that runs the `block_on` body (it is in no region's task list).
    pub root_task: Option<u64>,
    pub(crate) deadlock: Option<&'a DeadlockSnapshot>,
}

impl RunView<'_> {
    /// `task 5 "name"`, or `the block_on body` for the root.
    pub fn task_label(&self, id: Option<u64>) -> String {
        let Some(id) = id else {
            return "the block_on body".into();
        };
        if Some(id) == self.root_task {
            return format!("the block_on body (task {id})");
        }
        match self
            .tasks
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.name.as_ref())
        {
            Some(name) => format!("task {id} {name:?}"),
            None => format!("task {id}"),
        }
    }

    /// `region 3 "name"`.
    pub fn region_label(&self, id: u64) -> String {
        match self.regions.iter().find(|r| r.id == id) {
            Some(r) => format!("region {id} {:?}", &*r.name),
            None => format!("region {id}"),
        }
    }

    /// One trace event as a line of text.
    pub fn event_line(&self, index: usize) -> String {
        let event = &self.trace[index];
        let mut line = format!("#{index} +{:?} ", event.at.duration_since(self.start));
        match (event.task, event.region) {
            (Some(t), Some(r)) => {
                let _ = write!(
                    line,
                    "{} in {}",
                    self.task_label(Some(t)),
                    self.region_label(r)
                );
            }
            (Some(t), None) => line.push_str(&self.task_label(Some(t))),
            (None, Some(r)) => line.push_str(&self.region_label(r)),
            (None, None) => line.push_str("lab"),
        }
        let _ = write!(line, ": {:?}", event.kind);
        line
    }

    fn last_event_of(&self, task: u64, before: usize) -> Option<usize> {
        (0..before.min(self.trace.len()))
            .rev()
            .find(|&i| self.trace[i].task == Some(task) && self.trace[i].kind != TraceKind::Polled)
    }
}

/// The oracles every lab run gets unless configured otherwise.
pub(crate) fn builtin() -> Vec<Arc<dyn Oracle>> {
    vec![
        Arc::new(TaskLeak),
        Arc::new(Quiescence),
        Arc::new(CancelProtocol),
        Arc::new(Deadlock),
        Arc::new(LoserDrain),
    ]
}

/// `race!`/`select!` return only after every loser they cancelled has drained: each
/// loser's region closes before its race returns.
///
/// Races are told apart by the task driving them. Two races driven by one task at
/// once (`join!(race!(..), race!(..))`) would be checked as one: a loser of the
/// second still draining when the first returns would be reported.
pub struct LoserDrain;

impl Oracle for LoserDrain {
    fn name(&self) -> &'static str {
        "loser-drain"
    }

    fn check(&self, run: &RunView<'_>) -> Vec<Violation> {
        let mut closed: HashMap<u64, usize> = HashMap::new();
        for (i, e) in run.trace.iter().enumerate() {
            if let (TraceKind::RegionClosed, Some(r)) = (&e.kind, e.region) {
                closed.entry(r).or_insert(i);
            }
        }
        // Losers cancelled by each driving task since its last race returned.
        let mut losers: HashMap<Option<u64>, Vec<u64>> = HashMap::new();
        let mut violations = Vec::new();
        for (i, e) in run.trace.iter().enumerate() {
            match (&e.kind, e.region) {
                (TraceKind::RaceLoserCancelled, Some(r)) => {
                    losers.entry(e.task).or_default().push(r)
                }
                (TraceKind::RaceReturned, _) => {
                    for r in losers.remove(&e.task).unwrap_or_default() {
                        if closed.get(&r).is_none_or(|&at| at > i) {
                            violations.push(
                                Violation::new(
                                    self.name(),
                                    format!(
                                        "the race driven by {} returned while its loser {} was still draining",
                                        run.task_label(e.task),
                                        run.region_label(r)
                                    ),
                                )
                                .with_tasks(e.task)
                                .with_regions([r])
                                .at(i),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        violations
    }
}

/// No task is still alive once the root region has closed.
pub struct TaskLeak;

impl Oracle for TaskLeak {
    fn name(&self) -> &'static str {
        "task-leak"
    }

    fn check(&self, run: &RunView<'_>) -> Vec<Violation> {
        let leaked: Vec<&TaskInfo> = run.tasks.iter().filter(|t| !t.finished).collect();
        if leaked.is_empty() {
            return Vec::new();
        }
        let names: Vec<String> = leaked.iter().map(|t| run.task_label(Some(t.id))).collect();
        vec![Violation::new(
            self.name(),
            format!(
                "still alive after the root region closed: {}",
                names.join(", ")
            ),
        )
        .with_tasks(leaked.iter().map(|t| t.id))
        .with_regions(leaked.iter().map(|t| t.region))]
    }
}

/// A region closes only once every task in it, and every region inside it, is done.
pub struct Quiescence;

impl Oracle for Quiescence {
    fn name(&self) -> &'static str {
        "quiescence"
    }

    fn check(&self, run: &RunView<'_>) -> Vec<Violation> {
        let mut closed: HashMap<u64, usize> = HashMap::new();
        let mut finished: HashMap<u64, usize> = HashMap::new();
        for (i, e) in run.trace.iter().enumerate() {
            match (&e.kind, e.task, e.region) {
                (TraceKind::RegionClosed, None, Some(r)) => {
                    closed.entry(r).or_insert(i);
                }
                (TraceKind::TaskFinished(_), Some(t), _) => {
                    finished.entry(t).or_insert(i);
                }
                _ => {}
            }
        }
        let parent: HashMap<u64, Option<u64>> =
            run.regions.iter().map(|r| (r.id, r.parent)).collect();
        let mut violations = Vec::new();
        // Each task, against its region and every ancestor.
        for task in run.tasks {
            let done = finished.get(&task.id).copied();
            let mut region = Some(task.region);
            while let Some(r) = region {
                if let Some(&at) = closed.get(&r) {
                    if done.is_none_or(|d| d > at) {
                        violations.push(
                            Violation::new(
                                self.name(),
                                format!(
                                    "{} closed while {} was still alive",
                                    run.region_label(r),
                                    run.task_label(Some(task.id))
                                ),
                            )
                            .with_tasks([task.id])
                            .with_regions([r])
                            .at(at),
                        );
                        break;
                    }
                }
                region = parent.get(&r).copied().flatten();
            }
        }
        // Each region, against its parent.
        for region in run.regions {
            let (Some(p), Some(&parent_at)) =
                (region.parent, region.parent.and_then(|p| closed.get(&p)))
            else {
                continue;
            };
            if closed.get(&region.id).is_none_or(|&at| at > parent_at) {
                violations.push(
                    Violation::new(
                        self.name(),
                        format!(
                            "{} closed while {} inside it was still open",
                            run.region_label(p),
                            run.region_label(region.id)
                        ),
                    )
                    .with_regions([p, region.id])
                    .at(parent_at),
                );
            }
        }
        violations
    }
}

/// Request → drain → finalize, in that order: a drain expiry follows a request; a task
/// is never polled past its drain deadline; a region's finalizers all run, after
/// quiescence and before it closes.
pub struct CancelProtocol;

impl Oracle for CancelProtocol {
    fn name(&self) -> &'static str {
        "cancel-protocol"
    }

    fn check(&self, run: &RunView<'_>) -> Vec<Violation> {
        let mut violations = Vec::new();
        // Scopes are tasks (by id) or region bodies (task None, by region id).
        let mut requested: HashMap<(Option<u64>, Option<u64>), usize> = HashMap::new();
        let mut expired: HashMap<u64, usize> = HashMap::new();
        let deadlines: HashMap<u64, Instant> = run
            .tasks
            .iter()
            .filter_map(|t| t.drain_deadline.map(|d| (t.id, d)))
            .collect();
        let scope_key = |e: &TraceEvent| match e.task {
            Some(t) => (Some(t), None),
            None => (None, e.region),
        };
        let mut region_phase: HashMap<u64, (Option<usize>, Option<usize>)> = HashMap::new();
        for (i, e) in run.trace.iter().enumerate() {
            match &e.kind {
                TraceKind::CancelRequested(_) => {
                    requested.entry(scope_key(e)).or_insert(i);
                }
                TraceKind::DrainExpired => {
                    if !requested.contains_key(&scope_key(e)) {
                        let who = match e.task {
                            Some(t) => run.task_label(Some(t)),
                            None => e.region.map(|r| run.region_label(r)).unwrap_or_default(),
                        };
                        violations.push(
                            Violation::new(
                                self.name(),
                                format!("{who}: drain expired without a cancel request before it"),
                            )
                            .with_tasks(e.task)
                            .with_regions(e.region)
                            .at(i),
                        );
                    }
                    if let Some(t) = e.task {
                        expired.insert(t, i);
                    }
                }
                TraceKind::TaskFinished(severity) => {
                    if let Some(t) = e.task {
                        if expired.contains_key(&t) && *severity != Severity::Cancelled {
                            violations.push(
                                Violation::new(
                                    self.name(),
                                    format!(
                                        "{} was dropped by its drain but finished {severity:?}",
                                        run.task_label(Some(t))
                                    ),
                                )
                                .with_tasks([t])
                                .at(i),
                            );
                        }
                    }
                }
                TraceKind::Polled => {
                    let Some(t) = e.task else { continue };
                    let Some(deadline) = deadlines.get(&t) else {
                        continue;
                    };
                    if e.at < *deadline || !requested.contains_key(&(Some(t), None)) {
                        continue;
                    }
                    // Polled past its drain deadline: the harness must drop it now.
                    let next = run.trace[i + 1..]
                        .iter()
                        .find(|n| n.task == Some(t))
                        .map(|n| &n.kind);
                    if !matches!(next, Some(TraceKind::DrainExpired) | None) {
                        violations.push(
                            Violation::new(
                                self.name(),
                                format!(
                                    "{} ran past its drain deadline ({:?} after the start)",
                                    run.task_label(Some(t)),
                                    deadline.duration_since(run.start)
                                ),
                            )
                            .with_tasks([t])
                            .at(i),
                        );
                    }
                }
                TraceKind::RegionFinalizing => {
                    if let Some(r) = e.region {
                        region_phase.entry(r).or_default().0 = Some(i);
                    }
                }
                TraceKind::FinalizerRan => {
                    let Some(r) = e.region else { continue };
                    if let Some((_, Some(closed))) = region_phase.get(&r) {
                        violations.push(
                            Violation::new(
                                self.name(),
                                format!("{}: a finalizer ran after it closed", run.region_label(r)),
                            )
                            .with_regions([r])
                            .at(*closed),
                        );
                    }
                }
                TraceKind::RegionClosed => {
                    if let Some(r) = e.region {
                        region_phase.entry(r).or_default().1 = Some(i);
                    }
                }
                _ => {}
            }
        }
        for region in run.regions {
            let closed = region_phase.get(&region.id).and_then(|p| p.1);
            if closed.is_some() && region.pending_finalizers > 0 {
                violations.push(
                    Violation::new(
                        self.name(),
                        format!(
                            "{} closed with {} finalizer(s) that never ran",
                            run.region_label(region.id),
                            region.pending_finalizers
                        ),
                    )
                    .with_regions([region.id]),
                );
            }
        }
        violations
    }
}

/// Every task waits and nothing can wake any of them.
pub struct Deadlock;

impl Oracle for Deadlock {
    fn name(&self) -> &'static str {
        "deadlock"
    }

    fn check(&self, run: &RunView<'_>) -> Vec<Violation> {
        let Some(snapshot) = run.deadlock else {
            return Vec::new();
        };
        let mut message =
            String::from("every task is waiting, no timer is pending and nothing can wake them");
        if let Some(cycle) = find_cycle(&snapshot.waits) {
            message.push_str("\n    wait-for cycle: ");
            for task in &cycle {
                let wait = &snapshot.waits[task];
                let _ = write!(
                    message,
                    "{} waits for {} held by ",
                    run.task_label(Some(*task)),
                    wait.resource
                );
            }
            message.push_str(&run.task_label(cycle.first().copied()));
        }
        let _ = write!(message, "\n    blocked ({}):", snapshot.blocked.len());
        for &task in &snapshot.blocked {
            let _ = write!(message, "\n      {}", run.task_label(Some(task)));
            if let Some(region) = run.tasks.iter().find(|t| t.id == task).map(|t| t.region) {
                let _ = write!(message, " in {}", run.region_label(region));
            }
            if let Some(wait) = snapshot.waits.get(&task) {
                let _ = write!(message, ", waits for {}", wait.resource);
                if !wait.holders.is_empty() {
                    let holders: Vec<String> = wait
                        .holders
                        .iter()
                        .map(|&h| run.task_label(Some(h)))
                        .collect();
                    let _ = write!(message, " (held by {})", holders.join(", "));
                }
            }
            match run.last_event_of(task, snapshot.at_event) {
                Some(i) => {
                    let _ = write!(message, "; last traced: {:?}", run.trace[i].kind);
                }
                None => message.push_str("; nothing traced"),
            }
        }
        vec![Violation::new(self.name(), message)
            .with_tasks(snapshot.blocked.iter().copied())
            .at(snapshot.at_event)]
    }
}

/// A cycle in the wait-for graph (task → each holder of what it waits for), if any,
/// as the tasks along it: each waits for something the next one holds.
fn find_cycle(waits: &BTreeMap<u64, Wait>) -> Option<Vec<u64>> {
    /// Depth-first search from `task`; `path` is the stack of tasks being explored.
    fn visit(
        task: u64,
        waits: &BTreeMap<u64, Wait>,
        path: &mut Vec<u64>,
        done: &mut Vec<u64>,
    ) -> Option<Vec<u64>> {
        if let Some(pos) = path.iter().position(|&t| t == task) {
            return Some(path[pos..].to_vec());
        }
        if done.contains(&task) {
            return None;
        }
        path.push(task);
        for &holder in waits.get(&task).map_or(&[][..], |w| &w.holders[..]) {
            if let Some(cycle) = visit(holder, waits, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(task);
        None
    }
    let mut done = Vec::new();
    waits
        .keys()
        .find_map(|&start| visit(start, waits, &mut Vec::new(), &mut done))
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.oracle, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn event(t0: Instant, task: Option<u64>, region: Option<u64>, kind: TraceKind) -> TraceEvent {
        TraceEvent {
            at: t0,
            task,
            region,
            kind,
        }
    }

    fn view<'a>(
        t0: Instant,
        trace: &'a [TraceEvent],
        tasks: &'a [TaskInfo],
        regions: &'a [RegionInfo],
    ) -> RunView<'a> {
        RunView {
            seed: 1,
            start: t0,
            trace,
            tasks,
            regions,
            root_task: None,
            deadlock: None,
        }
    }

    fn task(id: u64, region: u64, finished: bool) -> TaskInfo {
        TaskInfo {
            id,
            name: Some("worker".into()),
            region,
            finished,
            drain_deadline: None,
        }
    }

    fn region(id: u64, parent: Option<u64>) -> RegionInfo {
        RegionInfo {
            id,
            name: "r".into(),
            parent,
            pending_finalizers: 0,
        }
    }

    #[test]
    fn loser_drain_flags_a_race_that_returns_before_its_loser_closed() {
        let t0 = Instant::now();
        let drained = [
            event(t0, Some(7), Some(20), TraceKind::RaceLoserCancelled),
            event(t0, None, Some(20), TraceKind::RegionClosed),
            event(t0, Some(7), Some(10), TraceKind::RaceReturned),
        ];
        assert!(LoserDrain.check(&view(t0, &drained, &[], &[])).is_empty());

        let early = [
            event(t0, Some(7), Some(20), TraceKind::RaceLoserCancelled),
            event(t0, Some(7), Some(10), TraceKind::RaceReturned),
            event(t0, None, Some(20), TraceKind::RegionClosed),
        ];
        let found = LoserDrain.check(&view(t0, &early, &[], &[]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].regions, [20]);
        assert_eq!(found[0].at_event, Some(1));

        // Another task's race returning does not judge this task's losers.
        let other_task = [
            event(t0, Some(7), Some(20), TraceKind::RaceLoserCancelled),
            event(t0, Some(8), Some(10), TraceKind::RaceReturned),
            event(t0, None, Some(20), TraceKind::RegionClosed),
            event(t0, Some(7), Some(10), TraceKind::RaceReturned),
        ];
        assert!(LoserDrain
            .check(&view(t0, &other_task, &[], &[]))
            .is_empty());
    }

    #[test]
    fn quiescence_flags_a_region_closed_before_its_task() {
        let t0 = Instant::now();
        let trace = [
            event(t0, Some(5), Some(2), TraceKind::Spawned),
            event(t0, None, Some(1), TraceKind::RegionClosed),
            event(t0, Some(5), Some(2), TraceKind::TaskFinished(Severity::Ok)),
        ];
        let tasks = [task(5, 2, true)];
        let regions = [region(1, None), region(2, Some(1))];
        let found = Quiescence.check(&view(t0, &trace, &tasks, &regions));
        // Region 1 closed before the task (in region 2, inside 1) and before region 2.
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("task 5 \"worker\""));
        assert_eq!(found[0].regions, vec![1]);
        let ok = [
            event(t0, Some(5), Some(2), TraceKind::TaskFinished(Severity::Ok)),
            event(t0, None, Some(2), TraceKind::RegionClosed),
            event(t0, None, Some(1), TraceKind::RegionClosed),
        ];
        assert!(Quiescence
            .check(&view(t0, &ok, &tasks, &regions))
            .is_empty());
    }

    #[test]
    fn task_leak_flags_an_unfinished_task() {
        let t0 = Instant::now();
        let tasks = [task(5, 2, true), task(6, 2, false)];
        let found = TaskLeak.check(&view(t0, &[], &tasks, &[]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].tasks, vec![6]);
    }

    #[test]
    fn cancel_protocol_flags_out_of_order_steps() {
        let t0 = Instant::now();
        let late = t0 + Duration::from_secs(2);
        let mut tasks = [task(5, 2, true)];
        tasks[0].drain_deadline = Some(t0 + Duration::from_secs(1));
        let mut regions = [region(2, None)];
        regions[0].pending_finalizers = 1;
        let trace = [
            // Drain expiry with no request before it.
            event(t0, None, Some(2), TraceKind::DrainExpired),
            event(
                t0,
                Some(5),
                Some(2),
                TraceKind::CancelRequested(crate::CancelKind::User),
            ),
            // Polled past the drain deadline and then allowed to run on.
            event(late, Some(5), Some(2), TraceKind::Polled),
            event(
                late,
                Some(5),
                Some(2),
                TraceKind::TaskFinished(Severity::Ok),
            ),
            event(late, None, Some(2), TraceKind::RegionClosed),
            event(late, None, Some(2), TraceKind::FinalizerRan),
        ];
        let found = CancelProtocol.check(&view(t0, &trace, &tasks, &regions));
        let messages: Vec<&str> = found.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(found.len(), 4, "{messages:#?}");
        assert!(messages[0].contains("without a cancel request"));
        assert!(messages[1].contains("past its drain deadline"));
        assert!(messages[2].contains("after it closed"));
        assert!(messages[3].contains("never ran"));
    }

    #[test]
    fn wait_for_cycle_is_found() {
        let wait = |r: &str, holders: &[u64]| Wait {
            resource: r.into(),
            holders: holders.to_vec(),
        };
        let mut waits = BTreeMap::new();
        waits.insert(3, wait("lock A", &[4]));
        waits.insert(4, wait("lock B", &[5]));
        waits.insert(5, wait("lock C", &[4]));
        assert_eq!(find_cycle(&waits), Some(vec![4, 5]));
        waits.insert(5, wait("lock C", &[]));
        assert_eq!(find_cycle(&waits), None);
        // A writer waits for every reader: a cycle through any one of them counts,
        // even when the first reader searched leads nowhere.
        waits.insert(5, wait("rwlock R", &[6, 3]));
        waits.insert(6, wait("lock D", &[]));
        assert_eq!(find_cycle(&waits), Some(vec![3, 4, 5]));
    }
}
