//! Obligations: linear tokens that must be resolved before their region closes.
//!
//! A bounded-channel send permit, a semaphore permit or a lease is a promise: "I hold a
//! slot and will either use it or give it back". Rust's ownership makes the giving
//! back automatic when the token is dropped, but a token can still *outlive the work
//! that took it*: moved into a struct that lives on, sent to another region, or
//! `mem::forget`-ed. Then a slot is lost for good and the channel or semaphore slowly
//! starves, far from the line that caused it.
//!
//! So every obligation created through a `Cx` is recorded in the region of that `Cx`
//! (a `race!`/`select!` branch hands its output to the code around it, so there it is
//! the enclosing region), with the task that created it and the source location of
//! the call
//! (`#[track_caller]`). Resolving the token (using it, or dropping it) removes the
//! record. When a region has closed (body done, children done, finalizers run) and a
//! record is still there, that is a leak, and the runtime reports it according to the
//! [`LeakPolicy`] set with
//! [`RuntimeBuilder::obligation_leak_policy`](crate::RuntimeBuilder::obligation_leak_policy):
//! a panic that names the file and line (the default with `debug_assertions`, so tests
//! catch leaks), a log line and trace event (the default in release builds), or
//! nothing.

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex};

use slab::Slab;

use crate::cx::Cx;
use crate::region::RegionCore;
use crate::trace::TraceKind;

/// What a region does when it closes with an obligation still unresolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakPolicy {
    /// Panic in the code that closed the region (the enclosing task or region then
    /// reports `Outcome::Panicked`), naming every leaked obligation and where it was
    /// created.
    Panic,
    /// Print one line per leak to stderr and record a trace event.
    Log,
    /// Ignore leaks.
    Silent,
}

impl Default for LeakPolicy {
    /// `Panic` when `debug_assertions` are on (tests, debug builds), `Log` otherwise.
    fn default() -> Self {
        if cfg!(debug_assertions) {
            LeakPolicy::Panic
        } else {
            LeakPolicy::Log
        }
    }
}

/// An obligation still unresolved, as reported in a leak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObligationInfo {
    /// What kind of obligation (`"mpsc send permit"`, `"semaphore permit"`, ...).
    pub kind: &'static str,
    /// Where it was created.
    pub location: &'static Location<'static>,
    /// The task that created it.
    pub task: u64,
}

impl fmt::Display for ObligationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created at {} by task {}",
            self.kind, self.location, self.task
        )
    }
}

/// The obligations recorded in one region.
#[derive(Default)]
pub(crate) struct ObligationSet {
    records: Mutex<Slab<ObligationInfo>>,
}

impl ObligationSet {
    fn insert(&self, info: ObligationInfo) -> usize {
        crate::task::core::lock(&self.records).insert(info)
    }

    fn remove(&self, key: usize) {
        let mut records = crate::task::core::lock(&self.records);
        if records.contains(key) {
            records.remove(key);
        }
    }

    /// The obligations still outstanding.
    pub(crate) fn outstanding(&self) -> Vec<ObligationInfo> {
        crate::task::core::lock(&self.records)
            .iter()
            .map(|(_, info)| info.clone())
            .collect()
    }
}

