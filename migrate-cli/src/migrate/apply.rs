//! `--apply`: write, verify with the compiler, back out what does not build.
//!
//! Packages are applied one at a time so a failure is attributed to the package whose
//! edits caused it: snapshot the bytes of every file the package's plan touches (and
//! the workspace's `Cargo.lock`, which `cargo check` updates after a manifest change),
//! write the new text, run `cargo check --all-targets --message-format json` on the
//! package and on the members that depend on it (a rewritten public type can break
//! them), and on failure write the snapshot back byte for byte.
//!
//! Then, as `cargo fix` does, the errors decide what goes: every edit of the plan
//! knows the usage it was made for ([`super::plan::FileChange::owners`]), so an error
//! whose lines (or whose notes' lines: "function defined here") meet an edit or a
//! rewritten path blames that usage. The blamed usages are planned again as manual
//! with the error as the reason, which carries what must change with them (the import
//! a path is written through, every call of a function whose signature got a cx, the
//! entry point a usage left on Tokio still needs), and the package is written and
//! checked again, for a bounded number of rounds. An error that blames nothing (a
//! manifest or lockfile problem, a knock-on error far from any edit), running out of
//! rounds or backing out everything restores the package whole and reports the
//! compiler's first error.
//!
//! Before anything is written the git tree must be clean: the user's way back from a
//! migration is `git diff`/`git checkout`, which only works on a clean start. A
//! directory that is not in a git repository cannot be verified, so it is refused too;
//! `--allow-dirty` overrides both.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::plan::{BackedOut, PackagePlan};
use super::Migration;

/// What applying one package came to.
#[derive(Debug, Clone)]
pub struct PackageOutcome {
    pub package: String,
    pub result: ApplyResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyResult {
    /// Nothing to write.
    Unchanged,
    /// Written, and `cargo check --all-targets` passes.
    Applied,
    /// Written, did not build, restored.
    RolledBack { error: String },
}

/// `Err(why)` unless `root` is inside a git work tree without uncommitted changes.
pub fn check_clean(root: &Path) -> Result<(), String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--", "."])
        .output()
        .map_err(|err| format!("cannot run git to verify the tree is clean ({err}); pass --allow-dirty to write anyway"))?;
    if !output.status.success() {
        return Err(format!(
            "cannot verify the tree is clean: {} is not in a git repository; commit it to git first or pass --allow-dirty to write anyway (nothing was written)",
            root.display()
        ));
    }
    let dirty: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.get(3..).unwrap_or(line).to_string())
        .collect();
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
    let more = if dirty.len() > shown.len() {
        format!(" and {} more", dirty.len() - shown.len())
    } else {
        String::new()
    };
    Err(format!(
        "the git tree has uncommitted changes ({}{more}); commit or stash them, or pass --allow-dirty (nothing was written)",
        shown.join(", ")
    ))
}

/// How the reason of a usage backed out starts.
const BACKED_OUT: &str = "backed out by --apply";

/// How many times a package is checked again after backing out what broke it: each
/// round is one `cargo check`, and errors that the first back-out does not clear are
/// usually knock-on errors of the same rewrites, so a few rounds settle it.
const BACK_OUT_ROUNDS: usize = 3;

/// Applies every package of the plan, in order. A package's plan is replaced by what was
/// finally written (its backed-out usages reported as manual).
pub fn apply(migration: &mut Migration) -> anyhow::Result<Vec<PackageOutcome>> {
    let mut outcomes = Vec::new();
    for index in 0..migration.packages.len() {
        let (result, plan) = apply_package(migration, &migration.packages[index])?;
        outcomes.push(PackageOutcome {
            package: plan.name.clone(),
            result,
        });
        migration.packages[index] = plan;
    }
    Ok(outcomes)
}

