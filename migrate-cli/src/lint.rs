//! `cargo asupersync lint` (DESIGN.md §6): the CI gate for `&Cx`-first, Tokio-free
//! code. The work is done by `asupersync-lints`; this module picks the workspace,
//! prints the report in the requested format and maps it to the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::bail;
use asupersync_lints::engine::fails_gate;
use asupersync_lints::engine::lint_workspace_with_progress;
use asupersync_lints::render::{human, json, sarif};
use asupersync_lints::{Config, Workspace};
use clap::Args;

use crate::cli::{Exit, Format, GlobalArgs};

mod clippy_config;

pub use clippy_config::clippy_config;

/// Arguments of `cargo asupersync lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// A workspace directory or its Cargo.toml (default: --manifest-path, or the
    /// workspace around the current directory).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Fail on any finding, warnings included.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print clippy.toml `disallowed-methods`/`-types`/`-macros` entries that ban
    /// Tokio paths (with the native replacement as the reason) instead of linting.
    #[arg(long)]
    pub emit_clippy_config: bool,
}

/// Runs the subcommand.
pub fn run(global: &GlobalArgs, args: &LintArgs) -> anyhow::Result<Exit> {
    if args.emit_clippy_config {
        write_stdout(&clippy_config())?;
        return Ok(Exit::Clean);
    }
    if global.format == Format::Markdown {
        bail!("`cargo asupersync lint` supports --format human, json or sarif, not markdown");
    }
    let manifest = manifest_path(global, args)?;
    let workspace = Workspace::load(manifest.as_deref())?;
    let config = Config::load(&workspace)?.with_native_lookup(native_replacement);
    let report = with_progress(workspace.files().count(), |done| {
        lint_workspace_with_progress(&workspace, &config, done)
    });
    let output = match global.format {
        Format::Json => json::render(&report) + "\n",
        Format::Sarif => sarif::render(&report) + "\n",
        Format::Human | Format::Markdown => {
            let color = global.color.enabled(std::io::stdout().is_terminal());
            let root = workspace.root.clone();
            human::render_report(&report, &|file| read_for_display(&root, file), color)
        }
    };
    write_stdout(&output)?;
    Ok(if fails_gate(&report, args.deny_warnings) {
        Exit::Findings
    } else {
        Exit::Clean
    })
}

/// Writes command output to stdout; a closed pipe (`lint | head`) is not an error.
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The native replacement of a Tokio-ecosystem path, from the mapping data.
fn native_replacement(path: &str) -> Option<String> {
    crate::mapping::mapping().classify(path)?.native
}

/// Runs `work` with a progress bar on stderr when the run is long enough to
/// want one and stderr is a terminal (DESIGN.md §6).
fn with_progress<T>(files: usize, work: impl FnOnce(&(dyn Fn() + Sync)) -> T) -> T {
    const PROGRESS_MIN_FILES: usize = 500;
    if files < PROGRESS_MIN_FILES || !std::io::stderr().is_terminal() {
        return work(&|| {});
    }
    let bar = indicatif::ProgressBar::new(files as u64).with_style(
        indicatif::ProgressStyle::with_template("{spinner} linting {pos}/{len} files {wide_bar}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = work(&|| bar.inc(1));
    bar.finish_and_clear();
    result
}

/// The manifest to load: `PATH` (a directory or a Cargo.toml) or `--manifest-path`.
fn manifest_path(global: &GlobalArgs, args: &LintArgs) -> anyhow::Result<Option<PathBuf>> {
    let path = match (&args.path, &global.manifest_path) {
        (Some(_), Some(_)) => bail!("give either PATH or --manifest-path, not both"),
        (Some(path), None) | (None, Some(path)) => path,
        (None, None) => return Ok(None),
    };
    if !path.exists() {
        bail!("no such file or directory: {}", path.display());
    }
    let manifest = if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.clone()
    };
    Ok(Some(manifest))
}

/// A file's text for the snippets of human output (`None` if it vanished).
fn read_for_display(root: &Path, rel_path: &str) -> Option<String> {
    let text = std::fs::read_to_string(root.join(rel_path)).ok()?;
    // The engine lints the text without a byte-order mark.
    Some(
        text.strip_prefix('\u{feff}')
            .map(str::to_string)
            .unwrap_or(text),
    )
}
