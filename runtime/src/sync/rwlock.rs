use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::holders::{Held, Holders};
use super::sem::SemCore;
use crate::cancel::Cancelled;
use crate::cx::Cx;

/// How many readers may hold the lock at once; a writer takes all of them.
const MAX_READERS: usize = u32::MAX as usize >> 3;

/// An async reader-writer lock, write-preferring and FIFO.
///
/// Readers take one of `MAX_READERS` permits and a writer takes them all, from one
/// FIFO queue. So once a writer is queued, readers that arrive after it wait behind
/// it: a steady stream of readers cannot starve a writer. Waiting is cancel-safe:
/// `read(&cx)` / `write(&cx)` return `Err(Cancelled)` and hold nothing.
pub struct RwLock<T: ?Sized> {
    sem: SemCore,
    /// Under the lab, the tasks holding the lock and where it was created, so a
    /// deadlock report can print the wait-for cycle.
    holders: Holders,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one writer or `&T` to many readers, never
// both; moving the lock between threads moves `T` (needs `Send`), sharing it shares
// `&T` between readers on several threads (needs `Sync`), as `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Why a `try_read` / `try_write` failed: the lock is taken in a conflicting mode, or
/// others are queued first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held")
    }
}

impl std::error::Error for TryLockError {}

impl<T> RwLock<T> {
    /// A new unlocked lock.
    #[track_caller]
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            sem: SemCore::new(MAX_READERS),
            holders: Holders::new("rwlock"),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access.
    pub async fn read(&self, cx: &Cx) -> Result<RwLockReadGuard<'_, T>, Cancelled> {
        let held = self.acquire(cx, 1).await?;
        Ok(RwLockReadGuard { lock: self, held })
    }

    /// Waits for exclusive access.
    pub async fn write(&self, cx: &Cx) -> Result<RwLockWriteGuard<'_, T>, Cancelled> {
        let held = self.acquire(cx, MAX_READERS).await?;
        Ok(RwLockWriteGuard { lock: self, held })
    }

    /// Shared access now, if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem
            .try_acquire(1)
            .map(|()| RwLockReadGuard {
                lock: self,
                held: Held::default(),
            })
            .map_err(|_| TryLockError(()))
    }

    /// Exclusive access now, if nobody holds or waits for the lock.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.sem
            .try_acquire(MAX_READERS)
            .map(|()| RwLockWriteGuard {
                lock: self,
                held: Held::default(),
            })
            .map_err(|_| TryLockError(()))
    }

    /// Like [`read`](RwLock::read), for a guard that keeps the `Arc` alive.
    pub async fn read_owned(
        self: Arc<Self>,
        cx: &Cx,
    ) -> Result<OwnedRwLockReadGuard<T>, Cancelled> {
        let held = self.acquire(cx, 1).await?;
        Ok(OwnedRwLockReadGuard { lock: self, held })
    }

    /// Like [`write`](RwLock::write), for a guard that keeps the `Arc` alive.
    pub async fn write_owned(
        self: Arc<Self>,
        cx: &Cx,
    ) -> Result<OwnedRwLockWriteGuard<T>, Cancelled> {
        let held = self.acquire(cx, MAX_READERS).await?;
        Ok(OwnedRwLockWriteGuard { lock: self, held })
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Waits for `permits` (one for a reader, all for a writer).
    async fn acquire(&self, cx: &Cx, permits: usize) -> Result<Held, Cancelled> {
        self.holders.acquire(cx, &self.sem, permits).await
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("value", &&*guard),
            Err(_) => d.field("value", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to an [`RwLock`]'s value.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    held: Held,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard holds one reader permit; no writer can hold all of
        // them at the same time, so only shared references exist.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.holders.release(self.held);
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    held: Held,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// What a mapped guard takes over: the queue, the permits held, the holder record.
    pub(super) fn release_parts(&self) -> (&'a SemCore, usize, &'a Holders, Held) {
        let (sem, permits) = self.lock.write_permits();
        (sem, permits, &self.lock.holders, self.held)
    }
}

impl<T: ?Sized> RwLock<T> {
    /// The queue and how many permits a writer holds.
    pub(super) fn write_permits(&self) -> (&SemCore, usize) {
        (&self.sem, MAX_READERS)
    }

    pub(super) fn holders(&self) -> &Holders {
        &self.holders
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Takes the guard apart without unlocking: the permits, the holder record and the
    /// `Arc` move to the caller (a mapped guard), which releases them.
    pub(super) fn into_parts(self) -> (Arc<RwLock<T>>, Held) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and its destructor does not run, so the
        // `Arc` is moved out exactly once.
        (unsafe { std::ptr::read(&this.lock) }, this.held)
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard holds every permit: no other guard exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard holds every permit; `&mut self` is exclusive.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.holders.release(self.held);
        self.lock.sem.release(MAX_READERS);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A read guard that owns an `Arc` of its lock.
#[must_use = "dropping the guard unlocks at once"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    held: Held,
}

impl<T: ?Sized> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds one reader permit: only shared references exist.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.holders.release(self.held);
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A write guard that owns an `Arc` of its lock.
#[must_use = "dropping the guard unlocks at once"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    held: Held,
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit: no other guard exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit; `&mut self` is exclusive.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.holders.release(self.held);
        self.lock.sem.release(MAX_READERS);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
