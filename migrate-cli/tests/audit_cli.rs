//! `cargo asupersync audit` end to end: the real binary on the fixture workspaces under
//! `tests/fixtures/audit-*`, with exact expected reports (insta snapshots, the workspace
//! root redacted to `[ROOT]`), plus the gate modes and bad input.
//!
//! Each test copies its fixture into a temporary directory first, so that `cargo
//! metadata` can never touch the repository and tests can edit files freely.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-asupersync");

/// A fixture copied into a temporary directory.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(name);
        copy_dir(&source, &root);
        let root = root.canonicalize().unwrap();
        Fixture { _dir: dir, root }
    }

    fn audit(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("audit")
            .arg(&self.root)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// Stdout with the root replaced by `[ROOT]`.
    fn redacted(&self, output: &Output) -> String {
        let text = String::from_utf8(output.stdout.clone()).unwrap();
        text.replace(&self.root.display().to_string(), "[ROOT]")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let output = self.audit(&all);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.join(rel), text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn usages_of<'a>(report: &'a Value, file: &str) -> Vec<&'a Value> {
    report["usages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|usage| usage["file"] == file)
        .collect()
}

// ------------------------------------------------------------------ exact reports

#[test]
fn resolution_fixture_json_report() {
    let fixture = Fixture::new("audit-resolution");
    let output = fixture.audit(&["--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(fixture.redacted(&output));
}

#[test]
fn resolution_fixture_human_report() {
    let fixture = Fixture::new("audit-resolution");
    let output = fixture.audit(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(fixture.redacted(&output));
}

#[test]
fn resolution_fixture_markdown_report() {
    let fixture = Fixture::new("audit-resolution");
    let output = fixture.audit(&["--format", "markdown"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(fixture.redacted(&output));
}

#[test]
fn resolution_fixture_sarif_report() {
    let fixture = Fixture::new("audit-resolution");
    let output = fixture.audit(&["--format", "sarif"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(fixture.redacted(&output));
}

#[test]
fn dependency_fixture_json_report() {
    let fixture = Fixture::new("audit-deps");
    let output = fixture.audit(&["--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(fixture.redacted(&output));
}

#[test]
fn dependency_fixture_human_report() {
    let fixture = Fixture::new("audit-deps");
    let output = fixture.audit(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(fixture.redacted(&output));
}

// ------------------------------------------------------------------ resolution facts
// The snapshots pin everything; these say in words what matters most.

#[test]
fn comments_strings_and_local_modules_named_tokio_are_not_usages() {
    let fixture = Fixture::new("audit-resolution");
    let report = fixture.json(&[]);
    let main_lines: Vec<u64> = usages_of(&report, "app/src/main.rs")
        .iter()
        .map(|usage| usage["line"].as_u64().unwrap())
        .collect();
    let source = fixture.read("app/src/main.rs");
    for (index, line) in source.lines().enumerate() {
        let is_text = line.trim_start().starts_with("//")
            || line.trim_start().starts_with("/*")
            || line.contains("\"tokio::spawn");
        if is_text {
            assert!(
                !main_lines.contains(&(index as u64 + 1)),
                "line {} is a comment or string: {line}",
                index + 1
            );
        }
    }
    // `mod tokio { pub fn spawn() {} }` in `renamed` shadows nothing outside the crate.
    let renamed_apis: Vec<&str> = usages_of(&report, "renamed/src/lib.rs")
        .iter()
        .map(|usage| usage["api"].as_str().unwrap())
        .collect();
    assert_eq!(
        renamed_apis
            .iter()
            .filter(|a| **a == "tokio::spawn")
            .count(),
        1
    );
}

#[test]
fn renamed_aliased_grouped_and_glob_imports_resolve_to_canonical_paths() {
    let fixture = Fixture::new("audit-resolution");
    let report = fixture.json(&[]);
    let apis = |file: &str| -> Vec<String> {
        usages_of(&report, file)
            .iter()
            .map(|usage| format!("{} {}", usage["kind"].as_str().unwrap(), usage["api"]))
            .collect()
    };
    let main = apis("app/src/main.rs");
    // `use tokio::sync::mpsc as chan; chan::channel(8)`
    assert!(main.contains(&r#"path "tokio::sync::mpsc::channel""#.to_string()));
    // `use tokio::{sync::oneshot, time::{sleep, Duration}}`
    assert!(main.contains(&r#"path "tokio::sync::oneshot::channel""#.to_string()));
    // `sleep(..)` inside a `tokio::select!` body
    assert!(main.contains(&r#"macro "tokio::select""#.to_string()));
    assert!(main.contains(&r#"path "tokio::time::sleep""#.to_string()));
    assert!(main.contains(&r#"attribute "tokio::main""#.to_string()));
    // `use tokio::io::*; BufReader::new(empty())`
    let worker = apis("app/src/worker.rs");
    assert!(worker.contains(&r#"path "tokio::io::BufReader::new""#.to_string()));
    assert!(worker.contains(&r#"path "tokio::io::empty""#.to_string()));
    // `rt = { package = "tokio" }`: `rt::spawn` is `tokio::spawn`
    let renamed = apis("renamed/src/lib.rs");
    assert!(renamed.contains(&r#"path "tokio::spawn""#.to_string()));
    assert!(renamed.contains(&r#"macro "tokio::join""#.to_string()));
    // `use rt as runtime; runtime::task::yield_now()` and `::rt::task::yield_now()`
    assert!(renamed.contains(&r#"import "tokio""#.to_string()));
    let yields = renamed
        .iter()
        .filter(|api| *api == r#"path "tokio::task::yield_now""#)
        .count();
    assert_eq!(yields, 2);
}

#[test]
fn every_target_kind_is_audited() {
    let fixture = Fixture::new("audit-resolution");
    let report = fixture.json(&[]);
    for file in [
        "app/build.rs",
        "app/src/main.rs",
        "app/src/worker.rs",
        "app/tests/smoke.rs",
        "app/examples/demo.rs",
        "app/benches/throughput.rs",
        "renamed/src/lib.rs",
    ] {
        assert!(!usages_of(&report, file).is_empty(), "no usage in {file}");
    }
}

#[test]
fn a_file_that_does_not_parse_is_a_finding_and_the_rest_is_audited() {
    let fixture = Fixture::new("audit-resolution");
    let report = fixture.json(&[]);
    let errors = report["parse_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"], "app/src/broken.rs");
    assert_eq!(errors[0]["line"], 2);
    assert!(usages_of(&report, "app/src/broken.rs").is_empty());
    assert!(!usages_of(&report, "app/src/main.rs").is_empty());
    for format in ["human", "markdown", "sarif"] {
        let output = fixture.audit(&["--format", format]);
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("app/src/broken.rs"),
            "{format} does not report the parse error"
        );
    }
}

#[test]
fn verdicts_follow_the_design_contract() {
    let verdicts = |report: &Value| -> Vec<(String, String)> {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["verdict"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let resolution = Fixture::new("audit-resolution").json(&[]);
    assert_eq!(
        verdicts(&resolution),
        [
            // JoinSet, CancellationToken and a hand-built runtime need a person.
            ("app".to_string(), "needs-quarantine".to_string()),
            // Mutex::lock, spawn and JoinHandle need a cx migrate cannot thread there.
            ("renamed".to_string(), "needs-quarantine".to_string()),
            ("plain".to_string(), "native".to_string()),
        ]
    );
    let deps = Fixture::new("audit-deps").json(&[]);
    assert_eq!(
        verdicts(&deps),
        [
            ("web".to_string(), "needs-quarantine".to_string()),
            ("blocked".to_string(), "blocked".to_string()),
            // No code of its own, but it pulls hyper through `web`.
            ("consumer".to_string(), "needs-quarantine".to_string()),
        ]
    );
}

#[test]
fn dependency_paths_read_like_cargo_tree_inverted() {
    let report = Fixture::new("audit-deps").json(&[]);
    let hyper = report["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|dep| dep["name"] == "hyper")
        .unwrap();
    assert_eq!(hyper["class"], "compat-holdout");
    assert_eq!(
        hyper["paths"],
        serde_json::json!([["web", "hyper"], ["consumer", "web", "hyper"]])
    );
}

#[test]
fn path_may_be_a_manifest_or_given_with_manifest_path() {
    let fixture = Fixture::new("audit-deps");
    let by_dir = fixture.json(&[]);
    let manifest = fixture.root.join("Cargo.toml");
    let by_manifest = Command::new(BIN)
        .args(["audit", "--format", "json"])
        .arg(&manifest)
        .output()
        .unwrap();
    let by_flag = Command::new(BIN)
        .args(["audit", "--format", "json", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap();
    for output in [by_manifest, by_flag] {
        assert!(output.status.success(), "{}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report, by_dir);
    }
}

#[test]
fn machine_formats_keep_stderr_silent() {
    let fixture = Fixture::new("audit-resolution");
    for format in ["json", "sarif"] {
        let output = fixture.audit(&["--format", format]);
        assert!(output.status.success());
        assert_eq!(stderr(&output), "", "{format}");
        let _: Value = serde_json::from_slice(&output.stdout).unwrap();
    }
}

// ------------------------------------------------------------------ gates

#[test]
fn fail_on_a_class_exits_1_only_when_that_class_is_present() {
    let deps = Fixture::new("audit-deps");
    let output = deps.audit(&["--fail-on", "hard-blocker"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("hard-blocker"),
        "{}",
        stderr(&output)
    );
    let resolution = Fixture::new("audit-resolution");
    assert_eq!(
        resolution
            .audit(&["--fail-on", "hard-blocker"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        resolution.audit(&["--fail-on", "manual"]).status.code(),
        Some(1)
    );
    assert_eq!(
        resolution
            .audit(&["--fail-on", "no-such-class"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn baseline_fails_only_on_usage_that_is_new_and_tolerates_line_shifts() {
    let fixture = Fixture::new("audit-resolution");
    let saved = fixture.audit(&["--format", "json"]);
    let baseline = fixture.root.join("baseline.json");
    std::fs::write(&baseline, &saved.stdout).unwrap();
    let baseline_arg = baseline.to_str().unwrap();

    // Unchanged: clean.
    let output = fixture.audit(&["--baseline", baseline_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // Lines shifted by an edit above every usage: still clean.
    let demo = fixture.read("app/examples/demo.rs");
    fixture.write("app/examples/demo.rs", &format!("// moved\n\n{demo}"));
    let output = fixture.audit(&["--baseline", baseline_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // A new usage: exit 1, listed on stderr and in the report.
    let smoke = fixture.read("app/tests/smoke.rs");
    fixture.write(
        "app/tests/smoke.rs",
        &format!(
            "{smoke}\n#[tokio::test]\nasync fn spawns() {{\n    tokio::spawn(async {{}});\n}}\n"
        ),
    );
    let output = fixture.audit(&["--baseline", baseline_arg, "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let new: Vec<String> = report["new_since_baseline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}:{} {}",
                u["file"].as_str().unwrap(),
                u["line"],
                u["api"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        new,
        [
            "app/tests/smoke.rs:6 tokio::test",
            "app/tests/smoke.rs:8 tokio::spawn"
        ]
    );
    let err = stderr(&output);
    assert!(err.contains("2 usages are new since the baseline"), "{err}");
    assert!(
        err.contains("app/tests/smoke.rs:8:5: tokio::spawn (app)"),
        "{err}"
    );

    // SARIF marks the new results.
    let output = fixture.audit(&["--baseline", baseline_arg, "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    let states: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["baselineState"].as_str())
        .filter(|state| *state == "new")
        .collect();
    assert_eq!(states.len(), 2);
}

// ------------------------------------------------------------------ bad input

fn assert_input_error(output: &Output, needle: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_missing_path_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let output = Command::new(BIN)
        .arg("audit")
        .arg(&missing)
        .output()
        .unwrap();
    assert_input_error(&output, "no Cargo.toml");
}

#[test]
fn an_unparsable_manifest_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = ").unwrap();
    let output = Command::new(BIN)
        .arg("audit")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_input_error(&output, "Cargo.toml");
}

#[test]
fn a_missing_path_dependency_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\n\n[package]\nname = \"lost\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\ngone = { path = \"../does-not-exist\" }\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .arg("audit")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_input_error(&output, "gone");
}

#[test]
fn a_dependency_version_that_does_not_exist_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\n\n[package]\nname = \"unresolvable\"\nversion = \"0.1.0\"\n\
         edition = \"2021\"\n\n[dependencies]\npin-project-lite = \"=999.0.0\"\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .arg("audit")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_input_error(&output, "cannot resolve dependencies");
    assert!(
        stderr(&output).contains("pin-project-lite"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unreadable_baseline_is_an_input_error() {
    let fixture = Fixture::new("audit-deps");
    let output = fixture.audit(&["--baseline", "/nonexistent/baseline.json"]);
    assert_input_error(&output, "baseline");
    fixture.write("not-json.json", "{ nope");
    let path = fixture.root.join("not-json.json");
    let output = fixture.audit(&["--baseline", path.to_str().unwrap()]);
    assert_input_error(&output, "not an audit report");
}

#[test]
fn sarif_output_is_a_valid_sarif_2_1_0_log() {
    let fixture = Fixture::new("audit-deps");
    let output = fixture.audit(&["--format", "sarif"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The typed SARIF model refuses a log that does not follow the 2.1.0 schema.
    let log: serde_sarif::sarif::Sarif = serde_json::from_slice(&output.stdout).unwrap();
    let results = log.runs[0].results.as_ref().unwrap();
    let report = fixture.json(&[]);
    let usages = report["usages"].as_array().unwrap().len();
    // Every usage, plus one result per member that pulls a holdout or a blocker.
    assert_eq!(results.len(), usages + 3);
}

#[test]
fn color_is_used_only_when_asked_or_on_a_terminal() {
    let fixture = Fixture::new("audit-deps");
    let plain = fixture.audit(&[]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\x1b'));
    let colored = fixture.audit(&["--color", "always"]);
    let text = String::from_utf8_lossy(&colored.stdout);
    assert!(text.contains("\x1b[31mblocked"), "{text}");
    let json = fixture.audit(&["--color", "always", "--format", "json"]);
    assert!(!String::from_utf8_lossy(&json.stdout).contains('\x1b'));
}

#[test]
fn dependency_paths_are_capped_and_the_cap_is_reported() {
    // A member reaching a stub `tokio` through 20 intermediate crates: 20 paths.
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let package = |name: &str, deps: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}")
    };
    write("vendor/tokio/Cargo.toml", &package("tokio", ""));
    write("vendor/tokio/src/lib.rs", "");
    let mut member_deps = String::new();
    for i in 0..20 {
        write(
            &format!("vendor/mid{i}/Cargo.toml"),
            &package(&format!("mid{i}"), "tokio = { path = \"../tokio\" }\n"),
        );
        write(&format!("vendor/mid{i}/src/lib.rs"), "");
        member_deps.push_str(&format!("mid{i} = {{ path = \"../vendor/mid{i}\" }}\n"));
    }
    write(
        "ws/Cargo.toml",
        &format!("[workspace]\n\n{}", package("app", &member_deps)),
    );
    write("ws/src/lib.rs", "");
    let output = Command::new(BIN)
        .args(["audit", "--format", "json"])
        .arg(dir.path().join("ws"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let tokio = &report["dependencies"][0];
    assert_eq!(tokio["name"], "tokio");
    assert_eq!(tokio["paths"].as_array().unwrap().len(), 16);
    assert_eq!(tokio["paths_truncated"], true);
    assert_eq!(
        tokio["paths"][0],
        serde_json::json!(["app", "mid0", "tokio"])
    );
    assert_eq!(report["packages"][0]["verdict"], "ready");
}

/// The audit's estimate is what `migrate` does: on every fixture, a usage is `auto` in
/// the audit exactly when the migrate dry run rewrites that site, and the totals and
/// per-package counts agree (one planner, not two judgements).
#[test]
fn audit_estimate_is_the_migrate_dry_run() {
    for name in [
        "audit-resolution",
        "audit-deps",
        "migrate-native",
        "migrate-mixed",
        "migrate-cx",
        "migrate-select",
        "migrate-pulled",
    ] {
        let fixture = Fixture::new(name);
        let audit = fixture.json(&[]);
        let output = Command::new(BIN)
            .arg("migrate")
            .arg(&fixture.root)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let migrate: Value = serde_json::from_slice(&output.stdout).unwrap();
        let key = |v: &Value| {
            (
                v["package"].as_str().unwrap().to_string(),
                v["file"].as_str().unwrap().to_string(),
                v["line"].as_u64().unwrap(),
                v["column"].as_u64().unwrap(),
                v["api"].as_str().unwrap().to_string(),
            )
        };
        let mut rewritten: Vec<_> = migrate["sites"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|site| site["disposition"] == "automatic")
            .map(key)
            .collect();
        let mut auto: Vec<_> = audit["usages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|usage| usage["auto"] == true)
            .map(key)
            .collect();
        rewritten.sort();
        auto.sort();
        assert_eq!(auto, rewritten, "{name}");
        assert_eq!(
            audit["summary"]["automatic"], migrate["summary"]["automatic"],
            "{name}"
        );
        assert_eq!(
            audit["summary"]["usages"], migrate["summary"]["usages"],
            "{name}"
        );
        for usage in audit["usages"].as_array().unwrap() {
            if usage["auto"] == false {
                assert!(usage["reason"].is_string(), "{name}: {usage}");
            }
        }
    }
}
