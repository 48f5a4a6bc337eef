//! Who holds a lock, as far as the lab's deadlock oracle needs to know.
//!
//! A deadlock report is only useful if it says *why* nothing can move: "task a waits
//! for the mutex created at x.rs:10, held by task b, which waits for ...". So under
//! the lab every lock records the tasks holding it (one for a mutex or a writer, any
//! number of readers) and a waiting task declares its wait-for edges with
//! [`lab::waiting_on`](crate::lab::waiting_on). A reader-writer lock is an *and*-wait
//! (a writer needs every reader gone), so a cycle through any holder is a real
//! deadlock.
//!
//! Outside the lab nothing is recorded: the set is allocated on first use under the
//! lab, and a guard carries a zero task id, so a release checks one integer.

use std::panic::Location;
use std::sync::{Mutex as StdMutex, OnceLock};
use std::task::{Context, Poll};

use super::sem::{AcquireCore, AcquireFailed, SemCore};
use crate::cancel::Cancelled;
use crate::cx::Cx;
use crate::task::core::lock;

pub(crate) struct Holders {
    /// What the lock is called in reports (`"mutex"`, `"rwlock"`).
    kind: &'static str,
    /// Where the lock was created: its name in reports.
    created_at: &'static Location<'static>,
    tasks: OnceLock<Box<StdMutex<Vec<u64>>>>,
}

/// The task a guard was recorded for (0: not recorded, outside the lab or acquired
/// without a `Cx`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Held(u64);

impl Holders {
    #[track_caller]
    pub(crate) fn new(kind: &'static str) -> Holders {
        Holders {
            kind,
            created_at: Location::caller(),
            tasks: OnceLock::new(),
        }
    }

    /// Waits for `permits` of `sem` for `cx`'s task, recorded as a holder (a lock's
    /// owned and read/write acquisitions; `Mutex::lock` polls
    /// [`poll_acquire`](Holders::poll_acquire) in its own named future).
    pub(crate) async fn acquire(
        &self,
        cx: &Cx,
        sem: &SemCore,
        permits: usize,
    ) -> Result<Held, Cancelled> {
        let mut acquire = AcquireCore::new(cx, sem, permits);
        std::future::poll_fn(|task| self.poll_acquire(&mut acquire, task))
            .await
            .map_err(never_closed)
    }

    /// One poll of `acquire`; under the lab a pending poll declares the wait-for edges
    /// and a successful one records the new holder.
    pub(crate) fn poll_acquire(
        &self,
        acquire: &mut AcquireCore<'_>,
        task: &mut Context<'_>,
    ) -> Poll<Result<Held, AcquireFailed>> {
        let cx = acquire.cx;
        let lab = crate::lab::is_lab(cx);
        let Poll::Ready(acquired) = acquire.poll(task) else {
            if lab {
                crate::lab::waiting_on(cx, self.describe(), self.snapshot());
            }
            return Poll::Pending;
        };
        if !lab {
            return Poll::Ready(acquired.map(|()| Held::default()));
        }
        crate::lab::done_waiting(cx);
        acquired?;
        let id = cx.task_id();
        lock(self.tasks.get_or_init(Box::default)).push(id);
        Poll::Ready(Ok(Held(id)))
    }

    /// Forgets one holding by `held`'s task (a task may hold several read guards).
    pub(crate) fn release(&self, held: Held) {
        if held == Held::default() {
            return;
        }
        if let Some(tasks) = self.tasks.get() {
            let mut tasks = lock(tasks);
            if let Some(i) = tasks.iter().position(|&t| t == held.0) {
                tasks.swap_remove(i);
            }
        }
    }

    fn describe(&self) -> String {
        format!("the {} created at {}", self.kind, self.created_at)
    }

    fn snapshot(&self) -> Vec<u64> {
        self.tasks
            .get()
            .map(|t| lock(t).clone())
            .unwrap_or_default()
    }
}

/// A lock's acquisition failed: only a cancel can do that, since a lock's semaphore is
/// never closed.
pub(crate) fn never_closed(failed: AcquireFailed) -> Cancelled {
    match failed {
        AcquireFailed::Cancelled(cancelled) => cancelled,
        AcquireFailed::Closed => unreachable!("a lock's semaphore is never closed"),
    }
}
