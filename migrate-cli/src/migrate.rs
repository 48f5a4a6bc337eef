//! `cargo asupersync migrate` (DESIGN.md §6). Not implemented yet: its issue fills it in.

use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, _args: &MigrateArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("`cargo asupersync migrate` is not implemented yet")
}
