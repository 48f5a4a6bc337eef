//! SARIF 2.1.0 for GitHub code scanning: one run, the whole rule catalogue as
//! `tool.driver.rules` (with help text), one result per finding with a
//! `physicalLocation` whose URI is relative to the repository root (`%SRCROOT%`).

use serde_sarif::sarif;

use crate::engine::Report;
use crate::finding::Severity;
use crate::rules;

/// The base id GitHub resolves relative URIs against.
pub const SRCROOT: &str = "%SRCROOT%";

pub fn to_sarif(report: &Report) -> sarif::Sarif {
    let catalogue: Vec<&rules::Rule> = rules::catalogue().collect();
    let descriptors: Vec<sarif::ReportingDescriptor> = catalogue
        .iter()
        .map(|rule| {
            sarif::ReportingDescriptor::builder()
                .id(rule.id)
                .name(rule.id)
                .short_description(text(rule.summary))
                .full_description(text(rule.summary))
                .help(
                    sarif::MultiformatMessageString::builder()
                        .text(rule.docs)
                        .markdown(rule.docs)
                        .build(),
                )
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(serde_json::Value::from(match rule.default_level {
                            crate::Level::Deny => "error",
                            crate::Level::Warn => "warning",
                            crate::Level::Allow => "none",
                        }))
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|finding| {
            let location = &finding.location;
            let region = sarif::Region::builder()
                .start_line(location.line as i64)
                .start_column(location.column as i64)
                .end_line(location.end_line as i64)
                .end_column(location.end_column as i64)
                .build();
            let physical = sarif::PhysicalLocation::builder()
                .artifact_location(
                    sarif::ArtifactLocation::builder()
                        .uri(finding.file.clone())
                        .uri_base_id(SRCROOT)
                        .build(),
                )
                .region(region)
                .build();
            let rule_index = catalogue
                .iter()
                .position(|r| r.id == finding.rule)
                .unwrap_or(0);
            sarif::Result::builder()
                .rule_id(finding.rule)
                .rule_index(rule_index as i64)
                .level(match finding.severity {
                    Severity::Deny => sarif::ResultLevel::Error,
                    Severity::Warn => sarif::ResultLevel::Warning,
                })
                .message(
                    sarif::Message::builder()
                        .text(format!("{} (help: {})", finding.message, finding.help))
                        .build(),
                )
                .locations(vec![sarif::Location::builder()
                    .physical_location(physical)
                    .build()])
                .build()
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("cargo-asupersync")
        .full_name("cargo asupersync lint")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/asupersync/asupersync")
        .rules(descriptors)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .column_kind(serde_json::Value::from("unicodeCodePoints"))
        .build();
    sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

fn text(s: &str) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder().text(s).build()
}

/// The report as pretty-printed SARIF JSON.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&to_sarif(report)).expect("plain data serializes")
}
