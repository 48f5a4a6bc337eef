//! Regions: the scopes that own tasks.
//!
//! `Region::open(cx, name, |cx| async move { .. })` runs a body and then *closes to
//! quiescence*: it waits for every task spawned in the region (and every region opened
//! inside it), runs the finalizers registered with `cx.defer` in LIFO order, and only
//! then returns. So no task outlives the region that spawned it, and a function that
//! returns has no work left running behind its back.
//!
//! A region's life: `Open` (the body runs) → `Closing` (the body returned; live
//! children may still spawn, as a Trio nursery allows) → `Finalizing` (finalizers run;
//! spawns are born cancelled) → `Closed`. Cancellation is orthogonal: a cancelled
//! region refuses new tasks (they are born cancelled) and pushes the request to every
//! task and region inside it.

use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelOrigin, CancelReason};
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::runtime::shared::RuntimeShared;
use crate::scope::{CancelScope, Drain, Requested};
use crate::task::core::{DrainTimer, TaskRef};
use crate::task::harness::{Drainable, ScopeOf};
use crate::time::timer::TimerKey;
use crate::trace::TraceKind;

/// Opens child regions. See the [module docs](self).
#[derive(Debug)]
pub struct Region {
    _private: (),
}

impl Region {
    /// Opens a child region of `cx`'s region named `name`, runs `body` in it, waits for
    /// everything spawned in it, runs its finalizers, and returns the body's outcome.
    ///
    /// The body runs in the calling task with a `Cx` of its own: tasks it spawns belong
    /// to the new region. If the region is cancelled and the body ignores it past the
    /// drain budget, the body is dropped and the outcome is `Cancelled`.
    pub async fn open<T, F, Fut>(cx: &Cx, name: impl Into<Arc<str>>, body: F) -> Outcome<T>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        Region::builder(name).open(cx, body).await
    }

    /// A region with options (a budget) before it is opened.
    pub fn builder(name: impl Into<Arc<str>>) -> RegionBuilder {
        RegionBuilder {
            name: name.into(),
            budget: Budget::INFINITE,
        }
    }
}

/// Options for a region; see [`Region::builder`].
#[derive(Debug)]
#[must_use = "a RegionBuilder does nothing until opened"]
pub struct RegionBuilder {
    name: Arc<str>,
    budget: Budget,
}

impl RegionBuilder {
    /// Bounds the region: its deadline cancels it with
    /// [`CancelKind::Deadline`]; tasks inside inherit the budget (by meet).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Opens the region; see [`Region::open`].
    pub async fn open<T, F, Fut>(self, cx: &Cx, body: F) -> Outcome<T>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        let region = RegionCore::new_child(cx, self.name, cx.budget().meet(self.budget));
        let mut guard = AbandonGuard(Some(region.clone()));
        let outcome = run(&region, cx.task_core().clone(), body).await;
        guard.0 = None;
        outcome
    }
}

/// Runs a region's body, then closes it: quiescence, finalizers, closed. Used by
/// `Region::open` and by the runtime for the root region of `block_on`.
pub(crate) async fn run<T, F, Fut>(region: &Arc<RegionCore>, owner: TaskRef, body: F) -> Outcome<T>
where
    F: FnOnce(Cx) -> Fut,
    Fut: Future<Output = T>,
{
    let body_cx = Cx::for_body(owner, region.clone());
    run_future(region, body(body_cx)).await
}

/// Runs an already-built body future in `region`, then closes the region. The body
/// must have been built with a `Cx` of this region (see [`open_branch`]).
pub(crate) async fn run_future<F: Future>(region: &Arc<RegionCore>, body: F) -> Outcome<F::Output> {
    let mut body = std::pin::pin!(Drainable::new(body));
    let outcome = poll_fn(|cx| body.as_mut().poll_in(cx, ScopeOf::Region(region))).await;
    if let Outcome::Panicked(payload) = &outcome {
        let reason = CancelReason::new(CancelKind::Panic)
            .with_origin(region.origin())
            .with_message(format!("the region's body panicked: {}", payload.message()));
        region.cancel(reason, region.rt.default_drain());
    }
    region.set_phase(Phase::Closing);
    poll_fn(|cx| region.poll_quiescent(cx)).await;
    region.set_phase(Phase::Finalizing);
    run_finalizers(region).await;
    region.close();
    crate::obligation::report_leaks(region);
    outcome
}

