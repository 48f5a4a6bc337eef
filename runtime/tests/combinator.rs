//! join!, race!, select! and TaskGroup on the real runtime.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use asupersync::channel::mpsc;
use asupersync::combinator::{JoinOutcomes, TaskGroup};
use asupersync::time::sleep;
use asupersync::{CancelKind, CancelReason, Outcome};
use common::{counter, on_each_flavor, Log, MS};

#[test]
fn join_runs_every_branch_and_returns_the_tuple() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        // `a` waits for `c`, which waits a little: the order of completion is fixed
        // by the data flow, not by timing.
        let (c_done, mut c_signal) = asupersync::channel::oneshot::channel::<()>();
        let (a, b, c) = asupersync::join!(
            async {
                c_signal.recv(&cx).await.unwrap();
                log.push("a");
                1
            },
            async {
                log.push("b");
                "two"
            },
            async {
                sleep(&cx, 2 * MS).await.unwrap();
                log.push("c");
                c_done.send(()).unwrap();
                3.0
            },
        );
        assert_eq!((a, b, c), (1, "two", 3.0));
        assert_eq!(log.events(), ["b", "c", "a"]);
    });
}

#[test]
fn join_finishes_the_other_branches_before_resuming_a_panic() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder.build().unwrap();
        let finished = common::flag();
        let seen = finished.clone();
        let outcome = rt.block_on(|cx| async move {
            asupersync::join!(
                async {
                    panic!("boom");
                },
                async {
                    sleep(&cx, 5 * MS).await.unwrap();
                    seen.store(true, Ordering::SeqCst);
                },
            )
        });
        assert!(outcome.is_panicked());
        assert!(
            finished.load(Ordering::SeqCst),
            "the other branch ran to completion"
        );
    }
}

#[test]
fn join_outcomes_keeps_the_most_severe() {
    let ok: Outcome<(i32, i32), &str> = (Outcome::Ok(1), Outcome::Ok(2)).join_outcomes();
    assert!(matches!(ok, Outcome::Ok((1, 2))));
    let mixed: Outcome<(i32, i32, i32), &str> = (
        Outcome::Err("e"),
        Outcome::Cancelled(CancelReason::new(CancelKind::Timeout)),
        Outcome::Ok(3),
    )
        .join_outcomes();
    assert_eq!(
        mixed.cancel_reason().map(|r| r.kind),
        Some(CancelKind::Timeout)
    );
    let list: Outcome<Vec<i32>, &str> = vec![Outcome::Ok(1), Outcome::Err("x")].join_outcomes();
    assert!(matches!(list, Outcome::Err("x")));
}

#[test]
fn race_returns_the_first_to_finish() {
    on_each_flavor(|cx| async move {
        let winner = asupersync::race!(cx;
            async {
                sleep(cx, 60_000 * MS).await.ok();
                "slow"
            },
            async {
                sleep(cx, 2 * MS).await.unwrap();
                "fast"
            },
        );
        assert_eq!(winner.unwrap(), "fast");
    });
}

#[test]
fn race_does_not_return_before_the_losers_finalizer_ran() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        let loser_log = log.clone();
        let winner = asupersync::race!(cx;
            async {
                sleep(cx, MS).await.unwrap();
                "winner"
            },
            async {
                let l = loser_log.clone();
                cx.defer(async move {
                    // A finalizer that itself takes time: race! must wait for it.
                    common::pending_once().await;
                    l.push("loser finalizer ran");
                });
                let result = sleep(cx, 60_000 * MS).await;
                let reason = result.expect_err("the loser is cancelled").into_reason();
                loser_log.push(format!("loser saw {}", reason.kind));
                "loser"
            },
        );
        log.push("race returned");
        assert_eq!(winner.unwrap(), "winner");
        assert_eq!(
            log.events(),
            [
                "loser saw race-lost",
                "loser finalizer ran",
                "race returned"
            ]
        );
    });
}

