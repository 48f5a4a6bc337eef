//! The audit report: the JSON shape of DESIGN.md §6 (additive fields marked), and the
//! arithmetic that turns usages and dependencies into readiness, verdicts and a summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mapping::Class;

/// Version of the JSON shape; additive changes keep it.
pub const REPORT_VERSION: u32 = 1;
/// The `tool` field of the JSON report.
pub const TOOL: &str = "cargo-asupersync audit";

/// Weight of one unit of work of a class in the readiness formula (see the module docs
/// of [`crate::audit`]).
pub fn class_weight(class: Class) -> u64 {
    match class {
        Class::Native => 0,
        Class::NativeReplacement => 1,
        Class::CompatHoldout | Class::Manual => 3,
        Class::HardBlocker => 5,
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub tool: String,
    pub workspace_root: String,
    pub packages: Vec<PackageReport>,
    pub dependencies: Vec<DependencyReport>,
    pub usages: Vec<Usage>,
    /// Additive: `.rs` files that do not parse; the rest of the workspace is audited.
    #[serde(default)]
    pub parse_errors: Vec<ParseError>,
    /// Additive: usages that are not in `--baseline FILE` (only with `--baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_since_baseline: Option<Vec<Usage>>,
    pub summary: Summary,
}

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageReport {
    pub name: String,
    /// Relative to the workspace root.
    pub manifest_path: String,
    pub readiness: u8,
    pub verdict: Verdict,
    /// Additive: how many usages the package has, and how many migrate rewrites.
    #[serde(default)]
    pub usages: usize,
    #[serde(default)]
    pub automatic: usize,
    /// Additive: the Tokio-ecosystem crates it pulls (directly or not) whose class is not
    /// `native-replacement`, i.e. the reason for a `blocked` or `needs-quarantine` verdict;
    /// hard blockers first, and direct dependencies before the ones they pull in.
    #[serde(default)]
    pub blocking_dependencies: Vec<String>,
}

/// DESIGN.md §6 verdicts, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Native,
    Ready,
    NeedsQuarantine,
    Blocked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Native => "native",
            Verdict::Ready => "ready",
            Verdict::NeedsQuarantine => "needs-quarantine",
            Verdict::Blocked => "blocked",
        }
    }
}

/// One Tokio-ecosystem crate of the resolved dependency graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyReport {
    pub name: String,
    pub version: String,
    pub class: Class,
    /// From a workspace member down to this crate, as `cargo tree -i` shows them.
    pub paths: Vec<Vec<String>>,
    pub native_replacement: Option<String>,
    /// Additive: set when more paths exist than are listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paths_truncated: bool,
}

/// One usage site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub package: String,
    /// Relative to the workspace root, `/`-separated.
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The canonical path after resolving imports (`tokio::sync::mpsc::channel`).
    pub api: String,
    /// `import`, `path`, `macro` or `attribute`.
    pub kind: String,
    pub class: Class,
    pub native: Option<String>,
    pub auto: bool,
    /// Additive: where the usage ends (1-based, end column exclusive).
    #[serde(default)]
    pub end_line: usize,
    #[serde(default)]
    pub end_column: usize,
    /// Additive: the mapping entry that answered (`tokio::sync::mpsc::Sender` for
    /// `tokio::sync::mpsc::Sender::send`); absent for crates classed as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// Additive: why `migrate` does not rewrite it (its planner's reason), for a usage
    /// that is not `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A `.rs` file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub package: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub usages: usize,
    pub by_api: BTreeMap<String, usize>,
    pub by_class: BTreeMap<Class, usize>,
    /// Additive: usages `migrate` rewrites, and those that need a person.
    #[serde(default)]
    pub automatic: usize,
    #[serde(default)]
    pub manual: usize,
    /// Additive: `.rs` files read, and how many did not parse.
    #[serde(default)]
    pub files: usize,
    #[serde(default)]
    pub parse_errors: usize,
}

