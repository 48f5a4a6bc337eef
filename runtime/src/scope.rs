//! Cancellation scopes: the state a task and a region body share for the protocol.
//!
//! A cancel request is recorded once per scope (a stronger reason replaces a weaker
//! one) and pushed *down* eagerly: a region cancels its tasks and the regions opened in
//! its body, a task cancels the regions opened in it. Pushing down means a checkpoint
//! only ever reads its own scope's flag, one atomic load, however deep the tree.
//!
//! The request also starts the drain: the scope remembers a drain deadline and poll
//! quota, and the [`Drainable`](crate::task::harness) wrapper drops the scope's future
//! once either is spent. That is the finalize step for code that ignores cancellation.
//!
//! Every task has a scope, and most tasks are never cancelled, open no region and have
//! no deadline: the state beyond the flag (reason, drain, children, timers) is boxed on
//! first use, so an idle task carries one pointer for it instead of the whole state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use slab::Slab;

use crate::budget::Budget;
use crate::cancel::CancelReason;
use crate::region::RegionCore;
use crate::time::timer::TimerKey;
use crate::time::Instant;

pub(crate) struct CancelScope {
    requested: AtomicBool,
    /// `None` until the scope is first cancelled, gets a child or a timer.
    inner: Mutex<Option<Box<ScopeInner>>>,
}

#[derive(Default)]
struct ScopeInner {
    reason: Option<CancelReason>,
    drain: Drain,
    /// Regions opened directly in this scope; they are cancelled with it.
    children: Slab<Weak<RegionCore>>,
    /// A task's budget deadline timer (kept here rather than under a lock of its own:
    /// a task with a deadline needs this lock anyway when it finishes).
    deadline_timer: Option<TimerKey>,
}

/// How long a cancelled scope may keep running.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Drain {
    pub(crate) deadline: Option<Instant>,
    pub(crate) polls_left: Option<u32>,
    pub(crate) timer: Option<TimerKey>,
}

/// What a cancel request did.
pub(crate) enum Requested {
    /// The first request: the caller must propagate to these children and arm the
    /// drain.
    First(Vec<Arc<RegionCore>>),
    /// A later request with a stronger reason: the reason was replaced.
    Strengthened,
    /// A later request that changed nothing.
    Unchanged,
}

impl Drain {
    /// The drain as a budget to hand on (a child cancelled along with this scope
    /// gets the same deadline and poll quota).
    pub(crate) fn budget(deadline: Option<Instant>, polls: Option<u32>) -> Budget {
        let budget = deadline.map_or(Budget::INFINITE, Budget::deadline);
        match polls {
            Some(polls) => budget.with_poll_quota(polls),
            None => budget,
        }
    }
}

impl CancelScope {
    pub(crate) fn new() -> Self {
        CancelScope {
            requested: AtomicBool::new(false),
            inner: Mutex::new(None),
        }
    }

    #[inline]
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    pub(crate) fn reason(&self) -> Option<CancelReason> {
        if !self.is_requested() {
            return None;
        }
        self.lock().as_ref().and_then(|inner| inner.reason.clone())
    }

    /// Records a request with its drain limits. A tighter drain than the one already
    /// running replaces it.
    pub(crate) fn request(
        &self,
        reason: CancelReason,
        deadline: Option<Instant>,
        polls: Option<u32>,
    ) -> Requested {
        let mut guard = self.lock();
        let inner = guard.get_or_insert_with(Box::default);
        let tighten = |current: &mut Drain| {
            if let Some(d) = deadline {
                current.deadline = Some(current.deadline.map_or(d, |c| c.min(d)));
            }
            if let Some(p) = polls {
                current.polls_left = Some(current.polls_left.map_or(p, |c| c.min(p)));
            }
        };
        tighten(&mut inner.drain);
        match &inner.reason {
            None => {
                inner.reason = Some(reason);
                self.requested.store(true, Ordering::Release);
                let children = inner
                    .children
                    .iter()
                    .filter_map(|(_, weak)| weak.upgrade())
                    .collect();
                Requested::First(children)
            }
            Some(current) if reason.is_stronger_than(current) => {
                inner.reason = Some(reason);
                Requested::Strengthened
            }
            Some(_) => Requested::Unchanged,
        }
    }

    pub(crate) fn drain(&self) -> Drain {
        self.lock()
            .as_ref()
            .map_or_else(Drain::default, |inner| inner.drain)
    }

    pub(crate) fn set_drain_timer(&self, timer: TimerKey) -> Option<TimerKey> {
        self.with_inner(|inner| inner.drain.timer.replace(timer))
    }

    pub(crate) fn set_deadline_timer(&self, timer: TimerKey) -> Option<TimerKey> {
        self.with_inner(|inner| inner.deadline_timer.replace(timer))
    }

    /// Takes the drain and deadline timers (to remove them when the scope's owner is
    /// gone).
    pub(crate) fn take_timers(&self) -> impl Iterator<Item = TimerKey> {
        let mut guard = self.lock();
        let timers = match guard.as_mut() {
            Some(inner) => [inner.drain.timer.take(), inner.deadline_timer.take()],
            None => [None, None],
        };
        timers.into_iter().flatten()
    }

    /// Counts one poll against the drain and says whether the drain is spent (the
    /// future must be dropped instead of polled).
    pub(crate) fn drain_spent(&self, now: Instant) -> bool {
        if !self.is_requested() {
            return false;
        }
        self.with_inner(|inner| {
            if inner.drain.deadline.is_some_and(|d| now >= d) {
                return true;
            }
            match &mut inner.drain.polls_left {
                Some(0) => true,
                Some(left) => {
                    *left -= 1;
                    false
                }
                None => false,
            }
        })
    }

    /// Registers a region opened in this scope. If the scope is already cancelled the
    /// region must start cancelled too: the reason and drain are returned.
    pub(crate) fn add_child(
        &self,
        region: &Arc<RegionCore>,
    ) -> (usize, Option<(CancelReason, Drain)>) {
        self.with_inner(|inner| {
            let key = inner.children.insert(Arc::downgrade(region));
            let inherited = inner.reason.clone().map(|r| (r, inner.drain));
            (key, inherited)
        })
    }

    pub(crate) fn remove_child(&self, key: usize) {
        if let Some(inner) = self.lock().as_mut() {
            inner.children.try_remove(key);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Box<ScopeInner>>> {
        // No user code runs under this lock, so it cannot be poisoned mid-update.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the scope's state under its lock, boxing the state now if this is
    /// its first use.
    fn with_inner<R>(&self, f: impl FnOnce(&mut ScopeInner) -> R) -> R {
        f(self.lock().get_or_insert_with(Box::default))
    }
}
