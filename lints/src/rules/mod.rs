//! The lint catalogue (DESIGN.md §5): one module per rule, each with its id, default
//! level, and clippy-style documentation that `cargo asupersync explain` prints.

use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub mod ambient_cx;
pub mod await_holding_lock;
pub mod blocking_in_async;
pub mod common;
pub mod cx_first;
pub mod detached_spawn;
pub mod ignored_outcome;
pub mod invalid_suppression;
pub mod loop_without_checkpoint;
pub mod parse_error;
pub mod tokio_outside_quarantine;

/// A rule of the catalogue.
#[derive(Clone, Copy)]
pub struct Rule {
    /// The stable kebab-case id.
    pub id: &'static str,
    pub default_level: Level,
    /// One line: what the rule flags.
    pub summary: &'static str,
    /// The full documentation (Markdown, clippy's sections).
    pub docs: &'static str,
    /// Runs the rule over one file.
    pub check: fn(&FileContext<'_>) -> Vec<Diagnostic>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("default_level", &self.default_level)
            .finish_non_exhaustive()
    }
}

/// The rules that inspect syntax, in catalogue order.
pub const RULES: &[Rule] = &[
    cx_first::RULE,
    tokio_outside_quarantine::RULE,
    detached_spawn::RULE,
    loop_without_checkpoint::RULE,
    await_holding_lock::RULE,
    ignored_outcome::RULE,
    blocking_in_async::RULE,
    ambient_cx::RULE,
];

/// The findings the engine itself reports (no syntax check of their own).
pub const ENGINE_RULES: &[Rule] = &[invalid_suppression::RULE, parse_error::RULE];

/// Every rule, syntax rules first.
pub fn catalogue() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().chain(ENGINE_RULES)
}

/// Every rule id.
pub fn ids() -> impl Iterator<Item = &'static str> {
    catalogue().map(|r| r.id)
}

/// Looks a rule up by id (`cx-first`; `cx_first` is accepted too).
pub fn find(id: &str) -> Option<&'static Rule> {
    let id = id.trim().replace('_', "-");
    catalogue().find(|r| r.id == id)
}

pub fn is_known(id: &str) -> bool {
    catalogue().any(|r| r.id == id)
}

/// The default level of a rule (`allow` for unknown ids, which config rejects).
pub fn default_level(id: &str) -> Level {
    catalogue()
        .find(|r| r.id == id)
        .map(|r| r.default_level)
        .unwrap_or(Level::Allow)
}

/// A rule that only the engine reports.
fn no_syntax_check(_: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}

/// The lint reference, `docs/lints.md`: every rule's summary, default level and
/// documentation, generated from the rules themselves (a test keeps the file current).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Lint reference\n\n\
         Generated from the rules in `lints/src/rules/`; do not edit by hand (run \
         `BLESS=1 cargo test -p cargo-asupersync --test docs`). `cargo asupersync explain RULE` \
         prints the same text.\n\n\
         Levels are set per rule under `[workspace.metadata.asupersync.lints]` (or \
         `[package.metadata.asupersync.lints]`, or `asupersync.toml`): `allow`, `warn` or \
         `deny`. A finding is allowed on its line or the line above with \
         `// asupersync: allow(rule-id) -- reason`; the reason is required.\n\n\
         | rule | default | flags |\n|---|---|---|\n",
    );
    for rule in catalogue() {
        out.push_str(&format!(
            "| [`{id}`](#{id}) | {level} | {summary} |\n",
            id = rule.id,
            level = rule.default_level,
            summary = rule.summary.replace('|', "\\|"),
        ));
    }
    for rule in catalogue() {
        out.push_str(&format!(
            "\n## {}\n\nDefault level: **{}**. Flags {}.\n\n",
            rule.id, rule.default_level, rule.summary
        ));
        // The rules' own headings are `###`: they sit under the rule's `##` here too.
        out.push_str(rule.docs.trim());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_matches_design_ids_and_levels() {
        let listed: Vec<(&str, Level)> = catalogue().map(|r| (r.id, r.default_level)).collect();
        assert_eq!(
            listed,
            [
                ("cx-first", Level::Deny),
                ("tokio-outside-quarantine", Level::Deny),
                ("detached-spawn", Level::Deny),
                ("loop-without-checkpoint", Level::Warn),
                ("await-holding-lock", Level::Deny),
                ("ignored-outcome", Level::Warn),
                ("blocking-in-async", Level::Warn),
                ("ambient-cx", Level::Deny),
                ("invalid-suppression", Level::Deny),
                ("parse-error", Level::Deny),
            ]
        );
    }

    #[test]
    fn every_rule_documents_clippy_sections() {
        for rule in catalogue() {
            for section in [
                "### What it does",
                "### Why is this bad",
                "### Example",
                "### How to fix",
            ] {
                assert!(rule.docs.contains(section), "{} lacks {section}", rule.id);
            }
            assert!(!rule.summary.is_empty());
        }
    }

    #[test]
    fn find_accepts_snake_case() {
        assert_eq!(find("cx_first").map(|r| r.id), Some("cx-first"));
        assert!(find("nope").is_none());
    }
}
