//! `time::interval`: tick schedule and the three missed-tick behaviours, on every
//! flavor.

mod common;

use std::time::Duration;

use asupersync::time::{self, interval, interval_at, Instant, MissedTickBehavior};
use asupersync::{CancelReason, Outcome};
use common::*;

const PERIOD: Duration = Duration::from_millis(20);

/// Ticks once (the immediate first tick), then blocks the thread past `blocked` so
/// that ticks are missed; returns (start, end of the block, the next three dues).
async fn miss_ticks(
    cx: &asupersync::Cx,
    behavior: MissedTickBehavior,
    blocked: Duration,
) -> (Instant, Instant, Vec<Instant>) {
    let mut ticks = interval(cx, PERIOD);
    ticks.set_missed_tick_behavior(behavior);
    let start = ticks.tick().await.unwrap();
    // asupersync: allow(blocking-in-async) -- the test blocks the thread on purpose to make the interval miss ticks
    std::thread::sleep(blocked);
    let unblocked = cx.now();
    let mut dues = Vec::new();
    // asupersync: allow(loop-without-checkpoint) -- three ticks of a test; nothing cancels it
    for _ in 0..3 {
        dues.push(ticks.tick().await.unwrap());
    }
    (start, unblocked, dues)
}

#[test]
fn ticks_come_a_period_apart_and_never_early() {
    on_each_flavor(|cx| async move {
        let start = cx.now() + 5 * MS;
        let mut ticks = interval_at(&cx, start, PERIOD);
        for k in 0..4u32 {
            let due = ticks.tick().await.unwrap();
            assert_eq!(due, start + PERIOD * k);
            assert!(cx.now() >= due, "tick {k} returned before it was due");
        }
    });
}

#[test]
fn burst_fires_the_missed_ticks_at_once_and_keeps_the_phase() {
    on_each_flavor(|cx| async move {
        let (start, unblocked, dues) = miss_ticks(&cx, MissedTickBehavior::Burst, 70 * MS).await;
        assert_eq!(
            dues,
            [start + PERIOD, start + PERIOD * 2, start + PERIOD * 3]
        );
        // All three were due before the block ended: a burst, not a period apart
        // (a shifted schedule would not land on start + k·period).
        assert!(dues[2] < unblocked);
    });
}

#[test]
fn delay_shifts_the_schedule_to_a_period_after_the_late_tick() {
    on_each_flavor(|cx| async move {
        let (start, unblocked, dues) = miss_ticks(&cx, MissedTickBehavior::Delay, 70 * MS).await;
        assert_eq!(dues[0], start + PERIOD, "the first missed tick fires late");
        assert!(
            dues[1] >= unblocked + PERIOD,
            "next tick {:?} is less than a period after the late one",
            dues[1] - unblocked
        );
        // (Later still if the machine is so loaded that this tick is late too.)
        assert!(dues[2] >= dues[1] + PERIOD);
    });
}

#[test]
fn skip_drops_the_missed_ticks_and_keeps_the_phase() {
    on_each_flavor(|cx| async move {
        let (start, unblocked, dues) = miss_ticks(&cx, MissedTickBehavior::Skip, 70 * MS).await;
        assert_eq!(dues[0], start + PERIOD, "the first missed tick fires late");
        // The next is the first tick of the original schedule after the block.
        let since_start = dues[1] - start;
        assert_eq!(since_start.as_nanos() % PERIOD.as_nanos(), 0, "phase lost");
        assert!(dues[1] > unblocked, "a missed tick was not skipped");
        assert!(dues[2] >= dues[1] + PERIOD);
        assert_eq!((dues[2] - start).as_nanos() % PERIOD.as_nanos(), 0);
    });
}

#[test]
fn tick_returns_cancelled_when_the_task_is_cancelled() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            let mut ticks = interval(&cx, Duration::from_secs(3600));
            ticks.tick().await.unwrap();
            ticks.tick().await
        });
        time::sleep(&cx, 5 * MS).await.unwrap();
        let asked = cx.now();
        handle.cancel(CancelReason::user("stop ticking"));
        match handle.join(&cx).await {
            Outcome::Ok(Err(cancelled)) => {
                assert_eq!(cancelled.reason().message.as_deref(), Some("stop ticking"))
            }
            other => panic!("expected Ok(Err(Cancelled)), got {other:?}"),
        }
        assert!(cx.now() - asked < Duration::from_secs(2));
    });
}

#[test]
#[should_panic(expected = "period must be greater than zero")]
fn a_zero_period_is_refused() {
    let rt = current_thread();
    rt.block_on(|cx| async move {
        let _ = interval(&cx, Duration::ZERO);
    })
    .unwrap();
}