/// Writes `planned`, checks it, and on errors backs out the usages whose edits the
/// errors touch, re-plans the package without them and tries again; if an error
/// touches no edit (or the rounds run out, or nothing is left to write) the package is
/// restored whole.
fn apply_package(
    migration: &Migration,
    planned: &PackagePlan,
) -> anyhow::Result<(ApplyResult, PackagePlan)> {
    if planned.changes.is_empty() {
        return Ok((ApplyResult::Unchanged, planned.clone()));
    }
    let root = &migration.root;
    let mut checked = vec![planned.name.as_str()];
    checked.extend(
        migration
            .dependents
            .get(&planned.name)
            .into_iter()
            .flatten()
            .map(String::as_str),
    );
    let mut plan = planned.clone();
    let mut backed_out = BackedOut::new();
    let mut first_error: Option<String> = None;
    for round in 0..=BACK_OUT_ROUNDS {
        let snapshot = write(root, &plan)?;
        let errors = match cargo_check(root, &checked) {
            Ok(()) => {
                let backed = plan
                    .sites
                    .iter()
                    .filter(|site| {
                        site.reason
                            .as_deref()
                            .is_some_and(|r| r.starts_with(BACKED_OUT))
                    })
                    .count();
                if backed > 0 {
                    plan.notes.push(format!(
                        "--apply backed out {backed} usage(s) whose rewrite broke the build (left for a person, with the error); the rest builds"
                    ));
                }
                return Ok((ApplyResult::Applied, plan));
            }
            Err(errors) => errors,
        };
        restore(&snapshot)?;
        let first = first_error
            .get_or_insert_with(|| errors.first.clone())
            .clone();
        let blamed = blame(root, &plan, &errors.diagnostics);
        let rolled_back = |plan: PackagePlan| {
            Ok((
                ApplyResult::RolledBack {
                    error: first.clone(),
                },
                plan,
            ))
        };
        if blamed.is_empty() || round == BACK_OUT_ROUNDS {
            return rolled_back(planned.clone());
        }
        for (key, error) in blamed {
            backed_out
                .entry(key)
                .or_insert_with(|| format!("{BACKED_OUT}: the rewrite did not build ({error})"));
        }
        plan = migration.replan(&plan.name, &backed_out)?;
        if plan.changes.iter().all(|change| change.owners.is_empty()) {
            // Nothing of the sources is left to write: the package stays as it was.
            return rolled_back(plan);
        }
    }
    unreachable!("the last round returns")
}

/// The bytes of every file `plan` writes (and of the lockfile, which `cargo check`
/// updates after a manifest change), before writing them.
type Snapshot = Vec<(PathBuf, Option<Vec<u8>>)>;

fn write(root: &Path, plan: &PackagePlan) -> anyhow::Result<Snapshot> {
    let lockfile = root.join("Cargo.lock");
    let mut snapshot: Snapshot = plan
        .changes
        .iter()
        .map(|change| Ok((change.path.clone(), Some(std::fs::read(&change.path)?))))
        .collect::<std::io::Result<_>>()?;
    snapshot.push((lockfile.clone(), std::fs::read(&lockfile).ok()));
    for change in &plan.changes {
        std::fs::write(&change.path, &change.new)?;
    }
    Ok(snapshot)
}

/// Writes the snapshot back byte for byte (a lockfile that did not exist is removed).
fn restore(snapshot: &Snapshot) -> std::io::Result<()> {
    for (path, bytes) in snapshot {
        match bytes {
            Some(bytes) => std::fs::write(path, bytes)?,
            None => {
                if path.exists() {
                    std::fs::remove_file(path)?;
                }
            }
        }
    }
    Ok(())
}

/// One compiler error: where it points (every span of it and of its notes) and a
/// one-line summary (`src/main.rs:9:5: error[E0599]: no method named ..`).
#[derive(Debug, Clone)]
struct Diagnostic {
    summary: String,
    /// File as the compiler names it, first and last line (1-based).
    spans: Vec<(String, usize, usize)>,
}

/// A failed check: the errors, and the first one as the report shows it.
#[derive(Debug)]
struct CheckErrors {
    first: String,
    diagnostics: Vec<Diagnostic>,
}

/// The usages whose edits (or whose own place) an error points into, each with the
/// first such error's summary.
fn blame(root: &Path, plan: &PackagePlan, errors: &[Diagnostic]) -> Vec<((String, usize), String)> {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut blamed: Vec<((String, usize), String)> = Vec::new();
    for change in plan.changes.iter().filter(|c| !c.owners.is_empty()) {
        let path = canonical(&change.path);
        let line_of = |at: usize| change.new[..at.min(change.new.len())].matches('\n').count() + 1;
        for error in errors {
            let touched = error
                .spans
                .iter()
                .filter(|(file, _, _)| canonical(&root.join(file)) == path);
            for (_, first, last) in touched {
                for (range, usage) in &change.owners {
                    let start = line_of(range.start);
                    let end = line_of(range.end.max(range.start + 1) - 1);
                    let key = usage.clone();
                    if start <= *last && *first <= end && !blamed.iter().any(|(k, _)| *k == key) {
                        blamed.push((key, error.summary.clone()));
                    }
                }
            }
        }
    }
    blamed
}

