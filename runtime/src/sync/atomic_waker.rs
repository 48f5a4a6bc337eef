//! One waker slot that a waiting side fills and any thread may wake, without a lock
//! (the protocol of `futures`' and Tokio's `AtomicWaker`).
//!
//! Used where exactly one party waits and many notify: the receiver of an
//! [`mpsc`](crate::channel::mpsc) channel. The usual pattern is *register, then
//! re-check the condition*: a notifier that changes the condition and then calls
//! [`wake`](AtomicWaker::wake) either finds the registered waker, or made its change
//! before the registration and so is seen by the re-check.
//!
//! The state word is a tiny lock on the cell, taken without ever blocking:
//!
//! - `REGISTERING`: the waiting side is writing the cell. A `wake` that lands meanwhile
//!   only sets `WAKING`; the registration sees it when it releases the cell and wakes
//!   the new waker itself.
//! - `WAKING`: a notifier is taking the waker out of the cell. A registration that
//!   finds it wakes its own waker at once (the notification is for it).
//!
//! The interleavings are checked with loom
//! (`RUSTFLAGS="--cfg loom" cargo test -p asupersync --lib --release atomic_waker::loom`).

use std::fmt;
use std::task::Waker;

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

use super::cell::UnsafeCell;

const WAITING: usize = 0;
const REGISTERING: usize = 1;
const WAKING: usize = 2;

pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is only touched by the thread that moved the state from `WAITING`
// to `REGISTERING` or to `WAKING`, and only until it moves it back (module docs), so
// one thread at a time; wakers are `Send + Sync`.
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl Default for AtomicWaker {
    fn default() -> AtomicWaker {
        AtomicWaker::new()
    }
}

