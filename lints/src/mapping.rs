//! A small built-in table of Tokio paths and their native replacements, used for
//! help texts and `--emit-clippy-config`.
//!
//! MAPPING-DATA: DESIGN.md §4 makes `migrate-cli/data/mapping.toml` the single source
//! of truth for the Tokio → asupersync mapping. When that file lands on this branch,
//! replace [`ENTRIES`] by the mapping data (keep [`native_replacement`] and
//! [`entries`] as the interface) so that lint, audit, migrate and explain agree.

/// What kind of item a Tokio path names (clippy's `disallowed-*` tables differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Fn,
    Type,
    Macro,
    Attribute,
    Module,
}

/// A Tokio path and its native replacement (DESIGN.md §2's shape rule: same module
/// and name, `&cx` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub tokio: &'static str,
    pub kind: ItemKind,
    pub native: &'static str,
}

const fn entry(tokio: &'static str, kind: ItemKind, native: &'static str) -> Entry {
    Entry {
        tokio,
        kind,
        native,
    }
}

use ItemKind::{Attribute, Fn, Macro, Module, Type};

/// The built-in table (see the module docs for where it should come from).
pub const ENTRIES: &[Entry] = &[
    entry("tokio::spawn", Fn, "cx.spawn(|cx| async move { .. })"),
    entry("tokio::task::spawn", Fn, "cx.spawn(|cx| async move { .. })"),
    entry(
        "tokio::task::spawn_local",
        Fn,
        "cx.spawn(|cx| async move { .. })",
    ),
    entry(
        "tokio::task::spawn_blocking",
        Fn,
        "asupersync::task::spawn_blocking(&cx, f)",
    ),
    entry(
        "tokio::task::yield_now",
        Fn,
        "asupersync::task::yield_now(&cx)",
    ),
    entry("tokio::time::sleep", Fn, "asupersync::time::sleep(&cx, d)"),
    entry(
        "tokio::time::sleep_until",
        Fn,
        "asupersync::time::sleep_until(&cx, t)",
    ),
    entry(
        "tokio::time::timeout",
        Fn,
        "asupersync::time::timeout(&cx, d, fut)",
    ),
    entry(
        "tokio::time::interval",
        Fn,
        "asupersync::time::interval(&cx, d)",
    ),
    entry("tokio::time::Instant", Type, "asupersync::time::Instant"),
    entry("tokio::sync::mpsc", Module, "asupersync::channel::mpsc"),
    entry(
        "tokio::sync::oneshot",
        Module,
        "asupersync::channel::oneshot",
    ),
    entry(
        "tokio::sync::broadcast",
        Module,
        "asupersync::channel::broadcast",
    ),
    entry("tokio::sync::watch", Module, "asupersync::channel::watch"),
    entry(
        "tokio::sync::mpsc::channel",
        Fn,
        "asupersync::channel::mpsc::channel",
    ),
    entry(
        "tokio::sync::mpsc::unbounded_channel",
        Fn,
        "asupersync::channel::mpsc::unbounded_channel",
    ),
    entry(
        "tokio::sync::oneshot::channel",
        Fn,
        "asupersync::channel::oneshot::channel",
    ),
    entry(
        "tokio::sync::broadcast::channel",
        Fn,
        "asupersync::channel::broadcast::channel",
    ),
    entry(
        "tokio::sync::watch::channel",
        Fn,
        "asupersync::channel::watch::channel",
    ),
    entry("tokio::sync::Mutex", Type, "asupersync::sync::Mutex"),
    entry("tokio::sync::RwLock", Type, "asupersync::sync::RwLock"),
    entry(
        "tokio::sync::Semaphore",
        Type,
        "asupersync::sync::Semaphore",
    ),
    entry("tokio::sync::Notify", Type, "asupersync::sync::Notify"),
    entry("tokio::sync::Barrier", Type, "asupersync::sync::Barrier"),
    entry("tokio::sync::OnceCell", Type, "asupersync::sync::OnceCell"),
    entry(
        "tokio::net::TcpListener",
        Type,
        "asupersync::net::TcpListener",
    ),
    entry("tokio::net::TcpStream", Type, "asupersync::net::TcpStream"),
    entry("tokio::net::UdpSocket", Type, "asupersync::net::UdpSocket"),
    entry(
        "tokio::net::UnixListener",
        Type,
        "asupersync::net::UnixListener",
    ),
    entry(
        "tokio::net::UnixStream",
        Type,
        "asupersync::net::UnixStream",
    ),
    entry("tokio::io", Module, "asupersync::io"),
    entry("tokio::fs", Module, "asupersync::fs"),
    entry(
        "tokio::signal::ctrl_c",
        Fn,
        "asupersync::signal::ctrl_c(&cx)",
    ),
    entry(
        "tokio::runtime::Runtime",
        Type,
        "asupersync::RuntimeBuilder",
    ),
    entry("tokio::main", Attribute, "#[asupersync::main]"),
    entry("tokio::test", Attribute, "#[asupersync::test]"),
    entry("tokio::select", Macro, "asupersync::select!"),
    entry("tokio::join", Macro, "asupersync::join!"),
    entry(
        "tokio_util::sync::CancellationToken",
        Type,
        "cancellation through `&Cx` (cx.is_cancel_requested(), cx.checkpoint())",
    ),
];

/// Every entry of the mapping.
pub fn entries() -> &'static [Entry] {
    ENTRIES
}

/// The native replacement of a canonical Tokio path: an exact entry, or a module
/// entry that is a prefix of it (`tokio::fs::read` → `asupersync::fs::read`).
pub fn native_replacement(path: &str) -> Option<String> {
    if let Some(e) = ENTRIES.iter().find(|e| e.tokio == path) {
        return Some(e.native.to_string());
    }
    ENTRIES
        .iter()
        .filter(|e| e.kind == Module)
        .filter_map(|e| {
            let rest = path.strip_prefix(e.tokio)?.strip_prefix("::")?;
            Some((e.tokio.len(), format!("{}::{rest}", e.native)))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, native)| native)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_entries_win_over_module_prefixes() {
        assert_eq!(
            native_replacement("tokio::sync::mpsc::channel").as_deref(),
            Some("asupersync::channel::mpsc::channel")
        );
        assert_eq!(
            native_replacement("tokio::sync::mpsc::Sender").as_deref(),
            Some("asupersync::channel::mpsc::Sender")
        );
        assert_eq!(native_replacement("tokio::fsx::read"), None);
        assert_eq!(native_replacement("hyper::Body"), None);
    }
}
