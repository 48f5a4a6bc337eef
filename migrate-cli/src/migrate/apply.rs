//! `--apply`: write, verify with the compiler, roll back what does not build.
//!
//! Packages are applied one at a time so a failure is attributed to the package whose
//! edits caused it: snapshot the bytes of every file the package's plan touches (and
//! the workspace's `Cargo.lock`, which `cargo check` updates after a manifest change),
//! write the new text, run `cargo check --all-targets` on the package and on the
//! members that depend on it (a rewritten public type can break them), and on failure
//! write the snapshot back byte for byte (a lockfile that did not exist is removed
//! again). The compiler's first error is kept for the report.
//!
//! Before anything is written the git tree must be clean: the user's way back from a
//! migration is `git diff`/`git checkout`, which only works on a clean start. A
//! directory that is not in a git repository cannot be verified, so it is refused too;
//! `--allow-dirty` overrides both.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::plan::PackagePlan;
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

/// Applies every package of the plan, in order.
pub fn apply(migration: &Migration) -> anyhow::Result<Vec<PackageOutcome>> {
    migration
        .packages
        .iter()
        .map(|package| {
            Ok(PackageOutcome {
                package: package.name.clone(),
                result: apply_package(
                    &migration.root,
                    package,
                    migration
                        .dependents
                        .get(&package.name)
                        .map_or(&[][..], Vec::as_slice),
                )?,
            })
        })
        .collect()
}

fn apply_package(
    root: &Path,
    package: &PackagePlan,
    dependents: &[String],
) -> anyhow::Result<ApplyResult> {
    if package.changes.is_empty() {
        return Ok(ApplyResult::Unchanged);
    }
    let lockfile = root.join("Cargo.lock");
    let mut snapshot: Vec<(PathBuf, Option<Vec<u8>>)> = package
        .changes
        .iter()
        .map(|change| Ok((change.path.clone(), Some(std::fs::read(&change.path)?))))
        .collect::<std::io::Result<_>>()?;
    snapshot.push((lockfile.clone(), std::fs::read(&lockfile).ok()));
    for change in &package.changes {
        std::fs::write(&change.path, &change.new)?;
    }
    let mut checked = vec![package.name.as_str()];
    checked.extend(dependents.iter().map(String::as_str));
    match cargo_check(root, &checked) {
        Ok(()) => Ok(ApplyResult::Applied),
        Err(error) => {
            for (path, bytes) in &snapshot {
                match bytes {
                    Some(bytes) => std::fs::write(path, bytes)?,
                    None => {
                        if path.exists() {
                            std::fs::remove_file(path)?;
                        }
                    }
                }
            }
            Ok(ApplyResult::RolledBack { error })
        }
    }
}

/// Runs `cargo check --all-targets` on the packages; `Err` holds the first error.
fn cargo_check(root: &Path, packages: &[&str]) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .arg("check")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--all-targets", "--quiet", "--message-format", "short"])
        .args(packages.iter().flat_map(|package| ["-p", package]))
        .output()
        .map_err(|err| format!("cannot run cargo check: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr
        .lines()
        .find(|line| line.contains("error"))
        .unwrap_or("cargo check failed without an error message");
    Err(first.trim().to_string())
}
