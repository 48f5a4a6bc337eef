//! Configuration of the lint gate (DESIGN.md §5).
//!
//! Read from `[workspace.metadata.asupersync]` and `[package.metadata.asupersync]`
//! in Cargo.toml, and from `asupersync.toml` at the workspace root (same keys, at top
//! level). Globs are relative to the workspace root in every source. Package tables
//! add globs for everyone and set levels for their own package's files; the
//! `asupersync.toml` levels win over the Cargo.toml ones. Any unknown key, level or
//! rule id is an error: a typo in a CI gate must not silently disable it.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};

use crate::finding::Level;
use crate::rules;
use crate::workspace::Workspace;

/// The name of the standalone configuration file at the workspace root.
pub const CONFIG_FILE: &str = "asupersync.toml";

/// Why the configuration is unusable. Displays as one line.
#[derive(Debug, thiserror::Error)]
#[error("invalid asupersync configuration in {source_name}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

/// Looks up the native replacement of a canonical Tokio-ecosystem path (for help
/// texts). The mapping data (DESIGN.md §4) lives with the command line, which
/// supplies this; without it, help texts stay generic.
pub type NativeLookup = fn(&str) -> Option<String>;

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    quarantine: GlobSet,
    boundary: GlobSet,
    /// The glob patterns, for display.
    pub quarantine_patterns: Vec<String>,
    pub boundary_patterns: Vec<String>,
    levels: BTreeMap<String, Level>,
    package_levels: BTreeMap<String, BTreeMap<String, Level>>,
    native_lookup: Option<NativeLookup>,
}

impl Default for Config {
    fn default() -> Self {
        Self::builder()
            .build()
            .expect("an empty configuration is valid")
    }
}

/// Accumulates configuration tables, then compiles the globs.
#[derive(Debug, Default)]
pub struct ConfigBuilder {
    quarantine: Vec<String>,
    boundary: Vec<String>,
    levels: BTreeMap<String, Level>,
    package_levels: BTreeMap<String, BTreeMap<String, Level>>,
}

impl Config {
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads every configuration source of a loaded workspace.
    pub fn load(workspace: &Workspace) -> Result<Config, ConfigError> {
        let mut builder = Config::builder();
        if let Some(table) = workspace.metadata.get("asupersync") {
            builder.add_json("[workspace.metadata.asupersync]", table, None)?;
        }
        for package in &workspace.packages {
            if let Some(table) = package.metadata.get("asupersync") {
                let name = format!("[package.metadata.asupersync] of {}", package.name);
                builder.add_json(&name, table, Some(&package.name))?;
            }
        }
        builder.add_file(&workspace.root.join(CONFIG_FILE))?;
        builder.build()
    }

    /// The level of `rule` for a file of `package`.
    pub fn level(&self, rule: &str, package: Option<&str>) -> Level {
        package
            .and_then(|p| self.package_levels.get(p))
            .and_then(|levels| levels.get(rule))
            .or_else(|| self.levels.get(rule))
            .copied()
            .unwrap_or_else(|| rules::default_level(rule))
    }

    /// Whether a workspace-relative path is in the Tokio quarantine.
    pub fn is_quarantined(&self, rel_path: &str) -> bool {
        self.quarantine.is_match(rel_path)
    }

    /// Supplies the Tokio → native mapping used in help texts.
    pub fn with_native_lookup(mut self, lookup: NativeLookup) -> Self {
        self.native_lookup = Some(lookup);
        self
    }

    /// The native replacement of a canonical path, when a mapping is supplied.
    pub fn native_replacement(&self, path: &str) -> Option<String> {
        self.native_lookup.and_then(|lookup| lookup(path))
    }

    /// Whether a workspace-relative path may construct an ambient `Cx`.
    pub fn is_boundary(&self, rel_path: &str) -> bool {
        self.boundary.is_match(rel_path)
    }
}

impl ConfigBuilder {
    pub fn quarantine(&mut self, glob: &str) -> &mut Self {
        self.quarantine.push(glob.to_string());
        self
    }

    pub fn boundary(&mut self, glob: &str) -> &mut Self {
        self.boundary.push(glob.to_string());
        self
    }

    /// Sets a rule's level for every file (or for one package's files).
    pub fn level(
        &mut self,
        rule: &str,
        level: Level,
        package: Option<&str>,
    ) -> Result<&mut Self, ConfigError> {
        if !rules::is_known(rule) {
            return Err(ConfigError {
                source_name: "the lint levels".into(),
                message: unknown_rule_message(rule),
            });
        }
        match package {
            Some(p) => self
                .package_levels
                .entry(p.to_string())
                .or_default()
                .insert(rule.to_string(), level),
            None => self.levels.insert(rule.to_string(), level),
        };
        Ok(self)
    }

