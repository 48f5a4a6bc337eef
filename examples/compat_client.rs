//! A Tokio-only HTTP client (reqwest) run from native code through the compat
//! quarantine, against a native server on loopback; then a slow request cut short by
//! a region deadline, its cancellation crossing into Tokio and back as `Cancelled`.
//!
//! `cargo run --example compat_client`. The logic is
//! `asupersync_examples::compat_client::demo`.

use std::time::Duration;

use asupersync::{Outcome, RuntimeBuilder};
use asupersync_examples::compat_client;

/// The slow request's region budget.
const DEADLINE: Duration = Duration::from_millis(200);
/// How long a cancelled task may drain: the Tokio host aborts reqwest (which does not
/// watch for cancellation) just before this is spent.
const DRAIN: Duration = Duration::from_millis(300);

fn main() {
    let rt = RuntimeBuilder::current_thread()
        .drain_budget(DRAIN)
        .build()
        .expect("a valid runtime configuration");
    let demo = rt.block_on(|cx| async move { compat_client::demo(&cx, DEADLINE).await });
    let demo = match demo {
        Outcome::Ok(Ok(demo)) => demo,
        other => panic!("the demo did not run: {other:?}"),
    };
    match &demo.greeting {
        Outcome::Ok(Ok(body)) => println!("GET /hello -> {body:?}"),
        other => println!("GET /hello failed: {other:?}"),
    }
    match &demo.slow {
        Outcome::Cancelled(reason) => println!(
            "GET /slow -> Cancelled after {:?}: {reason}",
            demo.slow_call_took
        ),
        other => println!("GET /slow -> {other:?} (expected Cancelled)"),
    }
    println!(
        "the server saw the slow connection close: {}",
        demo.slow_connection_closed
    );
}
