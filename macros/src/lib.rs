//! Procedural macros for asupersync, re-exported by the `asupersync` crate.