/// A region opened as a branch of a combinator (`race!`, `select!`): a lightweight
/// child region whose body runs in the calling task, polled by the combinator.
/// Cancelling it (a lost race) cancels exactly that branch; running it
/// ([`BranchRegion::run`]) closes it to quiescence with its finalizers, like
/// `Region::open`.
pub(crate) struct BranchRegion {
    region: Arc<RegionCore>,
    guard: AbandonGuard,
}

/// Opens a branch region in `cx`'s scope and returns it with the `Cx` its body uses.
pub(crate) fn open_branch(cx: &Cx, name: &'static str) -> (BranchRegion, Cx) {
    let region = RegionCore::new_child(cx, name.into(), cx.budget());
    region
        .branch
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let body_cx = Cx::for_body(cx.task_core().clone(), region.clone());
    let guard = AbandonGuard(Some(region.clone()));
    (BranchRegion { region, guard }, body_cx)
}

impl BranchRegion {
    pub(crate) fn core(&self) -> &Arc<RegionCore> {
        &self.region
    }

    /// Runs `body` (built with this branch's `Cx`) in the region and closes it. If
    /// the returned future is dropped first, the region is abandoned (cancelled, its
    /// children drain, its finalizers still run).
    pub(crate) async fn run<F: Future>(self, body: F) -> Outcome<F::Output> {
        let BranchRegion { region, mut guard } = self;
        let outcome = run_future(&region, body).await;
        guard.0 = None;
        outcome
    }
}

async fn run_finalizers(region: &RegionCore) {
    while let Some(finalizer) = region.pop_finalizer() {
        // A panic in one finalizer must not stop the ones registered before it; it is
        // recorded (and, under the lab, is an oracle violation) rather than lost.
        if let Err(payload) = CatchUnwind(finalizer).await {
            let rt = &region.rt;
            let message = payload.message().to_string();
            rt.trace.record(
                rt,
                None,
                Some(region.id),
                TraceKind::FinalizerPanicked(message.clone()),
            );
            crate::lab::report_in(
                rt,
                None,
                region.id,
                "finalizer-panic",
                format!(
                    "a finalizer of region {:?} panicked: {message}",
                    &*region.name
                ),
            );
        }
        region
            .rt
            .trace
            .record(&region.rt, None, Some(region.id), TraceKind::FinalizerRan);
    }
}

type Finalizer = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

struct CatchUnwind(Finalizer);

impl Future for CatchUnwind {
    type Output = Result<(), crate::outcome::PanicPayload>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(payload) => Poll::Ready(Err(crate::outcome::PanicPayload::new(payload))),
        }
    }
}

/// The stages of a region's life, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Open,
    Closing,
    Finalizing,
    Closed,
}

pub(crate) struct RegionCore {
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) rt: Arc<RuntimeShared>,
    pub(crate) budget: Budget,
    pub(crate) scope: CancelScope,
    /// Obligations created with a `Cx` of this region and not yet resolved.
    pub(crate) obligations: crate::obligation::ObligationSet,
    /// A combinator branch (see [`BranchRegion`]): its output flows to the caller, so
    /// obligations created in it belong to the nearest enclosing non-branch region.
    branch: std::sync::atomic::AtomicBool,
    /// The region this one is nested in (for quiescence); `None` for a root region.
    parent: Option<Arc<RegionCore>>,
    /// The id of the task that runs the body.
    owner_id: u64,
    state: Mutex<RegionState>,
}

/// The scope a region was opened in, which cancels it along with itself.
enum ScopeParent {
    /// The owner's own scope (the region was opened with a task's `Cx`).
    Task,
    Region(Weak<RegionCore>),
}

struct RegionState {
    phase: Phase,
    /// The task that runs the body, woken when the region is cancelled. Released when
    /// the region closes: the owner's future holds the region, so this is a cycle
    /// until then.
    owner: Option<TaskRef>,
    tasks: Slab<TaskRef>,
    open_children: usize,
    finalizers: Vec<Finalizer>,
    quiescence_waker: Option<Waker>,
    /// The body's future was dropped before the region closed: the last child to
    /// finish must run the finalizers.
    abandoned: bool,
    deadline_timer: Option<TimerKey>,
    drain_timer: Option<TimerKey>,
    scope_link: Option<(ScopeParent, usize)>,
}

impl RegionCore {
    fn new(
        rt: Arc<RuntimeShared>,
        name: Arc<str>,
        parent: Option<Arc<RegionCore>>,
        owner_id: u64,
        budget: Budget,
    ) -> RegionCore {
        RegionCore {
            id: rt.next_id(),
            name,
            rt,
            budget,
            scope: CancelScope::new(),
            obligations: Default::default(),
            branch: std::sync::atomic::AtomicBool::new(false),
            parent,
            owner_id,
            state: Mutex::new(RegionState {
                phase: Phase::Open,
                owner: None,
                tasks: Slab::new(),
                open_children: 0,
                finalizers: Vec::new(),
                quiescence_waker: None,
                abandoned: false,
                deadline_timer: None,
                drain_timer: None,
                scope_link: None,
            }),
        }
    }