/// Runs `cargo check --all-targets` on the packages and collects the errors.
fn cargo_check(root: &Path, packages: &[&str]) -> Result<(), CheckErrors> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .arg("check")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--all-targets", "--quiet", "--message-format", "json"])
        .args(packages.iter().flat_map(|package| ["-p", package]))
        .output()
        .map_err(|err| CheckErrors {
            first: format!("cannot run cargo check: {err}"),
            diagnostics: Vec::new(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let diagnostics: Vec<Diagnostic> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| record["reason"] == "compiler-message")
        .filter_map(|record| diagnostic(&record["message"]))
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = diagnostics.first().map_or_else(
        || {
            stderr
                .lines()
                .find(|line| line.contains("error"))
                .unwrap_or("cargo check failed without an error message")
                .trim()
                .to_string()
        },
        |d| d.summary.clone(),
    );
    Err(CheckErrors { first, diagnostics })
}

/// A compiler message as a [`Diagnostic`], if it is an error.
fn diagnostic(message: &serde_json::Value) -> Option<Diagnostic> {
    if message["level"] != "error" {
        return None;
    }
    let spans_of = |message: &serde_json::Value| -> Vec<(String, usize, usize)> {
        message["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|span| {
                Some((
                    span["file_name"].as_str()?.to_string(),
                    usize::try_from(span["line_start"].as_u64()?).ok()?,
                    usize::try_from(span["line_end"].as_u64()?).ok()?,
                ))
            })
            .collect()
    };
    let mut spans = spans_of(message);
    for child in message["children"].as_array().into_iter().flatten() {
        spans.extend(spans_of(child));
    }
    let text = message["message"].as_str().unwrap_or("error");
    let code = message["code"]["code"]
        .as_str()
        .map_or_else(String::new, |code| format!("[{code}]"));
    let primary = message["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|span| span["is_primary"] == true);
    let summary = match primary {
        Some(span) => format!(
            "{}:{}:{}: error{code}: {text}",
            span["file_name"].as_str().unwrap_or("?"),
            span["line_start"],
            span["column_start"]
        ),
        None => format!("error{code}: {text}"),
    };
    Some(Diagnostic { summary, spans })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::plan::FileChange;

    fn plan_of(
        root: &Path,
        new: &str,
        owners: Vec<(std::ops::Range<usize>, usize)>,
    ) -> PackagePlan {
        let owners = owners
            .into_iter()
            .map(|(range, usage)| (range, ("src/main.rs".to_string(), usage)))
            .collect();
        PackagePlan {
            name: "app".to_string(),
            manifest_path: root.join("Cargo.toml"),
            sites: Vec::new(),
            changes: vec![FileChange {
                path: root.join("src/main.rs"),
                rel_path: "src/main.rs".to_string(),
                old: String::new(),
                new: new.to_string(),
                owners,
            }],
            manifest_changes: Vec::new(),
            notes: Vec::new(),
            tokio_free: false,
        }
    }

    fn error(summary: &str, spans: &[(&str, usize, usize)]) -> Diagnostic {
        Diagnostic {
            summary: summary.to_string(),
            spans: spans
                .iter()
                .map(|(file, first, last)| (file.to_string(), *first, *last))
                .collect(),
        }
    }

    #[test]
    fn an_error_blames_the_usages_whose_edits_are_on_its_lines() {
        let root = Path::new("/nonexistent-root");
        // Line 1: usage 0's edit; line 3: usage 1's signature edit; line 5: usage 2.
        let new = "use a::B;\n\nasync fn f(cx: &Cx) {}\n\nfn g() { h(); }\n";
        let sig = new.find("cx: &Cx").unwrap();
        let call = new.find("h()").unwrap();
        let plan = plan_of(
            root,
            new,
            vec![(4..8, 0), (sig..sig + 8, 1), (call..call + 3, 2)],
        );
        // The primary span is elsewhere (a call site in another file); the note
        // "function defined here" points at the signature.
        let errors = [
            error("E1", &[("src/other.rs", 9, 9), ("src/main.rs", 3, 3)]),
            error("E2", &[("src/main.rs", 1, 1)]),
            error("E3", &[("src/main.rs", 1, 1)]),
        ];
        let blamed = blame(root, &plan, &errors);
        assert_eq!(
            blamed,
            [
                (("src/main.rs".to_string(), 1), "E1".to_string()),
                (("src/main.rs".to_string(), 0), "E2".to_string()),
            ],
            "each usage once, with the first error that blames it; usage 2 is not blamed"
        );
        assert!(blame(root, &plan, &[error("E4", &[("src/main.rs", 2, 2)])]).is_empty());
    }

    #[test]
    fn a_compiler_message_becomes_a_one_line_summary_with_every_span() {
        let message = serde_json::json!({
            "level": "error",
            "message": "this function takes 2 arguments but 1 argument was supplied",
            "code": { "code": "E0061" },
            "spans": [{ "file_name": "src/a.rs", "line_start": 7, "line_end": 7,
                        "column_start": 5, "is_primary": true }],
            "children": [{ "spans": [{ "file_name": "src/b.rs", "line_start": 2,
                                       "line_end": 3, "column_start": 1,
                                       "is_primary": true }] }]
        });
        let parsed = diagnostic(&message).unwrap();
        assert_eq!(
            parsed.summary,
            "src/a.rs:7:5: error[E0061]: this function takes 2 arguments but 1 argument was supplied"
        );
        assert_eq!(
            parsed.spans,
            [
                ("src/a.rs".to_string(), 7, 7),
                ("src/b.rs".to_string(), 2, 3)
            ]
        );
        assert!(diagnostic(&serde_json::json!({ "level": "warning" })).is_none());
    }
}
