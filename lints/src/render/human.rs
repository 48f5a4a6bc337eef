//! rustc-style diagnostics through `annotate-snippets`:
//!
//! ```text
//! error[cx-first]: `cx: &Cx` is parameter 2 of `f`; the capability context must come first
//!  --> src/lib.rs:3:13
//!   |
//! 3 | fn f(x: u8, cx: &Cx) {}
//!   |             ^^^^^^^
//!   |
//!   = help: move `cx: &Cx` to the front of the parameter list (after `self` for methods)
//! ```

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::engine::Report;
use crate::finding::{Finding, Severity};

/// Renders one finding. `source` is the file's text; without it (an unreadable
/// file) only the title, location and help are printed.
pub fn render_finding(finding: &Finding, source: Option<&str>, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let level = match finding.severity {
        Severity::Deny => Level::ERROR,
        Severity::Warn => Level::WARNING,
    };
    let title = level.primary_title(&finding.message).id(finding.rule);
    let help = Level::HELP.message(&finding.help);
    let location = &finding.location;
    let group = match source.and_then(|s| excerpt(s, finding)) {
        Some((text, span)) => title
            .element(
                Snippet::source(text)
                    .line_start(location.line)
                    .path(&finding.file)
                    .annotation(AnnotationKind::Primary.span(span)),
            )
            .element(help),
        None => {
            let origin = format!("{}:{}:{}", finding.file, location.line, location.column);
            return format!(
                "{}\n  --> {origin}\n   = help: {}\n",
                renderer.render(&[Group::with_title(title)]),
                finding.help
            );
        }
    };
    let mut text = renderer.render(&[group]);
    text.push('\n');
    text
}

/// The whole lines a finding covers, and its byte span within them.
fn excerpt<'s>(source: &'s str, finding: &Finding) -> Option<(&'s str, std::ops::Range<usize>)> {
    let location = &finding.location;
    if location.byte_start > location.byte_end || location.byte_end > source.len() {
        return None;
    }
    let start = source
        .get(..location.byte_start)?
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let end = source
        .get(location.byte_end..)?
        .find('\n')
        .map(|i| location.byte_end + i)
        .unwrap_or(source.len());
    let text = source.get(start..end)?;
    let mut span = location.byte_start - start..location.byte_end - start;
    if span.is_empty() {
        // Point at one character at least (a parse error at the end of a line).
        span.end = text[span.start..]
            .chars()
            .next()
            .map_or(span.start, |c| span.start + c.len_utf8());
    }
    Some((text, span))
}

/// The summary line printed after the findings.
pub fn summary_line(report: &Report) -> String {
    let deny = report.count(Severity::Deny);
    let warn = report.count(Severity::Warn);
    let files = match report.files {
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    };
    if deny + warn == 0 {
        format!("asupersync lint: {files} checked, no findings")
    } else {
        format!("asupersync lint: {files} checked, {deny} deny, {warn} warn")
    }
}

/// Renders every finding (reading each file's text with `source_of`) and the
/// summary line.
pub fn render_report(
    report: &Report,
    source_of: &dyn Fn(&str) -> Option<String>,
    color: bool,
) -> String {
    let mut out = String::new();
    let mut cached: Option<(String, Option<String>)> = None;
    for finding in &report.findings {
        if cached
            .as_ref()
            .is_none_or(|(file, _)| *file != finding.file)
        {
            cached = Some((finding.file.clone(), source_of(&finding.file)));
        }
        let source = cached.as_ref().and_then(|(_, s)| s.as_deref());
        out.push_str(&render_finding(finding, source, color));
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}
