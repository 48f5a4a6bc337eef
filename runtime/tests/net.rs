//! Networking on the real runtime: TCP, UDP and Unix sockets, and the cancellation of
//! blocked accepts and reads.

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use asupersync::io::{AsyncReadExt, AsyncWriteExt};
use asupersync::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use asupersync::{CancelKind, CancelReason, Cancelled, Cx, Outcome};
use common::{on_each_flavor, MS};

/// A cancelled IO operation's error: kind Interrupted, built from `Cancelled`.
fn assert_cancelled(e: &std::io::Error) {
    assert_eq!(e.kind(), ErrorKind::Interrupted, "{e}");
    let inner = e.get_ref().expect("the error carries the Cancelled");
    assert!(inner.downcast_ref::<Cancelled>().is_some(), "{e}");
}

#[test]
fn tcp_echo_with_200_concurrent_clients() {
    on_each_flavor(|cx| async move {
        let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = cx.spawn(|cx| async move {
            for _ in 0..200 {
                let (mut stream, peer) = listener.accept(&cx).await.unwrap();
                assert_eq!(peer, stream.peer_addr().unwrap());
                cx.spawn(|cx| async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        let n = stream.read(&cx, &mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        stream.write_all(&cx, &buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..200u32)
            .map(|i| {
                cx.spawn(move |cx| async move {
                    let mut stream = TcpStream::connect(&cx, addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    assert!(stream.nodelay().unwrap());
                    assert_eq!(stream.peer_addr().unwrap(), addr);
                    let message = format!("hello from client {i}, ").repeat(20);
                    for _ in 0..3 {
                        stream.write_all(&cx, message.as_bytes()).await.unwrap();
                        let mut echoed = vec![0u8; message.len()];
                        stream.read_exact(&cx, &mut echoed).await.unwrap();
                        assert_eq!(echoed, message.as_bytes());
                    }
                    stream.shutdown(&cx).await.unwrap();
                    let mut rest = Vec::new();
                    assert_eq!(stream.read_to_end(&cx, &mut rest).await.unwrap(), 0);
                    i
                })
            })
            .collect();
        let mut done = 0;
        for client in clients {
            client.join(&cx).await.unwrap();
            done += 1;
        }
        server.join(&cx).await.unwrap();
        assert_eq!(done, 200);
    });
}

#[test]
fn tcp_split_and_into_split_halves_work_concurrently() {
    on_each_flavor(|cx| async move {
        let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = cx.spawn(|cx| async move {
            let (stream, _) = listener.accept(&cx).await.unwrap();
            let (mut read, mut write) = stream.into_split();
            // Echo through owned halves in two tasks.
            let reader = cx.spawn(|cx| async move {
                let mut got = Vec::new();
                read.read_to_end(&cx, &mut got).await.unwrap();
                got
            });
            write.write_all(&cx, b"from server").await.unwrap();
            drop(write); // shuts down the write direction: the client reads EOF
            reader.join(&cx).await.unwrap()
        });
        let mut stream = TcpStream::connect(&cx, addr).await.unwrap();
        let (mut read, mut write) = stream.split();
        let mut got = Vec::new();
        let (r, w) = {
            let read_all = read.read_to_end(&cx, &mut got);
            let write_all = async {
                write.write_all(&cx, b"from client").await?;
                write.shutdown(&cx).await
            };
            futures_util::future::join(read_all, write_all).await
        };
        r.unwrap();
        w.unwrap();
        assert_eq!(got, b"from server");
        assert_eq!(server.join(&cx).await.unwrap(), b"from client");
    });
}

#[test]
fn connect_to_a_closed_port_fails() {
    on_each_flavor(|cx| async move {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = TcpStream::connect(&cx, ("127.0.0.1", port))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn a_read_blocked_on_a_silent_peer_is_cancelled_promptly_and_keeps_its_bytes() {
    on_each_flavor(|cx| async move {
        let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peer = TcpStream::connect(&cx, addr).await.unwrap();
        let (stream, _) = listener.accept(&cx).await.unwrap();
        // The peer sends a little and then goes silent (the connection stays open).
        peer.write_all(&cx, b"partial").await.unwrap();
        let reader = cx.spawn(move |cx| async move {
            let mut stream = stream;
            let mut got = Vec::new();
            let result = stream.read_to_end(&cx, &mut got).await;
            (result, got, Instant::now())
        });
        asupersync::time::sleep(&cx, 50 * MS).await.unwrap();
        let cancelled_at = Instant::now();
        reader.cancel(CancelReason::user("stop reading"));
        let (result, got, returned_at) = reader.join(&cx).await.unwrap();
        assert_cancelled(&result.unwrap_err());
        assert_eq!(got, b"partial", "bytes read before the cancel are kept");
        // The default drain budget is 10 s; a cancel-aware read returns at once.
        assert!(
            returned_at - cancelled_at < Duration::from_secs(2),
            "took {:?}",
            returned_at - cancelled_at
        );
        drop(peer);
    });
}

#[test]
fn accept_is_cancel_aware_and_leaves_no_connection_behind() {
    on_each_flavor(|cx| async move {
        let listener = std::sync::Arc::new(TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let waiting = listener.clone();
        let acceptor = cx.spawn(move |cx| async move { waiting.accept(&cx).await.map(|_| ()) });
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        acceptor.cancel(CancelReason::new(CancelKind::User));
        let start = Instant::now();
        match acceptor.join(&cx).await {
            Outcome::Ok(result) => assert_cancelled(&result.unwrap_err()),
            other => panic!(
                "the acceptor should return its error, got {:?}",
                other.map(|_| ())
            ),
        }
        assert!(start.elapsed() < Duration::from_secs(2));
        // The listener still works: a connection made now is accepted.
        let client =
            cx.spawn(move |cx| async move { TcpStream::connect(&cx, addr).await.unwrap() });
        let (_server_side, peer) = listener.accept(&cx).await.unwrap();
        let client_stream = client.join(&cx).await.unwrap();
        assert_eq!(peer, client_stream.local_addr().unwrap());
    });
}

#[test]
fn udp_round_trip_with_send_to_and_connected_sockets() {
    on_each_flavor(|cx| async move {
        let a = UdpSocket::bind(&cx, "127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind(&cx, "127.0.0.1:0").await.unwrap();
        let a_addr = a.local_addr().unwrap();
        let b_addr = b.local_addr().unwrap();
        let echo = cx.spawn(move |cx| async move {
            let mut buf = [0u8; 64];
            let (n, from) = b.recv_from(&cx, &mut buf).await.unwrap();
            b.send_to(&cx, &buf[..n], from).await.unwrap();
            b
        });
        assert_eq!(a.send_to(&cx, b"ping", b_addr).await.unwrap(), 4);
        let mut buf = [0u8; 64];
        let (n, from) = a.recv_from(&cx, &mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], b_addr));
        let b = echo.join(&cx).await.unwrap();

        a.connect(&cx, b_addr).await.unwrap();
        b.connect(&cx, a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        a.send(&cx, b"connected").await.unwrap();
        let n = b.recv(&cx, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");
    });
}

#[test]
fn udp_recv_is_cancel_aware() {
    on_each_flavor(|cx| async move {
        let socket = UdpSocket::bind(&cx, "127.0.0.1:0").await.unwrap();
        let receiver = cx.spawn(move |cx| async move {
            let mut buf = [0u8; 8];
            socket.recv_from(&cx, &mut buf).await.map(|_| ())
        });
        asupersync::time::sleep(&cx, 10 * MS).await.unwrap();
        receiver.cancel(CancelReason::new(CancelKind::User));
        assert_cancelled(&receiver.join(&cx).await.unwrap().unwrap_err());
    });
}

#[test]
fn unix_listener_stream_and_pair() {
    on_each_flavor(|cx| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let listener = UnixListener::bind(&cx, &path).unwrap();
        let server = cx.spawn(|cx| async move {
            let (mut stream, _) = listener.accept(&cx).await.unwrap();
            let mut got = Vec::new();
            stream.read_to_end(&cx, &mut got).await.unwrap();
            stream.write_all(&cx, &got).await.unwrap();
            got
        });
        let mut client = UnixStream::connect(&cx, &path).await.unwrap();
        client.write_all(&cx, b"over a unix socket").await.unwrap();
        client.shutdown(&cx).await.unwrap();
        let mut back = Vec::new();
        client.read_to_end(&cx, &mut back).await.unwrap();
        assert_eq!(back, b"over a unix socket");
        assert_eq!(server.join(&cx).await.unwrap(), b"over a unix socket");

        let (mut a, mut b) = UnixStream::pair(&cx).unwrap();
        a.write_all(&cx, b"pair").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&cx, &mut buf).await.unwrap();
        assert_eq!(&buf, b"pair");
    });
}

#[test]
fn a_cancelled_task_drops_its_socket_and_the_peer_sees_eof() {
    on_each_flavor(|cx: Cx| async move {
        let (a, mut b) = UnixStream::pair(&cx).unwrap();
        let holder = cx.spawn(move |cx| async move {
            let mut a = a;
            let mut buf = [0u8; 1];
            a.read(&cx, &mut buf).await
        });
        asupersync::time::sleep(&cx, 10 * MS).await.unwrap();
        holder.cancel(CancelReason::new(CancelKind::User));
        assert_cancelled(&holder.join(&cx).await.unwrap().unwrap_err());
        let mut rest = Vec::new();
        assert_eq!(b.read_to_end(&cx, &mut rest).await.unwrap(), 0);
    });
}

#[test]
fn lookup_host_resolves_localhost_on_the_pool() {
    on_each_flavor(|cx| async move {
        let addrs: Vec<_> = asupersync::net::lookup_host(&cx, "localhost:8080")
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.port() == 8080 && a.ip().is_loopback()),
            "{addrs:?}"
        );
    });
}

#[test]
fn unix_datagrams_and_reunited_tcp_halves() {
    on_each_flavor(|cx| async move {
        let dir = tempfile::tempdir().unwrap();
        let server_path = dir.path().join("dgram");
        let server = asupersync::net::UnixDatagram::bind(&cx, &server_path).unwrap();
        let client = asupersync::net::UnixDatagram::unbound(&cx).unwrap();
        client
            .send_to(&cx, b"datagram", &server_path)
            .await
            .unwrap();
        let mut buf = [0u8; 32];
        let (n, _) = server.recv_from(&cx, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"datagram");
        let (a, b) = asupersync::net::UnixDatagram::pair(&cx).unwrap();
        a.send(&cx, b"paired").await.unwrap();
        let n = b.recv(&cx, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"paired");

        let listener = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let first = TcpStream::connect(&cx, addr).await.unwrap();
        let second = TcpStream::connect(&cx, addr).await.unwrap();
        let (r1, w1) = first.into_split();
        let (r2, w2) = second.into_split();
        let asupersync::net::ReuniteError(r1, w2) = r1.reunite(w2).unwrap_err();
        let stream = r1.reunite(w1).map_err(|_| "matching halves").unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addr);
        let _ = r2.reunite(w2).map_err(|_| "matching halves").unwrap();
    });
}

#[test]
fn a_consumed_socket_error_does_not_leave_the_socket_spinning() {
    on_each_flavor(|cx| async move {
        let closed_port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let socket = UdpSocket::bind(&cx, "127.0.0.1:0").await.unwrap();
        socket.connect(&cx, closed_port).await.unwrap();
        socket.send(&cx, b"anyone?").await.unwrap();
        let mut buf = [0u8; 16];
        // The ICMP "port unreachable" comes back as a socket error on loopback.
        let err =
            asupersync::time::timeout(&cx, Duration::from_secs(5), socket.recv(&cx, &mut buf))
                .await
                .expect("the error arrives")
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // The error was consumed: the next receive waits (and times out) instead of
        // spinning on a stale error bit.
        let waited = asupersync::time::timeout(&cx, 30 * MS, socket.recv(&cx, &mut buf)).await;
        assert!(waited.is_err(), "recv should still be waiting: {waited:?}");
    });
}

/// The runtime's own threads drive IO, so it must not wait for them to go idle: with
/// every thread kept busy by tasks that only yield, a datagram is still received (a
/// busy runtime polls the reactor without blocking every few dozen task turns).
#[test]
fn io_is_served_while_every_thread_is_busy() {
    on_each_flavor(|cx| async move {
        let stop = common::flag();
        let spinners = common::spawn_yielders(&cx, 4, &stop);
        let socket = UdpSocket::bind(&cx, "127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        for round in 0..20u8 {
            let exchange = async {
                socket.send_to(&cx, &[round], addr).await.unwrap();
                let mut buf = [0u8; 4];
                let (n, _) = socket.recv_from(&cx, &mut buf).await.unwrap();
                buf[..n].to_vec()
            };
            // Timers fire between task turns, so a starved reactor shows as a timeout.
            let received = asupersync::time::timeout(&cx, Duration::from_secs(10), exchange)
                .await
                .unwrap_or_else(|_| panic!("round {round}: the reactor was never polled"));
            assert_eq!(received, [round]);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for spinner in spinners {
            spinner.join(&cx).await.unwrap();
        }
    });
}
