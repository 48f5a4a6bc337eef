//! The schedulers under load: stealing, fairness, panics, timers, many spawns.

mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use asupersync::{task, time, Cx, Outcome, Region, RuntimeBuilder, TaskHandle};
use common::*;

fn multi_thread(workers: usize) -> asupersync::Runtime {
    RuntimeBuilder::multi_thread()
        .worker_threads(workers)
        .thread_name("sched-test")
        .build()
        .unwrap()
}

#[test]
fn tasks_spawned_from_one_worker_are_stolen_by_another() {
    let rt = multi_thread(2);
    let (spawner, runners) = rt
        .block_on(|cx| async move {
            let parent = cx.spawn(|cx| async move {
                let me = thread::current().id();
                let children: Vec<TaskHandle<thread::ThreadId>> = (0..16)
                    .map(|_| cx.spawn(|_cx| async { thread::current().id() }))
                    .collect();
                // Keep this worker busy: its children can only run if another worker
                // steals them from its queue.
                // asupersync: allow(blocking-in-async) -- keeps this worker busy on purpose so that its children must be stolen
                thread::sleep(Duration::from_millis(100));
                let mut runners = HashSet::new();
                for child in children {
                    runners.insert(child.join(&cx).await.unwrap());
                }
                (me, runners)
            });
            parent.join(&cx).await.unwrap()
        })
        .unwrap();
    assert!(
        runners.iter().any(|r| *r != spawner),
        "every child ran on the spawning worker: nothing was stolen"
    );
}

#[test]
fn workers_are_named_after_thread_name() {
    let rt = multi_thread(2);
    let names = rt
        .block_on(|cx| async move {
            let handles: Vec<TaskHandle<Option<String>>> = (0..8)
                .map(|_| cx.spawn(|_cx| async { thread::current().name().map(String::from) }))
                .collect();
            let mut names = HashSet::new();
            for h in handles {
                names.insert(h.join(&cx).await.unwrap());
            }
            names
        })
        .unwrap();
    for name in &names {
        let name = name.as_deref().unwrap_or("<unnamed>");
        assert!(
            name == "sched-test-0" || name == "sched-test-1",
            "a task ran on {name}"
        );
    }
}

/// A task that never waits (its sleeps are always over) gives way to its sibling
/// thanks to the cooperative budget; with a single worker nothing else could run it.
#[test]
fn an_always_ready_loop_cannot_starve_a_sibling() {
    for (name, builder) in flavors_and_one_worker() {
        let rt = builder.build().unwrap();
        let sibling_ran = rt
            .block_on(|cx| async move {
                let ran = flag();
                let r = ran.clone();
                let busy = cx.spawn(move |cx| async move {
                    let give_up = time::Instant::now() + Duration::from_secs(5);
                    while !r.load(Ordering::SeqCst) && time::Instant::now() < give_up {
                        time::sleep(&cx, Duration::ZERO).await.unwrap();
                    }
                    r.load(Ordering::SeqCst)
                });
                let r = ran.clone();
                let sibling = cx.spawn(move |_cx| async move { r.store(true, Ordering::SeqCst) });
                sibling.join(&cx).await.unwrap();
                busy.join(&cx).await.unwrap()
            })
            .unwrap();
        assert!(sibling_ran, "[{name}] the busy task starved its sibling");
    }
}

