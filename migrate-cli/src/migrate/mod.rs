//! `cargo asupersync migrate` (DESIGN.md §6): rewrites Tokio code onto asupersync.
//!
//! A migration tool is only useful if its output can be trusted without reading every
//! line, so this one is built around three guarantees:
//! - **Nothing is re-printed.** Rust files change by byte-range replacements on the
//!   text as read ([`edit`], the rustfix model); manifests through `toml_edit`
//!   ([`manifest`]). Comments and formatting outside an edit stay as they were.
//! - **Nothing that might not compile is written.** Each usage is classed by the shared
//!   mapping and then by what a rewrite of it needs ([`shape`]); the package-level
//!   [`mod@plan`] makes a rewrite only when it can show the result builds, and reports
//!   everything else as manual or behind compat, with the mapping's note as the reason.
//! - **Nothing that does not build is kept.** `--apply` refuses a dirty (or
//!   unverifiable) git tree, then per package writes, runs `cargo check --all-targets`,
//!   backs out the usages whose edits the compiler's errors point into and re-plans
//!   without them, and restores the package's files byte for byte if that does not
//!   settle it ([`apply`]). The planner may therefore be bolder than it can prove,
//!   as long as a wrong rewrite fails to compile where it was made.
//!
//! Tiers done: 1 manifests, 2 entry points, 3 imports and paths, 4 Cx threading from
//! the entry points through the private async functions and inherent methods of a
//! package, across its files (public ones too where nothing outside the package calls
//! them), into
//! `sleep`/`sleep_until`/`yield_now` statements ([`cx`]), and 5: `join!`, `select!` in
//! a function that has the cx when every branch is one of those calls (so every loser
//! is cancel-aware once native), and `spawn`/`spawn_blocking` whose handles are awaited
//! in forms mapped back; 6: a private async function whose body stays on Tokio is
//! wrapped in `asupersync_tokio_compat::run` ([`compat`]), and a package that cannot
//! leave Tokio whole is quarantined (its entry points native, their bodies and the
//! Tokio code left behind compat, see [`mod@plan`]). Running the command again on its
//! own output changes nothing.
//!
//! `audit` runs the same planner ([`plan_loaded`], a dry run) for its estimate, so the
//! audit's "migrate rewrites N usages" is the N this command reports.
//!
//! Exit codes: `0` done (or a dry run; usages backed out by `--apply` are reported,
//! not failures), `1` a package was rolled back whole, `2` bad input or a
//! refused `--apply`.

pub mod apply;
pub mod compat;
pub mod cx;
pub mod edit;
pub mod manifest;
pub mod plan;
pub mod render;
pub mod shape;
pub mod source;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use asupersync_lints::workspace::Workspace;
use clap::Args;

use crate::cli::{Exit, Format, GlobalArgs};
use crate::mapping::mapping;
use manifest::DependencySource;
use plan::PackagePlan;

/// Arguments of `cargo asupersync migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The workspace to migrate: a directory or a Cargo.toml (default: the workspace
    /// around the current directory; `--manifest-path` works too).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Write the edits (default: a dry run that prints the diff and the summary).
    #[arg(long)]
    pub apply: bool,
    /// With --apply: proceed even if the git tree is dirty or not a git repository.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Only this member package (repeatable).
    #[arg(long = "package", short = 'p', value_name = "P")]
    pub packages: Vec<String>,
    /// Depend on a local checkout of asupersync (`DIR/runtime`, `DIR/compat`) instead of
    /// crates.io.
    #[arg(long, value_name = "DIR")]
    pub asupersync_path: Option<PathBuf>,
}

/// The plan of the whole run.
#[derive(Debug)]
pub struct Migration {
    pub root: PathBuf,
    pub packages: Vec<PackagePlan>,
    /// For each member, the members that depend on it, directly or not: a rewrite of
    /// the member's API can break them, so they are checked with it.
    pub dependents: HashMap<String, Vec<String>>,
    /// What planning a package again needs (`--apply` re-plans a package without the
    /// usages it backed out).
    workspace: Workspace,
    roots: Vec<String>,
    source: DependencySource,
    /// Per selected package: the crate that holds it on Tokio from outside, if any.
    held: HashMap<String, Option<String>>,
    /// Per selected package: whether its API has no callers outside it
    /// ([`plan::private_api`]).
    private_api: HashMap<String, bool>,
}

