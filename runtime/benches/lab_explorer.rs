//! Explorer throughput: complete lab runs per second of a 10-task program, on one
//! core.
//!
//! Each run builds a fresh lab runtime, spawns 10 tasks that each yield twice and
//! touch shared state, joins them, and checks every built-in oracle: the whole cost a
//! seed pays in `Explorer::run` or `#[asupersync::lab_test]`. Target: at least
//! 10,000 runs per second.
//!
//! `cargo bench -p asupersync --bench lab_explorer` (optionally `-- <seconds>`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asupersync::lab::{Explorer, LabConfig, Strategy};
use asupersync::task::yield_now;
use asupersync::Cx;

async fn ten_tasks(cx: Cx) {
    let total = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::with_capacity(10);
    for i in 0..10u64 {
        let total = total.clone();
        handles.push(cx.spawn(move |cx| async move {
            total.fetch_add(i, Ordering::Relaxed);
            yield_now(&cx).await.ok();
            total.fetch_add(i, Ordering::Relaxed);
            yield_now(&cx).await.ok();
        }));
    }
    for h in handles {
        h.join(&cx).await.unwrap();
    }
    assert_eq!(total.load(Ordering::Relaxed), 90);
}

fn measure(name: &str, explorer: &Explorer, budget: Duration) -> f64 {
    // Warm up (allocator, caches).
    explorer.run(0..200, ten_tasks).unwrap();
    let mut seed = 1_000u64;
    let mut runs = 0u64;
    let mut steps = 0u64;
    let started = Instant::now();
    while started.elapsed() < budget {
        let explored = explorer.run(seed..seed + 500, ten_tasks).unwrap();
        runs += explored.runs;
        steps += explored.steps;
        seed += 500;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = runs as f64 / secs;
    println!(
        "{name:<8} {runs:>8} runs in {secs:.2} s: {rate:>9.0} runs/s, {:.1} µs/run, {:.0} steps/run",
        secs * 1e6 / runs as f64,
        steps as f64 / runs as f64
    );
    rate
}

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(seconds);
    println!("lab explorer: complete runs of a 10-task program (one thread)");
    let random = measure("random", &Explorer::random(), budget);
    let pct = measure(
        "pct(3)",
        &Explorer::new(LabConfig::seed(0).strategy(Strategy::pct(3))),
        budget,
    );
    let target = 10_000.0;
    println!(
        "target {target:.0} runs/s: random {}, pct {}",
        if random >= target { "met" } else { "MISSED" },
        if pct >= target { "met" } else { "MISSED" }
    );
}
