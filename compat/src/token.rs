//! The native cancellation, as Tokio code sees it.
//!
//! Tokio code has no `Cx`: it cannot call `cx.checkpoint()`, and its futures are not
//! woken by the native runtime. So each [`run`](crate::run) carries a [`CancelToken`]
//! into the host. The native side fires it the moment the caller is asked to stop, and
//! the Tokio future sees it through [`cancelled()`] (a task-local, so code deep inside a
//! Tokio-only library can reach it without a parameter) or a token handed down
//! explicitly with [`current_token()`]. This is the cooperative half of the bridge; the
//! hard half (aborting the future when the native drain is spent) is in `run`.
//!
//! [`cancelled()`]: crate::cancelled
//! [`current_token()`]: crate::current_token

use std::fmt;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use asupersync::CancelReason;
use tokio::sync::Notify;

/// A cancellation request crossing from the native side into the Tokio host.
///
/// Cheap to clone; all clones observe the same request. Awaitable from any executor.
#[derive(Clone, Default)]
pub struct CancelToken {
    state: Arc<TokenState>,
}

#[derive(Default)]
struct TokenState {
    cancelled: AtomicBool,
    reason: Mutex<Option<CancelReason>>,
    notify: Notify,
}

impl CancelToken {
    /// A token nobody has cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// `true` once the native side asked the work to stop.
    pub fn is_cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::Acquire)
    }

    /// Why the native side asked the work to stop, if it did.
    pub fn reason(&self) -> Option<CancelReason> {
        if !self.is_cancelled() {
            return None;
        }
        lock(&self.state.reason).clone()
    }

    /// Resolves once the token is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let mut notified = pin!(self.state.notify.notified());
            // Registering before the check closes the window in which a cancel between
            // the check and the await would be missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Cancels the token; a stronger reason replaces a weaker one. Returns `true` for
    /// the first request.
    pub(crate) fn cancel(&self, reason: CancelReason) -> bool {
        let mut current = lock(&self.state.reason);
        let first = current.is_none();
        if first || current.as_ref().is_some_and(|c| reason.is_stronger_than(c)) {
            *current = Some(reason);
        }
        drop(current);
        if first {
            self.state.cancelled.store(true, Ordering::Release);
            self.state.notify.notify_waiters();
        }
        first
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .field("reason", &self.reason())
            .finish()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // No user code runs under the crate's locks, so a poisoned one is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
