//! Which workers are parked and how many are searching for work: the bookkeeping that
//! keeps wake-ups to the minimum (the protocol is Tokio's).
//!
//! A worker with nothing to run first *searches* (steals from the others, looks at the
//! injector), then *parks*. New work needs a worker to notice it, but waking a sleeper
//! per spawn would be a storm of futile wake-ups, so:
//!
//! - a spawn wakes a sleeper only if **no worker is searching** (a searcher will find
//!   the work) and some worker is parked; the woken worker starts out searching, so the
//!   next spawns do not wake anyone else;
//! - a searcher that finds work stops searching, and if it was the **last** searcher it
//!   wakes the next sleeper, so the rest of the work (and whatever it spawns) is
//!   picked up in turn;
//! - the last searcher to park re-checks every queue after announcing it parks, so work
//!   pushed while it was giving up is not stranded (the pusher saw a searcher and
//!   relied on it).
//! - at most half of the workers search at once, so stealing does not thrash.
//!
//! The counts live in one atomic word, read (with one read-modify-write) without a
//! lock on the spawn path. The list
//! of sleepers is behind a mutex taken only to park, to wake a sleeper or to unpark
//! after a timeout: never on a spawn that finds a searcher or no sleeper.

use crate::loom::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Mutex, MutexGuard,
};

/// Low bits: searching workers; high bits: unparked workers.
const UNPARKED_SHIFT: u32 = 16;
const SEARCHING_MASK: usize = (1 << UNPARKED_SHIFT) - 1;
const ONE_UNPARKED: usize = 1 << UNPARKED_SHIFT;

/// The largest worker count the packed state can hold.
pub(crate) const MAX_WORKERS: usize = SEARCHING_MASK;

pub(super) struct Idle {
    state: AtomicUsize,
    num_workers: usize,
    sleepers: Mutex<Vec<usize>>,
}

fn searching(state: usize) -> usize {
    state & SEARCHING_MASK
}

fn unparked(state: usize) -> usize {
    state >> UNPARKED_SHIFT
}

impl Idle {
    /// All workers start unparked and not searching.
    pub(super) fn new(num_workers: usize) -> Idle {
        assert!(num_workers <= MAX_WORKERS);
        Idle {
            state: AtomicUsize::new(num_workers << UNPARKED_SHIFT),
            num_workers,
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    /// New work is available: the worker to wake, if one should be woken. The chosen
    /// worker is counted as unparked and searching from here on.
    pub(super) fn worker_to_notify(&self) -> Option<usize> {
        // Fast path, no lock: a searcher will find the work, or nobody sleeps.
        if !self.should_wake_one() {
            return None;
        }
        let mut sleepers = self.lock();
        if !self.should_wake_one() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(ONE_UNPARKED | 1, SeqCst);
        Some(worker)
    }

    fn should_wake_one(&self) -> bool {
        // A read-modify-write, not a load: it is ordered against the parking worker's
        // `fetch_sub` in the state's modification order, so either it sees that worker
        // gone (and wakes someone) or that worker's re-check sees the work pushed
        // before this call. A plain load allows the store-buffering outcome where
        // neither happens (the loom model finds it).
        let state = self.state.fetch_add(0, SeqCst);
        searching(state) == 0 && unparked(state) < self.num_workers
    }

    /// Tries to become a searcher; refused when half the workers already search.
    pub(super) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * searching(state) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work; `true` if it was the last searcher (it must then wake a
    /// sleeper to take over the search).
    pub(super) fn transition_worker_from_searching(&self) -> bool {
        let previous = self.state.fetch_sub(1, SeqCst);
        debug_assert!(searching(previous) > 0);
        searching(previous) == 1
    }

    /// `worker` parks; `true` if it was the last searcher (it must then re-check the
    /// queues before sleeping).
    pub(super) fn transition_worker_to_parked(&self, worker: usize, was_searching: bool) -> bool {
        let mut sleepers = self.lock();
        let previous = self
            .state
            .fetch_sub(ONE_UNPARKED | usize::from(was_searching), SeqCst);
        sleepers.push(worker);
        was_searching && searching(previous) == 1
    }

    /// `worker` woke up. `true` if a notifier woke it (it is then counted as
    /// searching); `false` if it woke by itself (a timeout, a timer, shutdown): it is
    /// then taken off the sleepers and counted as unparked, not searching.
    pub(super) fn transition_worker_from_parked(&self, worker: usize) -> bool {
        let mut sleepers = self.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(at) => {
                sleepers.swap_remove(at);
                self.state.fetch_add(ONE_UNPARKED, SeqCst);
                false
            }
            None => true,
        }
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let state = self.state.load(SeqCst);
        (searching(state), unparked(state))
    }

    fn lock(&self) -> MutexGuard<'_, Vec<usize>> {
        // No user code runs under this lock.
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_spawn_wakes_one_sleeper_and_the_next_sees_a_searcher() {
        let idle = Idle::new(3);
        assert!(!idle.transition_worker_to_parked(0, false));
        assert!(!idle.transition_worker_to_parked(1, false));
        assert_eq!(idle.counts(), (0, 1));
        let woken = idle.worker_to_notify().expect("a sleeper is woken");
        assert_eq!(idle.counts(), (1, 2));
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "a searcher will find the work"
        );
        assert!(idle.transition_worker_from_parked(woken), "it was notified");
        assert!(
            idle.transition_worker_from_searching(),
            "it was the last searcher"
        );
        let other = idle
            .worker_to_notify()
            .expect("the last searcher hands over");
        assert_ne!(other, woken);
        assert_eq!(idle.counts(), (1, 3));
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
    }

    #[test]
    fn a_worker_that_wakes_by_itself_takes_itself_off_the_sleepers() {
        let idle = Idle::new(2);
        idle.transition_worker_to_parked(1, false);
        assert!(!idle.transition_worker_from_parked(1));
        assert_eq!(idle.counts(), (0, 2));
        assert_eq!(idle.worker_to_notify(), None);
    }

    #[test]
    fn at_most_half_the_workers_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_parked(0, true));
        assert!(
            idle.transition_worker_to_parked(1, true),
            "the last searcher parks"
        );
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    /// The lost-wake-up race: a spawn pushes work while the only searcher gives up and
    /// parks. Either the parking worker sees the work on its re-check, or someone wakes
    /// it; the work is never stranded with every worker asleep.
    #[test]
    fn loom_work_pushed_while_the_last_searcher_parks_is_not_lost() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let work = Arc::new(AtomicBool::new(false));
            let woken = Arc::new(AtomicBool::new(false));
            assert!(idle.transition_worker_to_searching());

