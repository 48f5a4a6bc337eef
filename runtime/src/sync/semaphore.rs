use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::sem::{AcquireCore, AcquireFailed, SemCore, TryAcquireFailed};
use crate::cancel::Cancelled;
use crate::cx::Cx;
use crate::obligation::ObligationToken;

/// A counting semaphore with FIFO hand-off.
///
/// `acquire(&cx, n)` waits for `n` permits, returning a [`SemaphorePermit`] that gives
/// them back when dropped. A permit is an *obligation*: it is recorded in the
/// caller's region with the line that acquired it, and a region that closes while one
/// is still alive reports a leak (see [`crate::obligation`]).
///
/// Cancel-safe: a cancelled `acquire` returns `Err(AcquireError::Cancelled)`, holds no
/// permit and passes on any permit it had been handed.
pub struct Semaphore {
    core: SemCore,
}

/// Why [`Semaphore::acquire`] failed.
#[derive(Debug, Clone)]
pub enum AcquireError {
    /// The semaphore was closed.
    Closed,
    /// The waiting task was cancelled; it holds no permit.
    Cancelled(Cancelled),
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Closed => f.write_str("semaphore closed"),
            AcquireError::Cancelled(c) => write!(f, "acquire cancelled: {c}"),
        }
    }
}

impl std::error::Error for AcquireError {}

impl From<AcquireFailed> for AcquireError {
    fn from(e: AcquireFailed) -> Self {
        match e {
            AcquireFailed::Closed => AcquireError::Closed,
            AcquireFailed::Cancelled(c) => AcquireError::Cancelled(c),
        }
    }
}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free (or others are queued first).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<TryAcquireFailed> for TryAcquireError {
    fn from(e: TryAcquireFailed) -> Self {
        match e {
            TryAcquireFailed::Closed => TryAcquireError::Closed,
            TryAcquireFailed::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            core: SemCore::new(permits),
        }
    }

    /// Permits free right now.
    pub fn available_permits(&self) -> usize {
        self.core.available()
    }

    /// Adds `n` permits (granted to waiters in FIFO order).
    pub fn add_permits(&self, n: usize) {
        self.core.release(n);
    }

    /// Closes the semaphore: waiting and later acquires fail with `Closed`; permits
    /// already held stay valid.
    pub fn close(&self) {
        self.core.close();
    }

    /// `true` once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Waits for `n` permits. FIFO: a request is served before any made after it.
    #[track_caller]
    pub fn acquire<'a, 'c>(&'a self, cx: &'c Cx, n: usize) -> Acquire<'a, 'c>
    where
        'a: 'c,
    {
        Acquire {
            sem: self,
            inner: AcquireCore::new(cx, &self.core, n),
            location: Location::caller(),
        }
    }

    /// Takes `n` permits if they are free now and nobody is waiting. The permit is not
    /// tracked as an obligation (there is no `Cx` to record it in).
    pub fn try_acquire(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.core.try_acquire(n)?;
        Ok(SemaphorePermit {
            sem: self,
            n,
            _token: ObligationToken::untracked(),
        })
    }

    /// Like [`acquire`](Semaphore::acquire), for a permit that owns a clone of the
    /// `Arc` (so it can be moved into a task).
    #[track_caller]
    pub fn acquire_owned(self: Arc<Self>, cx: &Cx, n: usize) -> AcquireOwned<'_> {
        AcquireOwned {
            sem: self,
            cx,
            n,
            key: None,
            location: Location::caller(),
        }
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), for an owned permit.
    pub fn try_acquire_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.core.try_acquire(n)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            n,
            _token: ObligationToken::untracked(),
        })
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Semaphore").field(&self.core).finish()
    }
}

/// The future returned by [`Semaphore::acquire`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Acquire<'a, 'c> {
    sem: &'a Semaphore,
    inner: AcquireCore<'c>,
    location: &'static Location<'static>,
}

impl<'a> Future for Acquire<'a, '_> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        std::task::ready!(this.inner.poll(task))?;
        Poll::Ready(Ok(SemaphorePermit {
            sem: this.sem,
            n: this.inner.n,
            _token: ObligationToken::track(this.inner.cx, "semaphore permit", this.location),
        }))
    }
}

/// Permits taken from a [`Semaphore`]; given back when dropped.
#[must_use = "dropping a permit releases it at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
    _token: ObligationToken,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits taken for good (they are not given back), resolving the
    /// obligation.
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.core.release(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireOwned<'cx> {
    sem: Arc<Semaphore>,
    cx: &'cx Cx,
    n: usize,
    key: Option<usize>,
    location: &'static Location<'static>,
}

impl Future for AcquireOwned<'_> {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        std::task::ready!(this
            .sem
            .core
            .poll_acquire(this.cx, &mut this.key, this.n, task))?;
        Poll::Ready(Ok(OwnedSemaphorePermit {
            sem: this.sem.clone(),
            n: this.n,
            _token: ObligationToken::track(this.cx, "semaphore permit", this.location),
        }))
    }
}

impl Drop for AcquireOwned<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.sem.core.leave(k);
        }
    }
}

impl fmt::Debug for AcquireOwned<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned").field("n", &self.n).finish()
    }
}

/// Permits taken from an `Arc<Semaphore>`; given back when dropped.
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
    _token: ObligationToken,
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore these permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits taken for good, resolving the obligation.
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.core.release(self.n);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}
