//! Building runtimes, block_on, shutdown, traces.

mod common;

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use asupersync::trace::TraceKind;
use asupersync::{time, Budget, CancelKind, Outcome, Region, RuntimeBuilder, RuntimeError};
use common::*;

#[test]
fn bad_configuration_is_an_error_not_a_panic() {
    let zero = RuntimeBuilder::multi_thread()
        .worker_threads(0)
        .build()
        .unwrap_err();
    assert!(zero.to_string().contains("at least 1"), "{zero}");
    let drain = RuntimeBuilder::current_thread()
        .drain_budget(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(drain.to_string().contains("drain_budget"), "{drain}");
    let workers = RuntimeBuilder::current_thread()
        .worker_threads(4)
        .build()
        .unwrap_err();
    assert!(workers.to_string().contains("multi_thread"), "{workers}");
    let name = RuntimeBuilder::current_thread()
        .thread_name("")
        .build()
        .unwrap_err();
    assert!(name.to_string().contains("thread_name"), "{name}");
}

#[test]
fn block_on_inside_a_runtime_is_a_clear_error() {
    for_each_runtime(|rt| {
        let inner = rt
            .block_on(|_cx| async move {
                let other = current_thread();
                match other.block_on(|_cx| async { 1 }) {
                    Outcome::Err(e) => e,
                    other => panic!("nested block_on ran: {other:?}"),
                }
            })
            .unwrap();
        assert_eq!(inner, RuntimeError::NestedBlockOn);
        let message = inner.to_string();
        assert!(
            message.contains(".await") && message.contains("spawn_blocking"),
            "{message}"
        );
    });
}

#[test]
fn block_on_can_run_again_after_returning() {
    for_each_runtime(|rt| {
        assert_eq!(rt.block_on(|_cx| async { 1 }).unwrap(), 1);
        assert_eq!(rt.block_on(|_cx| async { 2 }).unwrap(), 2);
    });
}

#[test]
fn a_panicking_body_is_reported_not_propagated() {
    for_each_runtime(
        |rt| match rt.block_on(|_cx| async { panic!("root panic") }) {
            Outcome::Panicked(p) => assert_eq!(p.message(), "root panic"),
            other => panic!("expected Panicked, got {:?}", other.map(|_: ()| ())),
        },
    );
}

#[test]
fn block_on_borrows_from_the_callers_stack() {
    for_each_runtime(|rt| {
        let local = String::from("borrowed");
        let len = rt.block_on(|_cx| async { local.len() }).unwrap();
        assert_eq!(len, 8);
    });
}

#[test]
fn shutdown_from_another_thread_fires_the_signal_and_cancels_tasks() {
    for_each_runtime(|rt| {
        let handle = rt.handle();
        let stopper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            handle.shutdown(Budget::timeout(Duration::from_secs(5)));
        });
        let (child_kind, signalled) = rt
            .block_on(|cx| async move {
                let child = cx.spawn(|cx| async move {
                    time::sleep(&cx, Duration::from_secs(60))
                        .await
                        .unwrap_err()
                        .reason()
                        .kind
                });
                cx.shutdown_signal().await;
                (child.join(&cx).await.unwrap(), true)
            })
            .unwrap();
        stopper.join().unwrap();
        assert!(signalled);
        assert_eq!(child_kind, CancelKind::Shutdown);
    });
}

#[test]
fn shutdown_with_a_non_cooperative_task_finishes_within_its_budget() {
    for_each_runtime(|rt| {
        let handle = rt.handle();
        let dropped = flag();
        let d = dropped.clone();
        let stopper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let started = Instant::now();
            handle.shutdown(Budget::timeout(Duration::from_millis(50)));
            started
        });
        let outcome = rt.block_on(move |cx| async move {
            cx.spawn(move |_cx| async move {
                let _guard = DropFlag(d);
                std::future::pending::<()>().await
            });
            std::future::pending::<()>().await
        });
        let shutdown_at = stopper.join().unwrap();
        assert!(outcome.is_cancelled(), "{:?}", outcome.map(|_| ()));
        assert_eq!(outcome.cancel_reason().unwrap().kind, CancelKind::Shutdown);
        assert!(dropped.load(Ordering::SeqCst));
        assert!(
            shutdown_at.elapsed() < Duration::from_secs(5),
            "{:?}",
            shutdown_at.elapsed()
        );
    });
}

