//! `cargo asupersync audit` (DESIGN.md §6). Not implemented yet: its issue fills it in.

use clap::Args;

use crate::cli::{Exit, GlobalArgs};

/// Arguments of `cargo asupersync audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {}

/// Runs the subcommand.
pub fn run(_global: &GlobalArgs, _args: &AuditArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("`cargo asupersync audit` is not implemented yet")
}