/// Two tasks waking each other would keep the LIFO slot forever; the bound on LIFO
/// turns lets a third task in.
#[test]
fn ping_pong_through_the_lifo_slot_cannot_starve_a_third_task() {
    let rt = RuntimeBuilder::multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let players_saw_the_third = rt
        .block_on(|cx| async move {
            let done = flag();
            let ball: Arc<Mutex<Option<std::task::Waker>>> = Arc::default();
            let players: Vec<TaskHandle<bool>> = (0..2)
                .map(|_| {
                    let (done, ball) = (done.clone(), ball.clone());
                    cx.spawn(move |_cx| async move {
                        let give_up = std::time::Instant::now() + Duration::from_secs(5);
                        std::future::poll_fn(|task| {
                            let third_ran = done.load(Ordering::SeqCst);
                            if third_ran || std::time::Instant::now() > give_up {
                                if let Some(other) = ball.lock().unwrap().take() {
                                    other.wake();
                                }
                                return std::task::Poll::Ready(third_ran);
                            }
                            // Wake the other player and wait to be woken back.
                            let other = ball.lock().unwrap().replace(task.waker().clone());
                            if let Some(other) = other {
                                other.wake();
                            }
                            std::task::Poll::Pending
                        })
                        .await
                    })
                })
                .collect();
            let d = done.clone();
            let third = cx.spawn(move |_cx| async move { d.store(true, Ordering::SeqCst) });
            third.join(&cx).await.unwrap();
            let mut saw = Vec::new();
            for p in players {
                saw.push(p.join(&cx).await.unwrap());
            }
            saw
        })
        .unwrap();
    assert_eq!(
        players_saw_the_third,
        [true, true],
        "the ping-pong kept the worker until it gave up"
    );
}

#[test]
fn panics_leave_the_runtime_serving() {
    on_each_flavor(|cx| async move {
        let panickers: Vec<TaskHandle<()>> = (0..20)
            .map(|i| {
                cx.spawn(move |_cx| async move {
                    if i % 2 == 0 {
                        panic!("task {i} blew up");
                    }
                })
            })
            .collect();
        let mut panicked = 0;
        for p in panickers {
            if let Outcome::Panicked(_) = p.join(&cx).await {
                panicked += 1;
            }
        }
        assert_eq!(panicked, 10);
        let after: Vec<TaskHandle<usize>> = (0..100)
            .map(|i| cx.spawn(move |_cx| async move { i }))
            .collect();
        let mut sum = 0;
        for h in after {
            sum += h.join(&cx).await.unwrap();
        }
        assert_eq!(sum, (0..100).sum::<usize>());
    });
}

/// Timers fire in deadline order and never early, while other tasks keep every
/// worker busy yielding.
#[test]
fn timers_fire_in_order_and_not_early_under_load() {
    on_each_flavor(|cx| async move {
        let stop = flag();
        let load = spawn_yielders(&cx, 4, &stop);
        let fired = Log::default();
        let start = cx.now();
        // Far enough apart that a worker delayed by a loaded machine does not swap
        // two neighbours (timers woken in one batch run on different workers).
        let spacing = Duration::from_millis(40);
        let sleepers: Vec<TaskHandle<()>> = (0..8u32)
            .rev()
            .map(|i| {
                let fired = fired.clone();
                cx.spawn(move |cx| async move {
                    let deadline = start + spacing * (i + 1);
                    time::sleep_until(&cx, deadline).await.unwrap();
                    let now = cx.now();
                    assert!(
                        now >= deadline,
                        "timer {i} fired {:?} early",
                        deadline - now
                    );
                    fired.push(i.to_string());
                })
            })
            .collect();
        for s in sleepers {
            s.join(&cx).await.unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        for l in load {
            l.join(&cx).await.unwrap();
        }
        let expected: Vec<String> = (0..8).map(|i: u32| i.to_string()).collect();
        assert_eq!(fired.events(), expected);
    });
}

#[test]
fn ten_thousand_spawns_all_complete() {
    on_each_flavor(|cx| async move {
        let done = counter();
        // From the root (the injector, on the multi-thread flavor) ...
        let d = done.clone();
        Region::open(&cx, "from-root", move |cx| async move {
            for _ in 0..5_000 {
                let d = d.clone();
                cx.spawn(move |_cx| async move {
                    d.fetch_add(1, Ordering::Relaxed);
                });
            }
        })
        .await
        .unwrap();
        // ... and from a task (a worker's own queue).
        let d = done.clone();
        cx.spawn(move |cx: Cx| async move {
            Region::open(&cx, "from-task", move |cx| async move {
                for _ in 0..5_000 {
                    let d = d.clone();
                    cx.spawn(move |cx| async move {
                        task::yield_now(&cx).await.unwrap();
                        d.fetch_add(1, Ordering::Relaxed);
                    });
                }
            })
            .await
            .unwrap();
        })
        .join(&cx)
        .await
        .unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 10_000);
    });
}

