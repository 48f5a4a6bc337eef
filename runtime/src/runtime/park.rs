//! Parking a scheduler thread until there is work or a timer is due.
//!
//! A token protocol (the one `std::thread::park` uses): an `unpark` that finds the
//! thread awake just leaves a token, and the next `park` consumes it and returns at
//! once, so a wake-up racing with the decision to sleep is never lost. The state is an
//! atomic, so an `unpark` of a thread that is not asleep (the common case: the
//! `block_on` thread woken by every task that completes while it is busy) costs one
//! atomic swap; only waking an actual sleeper takes the mutex and the condvar.

#[cfg(all(loom, test))]
use loom::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Condvar, Mutex, MutexGuard,
};
#[cfg(not(all(loom, test)))]
use std::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Condvar, Mutex, MutexGuard,
};
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl Default for Parker {
    fn default() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }
}

impl Parker {
    /// Sleeps until [`unpark`](Parker::unpark) or `timeout`; returns at once if an
    /// unpark arrived since the last park. May also return spuriously (callers
    /// re-check their condition).
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        // Fast path: a token is waiting.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let guard = self.lock();
        if let Err(actual) = self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            // The token arrived while taking the lock.
            debug_assert_eq!(actual, NOTIFIED);
            self.state.store(EMPTY, SeqCst);
            return;
        }
        match timeout {
            None => {
                let mut guard = guard;
                loop {
                    guard = self.condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                    if self
                        .state
                        .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                        .is_ok()
                    {
                        return;
                    }
                }
            }
            Some(timeout) => {
                let _guard = self.wait_timeout(guard, timeout);
                // Woken, timed out or spurious: either way the thread is awake now
                // and any token is consumed.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    pub(crate) fn unpark(&self) {
        if self.state.swap(NOTIFIED, SeqCst) != PARKED {
            // Awake (or already notified): the token is enough.
            return;
        }
        // The sleeper holds the lock between its PARKED check and its wait: taking it
        // here makes sure the notification cannot fall into that gap.
        drop(self.lock());
        self.condvar.notify_one();
    }

    #[cfg(not(all(loom, test)))]
    fn wait_timeout<'a>(&self, guard: MutexGuard<'a, ()>, timeout: Duration) -> MutexGuard<'a, ()> {
        self.condvar
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    #[cfg(all(loom, test))]
    fn wait_timeout<'a>(&self, guard: MutexGuard<'a, ()>, _: Duration) -> MutexGuard<'a, ()> {
        // Loom has no time: a timed wait is modelled as returning spuriously.
        guard
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn an_unpark_before_park_is_kept_as_a_token() {
        let parker = Parker::default();
        parker.unpark();
        parker.unpark();
        let started = Instant::now();
        parker.park(None);
        assert!(started.elapsed() < Duration::from_secs(5));
        // The two unparks left one token, now consumed.
        parker.park(Some(Duration::from_millis(20)));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn unpark_wakes_a_sleeper() {
        let parker = Arc::new(Parker::default());
        let p = parker.clone();
        let sleeper = std::thread::spawn(move || p.park(None));
        std::thread::sleep(Duration::from_millis(20));
        parker.unpark();
        sleeper.join().unwrap();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Whatever the interleaving, an unpark racing with a park wakes it (loom reports
    /// a deadlock if the parked thread could sleep forever).
    #[test]
    fn loom_unpark_is_never_lost() {
        loom::model(|| {
            let parker = Arc::new(Parker::default());
            let p = parker.clone();
            let unparker = loom::thread::spawn(move || p.unpark());
            parker.park(None);
            unparker.join().unwrap();
        });
    }

    /// A timed park that returns without the token leaves it for the next park.
    #[test]
    fn loom_a_token_survives_a_timed_out_park() {
        loom::model(|| {
            let parker = Arc::new(Parker::default());
            let p = parker.clone();
            let unparker = loom::thread::spawn(move || p.unpark());
            parker.park(Some(Duration::from_millis(1)));
            unparker.join().unwrap();
            // Either the timed park consumed the token, or it is still there; a plain
            // park after the unpark has happened must not hang unless it was consumed.
            if parker.state.load(SeqCst) == NOTIFIED {
                parker.park(None);
            }
        });
    }
}
