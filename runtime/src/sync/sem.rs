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
//! - **A mutex-protected list**, not a lock-free one: every queue transition happens
//!   under one `std::sync::Mutex` that never runs user code, which keeps the
//!   invariants easy to check; wakers are called after the lock is released.
//! - **An atomic fast path** for the uncontended case: the free permits live in one
//!   atomic word together with a `QUEUED` bit (set exactly while somebody waits) and a
//!   `CLOSED` bit. While `QUEUED` is clear, acquiring and releasing are a single
//!   compare-and-swap with no lock (an uncontended `Mutex::lock` is one CAS). While it
//!   is set, permits change only under the lock, so hand-off stays strictly FIFO. The
//!   two bits change only under the lock. The interleavings are checked with loom
//!   (`RUSTFLAGS="--cfg loom" cargo test -p asupersync --lib sem::loom`).

use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

use slab::Slab;

use super::wake_list::WakeList;
use crate::cancel::Cancelled;
use crate::cx::Cx;

pub(crate) struct SemCore {
    /// `permits << 2 | CLOSED | QUEUED`.
    word: AtomicUsize,
    state: Mutex<SemState>,
}

/// Set exactly while the queue is not empty; changed only under the lock.
const QUEUED: usize = 1;
/// Set once the semaphore is closed; changed only under the lock.
const CLOSED: usize = 2;
const SHIFT: u32 = 2;

fn permits_of(word: usize) -> usize {
    word >> SHIFT
}