/// Several threads may drive `block_on` on one multi-thread runtime at once.
#[test]
fn block_on_runs_concurrently_on_a_multi_thread_runtime() {
    let rt = multi_thread(2);
    thread::scope(|s| {
        let runs: Vec<_> = (0..3u64)
            .map(|i| {
                let rt = &rt;
                s.spawn(move || {
                    rt.block_on(|cx| async move {
                        time::sleep(&cx, Duration::from_millis(20)).await.unwrap();
                        cx.spawn(move |_cx| async move { i * 2 })
                            .join(&cx)
                            .await
                            .unwrap()
                    })
                    .unwrap()
                })
            })
            .collect();
        let results: Vec<u64> = runs.into_iter().map(|r| r.join().unwrap()).collect();
        assert_eq!(results, [0, 2, 4]);
    });
}

/// The worker parked until a far timer must be woken when the `block_on` thread (not a
/// worker) inserts an earlier one.
#[test]
fn an_earlier_timer_from_another_thread_wakes_the_parked_driver() {
    let rt = multi_thread(2);
    let took = rt
        .block_on(|cx| async move {
            let far = cx.spawn(|cx| async move {
                let _ = time::sleep(&cx, Duration::from_secs(30)).await;
            });
            // Let every worker go idle: one parks until the far timer.
            // asupersync: allow(blocking-in-async) -- lets every worker go idle before the measured sleep
            thread::sleep(Duration::from_millis(50));
            let started = std::time::Instant::now();
            time::sleep(&cx, Duration::from_millis(20)).await.unwrap();
            let took = started.elapsed();
            far.cancel(asupersync::CancelReason::user("done"));
            // asupersync: allow(ignored-outcome) -- only the timing of the other sleep is under test
            let _ = far.join(&cx).await;
            took
        })
        .unwrap();
    assert!(took >= Duration::from_millis(20), "woke early: {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "the driver overslept: {took:?}"
    );
}

/// The flavors plus a one-worker multi-thread runtime, where nothing can hide a
/// starvation bug behind a second worker.
fn flavors_and_one_worker() -> Vec<(&'static str, RuntimeBuilder)> {
    let mut builders = flavors();
    builders.push((
        "multi_thread(1)",
        RuntimeBuilder::multi_thread().worker_threads(1),
    ));
    builders
}

/// A task yielding in a loop stays in its worker's local queue; the fairness interval
/// still lets a task spawned from outside (the injector) in.
#[test]
fn a_yielding_task_cannot_starve_the_injector() {
    for (name, builder) in flavors_and_one_worker() {
        let rt = builder.build().unwrap();
        let ran_in_time = rt
            .block_on(|cx| async move {
                let ran = flag();
                let r = ran.clone();
                let spinner = cx.spawn(move |cx| async move {
                    let give_up = time::Instant::now() + Duration::from_secs(5);
                    while !r.load(Ordering::SeqCst) && time::Instant::now() < give_up {
                        task::yield_now(&cx).await.unwrap();
                    }
                    r.load(Ordering::SeqCst)
                });
                // Let the spinner own the worker first.
                // asupersync: allow(blocking-in-async) -- lets the spinner own the worker first
                thread::sleep(Duration::from_millis(10));
                let r = ran.clone();
                cx.spawn(move |_cx| async move { r.store(true, Ordering::SeqCst) });
                spinner.join(&cx).await.unwrap()
            })
            .unwrap();
        assert!(ran_in_time, "[{name}] the spawned task never ran");
    }
}

