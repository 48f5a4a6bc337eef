//! Which mapping entries this version can rewrite by changing a path, and why the
//! others are left to a person.
//!
//! The mapping's `auto` flag says a tool *can* rewrite an API without a person deciding
//! anything; it does not say the rewrite is a path change. `sleep(d)` becomes
//! `sleep(&cx, d)` (Cx threading, tier 4), `tokio::spawn` becomes `cx.spawn(..)`
//! (tier 5), and an API with no native counterpart has no `native` path to write at
//! all (the drift test keeps every `native` path of the mapping real). A rewrite that might not compile is not made (correct beats complete),
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
    /// A call that gets a `cx` threaded from an entry point (tier 4, see `cx`).
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

/// Whether the native path a usage of `api` would be rewritten to exists.
///
/// Every `native` path the mapping names is compiled against the real `asupersync`
/// crate by `tests/audit_mapping_drift.rs`, so an entry's own native path exists (and a
/// path with no native equivalent has no `native` at all). What the drift test cannot
/// vouch for is a tail appended below a *module* entry (`tokio::sync::mpsc::error::X`
/// answered by `tokio::sync::mpsc::error`): the native module may lack that item, so it
/// does not count. A tail below a type (`Instant::now`) is an associated item of a
/// type the native side keeps the shape of, and does.
pub fn native_exists(api: &str) -> bool {
    mapping().lookup(api).is_some_and(|(entry, tail)| {
        entry.native.is_some() && (tail.is_empty() || entry.kind != ApiKind::Module)
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
    if entry.kind == ApiKind::Macro && api == "tokio::select" {
        return Shape::Manual(format!(
            "select! is rewritten only in a function that has a cx (an entry point or a \
             function tier 4 threads one into), in the form the native macro parses, with `_ = ` a Tokio sleep, sleep_until or yield_now in every \
             branch (another loser may ignore the cancel and hold the select for the whole \
             drain budget): {note}"
        ));
    }
    if entry.kind == ApiKind::Macro && api == "tokio::join" {
        return Shape::Manual(format!(
            "join! is rewritten only where its body is comma-separated futures (no \
             `biased;`) and it is not inside another macro: {note}"
        ));
    }
    if entry.kind == ApiKind::Macro {
        return Shape::Manual(format!(
            "a macro whose call changes shape (tier 5, not done yet): {note}"
        ));
    }
    if super::cx::CX_SPAWNS.contains(&api) {
        return Shape::Manual(format!(
            "a spawn is rewritten only when written out (`tokio::spawn(..)`, not through \
             an import), in a function that has a cx, with its handle only awaited in a \
             form mapped back (`.await.unwrap()`, `.expect(..)`, `.ok()`, `.is_ok()`, \
             `.is_err()`, `let _ = ..`, a statement): a detached task would outlive its \
             spawner in Tokio, but natively its region waits for it: {note}"
        ));
    }
    if native.contains("::Cx::") || native.contains("TaskHandle") || entry.kind == ApiKind::Method {
        return Shape::Manual(format!(
            "join handles, join sets and spawning methods are left to a person (tier 5 \
             rewrites only `spawn` and `spawn_blocking` calls): {note}"
        ));
    }
    if super::cx::CX_SAME_RESULT.contains(&api) {
        return Shape::Manual(format!(
            "tier 4 passes a cx only to an awaited call `f(args).await` in a function that \
             can have one: an entry point, or a private free `async fn` (or inherent method; \
             `pub` too in a package nothing outside calls) of the package called only \
             (awaited) from such functions: {note}"
        ));
    }
    if note.contains("&cx") && super::cx::CX_FUNCTIONS.contains(&api) {
        return Shape::Manual(format!(
            "tier 4 threads a cx only into a statement `call(..).await;` of a function \
             returning `()` or a `Result` that can have one: an entry point, or a private free `async fn` \
             (or inherent method; `pub` too in a package nothing outside calls) of the \
             package called only (awaited) from such functions: {note}"
        ));
    }
    if super::cx::GUARD_TYPES.contains(&api) {
        return Shape::Manual(format!(
            "tier 4 moves it (through a `use` of it by name) only with its guard calls: \
             every `.lock().await`, `.read().await`, `.write().await` on a field or local \
             declared with it must be in a function returning a `Result` that can have a \
             cx, and becomes `.lock(cx).await?`: {note}"
        ));
    }
    if note.contains("&cx") {
        return Shape::Manual(format!(
            "needs `&cx` at the call site; tier 4 passes one only to sleeps, yields, \
             timeouts, `ctrl_c`, `tokio::fs` functions and `Mutex`/`RwLock` guard calls so \
             far: {note}"
        ));
    }
    if !native_exists(api) {
        return Shape::Manual(format!(
            "`{api}` is not in the mapping and its module's native counterpart may not have it: {note}"
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
            ("tokio::spawn", "its region waits for it"),
            ("tokio::task::JoinHandle", "left to a person"),
            ("tokio::select", "only in a function that has a cx"),
            ("tokio::join", "no `biased;`"),
            ("tokio::sync::mpsc::channel", "&cx"),
            ("tokio::io::AsyncReadExt", "&cx"),
            ("tokio_util::codec::Framed", "no native codec module"),
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
        // Entries (drift-tested) and associated items of a mapped type exist...
        assert!(native_exists("tokio::sync::Mutex"));
        assert!(native_exists("tokio::time::Instant::now"));
        assert!(native_exists("tokio::io::Error"));
        // ...an item the mapping does not list below a mapped module may not.
        assert!(!native_exists("tokio::sync::mpsc::error::SomethingNew"));
        assert!(!native_exists("tokio_util::codec::Framed"));
        assert_eq!(
            shape("tokio::io::split"),
            Shape::SameShape("asupersync::io::split".to_string())
        );
        assert!(matches!(shape("tokio::fs::FutureApi"), Shape::Manual(_)));
    }
}
