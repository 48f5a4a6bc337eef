//! `task::spawn_blocking`: results, region ownership, the cancel flag, the thread cap,
//! keep-alive, and no thread left behind when the runtime is dropped.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asupersync::task::{spawn_blocking, spawn_blocking_with};
use asupersync::{CancelKind, CancelReason, Outcome, Region};
use common::{flag, flavors, on_each_flavor, MS};

/// Threads of this process whose name starts with `prefix` (names are cut to 15 bytes).
fn threads_named(prefix: &str) -> usize {
    common::thread_names()
        .iter()
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[test]
fn spawn_blocking_returns_the_closures_value() {
    on_each_flavor(|cx| async move {
        let handle = spawn_blocking(&cx, || {
            std::thread::sleep(Duration::from_millis(5));
            std::thread::current().name().map(str::to_owned)
        });
        let name = handle.join(&cx).await.unwrap().unwrap();
        assert!(name.ends_with("-blocking"), "ran on {name}");
    });
}

#[test]
fn the_region_does_not_close_while_its_blocking_job_runs() {
    on_each_flavor(|cx| async move {
        let done = flag();
        let job_done = done.clone();
        let start = Instant::now();
        let outcome = Region::open(&cx, "owner", |cx| async move {
            // The handle is dropped at once: the region still owns the job.
            drop(spawn_blocking(&cx, move || {
                std::thread::sleep(Duration::from_millis(100));
                job_done.store(true, Ordering::SeqCst);
            }));
        })
        .await;
        assert!(outcome.is_ok());
        assert!(
            done.load(Ordering::SeqCst),
            "the region closed before its job finished"
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
    });
}

#[test]
fn a_cancelled_job_sees_its_flag_and_its_value_is_still_returned() {
    on_each_flavor(|cx| async move {
        let handle = spawn_blocking_with(&cx, |cancel| {
            let start = Instant::now();
            while !cancel.is_cancelled() {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "flag never raised"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            "stopped early"
        });
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        handle.cancel(CancelReason::new(CancelKind::User));
        assert_eq!(handle.join(&cx).await.unwrap(), "stopped early");
    });
}

#[test]
fn a_panicking_job_joins_as_panicked() {
    on_each_flavor(|cx| async move {
        let handle = spawn_blocking(&cx, || -> u32 { panic!("job failed") });
        match handle.join(&cx).await {
            Outcome::Panicked(p) => assert!(p.message().contains("job failed")),
            other => panic!("expected Panicked, got {:?}", other.map(|_| ())),
        }
        // The pool still serves.
        assert_eq!(spawn_blocking(&cx, || 7).join(&cx).await.unwrap(), 7);
    });
}

#[test]
fn the_thread_cap_bounds_concurrent_jobs() {
    for (name, builder) in flavors() {
        let rt = builder.max_blocking_threads(2).build().unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        rt.block_on(move |cx| async move {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let (running, peak) = (r.clone(), p.clone());
                    spawn_blocking(&cx, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
                .collect();
            for h in handles {
                h.join(&cx).await.unwrap();
            }
        })
        .unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 2, "[{name}]");
    }
}

#[test]
fn idle_blocking_threads_exit_after_keep_alive() {
    for (name, builder) in flavors() {
        let rt = builder
            .thread_name("kalive")
            .thread_keep_alive(Duration::from_millis(30))
            .build()
            .unwrap();
        rt.block_on(|cx| async move {
            spawn_blocking(&cx, || ()).join(&cx).await.unwrap();
            let start = Instant::now();
            while threads_named("kalive-blocking") > 0 {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "[{name}] idle thread never exited"
                );
                asupersync::time::sleep(&cx, 5 * MS).await.unwrap();
            }
        })
        .unwrap();
    }
}

#[test]
fn dropping_the_runtime_joins_the_blocking_threads_and_io_needs_no_thread() {
    for (name, builder) in flavors() {
        let rt = builder.thread_name("noleak").build().unwrap();
        rt.block_on(|cx| async move {
            // Real IO: the runtime's own threads drive the reactor.
            let socket = asupersync::net::UdpSocket::bind(&cx, "127.0.0.1:0")
                .await
                .unwrap();
            let addr = socket.local_addr().unwrap();
            socket.send_to(&cx, b"ping", addr).await.unwrap();
            let mut buf = [0u8; 8];
            let (n, _) = socket.recv_from(&cx, &mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping", "[{name}]");
            drop(socket);
            let others: Vec<String> = common::thread_names()
                .into_iter()
                .filter(|n| n.starts_with("noleak-"))
                .filter(|n| !n["noleak-".len()..].bytes().all(|b| b.is_ascii_digit()))
                .collect();
            assert!(
                others.is_empty(),
                "[{name}] IO started a thread besides the workers: {others:?}"
            );
            // Start the pool.
            spawn_blocking(&cx, || ()).join(&cx).await.unwrap();
            // A thread names itself once it runs: give it a moment.
            let start = Instant::now();
            while threads_named("noleak-blocking") != 1 {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "[{name}] the blocking thread runs"
                );
                asupersync::time::sleep(&cx, MS).await.unwrap();
            }
        })
        .unwrap();
        drop(rt);
        let left = common::threads_left("noleak");
        assert!(
            left.is_empty(),
            "[{name}] threads outlived their runtime: {left:?}"
        );
    }
}
