//! # asupersync
//!
//! A cancel-correct, structured-concurrency async runtime.
//!
//! Tokio leaves three things to discipline: that spawned tasks do not outlive the code
//! that started them, that cancellation lets work clean up instead of vanishing at an
//! `.await`, and that effects are visible in signatures. asupersync makes them
//! structural:
//!
//! - **[`Cx`]**, the capability context, is passed first to every effectful call
//!   (`time::sleep(&cx, d)`, `cx.spawn(..)`): no `Cx`, no effects.
//! - **Regions** own tasks. [`Region::open`] returns only when everything spawned in it
//!   has finished and its finalizers have run: no task outlives its region.
//! - **Cancellation is a protocol**, request → drain → finalize: a request marks the
//!   subtree and wakes it, cancel-aware operations return `Err(`[`Cancelled`]`)`, the
//!   task gets its drain [`Budget`] to finish, and only then is its future dropped.
//! - **[`Outcome`]** keeps `Ok`, `Err`, `Cancelled` and `Panicked` apart; a panic in a
//!   task is reported at its join and never takes the runtime down.
//!
//! ```
//! use std::time::Duration;
//! use asupersync::{Outcome, Region, RuntimeBuilder};
//!
//! let rt = RuntimeBuilder::current_thread().build().unwrap();
//! let outcome = rt.block_on(|cx| async move {
//!     let total = Region::open(&cx, "workers", |cx| async move {
//!         let a = cx.spawn(|cx| async move {
//!             asupersync::time::sleep(&cx, Duration::from_millis(5)).await.ok();
//!             20
//!         });
//!         let b = cx.spawn(|_cx| async move { 22 });
//!         a.join(&cx).await.unwrap() + b.join(&cx).await.unwrap()
//!     })
//!     .await;
//!     total.unwrap()
//! });
//! assert_eq!(outcome.unwrap(), 42);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod budget;
pub mod cancel;
pub mod channel;
pub mod combinator;
mod cx;
pub mod fs;
pub mod io;
pub mod lab;
mod loom;
pub mod net;
pub mod obligation;
pub mod outcome;
pub mod process;
mod reactor;
pub mod region;
pub mod runtime;
mod scope;
pub mod signal;
pub mod sync;
pub mod task;
#[cfg(test)]
mod test_support;
pub mod time;
pub mod trace;

pub use budget::Budget;
pub use cancel::{CancelKind, CancelOrigin, CancelReason, Cancelled};
pub use cx::{Cx, ShutdownSignal};
pub use obligation::LeakPolicy;
pub use outcome::{Outcome, OutcomeError, PanicPayload, Severity};
pub use region::{Region, RegionBuilder};
pub use runtime::{BuildError, Flavor, Runtime, RuntimeBuilder, RuntimeError, RuntimeHandle};
pub use task::TaskHandle;

/// Runs an `async fn main` on an asupersync runtime.
///
/// ```no_run
/// #[asupersync::main]
/// async fn main(cx: &asupersync::Cx) {
///     asupersync::time::sleep(cx, std::time::Duration::from_millis(1)).await.ok();
/// }
/// ```
///
/// `main` may take no parameter or `cx: &Cx`, and return `()`, a `Result`, or an
/// `Outcome`. A panic in the body is re-raised; a body cancelled by shutdown exits
/// with status 130.
pub use asupersync_macros::main;

/// Runs an `async fn` test on a fresh current-thread runtime.
///
/// The test may take no parameter or `cx: &Cx` and return `()` or a `Result`.
pub use asupersync_macros::test;

/// Runs every branch concurrently, in the calling task, to completion, and returns
/// the tuple of their outputs (Tokio's shape).
///
/// A branch that panics does not cut the others short: they all finish, then the
/// panic is resumed. To combine branches that return [`Outcome`]s by severity, call
/// [`combinator::JoinOutcomes::join_outcomes`] on the tuple.
///
/// ```
/// # let rt = asupersync::RuntimeBuilder::current_thread().build().unwrap();
/// # rt.block_on(|cx| async move {
/// let (a, b) = asupersync::join!(async { 1 }, async { "two" });
/// assert_eq!((a, b), (1, "two"));
/// # }).unwrap();
/// ```
pub use asupersync_macros::join;

