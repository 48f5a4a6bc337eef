//! UI tests in clippy's manner: every `tests/ui/*.rs` is linted and its rendered
//! diagnostics are compared with the `.stderr` file beside it. Run with `BLESS=1` to
//! rewrite the expectations (then review the diff).
//!
//! Directives, as `//@ key: value` lines in the input:
//! - `path: src/x.rs` — the workspace-relative path the file is linted as
//!   (default `src/<name>.rs`);
//! - `quarantine: glob`, `boundary: glob` — configuration globs;
//! - `target: lib|bin|test|example|bench|build-script` (default `lib`);
//! - `extern: local=real` — a dependency, possibly renamed;
//! - `self-crate: name` — the crate being linted;
//! - `enable: rule-id` — also report this rule. By default only the rule the file
//!   is named after (`<rule>.rs`, `<rule>-<case>.rs`) reports, with
//!   `invalid-suppression` and `parse-error`, so each expectation shows one rule.

use std::path::{Path, PathBuf};

use asupersync_lints::config::Config;
use asupersync_lints::render::human::render_finding;
use asupersync_lints::resolve::ExternCrates;
use asupersync_lints::workspace::TargetKind;
use asupersync_lints::{lint_file, rules, FileInput, Level};

struct Case {
    rel_path: String,
    target_kind: TargetKind,
    crates: ExternCrates,
    config: Config,
}

/// The rule a UI file is named after.
fn rule_of(name: &str) -> &'static str {
    rules::catalogue()
        .map(|r| r.id)
        .filter(|id| name == *id || name.starts_with(&format!("{id}-")))
        .max_by_key(|id| id.len())
        .unwrap_or_else(|| panic!("tests/ui/{name}.rs is not named after a rule"))
}

fn parse_directives(name: &str, source: &str) -> Case {
    let mut rel_path = format!("src/{name}.rs");
    let mut enabled = vec![rule_of(name), "invalid-suppression", "parse-error"];
    let mut target_kind = TargetKind::Lib;
    let mut crates = ExternCrates::new();
    let mut config = Config::builder();
    for line in source.lines() {
        let Some(directive) = line.trim().strip_prefix("//@") else {
            continue;
        };
        let (key, value) = directive
            .split_once(':')
            .unwrap_or_else(|| panic!("{name}: bad directive `{line}`"));
        let value = value.trim();
        match key.trim() {
            "path" => rel_path = value.to_string(),
            "quarantine" => {
                config.quarantine(value);
            }
            "boundary" => {
                config.boundary(value);
            }
            "target" => {
                target_kind = match value {
                    "lib" => TargetKind::Lib,
                    "bin" => TargetKind::Bin,
                    "test" => TargetKind::Test,
                    "example" => TargetKind::Example,
                    "bench" => TargetKind::Bench,
                    "build-script" => TargetKind::BuildScript,
                    other => panic!("{name}: unknown target `{other}`"),
                }
            }
            "extern" => {
                let (local, real) = value.split_once('=').expect("extern: local=real");
                crates.insert(local.trim(), real.trim());
            }
            "self-crate" => crates.set_self_crate(value),
            "enable" => enabled.push(rules::find(value).expect("enable: a known rule").id),
            other => panic!("{name}: unknown directive `{other}`"),
        }
    }
    for rule in rules::catalogue() {
        let level = if enabled.contains(&rule.id) {
            rule.default_level
        } else {
            Level::Allow
        };
        config
            .level(rule.id, level, None)
            .expect("catalogue ids are known");
    }
    Case {
        rel_path,
        target_kind,
        crates,
        config: config.build().expect("directive globs are valid"),
    }
}

fn render_case(name: &str, source: &str) -> String {
    let case = parse_directives(name, source);
    let input = FileInput {
        source,
        rel_path: &case.rel_path,
        target_kind: case.target_kind,
        crates: &case.crates,
        package: None,
    };
    lint_file(&input, &case.config)
        .iter()
        .map(|f| render_finding(f, Some(source), false))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

fn ui_inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(ui_dir())
        .expect("tests/ui exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    inputs.sort();
    inputs
}

fn bless_requested() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0")
}

#[test]
fn ui() {
    let bless = bless_requested();
    let mut failures = Vec::new();
    for input in ui_inputs() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let source = std::fs::read_to_string(&input).unwrap();
        let actual = render_case(&name, &source);
        let expected_path = input.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "=== {name}: expected ({}):\n{expected}\n=== actual:\n{actual}",
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} UI test(s) differ (re-bless with BLESS=1 and review):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_ui_test_with_findings() {
    if bless_requested() {
        // The expectations are being rewritten concurrently by `ui`.
        return;
    }
    let inputs = ui_inputs();
    for rule in rules::catalogue() {
        let has_case = inputs.iter().any(|p| {
            let name = p.file_stem().unwrap().to_string_lossy();
            name == rule.id || name.starts_with(&format!("{}-", rule.id))
        });
        assert!(has_case, "no tests/ui/{}.rs", rule.id);
        let stderr = std::fs::read_to_string(ui_dir().join(format!("{}.stderr", rule.id)))
            .unwrap_or_default();
        assert!(
            stderr.contains(&format!("[{}]", rule.id)),
            "tests/ui/{}.stderr has no `{}` finding",
            rule.id,
            rule.id
        );
    }
}
