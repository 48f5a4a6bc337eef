//! `cargo asupersync explain` (DESIGN.md §6). Not implemented yet: its issue fills it in.

use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, _args: &ExplainArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("`cargo asupersync explain` is not implemented yet")
}
