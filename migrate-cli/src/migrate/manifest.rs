//! Tier 1: the package manifest, edited with `toml_edit` so every comment, blank line
//! and the order of keys outside the changed entries stay as they were.
//!
//! - `asupersync` is added when a rewrite writes an `asupersync::` path: to
//!   `[dependencies]` when library or binary code needs it, else to
//!   `[dev-dependencies]` (tests, examples, benches).
//! - `asupersync-tokio-compat` is added only next to it, and only if something stays
//!   Tokio-bound (Tokio usages left, or a compat-holdout crate such as hyper).
//! - `tokio` is removed from every dependency table (with its features, `test-util`
//!   included) only when no Tokio usage is left and nothing else names it: a `[features]`
//!   entry or an `optional` Tokio would break the manifest, so those keep it (reported).
//!   A comment on the lines right above a removed entry belongs to it and goes with it.

use std::path::Path;

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use crate::mapping::{mapping, Class};

/// Where the new dependencies come from.
#[derive(Debug, Clone)]
pub enum DependencySource {
    /// crates.io, this tool's own `major.minor`.
    Registry,
    /// A local checkout of the asupersync workspace (`DIR/runtime`, `DIR/compat`).
    Path(std::path::PathBuf),
}

/// What the manifest needs, decided from the source rewrites.
#[derive(Debug, Clone, Default)]
pub struct ManifestNeeds {
    /// `Some(table)` when an `asupersync::` path is written: `dependencies` or
    /// `dev-dependencies`.
    pub asupersync_in: Option<&'static str>,
    /// Whether Tokio usages are left in the package's code.
    pub tokio_left: bool,
    /// Whether this run rewrites Tokio usages. A Tokio dependency that no code uses is
    /// not removed: it may be there for its features (feature unification) or for code
    /// the resolver cannot see, which a person knows and the tool does not.
    pub tokio_rewritten: bool,
    /// `Some(table)` when the package is quarantined (see [`super::plan`]): its Tokio
    /// code names `asupersync_tokio_compat::tokio`, so `tokio` goes and
    /// `asupersync-tokio-compat` comes into `table` (`dependencies` when library or
    /// binary code needs it), with `test-util` where Tokio had it.
    pub quarantine_in: Option<&'static str>,
}

/// The planned manifest: its new text and one line per change (or per change refused).
#[derive(Debug, Clone)]
pub struct ManifestPlan {
    pub new_text: String,
    pub changes: Vec<String>,
    /// Why Tokio stays in the manifest although no usage needs it.
    pub kept_tokio: Option<String>,
}

const DEPENDENCY_TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

/// The dependency tables of a manifest: the top-level ones and `[target.'cfg'.*]`.
fn dependency_tables(doc: &mut DocumentMut) -> Vec<(String, &mut Table)> {
    let mut tables = Vec::new();
    let (top, target): (Vec<_>, Vec<_>) = doc
        .as_table_mut()
        .iter_mut()
        .partition(|(key, _)| key.get() != "target");
    for (key, item) in top {
        if DEPENDENCY_TABLES.contains(&key.get()) {
            if let Some(table) = item.as_table_mut() {
                tables.push((key.get().to_string(), table));
            }
        }
    }
    for (_, item) in target {
        let Some(targets) = item.as_table_mut() else {
            continue;
        };
        for (cfg, item) in targets.iter_mut() {
            let Some(cfg_table) = item.as_table_mut() else {
                continue;
            };
            for (key, item) in cfg_table.iter_mut() {
                if DEPENDENCY_TABLES.contains(&key.get()) {
                    if let Some(table) = item.as_table_mut() {
                        tables.push((format!("target.{}.{}", cfg.get(), key.get()), table));
                    }
                }
            }
        }
    }
    tables
}

/// The package name a dependency entry stands for (`rt = { package = "tokio" }` → tokio).
fn package_of<'a>(key: &'a str, item: &'a Item) -> &'a str {
    item.get("package").and_then(Item::as_str).unwrap_or(key)
}

