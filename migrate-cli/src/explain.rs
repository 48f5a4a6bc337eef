//! `cargo asupersync explain` (DESIGN.md §6): a lint rule's documentation, or the
//! mapping entry of a Tokio API path or ecosystem crate.
//!
//! [`explain_rule`] is the rule lookup; the mapping lookup is the fallback.

use anyhow::bail;
use asupersync_lints::rules;
use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule id, or a Tokio API path (`tokio::time::sleep`) or crate (`hyper`).
    #[arg(value_name = "RULE-OR-API")]
    pub topic: String,
}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, args: &ExplainArgs) -> anyhow::Result<Exit> {
    let text = explain_rule(&args.topic).or_else(|| crate::mapping::explain(&args.topic));
    match text {
        Some(text) => {
            crate::lint::write_stdout(&text)?;
            Ok(Exit::Clean)
        }
        None => bail!(
            "no rule or mapping entry named `{}` (known rules: {})",
            args.topic,
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
    fn explains_rules_by_id_and_leaves_other_names_to_the_mapping() {
        let text = explain_rule("cx-first").unwrap();
        assert!(text.starts_with("# cx-first (default: deny)"));
        assert!(text.contains("### What it does"));
        assert!(explain_rule("loop_without_checkpoint").is_some());
        assert!(explain_rule("tokio::spawn").is_none());
    }
}
