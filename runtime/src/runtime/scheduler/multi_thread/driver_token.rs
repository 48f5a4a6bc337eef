//! Which worker drives the IO reactor and the timers.
//!
//! One worker at a time holds the token: the first to park sleeps in `epoll_wait`
//! until the next timer deadline, and a busy worker takes it briefly for a
//! non-blocking poll (its maintenance). A worker that parks while the token is taken
//! sleeps on its condvar instead, as in Tokio, trusting the holder to watch IO and
//! timers. That trust fails in one case: the holder was only polling for maintenance
//! and goes back to a long task. So a parking worker that finds the token taken
//! *asks* for it, and a maintenance holder hands it over on release by unparking the
//! asker, which then parks again and takes it. A holder that parked in the reactor
//! ignores the request: it parks again in the reactor when it runs out of work, as
//! the asker would.
//!
//! The ask and the release race as in Dekker's algorithm: the asker records itself,
//! then tries the token again; the holder releases, then reads the record. With both
//! sequentially consistent, at least one of them sees the other (modelled with loom
//! below).

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};

const NOBODY: usize = usize::MAX;

pub(super) struct DriverToken {
    /// The holder's index; `NOBODY` while the token is free.
    holder: AtomicUsize,
    /// A worker that parked on its condvar because the token was taken.
    wanted_by: AtomicUsize,
}

impl DriverToken {
    pub(super) fn new() -> DriverToken {
        DriverToken {
            holder: AtomicUsize::new(NOBODY),
            wanted_by: AtomicUsize::new(NOBODY),
        }
    }

    /// Takes the token if it is free (a busy worker's maintenance poll).
    pub(super) fn try_take(&self, worker: usize) -> bool {
        self.holder
            .compare_exchange(NOBODY, worker, SeqCst, SeqCst)
            .is_ok()
    }

    /// Takes the token to park in the reactor, or records that `worker` wanted it
    /// (it then parks on its condvar; see [`release_after_poll`](Self::release_after_poll)).
    pub(super) fn take_or_ask(&self, worker: usize) -> bool {
        if self.try_take(worker) {
            return true;
        }
        self.wanted_by.store(worker, SeqCst);
        if self.try_take(worker) {
            // Released in between: withdraw the request (unless already answered).
            let _ = self
                .wanted_by
                .compare_exchange(worker, NOBODY, SeqCst, SeqCst);
            return true;
        }
        false
    }

    /// Releases the token after parking in the reactor.
    pub(super) fn release_after_park(&self) {
        self.holder.store(NOBODY, SeqCst);
    }

    /// Releases the token after a maintenance poll; returns the worker that asked for
    /// it meanwhile, which the caller must unpark.
    #[must_use]
    pub(super) fn release_after_poll(&self) -> Option<usize> {
        self.release_after_park();
        match self.wanted_by.swap(NOBODY, SeqCst) {
            NOBODY => None,
            worker => Some(worker),
        }
    }

    /// The worker holding the token, if any.
    pub(super) fn holder(&self) -> Option<usize> {
        match self.holder.load(SeqCst) {
            NOBODY => None,
            worker => Some(worker),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_maintenance_holder_hands_the_token_to_a_worker_that_asked() {
        let token = DriverToken::new();
        assert!(token.try_take(0));
        assert_eq!(token.holder(), Some(0));
        assert!(!token.take_or_ask(1), "taken: worker 1 asks and sleeps");
        assert_eq!(token.release_after_poll(), Some(1));
        assert_eq!(token.holder(), None);
        assert!(token.take_or_ask(1));
        token.release_after_park();
        assert!(token.try_take(0));
        assert_eq!(token.release_after_poll(), None, "nobody asked");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// A worker that parks while a busy worker holds the token for a maintenance poll
    /// either gets the token or is named to be unparked on release: it never sleeps
    /// on its condvar with nobody watching the reactor.
    #[test]
    fn loom_a_worker_asking_during_a_maintenance_poll_is_never_forgotten() {
        loom::model(|| {
            let token = Arc::new(DriverToken::new());
            let t = token.clone();
            let busy = loom::thread::spawn(move || {
                if t.try_take(0) {
                    t.release_after_poll() == Some(1)
                } else {
                    false
                }
            });
            let parked_in_reactor = token.take_or_ask(1);
            if parked_in_reactor {
                token.release_after_park();
            }
            let handed_over = busy.join().unwrap();
            assert!(parked_in_reactor || handed_over, "the asker was forgotten");
        });
    }
}
