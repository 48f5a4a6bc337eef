//! The Tokio host: a real Tokio runtime on threads of its own.
//!
//! Tokio-only crates need a Tokio reactor and timer in their thread's context. Running
//! them on native workers would either fail (no context) or smuggle a second scheduler
//! onto threads the native runtime budgets. So the host owns a Tokio multi-thread
//! runtime on dedicated, named OS threads, and native code reaches it only through
//! [`TokioHost::run`], which keeps the work owned by the caller's region.
//!
//! The host also keeps the books: how many `run` futures are alive on it, how many
//! native cancellations were bridged, how many Tokio tasks are alive (including the
//! ones quarantined code spawned with `tokio::spawn`, counted by Tokio's own runtime
//! metrics), and [`TokioHost::shutdown`] ends all of them within a budget and reports
//! what was still alive.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use asupersync::{Budget, CancelKind, CancelReason, Cx};
use slab::Slab;
use tokio::sync::Notify;

use crate::run::RunFuture;
use crate::token::{lock, CancelToken};

/// Configures a [`TokioHost`]; see [`TokioHost::builder`].
#[derive(Debug, Clone)]
#[must_use = "a TokioHostBuilder does nothing until built"]
pub struct TokioHostBuilder {
    worker_threads: usize,
    current_thread: bool,
    // Set only through `start_paused`, which needs the `test-util` feature.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    start_paused: bool,
    pub(crate) thread_name: String,
    enable_io: bool,
    pub(crate) enable_time: bool,
    pub(crate) abort_margin: Duration,
    pub(crate) drop_wait: Duration,
}

impl Default for TokioHostBuilder {
    fn default() -> Self {
        TokioHostBuilder {
            worker_threads: 2,
            current_thread: false,
            start_paused: false,
            thread_name: "asupersync-tokio".to_string(),
            enable_io: true,
            enable_time: true,
            abort_margin: Duration::from_millis(50),
            drop_wait: Duration::from_secs(5),
        }
    }
}

impl TokioHostBuilder {
    /// Number of Tokio worker threads (default 2: the quarantine is for holdouts, not
    /// for the bulk of the work).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n;
        self
    }

    /// Hosts a current-thread Tokio runtime, driven by one thread of the host's (the
    /// runtime `#[tokio::test]` gives a test) instead of a multi-thread one. Code that
    /// controls Tokio's clock (`tokio::time::pause`, `advance`) needs it.
    pub fn current_thread(mut self) -> Self {
        self.current_thread = true;
        self
    }

    /// Starts the host's clock paused, as `#[tokio::test(start_paused = true)]` does:
    /// Tokio's time then advances only when the host is idle or through
    /// `tokio::time::advance`, so timeouts in tests run instantly. Implies
    /// [`current_thread`](Self::current_thread). Native timers are not affected.
    #[cfg(feature = "test-util")]
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self.current_thread |= paused;
        self
    }

    /// Name prefix of the host's threads; each is named `{prefix}-{n}`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Enables Tokio's IO driver (default on): needed by `tokio::net` and every crate
    /// built on it.
    pub fn enable_io(mut self, enabled: bool) -> Self {
        self.enable_io = enabled;
        self
    }

    /// Enables Tokio's time driver (default on): needed by `tokio::time`. The host
    /// also uses it to abort a cancelled future just before the native drain budget is
    /// spent; without it the abort happens when the native runtime drops the `run`
    /// future, which still waits for the Tokio future to be gone but cannot report.
    pub fn enable_time(mut self, enabled: bool) -> Self {
        self.enable_time = enabled;
        self
    }

    /// How long before the native drain deadline a cancelled future that ignored its
    /// token is aborted (default 50 ms), so `run` can still return `Cancelled` before
    /// the native runtime drops it. Capped at half of what is left of the drain.
    pub fn abort_margin(mut self, margin: Duration) -> Self {
        self.abort_margin = margin;
        self
    }

    /// How long a dropped `run` blocks its thread waiting for the aborted Tokio future
    /// to be dropped on the host (default 5 s). Only a future whose destructor blocks
    /// takes that long; one that outlives it is counted in
    /// [`HostMetrics::drop_waits_timed_out`].
    pub fn drop_wait(mut self, wait: Duration) -> Self {
        self.drop_wait = wait;
        self
    }

    /// Starts the host's threads.
    pub fn build(self) -> std::io::Result<TokioHost> {
        if self.worker_threads == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a TokioHost needs at least one worker thread",
            ));
        }
        let mut builder = if self.current_thread {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(self.worker_threads);
            builder
        };
        let prefix = self.thread_name.clone();
        let counter = AtomicUsize::new(0);
        builder.thread_name_fn(move || {
            format!("{prefix}-{}", counter.fetch_add(1, Ordering::Relaxed))
        });
        if self.enable_io {
            builder.enable_io();
        }
        if self.enable_time {
            builder.enable_time();
        }
        #[cfg(feature = "test-util")]
        builder.start_paused(self.start_paused);
        let runtime = builder.build()?;
        let handle = runtime.handle().clone();
        let engine = if self.current_thread {
            Engine::driven(runtime, format!("{}-0", self.thread_name))?
        } else {
            Engine::Workers(runtime)
        };
        Ok(TokioHost {
            inner: Arc::new(HostInner {
                handle,
                engine: Mutex::new(Some(engine)),
                config: self,
                closed: AtomicBool::new(false),
                runs: Mutex::new(Slab::new()),
                counters: Counters::default(),
                idle: Notify::new(),
            }),
        })
    }
}

