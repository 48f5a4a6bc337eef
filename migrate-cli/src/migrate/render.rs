//! The report: a unified diff of every changed file and a summary of what is automatic,
//! what goes behind compat and what is left for a person (with the reasons), as text
//! or as JSON (`{"version": 1, "tool": "cargo-asupersync migrate", ...}`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::apply::{ApplyResult, PackageOutcome};
use super::edit::unified_diff;
use super::plan::{Disposition, Site};
use super::Migration;

/// The JSON report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub tool: &'static str,
    pub workspace_root: String,
    pub applied: bool,
    pub packages: Vec<PackageReport>,
    pub sites: Vec<Site>,
    pub files: Vec<FileReport>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct PackageReport {
    pub name: String,
    pub manifest_changes: Vec<String>,
    pub notes: Vec<String>,
    /// `unchanged`, `applied` or `rolled-back` (absent in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub diff: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub usages: usize,
    pub automatic: usize,
    pub compat: usize,
    pub manual: usize,
    /// Automatic usages by tier (`"2"` entry points, `"3"` imports and paths).
    pub automatic_by_tier: BTreeMap<String, usize>,
    pub files_changed: usize,
}

impl Report {
    pub fn new(migration: &Migration, outcomes: Option<&[PackageOutcome]>) -> Report {
        let mut summary = Summary::default();
        let mut sites = Vec::new();
        let mut files = Vec::new();
        let mut packages = Vec::new();
        for package in &migration.packages {
            for site in &package.sites {
                summary.usages += 1;
                match site.disposition {
                    Disposition::Automatic => summary.automatic += 1,
                    Disposition::Compat => summary.compat += 1,
                    Disposition::Manual => summary.manual += 1,
                }
                if let Some(tier) = site.tier {
                    *summary
                        .automatic_by_tier
                        .entry(tier.to_string())
                        .or_default() += 1;
                }
                sites.push(site.clone());
            }
            for change in &package.changes {
                files.push(FileReport {
                    file: change.rel_path.clone(),
                    diff: unified_diff(&change.rel_path, &change.old, &change.new),
                });
            }
            let outcome = outcomes
                .and_then(|all| all.iter().find(|o| o.package == package.name))
                .map(|o| &o.result);
            packages.push(PackageReport {
                name: package.name.clone(),
                manifest_changes: package.manifest_changes.clone(),
                notes: package.notes.clone(),
                outcome: outcome.map(|result| match result {
                    ApplyResult::Unchanged => "unchanged",
                    ApplyResult::Applied => "applied",
                    ApplyResult::RolledBack { .. } => "rolled-back",
                }),
                error: match outcome {
                    Some(ApplyResult::RolledBack { error }) => Some(error.clone()),
                    _ => None,
                },
            });
        }
        summary.files_changed = files.len();
        Report {
            version: 1,
            tool: "cargo-asupersync migrate",
            workspace_root: migration.root.display().to_string(),
            applied: outcomes.is_some(),
            packages,
            sites,
            files,
            summary,
        }
    }
}

/// How many locations a grouped reason lists before "and N more".
const LOCATIONS_SHOWN: usize = 3;

/// The human report.
pub fn human(_migration: &Migration, report: &Report) -> String {
    let mut out = String::new();
    for file in &report.files {
        out.push_str(&file.diff);
    }
    if !report.files.is_empty() {
        out.push('\n');
    }
    let s = &report.summary;
    if s.usages == 0 && report.files.is_empty() {
        out.push_str("No Tokio usage to migrate and nothing to change.\n");
    }
    let share = (s.automatic * 100).checked_div(s.usages).unwrap_or(100);
    if s.usages > 0 || !report.files.is_empty() {
        let files = if s.files_changed == 1 {
            "file"
        } else {
            "files"
        };
        let done = if report.applied {
            "written"
        } else {
            "to change"
        };
        let _ = writeln!(
            out,
            "{} usage sites: {} automatic ({share}%), {} behind compat, {} left for a person; \
             {} {files} {done}",
            s.usages, s.automatic, s.compat, s.manual, s.files_changed,
        );
    }
    for (tier, count) in &s.automatic_by_tier {
        let what = match tier.as_str() {
            "2" => "entry points",
            "4" => "Cx threaded",
            "5" => "select!, join! and spawns",
            _ => "imports and paths",
        };
        let _ = writeln!(out, "  tier {tier}, {what}: {count}");
    }
    for package in &report.packages {
        let mut lines = Vec::new();
        for change in &package.manifest_changes {
            lines.push(format!("tier 1, manifest: {change}"));
        }
        lines.extend(package.notes.iter().cloned());
        if let Some(outcome) = package.outcome {
            match &package.error {
                Some(error) => lines.push(format!(
                    "rolled back: it no longer built, files restored; first error: {error}"
                )),
                None => lines.push(outcome.to_string()),
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "\npackage {}:", package.name);
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    for (disposition, title) in [
        (Disposition::Compat, "Behind compat (stays Tokio-bound)"),
        (Disposition::Manual, "Left for a person"),
    ] {
        let mut by_reason: BTreeMap<&str, Vec<&Site>> = BTreeMap::new();
        for site in report.sites.iter().filter(|s| s.disposition == disposition) {
            by_reason
                .entry(site.reason.as_deref().unwrap_or(""))
                .or_default()
                .push(site);
        }
        if by_reason.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        let mut groups: Vec<(&str, Vec<&Site>)> = by_reason.into_iter().collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        for (reason, sites) in groups {
            let mut apis: Vec<&str> = sites.iter().map(|s| s.api.as_str()).collect();
            apis.sort();
            apis.dedup();
            let _ = writeln!(out, "  {} ({}): {reason}", apis.join(", "), sites.len());
            let shown: Vec<String> = sites
                .iter()
                .take(LOCATIONS_SHOWN)
                .map(|s| format!("{}:{}:{}", s.file, s.line, s.column))
                .collect();
            let more = sites.len().saturating_sub(LOCATIONS_SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let _ = writeln!(out, "    at {}{more}", shown.join(", "));
        }
    }
    if !report.applied && !report.files.is_empty() {
        out.push_str(
            "\nDry run: nothing was written. Run again with --apply to write and verify.\n",
        );
    }
    out
}
