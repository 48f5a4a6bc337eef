//! The per-file pipeline and the parallel workspace run.
//!
//! Per file: parse with `syn` (a parse error becomes a `parse-error` finding), resolve
//! every path once ([`FileResolution`]), run each enabled rule over the tree, then
//! apply the suppression comments and add `invalid-suppression` findings. Files are
//! independent, so a workspace is linted with rayon, one file per task.

use std::path::Path;

use proc_macro2::Span;
use rayon::prelude::*;

use crate::config::Config;
use crate::finding::{Diagnostic, Finding, Severity};
use crate::resolve::{ExternCrates, FileResolution, LineIndex, Location};
use crate::rules;
use crate::suppress;
use crate::workspace::{Package, SourceFile, TargetKind, Workspace};

/// One file to lint.
#[derive(Debug, Clone, Copy)]
pub struct FileInput<'a> {
    pub source: &'a str,
    /// Relative to the workspace root, `/`-separated: used for globs and output.
    pub rel_path: &'a str,
    pub target_kind: TargetKind,
    pub crates: &'a ExternCrates,
    /// The package the file belongs to, for package-level rule levels.
    pub package: Option<&'a str>,
}

/// What a rule sees of a file.
pub struct FileContext<'a> {
    pub source: &'a str,
    pub file: &'a syn::File,
    pub rel_path: &'a str,
    pub target_kind: TargetKind,
    pub crates: &'a ExternCrates,
    pub resolution: &'a FileResolution,
    pub lines: &'a LineIndex,
    /// The file is under a configured `quarantine` glob.
    pub quarantined: bool,
    /// The file is under a configured `boundary` glob.
    pub boundary: bool,
    pub config: &'a Config,
}

impl FileContext<'_> {
    /// The canonical path a `syn::Path` of this file names, if it resolved.
    pub fn resolve(&self, path: &syn::Path) -> Option<&str> {
        self.resolution.path(path)
    }

    pub fn location(&self, span: Span) -> Location {
        self.lines.span_location(self.source, span)
    }

    pub fn location_between(&self, start: Span, end: Span) -> Location {
        self.lines.span_location_between(self.source, start, end)
    }

    /// Whether a canonical path names `asupersync`'s `Cx` (re-exported anywhere in
    /// the crate, or the crate's own `Cx` when linting `asupersync` itself).
    pub fn is_cx_path(&self, canonical: &str) -> bool {
        canonical.starts_with("asupersync::") && canonical.ends_with("::Cx")
    }

    /// Whether a type is `Cx`, `&Cx`, `&mut Cx` (through any alias or import).
    pub fn is_cx_type(&self, ty: &syn::Type) -> bool {
        match ty {
            syn::Type::Reference(r) => self.is_cx_type(&r.elem),
            syn::Type::Paren(p) => self.is_cx_type(&p.elem),
            syn::Type::Group(g) => self.is_cx_type(&g.elem),
            syn::Type::Path(p) if p.qself.is_none() => {
                self.resolve(&p.path).is_some_and(|c| self.is_cx_path(c))
            }
            _ => false,
        }
    }

    /// Whether the whole file is test code (an integration test or under `tests/`).
    pub fn is_test_file(&self) -> bool {
        self.target_kind == TargetKind::Test
            || self.rel_path.starts_with("tests/")
            || self.rel_path.contains("/tests/")
    }
}

/// Lints one file. Never panics, whatever the input.
///
/// It frees proc-macro2's span information of the current thread when done (the
/// source map would otherwise grow with every file): do not keep `syn` trees of
/// other files across a call on the same thread and ask them for positions.
pub fn lint_file(input: &FileInput<'_>, config: &Config) -> Vec<Finding> {
    let findings = lint_file_inner(input, config);
    // The span source map of proc-macro2 grows with every parsed file on a thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    findings
}

/// Deeper delimiter nesting than this is reported as a parse error instead of being
/// parsed: `syn` parses recursively, and real code stays far below it.
pub const MAX_NESTING: usize = 256;

/// The stack size of the threads that lint files (the parser and the rules recurse
/// over the syntax tree; the memory is only reserved, not committed).
pub const LINT_THREAD_STACK: usize = 64 << 20;

