//! Building and running a runtime.
//!
//! `RuntimeBuilder::current_thread().build()?` gives a [`Runtime`];
//! `rt.block_on(|cx| async move { .. })` opens the root region, runs the body in it,
//! waits for the region to close to quiescence and returns the body's [`Outcome`].
//!
//! `RuntimeBuilder::multi_thread().worker_threads(n)` runs spawned tasks on `n`
//! work-stealing worker threads (default: the available cores) named
//! `{thread_name}-{i}`; `block_on` still polls the root body on the calling thread, and
//! several threads may `block_on` the same multi-thread runtime at once.

pub(crate) mod context;
pub(crate) mod park;
pub(crate) mod scheduler;
pub(crate) mod shared;
mod shutdown;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::budget::Budget;
use crate::cancel::{CancelKind, CancelReason};
use crate::cx::Cx;
use crate::outcome::Outcome;
use crate::trace::TraceEvent;
use shared::{Config, RuntimeShared};

pub(crate) use shutdown::ShutdownState;

/// Which scheduler a runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Every task runs on the thread that calls `block_on`.
    CurrentThread,
    /// Tasks run on a pool of worker threads with work stealing.
    MultiThread,
}

/// Configures and builds a [`Runtime`].
#[derive(Debug, Clone)]
#[must_use = "a RuntimeBuilder does nothing until built"]
pub struct RuntimeBuilder {
    flavor: Flavor,
    worker_threads: Option<usize>,
    drain_budget: Duration,
    trace: bool,
    thread_name: String,
    obligation_leak_policy: crate::obligation::LeakPolicy,
    io: crate::reactor::IoConfig,
}

impl RuntimeBuilder {
    /// A runtime that runs every task on the thread calling `block_on`.
    pub fn current_thread() -> RuntimeBuilder {
        RuntimeBuilder::new(Flavor::CurrentThread)
    }

    /// A work-stealing runtime on a pool of worker threads.
    pub fn multi_thread() -> RuntimeBuilder {
        RuntimeBuilder::new(Flavor::MultiThread)
    }

    fn new(flavor: Flavor) -> RuntimeBuilder {
        RuntimeBuilder {
            flavor,
            worker_threads: None,
            drain_budget: Config::DEFAULT_DRAIN,
            trace: false,
            thread_name: "asupersync-worker".to_string(),
            obligation_leak_policy: crate::obligation::LeakPolicy::default(),
            io: crate::reactor::IoConfig::default(),
        }
    }

    /// Number of worker threads (multi-thread flavor; default: available cores).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// How long a cancelled task may drain when the canceller names no budget
    /// (`handle.cancel(reason)`, deadlines, region cancellation). Default 10 s.
    pub fn drain_budget(mut self, drain: Duration) -> Self {
        self.drain_budget = drain;
        self
    }

    /// Records a trace of spawns, cancellations and region transitions, read back
    /// with [`Runtime::take_trace`].
    pub fn trace(mut self, enabled: bool) -> Self {
        self.trace = enabled;
        self
    }

    /// The name prefix of the runtime's threads: worker `i` of a multi-thread runtime
    /// is named `{name}-{i}` (default `asupersync-worker`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// What a region does when it closes with an obligation (a send permit, a
    /// semaphore permit, a lease) still unresolved. Default: [`LeakPolicy::Panic`]
    /// with `debug_assertions`, [`LeakPolicy::Log`] without.
    ///
    /// [`LeakPolicy::Panic`]: crate::obligation::LeakPolicy::Panic
    /// [`LeakPolicy::Log`]: crate::obligation::LeakPolicy::Log
    pub fn obligation_leak_policy(mut self, policy: crate::obligation::LeakPolicy) -> Self {
        self.obligation_leak_policy = policy;
        self
    }

    /// The most threads the blocking pool (`spawn_blocking`, `fs`) runs at once;
    /// further jobs queue. Default 512.
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.io.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before exiting.
    /// Default 10 s.
    pub fn thread_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.io.blocking_keep_alive = keep_alive;
        self
    }

    /// Listens for Ctrl-C (SIGINT): the first one shuts the runtime down as
    /// [`Runtime::shutdown`] does (with the default drain budget), so
    /// `cx.shutdown_signal()` fires and every root region is cancelled. Off by default:
    /// a runtime only takes over SIGINT when asked.
    pub fn shutdown_on_ctrl_c(mut self, enabled: bool) -> Self {
        self.io.shutdown_on_ctrl_c = enabled;
        self
    }

    /// Builds the runtime, or explains what is wrong with the configuration.
    pub fn build(self) -> Result<Runtime, BuildError> {
        if self.worker_threads == Some(0) {
            return Err(BuildError(
                "worker_threads must be at least 1 (use current_thread() for a single-threaded runtime)"
                    .into(),
            ));
        }
        if self.flavor == Flavor::CurrentThread && self.worker_threads.is_some_and(|n| n > 1) {
            return Err(BuildError(
                "worker_threads has no effect on a current_thread runtime; use multi_thread()"
                    .into(),
            ));
        }
        if self.drain_budget.is_zero() {
            return Err(BuildError(
                "drain_budget must be greater than zero: a zero drain drops every cancelled task before it can clean up"
                    .into(),
            ));
        }
        if self.thread_name.is_empty() || self.thread_name.contains('\0') {
            return Err(BuildError(
                "thread_name must be non-empty and contain no NUL byte".into(),
            ));
        }
        if self
            .worker_threads
            .is_some_and(|n| n > scheduler::multi_thread::MAX_WORKERS)
        {
            return Err(BuildError(format!(
                "worker_threads must be at most {}",
                scheduler::multi_thread::MAX_WORKERS
            )));
        }
        if self.io.max_blocking_threads == 0 {
            return Err(BuildError("max_blocking_threads must be at least 1".into()));
        }
        let mut io = self.io;
        io.thread_name = self.thread_name.clone();
        let config = Config {
            default_drain: self.drain_budget,
            trace: self.trace,
            obligation_leak_policy: self.obligation_leak_policy,
            io,
        };
        let shared = match self.flavor {
            Flavor::CurrentThread => RuntimeShared::new_current_thread(config)
                .map_err(|e| BuildError(format!("cannot create the IO reactor: {e}")))?,
            Flavor::MultiThread => {
                let workers = self
                    .worker_threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                RuntimeShared::new_multi_thread(config, workers, &self.thread_name)
                    .map_err(|e| BuildError(format!("cannot start the runtime: {e}")))?
            }
        };
        if shared.config.io.shutdown_on_ctrl_c {
            crate::signal::listen_for_shutdown(&shared)
                .map_err(|e| BuildError(format!("cannot listen for Ctrl-C: {e}")))?;
        }
        Ok(Runtime { shared })
    }
}

