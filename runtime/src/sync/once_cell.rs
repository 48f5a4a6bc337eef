use std::fmt;
use std::future::Future;
use std::sync::OnceLock;

use super::sem::{AcquireCore, AcquireFailed, SemCore};
use crate::cancel::Cancelled;
use crate::cx::Cx;

/// A cell written once, by the first initialiser to finish.
///
/// Initialisers run one at a time (the others wait, cancel-safely, behind a FIFO
/// lock). If the running initialiser is cancelled (its future dropped, or it returns
/// an error), the cell stays empty and the next waiter runs its own: a cancelled
/// initialiser never leaves the cell poisoned or locked.
pub struct OnceCell<T> {
    value: OnceLock<T>,
    init: SemCore,
}

/// Why [`OnceCell::set`] did not set the value; the value comes back.
#[derive(Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// An initialiser is running.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// The value that was not set.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitializedError(v) | SetError::InitializingError(v) => v,
        }
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError(..)"),
            SetError::InitializingError(_) => f.write_str("InitializingError(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell is already initialised"),
            SetError::InitializingError(_) => f.write_str("the cell is being initialised"),
        }
    }
}

impl<T> std::error::Error for SetError<T> {}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

/// Gives the initialiser lock back when the initialiser finishes or is dropped.
struct InitLock<'a>(&'a SemCore);

impl Drop for InitLock<'_> {
    fn drop(&mut self) {
        self.0.release(1);
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            init: SemCore::new(1),
        }
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// `true` once a value is set.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// Sets the value if the cell is empty and no initialiser is running; otherwise
    /// gives `value` back in the error.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.value.get().is_some() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        if self.init.try_acquire(1).is_err() {
            return Err(SetError::InitializingError(value));
        }
        let _lock = InitLock(&self.init);
        self.value
            .set(value)
            .map_err(SetError::AlreadyInitializedError)
    }

    /// The value, running `init` to produce it if the cell is empty. Waiting for
    /// another initialiser is cancel-aware (`Err(Cancelled)`).
    pub async fn get_or_init<F, Fut>(&self, cx: &Cx, init: F) -> Result<&T, Cancelled>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.get_or_try_init(cx, || async { Ok::<T, Cancelled>(init().await) })
            .await
    }

    /// Like [`get_or_init`](OnceCell::get_or_init) with a fallible initialiser: an
    /// `Err` leaves the cell empty for the next caller.
    pub async fn get_or_try_init<E, F, Fut>(&self, cx: &Cx, init: F) -> Result<&T, E>
    where
        E: From<Cancelled>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        AcquireCore::new(cx, &self.init, 1)
            .await_acquire()
            .await
            .map_err(|e| match e {
                AcquireFailed::Cancelled(c) => E::from(c),
                AcquireFailed::Closed => unreachable!("the init lock is never closed"),
            })?;
        let _lock = InitLock(&self.init);
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let value = init().await?;
        Ok(self.value.get_or_init(|| value))
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceCell").field(&self.value.get()).finish()
    }
}
