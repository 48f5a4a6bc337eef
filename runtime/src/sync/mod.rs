//! Synchronisation primitives whose waiting operations take `&cx`.
//!
//! Tokio's shapes (`tokio::sync::Mutex` → [`Mutex`], `lock().await` →
//! `lock(&cx).await?`), with one difference that matters: every wait is a
//! cancellation point. When the task is cancelled, a waiting `lock`, `acquire`,
//! `notified`, `wait` or `get_or_init` returns `Err(Cancelled)` promptly and leaves
//! the primitive as if it had never asked: it holds nothing, and a wake-up it had been
//! handed is passed on to the next waiter. The capacity-based primitives share one
//! FIFO hand-off queue (see `sem.rs`) so that these rules are proven once.

pub(crate) mod atomic_waker;
mod barrier;
pub(crate) mod cell;
mod holders;
mod mapped;
mod mutex;
mod notify;
mod once_cell;
mod rwlock;
pub(crate) mod sem;
mod semaphore;
mod set_once;
pub(crate) mod wake_list;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mapped::{
    MappedMutexGuard, OwnedMappedMutexGuard, OwnedRwLockMappedWriteGuard, RwLockMappedWriteGuard,
};
pub use mutex::{Lock, Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};

/// The named futures, under Tokio's path (`sync::futures::Notified`).
pub mod futures {
    pub use super::notify::Notified;
}
