//! The io module: extension traits, buffering, copying, splitting and duplex pipes.

mod common;

use std::io::ErrorKind;

use asupersync::io::{
    copy, copy_bidirectional, copy_buf, duplex, empty, repeat, sink, split, AsyncBufReadExt,
    AsyncReadExt, AsyncWriteExt, BufReader, BufWriter,
};
use asupersync::net::{TcpListener, TcpStream};
use asupersync::{CancelKind, CancelReason};
use common::{on_each_flavor, MS};

#[test]
fn duplex_carries_bytes_both_ways_and_applies_backpressure() {
    on_each_flavor(|cx| async move {
        let (mut a, mut b) = duplex(8);
        let writer = cx.spawn(move |cx| async move {
            // 64 bytes through an 8-byte pipe: the writer must wait for the reader.
            let data: Vec<u8> = (0..64).collect();
            a.write_all(&cx, &data).await.unwrap();
            a.shutdown(&cx).await.unwrap();
            let mut reply = String::new();
            a.read_to_string(&cx, &mut reply).await.unwrap();
            reply
        });
        let mut got = Vec::new();
        b.read_to_end(&cx, &mut got).await.unwrap();
        assert_eq!(got, (0..64).collect::<Vec<u8>>());
        b.write_all(&cx, b"thanks").await.unwrap();
        drop(b);
        assert_eq!(writer.join(&cx).await.unwrap(), "thanks");
    });
}

