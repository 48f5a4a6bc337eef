use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Instant;

/// The source of `now` for one runtime: the system clock, or a virtual clock that only
/// moves when the lab runtime advances it.
#[derive(Clone, Debug)]
pub(crate) enum Clock {
    System,
    Virtual(Arc<VirtualClock>),
}

#[derive(Debug)]
pub(crate) struct VirtualClock {
    base: std::time::Instant,
    offset_nanos: AtomicU64,
}

impl Clock {
    pub(crate) fn new_virtual() -> Clock {
        Clock::Virtual(Arc::new(VirtualClock {
            base: std::time::Instant::now(),
            offset_nanos: AtomicU64::new(0),
        }))
    }

    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::from_std(std::time::Instant::now()),
            Clock::Virtual(v) => {
                let offset = Duration::from_nanos(v.offset_nanos.load(Ordering::Acquire));
                Instant::from_std(v.base + offset)
            }
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Moves a virtual clock forward to `to` (never backward). No effect on the system
    /// clock.
    pub(crate) fn advance_to(&self, to: Instant) {
        if let Clock::Virtual(v) = self {
            let target = to.into_std().saturating_duration_since(v.base).as_nanos();
            let target = u64::try_from(target).unwrap_or(u64::MAX);
            v.offset_nanos.fetch_max(target, Ordering::AcqRel);
        }
    }
}
