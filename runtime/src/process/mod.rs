//! Child processes: Tokio's `process::Command` with `&cx` on everything that waits.
//!
//! `Command::new("ls").arg("-l").output(&cx).await`, or `spawn(&cx)` for a [`Child`]
//! whose piped `stdin`/`stdout`/`stderr` are non-blocking streams on the reactor
//! (`futures_io` traits, so the [`io`](crate::io) extension methods work on them).
//!
//! Waiting for exit uses a pidfd (Linux 5.3+) registered with the reactor, so a wait
//! costs no thread; where pidfds are unavailable it falls back to checking every few
//! milliseconds on the runtime's timers.
//!
//! Cancellation: a cancelled `wait`/`output` returns an `Interrupted` error built from
//! [`Cancelled`](crate::Cancelled). The child is **not** killed unless the command
//! was built with [`kill_on_drop(true)`](Command::kill_on_drop); with it, a cancelled
//! wait kills the child at once (and a dropped `Child` kills it too), and the child is
//! reaped on the blocking pool. A child dropped without `kill_on_drop` keeps running,
//! as with Tokio.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Output, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use mio::event::Source;

use crate::cx::Cx;
use crate::io::{cancel_aware, check, poll_read_to_end};
use crate::reactor::{Direction, PollEvented};
use crate::runtime::shared::RuntimeShared;
use crate::task::blocking::BlockingJob;