/// A configuration [`RuntimeBuilder::build`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid runtime configuration: {}", self.0)
    }
}

impl std::error::Error for BuildError {}

/// Why `block_on` could not run its body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeError {
    /// `block_on` was called from inside a running runtime.
    NestedBlockOn,
    /// `block_on` was called on a current-thread runtime that is already running.
    AlreadyRunning,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::NestedBlockOn => f.write_str(
                "block_on called from inside a running asupersync runtime: blocking here would stall its worker. \
                 `.await` the future instead, open a child region with `Region::open(&cx, ..)`, \
                 or move blocking code to `asupersync::task::spawn_blocking(&cx, ..)`",
            ),
            RuntimeError::AlreadyRunning => f.write_str(
                "block_on called on a current-thread runtime that is already running on another thread; \
                 build one runtime per thread or use a multi-thread runtime",
            ),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// An asupersync runtime: a scheduler, a timer queue and the root of the region tree.
pub struct Runtime {
    shared: Arc<RuntimeShared>,
}

impl Runtime {
    /// Opens a root region, runs `body(cx)` in it on this thread, waits for the region
    /// to close to quiescence, and returns the body's outcome.
    ///
    /// `Err` is a [`RuntimeError`]: this thread is already inside a runtime, or the
    /// runtime is busy. `Cancelled` means the runtime was shut down and the body was
    /// dropped after its drain budget; `Panicked` carries the body's panic.
    pub fn block_on<T, F, Fut>(&self, body: F) -> Outcome<T, RuntimeError>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = T>,
    {
        match RuntimeShared::block_on(&self.shared, body) {
            Ok(outcome) => match outcome {
                Outcome::Ok(v) => Outcome::Ok(v),
                Outcome::Err(never) => match never {},
                Outcome::Cancelled(r) => Outcome::Cancelled(r),
                Outcome::Panicked(p) => Outcome::Panicked(p),
            },
            Err(e) => Outcome::Err(e),
        }
    }

    /// Asks the runtime to shut down: the shutdown signal fires and every root region
    /// is cancelled with [`CancelKind::Shutdown`], with `drain` as the drain budget.
    /// A running `block_on` then returns once its region has closed.
    ///
    /// Once no `block_on` is running (at once if none is), the runtime stops: its
    /// worker and blocking-pool threads are joined and its IO reactor closes, without
    /// waiting for the `Runtime` to be dropped. A later `block_on` returns `Cancelled`
    /// (kind `Shutdown`) without running its body.
    pub fn shutdown(&self, drain: Budget) {
        let reason = CancelReason::new(CancelKind::Shutdown).with_message("Runtime::shutdown");
        self.shared.shutdown(reason, drain);
    }

    /// The events recorded so far (empty unless built with `.trace(true)`), oldest
    /// first; taking them clears the buffer.
    pub fn take_trace(&self) -> Vec<TraceEvent> {
        self.shared.trace.take()
    }

    /// A handle that can shut the runtime down from another thread.
    pub fn handle(&self) -> RuntimeHandle {
        RuntimeHandle {
            shared: self.shared.clone(),
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// Dropping a runtime stops its worker threads (multi-thread flavor) and joins every
/// one of them, waiting for the task each is running to return; then drops whatever is
/// still queued.
impl Drop for Runtime {
    fn drop(&mut self) {
        self.shared.teardown();
    }
}

/// A cloneable handle to a [`Runtime`] for use from other threads.
#[derive(Clone)]
pub struct RuntimeHandle {
    shared: Arc<RuntimeShared>,
}

impl RuntimeHandle {
    /// See [`Runtime::shutdown`].
    pub fn shutdown(&self, drain: Budget) {
        let reason = CancelReason::new(CancelKind::Shutdown).with_message("Runtime::shutdown");
        self.shared.shutdown(reason, drain);
    }
}

impl fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeHandle").finish_non_exhaustive()
    }
}
