//! Regions close to quiescence, own their tasks, and run finalizers last.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use asupersync::{time, Budget, CancelKind, CancelReason, Outcome, Region};
use common::*;

#[test]
fn region_waits_for_late_children() {
    on_each_flavor(|cx| async move {
        let done = flag();
        let seen = done.clone();
        let outcome = Region::open(&cx, "late", |cx| async move {
            cx.spawn(move |cx| async move {
                time::sleep(&cx, 30 * MS).await.unwrap();
                seen.store(true, Ordering::SeqCst);
            });
            "body returned"
        })
        .await;
        assert_eq!(outcome.unwrap(), "body returned");
        assert!(
            done.load(Ordering::SeqCst),
            "the region returned before its child finished"
        );
    });
}

#[test]
fn children_may_spawn_after_the_body_returned() {
    // Like a Trio nursery: an accept loop in a child keeps spawning after the body ends.
    on_each_flavor(|cx| async move {
        let spawned = counter();
        let count = spawned.clone();
        Region::open(&cx, "nursery", |cx| async move {
            cx.spawn(move |cx| async move {
                for _ in 0..3 {
                    time::sleep(&cx, 5 * MS).await.unwrap();
                    let count = count.clone();
                    let handle = cx.spawn(move |_cx| async move {
                        count.fetch_add(1, Ordering::SeqCst);
                    });
                    assert!(
                        handle.join(&cx).await.is_ok(),
                        "a live child's spawn was refused"
                    );
                }
            });
        })
        .await
        .unwrap();
        assert_eq!(spawned.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn nested_regions_close_inside_out() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        let outer_log = log.clone();
        Region::open(&cx, "outer", |cx| async move {
            let inner_log = outer_log.clone();
            Region::open(&cx, "inner", |cx| async move {
                let task_log = inner_log.clone();
                cx.spawn(move |cx| async move {
                    time::sleep(&cx, 10 * MS).await.unwrap();
                    task_log.push("inner task done");
                });
                let fin_log = inner_log.clone();
                cx.defer(async move { fin_log.push("inner finalizer") });
            })
            .await
            .unwrap();
            outer_log.push("inner region returned");
        })
        .await
        .unwrap();
        assert_eq!(
            log.events(),
            [
                "inner task done",
                "inner finalizer",
                "inner region returned"
            ]
        );
    });
}

#[test]
fn finalizers_run_lifo_after_children_drain() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        let region_log = log.clone();
        let outcome = Region::open(&cx, "finalized", |cx| async move {
            for i in 1..=3 {
                let log = region_log.clone();
                cx.defer(async move { log.push(format!("finalizer {i}")) });
            }
            let task_log = region_log.clone();
            cx.spawn(move |cx| async move {
                // Cooperative: notices the cancel and drains before returning.
                let _ = time::sleep(&cx, Duration::from_secs(60)).await;
                task_log.push("child drained");
            });
            time::sleep(&cx, 5 * MS).await.unwrap();
            cx.cancel_region(CancelReason::user("stop"));
        })
        .await;
        assert!(outcome.is_ok(), "the body returned normally: {outcome:?}");
        assert_eq!(
            log.events(),
            ["child drained", "finalizer 3", "finalizer 2", "finalizer 1"]
        );
    });
}

#[test]
fn a_panicking_finalizer_does_not_stop_the_others() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        let l = log.clone();
        Region::open(&cx, "fin-panic", |cx| async move {
            let a = l.clone();
            cx.defer(async move { a.push("first registered") });
            cx.defer(async move { panic!("finalizer panics") });
        })
        .await
        .unwrap();
        assert_eq!(log.events(), ["first registered"]);
    });
}

#[test]
fn a_panicking_finalizer_is_recorded_and_fails_a_lab_run() {
    let rt = asupersync::RuntimeBuilder::current_thread()
        .trace(true)
        .build()
        .unwrap();
    rt.block_on(|cx| async move {
        Region::open(&cx, "fin", |cx| async move {
            cx.defer(async { panic!("finalizer bug") });
        })
        .await
        .unwrap();
    })
    .unwrap();
    let recorded = rt
        .take_trace()
        .into_iter()
        .any(|e| e.kind == asupersync::trace::TraceKind::FinalizerPanicked("finalizer bug".into()));
    assert!(recorded, "the panic must be in the trace");

    let report = asupersync::lab::LabRuntime::new(asupersync::lab::LabConfig::seed(1)).block_on(
        |cx| async move {
            Region::open(&cx, "fin", |cx| async move {
                cx.defer(async { panic!("finalizer bug") });
            })
            .await
            .unwrap();
        },
    );
    let failure = report
        .failure()
        .expect("a lab run with a panicking finalizer fails");
    assert!(
        failure.contains("[finalizer-panic]") && failure.contains("finalizer bug"),
        "{failure}"
    );
}

