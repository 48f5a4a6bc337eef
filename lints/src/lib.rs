//! The asupersync lint engine: rules over `syn` syntax trees, with the import
//! resolution (`use` aliases, globs, renamed crates, macro token streams) that both
//! `cargo asupersync lint` and `cargo asupersync audit` rely on.
//!
//! - [`workspace`] finds every source file of a Cargo workspace.
//! - [`resolve`] resolves paths the way rustc would for the cases that matter.
//! - [`rules`] is the catalogue of DESIGN.md §5, one module per rule.
//! - [`engine`] runs the rules over files (in parallel) and applies [`suppress`]ions
//!   and the [`config`].
//! - [`render`] prints findings as rustc-style text, JSON (DESIGN.md §6) or SARIF.

pub mod config;
pub mod engine;
pub mod finding;
pub mod render;
pub mod resolve;
pub mod rules;
pub mod suppress;
pub mod workspace;

pub use config::{Config, ConfigError};
pub use engine::{lint_file, lint_workspace, FileInput, Report};
pub use finding::{Finding, Level, Severity};
pub use workspace::{Workspace, WorkspaceError};
