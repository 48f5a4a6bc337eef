//! The lab's simulated network: latency, jitter, loss and partitions in virtual time,
//! deterministic per seed.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use asupersync::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use asupersync::lab::net::{Link, SimNet};
use asupersync::lab::{Explorer, LabConfig, LabRuntime};
use asupersync::{Cx, Region};

const MS: Duration = Duration::from_millis(1);

/// A line echo server on `server:7` serving `clients` connections, and that many
/// clients each sending `lines` lines; returns what each client got back.
async fn echo_run(cx: Cx, net: SimNet, clients: usize, lines: usize) -> Vec<Vec<String>> {
    let listener = net.host("server").listen(7).unwrap();
    Region::open(&cx, "echo", |cx| async move {
        cx.spawn(move |cx| async move {
            for _ in 0..clients {
                let (stream, _peer) = listener.accept(&cx).await.unwrap();
                cx.spawn(move |cx| async move {
                    let mut stream = BufReader::new(stream);
                    let mut line = String::new();
                    while stream.read_line(&cx, &mut line).await.unwrap() > 0 {
                        stream
                            .get_mut()
                            .write_all(&cx, line.as_bytes())
                            .await
                            .unwrap();
                        line.clear();
                    }
                });
            }
        });
        let mut handles = Vec::new();
        for c in 0..clients {
            let host = net.host(&format!("client-{c}"));
            handles.push(cx.spawn(move |cx| async move {
                let stream = host.connect(&cx, "server", 7).await.unwrap();
                let mut stream = BufReader::new(stream);
                let mut got = Vec::new();
                for i in 0..lines {
                    let msg = format!("{c}:{i}\n");
                    stream
                        .get_mut()
                        .write_all(&cx, msg.as_bytes())
                        .await
                        .unwrap();
                    let mut line = String::new();
                    stream.read_line(&cx, &mut line).await.unwrap();
                    got.push(line);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.push(h.join(&cx).await.unwrap());
        }
        all
    })
    .await
    .unwrap()
}

fn expected(clients: usize, lines: usize) -> Vec<Vec<String>> {
    (0..clients)
        .map(|c| (0..lines).map(|i| format!("{c}:{i}\n")).collect())
        .collect()
}

#[test]
fn an_echo_server_and_its_clients_run_deterministically() {
    let run = |seed| {
        LabRuntime::new(LabConfig::seed(seed)).block_on(|cx| async move {
            let net = SimNet::new(&cx);
            net.set_default_link(Link::latency(5 * MS).jitter(3 * MS));
            echo_run(cx, net, 3, 4).await
        })
    };
    let (a, b) = (run(11), run(11));
    assert_eq!(a.trace_hash(), b.trace_hash(), "same seed, same run");
    assert_eq!(a.elapsed, b.elapsed, "same seed, same virtual timings");
    assert_ne!(
        run(12).elapsed,
        a.elapsed,
        "another seed draws other jitter"
    );
    assert_eq!(a.unwrap(), expected(3, 4));
}

#[test]
fn the_echo_passes_the_oracles_across_seeds() {
    Explorer::random()
        .run(0..40, |cx| async move {
            let net = SimNet::new(&cx);
            net.set_default_link(Link::latency(2 * MS).jitter(2 * MS).loss(0.2));
            assert_eq!(echo_run(cx, net, 2, 3).await, expected(2, 3));
        })
        .unwrap();
}

#[test]
fn latency_is_exact_in_virtual_time() {
    let report = LabRuntime::new(LabConfig::seed(1)).block_on(|cx| async move {
        let net = SimNet::new(&cx);
        net.set_link("a", "b", Link::latency(25 * MS));
        let listener = net.host("b").listen(1).unwrap();
        let started = cx.now();
        let accept = cx.spawn(move |cx| async move {
            let (mut s, peer) = listener.accept(&cx).await.unwrap();
            let mut byte = [0u8; 1];
            s.read_exact(&cx, &mut byte).await.unwrap();
            (peer, cx.now())
        });
        let mut stream = net.host("a").connect(&cx, "b", 1).await.unwrap();
        let connected = cx.now() - started;
        stream.write_all(&cx, b"x").await.unwrap();
        let (peer, read_at) = accept.join(&cx).await.unwrap();
        (connected, read_at - started, peer)
    });
    let (connected, read_at, peer) = report.unwrap();
    assert_eq!(connected, 50 * MS, "a connect is one round trip");
    assert_eq!(read_at, 75 * MS, "then one way for the byte");
    assert_eq!(peer, "a");
}

#[test]
fn loss_delays_but_never_drops_or_reorders() {
    let run = |loss| {
        LabRuntime::new(LabConfig::seed(3)).block_on(move |cx| async move {
            let net = SimNet::new(&cx);
            net.set_default_link(Link::latency(MS).loss(loss).retransmit_after(10 * MS));
            echo_run(cx, net, 1, 20).await
        })
    };
    let clean = run(0.0);
    let lossy = run(0.5);
    assert_eq!(lossy.outcome.as_ref().ok().cloned(), Some(expected(1, 20)));
    assert_eq!(clean.outcome.as_ref().ok().cloned(), Some(expected(1, 20)));
    assert!(
        lossy.elapsed > clean.elapsed,
        "{:?} vs {:?}",
        lossy.elapsed,
        clean.elapsed
    );
}

#[test]
fn a_partition_times_out_connects_and_holds_data_until_healed() {
    let report = LabRuntime::new(LabConfig::seed(5)).block_on(|cx| async move {
        let net = SimNet::new(&cx);
        net.set_connect_timeout(300 * MS);
        let listener = net.host("db").listen(5432).unwrap();
        let app = net.host("app");
        let mut stream = app.connect(&cx, "db", 5432).await.unwrap();
        let (mut server, _) = listener.accept(&cx).await.unwrap();

        net.partition("app", "db");
        let before = cx.now();
        let refused = app.connect(&cx, "db", 5432).await.unwrap_err();
        let waited = cx.now() - before;
        stream.write_all(&cx, b"held").await.unwrap();
        let healer = {
            let net = net.clone();
            cx.spawn(move |cx| async move {
                asupersync::time::sleep(&cx, 100 * MS).await.unwrap();
                net.heal("app", "db");
                cx.now()
            })
        };
        let mut buf = [0u8; 4];
        server.read_exact(&cx, &mut buf).await.unwrap();
        let arrived = cx.now();
        let healed = healer.join(&cx).await.unwrap();
        (refused.kind(), waited, buf, arrived >= healed)
    });
    let (kind, waited, buf, after_heal) = report.unwrap();
    assert_eq!(kind, ErrorKind::TimedOut);
    assert_eq!(waited, 300 * MS);
    assert_eq!(&buf, b"held");
    assert!(after_heal, "held data is delivered only after the heal");
}

#[test]
fn refused_and_closed_connections_report_like_sockets() {
    let report = LabRuntime::new(LabConfig::seed(9)).block_on(|cx| async move {
        let net = SimNet::new(&cx);
        let refused = net.host("a").connect(&cx, "b", 1).await.unwrap_err().kind();
        let listener = net.host("b").listen(1).unwrap();
        let in_use = net.host("b").listen(1).unwrap_err().kind();
        let stream = net.host("a").connect(&cx, "b", 1).await.unwrap();
        let (mut server, _) = listener.accept(&cx).await.unwrap();
        drop(stream);
        let mut rest = Vec::new();
        let eof = server.read_to_end(&cx, &mut rest).await.unwrap();
        (refused, in_use, eof)
    });
    let (refused, in_use, eof) = report.unwrap();
    assert_eq!(refused, ErrorKind::ConnectionRefused);
    assert_eq!(in_use, ErrorKind::AddrInUse);
    assert_eq!(eof, 0, "the peer reads EOF after the other end is dropped");
}

/// The lab never touches real epoll: a real socket is refused with a clear error
/// instead of hanging the deterministic run.
#[test]
fn real_sockets_are_refused_under_the_lab() {
    let report = LabRuntime::new(LabConfig::seed(1)).block_on(|cx| async move {
        asupersync::net::UdpSocket::bind(&cx, "127.0.0.1:0")
            .await
            .unwrap_err()
    });
    let error = report.outcome.unwrap();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    assert!(error.to_string().contains("lab::net"), "{error}");
}