/// An over-approximation of the delimiter nesting depth (delimiters in literals and
/// comments count too, which only matters for pathological files).
fn delimiter_depth(source: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for byte in source.bytes() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses a source file the way the engine does, or says why not and where: a
/// lexer failure gets a readable reason, and pathological nesting (which would
/// overflow the stack in `syn`'s recursive parser) is refused up front. Other
/// tools that parse workspace files (`audit`) should use this too, and free the
/// span information with `proc_macro2::extra::invalidate_current_thread_spans()`
/// once done with a file.
pub fn parse_source(source: &str) -> Result<syn::File, (String, Location)> {
    parse(source, &LineIndex::new(source))
}

/// [`parse_source`] with a prepared line index.
fn parse(source: &str, lines: &LineIndex) -> Result<syn::File, (String, Location)> {
    if delimiter_depth(source) > MAX_NESTING {
        let start = Location {
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            byte_start: 0,
            byte_end: 0,
        };
        return Err((
            format!("delimiters nest deeper than {MAX_NESTING} levels"),
            start,
        ));
    }
    syn::parse_file(source).map_err(|err| {
        let reason = match err.to_string().as_str() {
            // proc-macro2's lexer error says nothing about the cause.
            "cannot parse string into token stream" => {
                "an unbalanced delimiter or an unterminated literal".to_string()
            }
            other => other.to_string(),
        };
        (reason, lines.span_location(source, err.span()))
    })
}

fn lint_file_inner(input: &FileInput<'_>, config: &Config) -> Vec<Finding> {
    let source = input
        .source
        .strip_prefix('\u{feff}')
        .unwrap_or(input.source);
    let lines = LineIndex::new(source);
    let level = |rule: &str| config.level(rule, input.package);
    let finding = |rule: &'static str, severity: Severity, d: Diagnostic| Finding {
        rule,
        severity,
        file: input.rel_path.to_string(),
        location: d.location,
        message: d.message,
        help: d.help,
    };
    let file = match parse(source, &lines) {
        Ok(file) => file,
        Err((reason, location)) => {
            let Some(severity) = Severity::from_level(level(rules::parse_error::ID)) else {
                return Vec::new();
            };
            return vec![finding(
                rules::parse_error::ID,
                severity,
                Diagnostic {
                    location,
                    message: format!("this file does not parse: {reason}"),
                    help: "fix the syntax error; no other rule could check this file".into(),
                },
            )];
        }
    };
    let resolution = FileResolution::new(source, &file, input.crates);
    let context = FileContext {
        source,
        file: &file,
        rel_path: input.rel_path,
        target_kind: input.target_kind,
        crates: input.crates,
        resolution: &resolution,
        lines: &lines,
        quarantined: config.is_quarantined(input.rel_path),
        boundary: config.is_boundary(input.rel_path),
        config,
    };
    let mut suppressions = suppress::scan(source, &lines);
    suppressions.extend_over_functions(&file);
    let mut out = Vec::new();
    for rule in rules::RULES {
        let Some(severity) = Severity::from_level(level(rule.id)) else {
            continue;
        };
        for diagnostic in (rule.check)(&context) {
            if !suppressions.covers(rule.id, diagnostic.location.line) {
                out.push(finding(rule.id, severity, diagnostic));
            }
        }
    }
    if let Some(severity) = Severity::from_level(level(rules::invalid_suppression::ID)) {
        for diagnostic in suppressions.invalid {
            out.push(finding(
                rules::invalid_suppression::ID,
                severity,
                diagnostic,
            ));
        }
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.dedup();
    out
}

/// The result of linting a workspace.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// How many files were linted.
    pub files: usize,
    /// How many lines they had.
    pub lines: usize,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Lints every file of a workspace in parallel. A file that cannot be read is a
/// `parse-error` finding.
pub fn lint_workspace(workspace: &Workspace, config: &Config) -> Report {
    lint_workspace_with_progress(workspace, config, &|| {})
}

/// [`lint_workspace`], calling `file_done` (from any thread) after each file, for
/// a progress bar.
pub fn lint_workspace_with_progress(
    workspace: &Workspace,
    config: &Config,
    file_done: &(dyn Fn() + Sync),
) -> Report {
    let files: Vec<_> = workspace.files().collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(LINT_THREAD_STACK)
        .thread_name(|i| format!("asupersync-lint-{i}"))
        .build();
    let run = || lint_files(&files, config, file_done);
    let results = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    for (findings, lines) in results {
        report.findings.extend(findings);
        report.lines += lines;
    }
    report
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    report
}

/// Lints files in parallel; each result is the findings and the line count.
fn lint_files(
    files: &[(&Package, &SourceFile)],
    config: &Config,
    file_done: &(dyn Fn() + Sync),
) -> Vec<(Vec<Finding>, usize)> {
    files
        .par_iter()
        .map(|(package, file)| {
            let result = lint_one(package, file, config);
            file_done();
            result
        })
        .collect()
}

/// Lints one file of a package: its findings and its line count.
fn lint_one(package: &Package, file: &SourceFile, config: &Config) -> (Vec<Finding>, usize) {
    match read_source(&file.path) {
        Ok(source) => {
            let input = FileInput {
                source: &source,
                rel_path: &file.rel_path,
                target_kind: file.target_kind,
                crates: &package.extern_crates,
                package: Some(&package.name),
            };
            (lint_file(&input, config), source.lines().count())
        }
        Err(message) => (
            unreadable_file(&file.rel_path, message, config, &package.name),
            0,
        ),
    }
}

fn read_source(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())
}

