//! Why work was cancelled, and the error a cancel-aware operation returns.
//!
//! A reason is more than a flag: it says what asked (`kind`), where (`origin`, the
//! task or region that issued it), why in words (`message`), and what it follows from
//! (`cause`, e.g. the parent's reason for a `ParentCancelled`). When a second request
//! arrives, the stronger reason wins, so the outcome reports the most important cause
//! (a shutdown is stronger than a user cancel, a panic stronger than both).

use std::fmt;
use std::sync::Arc;

/// What asked for a cancellation. Ordered from weakest to strongest: when a task is
/// cancelled twice, the stronger kind replaces the weaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CancelKind {
    /// A sibling won a `race!`/`select!`.
    RaceLost,
    /// Explicitly requested by user code (`handle.cancel(..)`).
    User,
    /// A `timeout` elapsed.
    Timeout,
    /// The poll quota of a budget was spent.
    PollQuota,
    /// The cost quota of a budget was spent.
    CostQuota,
    /// The budget's deadline passed.
    Deadline,
    /// The task was spawned into a region that is closing.
    RegionClosed,
    /// The enclosing region or task was cancelled.
    ParentCancelled,
    /// The runtime is shutting down.
    Shutdown,
    /// A panic in the region's body.
    Panic,
}

impl CancelKind {
    /// The kebab-case name used in traces and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelKind::RaceLost => "race-lost",
            CancelKind::User => "user",
            CancelKind::Timeout => "timeout",
            CancelKind::PollQuota => "poll-quota",
            CancelKind::CostQuota => "cost-quota",
            CancelKind::Deadline => "deadline",
            CancelKind::RegionClosed => "region-closed",
            CancelKind::ParentCancelled => "parent-cancelled",
            CancelKind::Shutdown => "shutdown",
            CancelKind::Panic => "panic",
        }
    }
}

impl fmt::Display for CancelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a cancellation was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOrigin {
    /// From outside any task (the runtime, a handle held outside, a test).
    External,
    /// From a task, by id.
    Task(u64),
    /// From a region, by id and name.
    Region(u64, Arc<str>),
}

/// Why work was cancelled: kind, origin, message and an optional cause chain.
#[derive(Debug, Clone)]
pub struct CancelReason {
    /// What asked for the cancellation.
    pub kind: CancelKind,
    /// Where it was issued.
    pub origin: CancelOrigin,
    /// A human-readable explanation, if one was given.
    pub message: Option<Arc<str>>,
    /// The reason this one follows from (for `ParentCancelled`, the parent's reason).
    pub cause: Option<Arc<CancelReason>>,
}

impl CancelReason {
    /// A reason of the given kind with an external origin and no message.
    pub fn new(kind: CancelKind) -> Self {
        CancelReason {
            kind,
            origin: CancelOrigin::External,
            message: None,
            cause: None,
        }
    }

    /// A [`CancelKind::User`] reason with a message.
    pub fn user(message: impl Into<Arc<str>>) -> Self {
        CancelReason::new(CancelKind::User).with_message(message)
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<Arc<str>>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets the origin.
    pub fn with_origin(mut self, origin: CancelOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// Sets the cause.
    pub fn with_cause(mut self, cause: CancelReason) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The reason a child receives when this reason cancels its parent.
    pub fn for_child(&self, origin: CancelOrigin) -> CancelReason {
        // Shutdown keeps its kind all the way down so every task can tell that the
        // whole runtime is going away, not just its parent.
        let kind = match self.kind {
            CancelKind::Shutdown => CancelKind::Shutdown,
            _ => CancelKind::ParentCancelled,
        };
        CancelReason::new(kind)
            .with_origin(origin)
            .with_cause(self.clone())
    }

    /// `true` when `self` should replace `other` as the recorded reason.
    pub fn is_stronger_than(&self, other: &CancelReason) -> bool {
        self.kind > other.kind
    }

    /// The chain from this reason to its root cause, this reason first.
    pub fn chain(&self) -> impl Iterator<Item = &CancelReason> {
        std::iter::successors(Some(self), |r| r.cause.as_deref())
    }

    /// The innermost cause (the reason that started the chain).
    pub fn root_cause(&self) -> &CancelReason {
        self.chain().last().unwrap_or(self)
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        match &self.origin {
            CancelOrigin::External => {}
            CancelOrigin::Task(id) => write!(f, " from task {id}")?,
            CancelOrigin::Region(id, name) => write!(f, " from region {name:?} ({id})")?,
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(cause) = &self.cause {
            write!(f, " (caused by {cause})")?;
        }
        Ok(())
    }
}

/// The error a cancel-aware operation returns once its task has been asked to stop.
///
/// It carries the reason so code that bails out with `?` can still report why.
#[derive(Debug, Clone)]
pub struct Cancelled {
    reason: CancelReason,
}

impl Cancelled {
    /// Wraps a reason.
    pub fn new(reason: CancelReason) -> Self {
        Cancelled { reason }
    }

    /// Why the operation was cancelled.
    pub fn reason(&self) -> &CancelReason {
        &self.reason
    }

    /// Consumes the error, returning the reason.
    pub fn into_reason(self) -> CancelReason {
        self.reason
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation cancelled: {}", self.reason)
    }
}

impl std::error::Error for Cancelled {}

impl From<Cancelled> for std::io::Error {
    fn from(c: Cancelled) -> Self {
        std::io::Error::new(std::io::ErrorKind::Interrupted, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_kinds_win() {
        let user = CancelReason::new(CancelKind::User);
        let shutdown = CancelReason::new(CancelKind::Shutdown);
        assert!(shutdown.is_stronger_than(&user));
        assert!(!user.is_stronger_than(&shutdown));
        assert!(!user.is_stronger_than(&user.clone()));
    }

    #[test]
    fn child_reason_chains_to_the_parent() {
        let root = CancelReason::user("stop");
        let child = root.for_child(CancelOrigin::Task(7));
        let grandchild = child.for_child(CancelOrigin::Task(8));
        assert_eq!(grandchild.kind, CancelKind::ParentCancelled);
        assert_eq!(grandchild.chain().count(), 3);
        assert_eq!(grandchild.root_cause().kind, CancelKind::User);
        assert_eq!(grandchild.root_cause().message.as_deref(), Some("stop"));
        let text = grandchild.to_string();
        assert!(text.contains("parent-cancelled from task 8"), "{text}");
        assert!(text.contains("user: stop"), "{text}");
    }

    #[test]
    fn shutdown_keeps_its_kind_down_the_tree() {
        let root = CancelReason::new(CancelKind::Shutdown);
        assert_eq!(
            root.for_child(CancelOrigin::External).kind,
            CancelKind::Shutdown
        );
    }
}
