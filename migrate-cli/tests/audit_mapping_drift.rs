//! Drift test: every `native` path that `data/mapping.toml` names must resolve in the
//! real `asupersync` crate, so the mapping and the runtime cannot drift apart.
//!
//! It generates a crate with one item per native path (a `use .. as _;` for modules,
//! functions, types, traits and macros; a `let _ = Type::method;` for associated
//! items), depending on `../runtime` by path, and runs `cargo check --offline` on it.
//! Only name-resolution errors count: a generic function named without its type
//! arguments fails inference, not resolution, and that is fine here. A failure lists
//! every missing path with the Tokio entry that names it.
//!
//! `migrate` relies on it: it treats an entry's native path as existing (see
//! `migrate::shape::native_exists`), so a wrong path here would be a rewrite that
//! cannot build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use cargo_asupersync::mapping::mapping;

/// rustc error codes that mean a name did not resolve.
const RESOLUTION_ERRORS: [&str; 9] = [
    "E0405", // cannot find trait
    "E0412", // cannot find type
    "E0425", // cannot find value
    "E0432", // unresolved import
    "E0433", // failed to resolve
    "E0599", // no associated item
    "E0603", // private item
    "E0624", // private method
    "E0616", // private field
];

/// rustc error codes that come after a name resolved: a generic function or an
/// associated item of a generic type named without its type arguments.
const INFERENCE_ERRORS: [&str; 2] = ["E0282", "E0283"];

/// Whether a native path names an associated item (`asupersync::Cx::spawn`), which
/// `use` cannot import.
fn is_associated(path: &str) -> bool {
    let mut segments = path.rsplit("::");
    segments.next();
    segments
        .next()
        .and_then(|parent| parent.chars().next())
        .is_some_and(char::is_uppercase)
}

/// The generated `lib.rs`: line `i + FIRST_LINE` checks `paths[i]`.
fn generated_source(paths: &[&str]) -> String {
    let mut source =
        String::from("#![allow(unused_imports, unused_must_use, clippy::all, path_statements)]\n");
    for (index, path) in paths.iter().enumerate() {
        if is_associated(path) {
            source.push_str(&format!("pub fn check_{index}() {{ let _ = {path}; }}\n"));
        } else {
            source.push_str(&format!("pub use {path} as _;\n"));
        }
    }
    source
}
const FIRST_LINE: usize = 2;

#[test]
fn associated_items_are_told_from_importable_paths() {
    assert!(is_associated("asupersync::Cx::spawn"));
    assert!(is_associated("asupersync::channel::mpsc::Sender::send"));
    assert!(!is_associated("asupersync::time::sleep"));
    assert!(!is_associated("asupersync::TaskHandle"));
    assert!(!is_associated("std::pin::pin"));
}

#[test]
fn every_native_path_in_the_mapping_resolves_in_asupersync() {
    let mut named_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for entry in mapping().apis() {
        if let Some(native) = &entry.native {
            named_by.entry(native).or_default().push(&entry.tokio);
        }
    }
    let paths: Vec<&str> = named_by.keys().copied().collect();

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"mapping-drift\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[workspace]\n\n[dependencies]\n\
             asupersync = {{ path = {runtime:?} }}\n\
             futures-util = {{ version = \"0.3\", default-features = false, features = [\"std\"] }}\n",
            runtime = repo.join("runtime").display().to_string()
        ),
    )
    .unwrap();
    // The repository's lockfile, so that resolution works offline with known versions.
    std::fs::copy(repo.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), generated_source(&paths)).unwrap();

    let output = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet", "--message-format=json"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", repo.join("target/mapping-drift"))
        .output()
        .unwrap();
    let mut missing = BTreeSet::new();
    let mut other_errors = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let diagnostic = &message["message"];
        if message["reason"] != "compiler-message" || diagnostic["level"] != "error" {
            continue;
        }
        let code = diagnostic["code"]["code"].as_str().unwrap_or("");
        if INFERENCE_ERRORS.contains(&code) {
            continue;
        }
        if !RESOLUTION_ERRORS.contains(&code) {
            other_errors.push(diagnostic["rendered"].as_str().unwrap_or("").to_string());
            continue;
        }
        for span in diagnostic["spans"].as_array().into_iter().flatten() {
            let line = span["line_start"].as_u64().unwrap_or(0) as usize;
            if let Some(path) = line.checked_sub(FIRST_LINE).and_then(|i| paths.get(i)) {
                missing.insert(*path);
            }
        }
    }
    let compiler_errors = String::from_utf8_lossy(&output.stdout).contains("\"level\":\"error\"");
    if missing.is_empty()
        && (!other_errors.is_empty() || !output.status.success() && !compiler_errors)
    {
        panic!(
            "cargo check of the generated crate failed for another reason:\n{}\n{}",
            other_errors.join("\n"),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: Vec<String> = missing
        .iter()
        .map(|path| format!("  {path}  (for {})", named_by[path].join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} native paths named by migrate-cli/data/mapping.toml do not resolve in \
         asupersync:\n{}",
        missing.len(),
        paths.len(),
        report.join("\n")
    );
}