/// A cancelled task that keeps draining sits in the cancel lane, served first; the
/// fairness interval still gives the ready lane its turns.
#[test]
fn a_draining_task_cannot_starve_the_ready_lane() {
    for (name, builder) in flavors_and_one_worker() {
        let rt = builder.build().unwrap();
        let ready_ran = rt
            .block_on(|cx| async move {
                let ran = flag();
                let r = ran.clone();
                let drainer = cx.spawn(move |_cx| async move {
                    let give_up = std::time::Instant::now() + Duration::from_secs(5);
                    // Ignores the cancellation (within an unbounded drain budget).
                    // asupersync: allow(loop-without-checkpoint) -- ignores cancellation on purpose (the test drains it with a budget)
                    while !r.load(Ordering::SeqCst) && std::time::Instant::now() < give_up {
                        pending_once().await;
                    }
                    r.load(Ordering::SeqCst)
                });
                drainer.cancel_with(asupersync::Budget::INFINITE);
                let r = ran.clone();
                let ready = cx.spawn(move |cx| async move {
                    // Ready lane, several turns.
                    for _ in 0..3 {
                        task::yield_now(&cx).await.unwrap();
                    }
                    r.store(true, Ordering::SeqCst)
                });
                ready.join(&cx).await.unwrap();
                drainer.join(&cx).await.unwrap()
            })
            .unwrap();
        assert!(
            ready_ran,
            "[{name}] the ready task starved behind the cancel lane"
        );
    }
}

/// A slot one task waits on and another fills: the smallest wake-up channel.
#[derive(Default)]
struct Baton {
    laps: std::sync::atomic::AtomicUsize,
    waiter: Mutex<Option<std::task::Waker>>,
}

impl Baton {
    fn pass(&self) {
        self.laps.fetch_add(1, Ordering::SeqCst);
        if let Some(waker) = self.waiter.lock().unwrap().take() {
            waker.wake();
        }
    }

