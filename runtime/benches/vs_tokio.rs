//! Side by side with Tokio: each workload runs on Tokio and on asupersync in one
//! process, alternating (A B, B A, ...) so both see the same machine state, with the
//! same worker count. Reported: the median of each and the ratio Tokio / asupersync
//! (above 1 means asupersync is faster), as a table and as JSON.
//!
//! ```text
//! cargo bench -p asupersync --bench vs_tokio [-- --quick] [--json PATH] [--workers N] [--filter NAME]
//! cargo bench -p asupersync --bench vs_tokio -- --current-thread   # both single-threaded
//! ```
//!
//! The workloads are ported from Tokio's own `benches/` with the same parameters. Each
//! side waits for completion its idiomatic way: Tokio with a counter and a notification,
//! asupersync by letting the region close to quiescence (which is what structured code
//! does anyway).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NUM_SPAWN: usize = 10_000;
const NUM_YIELD_TASKS: usize = 200;
const NUM_YIELDS: usize = 1_000;
const CHAIN: usize = 1_000;
const TIMEOUT_TASKS: usize = 100;
const TIMEOUTS_PER_TASK: usize = 100;
const CANCEL_TREE: usize = 10_000;

struct Args {
    quick: bool,
    json: PathBuf,
    workers: usize,
    current_thread: bool,
    filter: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        quick: false,
        json: default_json_path(),
        workers: 2,
        current_thread: false,
        filter: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--json" => args.json = it.next().expect("--json takes a path").into(),
            "--workers" => {
                args.workers = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--workers takes a positive number")
            }
            "--current-thread" => args.current_thread = true,
            "--filter" => args.filter = Some(it.next().expect("--filter takes a name")),
            // cargo bench passes --bench; libtest-style flags are not ours.
            "--bench" => {}
            other if other.starts_with("--") => {
                eprintln!(
                    "unknown option {other}; options: --quick --json PATH --workers N --current-thread --filter NAME"
                );
                std::process::exit(2);
            }
            name => args.filter = Some(name.to_string()),
        }
    }
    args
}

fn default_json_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("vs_tokio.json")
}

struct Runtimes {
    tokio: tokio::runtime::Runtime,
    native: asupersync::Runtime,
}

impl Runtimes {
    fn new(args: &Args) -> Runtimes {
        let (tokio, native) = if args.current_thread {
            (
                tokio::runtime::Builder::new_current_thread(),
                asupersync::RuntimeBuilder::current_thread(),
            )
        } else {
            let mut tokio = tokio::runtime::Builder::new_multi_thread();
            tokio.worker_threads(args.workers);
            (
                tokio,
                asupersync::RuntimeBuilder::multi_thread().worker_threads(args.workers),
            )
        };
        let mut tokio = tokio;
        let tokio = tokio.enable_all().build().expect("tokio runtime");
        let native = native.build().unwrap_or_else(|e| {
            eprintln!("cannot build the asupersync runtime: {e}");
            std::process::exit(1)
        });
        Runtimes { tokio, native }
    }
}

/// One workload, written once for each runtime.
struct Workload {
    name: &'static str,
    tokio: fn(&tokio::runtime::Runtime),
    native: fn(&asupersync::Runtime),
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "spawn_many_local",
            tokio: tokio_side::spawn_many_local,
            native: native_side::spawn_many_local,
        },
        Workload {
            name: "spawn_many_remote_idle",
            tokio: tokio_side::spawn_many_remote_idle,
            native: native_side::spawn_many_remote_idle,
        },
        Workload {
            name: "yield_many",
            tokio: tokio_side::yield_many,
            native: native_side::yield_many,
        },
        Workload {
            name: "chained_spawn",
            tokio: tokio_side::chained_spawn,
            native: native_side::chained_spawn,
        },
        Workload {
            name: "timer_timeout",
            tokio: tokio_side::timer_timeout,
            native: native_side::timer_timeout,
        },
        Workload {
            name: "cancel_tree",
            tokio: tokio_side::cancel_tree,
            native: native_side::cancel_tree,
        },
    ]
}

