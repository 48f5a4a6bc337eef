//! `--baseline FILE`: which usages are new since a saved JSON report.
//!
//! Why not compare line numbers: any edit above a usage moves it, and CI must not fail a
//! pull request for code it did not touch. A usage is identified by package, file and
//! API; within one such key, a current usage is old as long as the baseline had as
//! many. Current usages on a line the baseline also had are matched first, so when a
//! key's count grows the ones reported as new are the ones on new lines.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::report::Usage;

/// The part of a saved report the comparison needs.
#[derive(Debug, Deserialize)]
struct BaselineFile {
    tool: Option<String>,
    usages: Vec<BaselineUsage>,
}

#[derive(Debug, Deserialize)]
struct BaselineUsage {
    package: String,
    file: String,
    api: String,
    #[serde(default)]
    line: usize,
}

/// Usages of a saved report, grouped by (package, file, api) with their lines.
#[derive(Debug, Default)]
pub struct Baseline {
    lines: HashMap<(String, String, String), Vec<usize>>,
}

impl Baseline {
    /// Reads a JSON report written by `cargo asupersync audit --format json`.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read baseline {}: {err}", path.display()))?;
        Baseline::parse(&text)
            .map_err(|err| format!("baseline {} is not an audit report: {err}", path.display()))
    }

    /// Parses the JSON text of a report.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let file: BaselineFile = serde_json::from_str(text).map_err(|err| err.to_string())?;
        if let Some(tool) = &file.tool {
            if tool != super::report::TOOL {
                return Err(format!("it was written by `{tool}`"));
            }
        }
        let mut baseline = Baseline::default();
        for usage in file.usages {
            baseline
                .lines
                .entry((usage.package, usage.file, usage.api))
                .or_default()
                .push(usage.line);
        }
        Ok(baseline)
    }

    /// The usages of `current` that the baseline does not account for, in the order of
    /// `current`.
    pub fn new_usages(&self, current: &[Usage]) -> Vec<Usage> {
        let mut groups: HashMap<(&str, &str, &str), Vec<&Usage>> = HashMap::new();
        for usage in current {
            groups
                .entry((&usage.package, &usage.file, &usage.api))
                .or_default()
                .push(usage);
        }
        let mut new: Vec<&Usage> = Vec::new();
        for ((package, file, api), usages) in groups {
            let key = (package.to_string(), file.to_string(), api.to_string());
            let mut old_lines = self.lines.get(&key).cloned().unwrap_or_default();
            // Same line first, then any remaining slot of the key.
            let mut unmatched = Vec::new();
            for usage in usages {
                match old_lines.iter().position(|&line| line == usage.line) {
                    Some(index) => {
                        old_lines.swap_remove(index);
                    }
                    None => unmatched.push(usage),
                }
            }
            let moved = old_lines.len().min(unmatched.len());
            new.extend(unmatched.into_iter().skip(moved));
        }
        let mut new: Vec<Usage> = new.into_iter().cloned().collect();
        new.sort_by(|a, b| {
            (&a.package, &a.file, a.line, a.column).cmp(&(&b.package, &b.file, b.line, b.column))
        });
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Class;

    fn usage(file: &str, line: usize, api: &str) -> Usage {
        Usage {
            package: "app".into(),
            file: file.into(),
            line,
            column: 5,
            api: api.into(),
            kind: "path".into(),
            class: Class::NativeReplacement,
            native: None,
            auto: true,
            end_line: line,
            end_column: 9,
            mapping: None,
            reason: None,
        }
    }

    fn baseline(usages: &[Usage]) -> Baseline {
        let json = serde_json::json!({ "tool": "cargo-asupersync audit", "usages": usages });
        Baseline::parse(&json.to_string()).unwrap()
    }

    #[test]
    fn shifted_lines_are_not_new() {
        let old = baseline(&[usage("src/a.rs", 3, "tokio::spawn")]);
        assert!(old
            .new_usages(&[usage("src/a.rs", 40, "tokio::spawn")])
            .is_empty());
    }

    #[test]
    fn a_second_use_of_the_same_api_is_new_and_the_new_line_is_reported() {
        let old = baseline(&[usage("src/a.rs", 10, "tokio::spawn")]);
        let new = old.new_usages(&[
            usage("src/a.rs", 4, "tokio::spawn"),
            usage("src/a.rs", 10, "tokio::spawn"),
        ]);
        assert_eq!(new, vec![usage("src/a.rs", 4, "tokio::spawn")]);
    }

    #[test]
    fn another_file_or_api_is_new() {
        let old = baseline(&[usage("src/a.rs", 1, "tokio::spawn")]);
        let new = old.new_usages(&[
            usage("src/b.rs", 1, "tokio::spawn"),
            usage("src/a.rs", 1, "tokio::time::sleep"),
        ]);
        assert_eq!(new.len(), 2);
    }

    #[test]
    fn a_report_of_another_tool_is_refused() {
        let err = Baseline::parse(r#"{"tool":"cargo-asupersync lint","usages":[]}"#).unwrap_err();
        assert!(err.contains("lint"), "{err}");
        assert!(Baseline::parse("{}").is_err());
    }
}