/// What runs the host's Tokio runtime, and how it is stopped.
enum Engine {
    /// A multi-thread runtime: its own workers drive it.
    Workers(tokio::runtime::Runtime),
    /// A current-thread runtime, driven by a thread of the host's that runs
    /// `block_on` until told to stop: with how long the tasks get to finish
    /// (`None`: in the background), and whom to tell once they are gone. A dropped
    /// sender stops it in the background.
    Driven(tokio::sync::oneshot::Sender<StopOrder>),
}

type StopOrder = (Option<Duration>, Option<tokio::sync::oneshot::Sender<()>>);

impl Engine {
    fn driven(runtime: tokio::runtime::Runtime, name: String) -> std::io::Result<Engine> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<StopOrder>();
        std::thread::Builder::new().name(name).spawn(move || {
            let (wait, done) = runtime.block_on(async { stopped.await.unwrap_or((None, None)) });
            match wait {
                Some(wait) => runtime.shutdown_timeout(wait),
                None => runtime.shutdown_background(),
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
        })?;
        Ok(Engine::Driven(stop))
    }

    /// Shuts the runtime down, giving its tasks `wait`; the receiver hears once they
    /// are gone. Never blocks the calling thread.
    fn stop(
        self,
        wait: Duration,
        name: &str,
    ) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        match self {
            // `shutdown_timeout` blocks; it must not run on a native worker (nor on one
            // of the host's own threads, which it is stopping).
            Engine::Workers(runtime) => {
                std::thread::Builder::new()
                    .name(format!("{name}-shutdown"))
                    .spawn(move || {
                        runtime.shutdown_timeout(wait);
                        let _ = done_tx.send(());
                    })?;
            }
            Engine::Driven(stop) => {
                let _ = stop.send((Some(wait), Some(done_tx)));
            }
        }
        Ok(done_rx)
    }
}

/// A Tokio runtime on dedicated threads, the home of quarantined Tokio code.
///
/// Cheap to clone (all clones are the same host). Dropping the last clone shuts the
/// runtime down in the background; [`shutdown`](TokioHost::shutdown) does it within a
/// budget and reports.
#[derive(Clone)]
pub struct TokioHost {
    inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) handle: tokio::runtime::Handle,
    engine: Mutex<Option<Engine>>,
    pub(crate) config: TokioHostBuilder,
    closed: AtomicBool,
    /// The tokens of the runs in flight, cancelled together at shutdown.
    runs: Mutex<Slab<CancelToken>>,
    pub(crate) counters: Counters,
    /// Notified whenever a run's future leaves the host.
    idle: Notify,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) in_flight: AtomicUsize,
    pub(crate) started: AtomicU64,
    pub(crate) cancellations_bridged: AtomicU64,
    pub(crate) aborted: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) drop_waits_timed_out: AtomicU64,
    pub(crate) tracked_alive: AtomicUsize,
}

