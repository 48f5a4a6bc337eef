//! `interval`: a tick every period, with Tokio's choice of what to do about ticks
//! missed while the task was busy.

use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{sleep_until, Instant, Sleep};
use crate::{Cancelled, Cx};

/// A tick is "missed" only when it is at least this late; smaller delays are the
/// ordinary jitter of waking up and are not corrected for.
const MISSED_THRESHOLD: Duration = Duration::from_millis(5);

/// What an [`Interval`] does when ticks were missed (the task was busy past one or
/// more tick times). Same meaning as `tokio::time::MissedTickBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick()`, until caught up; the schedule
    /// keeps its original phase (start + k·period).
    #[default]
    Burst,
    /// Fire once now, then a full period after *now*: the schedule shifts later.
    Delay,
    /// Fire once now, then at the next tick of the original schedule, skipping the
    /// missed ones.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after one due at `due` that fired late, at `now`.
    fn next_after_missed(self, due: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => due + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - due).as_nanos();
                let into_period = late % period.as_nanos();
                // `into_period < period`, so it fits the period's own nanoseconds.
                now + period - Duration::from_nanos(into_period as u64)
            }
        }
    }
}

/// Ticks every `period`, the first tick immediately. Panics if `period` is zero.
pub fn interval(cx: &Cx, period: Duration) -> Interval<'_> {
    interval_at(cx, cx.now(), period)
}

/// Ticks every `period`, the first tick at `start`. Panics if `period` is zero.
pub fn interval_at(cx: &Cx, start: Instant, period: Duration) -> Interval<'_> {
    assert!(
        !period.is_zero(),
        "interval period must be greater than zero"
    );
    Interval {
        cx,
        sleep: sleep_until(cx, start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// A stream of ticks; see [`interval`].
#[derive(Debug)]
pub struct Interval<'cx> {
    cx: &'cx Cx,
    sleep: Sleep<'cx>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval<'_> {
    /// Waits for the next tick and returns the instant it was due at. Cancel-aware:
    /// `Err(Cancelled)` once the task is asked to stop (the tick is not consumed).
    pub async fn tick(&mut self) -> Result<Instant, Cancelled> {
        poll_fn(|task| self.poll_tick(task)).await
    }

    /// The poll form of [`tick`](Interval::tick).
    pub fn poll_tick(&mut self, task: &mut Context<'_>) -> Poll<Result<Instant, Cancelled>> {
        if let Err(cancelled) = self.cx.checkpoint() {
            return Poll::Ready(Err(cancelled));
        }
        std::task::ready!(self.sleep.poll_elapsed(task));
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        let due = self.sleep.deadline();
        let now = self.cx.now();
        let next = if now > due + MISSED_THRESHOLD {
            self.missed_tick_behavior
                .next_after_missed(due, now, self.period)
        } else {
            due + self.period
        };
        self.sleep.reset(next);
        Poll::Ready(Ok(due))
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep.reset(self.cx.now() + self.period);
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Chooses what happens to missed ticks (default [`MissedTickBehavior::Burst`]).
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}