/// Runs the branches concurrently; the first to finish wins. Every loser is cancelled
/// (its checkpoints see [`CancelKind::RaceLost`]) **and drained** (its region closes,
/// finalizers included) before `race!` returns the winner's [`Outcome`].
///
/// `race!(cx; a, b, ..)`: each branch runs in a branch region, and inside a branch
/// `cx` names that region's `Cx` (name another identifier before the `;` to use it
/// instead; without `ident;`, `cx` is assumed). `biased;` polls in order instead of
/// rotating.
///
/// ```
/// use std::time::Duration;
/// use asupersync::time::sleep;
/// # let rt = asupersync::RuntimeBuilder::current_thread().build().unwrap();
/// # rt.block_on(|cx| async move {
/// let winner = asupersync::race!(cx;
///     async { sleep(cx, Duration::from_millis(1)).await.ok(); "fast" },
///     async { sleep(cx, Duration::from_secs(60)).await.ok(); "slow" },
/// );
/// assert_eq!(winner.unwrap(), "fast");
/// # }).unwrap();
/// ```
pub use asupersync_macros::race;

/// Tokio's `select!` branch syntax (`pattern = future [, if condition] => handler`,
/// `else => handler`, `biased;`), with `race!`'s guarantee: the losers are cancelled
/// and drained before the winning handler runs.
///
/// As in `race!`, inside a branch's future expression `cx` names the branch's own
/// `Cx` (a leading `ident;` picks another identifier); handlers run with the caller's.
/// A branch whose output does not match its pattern is disabled and the others keep
/// going; when every branch is disabled, `else` runs (without `else`, that panics, as
/// in Tokio). A branch whose `if` precondition is false is disabled from the start;
/// unlike Tokio, its future expression is not even evaluated (no region is opened for
/// it).
///
/// Draining is cooperative: a losing branch stops when it reaches a checkpoint of its
/// own `Cx`. A future created *outside* the `select!` (Tokio's `_ = &mut sleep =>`
/// idiom) answers to the caller's `Cx`, not the branch's, so as a loser it keeps
/// running until it finishes or the runtime's drain budget is spent. Create branch
/// futures inside the `select!` (or with the branch's `cx`) to have them stop at once.
///
/// ```
/// use asupersync::channel::mpsc;
/// # let rt = asupersync::RuntimeBuilder::current_thread().build().unwrap();
/// # rt.block_on(|cx| async move {
/// let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
/// tx.send(5).unwrap();
/// let got = asupersync::select! {
///     Ok(v) = rx.recv(&cx) => v,
///     _ = asupersync::time::sleep(&cx, std::time::Duration::from_secs(60)) => 0,
/// };
/// assert_eq!(got, 5);
/// # }).unwrap();
/// ```
pub use asupersync_macros::select;

/// Runs an `async fn` test under the [lab runtime](lab) for every seed of a range,
/// with the oracles on; fails with the seed and a replay line at the first failure.
///
/// Options: `seeds = 0..500` (default [`lab::Explorer::DEFAULT_SEEDS`], `0..500`), `strategy = "random" | "pct"`,
/// `depth = 3` (PCT's bug depth), `steps = 64` (PCT's step estimate). Setting
/// `ASUPERSYNC_LAB_SEED=<n>` runs seed `n` alone.
///
/// ```
/// #[asupersync::lab_test(seeds = 0..50)]
/// async fn spawns_join(cx: &asupersync::Cx) {
///     let h = cx.spawn(|_cx| async move { 2 });
///     assert_eq!(h.join(cx).await.unwrap(), 2);
/// }
/// ```
pub use asupersync_macros::lab_test;

#[doc(hidden)]
pub mod __private;

/// The guides' code blocks are compiled and run as doctests, so the docs cannot drift
/// from the code.
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
pub struct GettingStartedGuide;

/// The lab guide's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/lab.md")]
pub struct LabGuide;
