//! The file system, on the blocking pool.
//!
//! Operating systems offer no portable non-blocking file IO, so every operation here
//! runs the `std::fs` call on the runtime's blocking pool (as Tokio's `fs` does) and
//! the task waits without holding a worker. The functions keep Tokio's names with
//! `&cx` first: `fs::read(&cx, path).await`, `fs::write(&cx, path, data).await`.
//!
//! Cancellation: a call checks `cx` before it starts and returns an `Interrupted`
//! error built from [`Cancelled`](crate::Cancelled) if the task is being cancelled.
//! Once started, a file system call cannot be interrupted; the calling task waits for
//! it (it is short) and gets its real result, so the caller never has to guess whether
//! a cancelled `write` or `rename` happened. Because the calling task waits, the call
//! is owned by the caller's region like the task itself, and it needs no task of its
//! own (so file system calls also work in a region's finalizers).

mod file;

pub use file::{File, OpenOptions};

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::cx::Cx;
use crate::task::blocking::BlockingJob;

/// Runs a blocking call on the pool; the calling task waits for it (see the module
/// docs).
pub(crate) async fn asyncify<T, F>(cx: &Cx, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    cx.checkpoint()?;
    let job = BlockingJob::submit(cx.runtime(), move |_| f());
    std::future::poll_fn(|task| job.poll_result(task))
        .await
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// One-line wrappers: `name(&cx, path..) -> io::Result<T>` running `std::fs::name`.
macro_rules! blocking_fs {
    ($(#[$doc:meta] $name:ident($($arg:ident),*) -> $ret:ty;)*) => {$(
        #[$doc]
        pub async fn $name(cx: &Cx, $($arg: impl AsRef<Path>),*) -> io::Result<$ret> {
            $(let $arg: PathBuf = $arg.as_ref().to_owned();)*
            asyncify(cx, move || std::fs::$name($(&$arg),*)).await
        }
    )*};
}

blocking_fs! {
    /// Reads a whole file.
    read(path) -> Vec<u8>;
    /// Reads a whole file as UTF-8.
    read_to_string(path) -> String;
    /// Creates a directory (the parent must exist).
    create_dir(path) -> ();
    /// Creates a directory and every missing parent.
    create_dir_all(path) -> ();
    /// Metadata of a path, following symlinks.
    metadata(path) -> std::fs::Metadata;
    /// Metadata of a path, not following symlinks.
    symlink_metadata(path) -> std::fs::Metadata;
    /// Removes a file.
    remove_file(path) -> ();
    /// Removes an empty directory.
    remove_dir(path) -> ();
    /// Removes a directory and everything in it.
    remove_dir_all(path) -> ();
    /// The canonical, absolute form of a path.
    canonicalize(path) -> PathBuf;
    /// The target of a symlink.
    read_link(path) -> PathBuf;
    /// Renames a file or directory, replacing `to` if it exists.
    rename(from, to) -> ();
    /// Copies a file's contents and permissions; returns the bytes copied.
    copy(from, to) -> u64;
    /// Creates a hard link `link` to `original`.
    hard_link(original, link) -> ();
}

/// Writes `contents` to a file, creating or truncating it.
pub async fn write(cx: &Cx, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(cx, move || std::fs::write(path, contents)).await
}

/// Whether `path` exists (`Err` if that cannot be determined).
pub async fn try_exists(cx: &Cx, path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(cx, move || path.try_exists()).await
}

/// Sets a path's permissions.
pub async fn set_permissions(
    cx: &Cx,
    path: impl AsRef<Path>,
    permissions: std::fs::Permissions,
) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(cx, move || std::fs::set_permissions(path, permissions)).await
}

/// Creates a symbolic link `link` pointing to `original`.
pub async fn symlink(
    cx: &Cx,
    original: impl AsRef<Path>,
    link: impl AsRef<Path>,
) -> io::Result<()> {
    let original = original.as_ref().to_owned();
    let link = link.as_ref().to_owned();
    asyncify(cx, move || std::os::unix::fs::symlink(original, link)).await
}

/// The entries of a directory, read on the pool in one go and handed out by
/// [`ReadDir::next_entry`].
pub async fn read_dir(cx: &Cx, path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let entries = asyncify(cx, move || {
        std::fs::read_dir(path)?
            .map(|entry| {
                entry.map(|e| DirEntry {
                    path: e.path(),
                    name: e.file_name(),
                })
            })
            .collect::<io::Result<std::collections::VecDeque<_>>>()
    })
    .await?;
    Ok(ReadDir { entries })
}

/// The entries of a directory, from [`read_dir`].
#[derive(Debug)]
pub struct ReadDir {
    entries: std::collections::VecDeque<DirEntry>,
}

impl ReadDir {
    /// The next entry, or `None` when all have been returned. Cancel-aware.
    pub async fn next_entry(&mut self, cx: &Cx) -> io::Result<Option<DirEntry>> {
        cx.checkpoint()?;
        Ok(self.entries.pop_front())
    }
}

/// An entry of a directory.
#[derive(Debug, Clone)]
pub struct DirEntry {
    path: PathBuf,
    name: OsString,
}

impl DirEntry {
    /// The entry's full path.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.name.clone()
    }

    /// The entry's metadata (not following a symlink).
    pub async fn metadata(&self, cx: &Cx) -> io::Result<std::fs::Metadata> {
        symlink_metadata(cx, &self.path).await
    }

    /// The entry's file type (not following a symlink).
    pub async fn file_type(&self, cx: &Cx) -> io::Result<std::fs::FileType> {
        Ok(self.metadata(cx).await?.file_type())
    }
}
