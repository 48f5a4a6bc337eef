//! Dropping a multi-thread runtime joins every worker thread. (Alone in its test
//! binary: it counts the process's threads, which other tests would disturb.)

mod common;

use std::time::{Duration, Instant};

use asupersync::{time, Budget, RuntimeBuilder};
use common::thread_names;

#[test]
fn dropping_the_runtime_leaves_no_thread_behind() {
    let before = thread_names();
    let rt = RuntimeBuilder::multi_thread()
        .worker_threads(4)
        .thread_name("leak-check")
        .build()
        .unwrap();
    // A thread names itself once it starts: give the workers a moment.
    let give_up = Instant::now() + Duration::from_secs(5);
    let mut during = thread_names();
    while during
        .iter()
        .filter(|n| n.starts_with("leak-check-"))
        .count()
        < 4
        && Instant::now() < give_up
    {
        std::thread::sleep(Duration::from_millis(5));
        during = thread_names();
    }
    assert_eq!(during.len(), before.len() + 4, "{during:?}");
    for i in 0..4 {
        let name = format!("leak-check-{i}");
        assert!(during.contains(&name), "{name} not running: {during:?}");
    }
    // Work on every worker, then a shutdown with a task still sleeping.
    let handle = rt.handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        handle.shutdown(Budget::timeout(Duration::from_millis(100)));
    });
    let outcome = rt.block_on(|cx| async move {
        for _ in 0..64 {
            cx.spawn(|cx| async move {
                let _ = time::sleep(&cx, Duration::from_secs(60)).await;
            });
        }
        std::future::pending::<()>().await
    });
    assert!(outcome.is_cancelled());
    stopper.join().unwrap();
    drop(rt);
    // The stopper thread is joined; the count is back where it started.
    let give_up = Instant::now() + Duration::from_secs(5);
    let mut after = thread_names();
    while after.len() != before.len() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(10));
        after = thread_names();
    }
    assert_eq!(
        after.len(),
        before.len(),
        "before {before:?}, after {after:?}"
    );
    assert!(
        !after.iter().any(|n| n.starts_with("leak-check")),
        "{after:?}"
    );

    // The default is one worker per available core, and they go away too.
    let cores = std::thread::available_parallelism().unwrap().get();
    let rt = RuntimeBuilder::multi_thread().build().unwrap();
    let workers = || {
        thread_names()
            .iter()
            .filter(|n| n.starts_with("asupersync-work"))
            .count()
    };
    let give_up = Instant::now() + Duration::from_secs(5);
    while workers() < cores && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(workers(), cores);
    drop(rt);
    assert_eq!(workers(), 0);
}
