//! `cargo asupersync lint` (DESIGN.md §6). Not implemented yet: its issue fills it in.

use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync lint`.
#[derive(Debug, Args)]
pub struct LintArgs {}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, _args: &LintArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("`cargo asupersync lint` is not implemented yet")
}
