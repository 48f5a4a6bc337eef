//! `cargo asupersync audit` (DESIGN.md §6): what migrating a workspace off Tokio costs.
//!
//! The command a team runs first, so it must be exact rather than approximate:
//! - **Dependencies** come from the resolved graph ([`graph`]): every Tokio-ecosystem
//!   crate a member pulls, directly or transitively, with the paths `cargo tree -i`
//!   shows, classed by the knowledge base (`data/crates.toml`).
//! - **Usages** come from parsing every `.rs` file of every target ([`scan`]) and
//!   resolving paths with the resolver shared with the lints
//!   (`asupersync_lints::resolve`), so aliases, globs, renamed crates and `select!`
//!   bodies count and comments and strings never do. Each usage is classed by the
//!   mapping (`data/mapping.toml`, see [`crate::mapping`]).
//!
//! # Readiness
//! Readiness is the weighted share of a package's units of work that `migrate` does by
//! itself, in percent, rounded down (so 100 means nothing is left to a person):
//!
//! ```text
//! readiness = floor(100 * Σ weight(u) for automatic units u / Σ weight(u) for all units u)
//! ```
//!
//! The units are the package's usages and its direct Tokio-ecosystem dependencies (the
//! manifest line is work too). A usage is automatic when `migrate` rewrites it: the
//! audit runs migrate's planner (a dry run, nothing written, [`mark_automatic`]) and
//! takes its decision, so "migrate rewrites N usages" here is the N a `migrate` dry
//! run reports. The mapping's `auto` flag says only that a rewrite is *possible*; the
//! planner also knows what holds a package on Tokio, what needs a cx it cannot thread,
//! and which paths sit inside macros. A dependency is automatic when its class is
//! `native-replacement`. Weights reflect how
//! much more a unit costs when a person has to do it: `native-replacement` 1, `manual`
//! and `compat-holdout` 3, `hard-blocker` 5. A package without units is 100.
//!
//! # Verdict
//! Exactly DESIGN.md §6, from [`report::verdict`]: `blocked` if the package pulls a
//! hard-blocker crate (or uses one); else `needs-quarantine` if it pulls a
//! compat-holdout crate or has a usage migrate cannot rewrite; else `ready` if it has
//! Tokio usage or dependencies at all; else `native`.
//!
//! # Exit codes
//! `0` clean; `1` when `--fail-on CLASS` finds a usage or dependency of that class, or
//! `--baseline FILE` finds usages that are new since that report; `2` for bad input
//! (missing path or manifest, unparsable Cargo.toml, unresolvable dependencies, unreadable
//! baseline), with one line on stderr. A `.rs` file that does not parse is a finding in
//! the report, never an abort.

pub mod baseline;
pub mod graph;
pub mod render;
pub mod report;
pub mod sarif;
pub mod scan;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use asupersync_lints::workspace::Workspace;
use clap::Args;

use crate::cli::{Exit, Format, GlobalArgs};
use crate::mapping::{mapping, Class};
use report::Report;

/// Arguments of `cargo asupersync audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The workspace to audit: a directory or a Cargo.toml (default: the workspace around
    /// the current directory; `--manifest-path` works too).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Compare with a saved JSON report and fail only on usages that are new since.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Fail (exit 1) if any usage or dependency has this class.
    #[arg(long, value_name = "CLASS", value_parser = parse_class)]
    pub fail_on: Option<Class>,
}

