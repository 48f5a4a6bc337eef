//! Timers: sleep, sleep_until, timeout.

mod common;

use std::time::{Duration, Instant as StdInstant};

use asupersync::time::{self, Instant};
use common::*;

#[test]
fn sleep_waits_at_least_its_duration() {
    on_each_flavor(|cx| async move {
        let started = StdInstant::now();
        time::sleep(&cx, 20 * MS).await.unwrap();
        assert!(started.elapsed() >= 20 * MS);
    });
}

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    on_each_flavor(|cx| async move {
        let log = Log::default();
        let start = Instant::now();
        let handles: Vec<_> = [30u64, 10, 20, 5]
            .into_iter()
            .map(|ms| {
                let log = log.clone();
                cx.spawn(move |cx| async move {
                    time::sleep_until(&cx, start + Duration::from_millis(ms))
                        .await
                        .unwrap();
                    assert!(cx.now() >= start + Duration::from_millis(ms), "woke early");
                    log.push(ms.to_string());
                })
            })
            .collect();
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(log.events(), ["5", "10", "20", "30"]);
    });
}

#[test]
fn timeout_returns_the_value_when_in_time() {
    on_each_flavor(|cx| async move {
        let result = time::timeout(&cx, Duration::from_secs(5), async { 9 }).await;
        assert_eq!(result, Ok(9));
    });
}

#[test]
fn timeout_elapses_and_drops_the_future() {
    on_each_flavor(|cx| async move {
        let dropped = flag();
        let guard = DropFlag(dropped.clone());
        let result = time::timeout(&cx, 10 * MS, async move {
            let _guard = guard;
            std::future::pending::<()>().await
        })
        .await;
        assert!(result.is_err());
        assert_eq!(result.unwrap_err().to_string(), "deadline has elapsed");
        assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    });
}

#[test]
fn cx_now_and_instant_now_agree_inside_the_runtime() {
    on_each_flavor(|cx| async move {
        let a = cx.now();
        let b = Instant::now();
        let c = cx.now();
        assert!(a <= b && b <= c);
    });
}

#[test]
fn sleep_reset_moves_the_deadline() {
    on_each_flavor(|cx| async move {
        let started = StdInstant::now();
        let mut sleep = time::sleep(&cx, Duration::from_secs(60));
        sleep.reset(cx.now() + 5 * MS);
        std::pin::Pin::new(&mut sleep).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

/// Polls `future` to completion on the calling thread (a minimal executor: the waker
/// unparks this thread), as a foreign executor would.
fn block_on_this_thread<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut task = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut task) {
            return value;
        }
        std::thread::park();
    }
}

/// A sleep polled on another thread with this runtime's cx (what the compat host does
/// with a quarantined body) wakes when due, even while the runtime's own thread is
/// parked with no timer of its own: inserting an earlier timer wakes the parked
/// driver on every flavor. Before the fix the current-thread runtime slept on until
/// something else woke it (here, the 5 s guard).
#[test]
fn a_timer_started_from_another_thread_wakes_a_parked_runtime() {
    on_each_flavor(|cx| async move {
        let remote = cx.clone();
        let (tx, mut rx) = asupersync::channel::oneshot::channel();
        let started = StdInstant::now();
        let thread = std::thread::spawn(move || {
            block_on_this_thread(asupersync::time::sleep(&remote, 30 * MS)).unwrap();
            tx.send(started.elapsed())
        });
        let took = asupersync::time::timeout(&cx, Duration::from_secs(5), rx.recv(&cx))
            .await
            .expect("the remote sleep ended")
            .unwrap();
        thread.join().unwrap().unwrap();
        assert!(took >= 30 * MS, "{took:?}");
        assert!(
            took < Duration::from_secs(2),
            "the parked runtime slept on: {took:?}"
        );
    });
}
