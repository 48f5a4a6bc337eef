//! The cancellation protocol: request → drain → finalize, reasons, budgets.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asupersync::{time, Budget, CancelKind, CancelReason, Outcome, Region};
use common::*;

#[test]
fn checkpoint_is_ok_until_cancel_is_requested() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            let before = cx.checkpoint().is_ok();
            let _ = time::sleep(&cx, Duration::from_secs(60)).await;
            let after = cx.checkpoint();
            (
                before,
                after.err().map(|c| c.reason().kind),
                cx.is_cancel_requested(),
            )
        });
        time::sleep(&cx, 2 * MS).await.unwrap();
        handle.cancel(CancelReason::user("enough"));
        let (before, after, requested) = handle.join(&cx).await.unwrap();
        assert!(before);
        assert_eq!(after, Some(CancelKind::User));
        assert!(requested);
    });
}

#[test]
fn cancel_reaches_a_grandchild() {
    on_each_flavor_and_lab(|cx| async move {
        let seen = Arc::new(Mutex::new(None));
        let slot = seen.clone();
        let child = cx.spawn(move |cx| async move {
            Region::open(&cx, "child-region", |cx| async move {
                cx.spawn(move |cx| async move {
                    let err = time::sleep(&cx, Duration::from_secs(60)).await.unwrap_err();
                    *slot.lock().unwrap() = Some(err.into_reason());
                });
            })
            .await
        });
        time::sleep(&cx, 5 * MS).await.unwrap();
        child.cancel(CancelReason::user("stop the subtree"));
        assert!(child.join(&cx).await.is_ok());
        let reason = seen
            .lock()
            .unwrap()
            .take()
            .expect("the grandchild saw no cancel");
        assert_eq!(reason.kind, CancelKind::ParentCancelled);
        assert_eq!(reason.root_cause().kind, CancelKind::User);
        assert_eq!(
            reason.root_cause().message.as_deref(),
            Some("stop the subtree")
        );
        assert!(
            reason.chain().count() >= 3,
            "task → region → grandchild: {reason}"
        );
    });
}

#[test]
fn a_task_that_ignores_cancel_is_dropped_when_its_drain_budget_is_spent() {
    on_each_flavor(|cx| async move {
        let dropped = flag();
        let finalized = flag();
        let (d, f) = (dropped.clone(), finalized.clone());
        let started = Instant::now();
        let outcome = Region::open(&cx, "stubborn", |cx| async move {
            cx.defer(async move { f.store(true, Ordering::SeqCst) });
            let handle = cx.spawn(move |_cx| async move {
                let _guard = DropFlag(d);
                // Never reaches a checkpoint.
                std::future::pending::<()>().await;
            });
            time::sleep(&cx, 2 * MS).await.unwrap();
            handle.cancel_with(Budget::timeout(30 * MS));
            handle.join(&cx).await
        })
        .await
        .unwrap();
        match outcome {
            Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::User),
            other => panic!("expected Cancelled, got {other:?}"),
        }
        assert!(dropped.load(Ordering::SeqCst), "the future was not dropped");
        assert!(
            finalized.load(Ordering::SeqCst),
            "the region's finalizer did not run"
        );
        let elapsed = started.elapsed();
        assert!(elapsed >= 25 * MS, "dropped before its budget: {elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "drain took {elapsed:?}");
    });
}

#[test]
fn a_poll_quota_drain_drops_after_that_many_polls() {
    on_each_flavor(|cx| async move {
        let polls = counter();
        let p = polls.clone();
        let handle = cx.spawn(move |cx| async move {
            loop {
                // Counts the polls after the request (the task runs in parallel with
                // the canceller on a multi-thread runtime), and ignores it: keeps
                // yielding after the cancel.
                if cx.is_cancel_requested() {
                    p.fetch_add(1, Ordering::SeqCst);
                }
                pending_once().await;
            }
        });
        time::sleep(&cx, 2 * MS).await.unwrap();
        handle.cancel_with(Budget::INFINITE.with_poll_quota(5));
        assert!(handle.join(&cx).await.is_cancelled());
        let during_drain = polls.load(Ordering::SeqCst);
        assert!(
            during_drain <= 6,
            "ran {during_drain} times after a 5-poll drain"
        );
    });
}

#[test]
fn a_cooperative_task_drains_and_returns_its_value() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            let mut flushed = 0;
            while cx.checkpoint().is_ok() {
                let _ = time::sleep(&cx, MS).await;
            }
            // Drain: finish what is in flight.
            for _ in 0..3 {
                flushed += 1;
            }
            flushed
        });
        time::sleep(&cx, 5 * MS).await.unwrap();
        handle.cancel(CancelReason::user("drain please"));
        assert_eq!(handle.join(&cx).await, Outcome::Ok(3));
    });
}