#[test]
fn the_trace_shows_the_protocol_steps_in_order() {
    for (flavor, builder) in flavors() {
        let rt = builder.trace(true).build().unwrap();
        rt.block_on(|cx| async move {
            Region::open(&cx, "traced", |cx| async move {
                cx.trace("body started");
                cx.defer(async {});
                let h = cx.spawn(|_cx| async { std::future::pending::<()>().await });
                time::sleep(&cx, MS).await.unwrap();
                h.cancel_with(Budget::timeout(5 * MS));
            })
            .await
            .unwrap();
        })
        .unwrap();
        let kinds: Vec<TraceKind> = rt.take_trace().into_iter().map(|e| e.kind).collect();
        let pos = |k: &TraceKind| {
            kinds
                .iter()
                .position(|x| x == k)
                .unwrap_or_else(|| panic!("{k:?} missing from {kinds:?}"))
        };
        let order = [
            pos(&TraceKind::User("body started".into())),
            pos(&TraceKind::Spawned),
            pos(&TraceKind::CancelRequested(CancelKind::User)),
            pos(&TraceKind::DrainExpired),
            pos(&TraceKind::TaskFinished(asupersync::Severity::Cancelled)),
            pos(&TraceKind::RegionFinalizing),
            pos(&TraceKind::FinalizerRan),
        ];
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "out of order: {kinds:?}"
        );
        assert!(rt.take_trace().is_empty(), "take_trace clears the buffer");
        eprintln!("[{flavor}] ok");
    }
}

#[test]
fn the_trace_is_empty_when_off() {
    for_each_runtime(|rt| {
        rt.block_on(|cx| async move {
            cx.trace("ignored");
            cx.spawn(|_cx| async {}).join(&cx).await.unwrap();
        })
        .unwrap();
        assert!(rt.take_trace().is_empty());
    });
}

/// Shutdown reaches a task inside a region the `block_on` body is waiting on: the
/// task ignores cancellation, is dropped when the drain budget is spent, the region
/// closes and `block_on` returns.
#[test]
fn shutdown_drops_a_stubborn_task_in_a_nested_region_within_its_budget() {
    for (name, builder) in common::flavors() {
        let rt = builder.build().unwrap();
        let handle = rt.handle();
        let stopper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            handle.shutdown(Budget::timeout(Duration::from_millis(200)));
            Instant::now()
        });
        let dropped = flag();
        let d = dropped.clone();
        let outcome = rt.block_on(move |cx| async move {
            Region::open(&cx, "inner", |cx| async move {
                cx.spawn(move |cx| async move {
                    let _guard = DropFlag(d);
                    let _ = time::sleep(&cx, Duration::from_secs(60)).await;
                    std::future::pending::<()>().await
                });
            })
            .await
        });
        let shutdown_at = stopper.join().unwrap();
        assert!(
            dropped.load(Ordering::SeqCst),
            "[{name}] the stubborn task was not dropped"
        );
        assert!(
            shutdown_at.elapsed() < Duration::from_secs(5),
            "[{name}] {:?}",
            shutdown_at.elapsed()
        );
        assert!(
            outcome.is_ok() || outcome.is_cancelled(),
            "[{name}] {:?}",
            outcome.map(|_| ())
        );
    }
}

/// A shutdown signal that loses a race stops waiting when it is cancelled, so the race
/// returns at once instead of holding for the drain budget.
#[test]
fn a_shutdown_signal_that_loses_a_race_drains_at_once() {
    on_each_flavor(|cx| async move {
        let started = Instant::now();
        let winner = asupersync::race!(cx;
            async { cx.shutdown_signal().await; "shutdown" },
            async { "work done" },
        );
        assert_eq!(winner.unwrap(), "work done");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    });
}

