//! What a rule reports, and how severe it is.

use std::fmt;

use serde::Serialize;

use crate::resolve::Location;

/// A configured rule level (`allow`, `warn`, `deny`), as in clippy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

impl Level {
    /// Parses a level name from configuration.
    pub fn parse(name: &str) -> Option<Level> {
        match name {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The severity of a reported finding: a finding is never `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Deny,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Deny => "deny",
        }
    }

    /// The severity a rule at `level` reports with, if it reports at all.
    pub fn from_level(level: Level) -> Option<Severity> {
        match level {
            Level::Allow => None,
            Level::Warn => Some(Severity::Warn),
            Level::Deny => Some(Severity::Deny),
        }
    }
}

/// What a rule found in one file, before the engine attaches rule id, file and
/// severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
    pub help: String,
}

/// One reported finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id, e.g. `cx-first`.
    pub rule: &'static str,
    pub severity: Severity,
    /// The file, relative to the workspace root with `/` separators.
    pub file: String,
    pub location: Location,
    pub message: String,
    pub help: String,
}

impl Finding {
    /// Orders findings for output: by file, then position, then rule.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (
            &self.file,
            self.location.line,
            self.location.column,
            self.rule,
        )
    }
}
