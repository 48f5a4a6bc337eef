//! Human and Markdown renderings of a [`Report`].
//!
//! The human form is built for a tech lead's ten seconds: one line of totals, a table of
//! packages and verdicts, the automatic-vs-manual estimate, the top APIs and the
//! holdouts; the per-usage details come after. The Markdown form carries the same
//! summary for a pull-request comment, with the details folded.

use std::fmt::Write as _;

use super::report::{Report, Usage, Verdict};
use crate::mapping::{mapping, Class};

/// How many APIs the summary lists.
pub const TOP_APIS: usize = 10;
/// Most usage rows a Markdown comment carries (PR comments have a size limit).
pub const MARKDOWN_MAX_ROWS: usize = 300;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(self, text: &str) -> String {
        self.paint(text, "1")
    }

    fn verdict(self, verdict: Verdict, width: usize) -> String {
        let text = format!("{:width$}", verdict.as_str());
        let code = match verdict {
            Verdict::Native | Verdict::Ready => "32",
            Verdict::NeedsQuarantine => "33",
            Verdict::Blocked => "31",
        };
        self.paint(&text, code)
    }
}

fn percent(part: usize, whole: usize) -> usize {
    (part * 100).checked_div(whole).unwrap_or(100)
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The sentence estimating what migrate does and what is left to people.
pub fn estimate(report: &Report) -> String {
    let summary = &report.summary;
    let holdouts = report
        .dependencies
        .iter()
        .filter(|dep| dep.class == Class::CompatHoldout)
        .count();
    let blockers = report
        .dependencies
        .iter()
        .filter(|dep| dep.class == Class::HardBlocker)
        .count();
    let mut text = format!(
        "migrate rewrites {} of {} usages ({}%); {} a person",
        summary.automatic,
        summary.usages,
        percent(summary.automatic, summary.usages),
        if summary.manual == 1 {
            "1 needs".to_string()
        } else {
            format!("{} need", summary.manual)
        },
    );
    if holdouts > 0 {
        let _ = write!(
            text,
            "; {} behind asupersync-tokio-compat",
            plural(holdouts, "holdout crate stays", "holdout crates stay")
        );
    }
    if blockers > 0 {
        let _ = write!(
            text,
            "; {} must go first",
            plural(blockers, "hard-blocker crate", "hard-blocker crates")
        );
    }
    text.push('.');
    text
}

/// What needs a person, grouped by the mapping entry (or, for crates classed as a
/// whole, by crate), most frequent first: (what, class, count, note).
pub fn manual_work(report: &Report, limit: usize) -> Vec<(String, Class, usize, String)> {
    let m = mapping();
    let mut groups: Vec<(String, Class, usize, String)> = Vec::new();
    for usage in report.usages.iter().filter(|usage| !usage.auto) {
        let (key, note) = match usage.mapping.as_deref().and_then(|path| m.api(path)) {
            Some(entry) => (entry.tokio.clone(), entry.note.as_str()),
            None => {
                let root = usage.api.split("::").next().unwrap_or(&usage.api);
                let krate = m.krate_by_lib(root);
                let name = krate.map_or(root.to_string(), |k| k.name.clone());
                (name, krate.map_or("", |k| k.note.as_str()))
            }
        };
        match groups.iter_mut().find(|group| group.0 == key) {
            Some(group) => group.2 += 1,
            None => {
                let note = match usage.class {
                    Class::CompatHoldout => {
                        format!("keep it behind asupersync-tokio-compat ({note})")
                    }
                    Class::HardBlocker => {
                        format!("replace it or move it out of the process ({note})")
                    }
                    _ => note.to_string(),
                };
                groups.push((key, usage.class, 1, note));
            }
        }
    }
    groups.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    groups.truncate(limit);
    groups
}

/// The first few names, then how many more: a table row must stay one line.
fn short_list(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        let _ = write!(text, " +{} more", names.len() - SHOWN);
    }
    text
}

fn api_target(usage: &Usage) -> String {
    match (&usage.native, usage.auto) {
        (Some(native), true) => format!("→ {native}"),
        (Some(native), false) => format!("→ {native} ({}, by hand)", usage.class),
        (None, _) => format!("({})", usage.class),
    }
}

fn note_of(usage: &Usage) -> Option<&'static str> {
    let entry = mapping().api(usage.mapping.as_deref()?)?;
    Some(entry.note.as_str())
}