/// What the audit of one member found before the arithmetic.
#[derive(Debug, Clone)]
pub struct MemberFacts {
    pub name: String,
    pub manifest_path: String,
    /// Classes of the Tokio-ecosystem crates it pulls, by crate name.
    pub reachable: BTreeMap<String, Class>,
    /// Direct Tokio-ecosystem dependencies, by crate name.
    pub direct: BTreeMap<String, Class>,
}

/// Readiness of a package: the weighted share of its units of work that migrate does
/// automatically (see the module docs of [`crate::audit`]). Rounded down, so 100 means
/// everything is automatic.
pub fn readiness(usages: &[&Usage], direct: &BTreeMap<String, Class>) -> u8 {
    let mut total = 0u64;
    let mut automatic = 0u64;
    for usage in usages {
        let weight = class_weight(usage.class);
        total += weight;
        if usage.auto {
            automatic += weight;
        }
    }
    for &class in direct.values() {
        let weight = class_weight(class);
        total += weight;
        if class == Class::NativeReplacement {
            automatic += weight;
        }
    }
    if total == 0 {
        return 100;
    }
    u8::try_from(automatic * 100 / total).unwrap_or(100)
}

/// The verdict of DESIGN.md §6, in its order of precedence.
pub fn verdict(usages: &[&Usage], reachable: &BTreeMap<String, Class>) -> Verdict {
    if reachable.values().any(|&class| class == Class::HardBlocker)
        || usages.iter().any(|u| u.class == Class::HardBlocker)
    {
        Verdict::Blocked
    } else if reachable
        .values()
        .any(|&class| class == Class::CompatHoldout)
        || usages.iter().any(|u| !u.auto)
    {
        Verdict::NeedsQuarantine
    } else if !usages.is_empty() || !reachable.is_empty() {
        Verdict::Ready
    } else {
        Verdict::Native
    }
}

impl Report {
    /// Assembles a report: sorts, computes per-package readiness and verdicts, and the
    /// summary.
    pub fn assemble(
        workspace_root: String,
        members: Vec<MemberFacts>,
        mut dependencies: Vec<DependencyReport>,
        mut usages: Vec<Usage>,
        mut parse_errors: Vec<ParseError>,
        files: usize,
    ) -> Report {
        usages.sort_by(|a, b| {
            (&a.package, &a.file, a.line, a.column, &a.api)
                .cmp(&(&b.package, &b.file, b.line, b.column, &b.api))
        });
        dependencies.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        parse_errors.sort_by(|a, b| (&a.package, &a.file).cmp(&(&b.package, &b.file)));
        let packages = members
            .into_iter()
            .map(|member| {
                let own: Vec<&Usage> = usages
                    .iter()
                    .filter(|usage| usage.package == member.name)
                    .collect();
                // Hard blockers first, then holdouts; direct dependencies first in each.
                let mut blocking_dependencies: Vec<(Class, bool, String)> = member
                    .reachable
                    .iter()
                    .filter(|(_, &class)| class != Class::NativeReplacement)
                    .map(|(name, &class)| (class, !member.direct.contains_key(name), name.clone()))
                    .collect();
                blocking_dependencies
                    .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
                PackageReport {
                    readiness: readiness(&own, &member.direct),
                    verdict: verdict(&own, &member.reachable),
                    usages: own.len(),
                    automatic: own.iter().filter(|usage| usage.auto).count(),
                    blocking_dependencies: blocking_dependencies
                        .into_iter()
                        .map(|(_, _, name)| name)
                        .collect(),
                    name: member.name,
                    manifest_path: member.manifest_path,
                }
            })
            .collect();
        let summary = Summary::of(&usages, files, parse_errors.len());
        Report {
            version: REPORT_VERSION,
            tool: TOOL.to_string(),
            workspace_root,
            packages,
            dependencies,
            usages,
            parse_errors,
            new_since_baseline: None,
            summary,
        }
    }

