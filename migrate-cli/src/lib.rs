//! The library half of `cargo asupersync`: every subcommand's work lives here so the
//! binary only parses and prints (ripgrep's split). Name resolution and the lint rules
//! live in `asupersync-lints`, shared by `lint`, `audit` and `migrate`.

pub mod audit;
pub mod cli;
pub mod explain;
pub mod lint;
pub mod mapping;
pub mod migrate;