/// `shutdown` stops the runtime without waiting for it to be dropped: once the
/// running `block_on` has returned, its workers and pool threads are gone, its IO is
/// closed, and a later `block_on` does not run its body.
#[test]
fn shutdown_stops_the_threads_without_dropping_the_runtime() {
    for (i, (name, builder)) in flavors().into_iter().enumerate() {
        // Short: /proc shows only the first 15 bytes of a thread's name.
        let prefix = format!("stop{i}-");
        let rt = builder.thread_name(prefix.clone()).build().unwrap();
        let handle = rt.handle();
        let p = prefix.clone();
        let outcome = rt.block_on(|cx| async move {
            asupersync::task::spawn_blocking(&cx, || ())
                .join(&cx)
                .await
                .unwrap();
            assert!(
                thread_names().iter().any(|n| n.starts_with(&p)),
                "[{name}] the pool thread runs before the shutdown"
            );
            let socket = asupersync::net::UdpSocket::bind(&cx, "127.0.0.1:0")
                .await
                .unwrap();
            handle.shutdown(Budget::timeout(Duration::from_secs(5)));
            let mut buf = [0u8; 8];
            // Cancelled by the shutdown (nobody sends).
            socket.recv_from(&cx, &mut buf).await
        });
        assert_eq!(
            outcome.cancel_reason().map(|r| r.kind),
            None,
            "[{name}] the body itself returned"
        );
        assert!(
            outcome.unwrap().is_err(),
            "[{name}] the receive was cancelled"
        );
        let left = threads_left(&prefix);
        assert!(left.is_empty(), "[{name}] still running: {left:?}");

        let ran = flag();
        let r = ran.clone();
        let again = rt.block_on(move |_cx| async move { r.store(true, Ordering::SeqCst) });
        assert_eq!(
            again.cancel_reason().map(|r| r.kind),
            Some(CancelKind::Shutdown),
            "[{name}]"
        );
        assert!(!ran.load(Ordering::SeqCst), "[{name}] the body did not run");
    }
}

/// A shutdown with no `block_on` running stops the threads at once.
#[test]
fn shutdown_of_an_idle_runtime_stops_its_threads_at_once() {
    let rt = RuntimeBuilder::multi_thread()
        .worker_threads(2)
        .thread_name("idle-stop")
        .build()
        .unwrap();
    rt.block_on(|cx| async move {
        asupersync::task::spawn_blocking(&cx, || ())
            .join(&cx)
            .await
            .unwrap();
    })
    .unwrap();
    assert!(
        thread_names().iter().any(|n| n.starts_with("idle-stop")),
        "the workers run before the shutdown"
    );
    rt.shutdown(Budget::INFINITE);
    let left = threads_left("idle-stop");
    assert!(left.is_empty(), "still running: {left:?}");
}

/// A current-thread runtime runs one `block_on` at a time: a second one, from another
/// thread, is refused while the first runs, and runs once it has returned.
#[test]
fn a_current_thread_runtime_refuses_a_second_block_on_while_one_runs() {
    let rt = RuntimeBuilder::current_thread().build().unwrap();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            rt.block_on(|_cx| async move {
                entered_tx.send(()).unwrap();
                // asupersync: allow(blocking-in-async) -- blocks the runtime's only thread on purpose, so it stays running
                release_rx.recv().unwrap();
                1
            })
        });
        entered_rx.recv().unwrap();
        let second = rt.block_on(|_cx| async { 2 });
        assert!(
            matches!(second, Outcome::Err(RuntimeError::AlreadyRunning)),
            "{:?}",
            second.map(|_| ())
        );
        release_tx.send(()).unwrap();
        assert_eq!(first.join().unwrap().unwrap(), 1);
    });
    assert_eq!(rt.block_on(|_cx| async { 3 }).unwrap(), 3);
}
