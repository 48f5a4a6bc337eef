//! The process's standard streams, on the blocking pool.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::cx::Cx;
use crate::fs::File;

/// Terminals and pipes offer no portable non-blocking mode that leaves other users of
/// the descriptor alone, so the standard streams are duplicated descriptors driven by
/// the blocking pool, exactly like a [`File`] (writes are handed to the pool; `flush`
/// waits for them).
fn duplicate(cx: &Cx, fd: std::os::fd::BorrowedFd<'_>) -> io::Result<File> {
    let owned: OwnedFd = fd.try_clone_to_owned()?;
    Ok(File::from_std(cx, std::fs::File::from(owned)))
}

macro_rules! std_stream {
    ($(#[$doc:meta])* $name:ident, $ctor:ident, $std:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(File);

        #[doc = concat!("A handle to the process's ", stringify!($ctor), ".")]
        pub fn $ctor(cx: &Cx) -> io::Result<$name> {
            Ok($name(duplicate(cx, $std.as_fd())?))
        }
    };
}

std_stream!(
    /// The process's standard input. A read waits on a blocking-pool thread; like
    /// Tokio's, a read pending when the runtime is dropped keeps the drop waiting until
    /// input arrives or stdin closes.
    Stdin,
    stdin,
    std::io::stdin()
);
std_stream!(
    /// The process's standard output; `flush(&cx)` waits for written bytes to reach it.
    Stdout,
    stdout,
    std::io::stdout()
);
std_stream!(
    /// The process's standard error; `flush(&cx)` waits for written bytes to reach it.
    Stderr,
    stderr,
    std::io::stderr()
);

impl AsyncRead for Stdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(task, buf)
    }
}

macro_rules! write_stream {
    ($name:ident) => {
        impl AsyncWrite for $name {
            fn poll_write(
                mut self: Pin<&mut Self>,
                task: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.0).poll_write(task, buf)
            }

            fn poll_flush(
                mut self: Pin<&mut Self>,
                task: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.0).poll_flush(task)
            }

            fn poll_close(
                mut self: Pin<&mut Self>,
                task: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.0).poll_close(task)
            }
        }
    };
}

write_stream!(Stdout);
write_stream!(Stderr);
