//! `cargo asupersync migrate` end to end: the real binary on the fixture workspaces under
//! `tests/fixtures/migrate-*` (one per tier, plus a rollback fixture), with insta
//! snapshots of the diff and summary, and the real `cargo check` behind `--apply`.
//!
//! Each test copies its fixture into a temporary directory first, so nothing can touch
//! the repository. Builds share one target directory under `CARGO_TARGET_TMPDIR` so the
//! asupersync runtime the fixtures are pointed at (`--asupersync-path` = this
//! workspace) compiles once, and run offline: every crate they need is in this
//! workspace's lockfile already.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-asupersync");

fn asupersync_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        Fixture::copy_of(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
            name,
        )
    }

    fn copy_of(source: &Path, name: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(name);
        copy_dir(source, &root);
        let root = root.canonicalize().unwrap();
        Fixture { _dir: dir, root }
    }

    fn migrate(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("migrate")
            .arg(&self.root)
            .args(args)
            .env("NO_COLOR", "1")
            .env("CARGO_NET_OFFLINE", "true")
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("migrate-check"),
            )
            .output()
            .unwrap()
    }

    /// `migrate` with `--asupersync-path` pointing at this workspace.
    fn migrate_local(&self, args: &[&str]) -> Output {
        let path = asupersync_root().display().to_string();
        let mut all = vec!["--asupersync-path", path.as_str()];
        all.extend_from_slice(args);
        self.migrate(&all)
    }

    /// Runs cargo on the fixture, with the shared target directory, offline.
    fn cargo(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO"))
            .args(args)
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .env("CARGO_NET_OFFLINE", "true")
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("migrate-check"),
            )
            .output()
            .unwrap()
    }

    /// Runs the fixture's own tests (`cargo test`) and asserts they pass.
    fn assert_tests_pass(&self) {
        let test = self.cargo(&["test", "--quiet"]);
        assert!(
            test.status.success(),
            "the fixture's tests: {}",
            String::from_utf8_lossy(&test.stderr)
        );
    }

    fn redact(&self, text: &str) -> String {
        text.replace(&self.root.display().to_string(), "[ROOT]")
            .replace(&asupersync_root().display().to_string(), "[ASUPERSYNC]")
    }

    fn stdout(&self, output: &Output) -> String {
        self.redact(&String::from_utf8(output.stdout.clone()).unwrap())
    }

    fn stderr(&self, output: &Output) -> String {
        self.redact(&String::from_utf8(output.stderr.clone()).unwrap())
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let output = self.migrate_local(&all);
        assert!(output.status.success(), "{}", self.stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Every file of the fixture (no `target/`, no `.git/`), byte for byte.
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(&self.root, &self.root, &mut files);
        files
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {status:?}");
    }

    fn commit_all(&self) {
        self.git(&["init", "-q"]);
        std::fs::write(self.root.join(".gitignore"), "target/\n").unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "fixture"]);
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

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

fn summary_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|line| line.contains("usage sites"))
        .unwrap_or("")
}

// ------------------------------------------------------------------ dry runs, per tier

/// Tiers 1-3 together on a package whose every Tokio use has a native twin today.
#[test]
fn migrate_native_fixture_dry_run() {
    let fixture = Fixture::new("migrate-native");
    let before = fixture.files();
    let output = fixture.migrate_local(&[]);
    assert!(output.status.success(), "{}", fixture.stderr(&output));
    insta::assert_snapshot!(fixture.stdout(&output));
    assert_eq!(fixture.files(), before, "a dry run writes nothing");
}

