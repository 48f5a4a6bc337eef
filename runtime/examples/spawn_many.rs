//! A by-hand microbenchmark of the schedulers' spawn, wake and yield paths:
//! `cargo run -p asupersync --release --example spawn_many`. Numbers from a shared
//! machine are indicative only; the benchmark suite makes the real comparisons.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asupersync::{task, Region, RuntimeBuilder};

const SPAWNS: usize = 100_000;
const YIELDERS: usize = 100;
const YIELDS: usize = 1_000;

fn main() {
    let flavors = [
        ("current_thread", RuntimeBuilder::current_thread()),
        (
            "multi_thread(1)",
            RuntimeBuilder::multi_thread().worker_threads(1),
        ),
        (
            "multi_thread(2)",
            RuntimeBuilder::multi_thread().worker_threads(2),
        ),
    ];
    for (name, builder) in flavors {
        let rt = builder.build().unwrap();
        let best = |f: &dyn Fn() -> Duration| (0..5).map(|_| f()).min().unwrap();
        let from_root = best(&|| {
            rt.block_on(|cx| async move {
                let done = Arc::new(AtomicUsize::new(0));
                let started = Instant::now();
                let d = done.clone();
                Region::open(&cx, "spawns", move |cx| async move {
                    for _ in 0..SPAWNS {
                        let d = d.clone();
                        cx.spawn(move |_cx| async move {
                            d.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                })
                .await
                .unwrap();
                assert_eq!(done.load(Ordering::Relaxed), SPAWNS);
                started.elapsed()
            })
            .unwrap()
        });
        let from_task = best(&|| {
            rt.block_on(|cx| async move {
                let started = Instant::now();
                cx.spawn(|cx| async move {
                    Region::open(&cx, "spawns", |cx| async move {
                        for _ in 0..SPAWNS {
                            cx.spawn(|_cx| async {});
                        }
                    })
                    .await
                    .unwrap();
                })
                .join(&cx)
                .await
                .unwrap();
                started.elapsed()
            })
            .unwrap()
        });
        let yields = best(&|| {
            rt.block_on(|cx| async move {
                let started = Instant::now();
                Region::open(&cx, "yielders", |cx| async move {
                    for _ in 0..YIELDERS {
                        cx.spawn(|cx| async move {
                            for _ in 0..YIELDS {
                                task::yield_now(&cx).await.unwrap();
                            }
                        });
                    }
                })
                .await
                .unwrap();
                started.elapsed()
            })
            .unwrap()
        });
        let per = |d: Duration, n: usize| d.as_nanos() as f64 / n as f64;
        println!(
            "{name:>16}: spawn+run from root {:>7.0} ns/task, from a task {:>7.0} ns/task, yield {:>6.0} ns/yield",
            per(from_root, SPAWNS),
            per(from_task, SPAWNS),
            per(yields, YIELDERS * YIELDS),
        );
    }
}
