//! Which mapping entries this version can rewrite by changing a path, and why the
//! others are left to a person.
//!
//! The mapping's `auto` flag says a tool *can* rewrite an API without a person deciding
//! anything; it does not say the rewrite is a path change. `sleep(d)` becomes
//! `sleep(&cx, d)` (Cx threading, tier 4), `tokio::spawn` becomes `cx.spawn(..)`
//! (tier 5), and a native path that the `asupersync` crate does not have yet cannot be
//! written at all. A rewrite that might not compile is not made (correct beats complete),
//! so each usage gets a [`Shape`]:
//!
//! - [`Shape::Identical`]: the Tokio item *is* the native one (`tokio::time::Duration`
//!   is a re-export of `std::time::Duration`): the rename is safe whatever else stays.
//! - [`Shape::SameShape`]: a different item used the same way (`tokio::time::Instant` →
//!   `asupersync::time::Instant`): safe once the package no longer needs Tokio, because
//!   a native value cannot be passed to a Tokio API that stays.
//! - [`Shape::EntryPoint`]: `#[tokio::main]`/`#[tokio::test]` (tier 2), safe under the
//!   same condition: code still calling Tokio needs a Tokio runtime around it.
//! - [`Shape::Compat`] / [`Shape::Manual`]: left as written, with the reason.
//!
//! The reasons quote the mapping's note, so a person reads what must change.

use crate::mapping::{mapping, ApiKind, Class};

/// How one usage can be rewritten (before the package-level check of `plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Identical(String),
    SameShape(String),
    EntryPoint(String),
    /// A call that gets the entry point's `cx` (tier 4, see `cx`).
    CxCall(String),
    Compat(String),
    Manual(String),
}

impl Shape {
    /// The native path a rewrite writes, if this shape is a rewrite.
    pub fn native(&self) -> Option<&str> {
        match self {
            Shape::Identical(native)
            | Shape::SameShape(native)
            | Shape::EntryPoint(native)
            | Shape::CxCall(native) => Some(native),
            Shape::Compat(_) | Shape::Manual(_) => None,
        }
    }

    /// Whether the rewrite is safe only once the package is off Tokio.
    pub fn needs_tokio_free_package(&self) -> bool {
        matches!(
            self,
            Shape::SameShape(_) | Shape::EntryPoint(_) | Shape::CxCall(_)
        )
    }
}

/// The native items that exist in the `asupersync` crate today, and whether each is a
/// module (only the module itself, not paths below it) or an item (paths below it are
/// its associated items). The channel, sync, net, io, fs, process and signal modules
/// are not in the crate yet; `tests/audit_mapping_drift.rs` compiles every native path
/// of the mapping once they are, and this list grows with them.
const NATIVE_TODAY: &[(&str, bool)] = &[
    ("asupersync::main", false),
    ("asupersync::test", false),
    ("asupersync::time", true),
    ("asupersync::time::Instant", false),
    ("asupersync::time::sleep", false),
    ("asupersync::time::sleep_until", false),
    ("asupersync::time::timeout", false),
    ("asupersync::time::timeout_at", false),
    ("asupersync::time::Sleep", false),
    ("asupersync::time::Timeout", false),
    ("asupersync::time::Elapsed", false),
    ("asupersync::task::yield_now", false),
    ("asupersync::Region", false),
    ("asupersync::Cx", false),
    ("asupersync::TaskHandle", false),
];

/// Whether `native` names something that exists today (`std` always does).
pub fn native_exists(native: &str) -> bool {
    if native.starts_with("std::") || native.starts_with("core::") {
        return true;
    }
    NATIVE_TODAY.iter().any(|&(item, is_module)| {
        native == item
            || (!is_module
                && native
                    .strip_prefix(item)
                    .is_some_and(|tail| tail.starts_with("::")))
    })
}

