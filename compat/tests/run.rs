//! `run` across the boundary: values, panics, cancellation both ways, ownership by the
//! caller's region, and the host's accounting of what quarantined code spawns.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use asupersync::{Budget, CancelKind, CancelReason, Cx, Outcome, Region};
use asupersync_tokio_compat::{cancelled, run, TokioHost};
use common::{flag, DropFlag, MS};

use support::common;

fn on_each_flavor<T, F, Fut>(drain: Duration, body: F) -> Vec<T>
where
    F: Fn(Cx) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    support::on_each_flavor_with_drain(drain, body)
}

fn host(name: &str) -> TokioHost {
    TokioHost::builder()
        .worker_threads(2)
        .thread_name(name)
        .build()
        .unwrap()
}

/// Waits (on the calling thread) until `condition` holds, failing after 2 s.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(MS);
    }
}

#[test]
fn run_returns_the_value_computed_on_the_host_threads() {
    on_each_flavor(Duration::from_secs(5), |cx| async move {
        let native_thread = std::thread::current().id();
        let outcome = run(&cx, async move {
            // Tokio-only API: panics outside a Tokio runtime.
            tokio::time::sleep(MS).await;
            let thread = std::thread::current();
            (thread.id(), thread.name().map(str::to_owned))
        })
        .await;
        let (thread, name) = outcome.unwrap();
        assert_ne!(thread, native_thread, "ran on the native thread");
        let name = name.expect("host threads are named");
        assert!(name.starts_with("asupersync-tokio-"), "thread name {name}");
    });
}

#[test]
fn builder_names_the_threads() {
    let host = host("compat-named");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let name = host
                .run(&cx, async {
                    std::thread::current().name().map(str::to_owned)
                })
                .await
                .unwrap()
                .unwrap();
            assert!(name.starts_with("compat-named-"), "thread name {name}");
        }
    });
}

#[test]
fn a_panic_on_the_tokio_side_comes_back_as_panicked() {
    let host = host("compat-panic");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let outcome = host
                .run(&cx, async {
                    tokio::task::yield_now().await;
                    panic!("boom in tokio");
                })
                .await;
            match outcome {
                Outcome::Panicked(payload) => assert_eq!(payload.message(), "boom in tokio"),
                other => panic!("expected Panicked, got {other:?}"),
            }
            // The host survives the panic.
            assert_eq!(host.run(&cx, async { 7 }).await.unwrap(), 7);
        }
    });
    assert_eq!(host.metrics().runs_panicked, common::flavors().len() as u64);
}

#[test]
fn a_native_cancel_reaches_the_tokio_future_through_its_token() {
    let host = host("compat-coop");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let dropped = flag();
            let dropped_in_task = dropped.clone();
            let task = cx.spawn(move |cx| async move {
                let outcome = host
                    .run(&cx, async move {
                        let _alive = DropFlag(dropped_in_task);
                        tokio::select! {
                            () = cancelled() => {
                                let reason = asupersync_tokio_compat::current_token()
                                    .and_then(|t| t.reason())
                                    .map(|r| r.kind);
                                format!("stopped: {reason:?}")
                            }
                            () = tokio::time::sleep(Duration::from_secs(60)) => "slept".into(),
                        }
                    })
                    .await;
                (outcome.unwrap(), Instant::now())
            });
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            let requested = Instant::now();
            task.cancel(CancelReason::user("stop the quarantined work"));
            let (message, returned) = task.join(&cx).await.unwrap();
            assert_eq!(message, "stopped: Some(User)");
            assert!(
                dropped.load(Ordering::SeqCst),
                "run returned before the drop"
            );
            let latency = returned - requested;
            assert!(latency < Duration::from_millis(500), "latency {latency:?}");
        }
    });
    assert_eq!(
        host.metrics().cancellations_bridged,
        common::flavors().len() as u64
    );
}

