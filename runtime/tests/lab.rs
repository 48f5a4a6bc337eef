//! The lab runtime: determinism, virtual time, chaos, oracles, replay, the macro.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asupersync::lab::{Explorer, LabConfig, LabRuntime, Strategy};
use asupersync::task::yield_now;
use asupersync::time::{sleep, timeout, Instant};
use asupersync::trace::TraceKind;
use asupersync::{Budget, CancelKind, Cx, Outcome, Region};

/// Four tasks append their name to a shared log in three steps each, yielding in
/// between: the final order is the interleaving.
async fn racy_log(cx: Cx) -> Vec<String> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let log = log.clone();
        handles.push(cx.spawn_named(name, move |cx| async move {
            for step in 0..3 {
                log.lock().unwrap().push(format!("{name}{step}"));
                yield_now(&cx).await.ok();
            }
        }));
    }
    for h in handles {
        h.join(&cx).await.unwrap();
    }
    let events = log.lock().unwrap().clone();
    events
}

#[test]
fn same_seed_same_trace_step_for_step() {
    for seed in [0, 1, 42, 9_999] {
        let first = LabRuntime::new(LabConfig::seed(seed)).block_on(racy_log);
        let second = LabRuntime::new(LabConfig::seed(seed)).block_on(racy_log);
        assert!(first.is_ok(), "{}", first.failure().unwrap());
        assert_eq!(first.trace_hash(), second.trace_hash());
        assert_eq!(first.trace().len(), second.trace().len());
        assert_eq!(first.schedule(), second.schedule());
        assert_eq!(first.outcome.unwrap(), second.outcome.unwrap());
    }
}

#[test]
fn scheduling_steps_are_in_the_trace() {
    let report = LabRuntime::new(LabConfig::seed(3)).block_on(racy_log);
    let polls = report
        .trace()
        .iter()
        .filter(|e| e.kind == TraceKind::Polled)
        .count() as u64;
    assert_eq!(polls, report.steps);
    // 4 tasks x (3 yields + 1 finishing poll) + the body's polls.
    assert!(polls >= 16, "{polls}");
}

#[test]
fn different_seeds_give_different_interleavings() {
    let mut orders = std::collections::HashSet::new();
    let mut hashes = std::collections::HashSet::new();
    for seed in 0..20 {
        let report = LabRuntime::new(LabConfig::seed(seed)).block_on(racy_log);
        hashes.insert(report.trace_hash());
        orders.insert(report.outcome.unwrap());
    }
    assert!(orders.len() >= 10, "only {} distinct orders", orders.len());
    assert!(hashes.len() >= orders.len());
}

#[test]
fn pct_is_deterministic_too_and_differs_from_random() {
    let config = LabConfig::seed(11).strategy(Strategy::pct(3));
    let a = LabRuntime::new(config.clone()).block_on(racy_log);
    let b = LabRuntime::new(config).block_on(racy_log);
    assert_eq!(a.trace_hash(), b.trace_hash());
    // PCT with depth 1 never preempts: each task runs to its end once chosen.
    let sequential = LabRuntime::new(LabConfig::seed(5).strategy(Strategy::pct(1)))
        .block_on(racy_log)
        .unwrap();
    for chunk in sequential.chunks(3) {
        let task = &chunk[0][..1];
        assert!(chunk.iter().all(|e| e.starts_with(task)), "{sequential:?}");
    }
}

