use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::holders::{never_closed, Held, Holders};
use super::sem::{AcquireCore, SemCore};
use crate::cancel::Cancelled;
use crate::cx::Cx;

/// An async mutex, FIFO-fair: the lock is handed to waiters in the order they asked.
///
/// `lock(&cx)` returns `Err(Cancelled)` if the task is cancelled while it waits, and
/// then neither holds the lock nor keeps it from the next waiter. The guard may be
/// held across `.await` (that is the point of an async mutex).
pub struct Mutex<T: ?Sized> {
    sem: SemCore,
    /// Under the lab, the task holding the lock and where the mutex was created, so
    /// a deadlock report can print the wait-for cycle.
    holders: Holders,
    value: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one guard at a time (one permit), so
// sharing the mutex between threads only ever moves `T` access between them: `T: Send`
// suffices, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above; `&Mutex<T>` gives `&mut T` to one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Why [`Mutex::try_lock`] failed: the lock is held (or others wait for it first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    #[track_caller]
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            sem: SemCore::new(1),
            holders: Holders::new("mutex"),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock. (The guard borrows only the mutex, not `cx`: it may
    /// outlive the `Cx` of a `select!` branch that took it.)
    pub fn lock<'a, 'c>(&'a self, cx: &'c Cx) -> Lock<'a, 'c, T>
    where
        'a: 'c,
    {
        Lock {
            mutex: self,
            acquire: AcquireCore::new(cx, &self.sem, 1),
        }
    }

    /// Takes the lock if it is free and nobody is waiting.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.sem
            .try_acquire(1)
            .map(|()| MutexGuard {
                mutex: self,
                held: Held::default(),
            })
            .map_err(|_| TryLockError(()))
    }

    /// Waits for the lock, returning a guard that keeps the `Arc` alive (it can be
    /// moved into a spawned task).
    pub async fn lock_owned(self: Arc<Self>, cx: &Cx) -> Result<OwnedMutexGuard<T>, Cancelled> {
        let held = self.holders.acquire(cx, &self.sem, 1).await?;
        Ok(OwnedMutexGuard { mutex: self, held })
    }

    /// Like [`try_lock`](Mutex::try_lock), for an owned guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard {
                mutex: self,
                held: Held::default(),
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking (the `&mut` proves nobody else holds it).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("value", &&*guard),
            Err(_) => d.field("value", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future returned by [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, 'c, T: ?Sized> {
    mutex: &'a Mutex<T>,
    acquire: AcquireCore<'c>,
}

impl<'a, T: ?Sized> Future for Lock<'a, '_, T> {
    type Output = Result<MutexGuard<'a, T>, Cancelled>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let held = std::task::ready!(this.mutex.holders.poll_acquire(&mut this.acquire, task))
            .map_err(never_closed)?;
        Poll::Ready(Ok(MutexGuard {
            mutex: this.mutex,
            held,
        }))
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s value; unlocks (handing the lock to the next waiter) when
/// dropped.
#[must_use = "dropping the guard unlocks at once"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    held: Held,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// What a mapped guard takes over: the queue, the permits held, the holder record.
    pub(super) fn release_parts(&self) -> (&'a SemCore, usize, &'a Holders, Held) {
        (&self.mutex.sem, 1, &self.mutex.holders, self.held)
    }
}

impl<T: ?Sized> Mutex<T> {
    pub(super) fn semaphore(&self) -> &SemCore {
        &self.sem
    }

    pub(super) fn holders(&self) -> &Holders {
        &self.holders
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Takes the guard apart without unlocking: the permit, the holder record and the
    /// `Arc` move to the caller (a mapped guard), which releases them.
    pub(super) fn into_parts(self) -> (Arc<Mutex<T>>, Held) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and its destructor does not run, so the
        // `Arc` is moved out exactly once.
        (unsafe { std::ptr::read(&this.mutex) }, this.held)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no other reference to
        // the value exists while it lives.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access through
        // the guard.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.holders.release(self.held);
        self.mutex.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] that owns an `Arc` of its mutex.
#[must_use = "dropping the guard unlocks at once"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
    held: Held,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's only permit; `&mut self` is exclusive.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.holders.release(self.held);
        self.mutex.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