/// The shape of a usage of the canonical path `api` (not an import: see
/// [`import_shape`]).
pub fn shape(api: &str) -> Shape {
    let Some(classification) = mapping().classify(api) else {
        return Shape::Manual("not in the mapping".to_string());
    };
    let note = classification
        .entry
        .map(|entry| entry.note.as_str())
        .or(classification.krate.map(|krate| krate.note.as_str()))
        .unwrap_or("no note");
    match classification.class {
        Class::CompatHoldout | Class::HardBlocker => {
            return Shape::Compat(format!("stays Tokio-bound: {note}"))
        }
        Class::Manual => return Shape::Manual(note.to_string()),
        Class::Native | Class::NativeReplacement => {}
    }
    let (Some(entry), Some(native)) = (classification.entry, classification.native) else {
        return Shape::Manual(note.to_string());
    };
    if !classification.auto {
        return Shape::Manual(note.to_string());
    }
    if entry.kind == ApiKind::Attribute {
        return Shape::EntryPoint(native);
    }
    if entry.kind == ApiKind::Macro {
        return Shape::Manual(format!(
            "a macro whose call changes shape (select!/join! are tier 5, not done yet): {note}"
        ));
    }
    if native.contains("::Cx::") || native.contains("TaskHandle") || entry.kind == ApiKind::Method {
        return Shape::Manual(format!(
            "spawning and join handles move with tier 5 (not done yet): {note}"
        ));
    }
    if note.contains("&cx") {
        return Shape::Manual(format!(
            "needs `&cx` at the call site, which is Cx threading (tier 4, not done yet): {note}"
        ));
    }
    if !native_exists(&native) {
        return Shape::Manual(format!(
            "`{native}` is not in asupersync yet (its module is still being built): {note}"
        ));
    }
    if note.contains("re-export") {
        Shape::Identical(native)
    } else {
        Shape::SameShape(native)
    }
}

/// The shape of an import of `api`: as [`shape`], except that a module import stays
/// (the paths written through it would all have to move together, which this version
/// does not prove) and a glob import stays (its names cannot be listed without the
/// crate's source).
pub fn import_shape(api: &str) -> Shape {
    if api.ends_with("::*") {
        return Shape::Manual(
            "a glob import: the names it brings in cannot be listed without Tokio's source; \
             import them by name"
                .to_string(),
        );
    }
    let shape = shape(api);
    let is_module = mapping()
        .lookup(api)
        .is_some_and(|(entry, tail)| tail.is_empty() && entry.kind == ApiKind::Module);
    if is_module && shape.native().is_some() {
        return Shape::Manual(
            "a module import: every path written through it must move together; \
             import the items by name"
                .to_string(),
        );
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_exports_are_identical_and_same_shape_types_wait_for_the_package() {
        assert_eq!(
            shape("tokio::time::Duration"),
            Shape::Identical("std::time::Duration".to_string())
        );
        assert_eq!(
            shape("tokio::time::Instant::now"),
            Shape::SameShape("asupersync::time::Instant::now".to_string())
        );
        assert_eq!(
            shape("tokio::main"),
            Shape::EntryPoint("asupersync::main".to_string())
        );
    }

    #[test]
    fn what_needs_a_cx_spawn_or_a_missing_module_stays_manual() {
        for (api, why) in [
            ("tokio::time::sleep", "tier 4"),
            ("tokio::spawn", "tier 5"),
            ("tokio::select", "tier 5"),
            ("tokio::io::split", "not in asupersync yet"),
            ("tokio::sync::mpsc::channel", "not in asupersync yet"),
            ("tokio::runtime::Runtime", "the root future receives the Cx"),
        ] {
            match shape(api) {
                Shape::Manual(reason) => assert!(reason.contains(why), "{api}: {reason}"),
                other => panic!("{api}: {other:?}"),
            }
        }
        assert!(matches!(shape("hyper::Request"), Shape::Compat(_)));
    }

    #[test]
    fn module_and_glob_imports_stay() {
        assert!(matches!(import_shape("tokio::time::*"), Shape::Manual(_)));
        assert!(matches!(import_shape("tokio"), Shape::Manual(_)));
        assert!(matches!(
            import_shape("tokio::time::Duration"),
            Shape::Identical(_)
        ));
    }

    #[test]
    fn only_existing_native_paths_are_written() {
        assert!(native_exists("asupersync::time::Instant::now"));
        assert!(native_exists("std::io::Error"));
        assert!(!native_exists("asupersync::time::interval"));
        assert!(!native_exists("asupersync::sync::Mutex"));
    }
}