#[test]
fn a_stronger_reason_replaces_a_weaker_one() {
    on_each_flavor(|cx| async move {
        // The task reports when it has seen the first request, so the second lands
        // after it on every flavor (on a multi-thread runtime the two run in parallel).
        let saw_first = flag();
        let seen = saw_first.clone();
        let handle = cx.spawn(|cx| async move {
            let _ = time::sleep(&cx, Duration::from_secs(60)).await;
            let mut kinds = vec![cx.cancel_reason().unwrap().kind];
            seen.store(true, Ordering::SeqCst);
            // Keep draining (bounded in time) until the second request lands.
            let give_up = Instant::now() + Duration::from_secs(5);
            while Instant::now() < give_up {
                if cx.cancel_reason().unwrap().kind != CancelKind::User {
                    break;
                }
                pending_once().await;
            }
            kinds.push(cx.cancel_reason().unwrap().kind);
            kinds
        });
        time::sleep(&cx, 2 * MS).await.unwrap();
        handle.cancel(CancelReason::user("first"));
        while !saw_first.load(Ordering::SeqCst) {
            asupersync::task::yield_now(&cx).await.unwrap();
        }
        handle.cancel(CancelReason::new(CancelKind::Shutdown));
        handle.cancel(CancelReason::new(CancelKind::RaceLost)); // weaker: ignored
        let kinds = handle.join(&cx).await.unwrap();
        assert_eq!(kinds, [CancelKind::User, CancelKind::Shutdown]);
    });
}

#[test]
fn a_budget_deadline_cancels_with_deadline() {
    on_each_flavor(|cx| async move {
        let started = Instant::now();
        let handle = cx.spawn_with(Budget::timeout(20 * MS), |cx| async move {
            loop {
                if let Err(c) = time::sleep(&cx, 5 * MS).await {
                    return c.reason().kind;
                }
            }
        });
        assert_eq!(handle.join(&cx).await.unwrap(), CancelKind::Deadline);
        assert!(started.elapsed() >= 15 * MS);
    });
}

#[test]
fn a_task_budget_is_met_with_its_parents() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn_with(
            Budget::INFINITE.with_poll_quota(1000).with_priority(10),
            |cx| async move {
                let inner = cx
                    .spawn_with(Budget::INFINITE.with_poll_quota(10_000), |cx| async move {
                        cx.budget()
                    });
                inner.join(&cx).await.unwrap()
            },
        );
        let budget = handle.join(&cx).await.unwrap();
        assert_eq!(
            budget.poll_quota(),
            Some(1000),
            "a child can never outspend its parent"
        );
    });
}

#[test]
fn a_poll_quota_budget_cancels_a_busy_task() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn_with(Budget::INFINITE.with_poll_quota(10), |cx| async move {
            let mut polls = 0;
            while asupersync::task::yield_now(&cx).await.is_ok() {
                polls += 1;
            }
            (polls, cx.cancel_reason().unwrap().kind)
        });
        let (polls, kind) = handle.join(&cx).await.unwrap();
        assert_eq!(kind, CancelKind::PollQuota);
        assert!(polls <= 10, "{polls} polls on a quota of 10");
    });
}

#[test]
fn a_cost_quota_cancels_once_spent() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn_with(Budget::INFINITE.with_cost_quota(100), |cx| async move {
            let mut spent = 0;
            while cx.charge(30).is_ok() {
                spent += 30;
            }
            (spent, cx.cancel_reason().unwrap().kind)
        });
        assert_eq!(handle.join(&cx).await.unwrap(), (90, CancelKind::CostQuota));
    });
}

#[test]
fn a_cancelled_sleep_returns_promptly() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            let started = Instant::now();
            let result = time::sleep(&cx, Duration::from_secs(30)).await;
            (result.is_err(), started.elapsed())
        });
        time::sleep(&cx, 5 * MS).await.unwrap();
        handle.cancel(CancelReason::user("wake up"));
        let (cancelled, elapsed) = handle.join(&cx).await.unwrap();
        assert!(cancelled);
        assert!(
            elapsed < Duration::from_secs(2),
            "slept {elapsed:?} after cancel"
        );
    });
}

#[test]
fn joining_while_cancelled_forwards_the_cancel_to_the_joined_task() {
    on_each_flavor_and_lab(|cx| async move {
        let parent = cx.spawn(|cx| async move {
            let child = cx.spawn(|cx| async move {
                let err = time::sleep(&cx, Duration::from_secs(60)).await.unwrap_err();
                err.into_reason()
            });
            // Wait on the child; our own cancel arrives meanwhile.
            child.join(&cx).await
        });
        time::sleep(&cx, 5 * MS).await.unwrap();
        parent.cancel(CancelReason::user("parent stops"));
        let child_outcome = parent.join(&cx).await.unwrap();
        let reason = child_outcome.unwrap();
        assert_eq!(reason.kind, CancelKind::ParentCancelled);
        assert_eq!(reason.root_cause().message.as_deref(), Some("parent stops"));
    });
}

#[test]
fn cancelling_a_finished_task_is_a_no_op() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|_cx| async move { 7 });
        while !handle.is_finished() {
            asupersync::task::yield_now(&cx).await.unwrap();
        }
        handle.cancel(CancelReason::user("too late"));
        assert_eq!(handle.join(&cx).await, Outcome::Ok(7));
    });
}

#[test]
fn cancel_region_cancels_every_task_in_it_but_not_the_parent() {
    on_each_flavor(|cx| async move {
        let cancelled = counter();
        let c = cancelled.clone();
        Region::open(&cx, "inner", |cx| async move {
            for _ in 0..5 {
                let c = c.clone();
                cx.spawn(move |cx| async move {
                    if time::sleep(&cx, Duration::from_secs(60)).await.is_err() {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            time::sleep(&cx, 2 * MS).await.unwrap();
            cx.cancel_region(CancelReason::user("inner only"));
        })
        .await
        .unwrap();
        assert_eq!(cancelled.load(Ordering::SeqCst), 5);
        assert!(
            cx.checkpoint().is_ok(),
            "the parent region must not be cancelled"
        );
    });
}