#[test]
fn race_drains_a_loser_that_ignores_cancellation_within_the_drain_budget() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder
            .drain_budget(Duration::from_millis(20))
            .build()
            .unwrap();
        let dropped = common::flag();
        let flag = dropped.clone();
        let started = std::time::Instant::now();
        let outcome = rt.block_on(|cx| async move {
            let winner = asupersync::race!(cx;
                async { "winner" },
                async {
                    let _guard = common::DropFlag(flag.clone());
                    // Ignores cancellation: never reaches a checkpoint.
                    loop {
                        common::pending_once().await;
                    }
                },
            );
            assert!(
                flag.load(Ordering::SeqCst),
                "the stubborn loser was dropped before race! returned"
            );
            winner.unwrap()
        });
        assert_eq!(outcome.unwrap(), "winner");
        assert!(dropped.load(Ordering::SeqCst));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn race_branch_tasks_are_owned_by_the_branch() {
    on_each_flavor(|cx| async move {
        let finished = counter();
        let seen = finished.clone();
        // Biased, the spawning branch first: it must get its first poll (and spawn)
        // before the instantly ready branch wins.
        let winner = asupersync::race!(cx;
            biased;
            async {
                let seen = seen.clone();
                let _ = cx.spawn(move |cx| async move {
                    if sleep(&cx, 60_000 * MS).await.is_err() {
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                });
                sleep(cx, 60_000 * MS).await.ok();
                2
            },
            async { 1 },
        );
        assert_eq!(winner.unwrap(), 1);
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the loser's child was cancelled and finished"
        );
    });
}

#[test]
fn select_runs_the_handler_of_the_matching_branch() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        tx.send(&cx, 7).await.unwrap();
        let got = asupersync::select! {
            Ok(v) = rx.recv(&cx) => v * 2,
            _ = sleep(&cx, 60_000 * MS) => 0,
        };
        assert_eq!(got, 14);
    });
}

#[test]
fn select_disables_a_branch_whose_pattern_does_not_match() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        drop(tx);
        let got = asupersync::select! {
            Ok(v) = rx.recv(&cx) => v,
            _ = sleep(&cx, 3 * MS) => 99,
        };
        assert_eq!(got, 99, "recv returned Closed, which does not match Ok(v)");
    });
}

#[test]
fn select_else_runs_when_every_branch_is_disabled() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        drop(tx);
        let enabled = false;
        let got = asupersync::select! {
            Ok(v) = rx.recv(&cx) => v,
            _ = sleep(&cx, MS), if enabled => 1,
            else => 42,
        };
        assert_eq!(got, 42);
    });
}

#[test]
fn select_biased_prefers_the_first_ready_branch() {
    on_each_flavor(|cx| async move {
        // asupersync: allow(loop-without-checkpoint) -- ten rounds of a test; nothing cancels it
        for _ in 0..10 {
            let got = asupersync::select! {
                biased;
                v = async { 1 } => v,
                v = async { 2 } => v,
            };
            assert_eq!(got, 1);
        }
    });
}

#[test]
fn select_cancelled_recv_leaves_the_message_queued() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        let (tx2, mut rx2) = mpsc::channel::<u32>(4);
        tx2.send(&cx, 1).await.unwrap();
        // Both are ready; whichever wins, the other recv is cancelled and must not
        // lose its message.
        tx.send(&cx, 2).await.unwrap();
        let got = asupersync::select! {
            biased;
            Ok(v) = rx2.recv(&cx) => v,
            Ok(v) = rx.recv(&cx) => v,
        };
        assert_eq!(got, 1);
        assert_eq!(rx.try_recv().unwrap(), 2);
    });
}

#[test]
fn select_handlers_can_break_out_of_a_loop() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let mut sum = 0;
        loop {
            asupersync::select! {
                Ok(v) = rx.recv(&cx) => sum += v,
                else => break,
            }
        }
        assert_eq!(sum, 10);
    });
}

#[test]
fn task_group_joins_in_completion_order() {
    on_each_flavor(|cx| async move {
        let mut group = TaskGroup::new(&cx);
        let mut releases = Vec::new();
        for id in 0..3u32 {
            let (release, mut wait) = asupersync::channel::oneshot::channel::<()>();
            releases.push(Some(release));
            group.spawn(move |cx| async move {
                wait.recv(&cx).await.unwrap();
                id
            });
        }
        assert_eq!(group.len(), 3);
        let mut order = Vec::new();
        for id in [1usize, 2, 0] {
            releases[id].take().unwrap().send(()).unwrap();
            order.push(group.join_next(&cx).await.unwrap().unwrap());
        }
        assert_eq!(order, [1, 2, 0]);
        assert!(group.is_empty());
        assert!(group.join_next(&cx).await.is_none());
    });
}

#[test]
fn task_group_cancel_all_cancels_every_task() {
    on_each_flavor(|cx| async move {
        let mut group = TaskGroup::new(&cx);
        for _ in 0..4 {
            group.spawn(|cx| async move {
                sleep(&cx, 60_000 * MS).await?;
                Ok::<_, asupersync::Cancelled>(())
            });
        }
        group.cancel_all(CancelReason::user("stop"));
        let outcomes = group.join_all(&cx).await;
        assert_eq!(outcomes.len(), 4);
        for outcome in outcomes {
            let result = outcome.unwrap();
            assert_eq!(result.unwrap_err().reason().kind, CancelKind::User);
        }
    });
}

