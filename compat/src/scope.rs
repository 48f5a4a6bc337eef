//! What quarantined code can reach of the `run` it runs under: the native
//! cancellation ([`cancelled()`]) and a tracked spawner ([`spawn()`]).
//!
//! Both go through a task-local set by the host side of each `run`, so code deep inside
//! a Tokio-only library reaches them without a parameter.
//!
//! `tokio::spawn` detaches: Tokio offers no stable hook to see those tasks (its
//! spawn/terminate hooks need `--cfg tokio_unstable`), so the host can only *count*
//! them (Tokio's `num_alive_tasks`) and abort them at shutdown. [`spawn()`] is the
//! structured alternative: its tasks belong to the enclosing `run`, inherit its token,
//! and when the run's future is done, those still alive are aborted and awaited before
//! `run` returns, so they cannot outlive the caller's region either.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinHandle};

use crate::host::HostInner;
use crate::token::{lock, CancelToken};

tokio::task_local! {
    static CURRENT: RunScope;
}

/// The context of one `run` on the host, shared by the tasks spawned in it.
#[derive(Clone)]
pub(crate) struct RunScope {
    pub(crate) token: CancelToken,
    pub(crate) children: Arc<Children>,
    pub(crate) host: Arc<HostInner>,
}

impl RunScope {
    pub(crate) fn new(token: CancelToken, host: Arc<HostInner>) -> Self {
        RunScope {
            token,
            children: Arc::new(Children::default()),
            host,
        }
    }

    /// Runs `future` with this scope as the one [`cancelled()`] and [`spawn()`] see.
    pub(crate) fn enter<F: Future>(
        self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<RunScope, F> {
        CURRENT.scope(self, future)
    }
}

/// The tasks [`spawn()`] started in one run and that are still alive.
#[derive(Default)]
pub(crate) struct Children {
    /// `None` between registration and the spawn returning its abort handle.
    alive: Mutex<HashMap<u64, Option<AbortHandle>>>,
    next_id: std::sync::atomic::AtomicU64,
    /// Set once the run is over: a child whose handle arrives later is aborted then.
    closing: std::sync::atomic::AtomicBool,
    emptied: Notify,
}

impl Children {
    /// Aborts every child and waits until all of them have been dropped.
    pub(crate) async fn abort_and_wait(&self) {
        self.closing.store(true, Ordering::Release);
        loop {
            let mut emptied = std::pin::pin!(self.emptied.notified());
            emptied.as_mut().enable();
            {
                let alive = lock(&self.alive);
                if alive.is_empty() {
                    return;
                }
                for handle in alive.values().flatten() {
                    handle.abort();
                }
            }
            emptied.await;
        }
    }

    /// Aborts every child without waiting (for destructors).
    pub(crate) fn abort_all(&self) {
        self.closing.store(true, Ordering::Release);
        let alive = lock(&self.alive);
        for handle in alive.values().flatten() {
            handle.abort();
        }
    }

    fn register(&self) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.alive).insert(id, None);
        id
    }

    fn set_handle(&self, id: u64, handle: AbortHandle) {
        let mut alive = lock(&self.alive);
        if let Some(slot) = alive.get_mut(&id) {
            // Checked under the lock `abort_all` takes, so no child slips between.
            if self.closing.load(Ordering::Acquire) {
                handle.abort();
            }
            *slot = Some(handle);
        }
    }

    fn remove(&self, id: u64) {
        lock(&self.alive).remove(&id);
        self.emptied.notify_waiters();
    }
}

pin_project! {
    /// A tracked task: its future, then the guard that deregisters it (declared
    /// second, so it drops after the future however the task ends).
    struct Tracked<F> {
        #[pin]
        future: F,
        guard: ChildGuard,
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

struct ChildGuard {
    scope: RunScope,
    id: u64,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.scope
            .host
            .counters
            .tracked_alive
            .fetch_sub(1, Ordering::AcqRel);
        self.scope.children.remove(self.id);
    }
}

/// Spawns a Tokio task that belongs to the enclosing [`run`](crate::run).
///
/// Like `tokio::spawn`, but the task inherits the run's cancellation token (so
/// [`cancelled()`] works inside it), is counted in
/// [`HostMetrics::tracked_tasks_alive`](crate::HostMetrics::tracked_tasks_alive), and
/// is aborted and awaited when the run's future is done: it cannot outlive the
/// caller's region. Join it to keep its result. Outside a `run` it is `tokio::spawn`.
///
/// # Panics
///
/// Outside a `run`, where `tokio::spawn` panics: with no Tokio runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Ok(scope) = CURRENT.try_with(RunScope::clone) else {
        return tokio::spawn(future);
    };
    let id = scope.children.register();
    scope
        .host
        .counters
        .tracked_alive
        .fetch_add(1, Ordering::AcqRel);
    let children = scope.children.clone();
    let tracked = Tracked {
        future: scope.clone().enter(future),
        guard: ChildGuard { scope, id },
    };
    let handle = tokio::spawn(tracked);
    children.set_handle(id, handle.abort_handle());
    handle
}

/// The cancellation token of the [`run`](crate::run) this code is running under, to
/// hand to tasks started with `tokio::spawn` (task-locals do not follow it; they do
/// follow [`spawn()`]). `None` outside a `run`.
pub fn current_token() -> Option<CancelToken> {
    CURRENT.try_with(|scope| scope.token.clone()).ok()
}

/// Resolves when the native caller of the enclosing [`run`](crate::run) is cancelled.
///
/// Outside a `run` (no native caller) it never resolves. Inside one, await it next to
/// the work (`tokio::select!`) to stop cooperatively within the native drain budget;
/// past the budget the future is aborted anyway.
pub async fn cancelled() {
    match current_token() {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

/// `true` if the native caller of the enclosing [`run`](crate::run) has been cancelled
/// (`false` outside a `run`).
pub fn is_cancelled() -> bool {
    CURRENT
        .try_with(|scope| scope.token.is_cancelled())
        .unwrap_or(false)
}