#[test]
fn a_future_that_ignores_its_token_is_aborted_before_the_drain_is_spent() {
    let host = host("compat-abort");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let dropped = flag();
            let dropped_in_task = dropped.clone();
            let task = cx.spawn(move |cx| async move {
                let flag_in_future = dropped_in_task.clone();
                let outcome = host
                    .run(&cx, async move {
                        let _alive = DropFlag(flag_in_future);
                        // Ignores cancellation entirely.
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    })
                    .await;
                // Observed by the native task as `run` returns.
                (
                    outcome,
                    dropped_in_task.load(Ordering::SeqCst),
                    Instant::now(),
                )
            });
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            let requested = Instant::now();
            task.cancel_with(Budget::timeout(Duration::from_millis(400)));
            let (outcome, dropped_when_run_returned, returned) = task.join(&cx).await.unwrap();
            match outcome {
                Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::User),
                other => panic!("expected Cancelled, got {other:?}"),
            }
            assert!(dropped_when_run_returned, "run returned before the drop");
            assert!(dropped.load(Ordering::SeqCst));
            let latency = returned - requested;
            assert!(
                latency < Duration::from_millis(400 + 500),
                "latency {latency:?}"
            );
        }
    });
    let metrics = host.metrics();
    assert_eq!(metrics.runs_aborted, common::flavors().len() as u64);
    assert_eq!(metrics.runs_in_flight, 0);
}

/// When the native side drops a `run` (a timeout, a lost race, a drain the host could
/// not see coming), the drop itself waits for the Tokio future to be dropped.
#[test]
fn a_dropped_run_waits_until_the_tokio_future_is_dropped() {
    let host = host("compat-drop");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let dropped = flag();
            let dropped_in_future = dropped.clone();
            let timed_out = asupersync::time::timeout(
                &cx,
                20 * MS,
                host.run(&cx, async move {
                    let _alive = SlowDrop(dropped_in_future);
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }),
            )
            .await;
            assert!(timed_out.is_err());
            assert!(
                dropped.load(Ordering::SeqCst),
                "the run was dropped while the Tokio future was alive"
            );
        }
    });
    let metrics = host.metrics();
    assert_eq!(metrics.runs_in_flight, 0);
    assert_eq!(metrics.runs_aborted, common::flavors().len() as u64);
}

/// Sets its flag only at the end of a slow destructor, so a waiter that does not wait
/// sees it unset.
struct SlowDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(50));
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn the_region_does_not_close_while_the_tokio_future_runs() {
    let host = host("compat-region");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let finished = flag();
            let finished_in_task = finished.clone();
            let outcome = Region::open(&cx, "quarantine", move |cx| async move {
                cx.spawn(move |cx| async move {
                    host.run(&cx, async move {
                        tokio::time::sleep(Duration::from_millis(80)).await;
                        finished_in_task.store(true, Ordering::SeqCst);
                    })
                    .await
                });
                // The body returns at once; the region must wait for the run.
            })
            .await;
            assert!(outcome.is_ok());
            assert!(finished.load(Ordering::SeqCst), "the region closed early");
        }
    });
}

#[test]
fn cancelling_the_region_cancels_the_tokio_future_and_run_reports_it() {
    let host = host("compat-region-cancel");
    on_each_flavor(Duration::from_millis(200), |cx| {
        let host = host.clone();
        async move {
            let dropped = flag();
            let dropped_in_body = dropped.clone();
            let outcome = Region::open(&cx, "quarantine", move |cx| async move {
                let canceller = cx.clone();
                cx.spawn(move |cx| async move {
                    asupersync::time::sleep(&cx, 20 * MS).await.ok();
                    canceller.cancel_region(CancelReason::user("region cancelled"));
                });
                let flag_in_future = dropped_in_body.clone();
                let outcome = host
                    .run(&cx, async move {
                        let _alive = DropFlag(flag_in_future);
                        std::future::pending::<()>().await;
                    })
                    .await;
                (outcome, dropped_in_body.load(Ordering::SeqCst))
            })
            .await;
            let (run_outcome, dropped_when_returned) = outcome.unwrap();
            match run_outcome {
                Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::User),
                other => panic!("expected Cancelled, got {other:?}"),
            }
            assert!(dropped_when_returned);
            assert!(dropped.load(Ordering::SeqCst));
        }
    });
}

