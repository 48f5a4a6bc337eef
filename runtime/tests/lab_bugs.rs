//! Deliberately buggy programs: each must be found by the explorer within its default
//! seed budget, with both strategies, and then replayed from the printed seed (and
//! from the saved schedule) to the very same failure.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use asupersync::lab::{self, Explorer, LabConfig, LabFailure, LabRuntime, Strategy};
use asupersync::task::yield_now;
use asupersync::{Cx, Region};

/// Explores `program` with `strategy` over the default seeds, expects a failure that
/// mentions `expected`, then replays it from the seed and from the schedule.
fn find_and_replay<F, Fut>(strategy: Strategy, expected: &str, program: F) -> Box<LabFailure>
where
    F: Fn(Cx) -> Fut + Copy,
    Fut: Future<Output = ()>,
{
    let explorer = Explorer::new(LabConfig::seed(0).strategy(strategy)).test_name("lab_bugs");
    let failure = match explorer.run(Explorer::DEFAULT_SEEDS, program) {
        Ok(explored) => panic!("{strategy:?} missed the bug in {} runs", explored.runs),
        Err(failure) => failure,
    };
    let text = failure.to_string();
    // Shown with `--nocapture`: what a user sees.
    println!("{text}\n");
    assert!(text.contains(expected), "{text}");
    assert!(
        text.contains(&format!(
            "ASUPERSYNC_LAB_SEED={} cargo test lab_bugs",
            failure.seed
        )),
        "{text}"
    );
    // Replay from the printed seed: the same failure, event for event.
    let replay =
        LabRuntime::new(LabConfig::seed(failure.seed).strategy(strategy)).block_on(program);
    assert_eq!(replay.trace_hash(), failure.trace_hash);
    assert!(replay.failure().unwrap().contains(expected));
    // Replay from the recorded schedule.
    let replay = LabRuntime::new(LabConfig::from_schedule(&failure.schedule)).block_on(program);
    assert_eq!(replay.trace_hash(), failure.trace_hash);
    failure
}

// ---------------------------------------------------------------- lost wake-up

/// A one-shot signal whose waiter checks the flag and registers its waker in two
/// separate steps, with a yield between: a `set` in the gap is never seen.
#[derive(Default)]
struct Signal {
    set: AtomicBool,
    waiter: Mutex<Option<Waker>>,
}

impl Signal {
    fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waiter.lock().unwrap().take() {
            waker.wake();
        }
    }

    async fn wait(&self, cx: &Cx) {
        if self.set.load(Ordering::SeqCst) {
            return;
        }
        // BUG: the check above and the registration below are not atomic.
        yield_now(cx).await.ok();
        let mut registered = false;
        std::future::poll_fn(move |task| {
            // Polled again after registering: woken by `set`.
            if registered && self.set.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waiter.lock().unwrap() = Some(task.waker().clone());
            registered = true;
            Poll::Pending
        })
        .await
    }
}

async fn lost_wakeup(cx: Cx) {
    let signal = Arc::new(Signal::default());
    let s = signal.clone();
    let waiter = cx.spawn_named("waiter", move |cx| async move { s.wait(&cx).await });
    let s = signal.clone();
    let setter = cx.spawn_named("setter", move |_cx| async move { s.set() });
    setter.join(&cx).await.unwrap();
    waiter.join(&cx).await.unwrap();
}

#[test]
fn lost_wakeup_is_found_and_replayed() {
    for strategy in [Strategy::Random, Strategy::pct(2)] {
        find_and_replay(strategy, "[deadlock]", lost_wakeup);
    }
}

// ---------------------------------------------------------- order-dependent assert

/// A consumer that assumes the producer already ran: true in most schedules.
async fn order_dependent(cx: Cx) {
    let config = Arc::new(Mutex::new(None::<u32>));
    let c = config.clone();
    let producer = cx.spawn_named("producer", move |cx| async move {
        yield_now(&cx).await.ok();
        *c.lock().unwrap() = Some(8080);
    });
    let c = config.clone();
    let consumer = cx.spawn_named("consumer", move |cx| async move {
        yield_now(&cx).await.ok();
        yield_now(&cx).await.ok();
        let loaded = *c.lock().unwrap();
        let port = loaded.expect("config loaded before use");
        assert_eq!(port, 8080);
    });
    producer.join(&cx).await.unwrap();
    consumer.join(&cx).await.unwrap();
}

#[test]
fn order_dependent_assertion_is_found_and_replayed() {
    for strategy in [Strategy::Random, Strategy::pct(2)] {
        find_and_replay(strategy, "config loaded before use", order_dependent);
    }
}

// ------------------------------------------------------------ two-lock deadlock

/// A tiny async lock (the native `sync::Mutex` lives in another branch): a flag with
/// its holder, and the wakers of everyone waiting. It tells the lab what each waiter
/// waits for, so a deadlock report prints the wait-for cycle.
struct TestLock {
    name: &'static str,
    holder: Mutex<Option<u64>>,
    waiters: Mutex<Vec<Waker>>,
}

