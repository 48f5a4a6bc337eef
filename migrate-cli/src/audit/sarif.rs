//! SARIF 2.1.0 output, so usages show up in code scanning.
//!
//! [`SarifLog`] is generic (rules and results with a workspace-relative location) so
//! `migrate` can reuse it; [`audit_log`] turns an audit report into one. Every usage is
//! a result at level `note` (it is an inventory, not a defect); its rule is its class,
//! so code scanning groups them by class. Files that do not parse are `warning`s of
//! their own rule. Holdout and blocker dependencies are results on the manifest of each
//! member that pulls them. With `--baseline`, each usage result carries
//! `baselineState` (`new` or `unchanged`).

use std::path::Path;

use serde_json::{json, Value};

use super::report::Report;
use crate::mapping::Class;

/// The SARIF schema URI.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A rule of the log's tool.
#[derive(Debug, Clone)]
pub struct SarifRule {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// One result, located in a workspace-relative file.
#[derive(Debug, Clone)]
pub struct SarifResult {
    pub rule_id: String,
    /// `note`, `warning` or `error`.
    pub level: &'static str,
    pub message: String,
    /// Relative to the workspace root, `/`-separated.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// `new`, `unchanged`, ... when a baseline was compared.
    pub baseline_state: Option<&'static str>,
    pub properties: Option<Value>,
}

/// A SARIF log with one run.
#[derive(Debug, Clone)]
pub struct SarifLog {
    pub tool_name: String,
    pub tool_version: String,
    pub information_uri: String,
    pub rules: Vec<SarifRule>,
    pub results: Vec<SarifResult>,
}

impl SarifLog {
    /// The JSON of the log. `root` is the workspace root, the base of every file.
    pub fn to_json(&self, root: &Path) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.id,
                    "name": rule.name,
                    "shortDescription": { "text": rule.description },
                })
            })
            .collect();
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|result| {
                let mut value = json!({
                    "ruleId": result.rule_id,
                    "ruleIndex": self.rules.iter().position(|r| r.id == result.rule_id),
                    "level": result.level,
                    "message": { "text": result.message },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": result.file, "uriBaseId": "%SRCROOT%" },
                            "region": {
                                "startLine": result.line,
                                "startColumn": result.column,
                                "endLine": result.end_line.max(result.line),
                                "endColumn": result.end_column.max(1),
                            }
                        }
                    }],
                });
                if let Some(state) = result.baseline_state {
                    value["baselineState"] = json!(state);
                }
                if let Some(properties) = &result.properties {
                    value["properties"] = properties.clone();
                }
                value
            })
            .collect();
        let mut root_uri = format!("file://{}", root.display());
        if !root_uri.ends_with('/') {
            root_uri.push('/');
        }
        json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": self.tool_name,
                    "version": self.tool_version,
                    "informationUri": self.information_uri,
                    "rules": rules,
                }},
                "originalUriBaseIds": { "%SRCROOT%": { "uri": root_uri } },
                // Columns count characters, as the resolver's locations do.
                "columnKind": "unicodeCodePoints",
                "results": results,
            }]
        })
    }
}

/// Rule id of files that do not parse.
pub const PARSE_ERROR_RULE: &str = "parse-error";
/// Rule id of holdout and blocker dependencies.
pub const DEPENDENCY_RULE: &str = "tokio-dependency";

fn class_description(class: Class) -> &'static str {
    match class {
        Class::Native => "already on asupersync",
        Class::NativeReplacement => "Tokio usage with a native equivalent",
        Class::CompatHoldout => "Tokio-bound usage that stays behind asupersync-tokio-compat",
        Class::Manual => "Tokio usage that needs a person to decide the native design",
        Class::HardBlocker => "usage of another runtime that cannot share the process",
    }
}

/// The SARIF log of an audit report.
pub fn audit_log(report: &Report) -> SarifLog {
    let mut rules: Vec<SarifRule> = Class::ALL
        .into_iter()
        .filter(|&class| class != Class::Native)
        .map(|class| SarifRule {
            id: class.as_str().to_string(),
            name: class.as_str().to_string(),
            description: class_description(class).to_string(),
        })
        .collect();
    rules.push(SarifRule {
        id: PARSE_ERROR_RULE.to_string(),
        name: PARSE_ERROR_RULE.to_string(),
        description: "a Rust file that does not parse; it was not audited".to_string(),
    });
    rules.push(SarifRule {
        id: DEPENDENCY_RULE.to_string(),
        name: DEPENDENCY_RULE.to_string(),
        description: "a Tokio-ecosystem dependency without a native replacement".to_string(),
    });

    let mut results = Vec::new();
    for usage in &report.usages {
        let message = match (&usage.native, usage.auto) {
            (Some(native), true) => {
                format!("`{}` → `{native}` (migrate rewrites it)", usage.api)
            }
            (Some(native), false) => format!(
                "`{}` → `{native}` ({}: needs a person)",
                usage.api, usage.class
            ),
            (None, _) => format!("`{}` ({})", usage.api, usage.class),
        };
        let baseline_state = report.new_since_baseline.as_ref().map(|new| {
            if new.contains(usage) {
                "new"
            } else {
                "unchanged"
            }
        });
        results.push(SarifResult {
            rule_id: usage.class.as_str().to_string(),
            level: "note",
            message,
            file: usage.file.clone(),
            line: usage.line,
            column: usage.column,
            end_line: usage.end_line,
            end_column: usage.end_column,
            baseline_state,
            properties: Some(json!({
                "api": usage.api,
                "kind": usage.kind,
                "package": usage.package,
                "native": usage.native,
                "auto": usage.auto,
            })),
        });
    }
    for error in &report.parse_errors {
        results.push(SarifResult {
            rule_id: PARSE_ERROR_RULE.to_string(),
            level: "warning",
            message: format!(
                "this file does not parse and was not audited: {}",
                error.message
            ),
            file: error.file.clone(),
            line: error.line,
            column: error.column,
            end_line: error.line,
            end_column: error.column + 1,
            baseline_state: None,
            properties: None,
        });
    }
    for dep in &report.dependencies {
        if !matches!(dep.class, Class::CompatHoldout | Class::HardBlocker) {
            continue;
        }
        let mut members: Vec<&str> = dep
            .paths
            .iter()
            .filter_map(|path| path.first().map(String::as_str))
            .collect();
        members.sort_unstable();
        members.dedup();
        for member in members {
            let Some(package) = report.packages.iter().find(|p| p.name == member) else {
                continue;
            };
            let via = dep
                .paths
                .iter()
                .find(|path| path.first().is_some_and(|first| first == member))
                .map(|path| path.join(" → "))
                .unwrap_or_default();
            results.push(SarifResult {
                rule_id: DEPENDENCY_RULE.to_string(),
                level: if dep.class == Class::HardBlocker {
                    "warning"
                } else {
                    "note"
                },
                message: format!(
                    "`{member}` pulls {} {} ({}) via {via}",
                    dep.name, dep.version, dep.class
                ),
                file: package.manifest_path.clone(),
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
                baseline_state: None,
                properties: Some(json!({ "crate": dep.name, "class": dep.class })),
            });
        }
    }
    SarifLog {
        tool_name: "cargo-asupersync audit".to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        information_uri: env!("CARGO_PKG_REPOSITORY").to_string(),
        rules,
        results,
    }
}