#[test]
fn a_run_whose_caller_is_already_cancelled_never_starts() {
    let host = host("compat-born-cancelled");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let started = flag();
            let started_in_task = started.clone();
            let task = cx.spawn(move |cx| async move {
                // Make sure the cancel lands before the run is polled.
                asupersync::time::sleep(&cx, 50 * MS).await.ok();
                host.run(&cx, async move {
                    started_in_task.store(true, Ordering::SeqCst);
                })
                .await
            });
            task.cancel(CancelReason::user("early"));
            let outcome = task.join(&cx).await.unwrap();
            assert!(outcome.is_cancelled(), "{outcome:?}");
            assert!(!started.load(Ordering::SeqCst));
        }
    });
    assert_eq!(host.metrics().runs_started, 0);
}

#[test]
fn tasks_the_quarantined_code_joins_are_gone_when_its_region_closes() {
    let host = host("compat-joined");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let region_host = host.clone();
            let outcome = Region::open(&cx, "quarantine", |cx| async move {
                region_host
                    .run(&cx, async {
                        let tasks: Vec<_> = (0..4u64)
                            .map(|i| {
                                tokio::spawn(async move {
                                    tokio::time::sleep(Duration::from_millis(5 * i)).await;
                                    i
                                })
                            })
                            .collect();
                        let mut total = 0;
                        for task in tasks {
                            total += task.await.unwrap();
                        }
                        total
                    })
                    .await
            })
            .await;
            assert_eq!(outcome.unwrap().unwrap(), 6);
            // Tokio releases a finished task just after publishing its output.
            eventually("no Tokio task alive", || {
                host.metrics().tokio_tasks_alive == 0
            });
            let metrics = host.metrics();
            assert_eq!(metrics.runs_in_flight, 0);
            assert_eq!(metrics.spawned_tasks_alive(), 0);
        }
    });
}

/// A shutdown with no deadline still ends when its caller is cancelled: the wait for
/// in-flight runs gives way to the cancellation, and the runs are aborted.
#[test]
fn an_unbounded_host_shutdown_ends_when_its_caller_is_cancelled() {
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host("compat-unbounded");
        async move {
            let in_flight_host = host.clone();
            let in_flight = cx.spawn(move |cx| async move {
                in_flight_host
                    .run(&cx, async move { std::future::pending::<()>().await })
                    .await
            });
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            let shutdown_host = host.clone();
            let shutdown =
                cx.spawn(
                    move |cx| async move { shutdown_host.shutdown(&cx, Budget::INFINITE).await },
                );
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            let started = Instant::now();
            shutdown.cancel(CancelReason::user("stop waiting"));
            let report = shutdown.join(&cx).await.unwrap();
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(report.runs_aborted, 1, "{report:?}");
            assert!(in_flight.join(&cx).await.unwrap().is_cancelled());
        }
    });
}

#[test]
fn host_shutdown_aborts_runs_and_spawned_tasks_and_reports_them() {
    on_each_flavor(Duration::from_secs(5), |cx| {
        // Shutdown is final: one host per flavor.
        let host = host("compat-shutdown");
        let spawned_dropped = flag();
        let run_dropped = flag();
        async move {
            // A task spawned and left behind by quarantined code.
            let leaked = spawned_dropped.clone();
            host.run(&cx, async move {
                drop(tokio::spawn(async move {
                    let _alive = DropFlag(leaked);
                    std::future::pending::<()>().await;
                }));
            })
            .await
            .unwrap();
            // A run in flight that ignores its token.
            let in_flight_host = host.clone();
            let run_dropped_in_task = run_dropped.clone();
            let in_flight = cx.spawn(move |cx| async move {
                in_flight_host
                    .run(&cx, async move {
                        let _alive = DropFlag(run_dropped_in_task);
                        std::future::pending::<()>().await;
                    })
                    .await
            });
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            assert_eq!(host.metrics().runs_in_flight, 1);
            assert_eq!(host.metrics().spawned_tasks_alive(), 1);

            let started = Instant::now();
            let report = host
                .shutdown(&cx, Budget::timeout(Duration::from_millis(400)))
                .await;
            assert!(started.elapsed() < Duration::from_secs(2));
            assert_eq!(report.runs_cancelled, 1);
            assert_eq!(report.runs_aborted, 1);
            assert_eq!(report.tokio_tasks_aborted, 2);
            assert!(report.completed_within_budget, "{report:?}");
            assert!(spawned_dropped.load(Ordering::SeqCst));
            assert!(run_dropped.load(Ordering::SeqCst));

            match in_flight.join(&cx).await.unwrap() {
                Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::Shutdown),
                other => panic!("expected Cancelled(Shutdown), got {other:?}"),
            }
            match host.run(&cx, async { 1 }).await {
                Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::Shutdown),
                other => panic!("expected Cancelled(Shutdown), got {other:?}"),
            }
            assert!(host.is_shut_down());
        }
    });
}

