//! The FIFO wait queue under every primitive that hands out capacity: the
//! [`Semaphore`](super::Semaphore), [`Mutex`](super::Mutex) (one permit),
//! [`RwLock`](super::RwLock) (a reader takes one permit, a writer all of them),
//! [`OnceCell`](super::OnceCell)'s initialiser lock and the bounded mpsc channel's
//! slots.
//!
//! Why one design serves them all, and why it is cancel-safe by construction:
//!
//! - **Direct hand-off.** Releasing capacity does not just wake a waiter and hope it
//!   wins the race: it *grants* the capacity to the waiter at the head of the queue
//!   (marks it granted, then wakes it). So the queue is strictly FIFO (fair; and for
//!   the RwLock write-preferring, since a queued writer blocks later readers), and no
//!   wake-up can be lost between "woken" and "acquired".
//! - **Undo on cancel.** A waiting future checks its `Cx` first on every poll. If it
//!   was cancelled (or is dropped) it leaves the queue; if it had already been granted
//!   capacity it gives it straight back, which grants it to the next waiter. If it was
//!   the head of the queue, the waiters behind it are re-examined (a large request at
//!   the head may have been holding back smaller ones that now fit). So a cancelled
//!   acquire holds nothing and swallows no wake-up.
//! - **A mutex-protected list**, not a lock-free one: every transition happens under
//!   one `std::sync::Mutex` that never runs user code, which keeps the invariants easy
//!   to check; wakers are called after the lock is released.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::cancel::Cancelled;
use crate::cx::Cx;

pub(crate) struct SemCore {
    state: Mutex<SemState>,
}

struct SemState {
    permits: usize,
    closed: bool,
    waiters: Slab<Waiter>,
    queue: VecDeque<usize>,
}

struct Waiter {
    needed: usize,
    waker: Option<Waker>,
    granted: bool,
}

/// Why an acquire failed.
#[derive(Debug, Clone)]
pub(crate) enum AcquireFailed {
    Closed,
    Cancelled(Cancelled),
}

/// Why a non-waiting acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireFailed {
    Closed,
    NoPermits,
}