/// Every dependency of the manifest, by package name.
pub fn dependency_names(text: &str) -> Vec<String> {
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return Vec::new();
    };
    let mut names: Vec<String> = dependency_tables(&mut doc)
        .into_iter()
        .flat_map(|(_, table)| {
            table
                .iter()
                .map(|(key, item)| package_of(key, item).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The first compat-holdout or hard-blocker crate the manifest depends on.
pub fn holdout_dependency(text: &str) -> Option<String> {
    dependency_names(text).into_iter().find(|name| {
        mapping()
            .krate(name)
            .is_some_and(|krate| matches!(krate.class, Class::CompatHoldout | Class::HardBlocker))
    })
}

fn new_dependency(source: &DependencySource, folder: &str) -> Item {
    match source {
        DependencySource::Registry => {
            let version = env!("CARGO_PKG_VERSION");
            let major_minor: Vec<&str> = version.split('.').take(2).collect();
            Item::Value(Value::from(major_minor.join(".")))
        }
        DependencySource::Path(dir) => {
            let mut table = InlineTable::new();
            table.insert("path", Value::from(join(dir, folder)));
            Item::Value(Value::InlineTable(table))
        }
    }
}

fn join(dir: &Path, folder: &str) -> String {
    dir.join(folder).display().to_string().replace('\\', "/")
}

/// Plans the manifest changes; `text` is the manifest as read.
pub fn plan(
    text: &str,
    needs: &ManifestNeeds,
    source: &DependencySource,
) -> Result<ManifestPlan, toml_edit::TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    let mut changes = Vec::new();
    let holdout = holdout_dependency(text);
    let has = |doc: &mut DocumentMut, name: &str| {
        dependency_tables(doc).iter().any(|(_, table)| {
            table
                .iter()
                .any(|(key, item)| package_of(key, item) == name)
        })
    };

    let mut kept_tokio = None;
    let remove_tokio = if needs.quarantine_in.is_some() {
        has(&mut doc, "tokio")
    } else if needs.tokio_left || !has(&mut doc, "tokio") {
        false
    } else if !needs.tokio_rewritten {
        kept_tokio = Some(
            "no code uses it; it may be there for its features or for code the tool cannot \
             see: remove it by hand if nothing needs it"
                .to_string(),
        );
        false
    } else if let Some(why) = tokio_named_elsewhere(&mut doc) {
        kept_tokio = Some(why);
        false
    } else {
        true
    };

    if let Some(table_name) = needs.asupersync_in {
        let stays_tokio_bound = !remove_tokio && has(&mut doc, "tokio") || holdout.is_some();
        let mut added = Vec::new();
        if !has(&mut doc, "asupersync") {
            added.push(("asupersync", "runtime"));
        }
        if stays_tokio_bound
            && needs.quarantine_in.is_none()
            && !has(&mut doc, "asupersync-tokio-compat")
        {
            added.push(("asupersync-tokio-compat", "compat"));
        }
        if !added.is_empty() {
            let table = doc
                .entry(table_name)
                .or_insert_with(|| Item::Table(Table::new()))
                .as_table_mut();
            if let Some(table) = table {
                for (name, folder) in added {
                    table.insert(name, new_dependency(source, folder));
                    changes.push(format!("add `{name}` to [{table_name}]"));
                }
            }
        }
    }

    let mut test_util_in = Vec::new();
    if remove_tokio {
        for (table_name, table) in dependency_tables(&mut doc) {
            let keys: Vec<String> = table
                .iter()
                .filter(|(key, item)| package_of(key, item) == "tokio")
                .map(|(key, _)| key.to_string())
                .collect();
            for key in keys {
                let features = table
                    .get(&key)
                    .and_then(|item| item.get("features"))
                    .and_then(Item::as_array)
                    .map(|features| {
                        features
                            .iter()
                            .filter_map(|f| f.as_str().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                table.remove(&key);
                if features.iter().any(|f| f == "test-util") {
                    test_util_in.push(table_name.clone());
                }
                let with = if features.is_empty() {
                    String::new()
                } else {
                    format!(" (features: {})", features.join(", "))
                };
                changes.push(format!("remove `{key}`{with} from [{table_name}]"));
            }
        }
    }
    if let Some(table_name) = needs.quarantine_in {
        add_compat(
            &mut doc,
            table_name,
            source,
            test_util_in.iter().any(|t| t == table_name),
            &mut changes,
        );
        // Tokio's test utilities for tests on its paused clock, when only the dev build
        // had them: cargo adds the feature for that build only.
        if table_name != "dev-dependencies" && test_util_in.iter().any(|t| t == "dev-dependencies")
        {
            add_compat(&mut doc, "dev-dependencies", source, true, &mut changes);
        }
    }
    Ok(ManifestPlan {
        new_text: doc.to_string(),
        changes,
        kept_tokio,
    })
}

/// Adds `asupersync-tokio-compat` to `table_name` (with `test-util` if asked) unless
/// it is there.
fn add_compat(
    doc: &mut DocumentMut,
    table_name: &str,
    source: &DependencySource,
    test_util: bool,
    changes: &mut Vec<String>,
) {
    let Some(table) = doc
        .entry(table_name)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
    else {
        return;
    };
    if table
        .iter()
        .any(|(key, item)| package_of(key, item) == "asupersync-tokio-compat")
    {
        return;
    }
    let mut entry = new_dependency(source, "compat");
    let mut with = "";
    if test_util {
        let mut inline = match entry {
            Item::Value(Value::InlineTable(inline)) => inline,
            other => {
                let mut inline = InlineTable::new();
                if let Some(version) = other.as_value() {
                    inline.insert("version", version.clone());
                }
                inline
            }
        };
        let mut features = toml_edit::Array::new();
        features.push("test-util");
        inline.insert("features", Value::Array(features));
        entry = Item::Value(Value::InlineTable(inline));
        with = " (features: test-util)";
    }
    table.insert("asupersync-tokio-compat", entry);
    changes.push(format!(
        "add `asupersync-tokio-compat`{with} to [{table_name}]: the quarantine's Tokio"
    ));
}

/// Whether the `tokio` dependency can be deleted once no code names it directly
/// (nothing else in the manifest names it).
pub fn tokio_can_leave(text: &str) -> bool {
    text.parse::<DocumentMut>()
        .is_ok_and(|mut doc| tokio_named_elsewhere(&mut doc).is_none())
}

/// Why the Tokio dependency cannot simply be deleted, if something else names it.
fn tokio_named_elsewhere(doc: &mut DocumentMut) -> Option<String> {
    let mut keys = Vec::new();
    for (_, table) in dependency_tables(doc) {
        for (key, item) in table.iter() {
            if package_of(key, item) == "tokio" {
                if item.get("optional").and_then(Item::as_bool) == Some(true) {
                    return Some(format!(
                        "`{key}` is an optional dependency (an implicit feature); remove it by hand"
                    ));
                }
                keys.push(key.to_string());
            }
        }
    }
    let features = doc.get("features")?.as_table()?;
    for (feature, list) in features.iter() {
        let names = list.as_array()?;
        for name in names.iter().filter_map(|v| v.as_str()) {
            let dep = name.trim_start_matches("dep:");
            let dep = dep.split(['/', '?']).next().unwrap_or(dep);
            if keys.iter().any(|key| key == dep) {
                return Some(format!(
                    "feature `{feature}` names `{name}`; remove it by hand"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[package]
name = "app"   # the app
version = "0.1.0"

[dependencies]
# the runtime
tokio = { version = "1", features = ["macros", "rt"] }
serde = "1"

[dev-dependencies]
tokio = { version = "1", features = ["test-util"] }
"#;

    #[test]
    fn tokio_is_replaced_and_other_comments_stay() {
        let needs = ManifestNeeds {
            asupersync_in: Some("dependencies"),
            tokio_left: false,
            tokio_rewritten: true,
            ..ManifestNeeds::default()
        };
        let plan = plan(MANIFEST, &needs, &DependencySource::Registry).unwrap();
        assert_eq!(
            plan.new_text,
            r#"[package]
name = "app"   # the app
version = "0.1.0"

[dependencies]
serde = "1"
asupersync = "0.1"

[dev-dependencies]
"#
        );
        assert_eq!(
            plan.changes,
            [
                "add `asupersync` to [dependencies]",
                "remove `tokio` (features: macros, rt) from [dependencies]",
                "remove `tokio` (features: test-util) from [dev-dependencies]",
            ]
        );
    }

    #[test]
    fn compat_comes_only_with_tokio_left() {
        let needs = ManifestNeeds {
            asupersync_in: Some("dev-dependencies"),
            tokio_left: true,
            tokio_rewritten: true,
            ..ManifestNeeds::default()
        };
        let source = DependencySource::Path("/x/asupersync".into());
        let plan = plan(MANIFEST, &needs, &source).unwrap();
        assert!(plan
            .new_text
            .contains("tokio = { version = \"1\", features = [\"macros\", \"rt\"] }"));
        assert!(plan.new_text.ends_with(
            "asupersync = { path = \"/x/asupersync/runtime\" }\nasupersync-tokio-compat = { path = \"/x/asupersync/compat\" }\n"
        ), "{}", plan.new_text);
    }

    #[test]
    fn a_feature_naming_tokio_keeps_it() {
        let text = format!("{MANIFEST}\n[features]\nfull = [\"tokio/full\"]\n");
        let needs = ManifestNeeds {
            tokio_rewritten: true,
            ..ManifestNeeds::default()
        };
        let plan = plan(&text, &needs, &DependencySource::Registry).unwrap();
        assert_eq!(plan.new_text, text);
        assert!(plan.kept_tokio.unwrap().contains("tokio/full"));
    }

    #[test]
    fn a_tokio_no_code_uses_is_left_to_a_person() {
        let plan = plan(
            MANIFEST,
            &ManifestNeeds::default(),
            &DependencySource::Registry,
        )
        .unwrap();
        assert_eq!(plan.new_text, MANIFEST);
        assert!(plan.kept_tokio.unwrap().contains("no code uses it"));
    }

    #[test]
    fn nothing_needed_is_no_change() {
        let needs = ManifestNeeds {
            asupersync_in: None,
            tokio_left: true,
            tokio_rewritten: false,
            ..ManifestNeeds::default()
        };
        let plan = plan(MANIFEST, &needs, &DependencySource::Registry).unwrap();
        assert_eq!(plan.new_text, MANIFEST);
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn a_quarantined_package_trades_tokio_for_compat_and_keeps_test_util_for_tests() {
        let needs = ManifestNeeds {
            asupersync_in: Some("dependencies"),
            quarantine_in: Some("dependencies"),
            ..ManifestNeeds::default()
        };
        let source = DependencySource::Path("/x/asupersync".into());
        let plan = plan(MANIFEST, &needs, &source).unwrap();
        assert!(!plan.new_text.contains("tokio = "), "{}", plan.new_text);
        assert!(plan.new_text.contains(
            "[dependencies]\nserde = \"1\"\nasupersync = { path = \"/x/asupersync/runtime\" }\n\
             asupersync-tokio-compat = { path = \"/x/asupersync/compat\" }\n"
        ), "{}", plan.new_text);
        assert!(plan.new_text.ends_with(
            "[dev-dependencies]\nasupersync-tokio-compat = { path = \"/x/asupersync/compat\", features = [\"test-util\"] }\n"
        ), "{}", plan.new_text);
        assert!(tokio_can_leave(MANIFEST));
        assert!(!tokio_can_leave(&format!(
            "{MANIFEST}\n[features]\nfull = [\"tokio/full\"]\n"
        )));
    }
}
