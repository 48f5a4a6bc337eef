//! `cargo asupersync lint` and `explain`, run as the real binary on the fixture
//! workspaces of `tests/fixtures/lint-*` (each its own dependency-free workspace).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn cargo_asupersync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-asupersync"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn lint(name: &str, extra: &[&str]) -> Output {
    let path = fixture(name);
    let mut args = vec!["lint", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    cargo_asupersync(&args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// `(rule, file, line)` of every JSON finding.
fn findings(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn triple(rule: &str, file: &str, line: u64) -> (String, String, u64) {
    (rule.to_string(), file.to_string(), line)
}

#[test]
fn clean_workspace_exits_zero_with_a_summary() {
    let output = lint("lint-clean", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        "asupersync lint: 1 file checked, no findings\n"
    );
}

#[test]
fn deny_findings_exit_one_with_rustc_style_diagnostics() {
    let output = lint("lint-findings", &[]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("error[cx-first]: `cx: &Cx` is parameter 2 of `handle`"),
        "{text}"
    );
    assert!(text.contains(" --> src/lib.rs:5:24"), "{text}");
    assert!(
        text.contains("5 | pub fn handle(id: u32, cx: &Cx) -> u32 {"),
        "{text}"
    );
    assert!(
        text.contains("= help: move `cx: &Cx` to the front"),
        "{text}"
    );
    assert!(text.contains("warning[loop-without-checkpoint]"), "{text}");
    assert!(
        text.contains("asupersync lint: 3 files checked, 1 deny, 1 warn"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn json_output_has_the_design_shape() {
    let output = lint("lint-findings", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["version"], 1);
    assert_eq!(report["tool"], "cargo-asupersync lint");
    assert_eq!(
        report["summary"],
        serde_json::json!({"files": 3, "deny": 1, "warn": 1})
    );
    let first = &report["findings"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "column",
            "end_column",
            "end_line",
            "file",
            "help",
            "line",
            "message",
            "rule",
            "severity"
        ]
    );
    assert_eq!(first["rule"], "cx-first");
    assert_eq!(first["severity"], "deny");
    assert_eq!(first["file"], "src/lib.rs");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(5), Some(24))
    );
    assert_eq!(
        (first["end_line"].as_u64(), first["end_column"].as_u64()),
        (Some(5), Some(31))
    );
    assert_eq!(
        findings(&report),
        [
            triple("cx-first", "src/lib.rs", 5),
            triple("loop-without-checkpoint", "src/worker.rs", 4),
        ]
    );
}

#[test]
fn sarif_output_parses_back_with_rules_and_relative_locations() {
    let output = lint("lint-findings", &["--format", "sarif"]);
    assert_eq!(output.status.code(), Some(1));
    let log: serde_sarif::sarif::Sarif =
        serde_json::from_slice(&output.stdout).expect("valid SARIF");
    assert_eq!(log.version, serde_json::json!("2.1.0"));
    let run = &log.runs[0];
    let rules = run.tool.driver.rules.as_ref().unwrap();
    assert!(rules.iter().any(|r| r.id == "cx-first" && r.help.is_some()));
    let results = run.results.as_ref().unwrap();
    assert_eq!(results.len(), 2);
    let result = &results[0];
    assert_eq!(result.rule_id.as_deref(), Some("cx-first"));
    let rule_index = result.rule_index.unwrap() as usize;
    assert_eq!(rules[rule_index].id, "cx-first");
    let physical = result.locations.as_ref().unwrap()[0]
        .physical_location
        .as_ref()
        .unwrap();
    let artifact = physical.artifact_location.as_ref().unwrap();
    assert_eq!(artifact.uri.as_deref(), Some("src/lib.rs"));
    let region = physical.region.as_ref().unwrap();
    assert_eq!(
        (region.start_line, region.start_column),
        (Some(5), Some(24))
    );
}

#[test]
fn warnings_pass_unless_deny_warnings() {
    let output = lint("lint-warn-only", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("warning[blocking-in-async]"));
    let output = lint("lint-warn-only", &["--deny-warnings"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn configuration_sets_quarantine_boundary_and_levels() {
    let output = lint("lint-config", &["--format", "json"]);
    let report = json(&output);
    // Only the Tokio use outside `src/legacy/**`: cx-first is allowed, the bin is a
    // boundary, the legacy module is quarantined.
    assert_eq!(
        findings(&report),
        [triple("tokio-outside-quarantine", "src/lib.rs", 9)]
    );
    // The help names the native replacement from the mapping data.
    let help = report["findings"][0]["help"].as_str().unwrap();
    assert!(
        help.starts_with("use `asupersync::channel::mpsc::channel` instead"),
        "{help}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn asupersync_toml_sets_levels() {
    let output = lint("lint-toml-config", &["--format", "json"]);
    let report = json(&output);
    assert_eq!(report["findings"][0]["rule"], "blocking-in-async");
    assert_eq!(report["findings"][0]["severity"], "deny");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn unknown_rule_in_config_is_a_usage_error() {
    let output = lint("lint-bad-config", &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("unknown rule `cx-frist`"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_file_that_does_not_parse_is_a_finding_and_the_rest_is_linted() {
    let output = lint("lint-parse-error", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let found = findings(&json(&output));
    assert_eq!(
        found,
        [
            triple("parse-error", "src/broken.rs", 1),
            triple("cx-first", "src/lib.rs", 3),
        ]
    );
}

#[test]
fn missing_paths_and_bad_manifests_are_usage_errors() {
    let output = lint("does-not-exist", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("error: no such file or directory"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname=").unwrap();
    let output = cargo_asupersync(&["lint", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.starts_with("error: cannot parse"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn manifest_path_option_works_like_the_path_argument() {
    let manifest = fixture("lint-clean").join("Cargo.toml");
    let output = cargo_asupersync(&["--manifest-path", manifest.to_str().unwrap(), "lint"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = cargo_asupersync(&["lint", "--format", "markdown", manifest.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn cargo_style_invocation_drops_the_subcommand_word() {
    let path = fixture("lint-clean");
    let output = cargo_asupersync(&["asupersync", "lint", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn emit_clippy_config_prints_disallowed_tables() {
    let output = cargo_asupersync(&["lint", "--emit-clippy-config"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains("[[disallowed-methods]]"), "{text}");
    assert!(text.contains("[[disallowed-types]]"), "{text}");
    assert!(text.contains("[[disallowed-macros]]"), "{text}");
}

#[test]
fn explain_prints_rule_docs_or_lists_the_rules() {
    let output = cargo_asupersync(&["explain", "await-holding-lock"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with("# await-holding-lock (default: deny)"),
        "{text}"
    );
    assert!(text.contains("### How to fix"));

    let output = cargo_asupersync(&["explain", "no-such-rule"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("no rule or mapping entry named `no-such-rule`"),
        "{err}"
    );
    assert!(err.contains("cx-first, tokio-outside-quarantine"), "{err}");
}

#[test]
fn package_metadata_configures_quarantine_and_levels() {
    let output = lint("lint-package-config", &["--format", "json"]);
    let report = json(&output);
    assert_eq!(report["findings"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["findings"][0]["rule"], "detached-spawn");
    assert_eq!(report["findings"][0]["severity"], "warn");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn color_always_colours_and_never_does_not() {
    let path = fixture("lint-findings");
    let output = cargo_asupersync(&["lint", path.to_str().unwrap(), "--color", "always"]);
    assert!(
        stdout(&output).contains("\u{1b}["),
        "escape codes with --color always"
    );
    let output = cargo_asupersync(&["lint", path.to_str().unwrap(), "--color", "never"]);
    assert!(!stdout(&output).contains('\u{1b}'));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let path = fixture("lint-findings");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-asupersync"))
        .args(["lint", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout at once, like `| head -0`.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        status.code(),
        Some(1),
        "the exit code still reports the findings"
    );
}