    /// A root region: the region of a `block_on` body, run by the task `owner_id`.
    /// The caller hands over the owner ([`set_owner`](RegionCore::set_owner)) and
    /// calls [`opened`](RegionCore::opened) once the owner exists.
    pub(crate) fn new_root(
        rt: Arc<RuntimeShared>,
        name: Arc<str>,
        owner_id: u64,
    ) -> Arc<RegionCore> {
        let region = Arc::new(RegionCore::new(rt, name, None, owner_id, Budget::INFINITE));
        region.rt.register_root(&region);
        region
    }

    /// A region opened with `cx`: nested in `cx`'s region for quiescence, and cancelled
    /// along with `cx`'s scope (the task, or the region body `cx` belongs to).
    fn new_child(cx: &Cx, name: Arc<str>, budget: Budget) -> Arc<RegionCore> {
        let parent = cx.region_core().clone();
        let owner = cx.task_core();
        let region = Arc::new(RegionCore::new(
            parent.rt.clone(),
            name,
            Some(parent.clone()),
            owner.id,
            budget,
        ));
        lock(&parent.state).open_children += 1;
        let (key, inherited) = cx.scope().add_child(&region);
        let link = if cx.is_body() {
            ScopeParent::Region(Arc::downgrade(&parent))
        } else {
            ScopeParent::Task
        };
        {
            let mut state = region.lock();
            state.owner = Some(owner.clone());
            state.scope_link = Some((link, key));
        }
        region.opened();
        if let Some((reason, drain)) = inherited {
            region.cancel_drain(
                reason.for_child(cx.origin()),
                drain.deadline,
                drain.polls_left,
            );
        }
        region
    }

    pub(crate) fn opened(self: &Arc<Self>) {
        self.rt
            .trace
            .record(&self.rt, None, Some(self.id), TraceKind::RegionOpened);
        if let Some(deadline) = self.budget.get_deadline() {
            let waker = Waker::from(Arc::new(RegionDeadline(Arc::downgrade(self))));
            let key = self.rt.timers.insert(deadline, waker);
            self.lock().deadline_timer = Some(key);
        }
    }

    pub(crate) fn origin(&self) -> CancelOrigin {
        CancelOrigin::Region(self.id, self.name.clone())
    }

    /// The region that owns obligations created here: this one, or for a combinator
    /// branch the nearest enclosing region that is not a branch (a `select!` branch
    /// that reserves a permit hands it to its handler, after the branch closed).
    pub(crate) fn obligation_home(self: &Arc<Self>) -> &Arc<RegionCore> {
        let mut region = self;
        while region.branch.load(std::sync::atomic::Ordering::Relaxed) {
            match &region.parent {
                Some(parent) => region = parent,
                None => break,
            }
        }
        region
    }

    /// The id of the task that runs this region's body.
    pub(crate) fn owner_id(&self) -> u64 {
        self.owner_id
    }

    /// Hands the region the task that runs its body (a root region's, whose task is
    /// made after the region).
    pub(crate) fn set_owner(&self, owner: TaskRef) {
        self.lock().owner = Some(owner);
    }

    /// Lets go of the owner without closing (a `block_on` that unwinds before its root
    /// region closed): breaks the owner ↔ region cycle.
    pub(crate) fn release_owner(&self) {
        let owner = self.lock().owner.take();
        drop(owner);
    }

    /// The owner, if the region has not closed yet.
    fn owner(&self) -> Option<TaskRef> {
        self.lock().owner.clone()
    }

    /// The region this one is nested in (`None` for a root region).
    pub(crate) fn parent(&self) -> Option<&Arc<RegionCore>> {
        self.parent.as_ref()
    }

    /// Finalizers registered and not yet run.
    pub(crate) fn pending_finalizers(&self) -> usize {
        self.lock().finalizers.len()
    }

