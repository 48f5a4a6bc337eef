//! Runnable examples of asupersync live beside this file; run one with
//! `cargo run --example NAME`. The brownfield Tokio application used to
//! demonstrate `cargo asupersync audit` and `migrate` lives in `brownfield/`,
//! outside the workspace so that it keeps plain Tokio.
