//! Structured combinators: [`join!`](crate::join), [`race!`](crate::race),
//! [`select!`](crate::select) and [`TaskGroup`].
//!
//! The rule they keep: **a combinator does not return while work it started is still
//! running.** Tokio's `select!` drops the losing futures at the first `.await` that
//! returns, so their cleanup never runs (a half-written frame, a lock released in a
//! `Drop` that only sets a flag, a finalizer that never fires). Here:
//!
//! - each `race!`/`select!` branch runs in a *branch region*: a lightweight child
//!   region whose body runs in the calling task (no spawn), with its own cancel scope
//!   and its own `Cx` (inside a branch, `cx` names the branch's `Cx`);
//! - when one branch wins, every other branch's region is cancelled with
//!   [`CancelKind::RaceLost`](crate::CancelKind::RaceLost), so its checkpoints and
//!   cancel-aware waits return `Err(Cancelled)`; the combinator keeps polling the
//!   losers until their regions have closed (body returned, children done, finalizers
//!   run), bounded by the runtime's drain budget, after which a loser's body is
//!   dropped by the same drain machinery that stops any cancelled task;
//! - only then does the combinator return the winner's value.
//!
//! [`TaskGroup`] is the dynamic form: tasks spawned into the caller's region, joined
//! in completion order, cancelled together.

mod group;
mod join;
mod race;

pub use group::TaskGroup;
pub use join::JoinOutcomes;

#[doc(hidden)]
pub use join::JoinArm;
#[doc(hidden)]
pub use race::{
    arm, arm_index, branch, draining, lost_reason, race_start, step, take_outcome, take_value, Arm,
    BranchScope, RaceArm, Step,
};