/// A snapshot of what lives in a host; see [`TokioHost::metrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostMetrics {
    /// `run` futures currently alive on the host.
    pub runs_in_flight: usize,
    /// `run` futures started since the host was built.
    pub runs_started: u64,
    /// Native cancellations passed to a Tokio future's token.
    pub cancellations_bridged: u64,
    /// Futures aborted because they outlived the native drain budget (or their `run`
    /// was dropped).
    pub runs_aborted: u64,
    /// Futures that panicked on the host.
    pub runs_panicked: u64,
    /// Every Tokio task alive on the host: the `run` futures plus whatever quarantined
    /// code spawned with `tokio::spawn` (or hyper's executor) and has not finished.
    pub tokio_tasks_alive: usize,
    /// Tasks started with [`crate::spawn`] and not yet dropped (part of
    /// `tokio_tasks_alive`); each belongs to a run and ends with it.
    pub tracked_tasks_alive: usize,
    /// Dropped `run`s that gave up waiting for their aborted future to be dropped.
    pub drop_waits_timed_out: u64,
}

impl HostMetrics {
    /// Tokio tasks alive besides the `run` futures themselves: what quarantined code
    /// spawned and has not finished (approximate while tasks are starting or ending).
    pub fn spawned_tasks_alive(&self) -> usize {
        self.tokio_tasks_alive.saturating_sub(self.runs_in_flight)
    }
}

/// What [`TokioHost::shutdown`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// `run` futures in flight when shutdown began; their tokens were cancelled.
    pub runs_cancelled: usize,
    /// Of those, the ones still alive when the cooperative half of the budget ended;
    /// they were aborted with the runtime.
    pub runs_aborted: usize,
    /// Tokio tasks alive when the runtime was shut down (`run` futures included); all
    /// of them were aborted.
    pub tokio_tasks_aborted: usize,
    /// `true` if every task had been dropped when the budget ran out.
    pub completed_within_budget: bool,
}

static GLOBAL: OnceLock<TokioHost> = OnceLock::new();

impl TokioHost {
    /// A builder with the defaults: 2 worker threads named `asupersync-tokio-{n}`, IO
    /// and time enabled.
    pub fn builder() -> TokioHostBuilder {
        TokioHostBuilder::default()
    }

