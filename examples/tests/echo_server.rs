//! The echo server example, run for real on loopback: it echoes for several clients,
//! and a runtime shutdown drains every open connection and returns from `serve`.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use asupersync::net::TcpListener;
use asupersync::Budget;
use asupersync_examples::echo_server::{self, EchoReport};
use common::{flavors, LineClient, ShutdownOnDrop};

const DRAIN: Duration = Duration::from_secs(5);

#[test]
fn echoes_for_several_clients_then_shutdown_closes_every_connection_and_serve_returns() {
    for (flavor, builder) in flavors() {
        let rt = builder.build().unwrap();
        let handle = rt.handle();
        let (addr_tx, addr_rx) = mpsc::channel();
        let clients = std::thread::spawn(move || {
            let _stop_on_failure = ShutdownOnDrop(handle.clone());
            let addr = addr_rx.recv().unwrap();
            // One client comes and goes before the shutdown.
            let mut brief = LineClient::connect(addr);
            brief.send("brief visit\n");
            brief.expect_line("brief visit");
            brief.finish();
            brief.expect_eof();
            // Three stay connected, idle in the server's `read`, until the shutdown.
            let mut open: Vec<LineClient> = (0..3)
                .map(|i| {
                    let mut client = LineClient::connect(addr);
                    let text = format!("client {i}: hello\n");
                    client.send(&text);
                    assert_eq!(client.read_exact(text.len()), text.as_bytes());
                    client
                })
                .collect();
            let shutdown_at = Instant::now();
            handle.shutdown(Budget::timeout(DRAIN));
            for client in &mut open {
                client.expect_eof();
            }
            shutdown_at
        });
        let outcome = rt.block_on(|cx| async move {
            let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            echo_server::serve(&cx, listener).await
        });
        let returned_at = Instant::now();
        let shutdown_at = match clients.join() {
            Ok(at) => at,
            Err(panic) => std::panic::resume_unwind(panic),
        };

        // `block_on` returned: the server region closed, so no connection task is left.
        let report = outcome.unwrap().unwrap().unwrap();
        let echoed = "brief visit\n".len() + 3 * "client 0: hello\n".len();
        assert_eq!(
            report,
            EchoReport {
                connections: 4,
                closed_by_client: 1,
                closed_by_shutdown: 3,
                bytes_echoed: echoed as u64,
            },
            "[{flavor}]"
        );
        // The connections stopped cooperatively at their pending read, well within
        // the drain budget (a task dropped at the budget would not have been counted).
        assert!(
            returned_at - shutdown_at < DRAIN,
            "[{flavor}] the drain took {:?}",
            returned_at - shutdown_at
        );
    }
}