    /// Whether any usage or dependency has this class.
    pub fn has_class(&self, class: Class) -> bool {
        self.usages.iter().any(|usage| usage.class == class)
            || self.dependencies.iter().any(|dep| dep.class == class)
    }

    /// The most used APIs, most used first (ties by name).
    pub fn top_apis(&self, limit: usize) -> Vec<(&str, usize)> {
        let mut apis: Vec<(&str, usize)> = self
            .summary
            .by_api
            .iter()
            .map(|(api, &count)| (api.as_str(), count))
            .collect();
        apis.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        apis.truncate(limit);
        apis
    }

    /// The first usage of an API, to show its native replacement next to it.
    pub fn first_usage_of(&self, api: &str) -> Option<&Usage> {
        self.usages.iter().find(|usage| usage.api == api)
    }
}

impl Summary {
    fn of(usages: &[Usage], files: usize, parse_errors: usize) -> Summary {
        let mut summary = Summary {
            usages: usages.len(),
            files,
            parse_errors,
            ..Summary::default()
        };
        for usage in usages {
            *summary.by_api.entry(usage.api.clone()).or_default() += 1;
            *summary.by_class.entry(usage.class).or_default() += 1;
            if usage.auto {
                summary.automatic += 1;
            } else {
                summary.manual += 1;
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(class: Class, auto: bool) -> Usage {
        Usage {
            package: "app".into(),
            file: "src/main.rs".into(),
            line: 1,
            column: 1,
            api: "tokio::x".into(),
            kind: "path".into(),
            class,
            native: None,
            auto,
            end_line: 1,
            end_column: 2,
            mapping: None,
            reason: None,
        }
    }

    fn classes(pairs: &[(&str, Class)]) -> BTreeMap<String, Class> {
        pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn readiness_weighs_manual_work_three_times_an_automatic_rewrite() {
        let auto = usage(Class::NativeReplacement, true);
        let manual = usage(Class::Manual, false);
        // 3 automatic units against one manual unit of weight 3: 3 / 6.
        let usages = [&auto, &auto, &auto, &manual];
        assert_eq!(readiness(&usages, &BTreeMap::new()), 50);
        // The tokio dependency itself is rewritten too: 4 / 7 = 57.
        let direct = classes(&[("tokio", Class::NativeReplacement)]);
        assert_eq!(readiness(&usages, &direct), 57);
        assert_eq!(readiness(&[], &BTreeMap::new()), 100);
        let holdout = classes(&[("hyper", Class::CompatHoldout)]);
        assert_eq!(readiness(&[], &holdout), 0);
    }

    #[test]
    fn readiness_rounds_down_so_100_means_all_automatic() {
        let auto = usage(Class::NativeReplacement, true);
        let not_auto = usage(Class::NativeReplacement, false);
        let mut usages = vec![&auto; 199];
        usages.push(&not_auto);
        assert_eq!(readiness(&usages, &BTreeMap::new()), 99);
    }

    #[test]
    fn verdicts_follow_the_design_precedence() {
        let auto = usage(Class::NativeReplacement, true);
        let manual = usage(Class::Manual, false);
        let none = BTreeMap::new();
        assert_eq!(verdict(&[], &none), Verdict::Native);
        let tokio = classes(&[("tokio", Class::NativeReplacement)]);
        assert_eq!(verdict(&[], &tokio), Verdict::Ready);
        assert_eq!(verdict(&[&auto], &none), Verdict::Ready);
        assert_eq!(verdict(&[&auto, &manual], &tokio), Verdict::NeedsQuarantine);
        let hyper = classes(&[("hyper", Class::CompatHoldout)]);
        assert_eq!(verdict(&[&auto], &hyper), Verdict::NeedsQuarantine);
        let both = classes(&[
            ("hyper", Class::CompatHoldout),
            ("smol", Class::HardBlocker),
        ]);
        assert_eq!(verdict(&[&auto], &both), Verdict::Blocked);
    }
}
