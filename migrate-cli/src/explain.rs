//! `cargo asupersync explain` (DESIGN.md §6). Not implemented yet: its issue fills it in.

use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule id, or a Tokio API path (`tokio::time::sleep`) or crate (`hyper`).
    pub topic: String,
}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, args: &ExplainArgs) -> anyhow::Result<Exit> {
    // Rules first (not written yet), then the mapping data.
    if let Some(text) = crate::mapping::explain(&args.topic) {
        print!("{text}");
        return Ok(Exit::Clean);
    }
    anyhow::bail!("no rule or mapping entry named `{}`", args.topic)
}