struct SemState {
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
        assert!(
            permits <= usize::MAX >> SHIFT,
            "too many permits for one semaphore"
        );
        SemCore {
            word: AtomicUsize::new(permits << SHIFT),
            state: Mutex::new(SemState {
                waiters: Slab::new(),
                queue: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SemState> {
        // No user code runs under this lock, so it cannot be poisoned mid-update.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn available(&self) -> usize {
        permits_of(self.word.load(Ordering::Acquire))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.word.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits now if nobody is queued ahead and enough are free. Lock-free.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireFailed> {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if word & CLOSED != 0 {
                return Err(TryAcquireFailed::Closed);
            }
            if word & QUEUED != 0 || permits_of(word) < n {
                return Err(TryAcquireFailed::NoPermits);
            }
            match self.word.compare_exchange_weak(
                word,
                word - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Gives `n` permits back (or adds new ones), granting them to queued waiters in
    /// order. Lock-free while nobody waits.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut word = self.word.load(Ordering::Acquire);
        while word & QUEUED == 0 {
            match self.word.compare_exchange_weak(
                word,
                word + (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        let mut state = self.lock();
        self.word.fetch_add(n << SHIFT, Ordering::AcqRel);
        let wakers = self.grant(&mut state);
        drop(state);
        wakers.wake_all();
    }

    /// Refuses every future acquire; queued waiters that were not granted fail with
    /// `Closed`. Permits already held stay valid.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        self.word.fetch_or(CLOSED, Ordering::AcqRel);
        let mut wakers = WakeList::new();
        wakers.extend(
            state
                .waiters
                .iter_mut()
                .filter(|(_, w)| !w.granted)
                .filter_map(|(_, w)| w.waker.take()),
        );
        drop(state);
        wakers.wake_all();
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
        // Before acquiring: a spent turn budget yields holding nothing (a grant already
        // made to a queued waiter stays with it).
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        self.poll_acquire_uncancelled(key, n, task).map(|r| {
            r.map_err(|closed| match closed {
                Closed => AcquireFailed::Closed,
            })
        })
    }

    /// The queue part of [`poll_acquire`](SemCore::poll_acquire).
    fn poll_acquire_uncancelled(
        &self,
        key: &mut Option<usize>,
        n: usize,
        task: &mut Context<'_>,
    ) -> Poll<Result<(), Closed>> {
        if key.is_none() {
            match self.try_acquire(n) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireFailed::Closed) => return Poll::Ready(Err(Closed)),
                Err(TryAcquireFailed::NoPermits) => {}
            }
        }
        let mut state = self.lock();
        match *key {
            Some(k) => {
                if state.waiters[k].granted {
                    state.waiters.remove(k);
                    *key = None;
                    return Poll::Ready(Ok(()));
                }
                if self.is_closed() {
                    *key = None;
                    let wakers = self.dequeue(&mut state, k);
                    drop(state);
                    wakers.wake_all();
                    return Poll::Ready(Err(Closed));
                }
                match &mut state.waiters[k].waker {
                    Some(w) if w.will_wake(task.waker()) => {}
                    slot => *slot = Some(task.waker().clone()),
                }
                Poll::Pending
            }
            None => {
                // Under the lock the bits are stable, but while QUEUED is clear the
                // permits may still move: take them or raise QUEUED in one CAS.
                let mut word = self.word.load(Ordering::Acquire);
                loop {
                    if word & CLOSED != 0 {
                        return Poll::Ready(Err(Closed));
                    }
                    let (next, took) = if word & QUEUED == 0 && permits_of(word) >= n {
                        (word - (n << SHIFT), true)
                    } else {
                        (word | QUEUED, false)
                    };
                    match self.word.compare_exchange_weak(
                        word,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) if took => return Poll::Ready(Ok(())),
                        Ok(_) => break,
                        Err(actual) => word = actual,
                    }
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
        let wakers = if state.waiters[key].granted {
            let waiter = state.waiters.remove(key);
            self.word
                .fetch_add(waiter.needed << SHIFT, Ordering::AcqRel);
            self.grant(&mut state)
        } else {
            self.dequeue(&mut state, key)
        };
        drop(state);
        wakers.wake_all();
    }

    /// Removes a waiter that was not granted. If it was the head, the waiters behind
    /// it are re-examined (it may have been holding back smaller requests).
    fn dequeue(&self, state: &mut SemState, key: usize) -> WakeList {
        state.waiters.remove(key);
        let was_head = state.queue.front() == Some(&key);
        state.queue.retain(|&k| k != key);
        if was_head || state.queue.is_empty() {
            self.grant(state)
        } else {
            WakeList::new()
        }
    }

    /// Grants free permits to the head of the queue, in order, until the head needs
    /// more than is free; clears `QUEUED` once the queue is empty. Called under the
    /// lock. Returns the wakers to call once the lock is released.
    fn grant(&self, state: &mut SemState) -> WakeList {
        let mut wakers = WakeList::new();
        while let Some(&head) = state.queue.front() {
            let needed = state.waiters[head].needed;
            // QUEUED is set while the queue is not empty: nobody else moves permits.
            if needed > permits_of(self.word.load(Ordering::Acquire)) {
                break;
            }
            self.word.fetch_sub(needed << SHIFT, Ordering::AcqRel);
            state.queue.pop_front();
            let waiter = &mut state.waiters[head];
            waiter.granted = true;
            if let Some(w) = waiter.waker.take() {
                wakers.push(w);
            }
        }
        if state.queue.is_empty() {
            self.word.fetch_and(!QUEUED, Ordering::AcqRel);
        }
        wakers
    }
}

/// The semaphore was closed.
struct Closed;

impl fmt::Debug for SemCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(Ordering::Acquire);
        f.debug_struct("SemCore")
            .field("permits", &permits_of(word))
            .field("closed", &(word & CLOSED != 0))
            .field("waiting", &(word & QUEUED != 0))
            .finish()
    }
}

/// The future of one acquire, shared by every primitive built on [`SemCore`]: it
/// remembers its place in the queue and leaves it when dropped.
pub(crate) struct AcquireCore<'c> {
    pub(crate) sem: &'c SemCore,
    pub(crate) cx: &'c Cx,
    pub(crate) n: usize,
    key: Option<usize>,
}

impl<'a> AcquireCore<'a> {
    pub(crate) fn new(cx: &'a Cx, sem: &'a SemCore, n: usize) -> Self {
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

/// The interleavings of the fast path against the queue, shared by the loom models
/// and the real-thread stress test.
#[cfg(test)]
mod models {
    use super::*;
    use std::future::poll_fn;

    #[cfg(all(loom, test))]
    pub(super) use ::loom::{future::block_on, sync::Arc, thread};
    #[cfg(not(all(loom, test)))]
    pub(super) use std::{sync::Arc, thread};

    /// A minimal `block_on` for real threads: parks until woken.
    #[cfg(not(all(loom, test)))]
    pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
        let mut task = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(v) = future.as_mut().poll(&mut task) {
                return v;
            }
            std::thread::park();
        }
    }

    pub(super) fn acquire(sem: &SemCore, n: usize) -> bool {
        let mut key = None;
        block_on(poll_fn(|task| {
            sem.poll_acquire_uncancelled(&mut key, n, task)
        }))
        .is_ok()
    }

    /// Two threads contend for one permit: never both inside, and the permit and the
    /// QUEUED bit are back to rest at the end.
    pub(super) fn mutual_exclusion(rounds: usize) {
        let sem = Arc::new(SemCore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (sem.clone(), inside.clone());
                thread::spawn(move || {
                    for _ in 0..rounds {
                        assert!(acquire(&sem, 1));
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        sem.release(1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sem.word.load(Ordering::SeqCst), 1 << SHIFT);
    }

    /// A waiter that gives up (cancellation) while a permit is being released to it
    /// must pass the permit on: the other waiter still gets it.
    pub(super) fn cancelled_waiter_passes_the_permit_on() {
        let sem = Arc::new(SemCore::new(0));
        let quitter = {
            let sem = sem.clone();
            thread::spawn(move || {
                let mut key = None;
                let mut task = Context::from_waker(Waker::noop());
                match sem.poll_acquire_uncancelled(&mut key, 1, &mut task) {
                    Poll::Ready(_) => sem.release(1),
                    Poll::Pending => sem.leave(key.expect("queued")),
                }
            })
        };
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || {
                assert!(acquire(&sem, 1));
                sem.release(1);
            })
        };
        sem.release(1);
        quitter.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(sem.word.load(Ordering::SeqCst), 1 << SHIFT);
    }

    /// Closing wakes a waiter that raced to queue.
    pub(super) fn close_wakes_a_queued_waiter() {
        let sem = Arc::new(SemCore::new(0));
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || acquire(&sem, 1))
        };
        sem.close();
        assert!(!waiter.join().unwrap());
        assert_eq!(sem.word.load(Ordering::SeqCst) & QUEUED, 0);
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    #[test]
    fn mutual_exclusion() {
        ::loom::model(|| super::models::mutual_exclusion(1));
    }

    #[test]
    fn cancelled_waiter_passes_the_permit_on() {
        ::loom::model(super::models::cancelled_waiter_passes_the_permit_on);
    }

    #[test]
    fn close_wakes_a_queued_waiter() {
        ::loom::model(super::models::close_wakes_a_queued_waiter);
    }
}

#[cfg(all(test, not(loom)))]
mod stress {
    #[test]
    fn mutual_exclusion_on_real_threads() {
        super::models::mutual_exclusion(20_000);
    }

    #[test]
    fn cancelled_waiter_passes_the_permit_on_real_threads() {
        for _ in 0..2_000 {
            super::models::cancelled_waiter_passes_the_permit_on();
        }
    }

    #[test]
    fn close_wakes_a_queued_waiter_on_real_threads() {
        for _ in 0..2_000 {
            super::models::close_wakes_a_queued_waiter();
        }
    }
}
