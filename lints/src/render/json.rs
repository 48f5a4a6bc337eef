//! The JSON report of DESIGN.md §6 (`version` 1; additive changes only).

use serde::{Deserialize, Serialize};

use crate::engine::Report;
use crate::finding::Severity;

/// The format version.
pub const VERSION: u32 = 1;
/// The `tool` field.
pub const TOOL: &str = "cargo-asupersync lint";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonReport {
    pub version: u32,
    pub tool: String,
    pub findings: Vec<JsonFinding>,
    pub summary: JsonSummary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonFinding {
    pub rule: String,
    /// `deny` or `warn`.
    pub severity: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub help: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonSummary {
    pub files: usize,
    pub deny: usize,
    pub warn: usize,
}

impl JsonReport {
    pub fn new(report: &Report) -> Self {
        JsonReport {
            version: VERSION,
            tool: TOOL.to_string(),
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding {
                    rule: f.rule.to_string(),
                    severity: f.severity.as_str().to_string(),
                    file: f.file.clone(),
                    line: f.location.line,
                    column: f.location.column,
                    end_line: f.location.end_line,
                    end_column: f.location.end_column,
                    message: f.message.clone(),
                    help: f.help.clone(),
                })
                .collect(),
            summary: JsonSummary {
                files: report.files,
                deny: report.count(Severity::Deny),
                warn: report.count(Severity::Warn),
            },
        }
    }
}

/// The report as pretty-printed JSON.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&JsonReport::new(report)).expect("plain data serializes")
}