#[test]
fn an_hour_of_sleep_takes_no_real_time() {
    let started = std::time::Instant::now();
    let report = LabRuntime::new(LabConfig::seed(1)).block_on(|cx| async move {
        let t0 = cx.now();
        let std_t0 = Instant::now();
        let mut handles = Vec::new();
        for i in 1..=4u64 {
            handles.push(cx.spawn(move |cx| async move {
                sleep(&cx, Duration::from_secs(900 * i)).await.unwrap();
                cx.now()
            }));
        }
        let mut woke = Vec::new();
        for h in handles {
            woke.push(h.join(&cx).await.unwrap() - t0);
        }
        (woke, cx.now() - t0, Instant::now() - std_t0)
    });
    let (woke, total, via_instant) = report.outcome.unwrap();
    assert_eq!(
        woke,
        (1..=4)
            .map(|i| Duration::from_secs(900 * i))
            .collect::<Vec<_>>()
    );
    assert_eq!(total, Duration::from_secs(3600));
    assert_eq!(
        via_instant,
        Duration::from_secs(3600),
        "Instant::now is virtual"
    );
    assert_eq!(report.elapsed, Duration::from_secs(3600));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn timeouts_and_budget_deadlines_use_virtual_time() {
    let report = LabRuntime::new(LabConfig::seed(2)).block_on(|cx| async move {
        let t0 = cx.now();
        let timed_out = timeout(&cx, Duration::from_secs(30), async {
            sleep(&cx, Duration::from_secs(600)).await
        })
        .await;
        let after_timeout = cx.now() - t0;
        let bounded = cx.spawn_with(Budget::timeout(Duration::from_secs(120)), |cx| async move {
            sleep(&cx, Duration::from_secs(3600)).await
        });
        let outcome = bounded.join(&cx).await;
        (timed_out.is_err(), after_timeout, outcome, cx.now() - t0)
    });
    let (timed_out, after_timeout, outcome, total) = report.outcome.unwrap();
    assert!(timed_out);
    assert_eq!(after_timeout, Duration::from_secs(30));
    match outcome {
        Outcome::Ok(Err(cancelled)) => assert_eq!(cancelled.reason().kind, CancelKind::Deadline),
        other => panic!(
            "expected the deadline to cancel the sleep, got {:?}",
            other.map(|_| ())
        ),
    }
    assert_eq!(total, Duration::from_secs(150));
}

#[test]
fn a_task_ignoring_cancellation_is_dropped_at_its_virtual_drain_deadline() {
    let report = LabRuntime::new(LabConfig::seed(4)).block_on(|cx| async move {
        let t0 = cx.now();
        let stubborn = cx.spawn(|cx| async move {
            loop {
                // Ignores the request, but gives the thread up: a timer-driven loop
                // (`timeout` leaves cancellation to the future it wraps).
                // asupersync: allow(ignored-outcome) -- the task ignores cancellation on purpose: the test checks the forced drain
                let _ = timeout(
                    &cx,
                    Duration::from_millis(100),
                    std::future::pending::<()>(),
                )
                .await;
            }
        });
        sleep(&cx, Duration::from_secs(1)).await.unwrap();
        stubborn.cancel_with(Budget::timeout(Duration::from_secs(5)));
        let outcome = stubborn.join(&cx).await;
        (outcome.is_cancelled(), cx.now() - t0)
    });
    assert!(report.is_ok(), "{}", report.failure().unwrap());
    let (cancelled, at) = report.outcome.unwrap();
    assert!(cancelled);
    assert_eq!(at, Duration::from_secs(6));
}

#[test]
fn a_deadlock_is_reported_with_the_blocked_tasks_and_unwound() {
    let report = LabRuntime::new(LabConfig::seed(0)).block_on(|cx| async move {
        let never = cx.spawn_named("waits-forever", |cx| async move {
            cx.trace("about to wait");
            std::future::pending::<()>().await;
        });
        never.join(&cx).await
    });
    assert!(!report.is_ok());
    let deadlock = report
        .violations
        .iter()
        .find(|v| v.oracle == "deadlock")
        .expect("the deadlock oracle fires");
    assert!(
        deadlock.message.contains("\"waits-forever\""),
        "{}",
        deadlock.message
    );
    assert!(
        deadlock.message.contains("about to wait"),
        "{}",
        deadlock.message
    );
    // The lab cancelled everything, so the run still ended (cancelled) with no leak.
    assert!(report.outcome.is_ok() || report.outcome.is_cancelled());
    assert!(!report.violations.iter().any(|v| v.oracle == "task-leak"));
    let text = report.failure().unwrap();
    assert!(text.contains("seed 0"), "{text}");
    assert!(text.contains("trace (events"), "{text}");
}

#[test]
fn a_livelock_hits_the_step_limit() {
    let report = LabRuntime::new(LabConfig::seed(0).max_steps(500)).block_on(|cx| async move {
        let spinner = cx.spawn(|_cx| async move {
            // asupersync: allow(loop-without-checkpoint) -- a livelock on purpose: the test checks the step limit
            loop {
                // Never a checkpoint: only the forced drain can stop it.
                std::future::poll_fn(|task| {
                    task.waker().wake_by_ref();
                    std::task::Poll::<()>::Pending
                })
                .await;
            }
        });
        spinner.join(&cx).await
    });
    assert!(report.violations.iter().any(|v| v.oracle == "step-limit"));
    assert!(report.steps < 1_000);
}

/// A program that sleeps and yields a lot: chaos has something to act on.
async fn sleepy_workers(cx: Cx) -> (u32, Duration) {
    let done = Arc::new(AtomicUsize::new(0));
    let t0 = cx.now();
    let outcome = Region::open(&cx, "workers", |cx| {
        let done = done.clone();
        async move {
            for i in 0..5u64 {
                let done = done.clone();
                cx.spawn(move |cx| async move {
                    for _ in 0..4 {
                        sleep(&cx, Duration::from_millis(5 * i + 1)).await?;
                        yield_now(&cx).await?;
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                    Ok::<(), asupersync::Cancelled>(())
                });
            }
        }
    })
    .await;
    assert!(outcome.is_ok());
    (done.load(Ordering::SeqCst) as u32, cx.now() - t0)
}

#[test]
fn chaos_is_reproducible_from_the_seed() {
    let chaotic = |seed| {
        LabConfig::seed(seed)
            .chaos_delay(0.3, Duration::from_millis(20))
            .chaos_spurious_wake(0.2)
            .chaos_cancel(0.02)
    };
    let mut cancelled_some = false;
    let mut delayed = false;
    for seed in 0..30 {
        let a = LabRuntime::new(chaotic(seed)).block_on(sleepy_workers);
        let b = LabRuntime::new(chaotic(seed)).block_on(sleepy_workers);
        assert_eq!(a.trace_hash(), b.trace_hash(), "seed {seed}");
        assert!(a.violations.is_empty(), "{}", a.failure().unwrap());
        let (done, elapsed) = a.outcome.unwrap();
        cancelled_some |= done < 5;
        let calm = LabRuntime::new(LabConfig::seed(seed)).block_on(sleepy_workers);
        delayed |= elapsed > calm.outcome.unwrap().1;
        // A chaos cancel is a User cancel request on the task it names.
        let trace = b.trace();
        for (i, e) in trace.iter().enumerate() {
            if e.kind == TraceKind::Lab("chaos: cancel") {
                let follows = trace[i + 1..].iter().find(|n| n.task == e.task);
                let finished = follows.is_some_and(|n| {
                    matches!(n.kind, TraceKind::CancelRequested(CancelKind::User))
                });
                let already = trace[..i]
                    .iter()
                    .any(|n| n.task == e.task && matches!(n.kind, TraceKind::CancelRequested(_)));
                assert!(finished || already, "seed {seed}: {:?}", follows);
            }
        }
        let kinds: Vec<_> = b
            .trace()
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Lab(_)))
            .collect();
        assert!(!kinds.is_empty(), "chaos left no trace at seed {seed}");
    }
    assert!(cancelled_some, "chaos cancellation never hit a worker");
    assert!(delayed, "chaos delays never moved virtual time");
}