    /// The process-wide default host, started on first use with the builder's
    /// defaults. [`crate::run`] uses it. Shutting it down is final for the process:
    /// later runs on it are born cancelled.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start its threads.
    pub fn global() -> &'static TokioHost {
        GLOBAL.get_or_init(|| {
            TokioHost::builder()
                .build()
                .expect("could not start the default Tokio host's threads")
        })
    }

    /// Runs a Tokio-requiring future on the host, owned by the caller: see
    /// [`crate::run`].
    pub fn run<'cx, F>(&self, cx: &'cx Cx, future: F) -> RunFuture<'cx, F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        RunFuture::new(cx, self.clone(), future)
    }

    /// A handle to the host's Tokio runtime, for code that needs one explicitly
    /// (`handle.enter()` to construct Tokio objects outside a `run`). Work spawned
    /// with it is counted in [`HostMetrics::tokio_tasks_alive`] and aborted by
    /// [`shutdown`](TokioHost::shutdown), but no region owns it: prefer `run`.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.inner.handle
    }

    /// A snapshot of what lives on the host.
    pub fn metrics(&self) -> HostMetrics {
        let c = &self.inner.counters;
        HostMetrics {
            runs_in_flight: c.in_flight.load(Ordering::Acquire),
            runs_started: c.started.load(Ordering::Relaxed),
            cancellations_bridged: c.cancellations_bridged.load(Ordering::Relaxed),
            runs_aborted: c.aborted.load(Ordering::Relaxed),
            runs_panicked: c.panicked.load(Ordering::Relaxed),
            tokio_tasks_alive: self.inner.handle.metrics().num_alive_tasks(),
            tracked_tasks_alive: c.tracked_alive.load(Ordering::Acquire),
            drop_waits_timed_out: c.drop_waits_timed_out.load(Ordering::Relaxed),
        }
    }

    /// `true` once [`shutdown`](TokioHost::shutdown) has begun: new runs are born
    /// cancelled.
    pub fn is_shut_down(&self) -> bool {
        self.inner.is_closed()
    }

    /// Shuts the host down within `budget` and reports what was still alive.
    ///
    /// Cooperative first: new runs are refused, the tokens of the runs in flight are
    /// cancelled with [`CancelKind::Shutdown`], and they get half of the budget to
    /// finish. Then the Tokio runtime is shut down, which aborts (drops) every task on
    /// it — runs that ignored their token and tasks spawned with `tokio::spawn` alike —
    /// waiting at most the rest of the budget. A budget without a deadline waits as
    /// long as that takes.
    pub async fn shutdown(&self, cx: &Cx, budget: Budget) -> ShutdownReport {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::Release);
        let started = asupersync::time::Instant::now();
        let deadline = budget.get_deadline();
        let reason = CancelReason::new(CancelKind::Shutdown).with_message("TokioHost::shutdown");
        let tokens: Vec<CancelToken> = lock(&inner.runs).iter().map(|(_, t)| t.clone()).collect();
        let runs_cancelled = tokens.len();
        for token in tokens {
            token.cancel(reason.clone());
        }

        let cooperative_end = deadline.map(|d| started + d.duration_since(started) / 2);
        let drained = async {
            // asupersync: allow(loop-without-checkpoint) -- the wait below races this loop with the caller's cancellation
            loop {
                let mut notified = std::pin::pin!(inner.idle.notified());
                notified.as_mut().enable();
                if inner.counters.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        // Until the runs have drained, the cooperative half of the budget is spent, or
        // the caller is cancelled (the sleep returns at once then), whichever is first.
        let give_up = match cooperative_end {
            Some(end) => asupersync::time::sleep_until(cx, end),
            None => asupersync::time::sleep(cx, Duration::from_secs(86_400 * 365)),
        };
        let (mut drained, mut give_up) = (std::pin::pin!(drained), std::pin::pin!(give_up));
        std::future::poll_fn(|task| {
            if drained.as_mut().poll(task).is_ready() || give_up.as_mut().poll(task).is_ready() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        let runs_aborted = inner.counters.in_flight.load(Ordering::Acquire);
        // Tokio releases a task a moment after its future is dropped: give the tasks
        // that just finished that moment so they are not reported as aborted.
        if inner.handle.metrics().num_alive_tasks() > 0 {
            let _ = asupersync::time::sleep(cx, Duration::from_millis(2)).await;
        }
        let tokio_tasks_aborted = inner.handle.metrics().num_alive_tasks();

        let engine = lock(&inner.engine).take();
        let mut completed_within_budget = true;
        if let Some(engine) = engine {
            let wait = deadline
                .map(|d| d.duration_since(asupersync::time::Instant::now()))
                .unwrap_or(Duration::MAX);
            match engine.stop(wait, &inner.config.thread_name) {
                Ok(done) => {
                    let _ = done.await;
                }
                Err(_) => completed_within_budget = false,
            }
        }
        if inner.counters.in_flight.load(Ordering::Acquire) != 0
            || inner.handle.metrics().num_alive_tasks() != 0
        {
            completed_within_budget = false;
        }
        ShutdownReport {
            runs_cancelled,
            runs_aborted,
            tokio_tasks_aborted,
            completed_within_budget,
        }
    }

    pub(crate) fn inner(&self) -> &Arc<HostInner> {
        &self.inner
    }
}

impl HostInner {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn register_run(&self, token: CancelToken) -> usize {
        lock(&self.runs).insert(token)
    }

    pub(crate) fn unregister_run(&self, key: usize) {
        let mut runs = lock(&self.runs);
        if runs.contains(key) {
            runs.remove(key);
        }
    }

    /// A run's future arrived on the host.
    pub(crate) fn future_arrived(&self) {
        self.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        self.counters.started.fetch_add(1, Ordering::Relaxed);
    }

    /// A run's future was dropped on the host (finished, aborted or shut down).
    pub(crate) fn future_gone(&self) {
        self.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.idle.notify_waiters();
    }
}

impl fmt::Debug for TokioHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioHost")
            .field("threads", &self.inner.config.thread_name)
            .field("metrics", &self.metrics())
            .finish()
    }
}

impl Drop for HostInner {
    fn drop(&mut self) {
        match lock(&self.engine).take() {
            // Dropping a Tokio runtime blocks; this may run inside async code.
            Some(Engine::Workers(runtime)) => runtime.shutdown_background(),
            // The driving thread stops it in the background when its sender goes.
            Some(Engine::Driven(_)) | None => {}
        }
    }
}