impl AtomicWaker {
    pub(crate) fn new() -> AtomicWaker {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Makes `waker` the one the next [`wake`](AtomicWaker::wake) calls. Only one
    /// thread registers at a time (the owner of the waiting side).
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Ordering::Acquire, Ordering::Acquire)
            .unwrap_or_else(|actual| actual)
        {
            WAITING => {
                // SAFETY: this thread moved the state to `REGISTERING`: the cell is
                // ours until we move it back.
                let replaced = self.waker.with_mut(|cell| unsafe {
                    match &*cell {
                        Some(current) if current.will_wake(waker) => None,
                        _ => (*cell).replace(waker.clone()),
                    }
                });
                if let Err(actual) = self.state.compare_exchange(
                    REGISTERING,
                    WAITING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    // A wake landed while we wrote the cell; it could not take the
                    // waker, so it is ours to call.
                    debug_assert_eq!(actual, REGISTERING | WAKING);
                    // SAFETY: still `REGISTERING` (with `WAKING`): a notifier that set
                    // `WAKING` over `REGISTERING` leaves the cell alone.
                    let woken = self.waker.with_mut(|cell| unsafe { (*cell).take() });
                    self.state.swap(WAITING, Ordering::AcqRel);
                    drop(replaced);
                    if let Some(woken) = woken {
                        woken.wake();
                    }
                } else {
                    drop(replaced);
                }
            }
            WAKING => {
                // A notifier is taking the previous waker out right now: its
                // notification is for this registration too.
                waker.wake_by_ref();
            }
            state => {
                // Two threads registering at once: not how this type is used.
                debug_assert!(false, "concurrent registration (state {state})");
            }
        }
    }

    /// Wakes the registered waker, if any, and empties the slot.
    pub(crate) fn wake(&self) {
        if let Some(waker) = self.take() {
            waker.wake();
        }
    }

    /// Drops the registered waker (the waiting side is going away), unless a wake is
    /// taking it right now.
    pub(crate) fn clear(&self) {
        if self
            .state
            .compare_exchange(WAITING, REGISTERING, Ordering::Acquire, Ordering::Acquire)
            .is_ok()
        {
            // SAFETY: this thread moved the state to `REGISTERING`: the cell is ours.
            let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
            // A wake that set `WAKING` meanwhile left the cell to us; nobody waits.
            self.state.swap(WAITING, Ordering::AcqRel);
            drop(waker);
        }
    }

    /// Takes the registered waker out, if any (a registration in progress or another
    /// notifier taking it sees the notification instead).
    pub(crate) fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, Ordering::AcqRel) {
            WAITING => {
                // SAFETY: this thread moved the state from `WAITING` to `WAKING`: the
                // cell is ours until we clear the bit.
                let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
                self.state.fetch_and(!WAKING, Ordering::Release);
                waker
            }
            // `REGISTERING`: the registration will see `WAKING` and wake itself.
            // `WAKING` (with or without `REGISTERING`): someone else is taking it.
            _ => None,
        }
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicWaker")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_support::CountingWake;
    use std::sync::Arc;

    #[test]
    fn a_wake_calls_the_registered_waker_once() {
        let count = Arc::new(CountingWake::default());
        let slot = AtomicWaker::new();
        slot.wake();
        slot.register(&Waker::from(count.clone()));
        slot.wake();
        slot.wake();
        assert_eq!(count.count(), 1);
        slot.register(&Waker::from(count.clone()));
        assert_eq!(Arc::strong_count(&count), 2, "the slot holds the waker");
        slot.clear();
        assert_eq!(Arc::strong_count(&count), 1, "cleared");
        slot.wake();
        assert_eq!(count.count(), 1);
    }

    #[test]
    fn registering_again_replaces_the_waker() {
        let (first, second) = (
            Arc::new(CountingWake::default()),
            Arc::new(CountingWake::default()),
        );
        let slot = AtomicWaker::new();
        slot.register(&Waker::from(first.clone()));
        slot.register(&Waker::from(second.clone()));
        slot.wake();
        assert_eq!(first.count(), 0);
        assert_eq!(second.count(), 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::test_support::CountingWake;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    /// The register-then-check pattern loses no notification: a notifier sets a
    /// flag and wakes while the waiter registers and re-checks the flag; either the
    /// re-check sees the flag or the waiter's waker is called.
    #[test]
    fn loom_register_then_check_loses_no_wake() {
        loom::model(|| {
            let slot = Arc::new(AtomicWaker::new());
            let ready = Arc::new(AtomicBool::new(false));
            let notifier = {
                let (slot, ready) = (slot.clone(), ready.clone());
                loom::thread::spawn(move || {
                    ready.store(true, Ordering::Release);
                    slot.wake();
                })
            };
            let count = std::sync::Arc::new(CountingWake::default());
            slot.register(&Waker::from(count.clone()));
            let seen = ready.load(Ordering::Acquire);
            notifier.join().unwrap();
            let woken = count.count();
            assert!(seen || woken == 1, "the notification was lost");
            assert!(woken <= 1);
        });
    }

    /// Two notifiers against a re-registration: the waker is called at most once per
    /// registration and the notification is not lost.
    #[test]
    fn loom_two_notifiers_and_a_reregistration() {
        loom::model(|| {
            let slot = Arc::new(AtomicWaker::new());
            let ready = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let first = std::sync::Arc::new(CountingWake::default());
            slot.register(&Waker::from(first.clone()));
            let notifiers: Vec<_> = (0..2)
                .map(|_| {
                    let (slot, ready) = (slot.clone(), ready.clone());
                    loom::thread::spawn(move || {
                        ready.fetch_add(1, Ordering::Release);
                        slot.wake();
                    })
                })
                .collect();
            let second = std::sync::Arc::new(CountingWake::default());
            slot.register(&Waker::from(second.clone()));
            let seen = ready.load(Ordering::Acquire);
            for n in notifiers {
                n.join().unwrap();
            }
            let woken = first.count() + second.count();
            assert!(seen == 2 || woken >= 1, "a notification was lost");
            assert!(first.count() <= 1);
        });
    }
}