    fn lock(&self) -> MutexGuard<'_, RegionState> {
        lock(&self.state)
    }

    /// Admits a task, or refuses it with the reason its handle will report.
    pub(crate) fn register_task(&self, task: TaskRef) -> Result<(), CancelReason> {
        let mut state = self.lock();
        let refusal = if state.phase >= Phase::Finalizing {
            Some("the region is finalizing")
        } else if self.scope.is_requested() {
            Some("the region is cancelled")
        } else {
            None
        };
        match refusal {
            Some(why) => Err(CancelReason::new(CancelKind::RegionClosed)
                .with_origin(self.origin())
                .with_message(format!("spawned into region {:?}, but {why}", &*self.name))),
            None => {
                admit(&mut state, task);
                Ok(())
            }
        }
    }

    /// Admits runtime bookkeeping regardless of phase and cancellation.
    pub(crate) fn register_task_unchecked(&self, task: TaskRef) {
        admit(&mut self.lock(), task);
    }

    /// A task admitted with `key` is gone.
    pub(crate) fn task_finished(self: &Arc<Self>, key: usize) {
        let mut state = self.lock();
        // Dropped after the lock: giving back a task reference may run async-task code.
        let task = state.tasks.try_remove(key);
        self.after_child_gone(state);
        drop(task);
    }

    fn child_closed(self: &Arc<Self>) {
        let mut state = self.lock();
        state.open_children = state.open_children.saturating_sub(1);
        self.after_child_gone(state);
    }

    fn after_child_gone(self: &Arc<Self>, mut state: MutexGuard<'_, RegionState>) {
        if !state.tasks.is_empty() || state.open_children > 0 {
            return;
        }
        if state.abandoned {
            // Nobody awaits this region any more: the last child out finalizes it.
            if state.phase == Phase::Closing {
                state.phase = Phase::Finalizing;
                drop(state);
                self.finish_abandoned();
            }
        } else if let Some(waker) = state.quiescence_waker.take() {
            drop(state);
            waker.wake();
        }
    }

    fn poll_quiescent(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.tasks.is_empty() && state.open_children == 0 {
            state.quiescence_waker = None;
            Poll::Ready(())
        } else {
            state.quiescence_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn set_phase(&self, phase: Phase) {
        self.lock().phase = phase;
        let kind = match phase {
            Phase::Open => return,
            Phase::Closing => TraceKind::RegionClosing,
            Phase::Finalizing => TraceKind::RegionFinalizing,
            Phase::Closed => TraceKind::RegionClosed,
        };
        self.rt.trace.record(&self.rt, None, Some(self.id), kind);
    }

    pub(crate) fn defer(&self, finalizer: Finalizer) {
        let mut state = self.lock();
        if state.phase == Phase::Closed {
            // Only a Cx kept past its region's end can get here; there is nobody left
            // to run the finalizer.
            drop(state);
            self.rt
                .trace
                .record(&self.rt, None, Some(self.id), TraceKind::FinalizerDropped);
            return;
        }
        state.finalizers.push(finalizer);
    }

    fn pop_finalizer(&self) -> Option<Finalizer> {
        self.lock().finalizers.pop()
    }

    /// The last step: marks the region closed and releases it from its parent.
    fn close(&self) {
        let (link, owner, timers) = {
            let mut state = self.lock();
            state.phase = Phase::Closed;
            (
                state.scope_link.take(),
                state.owner.take(),
                [state.deadline_timer.take(), state.drain_timer.take()],
            )
        };
        for key in timers.into_iter().flatten() {
            self.rt.timers.remove(key);
        }
        match link {
            Some((ScopeParent::Task, key)) => {
                if let Some(task) = &owner {
                    task.scope.remove_child(key);
                }
            }
            Some((ScopeParent::Region(region), key)) => {
                if let Some(region) = region.upgrade() {
                    region.scope.remove_child(key);
                }
            }
            None => {}
        }
        self.rt
            .trace
            .record(&self.rt, None, Some(self.id), TraceKind::RegionClosed);
        match &self.parent {
            Some(parent) => parent.child_closed(),
            None => self.rt.unregister_root(self.id),
        }
    }

    /// Cancels the region, giving everything in it `drain` to finish.
    pub(crate) fn cancel(self: &Arc<Self>, reason: CancelReason, drain: Budget) {
        self.cancel_drain(reason, drain.get_deadline(), drain.poll_quota());
    }

    /// Step one of the protocol for a region: record the request, push it to every task
    /// and nested region, arm the drain deadline for the body, wake the body's task.
    pub(crate) fn cancel_drain(
        self: &Arc<Self>,
        reason: CancelReason,
        deadline: Option<crate::time::Instant>,
        polls: Option<u32>,
    ) {
        let kind = reason.kind;
        let children = match self.scope.request(reason.clone(), deadline, polls) {
            Requested::First(children) => children,
            Requested::Strengthened | Requested::Unchanged => {
                self.arm_drain_timer();
                return;
            }
        };
        self.rt.trace.record(
            &self.rt,
            None,
            Some(self.id),
            TraceKind::CancelRequested(kind),
        );
        let child_reason = reason.for_child(self.origin());
        let tasks: Vec<TaskRef> = self.lock().tasks.iter().map(|(_, t)| t.clone()).collect();
        let task_drain = Drain::budget(deadline, polls);
        for task in tasks {
            task.cancel_as(child_reason.clone(), task_drain, DrainTimer::Region);
        }
        for child in children {
            child.cancel_drain(child_reason.clone(), deadline, polls);
        }
        self.arm_drain_timer();
        if let Some(owner) = self.owner() {
            owner.wake();
        }
    }

    /// One timer for the whole region: at the drain deadline it wakes the body's task
    /// and every task still in the region, so each can be dropped.
    fn arm_drain_timer(self: &Arc<Self>) {
        let Some(deadline) = self.scope.drain().deadline else {
            return;
        };
        let waker = Waker::from(Arc::new(DrainExpired(Arc::downgrade(self))));
        let key = self.rt.timers.insert(deadline, waker);
        if let Some(old) = self.lock().drain_timer.replace(key) {
            self.rt.timers.remove(old);
        }
    }

    /// The body's future was dropped before the region closed (its task was dropped by
    /// the drain, or the `Region::open` future was dropped by a combinator). The region
    /// is cancelled; its children drain; the last one out runs the finalizers.
    fn abandon(self: &Arc<Self>) {
        let reason = CancelReason::new(CancelKind::RegionClosed)
            .with_origin(self.origin())
            .with_message("the region's body was dropped before the region closed");
        self.cancel(reason, self.rt.default_drain());
        let mut state = self.lock();
        if state.phase >= Phase::Finalizing {
            // Dropped while running finalizers: the rest still have to run.
            state.abandoned = true;
            drop(state);
            self.finish_abandoned();
            return;
        }
        state.phase = Phase::Closing;
        state.abandoned = true;
        // The future that registered it is gone; waking it would finalize nothing.
        state.quiescence_waker = None;
        if state.tasks.is_empty() && state.open_children == 0 {
            state.phase = Phase::Finalizing;
            drop(state);
            self.finish_abandoned();
        }
    }

    /// Runs the finalizers of an abandoned region in a task of the parent region (the
    /// parent cannot close before this region closes), then closes it.
    fn finish_abandoned(self: &Arc<Self>) {
        let Some(parent) = self.parent.clone() else {
            // A root region is never abandoned while its runtime is alive; if the
            // runtime itself is going away, nobody can run the finalizers.
            self.lock().finalizers.clear();
            self.close();
            return;
        };
        let region = self.clone();
        crate::task::spawn_internal(&parent, async move {
            run_finalizers(&region).await;
            region.close();
            crate::obligation::report_leaks(&region);
        });
    }
}

/// Drops the region's body if the `Region::open` future goes away before closing.
struct AbandonGuard(Option<Arc<RegionCore>>);

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if let Some(region) = self.0.take() {
            region.abandon();
        }
    }
}