mod tokio_side {
    use super::*;
    use tokio::sync::Notify;

    /// Spawns `n` tasks running `body`, and waits until all have finished.
    async fn fan_out<F, Fut>(n: usize, body: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let remaining = Arc::new(AtomicUsize::new(n));
        let done = Arc::new(Notify::new());
        for _ in 0..n {
            let (remaining, done, work) = (remaining.clone(), done.clone(), body());
            tokio::spawn(async move {
                work.await;
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    done.notify_one();
                }
            });
        }
        done.notified().await;
    }

    pub fn spawn_many_local(rt: &tokio::runtime::Runtime) {
        rt.block_on(fan_out(NUM_SPAWN, || async {}));
    }

    pub fn spawn_many_remote_idle(rt: &tokio::runtime::Runtime) {
        let handles: Vec<_> = (0..NUM_SPAWN).map(|_| rt.spawn(async {})).collect();
        rt.block_on(async {
            for handle in handles {
                handle.await.unwrap();
            }
        });
    }

    pub fn yield_many(rt: &tokio::runtime::Runtime) {
        rt.block_on(fan_out(NUM_YIELD_TASKS, || async {
            for _ in 0..NUM_YIELDS {
                tokio::task::yield_now().await;
            }
        }));
    }

    pub fn chained_spawn(rt: &tokio::runtime::Runtime) {
        fn link(done: tokio::sync::oneshot::Sender<()>, n: usize) {
            if n == 0 {
                let _ = done.send(());
            } else {
                tokio::spawn(async move { link(done, n - 1) });
            }
        }
        rt.block_on(async {
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move { link(tx, CHAIN) });
            rx.await.unwrap();
        });
    }

    pub fn timer_timeout(rt: &tokio::runtime::Runtime) {
        rt.block_on(fan_out(TIMEOUT_TASKS, || async {
            for _ in 0..TIMEOUTS_PER_TASK {
                let r = tokio::time::timeout(Duration::from_millis(10), async { 1 }).await;
                std::hint::black_box(r.unwrap());
            }
        }));
    }

    pub fn cancel_tree(rt: &tokio::runtime::Runtime) {
        rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..CANCEL_TREE {
                set.spawn(tokio::time::sleep(Duration::from_secs(3600)));
            }
            tokio::task::yield_now().await;
            set.abort_all();
            while set.join_next().await.is_some() {}
        });
    }
}

mod native_side {
    use super::*;
    use asupersync::{task, time, CancelReason, Cx, Region};

