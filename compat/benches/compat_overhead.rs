//! What crossing the quarantine costs.
//!
//! - `run` on a ready future, against the floor it is built on (spawning onto the same
//!   Tokio runtime from outside it and awaiting the `JoinHandle`).
//! - Cancel latency: from a native cancel request to the drop of a Tokio future that
//!   waits on `cancelled()`.
//! - The IO adapters against plain Tokio: bytes pushed through an in-memory pipe.
//!
//! Quick by design (a few seconds): `cargo bench -p asupersync-tokio-compat`. Prints a
//! table and writes `target/compat_overhead.json`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asupersync::{CancelReason, RuntimeBuilder};
use asupersync_tokio_compat::io::{FromTokio, IntoTokio};
use asupersync_tokio_compat::{cancelled, TokioHost};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Stats {
    name: &'static str,
    median: Duration,
    p90: Duration,
    samples: usize,
}

fn stats(name: &'static str, mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        name,
        median: samples[samples.len() / 2],
        p90: samples[samples.len() * 9 / 10],
        samples: samples.len(),
    }
}

fn main() {
    let host = TokioHost::builder()
        .thread_name("bench-tokio")
        .build()
        .unwrap();
    let rt = RuntimeBuilder::current_thread().build().unwrap();
    const ITERS: usize = 3000;

    let (run_ready, spawn_floor) = rt
        .block_on(|cx| {
            let host = host.clone();
            async move {
                // Warm up both paths.
                for _ in 0..200 {
                    host.run(&cx, async { 1u64 }).await.unwrap();
                    host.handle().spawn(async { 1u64 }).await.unwrap();
                }
                let mut run_ready = Vec::with_capacity(ITERS);
                let mut spawn_floor = Vec::with_capacity(ITERS);
                for _ in 0..ITERS {
                    let start = Instant::now();
                    let v = host.run(&cx, async { 1u64 }).await.unwrap();
                    run_ready.push(start.elapsed());
                    std::hint::black_box(v);
                    let start = Instant::now();
                    let v = host.handle().spawn(async { 1u64 }).await.unwrap();
                    spawn_floor.push(start.elapsed());
                    std::hint::black_box(v);
                }
                (run_ready, spawn_floor)
            }
        })
        .unwrap();

    let cancel_latency = rt
        .block_on(|cx| {
            let host = host.clone();
            async move {
                let mut latencies = Vec::new();
                for _ in 0..300 {
                    let started = Arc::new(AtomicBool::new(false));
                    let dropped_at = Arc::new(Mutex::new(None));
                    let (started2, dropped_at2) = (started.clone(), dropped_at.clone());
                    let host = host.clone();
                    let task = cx.spawn(move |cx| async move {
                        host.run(&cx, async move {
                            let _stamp = DropStamp(dropped_at2);
                            started2.store(true, Ordering::SeqCst);
                            cancelled().await;
                        })
                        .await
                    });
                    while !started.load(Ordering::SeqCst) {
                        let _ = asupersync::task::yield_now(&cx).await;
                    }
                    let requested = Instant::now();
                    task.cancel(CancelReason::user("bench"));
                    task.join(&cx).await.unwrap().unwrap();
                    let dropped = dropped_at
                        .lock()
                        .unwrap()
                        .expect("dropped before run returned");
                    latencies.push(dropped - requested);
                }
                latencies
            }
        })
        .unwrap();

    // IO: 64 MiB through a Tokio in-memory pipe, written in 16 KiB chunks and read into
    // a 16 KiB buffer, plain and through both adapters (futures-io -> Tokio on each end).
    const TOTAL: usize = 64 << 20;
    const CHUNK: usize = 16 << 10;
    let io_runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut plain = Vec::new();
    let mut adapted = Vec::new();
    for _ in 0..5 {
        plain.push(io_runtime.block_on(async {
            let (writer, reader) = tokio::io::duplex(CHUNK * 4);
            pump(writer, reader, TOTAL, CHUNK).await
        }));
        adapted.push(io_runtime.block_on(async {
            let (writer, reader) = tokio::io::duplex(CHUNK * 4);
            pump(
                IntoTokio::new(FromTokio::new(writer)),
                IntoTokio::new(FromTokio::new(reader)),
                TOTAL,
                CHUNK,
            )
            .await
        }));
    }

    let results = [
        stats("run(ready future)", run_ready),
        stats("floor: Handle::spawn + JoinHandle", spawn_floor),
        stats("cancel request -> Tokio future dropped", cancel_latency),
        stats("64 MiB through tokio::io::duplex", plain),
        stats("64 MiB through FromTokio+IntoTokio", adapted),
    ];
    println!(
        "{:<42} {:>12} {:>12} {:>8}",
        "benchmark", "median", "p90", "samples"
    );
    for s in &results {
        println!(
            "{:<42} {:>12} {:>12} {:>8}",
            s.name,
            format!("{:.2?}", s.median),
            format!("{:.2?}", s.p90),
            s.samples
        );
    }
    let io_ratio = results[3].median.as_secs_f64() / results[4].median.as_secs_f64();
    println!("IO adapters: plain Tokio time / adapted time = {io_ratio:.3} (1.0 = no overhead)");

    let json = format!(
        "{{\"run_ready_median_ns\":{},\"spawn_floor_median_ns\":{},\"cancel_latency_median_ns\":{},\"io_plain_median_ns\":{},\"io_adapted_median_ns\":{},\"io_ratio\":{io_ratio:.4}}}\n",
        results[0].median.as_nanos(),
        results[1].median.as_nanos(),
        results[2].median.as_nanos(),
        results[3].median.as_nanos(),
        results[4].median.as_nanos(),
    );
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    let _ = std::fs::write(format!("{target}/compat_overhead.json"), json);
}

struct DropStamp(Arc<Mutex<Option<Instant>>>);

impl Drop for DropStamp {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(Instant::now());
    }
}

async fn pump<W, R>(mut writer: W, mut reader: R, total: usize, chunk: usize) -> Duration
where
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    R: tokio::io::AsyncRead + Unpin,
{
    let start = Instant::now();
    let write = async move {
        let data = vec![0xA5u8; chunk];
        let mut written = 0;
        while written < total {
            writer.write_all(&data).await.unwrap();
            written += chunk;
        }
        writer.shutdown().await.unwrap();
    };
    let read = async move {
        let mut buf = vec![0u8; chunk];
        let mut read = 0;
        loop {
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            read += n;
        }
        read
    };
    let ((), read) = tokio::join!(write, read);
    assert_eq!(read, total);
    start.elapsed()
}
