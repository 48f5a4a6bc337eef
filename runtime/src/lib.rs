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
mod cx;
pub mod fs;
pub mod io;
pub mod net;
pub mod outcome;
pub mod process;
mod reactor;
pub mod region;
pub mod runtime;
mod scope;
pub mod signal;
pub mod task;
pub mod time;
pub mod trace;

pub use budget::Budget;
pub use cancel::{CancelKind, CancelOrigin, CancelReason, Cancelled};
pub use cx::{Cx, ShutdownSignal};
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

#[doc(hidden)]
pub mod __private;