#[test]
fn host_shutdown_lets_cooperative_runs_finish_first() {
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host("compat-shutdown-coop");
        async move {
            let in_flight_host = host.clone();
            let in_flight = cx.spawn(move |cx| async move {
                in_flight_host
                    .run(&cx, async move {
                        cancelled().await;
                        asupersync_tokio_compat::current_token()
                            .and_then(|t| t.reason())
                            .map(|r| r.kind)
                    })
                    .await
            });
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            let report = host
                .shutdown(&cx, Budget::timeout(Duration::from_secs(2)))
                .await;
            assert_eq!(report.runs_cancelled, 1);
            assert_eq!(report.runs_aborted, 0);
            assert_eq!(report.tokio_tasks_aborted, 0);
            assert!(report.completed_within_budget);
            let seen = in_flight.join(&cx).await.unwrap().unwrap();
            assert_eq!(seen, Some(CancelKind::Shutdown));
        }
    });
}

#[test]
fn the_global_host_is_started_once() {
    let first: *const TokioHost = TokioHost::global();
    let second: *const TokioHost = TokioHost::global();
    assert_eq!(first, second);
    let host = Arc::new(TokioHost::global().clone());
    assert!(!host.is_shut_down());
}

#[test]
fn tracked_tasks_still_alive_when_the_run_ends_are_aborted_before_it_returns() {
    let host = host("compat-tracked");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let child_dropped = flag();
            let grandchild_dropped = flag();
            let (child_flag, grandchild_flag) = (child_dropped.clone(), grandchild_dropped.clone());
            let outcome = Region::open(&cx, "quarantine", |cx| {
                let host = host.clone();
                async move {
                    host.run(&cx, async move {
                        drop(asupersync_tokio_compat::spawn(async move {
                            let _alive = DropFlag(child_flag);
                            drop(asupersync_tokio_compat::spawn(async move {
                                let _alive = DropFlag(grandchild_flag);
                                std::future::pending::<()>().await;
                            }));
                            std::future::pending::<()>().await;
                        }));
                        tokio::time::sleep(10 * MS).await;
                        "returned without joining"
                    })
                    .await
                }
            })
            .await;
            assert_eq!(outcome.unwrap().unwrap(), "returned without joining");
            assert!(child_dropped.load(Ordering::SeqCst));
            assert!(grandchild_dropped.load(Ordering::SeqCst));
            assert_eq!(host.metrics().tracked_tasks_alive, 0);
        }
    });
}

#[test]
fn tracked_tasks_see_the_native_cancellation() {
    let host = host("compat-tracked-cancel");
    on_each_flavor(Duration::from_secs(5), |cx| {
        let host = host.clone();
        async move {
            let task = cx.spawn(move |cx| async move {
                host.run(&cx, async {
                    let child = asupersync_tokio_compat::spawn(async {
                        // The token follows the tracked spawn (a task-local would not
                        // follow tokio::spawn).
                        cancelled().await;
                        asupersync_tokio_compat::is_cancelled()
                    });
                    child.await.unwrap()
                })
                .await
            });
            asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
            task.cancel(CancelReason::user("stop"));
            assert!(task.join(&cx).await.unwrap().unwrap());
        }
    });
}

