//! Structured concurrency in one screen: a region that owns its tasks, a cancel that
//! drains instead of vanishing, and finalizers that run last.
//!
//! Run it with `cargo run --example hello_regions`.

use std::time::Duration;

use asupersync::{time, Budget, CancelReason, Cx, Outcome, Region};

#[asupersync::main]
async fn main(cx: &Cx) {
    let outcome = Region::open(cx, "workers", |cx| async move {
        cx.defer(async { println!("finalizer: the region is quiescent, cleaning up last") });

        // A worker that drains cooperatively when cancelled.
        let polite = cx.spawn_named("polite", |cx| async move {
            let mut ticks = 0;
            while time::sleep(&cx, Duration::from_millis(10)).await.is_ok() {
                ticks += 1;
            }
            println!(
                "polite: cancelled after {ticks} ticks ({})",
                cx.cancel_reason().unwrap()
            );
            ticks
        });

        // A worker that ignores cancellation: dropped when its drain budget runs out.
        let stubborn = cx.spawn_named("stubborn", |_cx| async move {
            std::future::pending::<()>().await;
        });

        time::sleep(&cx, Duration::from_millis(55)).await.ok();
        polite.cancel(CancelReason::user("demo is over"));
        stubborn.cancel_with(Budget::timeout(Duration::from_millis(20)));

        let ticks = polite.join(&cx).await;
        let dropped = stubborn.join(&cx).await;
        println!("polite joined: {ticks:?}");
        println!("stubborn joined: {}", describe(&dropped));
        ticks.unwrap_or(0)
    })
    .await;
    println!("region closed with {outcome:?}");
}

fn describe<T>(outcome: &Outcome<T>) -> String {
    match outcome {
        Outcome::Ok(_) => "finished".into(),
        Outcome::Err(never) => match *never {},
        Outcome::Cancelled(reason) => format!("cancelled ({reason}), its future was dropped"),
        Outcome::Panicked(p) => format!("panicked: {p}"),
    }
}
