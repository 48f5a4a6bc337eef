//! Budgets: how much time, how many polls and how much cost work may use.
//!
//! A budget bounds a task's whole life (its deadline cancels it with
//! [`CancelKind::Deadline`](crate::CancelKind::Deadline)) and, given to a cancel
//! request, bounds the drain: how long a cancelled task may keep running to clean up
//! before its future is dropped. Budgets combine by *meet*: each component takes the
//! tighter of the two, so a child can never outlive or outspend its parent.

use std::time::Duration;

use crate::time::Instant;

/// Deadline, poll quota, cost quota and priority. Components left unset are
/// unbounded; [`Budget::INFINITE`] bounds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    deadline: Option<Instant>,
    poll_quota: Option<u32>,
    cost_quota: Option<u64>,
    priority: u8,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::INFINITE
    }
}

impl Budget {
    /// No deadline, no quotas, normal priority.
    pub const INFINITE: Budget = Budget {
        deadline: None,
        poll_quota: None,
        cost_quota: None,
        priority: Budget::NORMAL_PRIORITY,
    };

    /// The priority of a budget that sets none.
    pub const NORMAL_PRIORITY: u8 = 128;

    /// A budget whose deadline is `timeout` from now (on the runtime's clock, which is
    /// virtual under the lab runtime).
    pub fn timeout(timeout: Duration) -> Budget {
        Budget::INFINITE.with_deadline(Instant::now() + timeout)
    }

    /// A budget with only this deadline.
    pub fn deadline(deadline: Instant) -> Budget {
        Budget::INFINITE.with_deadline(deadline)
    }

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Budget {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the poll quota: how many times the work may be polled.
    pub fn with_poll_quota(mut self, polls: u32) -> Budget {
        self.poll_quota = Some(polls);
        self
    }

    /// Sets the cost quota, spent with [`Cx::charge`](crate::Cx::charge).
    pub fn with_cost_quota(mut self, cost: u64) -> Budget {
        self.cost_quota = Some(cost);
        self
    }

    /// Sets the priority (higher runs first where the scheduler has a choice).
    pub fn with_priority(mut self, priority: u8) -> Budget {
        self.priority = priority;
        self
    }

    /// The deadline, if any.
    pub fn get_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The poll quota, if any.
    pub fn poll_quota(&self) -> Option<u32> {
        self.poll_quota
    }

    /// The cost quota, if any.
    pub fn cost_quota(&self) -> Option<u64> {
        self.cost_quota
    }

    /// The priority.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Time left until the deadline at `now` (zero once passed; `None` if unbounded).
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.deadline
            .map(|d| d.checked_duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// `true` when nothing is bounded.
    pub fn is_infinite(&self) -> bool {
        self.deadline.is_none() && self.poll_quota.is_none() && self.cost_quota.is_none()
    }

    /// The tighter of each component: earlier deadline, smaller quotas, higher priority.
    pub fn meet(self, other: Budget) -> Budget {
        fn tighter<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        Budget {
            deadline: tighter(self.deadline, other.deadline),
            poll_quota: tighter(self.poll_quota, other.poll_quota),
            cost_quota: tighter(self.cost_quota, other.cost_quota),
            priority: self.priority.max(other.priority),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meet_takes_the_tighter_of_each() {
        let now = Instant::now();
        let a = Budget::deadline(now + Duration::from_secs(5)).with_poll_quota(100);
        let b = Budget::deadline(now + Duration::from_secs(2))
            .with_cost_quota(7)
            .with_priority(200);
        let m = a.meet(b);
        assert_eq!(m.get_deadline(), Some(now + Duration::from_secs(2)));
        assert_eq!(m.poll_quota(), Some(100));
        assert_eq!(m.cost_quota(), Some(7));
        assert_eq!(m.priority(), 200);
        assert_eq!(m, b.meet(a), "meet is commutative");
        assert_eq!(m.meet(Budget::INFINITE), m, "INFINITE is the identity");
    }

    #[test]
    fn remaining_saturates_at_zero() {
        let now = Instant::now();
        let b = Budget::deadline(now + Duration::from_millis(10));
        assert_eq!(b.remaining(now), Some(Duration::from_millis(10)));
        assert_eq!(
            b.remaining(now + Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
        assert_eq!(Budget::INFINITE.remaining(now), None);
        assert!(Budget::INFINITE.is_infinite());
    }
}