impl SemCore {
    pub(crate) fn new(permits: usize) -> SemCore {
        SemCore {
            state: Mutex::new(SemState {
                permits,
                closed: false,
                waiters: Slab::new(),
                queue: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SemState> {
        crate::task::core::lock(&self.state)
    }

    pub(crate) fn available(&self) -> usize {
        self.lock().permits
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Takes `n` permits now if nobody is queued ahead and enough are free.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireFailed> {
        let mut state = self.lock();
        if state.closed {
            Err(TryAcquireFailed::Closed)
        } else if state.queue.is_empty() && state.permits >= n {
            state.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireFailed::NoPermits)
        }
    }

    /// Gives `n` permits back (or adds new ones), granting them to queued waiters in
    /// order.
    pub(crate) fn release(&self, n: usize) {
        let mut state = self.lock();
        state.permits += n;
        let wakers = grant(&mut state);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Refuses every future acquire; queued waiters that were not granted fail with
    /// `Closed`. Permits already held stay valid.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let wakers: Vec<Waker> = state
            .waiters
            .iter_mut()
            .filter(|(_, w)| !w.granted)
            .filter_map(|(_, w)| w.waker.take())
            .collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// One poll of an acquire of `n` permits. `key` is the waiter's place in the queue
    /// (kept by the caller between polls; `None` before the first). Cancellation is
    /// checked first: a cancelled acquire leaves the queue and holds nothing.
    pub(crate) fn poll_acquire(
        &self,
        cx: &Cx,
        key: &mut Option<usize>,
        n: usize,
        task: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireFailed>> {
        if let Err(cancelled) = cx.checkpoint() {
            if let Some(k) = key.take() {
                self.leave(k);
            }
            return Poll::Ready(Err(AcquireFailed::Cancelled(cancelled)));
        }
        let mut state = self.lock();
        match *key {
            Some(k) => {
                if state.waiters[k].granted {
                    state.waiters.remove(k);
                    *key = None;
                    return Poll::Ready(Ok(()));
                }
                if state.closed {
                    remove_waiter(&mut state, k);
                    *key = None;
                    return Poll::Ready(Err(AcquireFailed::Closed));
                }
                match &mut state.waiters[k].waker {
                    Some(w) if w.will_wake(task.waker()) => {}
                    slot => *slot = Some(task.waker().clone()),
                }
                Poll::Pending
            }
            None => {
                if state.closed {
                    return Poll::Ready(Err(AcquireFailed::Closed));
                }
                if state.queue.is_empty() && state.permits >= n {
                    state.permits -= n;
                    return Poll::Ready(Ok(()));
                }
                let k = state.waiters.insert(Waiter {
                    needed: n,
                    waker: Some(task.waker().clone()),
                    granted: false,
                });
                state.queue.push_back(k);
                *key = Some(k);
                Poll::Pending
            }
        }
    }

    /// A waiter gives up (cancelled, or its future dropped): it leaves the queue, and
    /// capacity it was granted but never returned goes to the next waiter.
    pub(crate) fn leave(&self, key: usize) {
        let mut state = self.lock();
        let waiter = state.waiters.remove(key);
        let wakers = if waiter.granted {
            state.permits += waiter.needed;
            grant(&mut state)
        } else {
            let was_head = state.queue.front() == Some(&key);
            state.queue.retain(|&k| k != key);
            if was_head {
                grant(&mut state)
            } else {
                Vec::new()
            }
        };
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// Grants free permits to the head of the queue, in order, until the head needs more
/// than is free. Returns the wakers to call once the lock is released.
fn grant(state: &mut SemState) -> Vec<Waker> {
    let mut wakers = Vec::new();
    while let Some(&head) = state.queue.front() {
        let needed = state.waiters[head].needed;
        if needed > state.permits {
            break;
        }
        state.permits -= needed;
        state.queue.pop_front();
        let waiter = &mut state.waiters[head];
        waiter.granted = true;
        if let Some(w) = waiter.waker.take() {
            wakers.push(w);
        }
    }
    wakers
}

fn remove_waiter(state: &mut SemState, key: usize) {
    state.waiters.remove(key);
    state.queue.retain(|&k| k != key);
}

impl fmt::Debug for SemCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SemCore")
            .field("permits", &state.permits)
            .field("closed", &state.closed)
            .field("waiters", &state.queue.len())
            .finish()
    }
}

/// The future of one acquire, shared by every primitive built on [`SemCore`]: it
/// remembers its place in the queue and leaves it when dropped.
pub(crate) struct AcquireCore<'a> {
    pub(crate) sem: &'a SemCore,
    pub(crate) cx: &'a Cx,
    pub(crate) n: usize,
    key: Option<usize>,
}

impl<'a> AcquireCore<'a> {
    pub(crate) fn new(sem: &'a SemCore, cx: &'a Cx, n: usize) -> Self {
        AcquireCore {
            sem,
            cx,
            n,
            key: None,
        }
    }

    pub(crate) fn poll(&mut self, task: &mut Context<'_>) -> Poll<Result<(), AcquireFailed>> {
        self.sem.poll_acquire(self.cx, &mut self.key, self.n, task)
    }
}

impl Drop for AcquireCore<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.sem.leave(k);
        }
    }
}

impl fmt::Debug for AcquireCore<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("n", &self.n)
            .field("queued", &self.key.is_some())
            .finish()
    }
}

impl AcquireCore<'_> {
    /// Waits for the acquire to finish (for `async fn`s built on it).
    pub(crate) async fn await_acquire(mut self) -> Result<(), AcquireFailed> {
        std::future::poll_fn(|task| self.poll(task)).await
    }
}