impl Migration {
    /// Plans package `name` again, with the usages of `backed_out` left as written.
    pub fn replan(&self, name: &str, backed_out: &plan::BackedOut) -> anyhow::Result<PackagePlan> {
        let package = self
            .workspace
            .packages
            .iter()
            .find(|package| package.name == name)
            .ok_or_else(|| anyhow!("no member package named `{name}`"))?;
        let roots: Vec<&str> = self.roots.iter().map(String::as_str).collect();
        plan::plan_package(
            package,
            &self.workspace.root,
            &roots,
            &self.source,
            self.held.get(name).cloned().flatten().as_deref(),
            self.private_api.get(name).copied().unwrap_or(false),
            backed_out,
        )
    }
}

/// Plans the migration of a workspace (reads only).
pub fn plan(
    manifest: Option<&std::path::Path>,
    only: &[String],
    source: &DependencySource,
) -> anyhow::Result<Migration> {
    let workspace = Workspace::load(manifest).map_err(|err| anyhow!("{err}"))?;
    let metadata = crate::audit::graph::load_metadata(Some(&workspace.root.join("Cargo.toml")))
        .map_err(|err| anyhow!(err))?;
    plan_loaded(workspace, &metadata, only, source)
}

/// Plans the migration of a workspace already loaded (reads only). `audit` calls this
/// with a dry-run source to class every usage exactly as `migrate` would: one planner.
pub fn plan_loaded(
    workspace: Workspace,
    metadata: &cargo_metadata::Metadata,
    only: &[String],
    source: &DependencySource,
) -> anyhow::Result<Migration> {
    for name in only {
        if !workspace.packages.iter().any(|p| &p.name == name) {
            bail!("no member package named `{name}`");
        }
    }
    let own: Vec<&str> = workspace
        .packages
        .iter()
        .filter_map(|package| package.extern_crates.self_crate())
        .collect();
    let roots = mapping().audited_roots();
    let roots: Vec<&str> = roots
        .iter()
        .map(String::as_str)
        .filter(|root| !own.contains(root))
        .collect();
    let vias = tokio_vias(metadata);
    let selected: Vec<&asupersync_lints::workspace::Package> = workspace
        .packages
        .iter()
        .filter(|package| only.is_empty() || only.contains(&package.name))
        .collect();
    // A package that pulls Tokio through another member is held back unless that member
    // ends up Tokio-free; settle that to a fixed point (chains of members).
    let mut held: Vec<Option<String>> = selected
        .iter()
        .map(|package| external_via(&vias, &package.name, &workspace))
        .collect();
    let dependents = member_dependents(metadata);
    let private_api: HashMap<String, bool> = selected
        .iter()
        .map(|package| {
            let publish = metadata
                .workspace_packages()
                .into_iter()
                .find(|p| p.name.as_str() == package.name)
                .and_then(|p| p.publish.as_deref());
            let has_dependents = dependents.get(&package.name).is_some_and(|d| !d.is_empty());
            (
                package.name.clone(),
                plan::private_api(package, publish, has_dependents),
            )
        })
        .collect();
    let mut packages = Vec::new();
    for _ in 0..=selected.len() {
        packages = selected
            .iter()
            .zip(&held)
            .map(|(package, via)| {
                plan::plan_package(
                    package,
                    &workspace.root,
                    &roots,
                    source,
                    via.as_deref(),
                    private_api[&package.name],
                    &plan::BackedOut::new(),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut changed = false;
        for (index, package) in selected.iter().enumerate() {
            if held[index].is_some() {
                continue;
            }
            let bound_member = vias
                .get(package.name.as_str())
                .into_iter()
                .flatten()
                .find(|via| {
                    !packages
                        .iter()
                        .any(|plan: &PackagePlan| &plan.name == *via && plan.tokio_free)
                });
            if let Some(via) = bound_member {
                held[index] = Some(format!("the member `{via}`, which still pulls Tokio"));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let held = selected
        .iter()
        .zip(held)
        .map(|(package, via)| (package.name.clone(), via))
        .collect();
    let roots = roots.iter().map(|root| root.to_string()).collect();
    Ok(Migration {
        root: workspace.root.clone(),
        packages,
        dependents,
        workspace,
        roots,
        source: source.clone(),
        held,
        private_api,
    })
}

/// For each member, every member that depends on it (transitively), sorted.
fn member_dependents(metadata: &cargo_metadata::Metadata) -> HashMap<String, Vec<String>> {
    let members: HashMap<&cargo_metadata::PackageId, &str> = metadata
        .workspace_packages()
        .into_iter()
        .map(|package| (&package.id, package.name.as_str()))
        .collect();
    let mut direct: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata.resolve.iter().flat_map(|resolve| &resolve.nodes) {
        let Some(&dependent) = members.get(&node.id) else {
            continue;
        };
        for dep in &node.deps {
            if let Some(&member) = members.get(&dep.pkg) {
                direct.entry(member).or_default().push(dependent);
            }
        }
    }
    members
        .values()
        .map(|&member| {
            let mut seen: Vec<String> = Vec::new();
            let mut stack: Vec<&str> = direct.get(member).cloned().unwrap_or_default();
            while let Some(next) = stack.pop() {
                if next != member && !seen.iter().any(|s| s == next) {
                    seen.push(next.to_string());
                    stack.extend(direct.get(next).into_iter().flatten().copied());
                }
            }
            seen.sort();
            (member.to_string(), seen)
        })
        .collect()
}

/// For each member: the crates right below it on a path to `tokio` other than `tokio`
/// itself (`app → reqwest → hyper → tokio` gives `reqwest`). A truncated path list is
/// reported as `…` so that the member is held back.
fn tokio_vias(metadata: &cargo_metadata::Metadata) -> HashMap<String, Vec<String>> {
    let facts = crate::audit::graph::analyze(metadata, mapping());
    let mut vias: HashMap<String, Vec<String>> = HashMap::new();
    for dependency in facts.dependencies.iter().filter(|d| d.name == "tokio") {
        for path in &dependency.paths {
            if let [member, via, _, ..] = path.as_slice() {
                vias.entry(member.clone()).or_default().push(via.clone());
            }
        }
        if dependency.paths_truncated {
            for path in &dependency.paths {
                if let Some(member) = path.first() {
                    vias.entry(member.clone())
                        .or_default()
                        .push("…".to_string());
                }
            }
        }
    }
    vias
}

/// Why a member is held on Tokio by a crate that is not a workspace member, if it is.
fn external_via(
    vias: &HashMap<String, Vec<String>>,
    name: &str,
    workspace: &Workspace,
) -> Option<String> {
    let via = vias
        .get(name)?
        .iter()
        .find(|via| !workspace.packages.iter().any(|p| &p.name == *via))?;
    Some(if via == "…" {
        "more paths to Tokio than the graph lists".to_string()
    } else {
        format!("the dependency `{via}`, which pulls Tokio")
    })
}

fn manifest_arg(global: &GlobalArgs, args: &MigrateArgs) -> anyhow::Result<Option<PathBuf>> {
    let given = match (&args.path, &global.manifest_path) {
        (Some(_), Some(_)) => bail!("give either PATH or --manifest-path, not both"),
        (Some(path), None) | (None, Some(path)) => path,
        (None, None) => return Ok(None),
    };
    let manifest = if given.is_dir() {
        given.join("Cargo.toml")
    } else {
        given.clone()
    };
    if !manifest.is_file() {
        bail!("no Cargo.toml at {}", manifest.display());
    }
    Ok(Some(manifest))
}

/// Runs the subcommand.
pub fn run(global: &GlobalArgs, args: &MigrateArgs) -> anyhow::Result<Exit> {
    if !matches!(global.format, Format::Human | Format::Json) {
        bail!("migrate prints `human` or `json`");
    }
    let manifest = manifest_arg(global, args)?;
    let source = match &args.asupersync_path {
        None => DependencySource::Registry,
        Some(dir) => {
            let dir = dir
                .canonicalize()
                .map_err(|err| anyhow!("--asupersync-path {}: {err}", dir.display()))?;
            if !dir.join("runtime/Cargo.toml").is_file() {
                bail!(
                    "--asupersync-path {}: no runtime/Cargo.toml there (expected a checkout of the asupersync workspace)",
                    dir.display()
                );
            }
            DependencySource::Path(dir)
        }
    };
    let mut migration = plan(manifest.as_deref(), &args.packages, &source)?;
    let outcomes = if args.apply {
        if !args.allow_dirty {
            if let Err(why) = apply::check_clean(&migration.root) {
                eprintln!("migrate: {why}");
                return Ok(Exit::Usage);
            }
        }
        Some(apply::apply(&mut migration)?)
    } else {
        None
    };
    let report = render::Report::new(&migration, outcomes.as_deref());
    let text = match global.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        _ => render::human(&migration, &report),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    let rolled_back = outcomes
        .iter()
        .flatten()
        .any(|outcome| matches!(outcome.result, apply::ApplyResult::RolledBack { .. }));
    Ok(if rolled_back {
        Exit::Findings
    } else {
        Exit::Clean
    })
}
