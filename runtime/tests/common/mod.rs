//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asupersync::task::TaskHandle;
use asupersync::{Cx, Runtime, RuntimeBuilder};

/// Every scheduler flavor the runtime has; behaviour tests run on each.
pub fn flavors() -> Vec<(&'static str, RuntimeBuilder)> {
    vec![
        ("current_thread", RuntimeBuilder::current_thread()),
        (
            "multi_thread",
            RuntimeBuilder::multi_thread().worker_threads(2),
        ),
    ]
}

/// Runs `body` in a fresh runtime of every flavor and returns the body's values.
pub fn on_each_flavor<T, F, Fut>(body: F) -> Vec<T>
where
    F: Fn(Cx) -> Fut,
    Fut: Future<Output = T>,
{
    flavors()
        .into_iter()
        .map(|(name, builder)| {
            let rt = builder.build().unwrap();
            match rt.block_on(&body) {
                asupersync::Outcome::Ok(v) => v,
                other => panic!("[{name}] block_on did not finish: {:?}", other.map(|_| ())),
            }
        })
        .collect()
}

/// Calls `test` with a fresh runtime of every flavor (for tests that drive the
/// runtime from outside: shutdown handles, several `block_on` calls, traces).
pub fn for_each_runtime(test: impl Fn(Runtime)) {
    for (name, builder) in flavors() {
        eprintln!("[{name}]");
        test(builder.build().unwrap());
    }
}

pub fn current_thread() -> Runtime {
    RuntimeBuilder::current_thread().build().unwrap()
}

/// Sets its flag when dropped: shows that a future was dropped.
pub struct DropFlag(pub Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// `n` tasks that do nothing but yield until `stop` is set: load that keeps every
/// thread of the runtime busy. Set `stop`, then join them.
pub fn spawn_yielders(cx: &Cx, n: usize, stop: &Arc<AtomicBool>) -> Vec<TaskHandle<()>> {
    (0..n)
        .map(|_| {
            let stop = stop.clone();
            cx.spawn(move |cx| async move {
                while !stop.load(Ordering::Relaxed) {
                    asupersync::task::yield_now(&cx).await.unwrap();
                }
            })
        })
        .collect()
}

pub fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// An append-only log for asserting the order of events across tasks.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn position(&self, event: &str) -> usize {
        self.events()
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("event {event:?} not in {:?}", self.events()))
    }
}

pub const MS: Duration = Duration::from_millis(1);

/// Returns `Pending` once (after waking itself) without looking at cancellation: how a
/// task that ignores cancellation gives up the thread.
pub async fn pending_once() {
    let mut yielded = false;
    std::future::poll_fn(move |task| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            task.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Seeds a behaviour test runs under the lab runtime (see [`on_lab`]).
pub const LAB_SEEDS: std::ops::Range<u64> = 0..64;

/// Runs `body` under the lab runtime once per seed of [`LAB_SEEDS`], with every
/// oracle on, and returns the values; fails with the seed and its replay line at the
/// first run that panics or violates an oracle. Bodies that measure real time with
/// `std::time::Instant` do not belong here: lab time is virtual (use `cx.now()`).
pub fn on_lab<T, F, Fut>(body: F) -> Vec<T>
where
    F: Fn(Cx) -> Fut,
    Fut: Future<Output = T>,
{
    LAB_SEEDS
        .map(|seed| {
            let config = asupersync::lab::LabConfig::seed(seed);
            let report = asupersync::lab::LabRuntime::new(config).block_on(&body);
            if let Some(failure) = report.failure() {
                panic!("{failure}\nreplay: LabRuntime::new(LabConfig::seed({seed}))");
            }
            report.outcome.unwrap()
        })
        .collect()
}

/// [`on_each_flavor`], then [`on_lab`]: the body on every real scheduler and under
/// the lab across seeds.
pub fn on_each_flavor_and_lab<T, F, Fut>(body: F) -> Vec<T>
where
    F: Fn(Cx) -> Fut,
    Fut: Future<Output = T>,
{
    let mut values = on_each_flavor(&body);
    values.extend(on_lab(&body));
    values
}

/// For scenarios that need every other task parked at its await point before the next
/// step. On one thread a short sleep guarantees that (while the sleeper sleeps, every
/// runnable task runs until it waits), on current-thread and under the lab, which
/// also explores the interleavings across seeds. On parallel workers it would be a
/// race, so those are covered by order-independent stress tests instead.
pub fn on_one_thread_and_lab<T, F, Fut>(body: F) -> Vec<T>
where
    F: Fn(Cx) -> Fut,
    Fut: Future<Output = T>,
{
    let mut values = vec![current_thread().block_on(&body).unwrap()];
    values.extend(on_lab(&body));
    values
}

/// The names of this process's threads (Linux: `/proc/self/task/*/comm`).
pub fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect()
}

/// The threads named `prefix*` still listed after waiting up to five seconds for them
/// to go. A thread that was joined can stay listed for a moment after its join
/// returned; one that leaked never goes away.
pub fn threads_left(prefix: &str) -> Vec<String> {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left: Vec<String> = thread_names()
            .into_iter()
            .filter(|name| name.starts_with(prefix))
            .collect();
        if left.is_empty() || std::time::Instant::now() >= give_up {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