#[test]
fn a_saved_schedule_replays_exactly() {
    let dir = std::env::temp_dir().join(format!("asupersync-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("schedule.txt");
    let config = LabConfig::seed(77).chaos_delay(0.2, Duration::from_millis(3));
    let original = LabRuntime::new(config).block_on(racy_log);
    original.save_schedule(&path).unwrap();
    // The replay uses no seed: a different one changes nothing.
    let replay = LabRuntime::new(LabConfig::replay(&path).unwrap().with_seed(1)).block_on(racy_log);
    assert!(replay.is_ok(), "{}", replay.failure().unwrap());
    assert_eq!(original.trace_hash(), replay.trace_hash());
    assert_eq!(original.outcome.unwrap(), replay.outcome.unwrap());
    // A program that asks for different choices is reported as diverged.
    let other = LabRuntime::new(LabConfig::replay(&path).unwrap()).block_on(|cx| async move {
        sleepy_workers(cx).await;
    });
    assert!(other.violations.iter().any(|v| v.oracle == "replay"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn finalizers_and_nested_regions_pass_the_oracles_across_seeds() {
    let explored = Explorer::random()
        .run(0..200, |cx| async move {
            let log = Arc::new(Mutex::new(Vec::new()));
            let l = log.clone();
            let outcome = Region::open(&cx, "outer", move |cx| async move {
                let l2 = l.clone();
                cx.defer(async move { l2.lock().unwrap().push("outer finalizer") });
                let inner = cx.spawn_named("opens-inner", |cx| async move {
                    Region::open(&cx, "inner", |cx| async move {
                        let a = cx.spawn(|cx| async move { yield_now(&cx).await });
                        let b = cx
                            .spawn(|cx| async move { sleep(&cx, Duration::from_millis(1)).await });
                        cx.cancel_region(asupersync::CancelReason::user("stop"));
                        (a.join(&cx).await, b.join(&cx).await)
                    })
                    .await
                });
                inner.join(&cx).await.unwrap()
            })
            .await;
            assert!(outcome.is_ok());
            assert_eq!(*log.lock().unwrap(), vec!["outer finalizer"]);
        })
        .unwrap();
    assert_eq!(explored.runs, 200);
}

#[asupersync::lab_test(seeds = 0..64)]
async fn lab_test_macro_runs_every_seed(cx: &Cx) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..3 {
        let counter = counter.clone();
        handles.push(cx.spawn(move |cx| async move {
            yield_now(&cx).await.ok();
            counter.fetch_add(1, Ordering::SeqCst);
        }));
    }
    for h in handles {
        h.join(cx).await.unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), 3);
}

#[asupersync::lab_test(seeds = 0..32, strategy = "pct", depth = 2)]
async fn lab_test_macro_with_pct_and_a_result(cx: &Cx) -> Result<(), String> {
    let h = cx.spawn(|_cx| async move { 41 + 1 });
    let v = h.join(cx).await.unwrap();
    if v == 42 {
        Ok(())
    } else {
        Err(format!("got {v}"))
    }
}

/// Two tasks race to set a slot; the assertion holds only when "a" wins.
#[asupersync::lab_test(seeds = 0..100)]
#[should_panic(
    expected = "cargo test -p asupersync lab_test_macro_reports_the_seed_and_replay_line"
)]
async fn lab_test_macro_reports_the_seed_and_replay_line(cx: &Cx) {
    let slot = Arc::new(Mutex::new(None));
    for name in ["a", "b"] {
        let slot = slot.clone();
        cx.spawn(move |cx| async move {
            yield_now(&cx).await.ok();
            slot.lock().unwrap().get_or_insert(name);
        });
    }
    let slot2 = slot.clone();
    cx.defer(async move {
        let _ = slot2;
    });
    asupersync::task::yield_now(cx).await.ok();
    while slot.lock().unwrap().is_none() {
        yield_now(cx).await.ok();
    }
    assert_eq!(*slot.lock().unwrap(), Some("a"));
}

#[test]
fn the_lab_test_macro_honours_the_seed_variable() {
    // Run the failing test above as a child process with one seed: the one it
    // reported, and one that passes.
    let exe = std::env::current_exe().unwrap();
    let run = |seed: &str| {
        std::process::Command::new(&exe)
            .args([
                "--exact",
                "lab_test_macro_reports_the_seed_and_replay_line",
                "--nocapture",
            ])
            .env("ASUPERSYNC_LAB_SEED", seed)
            .output()
            .unwrap()
    };
    let find = |seed: u64| {
        LabRuntime::new(LabConfig::seed(seed))
            .block_on(|cx| async move {
                let slot = Arc::new(Mutex::new(None));
                for name in ["a", "b"] {
                    let slot = slot.clone();
                    cx.spawn(move |cx| async move {
                        yield_now(&cx).await.ok();
                        slot.lock().unwrap().get_or_insert(name);
                    });
                }
                let slot2 = slot.clone();
                cx.defer(async move {
                    let _ = slot2;
                });
                yield_now(&cx).await.ok();
                while slot.lock().unwrap().is_none() {
                    yield_now(&cx).await.ok();
                }
                assert_eq!(*slot.lock().unwrap(), Some("a"));
            })
            .is_ok()
    };
    let failing = (0..100).find(|s| !find(*s)).expect("some seed fails");
    let passing = (0..100).find(|s| find(*s)).expect("some seed passes");
    let out = run(&failing.to_string());
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The test is #[should_panic]: it passes exactly when the body fails.
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    let out = run(&passing.to_string());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 failed"), "{stdout}");
}

/// A trace-based oracle, the way the obligation-leak and loser-drain oracles plug in:
/// every "acquire" traced by a task must be matched by a "release".
struct Balanced;

impl asupersync::lab::Oracle for Balanced {
    fn name(&self) -> &'static str {
        "balanced"
    }

    fn check(&self, run: &asupersync::lab::RunView<'_>) -> Vec<asupersync::lab::Violation> {
        let mut open = std::collections::BTreeMap::<u64, i64>::new();
        for event in run.trace {
            if let (Some(task), TraceKind::User(message)) = (event.task, &event.kind) {
                let delta = match message.as_str() {
                    "acquire" => 1,
                    "release" => -1,
                    _ => 0,
                };
                *open.entry(task).or_default() += delta;
            }
        }
        open.into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|(task, n)| {
                asupersync::lab::Violation::new(
                    "balanced",
                    format!("{} kept {n} acquisition(s)", run.task_label(Some(task))),
                )
                .with_tasks([task])
            })
            .collect()
    }
}