fn parse_class(text: &str) -> Result<Class, String> {
    Class::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Class::ALL.iter().map(|class| class.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// `path` relative to `root`, `/`-separated (itself when outside the root).
pub fn relative(root: &Path, path: &Path) -> String {
    asupersync_lints::workspace::relative_path(root, path)
}

/// The manifest named by `PATH` or `--manifest-path`, checked to exist.
fn manifest(global: &GlobalArgs, args: &AuditArgs) -> anyhow::Result<Option<PathBuf>> {
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

/// Audits the workspace and builds the report (no output, no exit code).
pub fn audit(manifest: Option<&Path>) -> anyhow::Result<Report> {
    let mapping = mapping();
    // The source files first: its errors for a missing or broken manifest are the
    // clearest. Then the resolved graph, which can fail only on resolution.
    let workspace = Workspace::load(manifest).map_err(|err| anyhow!("{err}"))?;
    let root_manifest = workspace.root.join("Cargo.toml");
    let metadata = graph::load_metadata(Some(manifest.unwrap_or(&root_manifest)))
        .map_err(|err| anyhow!(err))?;
    let facts = graph::analyze(&metadata, mapping);
    let mut scanned = scan::scan_workspace(&workspace, mapping);
    let root = workspace.root.display().to_string();
    let migration = crate::migrate::plan_loaded(
        workspace,
        &metadata,
        &[],
        &crate::migrate::manifest::DependencySource::Registry,
    )?;
    mark_automatic(&mut scanned.usages, &migration);
    Ok(Report::assemble(
        root,
        facts.members,
        facts.dependencies,
        scanned.usages,
        scanned.parse_errors,
        scanned.files,
    ))
}

/// Sets each usage's `auto` to whether `migrate` rewrites it in `migration` (its dry
/// run), and `reason` to why not: the audit's estimate is the planner's decision, never
/// a second judgement. Both come from the same resolver on the same files, so every
/// usage has its site; one without (there is none) would count as manual.
pub fn mark_automatic(usages: &mut [report::Usage], migration: &crate::migrate::Migration) {
    use crate::migrate::plan::{Disposition, Site};
    let sites: std::collections::HashMap<(&str, &str, usize, usize, &str), &Site> = migration
        .packages
        .iter()
        .flat_map(|package| &package.sites)
        .map(|site| {
            let key = (
                site.package.as_str(),
                site.file.as_str(),
                site.line,
                site.column,
                site.api.as_str(),
            );
            (key, site)
        })
        .collect();
    for usage in usages {
        let site = sites.get(&(
            usage.package.as_str(),
            usage.file.as_str(),
            usage.line,
            usage.column,
            usage.api.as_str(),
        ));
        usage.auto = site.is_some_and(|site| site.disposition == Disposition::Automatic);
        usage.reason = match site {
            Some(site) if !usage.auto => site.reason.clone(),
            Some(_) => None,
            None => Some("not seen by migrate's planner".to_string()),
        };
    }
}

/// Renders a report in one of the formats.
pub fn render(report: &Report, format: Format, color: bool) -> anyhow::Result<String> {
    Ok(match format {
        Format::Human => render::human(report, render::Style { color }),
        Format::Markdown => render::markdown(report),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Sarif => {
            let log = sarif::audit_log(report).to_json(Path::new(&report.workspace_root));
            serde_json::to_string_pretty(&log)? + "\n"
        }
    })
}

/// Runs the subcommand.
pub fn run(global: &GlobalArgs, args: &AuditArgs) -> anyhow::Result<Exit> {
    let manifest = manifest(global, args)?;
    let baseline = match &args.baseline {
        Some(path) => Some(baseline::Baseline::load(path).map_err(|err| anyhow!(err))?),
        None => None,
    };
    let mut report = audit(manifest.as_deref())?;
    if let Some(baseline) = &baseline {
        report.new_since_baseline = Some(baseline.new_usages(&report.usages));
    }
    let color = global.color.enabled(std::io::stdout().is_terminal());
    let text = render(&report, global.format, color)?;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match written {
        // `audit | head` is not an error.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }

    let mut exit = Exit::Clean;
    if let Some(class) = args.fail_on {
        if report.has_class(class) {
            eprintln!("audit: found {class} usage or dependencies (--fail-on {class})");
            exit = Exit::Findings;
        }
    }
    if let Some(new) = &report.new_since_baseline {
        if !new.is_empty() {
            eprintln!(
                "audit: {} new since the baseline:",
                if new.len() == 1 {
                    "1 usage is".to_string()
                } else {
                    format!("{} usages are", new.len())
                }
            );
            for usage in new {
                eprintln!(
                    "  {}:{}:{}: {} ({})",
                    usage.file, usage.line, usage.column, usage.api, usage.package
                );
            }
            exit = Exit::Findings;
        }
    }
    Ok(exit)
}
