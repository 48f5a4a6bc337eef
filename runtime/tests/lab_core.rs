//! The runtime's core behaviours on every real flavor *and* under the lab across
//! seeds (`on_each_flavor_and_lab`), with every oracle on: regions, the cancellation
//! protocol, budgets and timers must hold in every schedule the lab picks, not only
//! in the one a real scheduler happens to produce.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asupersync::task::yield_now;
use asupersync::{time, Budget, CancelKind, CancelReason, Outcome, Region};
use common::*;

#[test]
fn a_stubborn_task_is_dropped_at_its_drain_deadline_and_finalizers_run() {
    let elapsed = on_each_flavor_and_lab(|cx| async move {
        let dropped = flag();
        let finalized = flag();
        let (d, f) = (dropped.clone(), finalized.clone());
        let started = cx.now();
        let outcome = Region::open(&cx, "stubborn", |cx| async move {
            cx.defer(async move { f.store(true, Ordering::SeqCst) });
            let handle = cx.spawn(move |_cx| async move {
                let _guard = DropFlag(d);
                std::future::pending::<()>().await;
            });
            time::sleep(&cx, 2 * MS).await.unwrap();
            handle.cancel_with(Budget::timeout(30 * MS));
            handle.join(&cx).await
        })
        .await
        .unwrap();
        assert!(outcome.is_cancelled());
        assert!(dropped.load(Ordering::SeqCst));
        assert!(finalized.load(Ordering::SeqCst));
        cx.now() - started
    });
    // Under the lab, time is exact: 2 ms of sleep plus the 30 ms drain.
    for lab_elapsed in &elapsed[elapsed.len() - LAB_SEEDS.count()..] {
        assert_eq!(*lab_elapsed, 32 * MS);
    }
}

#[test]
fn finalizers_run_lifo_after_children_drain_in_every_schedule() {
    on_each_flavor_and_lab(|cx| async move {
        let log = Log::default();
        let region_log = log.clone();
        let outcome = Region::open(&cx, "finalized", |cx| async move {
            for i in 1..=3 {
                let log = region_log.clone();
                cx.defer(async move { log.push(format!("finalizer {i}")) });
            }
            for name in ["a", "b"] {
                let task_log = region_log.clone();
                cx.spawn(move |cx| async move {
                    let _ = time::sleep(&cx, Duration::from_secs(60)).await;
                    task_log.push(format!("{name} drained"));
                });
            }
            yield_now(&cx).await.ok();
            cx.cancel_region(CancelReason::user("stop"));
        })
        .await;
        assert!(outcome.is_ok());
        let events = log.events();
        assert_eq!(events[2..], ["finalizer 3", "finalizer 2", "finalizer 1"]);
        let mut drained = events[..2].to_vec();
        drained.sort();
        assert_eq!(drained, ["a drained", "b drained"]);
    });
}

#[test]
fn spawns_into_a_cancelled_region_are_born_cancelled_in_every_schedule() {
    on_each_flavor_and_lab(|cx| async move {
        Region::open(&cx, "closing", |cx| async move {
            let early = cx.spawn(|cx| async move { yield_now(&cx).await });
            cx.cancel_region(CancelReason::user("closing down"));
            let late = cx.spawn(|_cx| async {});
            assert!(late.is_finished());
            assert_eq!(
                late.join(&cx).await.cancel_reason().map(|r| r.kind),
                Some(CancelKind::RegionClosed)
            );
            // The early task either finished before noticing or saw the cancel.
            match early.join(&cx).await {
                Outcome::Ok(Ok(())) | Outcome::Ok(Err(_)) | Outcome::Cancelled(_) => {}
                Outcome::Panicked(p) => panic!("{}", p.message()),
                Outcome::Err(never) => match never {},
            }
        })
        .await
        .unwrap();
    });
}

#[test]
fn region_budget_deadline_cancels_body_and_children_in_every_schedule() {
    on_each_flavor_and_lab(|cx| async move {
        let outcome = Region::builder("bounded")
            .budget(Budget::timeout(20 * MS))
            .open(&cx, |cx| async move {
                let child = cx.spawn(|cx| async move {
                    time::sleep(&cx, Duration::from_secs(60))
                        .await
                        .err()
                        .map(|c| c.reason().kind)
                });
                let body = time::sleep(&cx, Duration::from_secs(60)).await;
                (
                    body.err().map(|c| c.reason().kind),
                    child.join(&cx).await.unwrap(),
                )
            })
            .await;
        let (body_kind, child_kind) = outcome.unwrap();
        assert_eq!(body_kind, Some(CancelKind::Deadline));
        assert_eq!(child_kind, Some(CancelKind::ParentCancelled));
    });
}

#[test]
fn a_panicking_body_cancels_its_children_in_every_schedule() {
    on_each_flavor_and_lab(|cx| async move {
        let child_saw = Arc::new(Mutex::new(None));
        let slot = child_saw.clone();
        let outcome: Outcome<()> = Region::open(&cx, "panicky", |cx| async move {
            cx.spawn(move |cx| async move {
                let r = time::sleep(&cx, Duration::from_secs(60)).await;
                *slot.lock().unwrap() = r.err().map(|c| c.reason().root_cause().kind);
            });
            time::sleep(&cx, 2 * MS).await.unwrap();
            panic!("body failed");
        })
        .await;
        assert!(outcome.is_panicked());
        assert_eq!(*child_saw.lock().unwrap(), Some(CancelKind::Panic));
    });
}

/// The loser-drain oracle watches real races: across seeds, `race!` and `select!`
/// never return before every loser they cancelled has closed, and the trace shows
/// both ends of that check.
#[test]
fn races_pass_the_loser_drain_oracle_across_seeds() {
    use asupersync::time::sleep;
    use std::time::Duration;
    let report = asupersync::lab::LabRuntime::new(asupersync::lab::LabConfig::seed(3)).block_on(
        |cx| async move {
            asupersync::race!(cx;
                async { sleep(cx, Duration::from_millis(1)).await.ok(); 1 },
                async { sleep(cx, Duration::from_secs(60)).await.ok(); 2 },
            )
            .unwrap()
        },
    );
    let kinds: Vec<_> = report.trace().iter().map(|e| e.kind.clone()).collect();
    assert!(kinds.contains(&asupersync::trace::TraceKind::RaceLoserCancelled));
    assert!(kinds.contains(&asupersync::trace::TraceKind::RaceReturned));
    assert_eq!(report.unwrap(), 1);

    common::on_lab(|cx| async move {
        let chosen = asupersync::select! {
            v = async { sleep(&cx, Duration::from_millis(2)).await.ok(); 1 } => v,
            v = async { sleep(&cx, Duration::from_millis(3)).await.ok(); 2 } => v,
        };
        let raced = asupersync::race!(cx;
            async { asupersync::task::yield_now(cx).await.ok(); "a" },
            async { asupersync::task::yield_now(cx).await.ok(); "b" },
        );
        (chosen, raced.unwrap())
    });
}