fn unreadable_file(
    rel_path: &str,
    message: String,
    config: &Config,
    package: &str,
) -> Vec<Finding> {
    let level = config.level(rules::parse_error::ID, Some(package));
    let Some(severity) = Severity::from_level(level) else {
        return Vec::new();
    };
    vec![Finding {
        rule: rules::parse_error::ID,
        severity,
        file: rel_path.to_string(),
        location: Location {
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            byte_start: 0,
            byte_end: 0,
        },
        message: format!("this file cannot be read: {message}"),
        help: "make the file readable UTF-8 Rust source".into(),
    }]
}

/// Whether a report fails the gate.
pub fn fails_gate(report: &Report, deny_warnings: bool) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Deny || deny_warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Level;

    fn lint(source: &str, config: &Config, package: Option<&str>) -> Vec<(&'static str, usize)> {
        let crates = ExternCrates::new();
        let input = FileInput {
            source,
            rel_path: "src/lib.rs",
            target_kind: TargetKind::Lib,
            crates: &crates,
            package,
        };
        lint_file(&input, config)
            .into_iter()
            .map(|f| (f.rule, f.location.line))
            .collect()
    }

    const TWO_RULES_ON_ONE_LINE: &str =
        "use asupersync::Cx;\nfn f(a: u8, cx: &Cx) { tokio::spawn(x); }\n";

    #[test]
    fn a_suppression_covers_only_the_rules_it_names() {
        let source = format!(
            "{}// asupersync: allow(cx-first) -- frozen API\n{}",
            "use asupersync::Cx;\n",
            TWO_RULES_ON_ONE_LINE.lines().nth(1).unwrap()
        );
        let found = lint(&source, &Config::default(), None);
        assert_eq!(
            found,
            [("detached-spawn", 3), ("tokio-outside-quarantine", 3)]
        );
    }

    #[test]
    fn a_suppression_above_a_function_covers_all_of_it() {
        let source =
            "fn outer() {\n    // asupersync: allow(tokio-outside-quarantine) -- on the host\n    \
                      async fn inner() {\n        tokio::task::yield_now().await;\n    }\n    \
                      tokio::task::yield_now();\n}\n";
        assert_eq!(
            lint(source, &Config::default(), None),
            [("tokio-outside-quarantine", 6)]
        );
    }

    #[test]
    fn levels_turn_rules_off_per_workspace_and_per_package() {
        let all = lint(TWO_RULES_ON_ONE_LINE, &Config::default(), Some("app"));
        assert_eq!(all.len(), 3, "{all:?}");
        let mut builder = Config::builder();
        builder
            .level("cx-first", Level::Allow, Some("app"))
            .unwrap()
            .level("detached-spawn", Level::Allow, None)
            .unwrap();
        let config = builder.build().unwrap();
        assert_eq!(
            lint(TWO_RULES_ON_ONE_LINE, &config, Some("app")),
            [("tokio-outside-quarantine", 2)]
        );
        assert_eq!(
            lint(TWO_RULES_ON_ONE_LINE, &config, Some("other")),
            [("cx-first", 2), ("tokio-outside-quarantine", 2)]
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_shift_positions() {
        let source = format!("\u{feff}{TWO_RULES_ON_ONE_LINE}");
        let crates = ExternCrates::new();
        let input = FileInput {
            source: &source,
            rel_path: "src/lib.rs",
            target_kind: TargetKind::Lib,
            crates: &crates,
            package: None,
        };
        let findings = lint_file(&input, &Config::default());
        let cx_first = findings.iter().find(|f| f.rule == "cx-first").unwrap();
        assert_eq!((cx_first.location.line, cx_first.location.column), (2, 13));
    }

    #[test]
    fn crlf_sources_keep_positions_and_suppressions() {
        let source = "use asupersync::Cx;\r\n// asupersync: allow(cx-first) -- frozen\r\nfn f(a: u8, cx: &Cx) {}\r\nfn g(a: u8, cx: &Cx) {}\r\n";
        let crates = ExternCrates::new();
        let input = FileInput {
            source,
            rel_path: "src/lib.rs",
            target_kind: TargetKind::Lib,
            crates: &crates,
            package: None,
        };
        let findings = lint_file(&input, &Config::default());
        let positions: Vec<(usize, usize, usize)> = findings
            .iter()
            .map(|f| (f.location.line, f.location.column, f.location.end_column))
            .collect();
        assert_eq!(positions, [(4, 13, 20)]);
        let location = findings[0].location;
        assert_eq!(&source[location.byte_start..location.byte_end], "cx: &Cx");
    }

    #[test]
    fn the_gate_fails_on_deny_or_on_any_finding_with_deny_warnings() {
        let warn_only = "use asupersync::Cx;\nasync fn f(cx: &Cx) { loop { g().await; } }\n";
        let crates = ExternCrates::new();
        let input = FileInput {
            source: warn_only,
            rel_path: "src/lib.rs",
            target_kind: TargetKind::Lib,
            crates: &crates,
            package: None,
        };
        let report = Report {
            findings: lint_file(&input, &Config::default()),
            files: 1,
            lines: 2,
        };
        assert_eq!(report.count(Severity::Warn), 1);
        assert!(!fails_gate(&report, false));
        assert!(fails_gate(&report, true));
    }
}
