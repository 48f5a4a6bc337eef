//! The `brownfield` binary end to end: `serve`, `client`, and Ctrl-C.
//!
//! The server runs as a child process; SIGINT is sent to that child only.

#![cfg(unix)]

mod common;

use std::process::Stdio;

use common::within;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_brownfield");

async fn client(args: &[&str]) -> std::io::Result<(bool, String)> {
    let output = within(Command::new(BIN).arg("client").args(args).output()).await?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    ))
}

async fn interrupt(child: &Child) -> std::io::Result<()> {
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("child has exited"))?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -INT {pid}"))
        .status()
        .await?;
    assert!(status.success(), "kill -INT failed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_client_and_ctrl_c() -> std::io::Result<()> {
    let mut server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stderr = server
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;
    let mut log = BufReader::new(stderr).lines();

    let mut addr = String::new();
    let mut http = String::new();
    while addr.is_empty() || http.is_empty() {
        let line = within(log.next_line())
            .await?
            .ok_or_else(|| std::io::Error::other("server exited early"))?;
        if let Some(rest) = line.strip_prefix("brownfield: listening on ") {
            addr = rest.to_owned();
        } else if let Some(rest) = line.strip_prefix("brownfield: http on http://") {
            http = rest.trim_end_matches("/health").to_owned();
        }
    }

    assert_eq!(
        client(&["--addr", &addr, "SET", "greeting", "hello", "there"]).await?,
        (true, "OK".to_owned())
    );
    assert_eq!(
        client(&["--addr", &addr, "GET", "greeting"]).await?,
        (true, "hello there".to_owned())
    );
    assert_eq!(
        client(&["--addr", &addr, "INCR", "greeting"]).await?,
        (
            false,
            "server error: value of `greeting` is not an integer".to_owned()
        )
    );
    assert_eq!(
        client(&["--http", &http, "health"]).await?,
        (true, r#"200 {"status":"ok"}"#.to_owned())
    );

    interrupt(&server).await?;
    let status = within(server.wait()).await?;
    assert!(status.success(), "server exit status: {status}");
    let mut rest = Vec::new();
    while let Some(line) = within(log.next_line()).await? {
        rest.push(line);
    }
    assert!(
        rest.iter().any(|line| line.contains("Ctrl-C received")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("all drained")),
        "{rest:?}"
    );
    Ok(())
}

#[tokio::test]
async fn bad_usage_exits_with_2() -> std::io::Result<()> {
    let output = within(Command::new(BIN).arg("frobnicate").output()).await?;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));
    Ok(())
}
