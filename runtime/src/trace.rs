//! The runtime's trace: what happened, to which task and region, and when.
//!
//! Off by default (recording costs a lock). Tests and the lab runtime turn it on to
//! see every step of the cancellation protocol in order; `cx.trace(msg)` adds user
//! events to the same stream.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::cancel::CancelKind;
use crate::outcome::Severity;
use crate::runtime::shared::RuntimeShared;
use crate::time::Instant;

/// One event in the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// When it happened, on the runtime's clock.
    pub at: Instant,
    /// The task concerned, if any.
    pub task: Option<u64>,
    /// The region concerned, if any.
    pub region: Option<u64>,
    /// What happened.
    pub kind: TraceKind,
}

/// What a [`TraceEvent`] records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceKind {
    /// A task was spawned.
    Spawned,
    /// A task was spawned into a region that refused it.
    BornCancelled,
    /// A task's future finished, with this severity.
    TaskFinished(Severity),
    /// Cancellation was requested (step one of the protocol).
    CancelRequested(CancelKind),
    /// A drain budget ran out and the future was dropped (the finalize step).
    DrainExpired,
    /// A region was opened.
    RegionOpened,
    /// A region's body returned; it waits for its children.
    RegionClosing,
    /// A region is quiescent and runs its finalizers.
    RegionFinalizing,
    /// One finalizer finished.
    FinalizerRan,
    /// A finalizer panicked (the finalizers registered before it still ran).
    FinalizerPanicked(String),
    /// A finalizer registered on a closed region was dropped.
    FinalizerDropped,
    /// A region closed.
    RegionClosed,
    /// A `race!`/`select!` branch lost and was cancelled (`region`: the branch's
    /// region; `task`: the task driving the race).
    RaceLoserCancelled,
    /// A `race!`/`select!` returned its winner (`task`: the task driving the race):
    /// every loser it cancelled must have closed by now.
    RaceReturned,
    /// A message from `cx.trace`.
    User(String),
    /// A region closed with an obligation unresolved (see [`crate::obligation`]).
    ObligationLeaked(String),
    /// The lab runtime's scheduler polled this task (`task: None`: the `block_on`
    /// body). One event per scheduling step, so a lab trace is the schedule.
    Polled,
    /// Something the lab runtime did to the program: a chaos fault it injected or a
    /// deadlock it detected (`"chaos: delay"`, `"chaos: cancel"`, `"deadlock"`, ...).
    Lab(&'static str),
}

#[derive(Debug, Default)]
pub(crate) struct Trace {
    enabled: AtomicBool,
    events: Mutex<Vec<TraceEvent>>,
}

impl Trace {
    pub(crate) fn new(enabled: bool) -> Trace {
        Trace {
            enabled: AtomicBool::new(enabled),
            events: Mutex::new(Vec::new()),
        }
    }

    #[inline]
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn record(
        &self,
        rt: &RuntimeShared,
        task: Option<u64>,
        region: Option<u64>,
        kind: TraceKind,
    ) {
        if self.is_enabled() {
            let event = TraceEvent {
                at: rt.clock.now(),
                task,
                region,
                kind,
            };
            crate::task::core::lock(&self.events).push(event);
        }
    }

    /// How many events are recorded so far.
    pub(crate) fn len(&self) -> usize {
        crate::task::core::lock(&self.events).len()
    }

    pub(crate) fn take(&self) -> Vec<TraceEvent> {
        std::mem::take(&mut *crate::task::core::lock(&self.events))
    }
}
