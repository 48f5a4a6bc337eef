//! Guards narrowed to a part of the locked value (`MutexGuard::map`,
//! `RwLockWriteGuard::map`), as in Tokio. They keep the lock's permits and give them
//! back when dropped; the narrowed reference is kept as a raw pointer because it
//! borrows from the guard being consumed.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::holders::{Held, Holders};
use super::mutex::{Mutex, MutexGuard, OwnedMutexGuard};
use super::rwlock::{OwnedRwLockWriteGuard, RwLock, RwLockWriteGuard};
use super::sem::SemCore;

/// A [`MutexGuard`] narrowed to a part of the value.
#[must_use = "dropping the guard unlocks at once"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    sem: &'a SemCore,
    permits: usize,
    holders: &'a Holders,
    held: Held,
    value: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: the guard is an exclusive borrow of `T` for `'a` (the lock's permits are
// held), so it may move to another thread when `&mut T` may: `T: Send`.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`: `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedMutexGuard<'a, U> {
        let value: *mut U = f(&mut this);
        let (sem, permits, holders, held) = this.release_parts();
        // The permit moves to the mapped guard: this guard must not release it.
        std::mem::forget(this);
        MappedMutexGuard {
            sem,
            permits,
            holders,
            held,
            value,
            _borrow: PhantomData,
        }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Narrows the write guard to a part of the value.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> RwLockMappedWriteGuard<'a, U> {
        let value: *mut U = f(&mut this);
        let (sem, permits, holders, held) = this.release_parts();
        std::mem::forget(this);
        MappedMutexGuard {
            sem,
            permits,
            holders,
            held,
            value,
            _borrow: PhantomData,
        }
    }
}

/// A [`RwLockWriteGuard`] narrowed to a part of the value.
pub type RwLockMappedWriteGuard<'a, T> = MappedMutexGuard<'a, T>;

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `value` points into the locked value, which this guard holds
        // exclusively (its permits) for `'a`.
        unsafe { &*self.value }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { &mut *self.value }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.holders.release(self.held);
        self.sem.release(self.permits);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// An [`OwnedMutexGuard`] narrowed to a part of the value.
#[must_use = "dropping the guard unlocks at once"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    release: OwnedRelease<T>,
    held: Held,
    value: *mut U,
}

/// What an owned mapped guard keeps alive and gives back.
enum OwnedRelease<T: ?Sized> {
    Mutex(Arc<Mutex<T>>),
    RwLock(Arc<RwLock<T>>),
}

// SAFETY: the guard owns the lock's `Arc` and holds its permits, so it is an
// exclusive borrow of `U` inside `T`; moving it moves that access (`U: Send`) and the
// `Arc` (`T: Send + Sync` for `Arc<Mutex<T>>`/`Arc<RwLock<T>>` to be `Send`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: sharing the guard shares `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

/// An [`OwnedRwLockWriteGuard`] narrowed to a part of the value.
pub type OwnedRwLockMappedWriteGuard<T, U = T> = OwnedMappedMutexGuard<T, U>;

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Narrows the guard to a part of the value.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedMappedMutexGuard<T, U> {
        let value: *mut U = f(&mut this);
        let (mutex, held) = this.into_parts();
        OwnedMappedMutexGuard {
            release: OwnedRelease::Mutex(mutex),
            held,
            value,
        }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Narrows the write guard to a part of the value.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedRwLockMappedWriteGuard<T, U> {
        let value: *mut U = f(&mut this);
        let (lock, held) = this.into_parts();
        OwnedMappedMutexGuard {
            release: OwnedRelease::RwLock(lock),
            held,
            value,
        }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `value` points into the value of the lock this guard owns and holds
        // exclusively.
        unsafe { &*self.value }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { &mut *self.value }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        match &self.release {
            OwnedRelease::Mutex(m) => {
                m.holders().release(self.held);
                m.semaphore().release(1);
            }
            OwnedRelease::RwLock(l) => {
                l.holders().release(self.held);
                let (sem, permits) = l.write_permits();
                sem.release(permits);
            }
        }
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
