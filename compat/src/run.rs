//! `run`: a Tokio future, owned by a native region.
//!
//! The future is spawned on the host on first poll, and the native [`RunFuture`] stays
//! pending until the Tokio side is over. Three rules make the boundary cancel-correct:
//!
//! 1. **Ownership.** `RunFuture` completes only after the Tokio future has been dropped
//!    on the host (Tokio drops a task's future before it publishes the task's output),
//!    and if the native runtime drops the `RunFuture` instead (its drain was spent), the
//!    destructor aborts the Tokio task and *waits* for that drop. Either way the
//!    caller's task, and so its region, cannot finish while the Tokio future lives.
//! 2. **Cooperative first.** When the caller is asked to stop, the run's
//!    [`CancelToken`] fires on the host (what [`cancelled()`](crate::cancelled)
//!    awaits), and the future may finish in its own way.
//! 3. **Abort before the drain is spent.** The native drain deadline (read from
//!    [`Cx::drain_deadline`]) travels to the host, which drops a future that is still
//!    running a margin before it; `run` then returns `Cancelled` with the native reason.
//!
//! A drain bounded only by a poll quota has no deadline to act on: the host then
//! waits for the native runtime to drop the `RunFuture` (rule 1), which happens on the
//! poll after the quota is spent, so a Tokio future that never wakes its caller is only
//! stopped by a deadline (every default drain has one).
//!
//! From the Tokio side back: a panic becomes [`Outcome::Panicked`] with its payload; an
//! abort (the drain, or a host shutdown) becomes [`Outcome::Cancelled`] with the reason.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use asupersync::{CancelKind, CancelReason, Cx, Outcome, PanicPayload};
use pin_project_lite::pin_project;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::host::{HostInner, TokioHost};
use crate::scope::{Children, RunScope};
use crate::token::{lock, CancelToken};

/// Runs a Tokio-requiring future on the default host ([`TokioHost::global`]) and
/// returns its result as an [`Outcome`].
///
/// The future is owned by the caller: the returned future completes only once the
/// Tokio future has been dropped on the host, so the caller's region cannot close while
/// it runs. A native cancel fires the future's token (see [`cancelled()`](crate::cancelled))
/// and aborts it just before the native drain budget is spent.
///
/// ```
/// use asupersync::RuntimeBuilder;
///
/// let rt = RuntimeBuilder::current_thread().build().unwrap();
/// let answer = rt.block_on(|cx| async move {
///     asupersync_tokio_compat::run(&cx, async {
///         tokio::time::sleep(std::time::Duration::from_millis(1)).await;
///         42
///     })
///     .await
/// });
/// assert_eq!(answer.unwrap().unwrap(), 42);
/// ```
pub fn run<F>(cx: &Cx, future: F) -> RunFuture<'_, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    TokioHost::global().run(cx, future)
}

/// The future returned by [`run`] and [`TokioHost::run`].
#[must_use = "futures do nothing unless awaited"]
pub struct RunFuture<'cx, F: Future> {
    cx: &'cx Cx,
    host: TokioHost,
    state: State<F>,
}

enum State<F: Future> {
    NotStarted(F),
    Running(Running<F::Output>),
    Done,
}

struct Running<T> {
    join: JoinHandle<Option<T>>,
    token: CancelToken,
    gone: Arc<Gone>,
    /// The instant the host must abort the future at, if it ignores its token.
    abort_at: watch::Sender<Option<std::time::Instant>>,
    registration: usize,
}

/// Whether the future has been dropped on the host, for a dropped `RunFuture` to wait
/// on with a plain condvar (its destructor cannot await).
#[derive(Default)]
struct Gone {
    gone: Mutex<bool>,
    signal: Condvar,
}

impl<'cx, F> RunFuture<'cx, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    pub(crate) fn new(cx: &'cx Cx, host: TokioHost, future: F) -> Self {
        RunFuture {
            cx,
            host,
            state: State::NotStarted(future),
        }
    }

    fn start(&mut self, future: F) -> Running<F::Output> {
        let inner = self.host.inner().clone();
        let token = CancelToken::new();
        let registration = inner.register_run(token.clone());
        let gone = Arc::new(Gone::default());
        let (abort_at, abort_rx) = watch::channel(None);
        inner.future_arrived();
        let scope = RunScope::new(token.clone(), inner.clone());
        let children = scope.children.clone();
        let hosted = Hosted {
            future: host_side(future, scope, abort_rx, inner.config.enable_time),
            guard: GoneGuard {
                host: inner.clone(),
                gone: gone.clone(),
                children,
            },
        };
        let join = inner.handle.spawn(hosted);
        Running {
            join,
            token,
            gone,
            abort_at,
            registration,
        }
    }
}