            let spawner = {
                let (idle, work, woken) = (idle.clone(), work.clone(), woken.clone());
                loom::thread::spawn(move || {
                    work.store(true, SeqCst);
                    if idle.worker_to_notify() == Some(0) {
                        woken.store(true, SeqCst);
                    }
                })
            };

            let mut saw_work = false;
            if idle.transition_worker_to_parked(0, true) && work.load(SeqCst) {
                saw_work = true;
                if idle.worker_to_notify() == Some(0) {
                    woken.store(true, SeqCst);
                }
            }
            spawner.join().unwrap();
            assert!(saw_work || woken.load(SeqCst), "work stranded");
        });
    }

    /// Both workers give up (one searching, one refused the search) while a spawn
    /// lands: only the last searcher re-checks the queues, and that is enough: the work
    /// is seen or a sleeper is woken.
    #[test]
    fn loom_workers_parking_against_a_spawn_strand_nothing() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(2));
            let work = Arc::new(AtomicBool::new(false));
            let woken = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            assert!(idle.transition_worker_to_searching());
            // With two workers only one may search; the other parks without searching.
            assert!(!idle.transition_worker_to_searching());
            let park = |worker: usize, searching: bool| {
                let (idle, work, woken) = (idle.clone(), work.clone(), woken.clone());
                loom::thread::spawn(move || {
                    if idle.transition_worker_to_parked(worker, searching) && work.load(SeqCst) {
                        if idle.worker_to_notify().is_some() {
                            woken.fetch_add(1, SeqCst);
                        }
                        return true;
                    }
                    false
                })
            };
            let searcher = park(0, true);
            let other = park(1, false);
            work.store(true, SeqCst);
            if idle.worker_to_notify().is_some() {
                woken.fetch_add(1, SeqCst);
            }
            let rechecked = searcher.join().unwrap() | other.join().unwrap();
            assert!(rechecked || woken.load(SeqCst) > 0, "work stranded");
        });
    }

    /// Two spawns against two sleepers with no searcher: the first wakes one worker,
    /// the counts never go wrong, and each woken worker is woken once.
    #[test]
    fn loom_concurrent_spawns_wake_each_sleeper_at_most_once() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(2));
            idle.transition_worker_to_parked(0, false);
            idle.transition_worker_to_parked(1, false);
            let spawn = |idle: Arc<Idle>| loom::thread::spawn(move || idle.worker_to_notify());
            let a = spawn(idle.clone());
            let b = spawn(idle.clone());
            let (a, b) = (a.join().unwrap(), b.join().unwrap());
            let woken: Vec<usize> = a.into_iter().chain(b).collect();
            assert!(!woken.is_empty(), "a spawn against sleepers wakes someone");
            if woken.len() == 2 {
                assert_ne!(woken[0], woken[1]);
            }
            let (searching, unparked) = idle.counts();
            assert_eq!(searching, woken.len());
            assert_eq!(unparked, woken.len());
        });
    }

    /// A searcher that finds work while a sleeper times out: the counts stay exact.
    #[test]
    fn loom_self_wake_and_notify_race_keeps_counts_exact() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(2));
            idle.transition_worker_to_parked(1, false);
            let notifier = {
                let idle = idle.clone();
                loom::thread::spawn(move || idle.worker_to_notify())
            };
            let notified = idle.transition_worker_from_parked(1);
            let chosen = notifier.join().unwrap();
            // Either the notifier claimed worker 1 before it woke (then it counts as
            // notified and searching), or worker 1 took itself off first.
            assert_eq!(notified, chosen == Some(1));
            let (searching, unparked) = idle.counts();
            assert_eq!(unparked, 2);
            assert_eq!(searching, usize::from(notified));
        });
    }
}
