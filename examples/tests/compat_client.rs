//! The compat example, run for real: reqwest through the quarantine gets the native
//! loopback server's answer, and a region deadline cancels a slow request across the
//! boundary, coming back as `Cancelled(Deadline)` after the connection was closed.

mod common;

use std::time::Duration;

use asupersync::{CancelKind, Outcome};
use asupersync_examples::compat_client::{self, GREETING};
use asupersync_tokio_compat::TokioHost;
use common::flavors;

const DEADLINE: Duration = Duration::from_millis(200);

#[test]
fn reqwest_gets_the_answer_and_a_region_deadline_cancels_the_slow_call_across_the_boundary() {
    for (flavor, builder) in flavors() {
        // A short drain, so the host aborts reqwest (which ignores the cancel token)
        // soon after the deadline.
        let rt = builder
            .drain_budget(Duration::from_millis(300))
            .build()
            .unwrap();
        let demo = rt
            .block_on(|cx| async move { compat_client::demo(&cx, DEADLINE).await })
            .unwrap()
            .unwrap();

        match demo.greeting {
            Outcome::Ok(Ok(body)) => assert_eq!(body, GREETING, "[{flavor}]"),
            other => panic!("[{flavor}] GET /hello: {other:?}"),
        }
        match &demo.slow {
            Outcome::Cancelled(reason) => assert_eq!(reason.kind, CancelKind::Deadline),
            other => panic!("[{flavor}] GET /slow should be cancelled, got {other:?}"),
        }
        assert!(
            demo.slow_call_took >= DEADLINE && demo.slow_call_took < Duration::from_secs(5),
            "[{flavor}] the slow call took {:?}",
            demo.slow_call_took
        );
        assert!(
            demo.slow_connection_closed,
            "[{flavor}] the server never saw the aborted request's connection close"
        );
        // Nothing of either call is left on the Tokio host.
        assert_eq!(
            TokioHost::global().metrics().runs_in_flight,
            0,
            "[{flavor}]"
        );
    }
}
