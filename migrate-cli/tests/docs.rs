//! The generated documentation stays in step with the data it is generated from.
//! Regenerate with `BLESS=1 cargo test -p cargo-asupersync --test docs`.

use std::path::PathBuf;

fn check_generated(relative: &str, generated: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let diff = similar::TextDiff::from_lines(&committed, generated)
            .unified_diff()
            .header(relative, "generated")
            .to_string();
        panic!(
            "{relative} is out of date with the data it is generated from.\n\
             Run `BLESS=1 cargo test -p cargo-asupersync --test docs` and commit the result.\n{diff}"
        );
    }
}

#[test]
fn mapping_doc_is_current() {
    let generated = cargo_asupersync::mapping::mapping().render_markdown();
    check_generated("docs/mapping.md", &generated);
}

#[test]
fn lint_reference_is_current() {
    check_generated(
        "docs/lints.md",
        &asupersync_lints::rules::reference_markdown(),
    );
}
