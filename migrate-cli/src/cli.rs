//! Argument definitions shared by every subcommand (DESIGN.md §6).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Moves a Tokio codebase onto the asupersync runtime: measure, rewrite, fence, gate.
#[derive(Debug, Parser)]
#[command(name = "cargo asupersync", bin_name = "cargo asupersync", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to Cargo.toml (default: the workspace around the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Output format; not every command has every format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to colour human output; NO_COLOR is honoured with `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory Tokio usage in a workspace: dependencies, usage sites, readiness.
    Audit(crate::audit::AuditArgs),
    /// Rewrite Tokio code to asupersync (dry run unless --apply).
    ///
    /// The dry run prints a unified diff and sorts every Tokio usage into automatic,
    /// behind compat and left for a person, each with its reason. Rewrites are
    /// byte-range edits (comments and formatting elsewhere stay), in tiers: manifests,
    /// entry points, imports and paths, a `cx` threaded to the calls that need one,
    /// spawns whose handles are awaited, and compat wrapping for what stays on Tokio. A
    /// package that cannot leave Tokio whole is quarantined: its entry points become
    /// native and run their bodies on the compat crate's Tokio host, and the Tokio code
    /// left names `asupersync_tokio_compat::tokio`.
    ///
    /// --apply refuses a dirty git tree (exit 2, nothing written) unless --allow-dirty,
    /// writes, runs `cargo check --all-targets`, backs out the rewrites the compiler's
    /// errors point into (re-checking, at most three rounds), and restores a package
    /// whole if that does not settle it (exit 1, with the first error). Running it again
    /// changes nothing. `cargo asupersync explain tokio::some::api` prints the rule for
    /// one API; docs/migration-guide.md walks through a whole migration.
    Migrate(crate::migrate::MigrateArgs),
    /// Run the asupersync lints: the CI gate for Cx-first, Tokio-free code.
    Lint(crate::lint::LintArgs),
    /// Print a rule's documentation or a Tokio API's mapping entry.
    Explain(crate::explain::ExplainArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output written to a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// The exit codes of DESIGN.md §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing fails the gate.
    Clean = 0,
    /// Findings that fail the gate.
    Findings = 1,
    /// Usage or input error.
    Usage = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}