/// How often the fallback (no pidfd) checks whether a child has exited.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A process builder (wraps `std::process::Command`).
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program`.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Configures the child's stdin.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// Configures the child's stdout.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Configures the child's stderr.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Kill the child when its [`Child`] is dropped or its wait is cancelled.
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// Starts the process.
    pub fn spawn(&mut self, cx: &Cx) -> io::Result<Child> {
        cx.checkpoint()?;
        let mut child = self.std.spawn()?;
        let stdin = child
            .stdin
            .take()
            .map(|s| ChildStdin::new(cx, s))
            .transpose();
        let stdout = child
            .stdout
            .take()
            .map(|s| ChildStdout::new(cx, s))
            .transpose();
        let stderr = child
            .stderr
            .take()
            .map(|s| ChildStderr::new(cx, s))
            .transpose();
        let exit = PidFd::open(child.id()).and_then(|fd| PollEvented::new(cx, fd).ok());
        let mut child = Child {
            child: Some(child),
            rt: cx.runtime().clone(),
            exit,
            kill_on_drop: self.kill_on_drop,
            status: None,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        child.stdin = stdin?;
        child.stdout = stdout?;
        child.stderr = stderr?;
        Ok(child)
    }

    /// Runs the command to completion and returns its exit status (stdio inherited
    /// unless configured).
    pub async fn status(&mut self, cx: &Cx) -> io::Result<ExitStatus> {
        self.spawn(cx)?.wait(cx).await
    }

    /// Runs the command with stdout and stderr captured (and stdin empty unless
    /// configured); returns status and output.
    pub async fn output(&mut self, cx: &Cx) -> io::Result<Output> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.spawn(cx)?.wait_with_output(cx).await
    }
}

/// A running (or exited) child process.
pub struct Child {
    child: Option<std::process::Child>,
    rt: std::sync::Arc<RuntimeShared>,
    exit: Option<PollEvented<PidFd>>,
    kill_on_drop: bool,
    status: Option<ExitStatus>,
    /// The child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("child", &self.child)
            .field("status", &self.status)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish_non_exhaustive()
    }
}

impl Child {
    /// The OS process id (`None` once the child has been waited for).
    pub fn id(&self) -> Option<u32> {
        match self.status {
            Some(_) => None,
            None => self.child.as_ref().map(|c| c.id()),
        }
    }

    fn std(&mut self) -> &mut std::process::Child {
        self.child.as_mut().expect("child present until drop")
    }

    /// The exit status if the child has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let status = self.std().try_wait()?;
        self.status = status;
        Ok(status)
    }

    /// Sends SIGKILL without waiting (a child that already exited is not an error).
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std().kill()
    }

    /// Kills the child and waits for it to exit.
    pub async fn kill(&mut self, cx: &Cx) -> io::Result<()> {
        self.start_kill()?;
        self.wait(cx).await.map(|_| ())
    }

    /// Waits for the child to exit (closing its stdin first, so a child reading it
    /// sees end of file). Cancel-aware; see the module docs for what a cancel does to
    /// the child.
    pub async fn wait(&mut self, cx: &Cx) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let result = self.wait_inner(cx).await;
        if result.is_err() && cx.is_cancel_requested() && self.kill_on_drop {
            let _ = self.start_kill();
        }
        result
    }

    async fn wait_inner(&mut self, cx: &Cx) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        let Child {
            child,
            exit,
            status,
            ..
        } = self;
        let child = child.as_mut().expect("child present until drop");
        let exited = match exit {
            Some(pidfd) => {
                cancel_aware(cx, |task| {
                    // The pidfd turns readable when the child exits.
                    pidfd.poll_io(Direction::Read, task, |_| match child.try_wait()? {
                        Some(status) => Ok(status),
                        None => Err(io::ErrorKind::WouldBlock.into()),
                    })
                })
                .await?
            }
            None => loop {
                if let Some(status) = child.try_wait()? {
                    break status;
                }
                crate::time::sleep(cx, EXIT_POLL_INTERVAL).await?;
            },
        };
        *status = Some(exited);
        Ok(exited)
    }

    /// Reads stdout and stderr to their ends (concurrently, so neither pipe fills and
    /// stalls the child) and waits for exit. Cancel-aware.
    pub async fn wait_with_output(mut self, cx: &Cx) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout_buf = Vec::new();
        let mut stderr_buf = Vec::new();
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        std::future::poll_fn(|task| {
            check(cx)?;
            let out_done = poll_pipe(&mut stdout, task, &mut stdout_buf)?;
            let err_done = poll_pipe(&mut stderr, task, &mut stderr_buf)?;
            if out_done && err_done {
                Poll::Ready(Ok::<(), io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await
        .inspect_err(|_| {
            if cx.is_cancel_requested() && self.kill_on_drop {
                let _ = self.start_kill();
            }
        })?;
        let status = self.wait(cx).await?;
        Ok(Output {
            status,
            stdout: stdout_buf,
            stderr: stderr_buf,
        })
    }
}

/// Reads `pipe` to its end into `buf`; `true` once done (or absent).
fn poll_pipe<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    task: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    let Some(reader) = pipe else {
        return Ok(true);
    };
    match poll_read_to_end(reader, task, buf) {
        Poll::Ready(Ok(())) => {
            *pipe = None;
            Ok(true)
        }
        Poll::Ready(Err(e)) => Err(e),
        Poll::Pending => Ok(false),
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.kill_on_drop || self.status.is_some() {
            return;
        }
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                // Reap it on the pool so no zombie is left (a killed child exits
                // promptly, so this holds a pool thread only briefly).
                let _ = BlockingJob::submit(&self.rt, move |_| {
                    let _ = child.wait();
                });
            }
        }
    }
}

/// A pidfd: a file descriptor that turns readable when its process exits.
#[derive(Debug)]
struct PidFd(OwnedFd);

impl PidFd {
    fn open(pid: u32) -> Option<PidFd> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; it
            // touches no memory of ours.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
            if fd < 0 {
                return None;
            }
            // SAFETY: `fd` is a fresh descriptor the syscall just returned; we own it.
            Some(PidFd(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            None
        }
    }
}

impl Source for PidFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

macro_rules! child_pipe {
    ($(#[$doc:meta])* $name:ident, $std:ty, $mio:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            io: PollEvented<$mio>,
        }

        impl $name {
            fn new(cx: &Cx, pipe: $std) -> io::Result<$name> {
                let pipe = <$mio>::from(pipe);
                pipe.set_nonblocking(true)?;
                Ok($name {
                    io: PollEvented::new(cx, pipe)?,
                })
            }
        }
    };
}

child_pipe!(
    /// The write end of a child's stdin; closing it (`shutdown`, or dropping) gives the
    /// child end of file.
    ChildStdin,
    std::process::ChildStdin,
    mio::unix::pipe::Sender
);
child_pipe!(
    /// The read end of a child's stdout.
    ChildStdout,
    std::process::ChildStdout,
    mio::unix::pipe::Receiver
);
child_pipe!(
    /// The read end of a child's stderr.
    ChildStderr,
    std::process::ChildStderr,
    mio::unix::pipe::Receiver
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(task, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe cannot be half-closed in place; the child sees end of file when this
        // end is dropped (which `Child::wait` does).
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(task, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(task, buf)
    }
}
