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
