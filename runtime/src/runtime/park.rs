//! Parking the scheduler thread until there is work or a timer is due.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Debug, Default)]
pub(crate) struct Parker {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl Parker {
    /// Sleeps until [`unpark`](Parker::unpark) or `timeout`; returns at once if an
    /// unpark arrived since the last park.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        let mut notified = crate::task::core::lock(&self.notified);
        if !*notified {
            notified = match timeout {
                Some(t) => {
                    self.condvar
                        .wait_timeout(notified, t)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self
                    .condvar
                    .wait(notified)
                    .unwrap_or_else(|e| e.into_inner()),
            };
        }
        *notified = false;
    }

    pub(crate) fn unpark(&self) {
        *crate::task::core::lock(&self.notified) = true;
        self.condvar.notify_one();
    }
}
