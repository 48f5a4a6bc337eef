//! `cargo asupersync explain` (DESIGN.md §6): a lint rule's documentation.
//!
//! [`explain_rule`] is the rule lookup; the Tokio API lookup (mapping entries) can
//! fall back from it when the name is not a rule.

use anyhow::bail;
use asupersync_lints::rules;
use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A lint rule id (`cx-first`) or a Tokio API path.
    #[arg(value_name = "RULE-OR-API")]
    pub name: String,
}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, args: &ExplainArgs) -> anyhow::Result<Exit> {
    match explain_rule(&args.name) {
        Some(text) => {
            print!("{text}");
            Ok(Exit::Clean)
        }
        None => bail!(
            "`{}` is not a lint rule (known rules: {})",
            args.name,
            rules::ids().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The documentation of a lint rule (`cx-first`, or `cx_first`), if it is one.
pub fn explain_rule(name: &str) -> Option<String> {
    let rule = rules::find(name)?;
    Some(format!(
        "# {} (default: {})\n\n{}\n\n{}",
        rule.id, rule.default_level, rule.summary, rule.docs
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_rules_by_id_and_rejects_other_names() {
        let text = explain_rule("cx-first").unwrap();
        assert!(text.starts_with("# cx-first (default: deny)"));
        assert!(text.contains("### What it does"));
        assert!(explain_rule("loop_without_checkpoint").is_some());
        assert!(explain_rule("tokio::spawn").is_none());
    }
}
