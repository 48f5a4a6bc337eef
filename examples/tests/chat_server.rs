//! The chat server example, run for real on loopback with several clients: messages
//! fan out to everyone else, a leaving client is announced, and a runtime shutdown
//! reaches every connected client before the server returns.

mod common;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use asupersync::net::TcpListener;
use asupersync::Budget;
use asupersync_examples::chat_server::{self, ChatReport, SHUTDOWN_NOTICE};
use common::{flavors, LineClient, ShutdownOnDrop};

/// Connects and takes a nickname; returns once the server has subscribed the client
/// (the welcome line comes after the subscription).
fn join(addr: SocketAddr, nick: &str) -> LineClient {
    let mut client = LineClient::connect(addr);
    client.send(&format!("{nick}\n"));
    client.expect_line(&format!("* welcome, {nick}"));
    client
}

#[test]
fn messages_fan_out_leaving_is_announced_and_shutdown_reaches_every_client() {
    for (flavor, builder) in flavors() {
        let rt = builder.build().unwrap();
        let handle = rt.handle();
        let (addr_tx, addr_rx) = mpsc::channel();
        let clients = std::thread::spawn(move || {
            let _stop_on_failure = ShutdownOnDrop(handle.clone());
            let addr = addr_rx.recv().unwrap();
            let mut alice = join(addr, "alice");
            let mut bob = join(addr, "bob");
            alice.expect_line("* bob joined");
            let mut carol = join(addr, "carol");
            alice.expect_line("* carol joined");
            bob.expect_line("* carol joined");

            // Fan-out: everyone but the sender.
            alice.send("hello, room\n");
            bob.expect_line("alice: hello, room");
            carol.expect_line("alice: hello, room");
            carol.send("hi alice\n");
            alice.expect_line("carol: hi alice");
            bob.expect_line("carol: hi alice");

            // A fourth client comes and goes: the others hear both.
            let mut dave = join(addr, "dave");
            for client in [&mut alice, &mut bob, &mut carol] {
                client.expect_line("* dave joined");
            }
            dave.finish();
            dave.expect_eof();
            for client in [&mut alice, &mut bob, &mut carol] {
                client.expect_line("* dave left");
            }

            // Shutdown: each client still connected reads the notice, then EOF.
            handle.shutdown(Budget::timeout(Duration::from_secs(5)));
            for client in [&mut alice, &mut bob, &mut carol] {
                client.expect_line(SHUTDOWN_NOTICE);
                client.expect_eof();
            }
        });
        let outcome = rt.block_on(|cx| async move {
            let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            chat_server::serve(&cx, listener).await
        });
        if let Err(panic) = clients.join() {
            std::panic::resume_unwind(panic);
        }
        // `block_on` returned, so the server region closed with every client task done.
        let report = outcome.unwrap().unwrap().unwrap();
        assert_eq!(
            report,
            ChatReport {
                clients: 4,
                notified_at_shutdown: 3,
            },
            "[{flavor}]"
        );
    }
}

/// A client that never reads must not hold the shutdown up: once its socket buffers
/// are full, the server's last write to it waits, and the runtime should drop that
/// client's task when the drain budget is spent. (This once hung: a region abandoned
/// at the drain deadline woke a stale waker instead of finalizing; see
/// `runtime_api::shutdown_drops_a_stubborn_task_in_a_nested_region_within_its_budget`.)
#[test]
fn a_client_that_never_reads_is_dropped_at_the_drain_budget() {
    const DRAIN: Duration = Duration::from_millis(500);
    // More than loopback's socket buffers hold, so the writes to `stuck` block.
    const LINES: usize = 64;
    const LINE_LEN: usize = 128 * 1024;
    let rt = asupersync::RuntimeBuilder::current_thread()
        .build()
        .unwrap();
    let handle = rt.handle();
    let (addr_tx, addr_rx) = mpsc::channel();
    let clients = std::thread::spawn(move || {
        let _stop_on_failure = ShutdownOnDrop(handle.clone());
        let addr = addr_rx.recv().unwrap();
        let stuck = join(addr, "stuck");
        let mut talker = join(addr, "talker");
        let mut witness = join(addr, "witness");
        talker.expect_line("* witness joined");
        let line = format!("{}\n", "x".repeat(LINE_LEN));
        for _ in 0..LINES {
            witness.send(&line);
        }
        for _ in 0..LINES {
            assert_eq!(
                talker.line().map(|l| l.len()),
                Some("witness: ".len() + LINE_LEN)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
        handle.shutdown(Budget::timeout(DRAIN));
        for client in [&mut talker, &mut witness] {
            client.expect_line(SHUTDOWN_NOTICE);
            client.expect_eof();
        }
        // Kept open until the runtime has finished.
        stuck
    });
    let started = std::time::Instant::now();
    let outcome = rt.block_on(|cx| async move {
        let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        let server = cx.spawn(move |cx| async move { chat_server::serve(&cx, listener).await });
        server.join(&cx).await
    });
    assert!(started.elapsed() < Duration::from_secs(30));
    let _stuck = clients.join().unwrap();
    // The server shares the stuck task's drain deadline: it ends `Cancelled` or, if it
    // finished first, with a report.
    assert!(!outcome.is_panicked() && !outcome.is_err());
}
