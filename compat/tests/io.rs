//! The IO adapters against real Tokio IO types and `futures-io` types, polled from
//! native tasks and from the Tokio host.

#[path = "../../runtime/tests/common/mod.rs"]
mod common;

use asupersync_tokio_compat::io::{FromTokio, IntoTokio};
use asupersync_tokio_compat::{run, TokioHost};
use futures_util::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, Cursor};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

#[test]
fn tokio_code_reads_and_writes_a_futures_io_type_through_into_tokio() {
    common::on_each_flavor(|cx| async move {
        let outcome = run(&cx, async {
            // Reading: Tokio's buffered line reader over a futures-io source.
            let source = IntoTokio::new(Cursor::new(b"first\nsecond\nthird".to_vec()));
            let mut lines = tokio::io::BufReader::new(source).lines();
            let mut seen = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                seen.push(line);
            }
            // Writing: Tokio's write_all and shutdown into a futures-io sink.
            let mut sink = IntoTokio::new(Cursor::new(Vec::new()));
            sink.write_all(b"hello ").await.unwrap();
            sink.write_all(b"tokio").await.unwrap();
            sink.shutdown().await.unwrap();
            (seen, sink.into_inner().into_inner())
        })
        .await;
        let (lines, written) = outcome.unwrap();
        assert_eq!(lines, ["first", "second", "third"]);
        assert_eq!(written, b"hello tokio");
    });
}

#[test]
fn native_code_drives_a_tokio_pipe_through_from_tokio() {
    common::on_each_flavor(|cx| async move {
        let (native_end, tokio_end) = tokio::io::duplex(64);
        // The Tokio side echoes in upper case, on the host.
        let echo = cx.spawn(move |cx| async move {
            run(&cx, async move {
                let (read, mut write) = tokio::io::split(tokio_end);
                let mut lines = tokio::io::BufReader::new(read).lines();
                let mut echoed = 0;
                while let Some(line) = lines.next_line().await.unwrap() {
                    write
                        .write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                        .await
                        .unwrap();
                    echoed += 1;
                }
                write.shutdown().await.unwrap();
                echoed
            })
            .await
        });
        // The native side speaks futures-io, polled on the native runtime's thread.
        let stream = FromTokio::new(native_end);
        let (read, mut write) = stream.split();
        let mut read = futures_util::io::BufReader::new(read);
        let mut replies = Vec::new();
        // More data than the pipe holds, so both sides must wait for each other.
        // asupersync: allow(loop-without-checkpoint) -- a bounded test loop; nothing cancels this test
        for i in 0..50 {
            write
                .write_all(format!("line {i}\n").as_bytes())
                .await
                .unwrap();
            let mut reply = String::new();
            read.read_line(&mut reply).await.unwrap();
            replies.push(reply);
        }
        write.close().await.unwrap();
        let mut rest = String::new();
        read.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "", "echo closed after the last line");
        assert_eq!(replies[0], "LINE 0\n");
        assert_eq!(replies[49], "LINE 49\n");
        assert_eq!(echo.join(&cx).await.unwrap().unwrap(), 50);
    });
}

#[test]
fn a_native_task_uses_a_real_tokio_socket_through_from_tokio() {
    let host = TokioHost::builder()
        .thread_name("compat-io")
        .build()
        .unwrap();
    common::on_each_flavor(|cx| {
        let host = host.clone();
        async move {
            // A Tokio TCP echo server on the host.
            let listener = host
                .run(&cx, tokio::net::TcpListener::bind("127.0.0.1:0"))
                .await
                .unwrap()
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let server_host = host.clone();
            let server = cx.spawn(move |cx| async move {
                server_host
                    .run(&cx, async move {
                        let (mut socket, _) = listener.accept().await.unwrap();
                        let mut buf = Vec::new();
                        socket.read_to_end(&mut buf).await.unwrap();
                        socket.write_all(&buf).await.unwrap();
                        socket.shutdown().await.unwrap();
                        buf.len()
                    })
                    .await
            });
            // The client socket is created on the host, then used from the native
            // task: a Tokio socket's readiness comes from the host's IO driver.
            let socket = host
                .run(&cx, tokio::net::TcpStream::connect(addr))
                .await
                .unwrap()
                .unwrap();
            let mut socket = FromTokio::new(socket);
            let payload = vec![7u8; 256 * 1024];
            socket.write_all(&payload).await.unwrap();
            socket.close().await.unwrap();
            let mut echoed = Vec::new();
            socket.read_to_end(&mut echoed).await.unwrap();
            assert_eq!(echoed.len(), payload.len());
            assert!(echoed == payload);
            assert_eq!(server.join(&cx).await.unwrap().unwrap(), payload.len());
        }
    });
}

#[test]
fn the_adapters_compose_both_ways_for_tokio_io_copy() {
    common::on_each_flavor(|cx| async move {
        let copied = run(&cx, async {
            // futures-io -> Tokio -> futures-io -> Tokio: every layer passes bytes as is.
            let mut source = IntoTokio::new(FromTokio::new(IntoTokio::new(Cursor::new(vec![
                    1u8;
                    10_000
                ]))));
            let mut sink = IntoTokio::new(Cursor::new(Vec::new()));
            let n = tokio::io::copy(&mut source, &mut sink).await.unwrap();
            (n, sink.into_inner().into_inner())
        })
        .await
        .unwrap();
        assert_eq!(copied.0, 10_000);
        assert_eq!(copied.1, vec![1u8; 10_000]);
    });
}
