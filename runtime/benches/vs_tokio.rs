//! Side by side with Tokio: each workload runs on Tokio and on asupersync in one
//! process, alternating (A B, B A, ...) so both see the same machine state, with the
//! same worker count. Reported: the median of each and the ratio Tokio / asupersync
//! (above 1 means asupersync is faster), as a table and as JSON; beside it the ratio
//! of the fastest runs (`min-ratio`), the least disturbed ones on a shared machine.
//! Also reported, not as ratios: `tcp_echo`'s round-trip p50/p99 (see [`latency`]) and
//! the memory per idle task (see [`idle_memory`]). `docs/performance.md` has results.
//!
//! ```text
//! cargo bench -p asupersync --bench vs_tokio [-- --quick] [--json PATH] [--workers N] [--filter NAME]
//! cargo bench -p asupersync --bench vs_tokio -- --current-thread   # both single-threaded
//! cargo bench -p asupersync --bench vs_tokio -- --filter ping_pong --only asupersync  # profiling
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
/// Tokio's `rt_multi_threaded::ping_pong`: task pairs, one oneshot round trip each.
const NUM_PINGS: usize = 1_000;
/// Tokio's `sync_mpsc::contention_bounded` (capacity 1,000,000: never full) and
/// `contention_bounded_full` (capacity 100: producers wait for slots).
const PRODUCERS: usize = 5;
const MESSAGES_PER_PRODUCER: usize = 1_000;
const MPSC_CAPACITY: usize = 1_000_000;
const MPSC_CAPACITY_FULL: usize = 100;
/// Tokio's `sync_mpsc_oneshot::request_reply`: a server on a capacity-10 mpsc.
const REQUESTS: usize = 1_000;
const REQUEST_CHANNEL_CAPACITY: usize = 10;
const TCP_CONNECTIONS: usize = 50;
const TCP_MESSAGES: usize = 1_000;
const TCP_MESSAGE_BYTES: usize = 100;
/// One round trip in this many is timed for the latency percentiles (see [`latency`]).
const TCP_SAMPLE_EVERY: usize = 10;
const IDLE_TASKS: usize = 100_000;

struct Args {
    quick: bool,
    json: PathBuf,
    workers: usize,
    current_thread: bool,
    filter: Option<String>,
    /// Profiling: run one side only (`tokio` or `asupersync`); the other reports 0.
    only: Option<String>,
}

impl Args {
    fn runs(&self, side: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == side)
    }
}

