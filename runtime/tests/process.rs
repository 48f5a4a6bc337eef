//! Child processes: piped stdio, output, exit status, and cancelled waits.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use asupersync::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use asupersync::process::Command;
use asupersync::{CancelKind, CancelReason};
use common::{on_each_flavor, MS};

#[test]
fn output_captures_stdout_stderr_and_status() {
    on_each_flavor(|cx| async move {
        let output = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .output(&cx)
            .await
            .unwrap();
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        assert_eq!(output.status.code(), Some(3));
    });
}

#[test]
fn piped_stdin_and_stdout_talk_to_a_child() {
    on_each_flavor(|cx| async move {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn(&cx)
            .unwrap();
        assert!(child.id().is_some());
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for i in 0..50 {
            stdin
                .write_all(&cx, format!("message {i}\n").as_bytes())
                .await
                .unwrap();
            assert_eq!(
                lines.next_line(&cx).await.unwrap(),
                Some(format!("message {i}"))
            );
        }
        drop(stdin); // cat sees end of file and exits
        assert_eq!(lines.next_line(&cx).await.unwrap(), None);
        assert!(child.wait(&cx).await.unwrap().success());
        assert_eq!(child.id(), None);
    });
}

#[test]
fn a_large_output_on_both_pipes_does_not_deadlock() {
    on_each_flavor(|cx| async move {
        // 1 MiB on each pipe is far beyond the pipe buffers: both must be drained
        // concurrently for the child to finish.
        let output = Command::new("sh")
            .args([
                "-c",
                "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2",
            ])
            .output(&cx)
            .await
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout.len(), 1 << 20);
        assert_eq!(output.stderr.len(), 1 << 20);
    });
}

#[test]
fn a_cancelled_wait_kills_a_kill_on_drop_child() {
    on_each_flavor(|cx| async move {
        let mut child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn(&cx)
            .unwrap();
        let waiter = cx.spawn(move |cx| async move {
            let result = child.wait(&cx).await;
            (result, child)
        });
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        let start = Instant::now();
        waiter.cancel(CancelReason::new(CancelKind::User));
        let (result, mut child) = waiter.join(&cx).await.unwrap();
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::Interrupted);
        assert!(start.elapsed() < Duration::from_secs(5));
        // The child was killed: waiting now returns promptly with a signal status.
        let status = child.wait(&cx).await.unwrap();
        assert!(!status.success());
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
    });
}

#[test]
fn a_cancelled_wait_without_kill_on_drop_leaves_the_child_running() {
    on_each_flavor(|cx| async move {
        let mut child = Command::new("sleep").arg("0.3").spawn(&cx).unwrap();
        let waiter = cx.spawn(move |cx| async move {
            let result = child.wait(&cx).await;
            (result, child)
        });
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        waiter.cancel(CancelReason::new(CancelKind::User));
        let (result, mut child) = waiter.join(&cx).await.unwrap();
        assert!(result.is_err());
        assert!(child.try_wait().unwrap().is_none(), "the child still runs");
        assert!(child.wait(&cx).await.unwrap().success());
    });
}

#[test]
fn kill_stops_a_child_and_reads_see_eof() {
    on_each_flavor(|cx| async move {
        let mut child = Command::new("sh")
            .args(["-c", "echo started; exec sleep 30"])
            .stdout(Stdio::piped())
            .spawn(&cx)
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 8];
        stdout.read_exact(&cx, &mut first).await.unwrap();
        assert_eq!(&first, b"started\n");
        child.kill(&cx).await.unwrap();
        let mut rest = Vec::new();
        stdout.read_to_end(&cx, &mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
}

#[test]
fn spawning_a_missing_program_is_an_error() {
    on_each_flavor(|cx| async move {
        let err = Command::new("/definitely/not/a/program")
            .spawn(&cx)
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
}
