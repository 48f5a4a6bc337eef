//! Output formats: rustc-style text, the versioned JSON of DESIGN.md §6, SARIF 2.1.0.

pub mod human;
pub mod json;
pub mod sarif;