/// Migrated code mixes the two: a body that stays on Tokio as a whole (run in the
/// quarantine) may already use native primitives through a clone of the caller's cx.
/// They must work when polled on the host's threads: a native timer wakes a Tokio task,
/// a native lock hands over across the boundary, and a native cancel reaches them.
#[test]
fn native_primitives_work_inside_a_quarantined_future() {
    on_each_flavor(Duration::from_secs(5), |cx| async move {
        let inner = cx.clone();
        let lock = Arc::new(asupersync::sync::Mutex::new(0u32));
        let held = lock.lock(&cx).await.unwrap();
        let started = Instant::now();
        let contender = Arc::clone(&lock);
        let outcome = run(&cx, async move {
            let cx = &inner;
            asupersync::time::sleep(cx, 20 * MS).await.unwrap();
            let slept = started.elapsed();
            // Tokio's clock and the native one agree that time went by.
            tokio::time::sleep(MS).await;
            *contender.lock(cx).await.unwrap() += 1;
            slept
        });
        let releaser = cx.clone();
        let (slept, ()) = asupersync::join!(outcome, async move {
            asupersync::time::sleep(&releaser, 40 * MS).await.unwrap();
            drop(held);
        });
        let slept = slept.unwrap();
        assert!(slept >= 20 * MS, "woke early: {slept:?}");
        assert_eq!(*lock.lock(&cx).await.unwrap(), 1);
    });
}

#[test]
fn a_native_cancel_reaches_native_waits_inside_the_quarantine() {
    on_each_flavor(Duration::from_secs(5), |cx| async move {
        let started = Instant::now();
        let outcome = Region::open(&cx, "quarantined", |cx| async move {
            let handle = cx.spawn(move |cx| async move {
                let inner = cx.clone();
                run(&cx, async move {
                    asupersync::time::sleep(&inner, Duration::from_secs(30)).await
                })
                .await
            });
            asupersync::time::sleep(&cx, 10 * MS).await.unwrap();
            handle.cancel(CancelReason::user("stop"));
            handle.join(&cx).await
        })
        .await;
        // The native sleep saw the cancel (Ok(Err)) or the run was cancelled first;
        // either way well before the drain budget forced an abort.
        match outcome.unwrap() {
            Outcome::Cancelled(_) | Outcome::Ok(Outcome::Cancelled(_) | Outcome::Ok(Err(_))) => {}
            other => panic!("expected a cancel, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    });
}

/// A host on a current-thread runtime with its clock paused: what a
/// `#[tokio::test(start_paused = true)]` body needs once its entry point is native.
/// An hour of Tokio time passes at once, and the code may drive the clock itself.
#[test]
fn a_paused_host_runs_tokio_time_at_once_and_lets_the_code_drive_the_clock() {
    on_each_flavor(Duration::from_secs(5), |cx| async move {
        let host = TokioHost::builder()
            .thread_name("paused")
            .start_paused(true)
            .build()
            .unwrap();
        let started = Instant::now();
        let (slept, thread) = host
            .run(&cx, async {
                let t0 = tokio::time::Instant::now();
                tokio::time::sleep(Duration::from_secs(3600)).await;
                tokio::time::advance(Duration::from_secs(60)).await;
                (
                    t0.elapsed(),
                    std::thread::current().name().map(str::to_owned),
                )
            })
            .await
            .unwrap();
        assert!(slept >= Duration::from_secs(3660), "{slept:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            thread.as_deref(),
            Some("paused-0"),
            "one thread of the host's drives it"
        );
        let report = host
            .shutdown(&cx, Budget::timeout(Duration::from_secs(2)))
            .await;
        assert!(report.completed_within_budget, "{report:?}");
    });
}

#[test]
fn a_current_thread_host_lets_the_code_pause_the_clock_and_shuts_down_its_tasks() {
    on_each_flavor(Duration::from_secs(5), |cx| async move {
        let host = TokioHost::builder().current_thread().build().unwrap();
        let paused = host
            .run(&cx, async {
                tokio::time::pause();
                let t0 = tokio::time::Instant::now();
                tokio::time::advance(Duration::from_secs(5)).await;
                tokio::spawn(std::future::pending::<()>());
                t0.elapsed()
            })
            .await
            .unwrap();
        assert!(paused >= Duration::from_secs(5));
        let report = host
            .shutdown(&cx, Budget::timeout(Duration::from_secs(2)))
            .await;
        assert_eq!(report.tokio_tasks_aborted, 1, "{report:?}");
        assert!(report.completed_within_budget, "{report:?}");
    });
}
