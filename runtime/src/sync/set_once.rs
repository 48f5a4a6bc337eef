use std::fmt;
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Waker};

use slab::Slab;

use crate::cancel::Cancelled;
use crate::cx::Cx;

/// A value set once by anyone, awaited by many: `set(v)` never waits, `wait(&cx)`
/// waits until a value is there (cancel-aware).
pub struct SetOnce<T> {
    value: OnceLock<T>,
    waiters: Mutex<Slab<Option<Waker>>>,
}

/// Why [`SetOnce::set`] failed: a value was already set. The value comes back.
#[derive(Clone, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Debug for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError(..)")
    }
}

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value is already set")
    }
}

impl<T> std::error::Error for SetOnceError<T> {}

impl<T> Default for SetOnce<T> {
    fn default() -> Self {
        SetOnce::new()
    }
}

impl<T> SetOnce<T> {
    /// An empty `SetOnce`.
    pub fn new() -> SetOnce<T> {
        SetOnce {
            value: OnceLock::new(),
            waiters: Mutex::new(Slab::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slab<Option<Waker>>> {
        crate::task::core::lock(&self.waiters)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Sets the value and wakes every waiter; `Err` if it was already set.
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        self.value.set(value).map_err(SetOnceError)?;
        // Waiters check the value under this lock, so none can miss the wake-up.
        let wakers: Vec<Waker> = self
            .lock()
            .iter_mut()
            .filter_map(|(_, w)| w.take())
            .collect();
        wakers.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Waits until the value is set.
    pub async fn wait(&self, cx: &Cx) -> Result<&T, Cancelled> {
        let mut key: Option<usize> = None;
        let result = poll_fn(|task| {
            let mut waiters = self.lock();
            if let Some(v) = self.value.get() {
                return Poll::Ready(Ok(v));
            }
            if let Err(c) = cx.checkpoint() {
                return Poll::Ready(Err(c));
            }
            match key {
                Some(k) => waiters[k] = Some(task.waker().clone()),
                None => key = Some(waiters.insert(Some(task.waker().clone()))),
            }
            Poll::Pending
        })
        .await;
        if let Some(k) = key {
            self.lock().remove(k);
        }
        result
    }

    /// The value, consuming the `SetOnce`.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SetOnce").field(&self.value.get()).finish()
    }
}