#[test]
fn custom_oracles_and_runtime_reports_plug_in() {
    let program = |leak: bool| {
        move |cx: Cx| async move {
            let h = cx.spawn_named("holder", move |cx| async move {
                cx.trace("acquire");
                yield_now(&cx).await.ok();
                if !leak {
                    cx.trace("release");
                }
            });
            h.join(&cx).await.unwrap();
            if leak {
                asupersync::lab::report_violation(&cx, "obligation-leak", "reported while running");
            }
        }
    };
    let config = || LabConfig::seed(1).oracle(Arc::new(Balanced));
    let clean = LabRuntime::new(config()).block_on(program(false));
    assert!(clean.is_ok(), "{}", clean.failure().unwrap());
    let leaky = LabRuntime::new(config()).block_on(program(true));
    let oracles: Vec<&str> = leaky.violations.iter().map(|v| v.oracle).collect();
    assert_eq!(oracles, ["obligation-leak", "balanced"]);
    let text = leaky.failure().unwrap();
    assert!(
        text.contains("task 3 \"holder\" kept 1 acquisition(s)"),
        "{text}"
    );
    // Turned off, the oracle says nothing.
    let quiet = LabRuntime::new(config().without_oracle("balanced")).block_on(program(true));
    assert_eq!(quiet.violations.len(), 1);
    // Outside the lab, reporting is a no-op that says so.
    let rt = asupersync::RuntimeBuilder::current_thread()
        .build()
        .unwrap();
    let reported =
        rt.block_on(
            |cx| async move { asupersync::lab::report_violation(&cx, "obligation-leak", "x") },
        );
    assert!(!reported.unwrap());
}