impl TestLock {
    fn new(name: &'static str) -> Arc<TestLock> {
        Arc::new(TestLock {
            name,
            holder: Mutex::new(None),
            waiters: Mutex::new(Vec::new()),
        })
    }

    async fn lock<'a>(self: &'a Arc<Self>, cx: &'a Cx) -> TestGuard {
        std::future::poll_fn(|task| {
            let mut holder = self.holder.lock().unwrap();
            match *holder {
                None => {
                    *holder = Some(cx.task_id());
                    lab::done_waiting(cx);
                    Poll::Ready(TestGuard(self.clone()))
                }
                Some(owner) => {
                    lab::waiting_on(cx, format!("lock {}", self.name), Some(owner));
                    self.waiters.lock().unwrap().push(task.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

struct TestGuard(Arc<TestLock>);

impl Drop for TestGuard {
    fn drop(&mut self) {
        *self.0.holder.lock().unwrap() = None;
        for waker in self.0.waiters.lock().unwrap().drain(..) {
            waker.wake();
        }
    }
}

/// Two tasks take the same two locks in opposite orders.
async fn two_lock_deadlock(cx: Cx) {
    let a = TestLock::new("A");
    let b = TestLock::new("B");
    let (a1, b1) = (a.clone(), b.clone());
    let first = cx.spawn_named("a-then-b", move |cx| async move {
        let _a = a1.lock(&cx).await;
        yield_now(&cx).await.ok();
        let _b = b1.lock(&cx).await;
    });
    let second = cx.spawn_named("b-then-a", move |cx| async move {
        let _b = b.lock(&cx).await;
        yield_now(&cx).await.ok();
        let _a = a.lock(&cx).await;
    });
    first.join(&cx).await.unwrap();
    second.join(&cx).await.unwrap();
}

#[test]
fn two_lock_deadlock_is_found_with_its_cycle_and_replayed() {
    for strategy in [Strategy::Random, Strategy::pct(2)] {
        let failure = find_and_replay(strategy, "wait-for cycle", two_lock_deadlock);
        let text = failure.to_string();
        assert!(text.contains("\"a-then-b\" waits for lock B"), "{text}");
        assert!(text.contains("\"b-then-a\" waits for lock A"), "{text}");
    }
}

// ------------------------------------------- a leak under one interleaving only

/// A hand-counted resource checked by a custom oracle (`lab::check_on_close`): a count
/// of permits handed out, which must be back to zero when the region closes. The worker
/// leaks its permit only if it sees the stopper's short-lived "draining" flag, which is
/// up for a single step. (`obligation_leak_under_one_interleaving` below is the same
/// bug with a real obligation, caught by the built-in oracle.)
async fn leak_under_one_interleaving(cx: Cx) {
    let outstanding = Arc::new(AtomicUsize::new(0));
    let draining = Arc::new(AtomicBool::new(false));
    let o = outstanding.clone();
    Region::open(&cx, "permits", move |cx| async move {
        let o2 = o.clone();
        lab::check_on_close(&cx, "permit-count", move || {
            match o2.load(Ordering::SeqCst) {
                0 => Ok(()),
                n => Err(format!("{n} permit(s) never released")),
            }
        });
        let (o3, d) = (o.clone(), draining.clone());
        cx.spawn_named("worker", move |cx| async move {
            o3.fetch_add(1, Ordering::SeqCst);
            yield_now(&cx).await.ok();
            if d.load(Ordering::SeqCst) {
                // BUG: the early return forgets the permit.
                return;
            }
            o3.fetch_sub(1, Ordering::SeqCst);
        });
        cx.spawn_named("stopper", move |cx| async move {
            yield_now(&cx).await.ok();
            draining.store(true, Ordering::SeqCst);
            yield_now(&cx).await.ok();
            draining.store(false, Ordering::SeqCst);
        });
    })
    .await
    .unwrap();
}

#[test]
fn leak_under_one_interleaving_is_found_and_replayed() {
    for strategy in [Strategy::Random, Strategy::pct(3)] {
        let failure = find_and_replay(
            strategy,
            "[permit-count] 1 permit(s) never released",
            leak_under_one_interleaving,
        );
        assert!(failure.to_string().contains("region"), "{failure}");
    }
}

/// The same bug with a real obligation: a semaphore permit that the worker stashes
/// outside its region when it sees the one-step "draining" flag. The region closes with
/// the permit unresolved, and the built-in `obligation-leak` oracle reports it with the
/// line that acquired it.
async fn obligation_leak_under_one_interleaving(cx: Cx) {
    let sem = Arc::new(asupersync::sync::Semaphore::new(1));
    let stash = Arc::new(Mutex::new(None));
    let draining = Arc::new(AtomicBool::new(false));
    let (s, st) = (sem.clone(), stash.clone());
    Region::open(&cx, "permits", move |cx| async move {
        let d = draining.clone();
        cx.spawn_named("worker", move |cx| async move {
            let permit = s.acquire_owned(&cx, 1).await.unwrap();
            yield_now(&cx).await.ok();
            if d.load(Ordering::SeqCst) {
                // BUG: parks the permit for later instead of releasing it.
                *st.lock().unwrap() = Some(permit);
            }
        });
        cx.spawn_named("stopper", move |cx| async move {
            yield_now(&cx).await.ok();
            draining.store(true, Ordering::SeqCst);
            yield_now(&cx).await.ok();
            draining.store(false, Ordering::SeqCst);
        });
    })
    .await
    .unwrap();
    drop(stash.lock().unwrap().take());
}

#[test]
fn an_obligation_leaked_under_one_interleaving_is_found_with_its_location() {
    for strategy in [Strategy::Random, Strategy::pct(3)] {
        let failure = find_and_replay(
            strategy,
            "[obligation-leak]",
            obligation_leak_under_one_interleaving,
        );
        let text = failure.to_string();
        assert!(text.contains("semaphore permit"), "{text}");
        assert!(
            text.contains("tests/lab_bugs.rs:"),
            "the creating location: {text}"
        );
    }
}

#[test]
fn the_oracles_stay_quiet_on_schedules_without_a_preemption() {
    // PCT with depth 1 never preempts a runnable task, and these three bugs each need
    // a preemption in a precise place: no run may fail.
    let explorer = Explorer::new(LabConfig::seed(0).strategy(Strategy::pct(1)));
    explorer.run(0..50, lost_wakeup).unwrap();
    explorer.run(0..50, two_lock_deadlock).unwrap();
    explorer.run(0..50, leak_under_one_interleaving).unwrap();
    explorer
        .run(0..50, obligation_leak_under_one_interleaving)
        .unwrap();
}

// ------------------------------------------------- the same deadlock, native locks

/// Two tasks take `asupersync::sync::Mutex`es in opposite orders, with a yield between
/// the two locks: under some interleavings each holds one and waits for the other.
async fn native_mutex_deadlock(cx: Cx) {
    use asupersync::sync::Mutex;
    let (a, b) = (Arc::new(Mutex::new(0u32)), Arc::new(Mutex::new(0u32)));
    Region::open(&cx, "transfers", move |cx| async move {
        let (a1, b1) = (a.clone(), b.clone());
        cx.spawn_named("a-then-b", move |cx| async move {
            // Cancel-correct: a cancelled wait (the lab unwinding the deadlock) returns.
            let Ok(mut first) = a1.lock(&cx).await else {
                return;
            };
            yield_now(&cx).await.ok();
            let Ok(mut second) = b1.lock(&cx).await else {
                return;
            };
            *first += 1;
            *second += 1;
        });
        cx.spawn_named("b-then-a", move |cx| async move {
            let Ok(mut first) = b.lock(&cx).await else {
                return;
            };
            yield_now(&cx).await.ok();
            let Ok(mut second) = a.lock(&cx).await else {
                return;
            };
            *first += 1;
            *second += 1;
        });
    })
    .await
    .unwrap();
}

/// Native locks declare who waits for whom: under both strategies the deadlock is found
/// and replayed, and the report prints the cycle between `tasks`, naming each lock of
/// `kind` by where it was created.
fn assert_cycle_through<F, Fut>(program: F, kind: &str, tasks: [&str; 2])
where
    F: Fn(Cx) -> Fut + Copy,
    Fut: Future<Output = ()>,
{
    for strategy in [Strategy::Random, Strategy::pct(3)] {
        let text = find_and_replay(strategy, "wait-for cycle", program).to_string();
        let named = format!("waits for the {kind} created at runtime/tests/lab_bugs.rs:");
        assert!(text.contains(&named), "{text}");
        assert!(tasks.iter().all(|t| text.contains(t)), "{text}");
    }
}

#[test]
fn a_deadlock_between_two_native_mutexes_is_found_and_replayed() {
    assert_cycle_through(native_mutex_deadlock, "mutex", ["a-then-b", "b-then-a"]);
}

// ------------------------------------------------ a deadlock through reader-writer locks

/// Two tasks each read one `RwLock` and then want to write the other's: under some
/// interleavings each writer waits for the other's read guard. A writer waits for
/// every reader, so these are many-holder edges of the wait-for graph.
async fn rwlock_upgrade_deadlock(cx: Cx) {
    use asupersync::sync::RwLock;
    let (a, b) = (Arc::new(RwLock::new(0u32)), Arc::new(RwLock::new(0u32)));
    Region::open(&cx, "upgrades", move |cx| async move {
        for (name, read, write) in [("reads-a", a.clone(), b.clone()), ("reads-b", b, a)] {
            cx.spawn_named(name, move |cx| async move {
                let Ok(seen) = read.read(&cx).await else {
                    return;
                };
                yield_now(&cx).await.ok();
                let Ok(mut other) = write.write(&cx).await else {
                    return;
                };
                *other += *seen;
            });
        }
    })
    .await
    .unwrap();
}

#[test]
fn a_deadlock_between_two_rwlocks_prints_the_cycle_through_the_readers() {
    assert_cycle_through(rwlock_upgrade_deadlock, "rwlock", ["reads-a", "reads-b"]);
}