#[test]
fn task_group_reports_panics_as_outcomes() {
    on_each_flavor(|cx| async move {
        let mut group = TaskGroup::new(&cx);
        group.spawn(|_cx| async move { panic!("task failed") });
        group.spawn(|_cx| async move {});
        let outcomes: Vec<_> = group.join_all(&cx).await;
        assert_eq!(outcomes.iter().filter(|o| o.is_panicked()).count(), 1);
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    });
}

#[test]
fn select_in_a_loop_over_two_channels_loses_no_message() {
    on_each_flavor(|cx| async move {
        let (tx_a, mut rx_a) = mpsc::channel::<u64>(8);
        let (tx_b, mut rx_b) = mpsc::channel::<u64>(8);
        let producer_a = cx.spawn(move |cx| async move {
            for i in 0..500u64 {
                tx_a.send(&cx, i).await.unwrap();
            }
        });
        let producer_b = cx.spawn(move |cx| async move {
            for i in 0..500u64 {
                tx_b.send(&cx, 1000 + i).await.unwrap();
            }
        });
        let (mut sum, mut count) = (0u64, 0);
        let (mut a_open, mut b_open) = (true, true);
        while a_open || b_open {
            // Every iteration cancels the losing recv; a message it was about to take
            // must stay queued for a later iteration.
            asupersync::select! {
                r = rx_a.recv(&cx), if a_open => match r {
                    Ok(v) => { sum += v; count += 1; }
                    Err(_) => a_open = false,
                },
                r = rx_b.recv(&cx), if b_open => match r {
                    Ok(v) => { sum += v; count += 1; }
                    Err(_) => b_open = false,
                },
            }
        }
        producer_a.join(&cx).await.unwrap();
        producer_b.join(&cx).await.unwrap();
        assert_eq!(count, 1000);
        assert_eq!(sum, (0..500).sum::<u64>() + (1000..1500).sum::<u64>());
    });
}

#[test]
fn race_under_a_cancelled_caller_cancels_every_branch() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            asupersync::race!(cx;
                async { sleep(cx, 60_000 * MS).await.map_err(|c| c.into_reason().kind) },
                async { sleep(cx, 60_000 * MS).await.map_err(|c| c.into_reason().kind) },
            )
        });
        sleep(&cx, 2 * MS).await.unwrap();
        handle.cancel(CancelReason::user("stop"));
        let winner = handle.join(&cx).await.unwrap();
        assert_eq!(winner.unwrap(), Err(CancelKind::ParentCancelled));
    });
}

#[test]
fn race_with_a_named_context_and_many_iterations() {
    on_each_flavor(|root| async move {
        for i in 0..200u32 {
            let winner = asupersync::race!(root;
                async move { i },
                async { sleep(root, 60_000 * MS).await.ok(); u32::MAX },
            );
            assert_eq!(winner.unwrap(), i);
        }
    });
}

#[test]
fn select_hands_a_lock_guard_taken_in_a_branch_to_its_handler() {
    on_each_flavor(|cx| async move {
        let mutex = asupersync::sync::Mutex::new(1);
        let sem = asupersync::sync::Semaphore::new(1);
        let total = asupersync::select! {
            Ok(mut guard) = mutex.lock(&cx) => {
                *guard += 1;
                *guard
            }
            Ok(_permit) = sem.acquire(&cx, 5) => 0,
        };
        assert_eq!(total, 2);
        assert!(
            mutex.try_lock().is_ok(),
            "the guard was dropped by the handler"
        );
        assert_eq!(
            sem.available_permits(),
            1,
            "the losing acquire holds nothing"
        );
    });
}

#[test]
fn a_panicking_branch_wins_and_its_panic_is_resumed_after_the_losers_drained() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder.build().unwrap();
        let log = Log::default();
        let seen = log.clone();
        let outcome = rt.block_on(|cx| async move {
            let race = asupersync::race!(cx;
                async { panic!("branch failed") },
                async {
                    let l = seen.clone();
                    cx.defer(async move { l.push("loser finalizer") });
                    sleep(cx, 60_000 * MS).await.ok();
                },
            );
            assert!(race.is_panicked(), "race! reports the panic as an outcome");
            seen.push("race returned");
            asupersync::select! {
                _ = async { panic!("select branch failed") } => (),
                _ = async {
                    let l = seen.clone();
                    cx.defer(async move { l.push("select loser finalizer") });
                    sleep(cx, 60_000 * MS).await.ok();
                } => (),
            }
        });
        assert!(outcome.is_panicked(), "select! resumes the branch's panic");
        assert_eq!(
            log.events(),
            ["loser finalizer", "race returned", "select loser finalizer"]
        );
    }
}