    /// Adds `asupersync.toml` if it exists.
    pub fn add_file(&mut self, path: &Path) -> Result<&mut Self, ConfigError> {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(self);
        };
        let source_name = CONFIG_FILE.to_string();
        let value: toml::Value = toml::from_str(&text).map_err(|err| ConfigError {
            source_name: source_name.clone(),
            message: err
                .message()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })?;
        let json = serde_json::to_value(value).map_err(|err| ConfigError {
            source_name: source_name.clone(),
            message: err.to_string(),
        })?;
        self.add_json(&source_name, &json, None)
    }

    /// Adds one configuration table (as `cargo metadata` gives it, in JSON).
    pub fn add_json(
        &mut self,
        source_name: &str,
        table: &serde_json::Value,
        package: Option<&str>,
    ) -> Result<&mut Self, ConfigError> {
        let error = |message: String| ConfigError {
            source_name: source_name.to_string(),
            message,
        };
        let Some(table) = table.as_object() else {
            return Err(error("expected a table".into()));
        };
        for (key, value) in table {
            match key.as_str() {
                "quarantine" | "boundary" => {
                    let globs = string_list(value)
                        .ok_or_else(|| error(format!("`{key}` must be a list of glob strings")))?;
                    let target = if key == "quarantine" {
                        &mut self.quarantine
                    } else {
                        &mut self.boundary
                    };
                    target.extend(globs);
                }
                "lints" => {
                    let Some(levels) = value.as_object() else {
                        return Err(error("`lints` must be a table of rule = level".into()));
                    };
                    for (rule, level) in levels {
                        let level = level.as_str().and_then(Level::parse).ok_or_else(|| {
                            error(format!(
                                "the level of `{rule}` must be \"allow\", \"warn\" or \"deny\""
                            ))
                        })?;
                        self.level(rule, level, package)
                            .map_err(|e| error(e.message))?;
                    }
                }
                other => {
                    return Err(error(format!(
                        "unknown key `{other}` (expected `quarantine`, `boundary` or `lints`)"
                    )))
                }
            }
        }
        Ok(self)
    }

    pub fn build(&self) -> Result<Config, ConfigError> {
        Ok(Config {
            quarantine: compile_globs(&self.quarantine)?,
            boundary: compile_globs(&self.boundary)?,
            quarantine_patterns: self.quarantine.clone(),
            boundary_patterns: self.boundary.clone(),
            levels: self.levels.clone(),
            package_levels: self.package_levels.clone(),
            native_lookup: None,
        })
    }
}

fn unknown_rule_message(rule: &str) -> String {
    format!(
        "unknown rule `{rule}` (known rules: {})",
        rules::ids().collect::<Vec<_>>().join(", ")
    )
}

fn string_list(value: &serde_json::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn compile_globs(patterns: &[String]) -> Result<GlobSet, ConfigError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::GlobBuilder::new(pattern.trim_start_matches("./"))
            .literal_separator(true)
            .build()
            .map_err(|err| ConfigError {
                source_name: "the glob list".into(),
                message: format!("bad glob `{pattern}`: {}", err.kind()),
            })?;
        builder.add(glob);
    }
    builder.build().map_err(|err| ConfigError {
        source_name: "the glob list".into(),
        message: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_relative_paths_with_literal_separators() {
        let config = Config::builder()
            .quarantine("compat/**")
            .boundary("src/bin/*.rs")
            .build()
            .unwrap();
        assert!(config.is_quarantined("compat/src/lib.rs"));
        assert!(!config.is_quarantined("runtime/compat/x.rs"));
        assert!(config.is_boundary("src/bin/main.rs"));
        assert!(!config.is_boundary("src/bin/nested/main.rs"));
    }

    #[test]
    fn levels_come_from_defaults_workspace_and_packages() {
        let mut builder = Config::builder();
        builder
            .add_json(
                "ws",
                &json!({"lints": {"loop-without-checkpoint": "deny", "blocking-in-async": "allow"}}),
                None,
            )
            .unwrap();
        builder
            .add_json(
                "pkg",
                &json!({"lints": {"blocking-in-async": "warn"}}),
                Some("app"),
            )
            .unwrap();
        let config = builder.build().unwrap();
        assert_eq!(config.level("loop-without-checkpoint", None), Level::Deny);
        assert_eq!(config.level("blocking-in-async", None), Level::Allow);
        assert_eq!(config.level("blocking-in-async", Some("app")), Level::Warn);
        assert_eq!(config.level("cx-first", Some("app")), Level::Deny);
        assert_eq!(config.level("ignored-outcome", None), Level::Warn);
    }

    #[test]
    fn unknown_rules_keys_and_levels_are_clear_errors() {
        let err = Config::builder()
            .add_json("ws", &json!({"lints": {"cx-frist": "deny"}}), None)
            .unwrap_err();
        assert!(err.to_string().contains("unknown rule `cx-frist`"), "{err}");
        assert!(err.to_string().contains("cx-first"), "{err}");
        let err = Config::builder()
            .add_json("ws", &json!({"quarantne": []}), None)
            .unwrap_err();
        assert!(err.to_string().contains("unknown key `quarantne`"), "{err}");
        let err = Config::builder()
            .add_json("ws", &json!({"lints": {"cx-first": "forbid"}}), None)
            .unwrap_err();
        assert!(
            err.to_string().contains("\"allow\", \"warn\" or \"deny\""),
            "{err}"
        );
        let err = Config::builder().quarantine("a/[").build().unwrap_err();
        assert!(err.to_string().contains("bad glob `a/[`"), "{err}");
    }
}
