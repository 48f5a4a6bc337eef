//! Cooperative budgeting: a task turn may make only so much progress through
//! always-ready operations before it is made to yield.
//!
//! A task that loops over something that is always ready (an expired timer, a full
//! channel) never returns `Pending` by itself and would keep its worker forever. Each
//! task turn starts with [`BUDGET`] units; cancel-aware waiting operations call
//! [`poll_proceed`] before completing, and once the units are spent they wake the task
//! and return `Pending` instead, sending it to the back of the queue. Outside a task
//! turn (the `block_on` root, plain threads) there is no budget.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units per task turn (Tokio uses the same figure).
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    static REMAINING: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs one task turn with a fresh budget.
#[inline]
pub(crate) fn budgeted<R>(turn: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = REMAINING.try_with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|r| r.replace(Some(BUDGET))));
    turn()
}

/// Spends one unit: `Ready` to go on, or `Pending` (with the task already woken) when
/// the turn's budget is spent.
#[inline]
pub(crate) fn poll_proceed(task: &mut Context<'_>) -> Poll<()> {
    let spent = REMAINING
        .try_with(|r| match r.get() {
            Some(0) => true,
            Some(n) => {
                r.set(Some(n - 1));
                false
            }
            None => false,
        })
        .unwrap_or(false);
    if spent {
        task.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_turn_gets_budget_units_then_pending() {
        let mut context = Context::from_waker(Waker::noop());
        assert!(
            poll_proceed(&mut context).is_ready(),
            "no budget outside a turn"
        );
        budgeted(|| {
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut context).is_ready());
            }
            assert!(poll_proceed(&mut context).is_pending());
            budgeted(|| assert!(poll_proceed(&mut context).is_ready()));
            assert!(
                poll_proceed(&mut context).is_pending(),
                "restored after a nested turn"
            );
        });
        assert!(poll_proceed(&mut context).is_ready());
    }
}