    fn run<F, Fut>(rt: &asupersync::Runtime, body: F)
    where
        F: FnOnce(Cx) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        rt.block_on(body).unwrap();
    }

    pub fn spawn_many_local(rt: &asupersync::Runtime) {
        // The root region does not close before every task has finished.
        run(rt, |cx| async move {
            for _ in 0..NUM_SPAWN {
                cx.spawn(|_cx| async {});
            }
        });
    }

    pub fn spawn_many_remote_idle(rt: &asupersync::Runtime) {
        run(rt, |cx| async move {
            let remote = cx.clone();
            std::thread::spawn(move || {
                for _ in 0..NUM_SPAWN {
                    remote.spawn(|_cx| async {});
                }
            })
            .join()
            .unwrap();
        });
    }

    pub fn yield_many(rt: &asupersync::Runtime) {
        run(rt, |cx| async move {
            for _ in 0..NUM_YIELD_TASKS {
                cx.spawn(|cx| async move {
                    for _ in 0..NUM_YIELDS {
                        task::yield_now(&cx).await.unwrap();
                    }
                });
            }
        });
    }

    pub fn chained_spawn(rt: &asupersync::Runtime) {
        fn link(cx: &Cx, n: usize) {
            if n > 0 {
                cx.spawn(move |cx| async move { link(&cx, n - 1) });
            }
        }
        run(rt, |cx| async move { link(&cx, CHAIN) });
    }

    pub fn timer_timeout(rt: &asupersync::Runtime) {
        run(rt, |cx| async move {
            for _ in 0..TIMEOUT_TASKS {
                cx.spawn(|cx| async move {
                    for _ in 0..TIMEOUTS_PER_TASK {
                        let r = time::timeout(&cx, Duration::from_millis(10), async { 1 }).await;
                        std::hint::black_box(r.unwrap());
                    }
                });
            }
        });
    }

    pub fn cancel_tree(rt: &asupersync::Runtime) {
        run(rt, |cx| async move {
            let closed = Region::open(&cx, "tree", |cx| async move {
                for _ in 0..CANCEL_TREE {
                    cx.spawn(|cx| async move {
                        let _ = time::sleep(&cx, Duration::from_secs(3600)).await;
                    });
                }
                task::yield_now(&cx).await.ok();
                cx.cancel_region(CancelReason::user("bench"));
            })
            .await;
            assert!(
                closed.is_ok(),
                "the body returns normally after cancelling: {closed:?}"
            );
        });
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let args = parse_args();
    let (warmup, rounds, budget) = if args.quick {
        (1, 7, Duration::from_millis(800))
    } else {
        (3, 31, Duration::from_secs(5))
    };
    let runtimes = Runtimes::new(&args);
    let mut rows = Vec::new();
    println!(
        "{:<24} {:>12} {:>12} {:>8}   ({}, median of up to {rounds} alternating rounds)",
        "workload",
        "tokio",
        "asupersync",
        "ratio",
        if args.current_thread {
            "current-thread".to_string()
        } else {
            format!("workers: {}", args.workers)
        }
    );
    for workload in workloads() {
        if args
            .filter
            .as_deref()
            .is_some_and(|f| !workload.name.contains(f))
        {
            continue;
        }
        for _ in 0..warmup {
            (workload.tokio)(&runtimes.tokio);
            (workload.native)(&runtimes.native);
        }
        let (mut tokio_samples, mut native_samples) = (Vec::new(), Vec::new());
        let started = Instant::now();
        for round in 0..rounds {
            // Alternate which side goes first so neither always inherits a warm cache.
            let order: [bool; 2] = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for tokio_first in order {
                let t = Instant::now();
                if tokio_first {
                    (workload.tokio)(&runtimes.tokio);
                    tokio_samples.push(t.elapsed());
                } else {
                    (workload.native)(&runtimes.native);
                    native_samples.push(t.elapsed());
                }
            }
            if round >= 4 && started.elapsed() > budget {
                break;
            }
        }
        let tokio_ns = median(&mut tokio_samples).as_nanos() as f64;
        let native_ns = median(&mut native_samples).as_nanos() as f64;
        let ratio = tokio_ns / native_ns;
        println!(
            "{:<24} {:>10.1}µs {:>10.1}µs {:>8.2}",
            workload.name,
            tokio_ns / 1e3,
            native_ns / 1e3,
            ratio
        );
        rows.push(serde_json::json!({
            "name": workload.name,
            "tokio_ns": tokio_ns.round() as u64,
            "asupersync_ns": native_ns.round() as u64,
            "ratio": (ratio * 1e4).round() / 1e4,
        }));
    }
    let workers = if args.current_thread { 1 } else { args.workers };
    let json = serde_json::json!({
        "workers": workers,
        "flavor": if args.current_thread { "current_thread" } else { "multi_thread" },
        "workloads": rows,
    });
    let json = serde_json::to_string_pretty(&json).expect("JSON of numbers and names");
    if let Some(dir) = args.json.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&args.json, json) {
        Ok(()) => println!("wrote {}", args.json.display()),
        Err(e) => eprintln!("could not write {}: {e}", args.json.display()),
    }
}