    async fn wait_for(&self, lap: usize) {
        std::future::poll_fn(|task| {
            *self.waiter.lock().unwrap() = Some(task.waker().clone());
            if self.laps.load(Ordering::SeqCst) >= lap {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// A token passed around a ring of tasks, lap after lap: every hand-over is a
/// cross-task wake (LIFO slot, stealing, parking and unparking all take part), and a
/// single lost wake-up stalls the ring.
#[test]
fn a_token_ring_loses_no_wake_up() {
    let mut builders = flavors_and_one_worker();
    builders.push((
        "multi_thread(4)",
        RuntimeBuilder::multi_thread().worker_threads(4),
    ));
    for (name, builder) in builders {
        let rt = builder.build().unwrap();
        rt.block_on(|cx| async move {
            const TASKS: usize = 100;
            const LAPS: usize = 50;
            let batons: Arc<Vec<Baton>> = Arc::new((0..TASKS).map(|_| Baton::default()).collect());
            let ring: Vec<TaskHandle<()>> = (0..TASKS)
                .map(|i| {
                    let batons = batons.clone();
                    cx.spawn(move |_cx| async move {
                        // asupersync: allow(loop-without-checkpoint) -- a bounded ring of batons; nothing cancels it
                        for lap in 1..=LAPS {
                            batons[i].wait_for(lap).await;
                            batons[(i + 1) % TASKS].pass();
                        }
                    })
                })
                .collect();
            batons[0].pass();
            let all = async {
                for task in ring {
                    task.join(&cx).await.unwrap();
                }
            };
            time::timeout(&cx, Duration::from_secs(30), all)
                .await
                .unwrap_or_else(|_| panic!("[{name}] the ring stalled: a wake-up was lost"));
            // Task 0 was handed the token once to start and once per lap.
            assert_eq!(batons[0].laps.load(Ordering::SeqCst), LAPS + 1);
        })
        .unwrap();
    }
}

/// The cooperative budget covers always-ready channel receives and lock acquisitions
/// too, not only timers: a consumer draining a full channel (or re-locking an
/// uncontended mutex) in a loop must let a sibling run long before it finishes.
#[test]
fn always_ready_channels_and_locks_cannot_starve_a_sibling() {
    use asupersync::channel::mpsc;
    use asupersync::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    const ITEMS: usize = 20_000;
    let rt = asupersync::RuntimeBuilder::current_thread()
        .build()
        .unwrap();
    let (received_when_sibling_ran, locks_when_sibling_ran) = rt
        .block_on(|cx| async move {
            let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
            for i in 0..ITEMS {
                tx.send(i).unwrap();
            }
            drop(tx);
            let sibling_ran = Arc::new(AtomicBool::new(false));
            let received = Arc::new(AtomicUsize::new(0));
            let locks = Arc::new(AtomicUsize::new(0));
            let (seen, count) = (sibling_ran.clone(), received.clone());
            let consumer = cx.spawn(move |cx| async move {
                while rx.recv(&cx).await.is_ok() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                let _ = seen;
            });
            let (seen, count) = (sibling_ran.clone(), locks.clone());
            let locker = cx.spawn(move |cx| async move {
                let mutex = Mutex::new(0u64);
                for _ in 0..ITEMS {
                    *mutex.lock(&cx).await.unwrap() += 1;
                    count.fetch_add(1, Ordering::SeqCst);
                }
                let _ = seen;
            });
            let (flag, r, l) = (sibling_ran.clone(), received.clone(), locks.clone());
            let sibling = cx.spawn(move |_cx| async move {
                flag.store(true, Ordering::SeqCst);
                (r.load(Ordering::SeqCst), l.load(Ordering::SeqCst))
            });
            let observed = sibling.join(&cx).await.unwrap();
            consumer.join(&cx).await.unwrap();
            locker.join(&cx).await.unwrap();
            observed
        })
        .unwrap();
    assert!(
        received_when_sibling_ran < ITEMS,
        "the consumer drained all {ITEMS} messages before its sibling ran"
    );
    assert!(
        locks_when_sibling_ran < ITEMS,
        "the locker took {ITEMS} locks before its sibling ran"
    );
}

/// Wakes from another thread reach a runtime whose own thread never runs out of work:
/// on current-thread they land in the injected queue, which is served at a fixed
/// interval even while the local queue is never empty (and unpark the thread when it
/// sleeps).
#[test]
fn a_task_woken_from_another_thread_runs_while_the_runtime_is_busy() {
    on_each_flavor(|cx| async move {
        let stop = flag();
        let spinners = spawn_yielders(&cx, 4, &stop);
        for round in 0..20u32 {
            let (tx, mut rx) = asupersync::channel::oneshot::channel();
            let waiter = cx.spawn(move |cx| async move { rx.recv(&cx).await.unwrap() });
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(1));
                tx.send(round).unwrap();
            });
            let got = time::timeout(&cx, Duration::from_secs(10), waiter.join(&cx))
                .await
                .unwrap_or_else(|_| panic!("round {round}: the woken task never ran"))
                .unwrap();
            assert_eq!(got, round);
            sender.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for spinner in spinners {
            spinner.join(&cx).await.unwrap();
        }
    });
}

/// The same wake from another thread reaches a current-thread runtime that is asleep
/// (parked in the reactor).
#[test]
fn a_task_woken_from_another_thread_wakes_a_sleeping_runtime() {
    on_each_flavor(|cx| async move {
        for round in 0..20u32 {
            let (tx, mut rx) = asupersync::channel::oneshot::channel();
            let waiter = cx.spawn(move |cx| async move { rx.recv(&cx).await.unwrap() });
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(2));
                tx.send(round).unwrap();
            });
            // A lost wake-up fails the test instead of hanging the suite.
            let got = time::timeout(&cx, Duration::from_secs(10), waiter.join(&cx))
                .await
                .unwrap_or_else(|_| panic!("round {round}: the sleeping runtime never woke"))
                .unwrap();
            assert_eq!(got, round);
            sender.join().unwrap();
        }
    });
}