/// Reports the obligations still outstanding in a region that has just closed,
/// according to the runtime's policy. Under [`LeakPolicy::Panic`] this panics; the
/// caller has already closed the region, so the region tree stays consistent.
pub(crate) fn report_leaks(region: &RegionCore) {
    let leaks = region.obligations.outstanding();
    if leaks.is_empty() {
        return;
    }
    let rt = &region.rt;
    // Under the lab a leak is an oracle violation: reported with the seed, the trace
    // excerpt and a replay line, like every other oracle.
    if rt.lab().is_some() {
        for leak in &leaks {
            rt.trace.record(
                rt,
                Some(leak.task),
                Some(region.id),
                TraceKind::ObligationLeaked(leak.to_string()),
            );
            crate::lab::report_in(
                rt,
                Some(leak.task),
                region.id,
                "obligation-leak",
                format!(
                    "region {:?} closed with an unresolved {leak}",
                    &*region.name
                ),
            );
        }
        return;
    }
    let describe = || {
        let list: Vec<String> = leaks.iter().map(|l| format!("  {l}")).collect();
        format!(
            "region {:?} closed with {} unresolved obligation(s):\n{}",
            &*region.name,
            leaks.len(),
            list.join("\n")
        )
    };
    match rt.config.obligation_leak_policy {
        LeakPolicy::Silent => {}
        LeakPolicy::Log => {
            for leak in &leaks {
                eprintln!(
                    "asupersync: obligation leak in region {:?}: {leak}",
                    &*region.name
                );
                rt.trace.record(
                    rt,
                    Some(leak.task),
                    Some(region.id),
                    TraceKind::ObligationLeaked(leak.to_string()),
                );
            }
        }
        LeakPolicy::Panic => {
            for leak in &leaks {
                rt.trace.record(
                    rt,
                    Some(leak.task),
                    Some(region.id),
                    TraceKind::ObligationLeaked(leak.to_string()),
                );
            }
            panic!("{}", describe());
        }
    }
}

/// The record of one obligation in its region; removing it on drop is what resolves
/// the obligation. Embedded in every permit type.
pub(crate) struct ObligationToken {
    slot: Option<(Arc<RegionCore>, usize)>,
}

impl ObligationToken {
    /// Records an obligation of `kind` created at `location` by `cx`'s task, in `cx`'s
    /// region.
    pub(crate) fn track(
        cx: &Cx,
        kind: &'static str,
        location: &'static Location<'static>,
    ) -> ObligationToken {
        let region = cx.region_core().obligation_home().clone();
        let key = region.obligations.insert(ObligationInfo {
            kind,
            location,
            task: cx.task_id(),
        });
        ObligationToken {
            slot: Some((region, key)),
        }
    }

    /// A token for a permit taken without a `Cx` (`try_acquire`, `try_reserve`): it
    /// has no region to be recorded in.
    pub(crate) fn untracked() -> ObligationToken {
        ObligationToken { slot: None }
    }
}

impl Drop for ObligationToken {
    fn drop(&mut self) {
        if let Some((region, key)) = self.slot.take() {
            region.obligations.remove(key);
        }
    }
}

impl fmt::Debug for ObligationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObligationToken")
            .field("tracked", &self.slot.is_some())
            .finish()
    }
}

/// A lease: an obligation of the caller's own, tracked like a permit.
///
/// Create one where work takes on a duty that must be discharged before its region
/// closes (a lease on a remote resource, a reply owed to a peer), and call
/// [`resolve`](Obligation::resolve) or [`abort`](Obligation::abort) when it is
/// discharged. Dropping it counts as an abort; keeping it alive past its region (or
/// forgetting it) is reported as a leak with the line that created it.
#[must_use = "an obligation must be resolved or aborted"]
#[derive(Debug)]
pub struct Obligation {
    token: ObligationToken,
}

impl Obligation {
    /// Takes on an obligation of `kind` in `cx`'s region.
    #[track_caller]
    pub fn new(cx: &Cx, kind: &'static str) -> Obligation {
        Obligation {
            token: ObligationToken::track(cx, kind, Location::caller()),
        }
    }

    /// The obligation was discharged.
    pub fn resolve(self) {
        drop(self.token);
    }

    /// The obligation was given up cleanly.
    pub fn abort(self) {
        drop(self.token);
    }
}

impl Cx {
    /// The obligations (permits, leases) still outstanding in this `Cx`'s region
    /// (for the `Cx` of a `race!`/`select!` branch: in the region around it).
    pub fn outstanding_obligations(&self) -> Vec<ObligationInfo> {
        self.region_core()
            .obligation_home()
            .obligations
            .outstanding()
    }
}