/// Tier 1: the manifest alone, as JSON (registry versions, no `--asupersync-path`).
#[test]
fn migrate_native_fixture_json_uses_registry_versions() {
    let fixture = Fixture::new("migrate-native");
    let output = fixture.migrate(&["--format", "json"]);
    assert!(output.status.success(), "{}", fixture.stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let manifest = first_where(&report["files"], "file", "Cargo.toml");
    insta::assert_snapshot!(manifest["diff"].as_str().unwrap());
    insta::assert_json_snapshot!(report["summary"]);
    insta::assert_json_snapshot!(report["packages"]);
}

/// Tier 2: entry points carry flavor and worker_threads; start_paused and unknown
/// options stay manual, and those tests keep Tokio (so compat is added next to it).
#[test]
fn migrate_entry_fixture_dry_run() {
    let fixture = Fixture::new("migrate-entry");
    let output = fixture.migrate_local(&[]);
    assert!(output.status.success(), "{}", fixture.stderr(&output));
    insta::assert_snapshot!(fixture.stdout(&output));
}

/// Tier 3: aliases, groups split around what stays, `pub use`, attributes, a renamed
/// crate, a leading `::`, `super::` imports, macros, globs, comments inside a group.
#[test]
fn migrate_imports_fixture_dry_run() {
    let fixture = Fixture::new("migrate-imports");
    let output = fixture.migrate_local(&[]);
    assert!(output.status.success(), "{}", fixture.stderr(&output));
    insta::assert_snapshot!(fixture.stdout(&output));
}

/// What needs Cx threading, spawning or a module not built yet stays, with reasons,
/// and holds the same-shape rewrites and entry points back.
#[test]
fn migrate_mixed_fixture_dry_run() {
    let fixture = Fixture::new("migrate-mixed");
    let output = fixture.migrate_local(&[]);
    assert!(output.status.success(), "{}", fixture.stderr(&output));
    insta::assert_snapshot!(fixture.stdout(&output));
}

/// A crate that pulls Tokio (found in the resolved graph, not in the code) holds the
/// entry point on Tokio: switching would leave that crate without its runtime.
#[test]
fn migrate_pulled_fixture_keeps_the_entry_point() {
    let fixture = Fixture::new("migrate-pulled");
    let output = fixture.migrate_local(&[]);
    assert!(output.status.success(), "{}", fixture.stderr(&output));
    insta::assert_snapshot!(fixture.stdout(&output));
}

#[test]
fn migrate_dry_run_preserves_everything_outside_the_edits() {
    let fixture = Fixture::new("migrate-imports");
    let report = fixture.json(&[]);
    let diff = report["files"][0]["diff"].as_str().unwrap();
    // Comments and the macro outside the edits are untouched: no `-` line holds them.
    for kept in [
        "// one",
        "kept together on purpose",
        "macro_rules!",
        "//! Every way",
    ] {
        assert!(
            !diff.lines().any(|l| l.starts_with('-') && l.contains(kept)),
            "{kept} was edited:\n{diff}"
        );
    }
}

// ------------------------------------------------------------------ --apply

#[test]
fn migrate_apply_refuses_a_directory_outside_git() {
    let fixture = Fixture::new("migrate-native");
    let before = fixture.files();
    let output = fixture.migrate_local(&["--apply"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = fixture.stderr(&output);
    assert!(
        stderr.contains("cannot verify the tree is clean"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-dirty"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(fixture.files(), before);
}

#[test]
fn migrate_apply_refuses_a_dirty_git_tree() {
    let fixture = Fixture::new("migrate-native");
    fixture.commit_all();
    std::fs::write(fixture.root.join("src/lib.rs"), "// edited\n").unwrap();
    let before = fixture.files();
    let output = fixture.migrate_local(&["--apply"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = fixture.stderr(&output);
    assert!(
        stderr.contains("uncommitted changes (src/lib.rs)"),
        "{stderr}"
    );
    assert_eq!(fixture.files(), before);
}

/// The whole loop on a package that can go fully native today: write, `cargo check`,
/// keep; the result's own tests pass on asupersync; a second run changes nothing.
#[test]
fn migrate_apply_builds_runs_and_is_idempotent() {
    let fixture = Fixture::new("migrate-native");
    fixture.commit_all();
    let dry = fixture.json(&[]);
    let output = fixture.migrate_local(&["--apply", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", fixture.stderr(&output));
    let applied: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(applied["packages"][0]["outcome"], "applied");
    assert_eq!(
        applied["files"], dry["files"],
        "--apply writes what the dry run showed"
    );
    insta::assert_snapshot!(fixture.redact(&fixture.read("src/lib.rs")));
    insta::assert_snapshot!(fixture.redact(&fixture.read("Cargo.toml")));

    // The migrated package's tests run on the native runtime.
    fixture.assert_tests_pass();

    // Idempotent: the second run (the tree is now dirty: --allow-dirty) changes nothing.
    let after = fixture.files();
    let again = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(again.status.code(), Some(0), "{}", fixture.stderr(&again));
    assert_eq!(fixture.files(), after);
    let stdout = fixture.stdout(&again);
    assert!(stdout.contains("nothing to change"), "{stdout}");
}

/// The loop of a fixture that goes fully native: `--apply` keeps the rewrite (it
/// builds), the result's tests pass and its binary prints `expected` on the native
/// runtime, and a second run changes nothing.
/// The first element of the JSON array `items` whose `key` is `value`.
fn first_where<'v>(items: &'v Value, key: &str, value: &str) -> &'v Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {items}"))
}

/// A test that a fixture's dry run matches its snapshot and that `--apply` builds,
/// passes the fixture's tests, prints `expected` and is idempotent.
macro_rules! fixture_migrates_and_runs {
    ($(#[$doc:meta])* $test:ident, $fixture:literal, $expected:literal) => {
        $(#[$doc])*
        #[test]
        fn $test() {
            let fixture = Fixture::new($fixture);
            assert_dry_run_snapshot(&fixture, stringify!($test));
            assert_applies_runs_and_is_idempotent(&fixture, $expected);
        }
    };
}

/// Runs the dry run, which must succeed, and compares its output with the snapshot
/// named after the test.
fn assert_dry_run_snapshot(fixture: &Fixture, test: &str) {
    let dry = fixture.migrate_local(&[]);
    assert!(dry.status.success(), "{}", fixture.stderr(&dry));
    insta::assert_snapshot!(test.to_string(), fixture.stdout(&dry));
}

fn assert_applies_runs_and_is_idempotent(fixture: &Fixture, expected: &str) {
    let output = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(output.status.code(), Some(0), "{}", fixture.stdout(&output));
    assert!(fixture.stdout(&output).contains("\n  applied\n"));
    for args in [&["test", "--quiet"][..], &["run", "--quiet"][..]] {
        let run = fixture.cargo(args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        if args[0] == "run" {
            assert_eq!(String::from_utf8_lossy(&run.stdout), expected);
        }
    }
    let after = fixture.files();
    let again = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(again.status.code(), Some(0), "{}", fixture.stderr(&again));
    assert_eq!(fixture.files(), after);
}

fixture_migrates_and_runs! {
    /// Tier 4, in entry points: sleeps and yields get the entry point's `cx`.
    migrate_cx_fixture_threads_cx_into_entry_points_and_runs,
    "migrate-cx",
    "done\n"
}

fixture_migrates_and_runs! {
    /// Tier 4 through other functions: a cx threaded through private async functions
    /// (one returning a value, one taking arguments) from the entry point and from a test
    /// in `mod tests` (inside `assert_eq!`); a timeout and a `tokio::fs` call get it too.
    migrate_thread_fixture_threads_cx_through_helpers_and_runs,
    "migrate-thread",
    "succeeded after 3 attempts (true, Ok(3))\n"
}

fixture_migrates_and_runs! {
    /// Tier 4 through methods and a `pub` function of a package nothing outside calls
    /// (binary only): `self.tick(..)`, `ticker.run(..)` and `Ticker::settle()` pass the cx,
    /// the methods take it after `self`; the result builds, its test passes and it prints
    /// what Tokio's did.
    migrate_methods_fixture_threads_cx_through_methods_and_runs,
    "migrate-methods",
    "ticks: 3\n"
}

fixture_migrates_and_runs! {
    /// Tier 4 across the files of a package nothing outside calls: a `pub` function called
    /// by its module path (`worker::fill`, `crate::worker::fill`) and through an import
    /// (`settle`), and a method of another file (`store.put(..)`) get the cx; the result
    /// builds, its test passes and it prints what Tokio's did.
    migrate_modules_fixture_threads_cx_across_files_and_runs,
    "migrate-modules",
    "3 entries, last Some(2)\n"
}

fixture_migrates_and_runs! {
    /// Tier 4 for Tokio's `Mutex` and `RwLock`: guard calls on fields and locals declared
    /// with them, in functions returning `io::Result`, become `.lock(cx).await?` (and
    /// `.read(cx)`, `.write(cx)`), those functions get the cx and the import moves to the
    /// native types; the result builds and prints what Tokio's did.
    migrate_locks_fixture_gives_guard_calls_the_cx_and_runs,
    "migrate-locks",
    "hits: 2, seen: 2, log: 1\n"
}

fixture_migrates_and_runs! {
    /// Tier 5, spawns: `tokio::spawn` (an `async move` body, whose sleep and helper call
    /// get the task's own cx, and a plain future) and `spawn_blocking` become the native
    /// ones, their awaited handles `join(cx)` mapped back to a `Result`. The result builds,
    /// its test passes and its binary prints what Tokio's did.
    migrate_spawn_fixture_rewrites_awaited_spawns_and_runs,
    "migrate-spawn",
    "total 385, doubled 42\n"
}

/// Tier 6: a private function whose body uses a Tokio API this version does not
/// rewrite (a child process) keeps that body, as an inner function run through
/// `asupersync_tokio_compat::run`; the rest goes native. The result builds, its test
/// passes and its binary prints what Tokio's did; Tokio stays, for the compat crate
/// and the wrapped code only.
#[test]
fn migrate_compat_fixture_wraps_what_stays_on_tokio_and_runs() {
    let fixture = Fixture::new("migrate-compat");
    assert_dry_run_snapshot(
        &fixture,
        "migrate_compat_fixture_wraps_what_stays_on_tokio_and_runs",
    );
    assert_applies_runs_and_is_idempotent(&fixture, "quarantined\n");
    let main = fixture.read("src/main.rs");
    assert!(main.contains("#[asupersync::main"), "{main}");
    assert!(
        main.contains("asupersync_tokio_compat::run(cx, echo(word))"),
        "{main}"
    );
    // A later run still sees the wrapped code as behind compat, not as left over.
    let again = fixture.json(&[]);
    assert_eq!(again["summary"]["manual"], 0, "{:#}", again["summary"]);
    assert_eq!(again["summary"]["compat"], 3, "{:#}", again["summary"]);
    // The note is a suppression the project's own lint accepts.
    let lint = Command::new(BIN)
        .arg("lint")
        .arg(&fixture.root)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let lint: Value = serde_json::from_slice(&lint.stdout).unwrap();
    let rules: Vec<&str> = lint["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"invalid-suppression"), "{rules:?}");
}

/// Tier 5, `select!`: in entry points whose branches are all Tokio sleeps, the macro
/// becomes `asupersync::select!` and each branch's sleep gets the branch's `cx`. The
/// result builds, its test passes and its binary prints what Tokio's did, without
/// waiting on the losing 30 s sleep (a native loser is cancelled and drains at once;
/// a loser that ignored cancellation would hold each round for the drain budget).
/// A second run changes nothing.
#[test]
fn migrate_select_fixture_rewrites_select_in_entry_points_and_runs() {
    let fixture = Fixture::new("migrate-select");
    let dry = fixture.migrate_local(&[]);
    assert!(dry.status.success(), "{}", fixture.stderr(&dry));
    insta::assert_snapshot!(fixture.stdout(&dry));
    let output = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(output.status.code(), Some(0), "{}", fixture.stdout(&output));
    fixture.assert_tests_pass();
    let build = fixture.cargo(&["build", "--quiet"]);
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let started = std::time::Instant::now();
    let run = fixture.cargo(&["run", "--quiet"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "short wins: 2, joined: 6\n"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "the losing sleeps were not cancelled promptly: {:?}",
        started.elapsed()
    );
    let after = fixture.files();
    let again = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(again.status.code(), Some(0), "{}", fixture.stderr(&again));
    assert_eq!(fixture.files(), after);
}

/// Tier 3 rewrites that keep Tokio around (re-exports of std) also build for real.
#[test]
fn migrate_apply_imports_fixture_builds_and_second_run_is_a_no_op() {
    let fixture = Fixture::new("migrate-imports");
    let output = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(output.status.code(), Some(0), "{}", fixture.stdout(&output));
    assert!(fixture.stdout(&output).contains("\n  applied\n"));
    let after = fixture.files();
    let report = fixture.json(&["--apply", "--allow-dirty"]);
    assert_eq!(report["summary"]["files_changed"], 0);
    assert_eq!(report["summary"]["automatic"], 0);
    assert_eq!(fixture.files(), after);
}

/// A rewrite that cannot build (asupersync's Instant has no
/// `saturating_duration_since`): once it is backed out nothing is left to write (the
/// entry point waits for the Instant that stays), so the package is restored byte for
/// byte, lockfile included, and the compiler's first error is reported.
#[test]
fn migrate_apply_rolls_back_a_package_that_no_longer_builds() {
    let fixture = Fixture::new("migrate-rollback");
    let before = fixture.files();
    let output = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(output.status.code(), Some(1), "{}", fixture.stderr(&output));
    let stdout = fixture.stdout(&output);
    assert!(stdout.contains("rolled back"), "{stdout}");
    assert!(
        stdout.contains("saturating_duration_since"),
        "the first error is reported: {stdout}"
    );
    assert_eq!(fixture.files(), before, "files restored byte for byte");
    let output = fixture.migrate_local(&["--apply", "--allow-dirty", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["packages"][0]["outcome"], "rolled-back");
    assert!(report["packages"][0]["error"]
        .as_str()
        .unwrap()
        .starts_with("src/main.rs:"));
    assert_eq!(fixture.files(), before);
}

/// One of several rewrites breaks the build: `--apply` backs out only the usages whose
/// edits the compiler's errors point into (the Instant import and the path written
/// through it), re-plans the package without them (so the entry point stays on Tokio,
/// which the Instant still needs) and keeps the other rewrites, in another file too.
/// The result builds, its tests pass, and a second run writes the same files.
#[test]
fn migrate_apply_backs_out_only_the_rewrite_that_breaks_the_build() {
    let fixture = Fixture::new("migrate-backout");
    let output = fixture.migrate_local(&["--apply", "--allow-dirty", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", fixture.stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["packages"][0]["outcome"], "applied");
    let sites = report["sites"].as_array().unwrap();
    let backed_out: Vec<(&str, u64)> = sites
        .iter()
        .filter(|s| {
            s["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("backed out by --apply"))
        })
        .map(|s| (s["api"].as_str().unwrap(), s["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        backed_out,
        [
            ("tokio::time::Instant", 8),
            ("tokio::time::Instant::now", 15)
        ]
    );
    assert!(sites.iter().all(|s| s["disposition"] == "automatic"
        || s["api"]
            .as_str()
            .unwrap()
            .starts_with("tokio::time::Instant")
        || s["api"] == "tokio::main"));
    let reason = sites[1]["reason"].as_str().unwrap_or_default().to_string();
    assert!(
        sites.iter().any(|s| {
            s["reason"].as_str().is_some_and(|r| {
                r.contains("error[E0599]") && r.contains("saturating_duration_since")
            })
        }),
        "the compiler's error is the reason: {reason}"
    );
    assert_eq!(report["summary"]["automatic"], 6);
    let main = fixture.read("src/main.rs");
    assert!(main.contains("use std::time::Duration;"), "{main}");
    assert!(main.contains("use tokio::time::Instant;"), "{main}");
    assert!(main.contains("#[tokio::main(flavor"), "{main}");
    let printer = fixture.read("src/report.rs");
    assert!(
        printer.contains("pub fn print(took: std::time::Duration) -> std::io::Result<()>"),
        "{printer}"
    );
    let manifest = fixture.read("Cargo.toml");
    assert!(manifest.contains("tokio = "), "{manifest}");
    fixture.assert_tests_pass();
    let after = fixture.files();
    // The second run plans the Instant rewrite again (a dry plan cannot know it
    // breaks), backs it out, has nothing else to write and says so as a roll-back.
    let output = fixture.migrate_local(&["--apply", "--allow-dirty"]);
    assert_eq!(output.status.code(), Some(1), "{}", fixture.stderr(&output));
    assert_eq!(fixture.files(), after, "a second run changes nothing");
}

/// Tier 4 matches calls by name, so a method call of another type with the same name
/// (std's `IntoFuture::into_future` next to `Job::into_future`) gets a cx too. The
/// compiler refutes it in main.rs; `--apply` blames the usage in job.rs whose cx chain
/// made that edit, backs it out (and the entry point it held), keeps the rest, and the
/// result builds and prints what Tokio's did.
#[test]
fn migrate_apply_backs_out_a_cx_chain_refuted_in_another_file() {
    let fixture = Fixture::new("migrate-guess");
    let report = fixture.json(&[]);
    assert_eq!(report["summary"]["automatic"], 7, "the dry run guesses");
    let report = fixture.json(&["--apply", "--allow-dirty"]);
    let sleep = first_where(&report["sites"], "api", "tokio::time::sleep");
    assert_eq!(sleep["file"], "src/job.rs");
    assert_eq!(sleep["disposition"], "manual");
    let reason = sleep["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("backed out by --apply")
            && reason.contains("src/main.rs:16:41: error[E0061]"),
        "{reason}"
    );
    assert_eq!(report["summary"]["automatic"], 5);
    let main = fixture.read("src/main.rs");
    assert!(main.contains("ready(42).into_future().await"), "{main}");
    assert!(main.contains("use std::time::Duration;"), "{main}");
    let job = fixture.read("src/job.rs");
    assert!(job.contains("pub async fn into_future(&self) {"), "{job}");
    let run = fixture.cargo(&["run", "--quiet"]);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "42\n");
}

/// A member whose own rewrite builds but breaks a member that depends on it (a native
/// `Instant` handed to Tokio's `sleep_until`) is rolled back too: dependents are
/// checked with it.
#[test]
fn migrate_apply_rolls_back_a_rewrite_that_breaks_a_dependent_member() {
    let fixture = Fixture::new("migrate-dependents");
    let before = fixture.files();
    let output = fixture.migrate_local(&["--apply", "--allow-dirty", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", fixture.stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let timing = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "timing")
        .unwrap();
    assert_eq!(timing["outcome"], "rolled-back", "{timing}");
    let error = timing["error"].as_str().unwrap();
    assert!(
        error.starts_with("src/main.rs:"),
        "the dependent's error: {error}"
    );
    assert_eq!(fixture.files(), before, "files restored byte for byte");
}

// ------------------------------------------------------------------ input errors

/// A file that does not parse is reported, and the package keeps Tokio: nothing that
/// needs the package off Tokio is rewritten, and the manifest keeps `tokio`.
#[test]
fn migrate_a_file_that_does_not_parse_holds_the_package_on_tokio() {
    let fixture = Fixture::new("migrate-native");
    std::fs::write(fixture.root.join("tests/timing.rs"), "fn broken( {\n").unwrap();
    let report = fixture.json(&[]);
    let notes = report["packages"][0]["notes"].to_string();
    assert!(notes.contains("tests/timing.rs does not parse"), "{notes}");
    let sites = report["sites"].as_array().unwrap();
    for site in sites.iter().filter(|s| s["api"] == "tokio::main") {
        assert_eq!(site["disposition"], "manual", "{site}");
    }
    assert!(report["packages"][0]["manifest_changes"]
        .as_array()
        .unwrap()
        .is_empty());
    // Re-exports of std still move: they are the same items whatever stays.
    assert!(sites
        .iter()
        .any(|s| s["api"] == "tokio::time::Duration" && s["disposition"] == "automatic"));
}

#[test]
fn migrate_package_selects_a_member() {
    let fixture = Fixture::new("migrate-native");
    let all = fixture.json(&[]);
    let one = fixture.json(&["--package", "native-app"]);
    assert_eq!(all["summary"], one["summary"]);
}

#[test]
fn migrate_rejects_unknown_packages_and_bad_paths() {
    let fixture = Fixture::new("migrate-native");
    let output = fixture.migrate(&["--package", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(fixture
        .stderr(&output)
        .contains("no member package named `nope`"));
    let output = fixture.migrate(&["--asupersync-path", "/nonexistent/dir"]);
    assert_eq!(output.status.code(), Some(2));
    let output = fixture.migrate(&["--format", "sarif"]);
    assert_eq!(output.status.code(), Some(2));
}

// ------------------------------------------------------------------ brownfield

/// The repository's brownfield app (copied; the repository's copy is never touched):
/// the summary counts of a dry run, which the audit's estimate must equal. Most of it
/// needs a cx threaded through functions that are not entry points (tier 4 proper) or
/// is spawning (tier 5); hyper and reqwest keep the package on Tokio, which holds back
/// the entry points and every rewrite that needs a Tokio-free package.
#[test]
fn migrate_brownfield_dry_run_summary() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/brownfield");
    let fixture = Fixture::copy_of(&source, "brownfield");
    let before = fixture.files();
    let report = fixture.json(&[]);
    assert_eq!(fixture.files(), before, "a dry run writes nothing");
    insta::assert_json_snapshot!(report["summary"]);
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for site in report["sites"].as_array().unwrap() {
        if site["disposition"] == "automatic" {
            *by_reason
                .entry(site["api"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    insta::assert_json_snapshot!("migrate_brownfield_automatic_by_api", by_reason);
    let human = fixture.migrate_local(&[]);
    assert!(summary_line(&fixture.stdout(&human)).contains("usage sites"));

    // The same usages the audit counts: one resolver, one mapping.
    let audit = Command::new(BIN)
        .arg("audit")
        .arg(&fixture.root)
        .args(["--format", "json"])
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(audit["summary"]["usages"], report["summary"]["usages"]);
    // ...and the audit's estimate is this dry run's count: one planner.
    assert_eq!(
        audit["summary"]["automatic"],
        report["summary"]["automatic"]
    );
    assert_eq!(
        audit["packages"][0]["automatic"],
        report["summary"]["automatic"]
    );
}

/// The done-when, asserted as it stands: `--apply` on a copy of the brownfield
/// app keeps what it rewrites (`cargo check --all-targets` passes), the app's own test
/// suite passes on the result, and a second run changes nothing. What it does not reach
/// yet is asserted too, so that progress shows up here: hyper and reqwest hold the
/// package on Tokio (no compat wrapping yet, tier 6), so the entry points stay
/// `#[tokio::main]`/`#[tokio::test]`, the tests run on Tokio, and `tokio` stays a
/// direct dependency.
/// The package quarantine on a small package: its Tokio channel stays, so its entry
/// points go native and run their bodies on the compat host (the paused-clock test on a
/// paused host of its own), `tokio` leaves the manifest, and the one test whose future
/// is not `Send` (an `Rc` across an await) cannot run on the host: `--apply` backs that
/// test out, and it stays a Tokio test through compat. Everything builds and passes.
#[test]
fn migrate_quarantine_fixture_builds_passes_and_backs_out_what_cannot_cross() {
    let fixture = Fixture::new("migrate-quarantine");
    let report = fixture.json(&["--apply", "--allow-dirty"]);
    assert_eq!(report["packages"][0]["outcome"], "applied", "{report:#}");
    assert_eq!(report["summary"]["manual"], 0, "{:#}", report["summary"]);
    let backed_out: Vec<&str> = report["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("backed out by --apply"))
        })
        .map(|s| s["api"].as_str().unwrap())
        .collect();
    assert_eq!(backed_out, ["tokio::test", "tokio::task::yield_now"]);

    let tests = fixture.read("tests/relay.rs");
    assert!(
        tests.contains("async fn sums_through_the_channel(cx: &asupersync::Cx)"),
        "{tests}"
    );
    assert!(
        tests.contains("asupersync::time::sleep(cx, Duration::from_millis(1))"),
        "{tests}"
    );
    assert!(tests.contains(".start_paused(true)"), "{tests}");
    // Each test's body gets a runtime of its own again, as `#[tokio::test]` gave it.
    assert!(tests.contains(".current_thread()"), "{tests}");
    assert!(tests.contains(
        "#[asupersync_tokio_compat::tokio::test(crate = \"asupersync_tokio_compat::tokio\")]\nasync fn keeps_a_local_value_across_an_await() {"
    ), "{tests}");
    let lib = fixture.read("src/lib.rs");
    assert!(
        lib.contains("use asupersync_tokio_compat::tokio::sync::mpsc;"),
        "{lib}"
    );
    let manifest = fixture.read("Cargo.toml");
    assert!(!manifest.contains("tokio = "), "{manifest}");
    assert!(
        manifest.contains("features = [\"test-util\"]"),
        "{manifest}"
    );
    fixture.assert_tests_pass();

    let after = fixture.files();
    let again = fixture.json(&["--apply", "--allow-dirty"]);
    assert_eq!(again["summary"]["files_changed"], 0, "{again:#}");
    assert_eq!(fixture.files(), after);
}

/// A package whose only entry point is a test on Tokio's paused clock is quarantined
/// too (the test gets a paused host of its own), not left on Tokio for want of a
/// "plain" entry point. A dry run: the apply path is the fixture test above.
#[test]
fn migrate_quarantines_a_package_whose_only_entry_point_is_a_paused_clock_test() {
    let fixture = Fixture::new("migrate-quarantine");
    let only_paused = "use std::time::Duration;\n\n\
                       #[tokio::test(start_paused = true)]\n\
                       async fn an_hour_passes_at_once() {\n    \
                       tokio::time::sleep(Duration::from_secs(3600)).await;\n    \
                       assert_eq!(quarantine_app::relay(1).await, 1);\n}\n";
    std::fs::write(fixture.root.join("tests/relay.rs"), only_paused).unwrap();
    let report = fixture.json(&[]);
    let notes = report["packages"][0]["notes"].to_string();
    assert!(notes.contains("quarantined"), "{report:#}");
    let test = first_where(&report["sites"], "api", "tokio::test");
    assert_eq!(test["disposition"], "automatic", "{test:#}");
}

#[test]
fn migrate_brownfield_apply_builds_and_its_tests_pass() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/brownfield");
    let fixture = Fixture::copy_of(&source, "brownfield");
    let output = fixture.migrate_local(&["--apply", "--allow-dirty", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", fixture.stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["packages"][0]["outcome"], "applied", "{report:#}");
    // Everything is either native or behind compat: nothing is left broken for a
    // person to fix before it builds.
    let summary = &report["summary"];
    assert_eq!(summary["manual"], 0, "{summary:#}");
    assert!(summary["automatic"].as_u64().unwrap() >= 50, "{summary:#}");

    // The entry points are native; the bodies that still need Tokio run in the quarantine.
    let main = fixture.read("src/main.rs");
    assert!(main.contains("#[asupersync::main]"), "{main}");
    assert!(
        main.contains("asupersync_tokio_compat::run(cx, main("),
        "{main}"
    );
    // A test on Tokio's paused clock gets a host of its own, with the clock paused.
    let stats = fixture.read("src/stats.rs");
    assert!(!stats.contains("tokio::test"), "{stats}");
    assert!(stats.contains(".start_paused(true)"), "{stats}");
    let protocol = fixture.read("tests/protocol.rs");
    assert!(!protocol.contains("#[tokio::test"), "{protocol}");
    assert!(protocol.contains("#[asupersync::test(flavor = \"multi_thread\", worker_threads = 2)]"));

    // Its own tests pass: on the native runtime, with the Tokio parts hosted by compat.
    let test = fixture.cargo(&["test", "--quiet"]);
    assert!(
        test.status.success(),
        "the migrated app's own tests: {}",
        String::from_utf8_lossy(&test.stderr)
    );

    let after = fixture.files();
    let again = fixture.json(&["--apply", "--allow-dirty"]);
    assert_eq!(again["summary"]["files_changed"], 0);
    assert_eq!(fixture.files(), after);
    // What names the quarantine's Tokio is still counted, as behind compat.
    assert_eq!(again["summary"]["manual"], 0, "{:#}", again["summary"]);
    assert_eq!(
        again["summary"]["compat"], summary["compat"],
        "{:#}",
        again["summary"]
    );

    // Tokio comes only through the quarantine and the holdout crates it hosts (hyper,
    // reqwest): never straight from the app.
    let tree = fixture.cargo(&[
        "tree",
        "--quiet",
        "-e",
        "normal,dev",
        "-i",
        "tokio",
        "--depth",
        "1",
    ]);
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(
        tree.lines()
            .any(|line| line.contains("asupersync-tokio-compat v")),
        "{tree}"
    );
    assert!(
        !tree.lines().any(|line| line.contains("brownfield v")),
        "{tree}"
    );
    let manifest = fixture.read("Cargo.toml");
    assert!(
        !manifest.lines().any(|line| line.starts_with("tokio")),
        "{manifest}"
    );
}