/// The host side of a run: the user's future, unless the abort deadline passes first
/// (`None`); then the tasks it started with [`crate::spawn`] that are still alive are
/// aborted and awaited. The abort deadline can move earlier while it runs.
async fn host_side<F: Future>(
    future: F,
    scope: RunScope,
    mut abort_rx: watch::Receiver<Option<std::time::Instant>>,
    timers: bool,
) -> Option<F::Output> {
    let children = scope.children.clone();
    let mut future = std::pin::pin!(Some(scope.enter(future)));
    let mut native_alive = true;
    let result = loop {
        let abort_at = (*abort_rx.borrow_and_update()).filter(|_| timers);
        tokio::select! {
            biased;
            value = future.as_mut().as_pin_mut().expect("polled until it completes") => {
                break Some(value)
            }
            changed = abort_rx.changed(), if native_alive => {
                // The sender goes away with the `RunFuture`, whose destructor aborts
                // this task; until then keep running.
                native_alive = changed.is_ok();
            }
            () = sleep_until(abort_at), if abort_at.is_some() => break None,
        }
    };
    // Drop the user's future before its children are reaped, as a region does.
    future.set(None);
    children.abort_and_wait().await;
    result
}

async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

pin_project! {
    /// What is spawned on the host: the future, then the guard that reports it gone
    /// (declared second, so it drops after the future however the task ends).
    struct Hosted<Fut> {
        #[pin]
        future: Fut,
        guard: GoneGuard,
    }
}

impl<Fut: Future> Future for Hosted<Fut> {
    type Output = Fut::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        self.project().future.poll(cx)
    }
}

struct GoneGuard {
    host: Arc<HostInner>,
    gone: Arc<Gone>,
    children: Arc<Children>,
}

impl Drop for GoneGuard {
    fn drop(&mut self) {
        // Aborted from outside (the `RunFuture` was dropped, or the host shut down):
        // the children cannot be awaited here, only aborted.
        self.children.abort_all();
        // Counted out before the waiter is released, so the metrics agree with what
        // the returning `run` observed.
        self.host.future_gone();
        *lock(&self.gone.gone) = true;
        self.gone.signal.notify_all();
    }
}

impl<F> Future for RunFuture<'_, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let State::NotStarted(_) = this.state {
            if this.host.is_shut_down() {
                this.state = State::Done;
                return Poll::Ready(Outcome::Cancelled(
                    CancelReason::new(CancelKind::Shutdown)
                        .with_message("the Tokio host is shut down"),
                ));
            }
            if let Some(reason) = this.cx.cancel_reason() {
                this.state = State::Done;
                return Poll::Ready(Outcome::Cancelled(reason));
            }
            let State::NotStarted(future) = std::mem::replace(&mut this.state, State::Done) else {
                unreachable!("checked above")
            };
            let running = this.start(future);
            this.state = State::Running(running);
        }
        let State::Running(running) = &mut this.state else {
            return Poll::Ready(Outcome::Cancelled(
                CancelReason::new(CancelKind::User).with_message("run polled after completion"),
            ));
        };
        let host = this.host.inner();
        if let Some(reason) = this.cx.cancel_reason() {
            if running.token.cancel(reason) {
                host.counters
                    .cancellations_bridged
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if let Some(deadline) = this.cx.drain_deadline() {
                let deadline = deadline.into_std();
                let now = std::time::Instant::now();
                let left = deadline.saturating_duration_since(now);
                let abort_at = deadline - host.config.abort_margin.min(left / 2);
                running.abort_at.send_if_modified(|current| {
                    if current.is_none_or(|c| abort_at < c) {
                        *current = Some(abort_at);
                        true
                    } else {
                        false
                    }
                });
            }
        }
        let result = match Pin::new(&mut running.join).poll(task) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        host.unregister_run(running.registration);
        let counters = &host.counters;
        let outcome = match result {
            Ok(Some(value)) => Outcome::Ok(value),
            Ok(None) => {
                counters
                    .aborted
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Outcome::Cancelled(this.cx.cancel_reason().unwrap_or_else(|| {
                    CancelReason::new(CancelKind::User).with_message("aborted on the Tokio host")
                }))
            }
            Err(error) if error.is_panic() => {
                counters
                    .panicked
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Outcome::Panicked(PanicPayload::new(error.into_panic()))
            }
            Err(_) => Outcome::Cancelled(if host.is_closed() {
                CancelReason::new(CancelKind::Shutdown)
                    .with_message("the Tokio host shut down while the future ran")
            } else {
                CancelReason::new(CancelKind::User)
                    .with_message("the future was aborted on the Tokio host")
            }),
        };
        this.state = State::Done;
        Poll::Ready(outcome)
    }
}

// The user future is never pinned here: it is moved into the host's task before it is
// ever polled, so `RunFuture` can move freely.
impl<F: Future> Unpin for RunFuture<'_, F> {}

impl<F: Future> Drop for RunFuture<'_, F> {
    fn drop(&mut self) {
        let State::Running(running) = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let host = self.host.inner();
        host.unregister_run(running.registration);
        if running.join.is_finished() {
            return;
        }
        running.join.abort();
        host.counters
            .aborted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Blocking here is what keeps the region from closing while the Tokio future
        // lives. Tokio drops an aborted task's future promptly unless its destructor
        // blocks, so the wait is short; it is bounded all the same. On one of the
        // host's own threads waiting could deadlock a one-thread host, so it is skipped.
        if on_host_thread(host) {
            return;
        }
        let deadline = std::time::Instant::now() + host.config.drop_wait;
        let mut gone = lock(&running.gone.gone);
        while !*gone {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left == Duration::ZERO {
                host.counters
                    .drop_waits_timed_out
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            gone = running
                .gone
                .signal
                .wait_timeout(gone, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn on_host_thread(host: &HostInner) -> bool {
    tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == host.handle.id())
}