fn parse_args() -> Args {
    let mut args = Args {
        quick: false,
        json: default_json_path(),
        workers: 2,
        current_thread: false,
        filter: None,
        only: None,
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
            "--only" => {
                let side = it.next().filter(|s| s == "tokio" || s == "asupersync");
                args.only = Some(side.expect("--only takes tokio or asupersync"));
            }
            // cargo bench passes --bench; libtest-style flags are not ours.
            "--bench" => {}
            other if other.starts_with("--") => {
                eprintln!(
                    "unknown option {other}; options: --quick --json PATH --workers N --current-thread --filter NAME --only SIDE"
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
        Runtimes {
            tokio: tokio_runtime(args),
            native: native_runtime(args),
        }
    }
}

fn tokio_runtime(args: &Args) -> tokio::runtime::Runtime {
    let mut builder = if args.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(args.workers);
        builder
    };
    builder.enable_all().build().expect("tokio runtime")
}

fn native_runtime(args: &Args) -> asupersync::Runtime {
    let builder = if args.current_thread {
        asupersync::RuntimeBuilder::current_thread()
    } else {
        asupersync::RuntimeBuilder::multi_thread().worker_threads(args.workers)
    };
    builder.build().unwrap_or_else(|e| {
        eprintln!("cannot build the asupersync runtime: {e}");
        std::process::exit(1)
    })
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
            name: "ping_pong",
            tokio: tokio_side::ping_pong,
            native: native_side::ping_pong,
        },
        Workload {
            name: "chained_spawn",
            tokio: tokio_side::chained_spawn,
            native: native_side::chained_spawn,
        },
        Workload {
            name: "mpsc_contention",
            tokio: tokio_side::mpsc_contention,
            native: native_side::mpsc_contention,
        },
        Workload {
            name: "mpsc_contention_full",
            tokio: tokio_side::mpsc_contention_full,
            native: native_side::mpsc_contention_full,
        },
        Workload {
            name: "oneshot_request_reply",
            tokio: tokio_side::oneshot_request_reply,
            native: native_side::oneshot_request_reply,
        },
        Workload {
            name: "timer_timeout",
            tokio: tokio_side::timer_timeout,
            native: native_side::timer_timeout,
        },
        Workload {
            name: "tcp_echo",
            tokio: tokio_side::tcp_echo,
            native: native_side::tcp_echo,
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
    use tokio::sync::{mpsc, oneshot, Notify};

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

    pub fn ping_pong(rt: &tokio::runtime::Runtime) {
        // As Tokio's bench: one task spawns the pairs, so the spawns are worker-local.
        rt.block_on(async {
            let remaining = Arc::new(AtomicUsize::new(NUM_PINGS));
            let done = Arc::new(Notify::new());
            let (remaining2, done2) = (remaining.clone(), done.clone());
            tokio::spawn(async move {
                for _ in 0..NUM_PINGS {
                    let (remaining, done) = (remaining2.clone(), done2.clone());
                    tokio::spawn(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        tokio::spawn(async move {
                            rx1.await.unwrap();
                            tx2.send(()).unwrap();
                        });
                        tx1.send(()).unwrap();
                        rx2.await.unwrap();
                        if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                            done.notify_one();
                        }
                    });
                }
            });
            done.notified().await;
            drop(remaining);
        });
    }

    fn contention(rt: &tokio::runtime::Runtime, capacity: usize) {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<usize>(capacity);
            for _ in 0..PRODUCERS {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..MESSAGES_PER_PRODUCER {
                        tx.send(i).await.unwrap();
                    }
                });
            }
            for _ in 0..PRODUCERS * MESSAGES_PER_PRODUCER {
                std::hint::black_box(rx.recv().await.unwrap());
            }
        });
    }

    pub fn mpsc_contention(rt: &tokio::runtime::Runtime) {
        contention(rt, MPSC_CAPACITY);
    }

    pub fn mpsc_contention_full(rt: &tokio::runtime::Runtime) {
        contention(rt, MPSC_CAPACITY_FULL);
    }

    pub fn oneshot_request_reply(rt: &tokio::runtime::Runtime) {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<oneshot::Sender<()>>(REQUEST_CHANNEL_CAPACITY);
            let server = tokio::spawn(async move {
                while let Some(reply) = rx.recv().await {
                    let _ = reply.send(());
                }
            });
            for _ in 0..REQUESTS {
                let (reply_tx, reply_rx) = oneshot::channel();
                tx.send(reply_tx).await.unwrap();
                reply_rx.await.unwrap();
            }
            // Like the native side's region, wait for the server to see the close.
            drop(tx);
            server.await.unwrap();
        });
    }

    pub fn tcp_echo(rt: &tokio::runtime::Runtime) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};

        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let mut echoes = Vec::with_capacity(TCP_CONNECTIONS);
                for _ in 0..TCP_CONNECTIONS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    echoes.push(tokio::spawn(async move {
                        let mut buf = [0u8; TCP_MESSAGE_BYTES];
                        // Until the client closes (read_exact then fails with EOF).
                        while stream.read_exact(&mut buf).await.is_ok() {
                            stream.write_all(&buf).await.unwrap();
                        }
                    }));
                }
                for echo in echoes {
                    echo.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..TCP_CONNECTIONS)
                .map(|_| {
                    tokio::spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let message = [7u8; TCP_MESSAGE_BYTES];
                        let mut reply = [0u8; TCP_MESSAGE_BYTES];
                        let mut samples = latency::Samples::new();
                        for i in 0..TCP_MESSAGES {
                            let started = samples.start(i);
                            stream.write_all(&message).await.unwrap();
                            stream.read_exact(&mut reply).await.unwrap();
                            samples.stop(started);
                        }
                        samples
                    })
                })
                .collect();
            for client in clients {
                latency::TOKIO.record(client.await.unwrap());
            }
            server.await.unwrap();
        });
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
    use asupersync::channel::{mpsc, oneshot};
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
        // A task belongs to a region, so the spawns come from the root: like Tokio's
        // `Runtime::spawn` here, from the calling thread, which is not a worker, so
        // each spawn goes through the injector and wakes an idle worker. As in Tokio's
        // bench, the handles are kept and awaited from the root.
        run(rt, |cx| async move {
            let handles: Vec<_> = (0..NUM_SPAWN).map(|_| cx.spawn(|_cx| async {})).collect();
            for handle in handles {
                handle.join(&cx).await.unwrap();
            }
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

    pub fn ping_pong(rt: &asupersync::Runtime) {
        run(rt, |cx| async move {
            cx.spawn(|cx| async move {
                for _ in 0..NUM_PINGS {
                    cx.spawn(|cx| async move {
                        let (tx1, mut rx1) = oneshot::channel::<()>();
                        let (tx2, mut rx2) = oneshot::channel::<()>();
                        cx.spawn(|cx| async move {
                            rx1.recv(&cx).await.unwrap();
                            tx2.send(()).unwrap();
                        });
                        tx1.send(()).unwrap();
                        rx2.recv(&cx).await.unwrap();
                    });
                }
            });
        });
    }

    fn contention(rt: &asupersync::Runtime, capacity: usize) {
        run(rt, |cx| async move {
            let (tx, mut rx) = mpsc::channel::<usize>(capacity);
            for _ in 0..PRODUCERS {
                let tx = tx.clone();
                cx.spawn(move |cx| async move {
                    for i in 0..MESSAGES_PER_PRODUCER {
                        tx.send(&cx, i).await.unwrap();
                    }
                });
            }
            for _ in 0..PRODUCERS * MESSAGES_PER_PRODUCER {
                std::hint::black_box(rx.recv(&cx).await.unwrap());
            }
        });
    }

    pub fn mpsc_contention(rt: &asupersync::Runtime) {
        contention(rt, MPSC_CAPACITY);
    }

    pub fn mpsc_contention_full(rt: &asupersync::Runtime) {
        contention(rt, MPSC_CAPACITY_FULL);
    }

    pub fn oneshot_request_reply(rt: &asupersync::Runtime) {
        run(rt, |cx| async move {
            let (tx, mut rx) = mpsc::channel::<oneshot::Sender<()>>(REQUEST_CHANNEL_CAPACITY);
            cx.spawn(move |cx| async move {
                while let Ok(reply) = rx.recv(&cx).await {
                    let _ = reply.send(());
                }
            });
            for _ in 0..REQUESTS {
                let (reply_tx, mut reply_rx) = oneshot::channel();
                tx.send(&cx, reply_tx).await.unwrap();
                reply_rx.recv(&cx).await.unwrap();
            }
            // Dropping the sender ends the server; the region waits for it.
        });
    }

    pub fn tcp_echo(rt: &asupersync::Runtime) {
        use asupersync::io::{AsyncReadExt, AsyncWriteExt};
        use asupersync::net::{TcpListener, TcpStream};

        run(rt, |cx| async move {
            let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            cx.spawn(move |cx| async move {
                for _ in 0..TCP_CONNECTIONS {
                    let (mut stream, _) = listener.accept(&cx).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    cx.spawn(move |cx| async move {
                        let mut buf = [0u8; TCP_MESSAGE_BYTES];
                        // Until the client closes (read_exact then fails with EOF).
                        while stream.read_exact(&cx, &mut buf).await.is_ok() {
                            stream.write_all(&cx, &buf).await.unwrap();
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..TCP_CONNECTIONS)
                .map(|_| {
                    cx.spawn(move |cx| async move {
                        let mut stream = TcpStream::connect(&cx, addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let message = [7u8; TCP_MESSAGE_BYTES];
                        let mut reply = [0u8; TCP_MESSAGE_BYTES];
                        let mut samples = latency::Samples::new();
                        for i in 0..TCP_MESSAGES {
                            let started = samples.start(i);
                            stream.write_all(&cx, &message).await.unwrap();
                            stream.read_exact(&cx, &mut reply).await.unwrap();
                            samples.stop(started);
                        }
                        samples
                    })
                })
                .collect();
            for client in clients {
                latency::NATIVE.record(client.join(&cx).await.unwrap());
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

/// Round-trip latency of `tcp_echo`, reported as p50/p99 beside the throughput ratio.
///
/// Each connection times one round trip in [`TCP_SAMPLE_EVERY`] (messages 0, 10, 20,
/// ...: the same messages on both runtimes), from just before `write_all` to just after
/// `read_exact` returns: 100 samples per connection, 5,000 per run, pooled over every
/// measured run (warm-up runs are discarded). Sampling keeps the two clock reads off
/// nine round trips in ten; their cost (tens of ns against round trips of tens of µs)
/// is then far below the run-to-run noise of the throughput figure.
mod latency {
    use std::sync::Mutex;
    use std::time::Instant;

    /// One connection's samples, in nanoseconds.
    pub struct Samples(Vec<u64>);

    impl Samples {
        pub fn new() -> Samples {
            Samples(Vec::with_capacity(
                super::TCP_MESSAGES / super::TCP_SAMPLE_EVERY + 1,
            ))
        }

        /// The start time if round trip `i` is one of the sampled ones.
        pub fn start(&self, i: usize) -> Option<Instant> {
            (i % super::TCP_SAMPLE_EVERY == 0).then(Instant::now)
        }

        pub fn stop(&mut self, started: Option<Instant>) {
            if let Some(started) = started {
                self.0.push(started.elapsed().as_nanos() as u64);
            }
        }
    }

    /// Every sample of one runtime.
    pub struct Pool(Mutex<Vec<u64>>);

    pub static TOKIO: Pool = Pool(Mutex::new(Vec::new()));
    pub static NATIVE: Pool = Pool(Mutex::new(Vec::new()));

    impl Pool {
        pub fn record(&self, samples: Samples) {
            self.0.lock().unwrap().extend(samples.0);
        }

        pub fn clear(&self) {
            self.0.lock().unwrap().clear();
        }

        /// `(p50, p99, sample count)` in nanoseconds; `None` without samples.
        pub fn percentiles(&self) -> Option<(u64, u64, usize)> {
            let mut samples = self.0.lock().unwrap().clone();
            if samples.is_empty() {
                return None;
            }
            samples.sort_unstable();
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            Some((at(0.50), at(0.99), samples.len()))
        }
    }
}

/// Memory per idle task: the growth of the process's resident set (`VmRSS`) while
/// [`IDLE_TASKS`] tasks are parked, each on its own oneshot receive.
///
/// Both runtimes are measured in this process, before the timed workloads, each time
/// on a fresh runtime with the bench's flavor and worker count, alternating which goes
/// first (3 rounds, median). Before the "before" reading, freed heap is handed back to
/// the kernel (`malloc_trim`), so one measurement does not hide in pages the previous
/// one freed. A task counts as parked once it has run up to its `recv` (a counter it
/// bumps just before awaiting), and the reading is taken 20 ms after the last one
/// arrived. The figure includes the task's oneshot channel and its sender's slot in a
/// `Vec` (8 bytes); the channel alone, measured the same way without tasks, is reported
/// beside it.
mod idle_memory {
    use super::*;

    fn rss_bytes() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line in /proc/self/status");
        kib * 1024
    }

    fn release_free_heap() {
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim has no preconditions; it only returns free heap pages.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    fn per_task(before: u64, after: u64) -> f64 {
        after.saturating_sub(before) as f64 / IDLE_TASKS as f64
    }

    fn tokio_tasks(args: &Args) -> f64 {
        let rt = tokio_runtime(args);
        rt.block_on(async {
            let parked = Arc::new(AtomicUsize::new(0));
            let mut senders = Vec::with_capacity(IDLE_TASKS);
            release_free_heap();
            let before = rss_bytes();
            for _ in 0..IDLE_TASKS {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                senders.push(tx);
                let parked = parked.clone();
                tokio::spawn(async move {
                    parked.fetch_add(1, Ordering::Release);
                    let _ = rx.await;
                });
            }
            while parked.load(Ordering::Acquire) < IDLE_TASKS {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let after = rss_bytes();
            drop(senders);
            per_task(before, after)
        })
    }

    fn native_tasks(args: &Args) -> f64 {
        use asupersync::{channel::oneshot, time};
        let rt = native_runtime(args);
        rt.block_on(|cx| async move {
            let parked = Arc::new(AtomicUsize::new(0));
            let mut senders = Vec::with_capacity(IDLE_TASKS);
            release_free_heap();
            let before = rss_bytes();
            for _ in 0..IDLE_TASKS {
                let (tx, mut rx) = oneshot::channel::<()>();
                senders.push(tx);
                let parked = parked.clone();
                cx.spawn(move |cx| async move {
                    parked.fetch_add(1, Ordering::Release);
                    let _ = rx.recv(&cx).await;
                });
            }
            while parked.load(Ordering::Acquire) < IDLE_TASKS {
                time::sleep(&cx, Duration::from_millis(1)).await.unwrap();
            }
            time::sleep(&cx, Duration::from_millis(20)).await.unwrap();
            let after = rss_bytes();
            // The tasks see the senders go and finish; the root region waits for them.
            drop(senders);
            per_task(before, after)
        })
        .unwrap()
    }

    /// The channels alone: what a parked task costs beyond its channel is the difference.
    fn channels_only<T>(make: impl Fn() -> T) -> f64 {
        let mut channels = Vec::with_capacity(IDLE_TASKS);
        release_free_heap();
        let before = rss_bytes();
        channels.extend((0..IDLE_TASKS).map(|_| make()));
        let after = rss_bytes();
        drop(channels);
        per_task(before, after)
    }

    fn median(mut xs: Vec<f64>) -> f64 {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    }

    pub fn measure(args: &Args) -> serde_json::Value {
        let (mut tokio, mut native) = (Vec::new(), Vec::new());
        for round in 0..3 {
            if round % 2 == 0 {
                tokio.push(tokio_tasks(args));
                native.push(native_tasks(args));
            } else {
                native.push(native_tasks(args));
                tokio.push(tokio_tasks(args));
            }
        }
        let tokio_channel = channels_only(tokio::sync::oneshot::channel::<()>);
        let native_channel = channels_only(asupersync::channel::oneshot::channel::<()>);
        let (tokio, native) = (median(tokio), median(native));
        println!(
            "{:<24} {:>10.0} B {:>10.0} B   (per parked task, {IDLE_TASKS} tasks, RSS growth; \
             channel alone: tokio {tokio_channel:.0} B, asupersync {native_channel:.0} B)",
            "idle_task_memory", tokio, native
        );
        serde_json::json!({
            "tasks": IDLE_TASKS,
            "tokio_bytes_per_task": tokio.round() as u64,
            "asupersync_bytes_per_task": native.round() as u64,
            "tokio_channel_only_bytes": tokio_channel.round() as u64,
            "asupersync_channel_only_bytes": native_channel.round() as u64,
            "method": "VmRSS growth with the tasks parked on a oneshot recv, fresh runtime, \
                       malloc_trim before, median of 3 alternating rounds",
        })
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
    let wanted = |name: &str| args.filter.as_deref().is_none_or(|f| name.contains(f));
    // Before the timed workloads: their freed heap would blur the RSS readings.
    let idle_memory = wanted("idle_task_memory").then(|| idle_memory::measure(&args));
    let runtimes = Runtimes::new(&args);
    let mut rows = Vec::new();
    let mut tcp_latency = None;
    println!(
        "{:<24} {:>12} {:>12} {:>8} {:>9}   ({}, median of up to {rounds} alternating rounds)",
        "workload",
        "tokio",
        "asupersync",
        "ratio",
        "min-ratio",
        if args.current_thread {
            "current-thread".to_string()
        } else {
            format!("workers: {}", args.workers)
        }
    );
    for workload in workloads() {
        if !wanted(workload.name) {
            continue;
        }
        let run_tokio = || {
            if args.runs("tokio") {
                (workload.tokio)(&runtimes.tokio);
            }
        };
        let run_native = || {
            if args.runs("asupersync") {
                (workload.native)(&runtimes.native);
            }
        };
        for _ in 0..warmup {
            run_tokio();
            run_native();
        }
        latency::TOKIO.clear();
        latency::NATIVE.clear();
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
                    run_tokio();
                    tokio_samples.push(t.elapsed());
                } else {
                    run_native();
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
        // The fastest run of each: on a shared machine, the least disturbed one.
        let tokio_min_ns = tokio_samples[0].as_nanos() as f64;
        let native_min_ns = native_samples[0].as_nanos() as f64;
        let min_ratio = tokio_min_ns / native_min_ns;
        println!(
            "{:<24} {:>10.1}µs {:>10.1}µs {:>8.2} {:>9.2}",
            workload.name,
            tokio_ns / 1e3,
            native_ns / 1e3,
            ratio,
            min_ratio,
        );
        rows.push(serde_json::json!({
            "name": workload.name,
            "tokio_ns": tokio_ns.round() as u64,
            "asupersync_ns": native_ns.round() as u64,
            "ratio": (ratio * 1e4).round() / 1e4,
            "tokio_min_ns": tokio_min_ns.round() as u64,
            "asupersync_min_ns": native_min_ns.round() as u64,
            "min_ratio": (min_ratio * 1e4).round() / 1e4,
            "rounds": tokio_samples.len(),
        }));
        if let (Some(tokio), Some(native)) =
            (latency::TOKIO.percentiles(), latency::NATIVE.percentiles())
        {
            tcp_latency = Some((workload.name, tokio, native));
        }
    }
    let tcp_latency = tcp_latency.map(|(name, tokio, native)| {
        let side = |(p50, p99, samples): (u64, u64, usize)| {
            serde_json::json!({"p50_ns": p50, "p99_ns": p99, "samples": samples})
        };
        println!(
            "{:<24} p50 {:>7.1}µs p99 {:>7.1}µs (tokio) | p50 {:>7.1}µs p99 {:>7.1}µs (asupersync), \
             round trip, 1 in {TCP_SAMPLE_EVERY} sampled",
            format!("{name} latency"),
            tokio.0 as f64 / 1e3,
            tokio.1 as f64 / 1e3,
            native.0 as f64 / 1e3,
            native.1 as f64 / 1e3,
        );
        serde_json::json!({
            "sample_every": TCP_SAMPLE_EVERY,
            "tokio": side(tokio),
            "asupersync": side(native),
        })
    });
    let workers = if args.current_thread { 1 } else { args.workers };
    let json = serde_json::json!({
        "workers": workers,
        "flavor": if args.current_thread { "current_thread" } else { "multi_thread" },
        "workloads": rows,
        "tcp_echo_latency": tcp_latency,
        "idle_task_memory": idle_memory,
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
