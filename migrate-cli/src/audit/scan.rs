//! The usage inventory: every `.rs` file of every target, parsed with `syn` and resolved
//! by `asupersync_lints::resolve::collect_uses` (the one resolver shared with the lints),
//! each resolved path classed through the mapping.
//!
//! Files are independent, so they are scanned in parallel (rayon); a progress bar is
//! drawn on stderr for large workspaces when stderr is a terminal. A file that does not
//! parse becomes a [`ParseError`] and the scan goes on.

use std::io::IsTerminal;
use std::path::Path;

use asupersync_lints::resolve::{collect_uses, ExternCrates, ResolvedUse};
use asupersync_lints::workspace::Workspace;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::report::{ParseError, Usage};
use crate::mapping::Mapping;

/// Workspaces with at least this many files get a progress bar (on a terminal).
pub const PROGRESS_THRESHOLD: usize = 500;

/// What scanning found.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub usages: Vec<Usage>,
    pub parse_errors: Vec<ParseError>,
    pub files: usize,
}

/// One file to scan.
#[derive(Debug, Clone, Copy)]
pub struct FileJob<'a> {
    pub package: &'a str,
    pub path: &'a Path,
    /// Relative to the workspace root.
    pub rel_path: &'a str,
    pub crates: &'a ExternCrates,
}

/// Scans every file of the workspace. The workspace's own crates are never usages,
/// even when the knowledge base knows them (auditing the axum repository must not
/// count `axum::Router` inside axum as a holdout).
pub fn scan_workspace(workspace: &Workspace, mapping: &Mapping) -> ScanResult {
    let own: Vec<&str> = workspace
        .packages
        .iter()
        .filter_map(|package| package.extern_crates.self_crate())
        .collect();
    let jobs: Vec<FileJob<'_>> = workspace
        .files()
        .map(|(package, file)| FileJob {
            package: &package.name,
            path: &file.path,
            rel_path: &file.rel_path,
            crates: &package.extern_crates,
        })
        .collect();
    scan_files(&jobs, mapping, &own)
}

/// Scans a list of files in parallel; paths into the crates named in `own` are skipped.
pub fn scan_files(jobs: &[FileJob<'_>], mapping: &Mapping, own: &[&str]) -> ScanResult {
    let roots = mapping.audited_roots();
    let roots: Vec<&str> = roots
        .iter()
        .map(String::as_str)
        .filter(|root| !own.contains(root))
        .collect();
    let progress = progress_bar(jobs.len());
    let per_file: Vec<(Vec<Usage>, Option<ParseError>)> = jobs
        .par_iter()
        .map(|job| {
            let result = scan_file(job, &roots, mapping);
            progress.inc(1);
            result
        })
        .collect();
    progress.finish_and_clear();
    let mut result = ScanResult {
        files: jobs.len(),
        ..ScanResult::default()
    };
    for (usages, parse_error) in per_file {
        result.usages.extend(usages);
        result.parse_errors.extend(parse_error);
    }
    result
}

/// Scans one file: its usages, or why it could not be read.
pub fn scan_file(
    job: &FileJob<'_>,
    roots: &[&str],
    mapping: &Mapping,
) -> (Vec<Usage>, Option<ParseError>) {
    let source = match std::fs::read_to_string(job.path) {
        Ok(source) => source,
        Err(err) => return (Vec::new(), Some(parse_error(job, 1, 1, err.to_string()))),
    };
    let file = match syn::parse_file(&source) {
        Ok(file) => file,
        Err(err) => {
            let start = err.span().start();
            let mut message = err.to_string();
            if message == "cannot parse string into token stream" {
                // syn's wording for a lexing failure, which names no cause.
                message = "does not lex: unbalanced delimiters or an invalid token".to_string();
            }
            return (
                Vec::new(),
                Some(parse_error(job, start.line, start.column + 1, message)),
            );
        }
    };
    let usages = collect_uses(&source, &file, job.crates, roots)
        .into_iter()
        .filter_map(|resolved| usage(job, resolved, mapping))
        .collect();
    (usages, None)
}

fn usage(job: &FileJob<'_>, resolved: ResolvedUse, mapping: &Mapping) -> Option<Usage> {
    let classification = mapping.classify(&resolved.path)?;
    Some(Usage {
        package: job.package.to_string(),
        file: job.rel_path.to_string(),
        line: resolved.location.line,
        column: resolved.location.column,
        kind: resolved.kind.as_str().to_string(),
        class: classification.class,
        native: classification.native,
        // Decided by migrate's planner once the whole workspace is scanned
        // (`audit::mark_automatic`): whether a usage is rewritten depends on the rest
        // of its package, not on its mapping entry alone.
        auto: false,
        end_line: resolved.location.end_line,
        end_column: resolved.location.end_column,
        mapping: classification.entry.map(|entry| entry.tokio.clone()),
        reason: None,
        api: resolved.path,
    })
}

fn parse_error(job: &FileJob<'_>, line: usize, column: usize, message: String) -> ParseError {
    ParseError {
        package: job.package.to_string(),
        file: job.rel_path.to_string(),
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

fn progress_bar(files: usize) -> ProgressBar {
    if files < PROGRESS_THRESHOLD || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("auditing {bar:40} {pos}/{len} files {eta}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{mapping, Class};

    fn scan_source(source: &str, own: &[&str]) -> ScanResult {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.rs");
        std::fs::write(&path, source).unwrap();
        let mut crates = ExternCrates::new();
        crates.insert("hyper", "hyper");
        crates.insert("tokio", "tokio");
        let job = FileJob {
            package: "app",
            path: &path,
            rel_path: "src/lib.rs",
            crates: &crates,
        };
        scan_files(&[job], mapping(), own)
    }

    #[test]
    fn usages_are_classed_through_the_mapping() {
        let result = scan_source(
            "fn f() { hyper::Request::new(()); tokio::spawn(x()); }",
            &[],
        );
        let found: Vec<(&str, Class)> = result
            .usages
            .iter()
            .map(|u| (u.api.as_str(), u.class))
            .collect();
        assert_eq!(
            found,
            [
                ("hyper::Request::new", Class::CompatHoldout),
                ("tokio::spawn", Class::NativeReplacement),
            ]
        );
    }

    #[test]
    fn the_workspace_own_crates_are_not_usages() {
        let result = scan_source("fn f() { hyper::Request::new(()); }", &["hyper"]);
        assert!(result.usages.is_empty());
    }

    #[test]
    fn a_file_that_does_not_parse_is_reported_at_the_error() {
        let result = scan_source("fn f() {\n    let = ;\n}\n", &[]);
        assert_eq!(result.parse_errors.len(), 1);
        assert_eq!(result.parse_errors[0].line, 2);
        assert_eq!(result.files, 1);
    }
}