#[test]
fn writing_to_a_dropped_duplex_end_is_broken_pipe() {
    on_each_flavor(|cx| async move {
        let (mut a, b) = duplex(4);
        drop(b);
        let err = a.write_all(&cx, b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn buf_reader_lines_and_read_line() {
    on_each_flavor(|cx| async move {
        let (mut a, b) = duplex(1024);
        a.write_all(&cx, b"first\nsecond\r\n\nlast without newline")
            .await
            .unwrap();
        drop(a);
        // A tiny buffer makes lines span several fills.
        let mut reader = BufReader::with_capacity(3, b);
        let mut line = String::from("kept:");
        assert_eq!(reader.read_line(&cx, &mut line).await.unwrap(), 6);
        assert_eq!(line, "kept:first\n");
        let mut lines = reader.lines();
        let mut all = Vec::new();
        while let Some(line) = lines.next_line(&cx).await.unwrap() {
            all.push(line);
        }
        assert_eq!(all, ["second", "", "last without newline"]);
    });
}

#[test]
fn a_cancelled_next_line_keeps_the_partial_line_for_the_next_call() {
    on_each_flavor(|cx| async move {
        let (mut a, b) = duplex(64);
        let reader = cx.spawn(move |cx| async move {
            let mut lines = BufReader::new(b).lines();
            let first = lines.next_line(&cx).await;
            (first, lines)
        });
        a.write_all(&cx, b"hel").await.unwrap();
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        reader.cancel(CancelReason::new(CancelKind::User));
        let (first, mut lines) = reader.join(&cx).await.unwrap();
        assert_eq!(first.unwrap_err().kind(), ErrorKind::Interrupted);
        a.write_all(&cx, b"lo\n").await.unwrap();
        assert_eq!(
            lines.next_line(&cx).await.unwrap().as_deref(),
            Some("hello")
        );
    });
}

#[test]
fn a_cancelled_read_line_keeps_what_it_read_in_the_callers_string() {
    on_each_flavor(|cx| async move {
        let (mut a, b) = duplex(64);
        let reader = cx.spawn(move |cx| async move {
            let mut reader = BufReader::new(b);
            let mut line = String::new();
            let result = reader.read_line(&cx, &mut line).await;
            (result, line)
        });
        a.write_all(&cx, "partial é".as_bytes()).await.unwrap();
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        reader.cancel(CancelReason::new(CancelKind::User));
        let (result, line) = reader.join(&cx).await.unwrap();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Interrupted);
        assert_eq!(line, "partial é");
    });
}

#[test]
fn read_to_string_rejects_invalid_utf8_and_restores_the_string() {
    on_each_flavor(|cx| async move {
        let (mut a, mut b) = duplex(64);
        a.write_all(&cx, &[b'o', b'k', 0xff]).await.unwrap();
        drop(a);
        let mut s = String::from("before");
        let err = b.read_to_string(&cx, &mut s).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(s, "before");
    });
}

#[test]
fn buf_writer_gathers_writes_until_flush() {
    on_each_flavor(|cx| async move {
        let (a, mut b) = duplex(1024);
        let mut writer = BufWriter::with_capacity(16, a);
        writer.write_all(&cx, b"abc").await.unwrap();
        writer.write_all(&cx, b"def").await.unwrap();
        assert_eq!(writer.buffer(), b"abcdef", "small writes stay buffered");
        writer.flush(&cx).await.unwrap();
        assert!(writer.buffer().is_empty());
        // A write larger than the buffer goes straight through after a flush.
        writer.write_all(&cx, &[b'x'; 40]).await.unwrap();
        writer.shutdown(&cx).await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&cx, &mut got).await.unwrap();
        let mut expected = b"abcdef".to_vec();
        expected.extend([b'x'; 40]);
        assert_eq!(got, expected);
    });
}

#[test]
fn copy_moves_everything_and_counts_it() {
    on_each_flavor(|cx| async move {
        let (mut source_w, mut source_r) = duplex(100);
        let (mut sink_w, mut sink_r) = duplex(100_000);
        let producer = cx.spawn(move |cx| async move {
            for chunk in 0..100u8 {
                source_w.write_all(&cx, &[chunk; 500]).await.unwrap();
            }
        });
        let copied = copy(&cx, &mut source_r, &mut sink_w).await.unwrap();
        producer.join(&cx).await.unwrap();
        assert_eq!(copied, 50_000);
        drop(sink_w);
        let mut got = Vec::new();
        sink_r.read_to_end(&cx, &mut got).await.unwrap();
        assert_eq!(got.len(), 50_000);
        assert!(got
            .chunks(500)
            .enumerate()
            .all(|(i, c)| c.iter().all(|&b| b == i as u8)));
    });
}

#[test]
fn copy_bidirectional_proxies_a_tcp_connection() {
    on_each_flavor(|cx| async move {
        // client <-> proxy <-> echo server
        let echo = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        let proxy = TcpListener::bind(&cx, "127.0.0.1:0").await.unwrap();
        let proxy_addr = proxy.local_addr().unwrap();
        let echo_task = cx.spawn(move |cx| async move {
            let (mut stream, _) = echo.accept(&cx).await.unwrap();
            let (mut r, mut w) = stream.split();
            copy(&cx, &mut r, &mut w).await.unwrap();
            w.shutdown(&cx).await.unwrap();
        });
        let proxy_task = cx.spawn(move |cx| async move {
            let (mut inbound, _) = proxy.accept(&cx).await.unwrap();
            let mut outbound = TcpStream::connect(&cx, echo_addr).await.unwrap();
            copy_bidirectional(&cx, &mut inbound, &mut outbound)
                .await
                .unwrap()
        });
        let mut client = TcpStream::connect(&cx, proxy_addr).await.unwrap();
        let payload = vec![7u8; 100_000];
        let (mut r, mut w) = client.split();
        let writer = async {
            w.write_all(&cx, &payload).await.unwrap();
            w.shutdown(&cx).await.unwrap();
        };
        let mut back = Vec::new();
        let reader = r.read_to_end(&cx, &mut back);
        let ((), read) = futures_util::future::join(writer, reader).await;
        read.unwrap();
        assert_eq!(back, payload);
        assert_eq!(proxy_task.join(&cx).await.unwrap(), (100_000, 100_000));
        echo_task.join(&cx).await.unwrap();
    });
}

#[test]
fn generic_split_halves_live_in_different_tasks_and_unsplit() {
    on_each_flavor(|cx| async move {
        let (a, mut b) = duplex(64);
        let (mut read, mut write) = split(a);
        let writer = cx.spawn(move |cx| async move {
            write
                .write_all(&cx, b"through the write half")
                .await
                .unwrap();
            write
        });
        let mut buf = vec![0u8; 22];
        b.read_exact(&cx, &mut buf).await.unwrap();
        assert_eq!(buf, b"through the write half");
        b.write_all(&cx, b"back").await.unwrap();
        let mut back = [0u8; 4];
        read.read_exact(&cx, &mut back).await.unwrap();
        assert_eq!(&back, b"back");
        let write = writer.join(&cx).await.unwrap();
        assert!(read.is_pair_of(&write));
        let _whole = read.unsplit(write).map_err(|_| "halves matched").unwrap();
    });
}

#[test]
fn read_exact_reports_unexpected_eof() {
    on_each_flavor(|cx| async move {
        let (mut a, mut b) = duplex(64);
        a.write_all(&cx, b"abc").await.unwrap();
        drop(a);
        let mut buf = [0u8; 5];
        let err = b.read_exact(&cx, &mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
    });
}

#[test]
fn copy_buf_empty_sink_and_repeat() {
    on_each_flavor(|cx| async move {
        let (mut w, r) = duplex(16);
        let producer = cx.spawn(move |cx| async move {
            let mut chunk = [0u8; 100];
            repeat(b'z').read_exact(&cx, &mut chunk).await.unwrap();
            w.write_all(&cx, &chunk).await.unwrap();
        });
        let mut reader = BufReader::with_capacity(7, r);
        let mut out: Vec<u8> = Vec::new();
        assert_eq!(copy_buf(&cx, &mut reader, &mut out).await.unwrap(), 100);
        assert_eq!(out, vec![b'z'; 100]);
        producer.join(&cx).await.unwrap();

        let mut nothing = Vec::new();
        assert_eq!(empty().read_to_end(&cx, &mut nothing).await.unwrap(), 0);
        let mut discard = sink();
        discard.write_all(&cx, b"gone").await.unwrap();
        assert_eq!(copy(&cx, &mut empty(), &mut discard).await.unwrap(), 0);
    });
}

/// Runs in a child copy of this test binary (see the next test): writes through the
/// native stdout and stderr.
#[test]
fn stdio_child_helper() {
    if std::env::var_os("ASUPERSYNC_STDIO_CHILD").is_none() {
        return;
    }
    on_each_flavor(|cx| async move {
        let mut out = asupersync::io::stdout(&cx).unwrap();
        out.write_all(&cx, b"<written through native stdout>")
            .await
            .unwrap();
        out.flush(&cx).await.unwrap();
        let mut err = asupersync::io::stderr(&cx).unwrap();
        err.write_all(&cx, b"<and stderr>").await.unwrap();
        err.flush(&cx).await.unwrap();
    });
}

#[test]
fn stdout_and_stderr_reach_the_process_streams() {
    on_each_flavor(|cx| async move {
        let output = asupersync::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "stdio_child_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ASUPERSYNC_STDIO_CHILD", "1")
            .output(&cx)
            .await
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stdout.contains("<written through native stdout>"),
            "{stdout}"
        );
        assert!(stderr.contains("<and stderr>"), "{stderr}");
    });
}

#[test]
fn take_and_chain_compose_readers() {
    on_each_flavor(|cx| async move {
        let (mut w, r) = duplex(64);
        w.write_all(&cx, b"0123456789").await.unwrap();
        drop(w);
        let mut limited = r.take(4);
        let mut head = Vec::new();
        limited.read_to_end(&cx, &mut head).await.unwrap();
        assert_eq!(head, b"0123");
        assert_eq!(limited.limit(), 0);
        let mut joined = limited.into_inner().chain(repeat(b'!').take(3));
        let mut rest = String::new();
        joined.read_to_string(&cx, &mut rest).await.unwrap();
        assert_eq!(rest, "456789!!!");
    });
}
