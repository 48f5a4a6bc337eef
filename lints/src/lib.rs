//! The asupersync lint engine: rules over `syn` syntax trees, with the import
//! resolution (`use` aliases, globs, renamed crates, macro token streams) that both
//! `cargo asupersync lint` and `cargo asupersync audit` rely on.

pub mod resolve;
pub mod workspace;