/// Cancels a region when its budget's deadline passes.
struct RegionDeadline(Weak<RegionCore>);

impl Wake for RegionDeadline {
    fn wake(self: Arc<Self>) {
        if let Some(region) = self.0.upgrade() {
            let reason = CancelReason::new(CancelKind::Deadline)
                .with_origin(region.origin())
                .with_message("the region's budget deadline passed");
            let drain = region.rt.default_drain();
            region.cancel(reason, drain);
        }
    }
}

/// Fires at a cancelled region's drain deadline: wakes the task that runs the body
/// and every task still in the region, so each harness can drop what is left.
struct DrainExpired(Weak<RegionCore>);

impl Wake for DrainExpired {
    fn wake(self: Arc<Self>) {
        let Some(region) = self.0.upgrade() else {
            return;
        };
        let (tasks, owner): (Vec<TaskRef>, _) = {
            let state = region.lock();
            let tasks = state.tasks.iter().map(|(_, t)| t.clone()).collect();
            (tasks, state.owner.clone())
        };
        for task in tasks {
            task.wake();
        }
        if let Some(owner) = owner {
            owner.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    crate::task::core::lock(m)
}

/// Puts `task` in the region's list; the task keeps its key to leave it.
fn admit(state: &mut RegionState, task: TaskRef) {
    let entry = state.tasks.vacant_entry();
    task.set_region_key(entry.key());
    entry.insert(task);
}
