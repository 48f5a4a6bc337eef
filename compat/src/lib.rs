//! The Tokio quarantine: a real Tokio runtime hosted on its own OS threads, with
//! futures, cancellation, IO and channels bridged to asupersync, so Tokio-only crates
//! keep working during a migration while nothing outlives its region.
//!
//! - [`TokioHost`] owns a Tokio multi-thread runtime on dedicated, named threads
//!   (never native workers); [`TokioHost::global`] is started lazily.
//! - [`run`] / [`TokioHost::run`] run a Tokio future on the host, owned by the
//!   caller's region, and return an [`Outcome`](asupersync::Outcome).
//! - Native cancellation reaches Tokio code through [`cancelled()`] (cooperative) and
//!   an abort just before the native drain budget is spent; `run` returns only after
//!   the Tokio future is dropped. Panics and aborts come back as `Panicked` /
//!   `Cancelled`.
//! - [`TokioHost::metrics`] and [`TokioHost::shutdown`] account for everything on the
//!   host, including tasks quarantined code spawned with `tokio::spawn`.
//! - [`io`] adapts IO both ways between Tokio's traits and the runtime-neutral
//!   `futures-io` ones (which native IO implements), [`channel`] bridges Tokio mpsc to
//!   native streams and sinks, and [`hyper_rt`] drives hyper from native code.
//! - [`tokio`] is the quarantine's own Tokio, re-exported: code that stays on Tokio
//!   names it as `asupersync_tokio_compat::tokio::..`, so a package depends on Tokio
//!   only through this crate and `cargo tree -i tokio` shows where the quarantine is.

pub mod channel;
mod host;
pub mod hyper_rt;
pub mod io;
mod run;
mod scope;
mod token;

pub use host::{HostMetrics, ShutdownReport, TokioHost, TokioHostBuilder};
pub use run::{run, RunFuture};
pub use scope::{cancelled, current_token, is_cancelled, spawn};
pub use token::CancelToken;

/// The Tokio the host runs (every feature but `test-util`, which this crate's
/// `test-util` feature turns on), for code that stays Tokio-bound during a migration.
///
/// `cargo asupersync migrate` rewrites the `tokio::` paths it leaves behind to
/// `asupersync_tokio_compat::tokio::`, and Tokio's own attributes to
/// `#[asupersync_tokio_compat::tokio::test(crate = "asupersync_tokio_compat::tokio")]`.
/// Code written this way must still run inside [`run`] (or a Tokio runtime of its own,
/// such as a test that keeps Tokio's paused clock): the re-export moves the
/// dependency, not the runtime.
pub use tokio;

/// The compat guide's code blocks are compiled and run as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../docs/compat.md")]
pub struct CompatGuide;
