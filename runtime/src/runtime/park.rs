//! Parking a scheduler thread until there is work, a timer is due or IO is ready.
//!
//! A token protocol (the one `std::thread::park` uses): an `unpark` that finds the
//! thread awake just leaves a token, and the next `park` consumes it and returns at
//! once, so a wake-up racing with the decision to sleep is never lost. The state is an
//! atomic, so an `unpark` of a thread that is not asleep (the common case: the
//! `block_on` thread woken by every task that completes while it is busy) costs one
//! atomic swap.
//!
//! A thread sleeps in one of two places, and the state records which, so that
//! `unpark` knows how to reach it:
//!
//! - on the parker's **condvar** ([`park`](Parker::park)): waking it takes the mutex
//!   and a notify;
//! - in the runtime's **[`Driver`]** ([`park_driving`](Parker::park_driving)): the IO
//!   reactor's `epoll_wait`, which also returns when a socket becomes ready, so the
//!   thread that sleeps there collects the readiness of every connection in one
//!   system call and runs the woken tasks itself (Tokio's model). Waking it goes
//!   through the driver's own wake-up (a `mio::Waker`). At most one thread of a
//!   runtime sleeps in the driver at a time; the schedulers make sure of that (the
//!   multi-thread workers through a try-taken driver token).

use crate::loom::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Condvar, Mutex, MutexGuard,
};
use std::sync::Arc;
use std::time::Duration;

/// Something a thread can block in that wakes up on its own events as well as on
/// [`wake`](Driver::wake): the IO reactor ([`IoDriver`](crate::reactor::IoDriver)).
pub(crate) trait Driver: Send + Sync {
    /// Blocks for at most `timeout` (`None`: until woken) and collects whatever events
    /// arrive. May return early. Only one thread calls it at a time.
    fn park(&self, timeout: Option<Duration>);

    /// Acts on the events the last `park` collected (wakes their tasks). Called once
    /// the thread counts as awake again, so that what it wakes does not try to wake
    /// this very thread through the driver.
    fn dispatch(&self);

    /// Makes a `park` in progress, or the next one, return promptly. Callable from
    /// any thread.
    fn wake(&self);
}

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
    /// Where [`park_driving`](Parker::park_driving) sleeps; `None` for parkers that
    /// only ever use the condvar (the lab, a multi-thread `block_on` thread).
    driver: Option<Arc<dyn Driver>>,
}

impl std::fmt::Debug for Parker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parker")
            .field("state", &self.state)
            .field("has_driver", &self.driver.is_some())
            .finish()
    }
}

impl Default for Parker {
    fn default() -> Parker {
        Parker::new(None)
    }
}

