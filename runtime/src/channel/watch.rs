//! A channel holding one value that receivers watch for changes.
//!
//! The sender replaces or modifies the value; each receiver remembers which version it
//! has seen, and `changed(&cx)` waits until there is a newer one. Intermediate values
//! may be skipped (a receiver only ever sees the latest). `changed` is cancel-safe: a
//! cancelled wait does not mark anything seen.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::task::{Poll, Waker};

use slab::Slab;

use crate::cancel::Cancelled;
use crate::cx::Cx;

/// The error types, under Tokio's path (`watch::error::SendError`).
pub mod error {
    pub use super::{RecvError, SendError};
}

/// Why a watch `send` failed: no receiver exists. The value comes back.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no receivers")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why `changed` returned without a new version.
#[derive(Debug, Clone)]
pub enum RecvError {
    /// The sender is gone (no new version can come).
    Closed,
    /// The task was cancelled while it waited; nothing was marked seen.
    Cancelled(Cancelled),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("watch sender dropped"),
            RecvError::Cancelled(c) => write!(f, "wait cancelled: {c}"),
        }
    }
}

impl std::error::Error for RecvError {}

struct Shared<T> {
    value: RwLock<T>,
    state: Mutex<State>,
}

struct State {
    version: u64,
    sender_alive: bool,
    receivers: usize,
    waiters: Slab<Option<Waker>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::task::core::lock(&self.state)
    }

    fn read(&self) -> RwLockReadGuard<'_, T> {
        // The value lock only ever runs `send_modify`'s closure; a panic there leaves
        // whatever it wrote, which is the value receivers then see.
        self.value.read().unwrap_or_else(|e| e.into_inner())
    }

    fn bump_and_wake(&self) {
        let mut state = self.lock();
        state.version += 1;
        let wakers: Vec<Waker> = state
            .waiters
            .iter_mut()
            .filter_map(|(_, w)| w.take())
            .collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// A watch channel holding `initial`, which receivers have already seen.
pub fn channel<T>(initial: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(initial),
        state: Mutex::new(State {
            version: 0,
            sender_alive: true,
            receivers: 1,
            waiters: Slab::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, seen: 0 },
    )
}

/// Publishes new values.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies receivers; `Err` (value back) if there are no
    /// receivers.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.lock().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value whether or not anyone receives, returning the old one.
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut slot = self.shared.value.write().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *slot, value)
        };
        self.shared.bump_and_wake();
        old
    }

    /// Modifies the value in place and notifies receivers.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        {
            let mut slot = self.shared.value.write().unwrap_or_else(|e| e.into_inner());
            modify(&mut slot);
        }
        self.shared.bump_and_wake();
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: state.version,
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// `true` if every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_alive = false;
        let wakers: Vec<Waker> = state
            .waiters
            .iter_mut()
            .filter_map(|(_, w)| w.take())
            .collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &*self.borrow())
            .finish()
    }
}

/// Watches the value.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

impl<T> Receiver<T> {
    /// The current value (does not mark it seen).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.seen = self.shared.lock().version;
        Ref {
            guard: self.shared.read(),
        }
    }

    /// `true` if there is a version this receiver has not seen.
    pub fn has_changed(&self) -> bool {
        self.shared.lock().version != self.seen
    }

    /// Waits for a version newer than the last one seen, and marks it seen.
    /// `Err(RecvError::Closed)` once the sender is gone (and nothing new is left).
    pub async fn changed(&mut self, cx: &Cx) -> Result<(), RecvError> {
        let shared = self.shared.clone();
        let mut key: Option<usize> = None;
        let mut cleanup = WaiterCleanup {
            shared: &shared,
            key: None,
        };
        let seen = &mut self.seen;
        std::future::poll_fn(|task| {
            let mut state = shared.lock();
            if let Err(c) = cx.checkpoint() {
                return Poll::Ready(Err(RecvError::Cancelled(c)));
            }
            if state.version != *seen {
                *seen = state.version;
                return Poll::Ready(Ok(()));
            }
            if !state.sender_alive {
                return Poll::Ready(Err(RecvError::Closed));
            }
            match key {
                Some(k) => state.waiters[k] = Some(task.waker().clone()),
                None => key = Some(state.waiters.insert(Some(task.waker().clone()))),
            }
            cleanup.key = key;
            Poll::Pending
        })
        .await
    }
}

/// Removes a `changed` waiter's entry however the wait ends.
struct WaiterCleanup<'a, T> {
    shared: &'a Shared<T>,
    key: Option<usize>,
}

impl<T> Drop for WaiterCleanup<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.shared.lock().waiters.remove(k);
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.lock().receivers -= 1;
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &*self.borrow())
            .finish()
    }
}

/// A read borrow of the watched value. Do not hold it across an `.await`: the sender
/// cannot publish while it lives.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
