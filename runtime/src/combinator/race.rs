//! The machinery behind `race!` and `select!` (the macros expand to calls here).

use std::cell::Cell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::cancel::{CancelKind, CancelReason};
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::region::{open_branch, BranchRegion, RegionCore};
use crate::trace::TraceKind;

/// A branch region about to run one branch of a `race!`/`select!`.
pub struct BranchScope {
    region: BranchRegion,
}

impl fmt::Debug for BranchScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BranchScope")
            .field("region", &self.region.core().id)
            .finish()
    }
}

/// Opens a branch region under `parent` and returns it with the `Cx` the branch's
/// future must use.
pub fn branch(parent: &Cx, name: &'static str) -> (BranchScope, Cx) {
    let (region, cx) = open_branch(parent, name);
    (BranchScope { region }, cx)
}

/// One branch as the driver sees it.
pub trait Arm {
    /// Polls the branch; `Ready(true)` if it finished with an output the combinator
    /// accepts (it wins), `Ready(false)` if it finished with one it does not (a
    /// `select!` pattern that did not match, or a branch cancelled from outside).
    /// Never called again once ready.
    fn poll_arm(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<bool>;
    /// `true` once the branch's region has closed.
    fn is_done(&self) -> bool;
    /// Cancels the branch's region (it lost).
    fn lose(&self, reason: CancelReason);
}

/// A branch that may be disabled (`select!`'s `, if false`): `None` has no region, is
/// never polled and never wins.
impl<A: Arm> Arm for Option<A> {
    fn poll_arm(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<bool> {
        match self.as_pin_mut() {
            Some(arm) => arm.poll_arm(task),
            None => Poll::Ready(false),
        }
    }

    fn is_done(&self) -> bool {
        self.as_ref().is_none_or(Arm::is_done)
    }

    fn lose(&self, reason: CancelReason) {
        if let Some(arm) = self {
            arm.lose(reason);
        }
    }
}

/// The winning arm's outcome (`race!`).
pub fn take_outcome<T, F, A>(arm: Pin<&mut Option<RaceArm<F, A>>>) -> Outcome<T>
where
    F: Future<Output = Outcome<T>>,
{
    arm.as_pin_mut()
        .expect("the winning arm is enabled")
        .take_outcome()
}

/// The winning arm's value, resuming its panic (`select!`).
pub fn take_value<T, F, A>(arm: Pin<&mut Option<RaceArm<F, A>>>) -> T
where
    F: Future<Output = Outcome<T>>,
{
    arm.as_pin_mut()
        .expect("the winning arm is enabled")
        .take_value()
}

pin_project! {
    /// A branch: its region, its future running in that region, and the test its
    /// output must pass to win.
    pub struct RaceArm<F: Future, A> {
        #[pin]
        future: F,
        region: Arc<RegionCore>,
        accept: A,
        output: Option<F::Output>,
        done: bool,
    }
}

/// Builds an arm running `future` (built with the scope's `Cx`) in `scope`.
pub fn arm<Fut, A>(
    scope: BranchScope,
    future: Fut,
    accept: A,
) -> RaceArm<impl Future<Output = Outcome<Fut::Output>>, A>
where
    Fut: IntoFuture,
    A: Fn(&Outcome<Fut::Output>) -> bool,
{
    let region = scope.region.core().clone();
    RaceArm {
        future: scope.region.run(future.into_future()),
        region,
        accept,
        output: None,
        done: false,
    }
}

impl<T, F, A> RaceArm<F, A>
where
    F: Future<Output = Outcome<T>>,
{
    /// The branch's outcome (once it is done). Called on the winner once every
    /// loser has drained: the moment the race returns.
    pub fn take_outcome(self: Pin<&mut Self>) -> Outcome<T> {
        let this = self.project();
        let rt = &this.region.rt;
        let parent = this.region.parent().map(|p| p.id);
        rt.trace.record(
            rt,
            Some(this.region.owner_id()),
            parent,
            TraceKind::RaceReturned,
        );
        this.output
            .take()
            .expect("take_outcome on a branch that has not finished")
    }

    /// The winning branch's value; a panic in the branch is resumed here, after
    /// every loser has drained.
    pub fn take_value(self: Pin<&mut Self>) -> T {
        match self.take_outcome() {
            Outcome::Ok(v) => v,
            Outcome::Panicked(p) => p.resume(),
            Outcome::Err(never) => match never {},
            Outcome::Cancelled(reason) => {
                unreachable!("a cancelled branch never wins a select: {reason}")
            }
        }
    }
}

impl<T, F, A> Arm for RaceArm<F, A>
where
    F: Future<Output = Outcome<T>>,
    A: Fn(&Outcome<T>) -> bool,
{
    fn poll_arm(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<bool> {
        let this = self.project();
        let outcome = std::task::ready!(this.future.poll(task));
        *this.done = true;
        let accepted = (this.accept)(&outcome);
        *this.output = Some(outcome);
        Poll::Ready(accepted)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn lose(&self, reason: CancelReason) {
        let rt = &self.region.rt;
        rt.trace.record(
            rt,
            Some(self.region.owner_id()),
            Some(self.region.id),
            TraceKind::RaceLoserCancelled,
        );
        let drain = rt.default_drain();
        self.region.cancel(reason, drain);
    }
}

thread_local! {
    static NEXT_START: Cell<usize> = const { Cell::new(0) };
}

/// Where an unbiased race starts polling: rotates so that no branch is always
/// first.
fn rotating_start(n: usize) -> usize {
    NEXT_START.with(|c| {
        let v = c.get().wrapping_add(1);
        c.set(v);
        v % n
    })
}

/// What one poll of an arm during the race phase found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Finished with an accepted output: this arm wins.
    Won,
    /// Finished without winning (or already finished earlier).
    Finished,
    /// Still running.
    Pending,
}

/// Polls `arm` once in the race phase.
pub fn step<A: Arm + ?Sized>(arm: Pin<&mut A>, task: &mut Context<'_>) -> Step {
    if arm.is_done() {
        return Step::Finished;
    }
    match arm.poll_arm(task) {
        Poll::Ready(true) => Step::Won,
        Poll::Ready(false) => Step::Finished,
        Poll::Pending => Step::Pending,
    }
}

/// Polls `arm` once in the drain phase; `true` while it still runs.
pub fn draining<A: Arm + ?Sized>(arm: Pin<&mut A>, task: &mut Context<'_>) -> bool {
    !arm.is_done() && arm.poll_arm(task).is_pending()
}

/// The index the race phase starts polling at: 0 when `biased`, else rotating so
/// that no branch is always first.
pub fn race_start(n: usize, biased: bool) -> usize {
    if biased || n == 0 {
        0
    } else {
        rotating_start(n)
    }
}

/// The arm polled `offset`-th in a round that starts at `start`.
pub fn arm_index(start: usize, offset: usize, n: usize) -> usize {
    (start + offset) % n
}

/// The reason a loser is cancelled with.
pub fn lost_reason(parent: &Cx, winner: usize) -> CancelReason {
    CancelReason::new(CancelKind::RaceLost)
        .with_origin(parent.origin())
        .with_message(format!("branch {winner} finished first"))
}