/// The human report.
pub fn human(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Tokio audit of"),
        report.workspace_root
    );
    let mut totals = format!(
        "{} · {} · {}",
        plural(report.packages.len(), "package", "packages"),
        plural(summary.files, "file", "files"),
        plural(summary.usages, "usage", "usages"),
    );
    if summary.parse_errors > 0 {
        let _ = write!(
            totals,
            " · {} not parse",
            plural(summary.parse_errors, "file does", "files do")
        );
    }
    let _ = writeln!(out, "{totals}\n");

    let name_width = report
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .max("package".len());
    let _ = writeln!(
        out,
        "  {:name_width$}  {:16}  {:>9}  {:>6}  {:>9}",
        "package", "verdict", "readiness", "usages", "automatic"
    );
    for package in &report.packages {
        let mut line = format!(
            "  {:name_width$}  {}  {:>9}  {:>6}  {:>9}",
            package.name,
            style.verdict(package.verdict, 16),
            package.readiness,
            package.usages,
            package.automatic,
        );
        if !package.blocking_dependencies.is_empty() {
            let _ = write!(line, "  via {}", short_list(&package.blocking_dependencies));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out, "\nEstimate: {}", estimate(report));

    if !summary.by_api.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Top APIs"));
        for (api, count) in report.top_apis(TOP_APIS) {
            let target = report
                .first_usage_of(api)
                .map(api_target)
                .unwrap_or_default();
            let _ = writeln!(out, "  {count:>5}  {api} {target}");
        }
    }

    let manual = manual_work(report, TOP_APIS);
    if !manual.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Needs a person"));
        for (what, class, count, note) in manual {
            let _ = writeln!(out, "  {count:>5}  {what} ({class}): {note}");
        }
    }

    // The crates a member names in its manifest are the decisions; the ones they pull
    // in are listed by name only.
    let (direct, transitive): (Vec<_>, Vec<_>) = report
        .dependencies
        .iter()
        .filter(|dep| matches!(dep.class, Class::CompatHoldout | Class::HardBlocker))
        .partition(|dep| dep.paths.iter().any(|path| path.len() == 2));
    if !direct.is_empty() || !transitive.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Holdouts and blockers"));
        let mut direct = direct;
        direct.sort_by(|a, b| b.class.cmp(&a.class).then(a.name.cmp(&b.name)));
        for dep in direct {
            let pulled_by: Vec<&str> = dep
                .paths
                .iter()
                .filter(|path| path.len() == 2)
                .map(|path| path[0].as_str())
                .collect();
            let _ = writeln!(
                out,
                "  {} {}  {}  used by {}",
                dep.name,
                dep.version,
                dep.class,
                pulled_by.join(", ")
            );
        }
        if !transitive.is_empty() {
            let mut names: Vec<String> = transitive
                .iter()
                .map(|dep| format!("{} {}", dep.name, dep.version))
                .collect();
            names.dedup();
            let _ = writeln!(
                out,
                "  pulled in through other crates: {}",
                names.join(", ")
            );
        }
    }

    if !report.parse_errors.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Files that do not parse"));
        for error in &report.parse_errors {
            let _ = writeln!(
                out,
                "  {}:{}:{}  {}",
                error.file, error.line, error.column, error.message
            );
        }
    }

    if let Some(new) = &report.new_since_baseline {
        let _ = writeln!(
            out,
            "\n{} ({})",
            style.bold("New since the baseline"),
            new.len()
        );
        for usage in new {
            let _ = writeln!(
                out,
                "  {}:{}:{}  {}  {}",
                usage.file, usage.line, usage.column, usage.kind, usage.api
            );
        }
    }

    if !report.dependencies.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Tokio-ecosystem dependencies"));
        for dep in &report.dependencies {
            let replacement = dep
                .native_replacement
                .as_deref()
                .map(|native| format!(" → {native}"))
                .unwrap_or_default();
            let via = dep
                .paths
                .first()
                .map(|path| path.join(" → "))
                .unwrap_or_default();
            let more = match (dep.paths.len().saturating_sub(1), dep.paths_truncated) {
                (0, false) => String::new(),
                (more, false) => format!(" (+{more} more)"),
                (more, true) => format!(" (+{more} more, and others not listed)"),
            };
            let _ = writeln!(
                out,
                "  {} {}  {}{replacement}  via {via}{more}",
                dep.name, dep.version, dep.class
            );
        }
    }

    if !report.usages.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Details"));
        for package in &report.packages {
            let usages: Vec<&Usage> = report
                .usages
                .iter()
                .filter(|usage| usage.package == package.name)
                .collect();
            if usages.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "{} ({}, readiness {})",
                style.bold(&package.name),
                package.verdict.as_str(),
                package.readiness
            );
            for usage in usages {
                let _ = writeln!(
                    out,
                    "  {}:{}:{}  {}  {} {}",
                    usage.file,
                    usage.line,
                    usage.column,
                    usage.kind,
                    usage.api,
                    api_target(usage)
                );
                if !usage.auto {
                    if let Some(reason) = &usage.reason {
                        let _ = writeln!(out, "      why: {reason}");
                    }
                    // The planner's reasons often quote the note already.
                    if let Some(note) = note_of(usage)
                        .filter(|note| !usage.reason.as_ref().is_some_and(|r| r.contains(note)))
                    {
                        let _ = writeln!(out, "      note: {note}");
                    }
                }
            }
        }
    }
    out
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The Markdown report (a pull-request comment).
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(out, "## Tokio audit\n");
    let _ = writeln!(
        out,
        "{} · {} · {}\n",
        plural(report.packages.len(), "package", "packages"),
        plural(summary.files, "file", "files"),
        plural(summary.usages, "usage", "usages"),
    );
    let _ = writeln!(out, "**Estimate:** {}\n", estimate(report));
    let _ = writeln!(
        out,
        "| package | verdict | readiness | usages | automatic | held back by |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|");
    for package in &report.packages {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            package.name,
            package.verdict.as_str(),
            package.readiness,
            package.usages,
            package.automatic,
            package
                .blocking_dependencies
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    if !summary.by_api.is_empty() {
        let _ = writeln!(out, "\n### Top APIs\n");
        let _ = writeln!(out, "| uses | API | native | automatic |");
        let _ = writeln!(out, "|---:|---|---|---|");
        for (api, count) in report.top_apis(TOP_APIS) {
            let usage = report.first_usage_of(api);
            let native = usage
                .and_then(|usage| usage.native.as_deref())
                .map(|native| format!("`{native}`"))
                .unwrap_or_else(|| "—".to_string());
            let auto = if usage.is_some_and(|usage| usage.auto) {
                "yes"
            } else {
                "no"
            };
            let _ = writeln!(out, "| {count} | `{api}` | {native} | {auto} |");
        }
    }

    let manual = manual_work(report, TOP_APIS);
    if !manual.is_empty() {
        let _ = writeln!(out, "\n### Needs a person\n");
        let _ = writeln!(out, "| uses | what | class | what to decide |");
        let _ = writeln!(out, "|---:|---|---|---|");
        for (what, class, count, note) in manual {
            let _ = writeln!(
                out,
                "| {count} | `{what}` | {class} | {} |",
                md_escape(&note)
            );
        }
    }

    if !report.dependencies.is_empty() {
        let _ = writeln!(out, "\n### Tokio-ecosystem dependencies\n");
        let _ = writeln!(out, "| crate | version | class | replacement | pulled by |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for dep in &report.dependencies {
            let via = dep
                .paths
                .first()
                .map(|path| path.join(" → "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                dep.name,
                dep.version,
                dep.class,
                dep.native_replacement
                    .as_deref()
                    .map(|n| format!("`{n}`"))
                    .unwrap_or_else(|| "—".to_string()),
                md_escape(&via)
            );
        }
    }

    if !report.parse_errors.is_empty() {
        let _ = writeln!(out, "\n### Files that do not parse\n");
        for error in &report.parse_errors {
            let _ = writeln!(
                out,
                "- `{}:{}:{}`: {}",
                error.file,
                error.line,
                error.column,
                md_escape(&error.message)
            );
        }
    }

    if let Some(new) = &report.new_since_baseline {
        let _ = writeln!(out, "\n### New since the baseline ({})\n", new.len());
        for usage in new {
            let _ = writeln!(
                out,
                "- `{}:{}:{}` `{}`",
                usage.file, usage.line, usage.column, usage.api
            );
        }
    }

    if !report.usages.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>All {}</summary>\n",
            plural(report.usages.len(), "usage", "usages")
        );
        let _ = writeln!(
            out,
            "| package | file | line | API | kind | class | native | automatic |"
        );
        let _ = writeln!(out, "|---|---|---:|---|---|---|---|---|");
        for usage in report.usages.iter().take(MARKDOWN_MAX_ROWS) {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | `{}` | {} | {} | {} | {} |",
                usage.package,
                usage.file,
                usage.line,
                usage.api,
                usage.kind,
                usage.class,
                usage
                    .native
                    .as_deref()
                    .map(|n| format!("`{n}`"))
                    .unwrap_or_else(|| "—".to_string()),
                if usage.auto { "yes" } else { "no" }
            );
        }
        if report.usages.len() > MARKDOWN_MAX_ROWS {
            let _ = writeln!(
                out,
                "\n{} more: run `cargo asupersync audit` for the full list.",
                report.usages.len() - MARKDOWN_MAX_ROWS
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