impl Parker {
    /// A parker that sleeps in `driver` when asked to drive.
    pub(crate) fn new(driver: Option<Arc<dyn Driver>>) -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
            driver,
        }
    }

    /// Consumes a waiting token, or announces the sleep in `parked_state`; `false`
    /// when a token was there (the caller returns without sleeping).
    fn begin_sleep(&self, parked_state: usize) -> bool {
        match self
            .state
            .compare_exchange(EMPTY, parked_state, SeqCst, SeqCst)
        {
            Ok(_) => true,
            Err(actual) => {
                debug_assert_eq!(actual, NOTIFIED, "one thread parks a parker at a time");
                self.state.store(EMPTY, SeqCst);
                false
            }
        }
    }

    /// Sleeps in the driver (handling IO events meanwhile) until
    /// [`unpark`](Parker::unpark), `timeout` or an event; on the condvar if this
    /// parker has no driver. The caller must be the only thread driving.
    pub(crate) fn park_driving(&self, timeout: Option<Duration>) {
        let Some(driver) = &self.driver else {
            return self.park(timeout);
        };
        if !self.begin_sleep(PARKED_DRIVER) {
            return;
        }
        // An unpark from here on sees PARKED_DRIVER and wakes the driver, which then
        // returns at once even if the wake-up lands before it blocks.
        driver.park(timeout);
        // Woken, timed out, IO events or spurious: awake now, any token consumed.
        self.state.swap(EMPTY, SeqCst);
        driver.dispatch();
    }

    /// Sleeps on the condvar until [`unpark`](Parker::unpark) or `timeout`; returns at
    /// once if an unpark arrived since the last park. May also return spuriously
    /// (callers re-check their condition).
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        // Fast path: a token is waiting.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let guard = self.lock();
        if !self.begin_sleep(PARKED_CONDVAR) {
            // The token arrived while taking the lock.
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
        match self.state.swap(NOTIFIED, SeqCst) {
            PARKED_CONDVAR => {
                // The sleeper holds the lock between its PARKED check and its wait:
                // taking it here makes sure the notification cannot fall into that gap.
                drop(self.lock());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => {
                if let Some(driver) = &self.driver {
                    driver.wake();
                }
            }
            // Awake (or already notified): the token is enough.
            _ => {}
        }
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

    /// A driver that blocks on a std condvar and counts its parks.
    #[derive(Default)]
    struct CountingDriver {
        woken: std::sync::Mutex<bool>,
        condvar: std::sync::Condvar,
        parks: std::sync::atomic::AtomicUsize,
    }

    impl Driver for CountingDriver {
        fn park(&self, timeout: Option<Duration>) {
            self.parks.fetch_add(1, SeqCst);
            let woken = self.woken.lock().unwrap();
            let mut woken = match timeout {
                None => self.condvar.wait_while(woken, |w| !*w).unwrap(),
                Some(t) => {
                    self.condvar
                        .wait_timeout_while(woken, t, |w| !*w)
                        .unwrap()
                        .0
                }
            };
            *woken = false;
        }

        fn dispatch(&self) {}

        fn wake(&self) {
            *self.woken.lock().unwrap() = true;
            self.condvar.notify_one();
        }
    }

    #[test]
    fn unpark_reaches_a_thread_sleeping_in_the_driver() {
        let driver = Arc::new(CountingDriver::default());
        let parker = Arc::new(Parker::new(Some(driver.clone())));
        let p = parker.clone();
        let sleeper = std::thread::spawn(move || p.park_driving(None));
        while parker.state.load(SeqCst) != PARKED_DRIVER {
            std::thread::yield_now();
        }
        parker.unpark();
        sleeper.join().unwrap();
        assert_eq!(driver.parks.load(SeqCst), 1);
        assert_eq!(parker.state.load(SeqCst), EMPTY, "the token was consumed");
    }

    #[test]
    fn a_token_skips_the_driver_and_a_driverless_parker_uses_the_condvar() {
        let driver = Arc::new(CountingDriver::default());
        let parker = Parker::new(Some(driver.clone()));
        parker.unpark();
        parker.park_driving(None);
        assert_eq!(driver.parks.load(SeqCst), 0, "the token was enough");
        parker.park_driving(Some(Duration::from_millis(5)));
        assert_eq!(driver.parks.load(SeqCst), 1, "timed out in the driver");

        let plain = Parker::default();
        let started = Instant::now();
        plain.park_driving(Some(Duration::from_millis(20)));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::loom_model_driver::ModelDriver;
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

    /// An unpark racing with a park in the driver always reaches it: either it leaves
    /// the token before the sleep is announced, or it sees PARKED_DRIVER and wakes the
    /// driver (loom reports a deadlock if the thread could sleep forever).
    #[test]
    fn loom_unpark_reaches_a_thread_parking_in_the_driver() {
        loom::model(|| {
            let parker = Arc::new(Parker::new(Some(std::sync::Arc::new(
                ModelDriver::default(),
            ))));
            let p = parker.clone();
            let unparker = loom::thread::spawn(move || p.unpark());
            parker.park_driving(None);
            unparker.join().unwrap();
        });
    }

    /// A timed park, on the condvar or in the driver (loom models the timeout as a
    /// spurious return), returns and leaves no parked state behind: alone it leaves the
    /// parker empty, so a later unpark is a plain token and not a wake-up of a sleeper
    /// that is gone; racing an unpark it returns whatever the unpark does, and the token
    /// is consumed by the park or still there for the next park to return on at once
    /// (loom reports a deadlock otherwise).
    #[test]
    fn loom_a_timed_park_returns_and_leaves_no_parked_state() {
        for in_driver in [false, true] {
            loom::model(move || {
                let parker = Arc::new(if in_driver {
                    Parker::new(Some(std::sync::Arc::new(ModelDriver::default())))
                } else {
                    Parker::default()
                });
                let timed_park = |parker: &Parker| {
                    if in_driver {
                        parker.park_driving(Some(Duration::from_millis(1)));
                    } else {
                        parker.park(Some(Duration::from_millis(1)));
                    }
                };
                timed_park(&parker);
                assert_eq!(parker.state.load(SeqCst), EMPTY, "a parked state was left");

                let p = parker.clone();
                let unparker = loom::thread::spawn(move || p.unpark());
                timed_park(&parker);
                unparker.join().unwrap();
                let state = parker.state.load(SeqCst);
                assert!(state == EMPTY || state == NOTIFIED, "left in state {state}");
                if state == NOTIFIED {
                    parker.park(None);
                }
            });
        }
    }
}

/// The reactor as loom sees it, for the models here and in the schedulers.
#[cfg(all(test, loom))]
pub(crate) mod loom_model_driver {
    use super::*;

    /// A driver modelled with a loom condvar: like an eventfd, a wake-up that lands
    /// before the park is kept and makes the park return at once.
    #[derive(Default)]
    pub(crate) struct ModelDriver {
        woken: Mutex<bool>,
        condvar: Condvar,
    }

    impl Driver for ModelDriver {
        fn park(&self, timeout: Option<Duration>) {
            let mut woken = self.woken.lock().unwrap();
            if timeout.is_none() {
                while !*woken {
                    woken = self.condvar.wait(woken).unwrap();
                }
            }
            *woken = false;
        }

        fn dispatch(&self) {}

        fn wake(&self) {
            *self.woken.lock().unwrap() = true;
            self.condvar.notify_one();
        }
    }
}