#[test]
fn spawn_into_a_cancelled_region_is_born_cancelled() {
    on_each_flavor(|cx| async move {
        let called = flag();
        let was_called = called.clone();
        Region::open(&cx, "closing", |cx| async move {
            cx.cancel_region(CancelReason::user("closing down"));
            let handle = cx.spawn(move |_cx| {
                was_called.store(true, Ordering::SeqCst);
                async {}
            });
            assert!(handle.is_finished());
            match handle.join(&cx).await {
                Outcome::Cancelled(reason) => {
                    assert_eq!(reason.kind, CancelKind::RegionClosed);
                    assert!(reason.to_string().contains("closing"), "{reason}");
                }
                other => panic!("expected a born-cancelled task, got {other:?}"),
            }
        })
        .await
        .unwrap();
        assert!(
            !called.load(Ordering::SeqCst),
            "a born-cancelled task must not run"
        );
    });
}

#[test]
fn spawn_from_a_finalizer_is_born_cancelled() {
    on_each_flavor(|cx| async move {
        let result = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot = result.clone();
        Region::open(&cx, "finalizing", |cx| async move {
            let finalizer_cx = cx.clone();
            cx.defer(async move {
                let handle = finalizer_cx.spawn(|_cx| async { 1 });
                let outcome = handle.join(&finalizer_cx).await;
                *slot.lock().unwrap() = Some(outcome.cancel_reason().map(|r| r.kind));
            });
        })
        .await
        .unwrap();
        assert_eq!(
            *result.lock().unwrap(),
            Some(Some(CancelKind::RegionClosed))
        );
    });
}

#[test]
fn region_budget_deadline_cancels_the_region() {
    on_each_flavor(|cx| async move {
        let started = std::time::Instant::now();
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
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn a_panicking_body_cancels_its_children_and_still_waits() {
    on_each_flavor(|cx| async move {
        let child_saw = std::sync::Arc::new(std::sync::Mutex::new(None));
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
        match outcome {
            Outcome::Panicked(p) => assert_eq!(p.message(), "body failed"),
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(*child_saw.lock().unwrap(), Some(CancelKind::Panic));
    });
}

#[test]
fn region_opened_in_a_cancelled_scope_starts_cancelled() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            // Wait for our own cancellation, then open a region while draining.
            let _ = time::sleep(&cx, Duration::from_secs(60)).await;
            Region::open(&cx, "cleanup", |cx| async move { cx.is_cancel_requested() })
                .await
                .unwrap()
        });
        time::sleep(&cx, 2 * MS).await.unwrap();
        handle.cancel(CancelReason::user("stop"));
        assert!(
            handle.join(&cx).await.unwrap(),
            "the region inherited no cancel"
        );
    });
}

#[test]
fn a_dropped_region_future_still_cancels_drains_and_finalizes() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        let l = log.clone();
        // The timeout drops the Region::open future mid-body.
        let timed_out = time::timeout(&cx, 10 * MS, async {
            Region::open(&cx, "abandoned", |cx| async move {
                let task_log = l.clone();
                cx.spawn(move |cx| async move {
                    let r = time::sleep(&cx, Duration::from_secs(60)).await;
                    task_log.push(format!("child cancelled: {}", r.is_err()));
                });
                let fin = l.clone();
                cx.defer(async move { fin.push("finalizer") });
                std::future::pending::<()>().await;
            })
            .await
        })
        .await;
        assert!(timed_out.is_err());
        // The parent region (the root) cannot close before the abandoned one; yield
        // until the detached finalization has run.
        for _ in 0..200 {
            if log.events().len() == 2 {
                break;
            }
            time::sleep(&cx, MS).await.unwrap();
        }
        assert_eq!(log.events(), ["child cancelled: true", "finalizer"]);
    });
}

#[test]
fn many_tasks_all_finish_before_the_region_closes() {
    on_each_flavor(|cx| async move {
        let finished = counter();
        let count = finished.clone();
        Region::open(&cx, "fan-out", |cx| async move {
            for i in 0..1000u64 {
                let count = count.clone();
                cx.spawn(move |cx| async move {
                    if i % 10 == 0 {
                        asupersync::task::yield_now(&cx).await.unwrap();
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
        .await
        .unwrap();
        assert_eq!(finished.load(Ordering::SeqCst), 1000);
    });
}
