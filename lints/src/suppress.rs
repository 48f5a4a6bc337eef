//! Suppression comments: `// asupersync: allow(rule-id, ..) -- reason`.
//!
//! Comments are not part of `syn`'s syntax tree, so they are found by a small lexer
//! that knows where comments cannot start: inside string, raw string, byte string
//! and character literals (`'"'`, `r#"// no"#`). A suppression covers findings that
//! start on its own line (a trailing comment) or on the line below it (a comment
//! above the code); above a function (its attributes or signature start on the next
//! line) it covers the whole function, as `#[allow]` on an item does, so one note can
//! quarantine a function's body ([`Suppressions::extend_over_functions`]). A
//! suppression without a reason, naming an unknown rule, or that does not parse is
//! reported as `invalid-suppression`.

use crate::finding::Diagnostic;
use crate::resolve::{LineIndex, Location};
use crate::rules;

/// The marker that starts a suppression comment (after `//` and spaces).
pub const MARKER: &str = "asupersync:";

/// A valid suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The 1-based line of the comment.
    pub line: usize,
    /// The last line it covers: the next one, or a function's last.
    pub until: usize,
    pub rules: Vec<String>,
    pub reason: String,
}

impl Suppression {
    /// Whether this suppression covers a finding of `rule` starting on `line`.
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        (self.line..=self.until).contains(&line) && self.rules.iter().any(|r| r == rule)
    }
}

/// The suppressions of a file, and the diagnostics for the malformed ones.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    pub valid: Vec<Suppression>,
    pub invalid: Vec<Diagnostic>,
}

impl Suppressions {
    /// Whether any valid suppression covers a finding of `rule` starting on `line`.
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        self.valid.iter().any(|s| s.covers(rule, line))
    }

    /// Makes a suppression right above a function (free, nested, or in an `impl`)
    /// cover the whole function.
    pub fn extend_over_functions(&mut self, file: &syn::File) {
        use syn::visit::Visit;
        struct Functions(Vec<(usize, usize)>);
        impl Functions {
            fn add(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, block: &syn::Block) {
                let signature = sig
                    .constness
                    .map(|t| t.span)
                    .or(sig.asyncness.map(|t| t.span))
                    .or(sig.unsafety.map(|t| t.span))
                    .unwrap_or(sig.fn_token.span);
                let start = attrs
                    .first()
                    .map_or(signature, |attr| attr.pound_token.span)
                    .start()
                    .line;
                self.0
                    .push((start, block.brace_token.span.close().end().line));
            }
        }
        impl<'ast> Visit<'ast> for Functions {
            fn visit_item_fn(&mut self, function: &'ast syn::ItemFn) {
                self.add(&function.attrs, &function.sig, &function.block);
                syn::visit::visit_item_fn(self, function);
            }
            fn visit_impl_item_fn(&mut self, function: &'ast syn::ImplItemFn) {
                self.add(&function.attrs, &function.sig, &function.block);
                syn::visit::visit_impl_item_fn(self, function);
            }
        }
        let mut functions = Functions(Vec::new());
        functions.visit_file(file);
        for suppression in &mut self.valid {
            if let Some((_, end)) = functions
                .0
                .iter()
                .find(|(start, _)| *start == suppression.line + 1)
            {
                suppression.until = (*end).max(suppression.until);
            }
        }
    }
}

/// A line comment: its byte range (starting at `//`) and 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineComment {
    pub line: usize,
    pub byte_start: usize,
    pub byte_end: usize,
}

/// Finds the suppression comments of a source file.
pub fn scan(source: &str, lines: &LineIndex) -> Suppressions {
    let mut out = Suppressions::default();
    for comment in line_comments(source) {
        let text = &source[comment.byte_start..comment.byte_end];
        let body = text.trim_start_matches('/').trim_start_matches('!').trim();
        let Some(rest) = body.strip_prefix(MARKER) else {
            continue;
        };
        // Doc comments (`///`, `//!`) describe code; they never suppress.
        if text.starts_with("///") || text.starts_with("//!") {
            continue;
        }
        match parse(rest) {
            Ok(suppression) => {
                let unknown: Vec<&String> = suppression
                    .0
                    .iter()
                    .filter(|r| !rules::is_known(r))
                    .collect();
                if unknown.is_empty() {
                    out.valid.push(Suppression {
                        line: comment.line,
                        until: comment.line + 1,
                        rules: suppression.0,
                        reason: suppression.1,
                    });
                } else {
                    let names: Vec<String> = unknown.iter().map(|r| format!("`{r}`")).collect();
                    out.invalid.push(Diagnostic {
                        location: comment_location(source, lines, comment),
                        message: format!("suppression names unknown rule {}", names.join(", ")),
                        help: format!(
                            "known rules: {}",
                            rules::ids().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            }
            Err(problem) => out.invalid.push(Diagnostic {
                location: comment_location(source, lines, comment),
                message: problem.to_string(),
                help: "write `// asupersync: allow(rule-id) -- why this is acceptable here`"
                    .to_string(),
            }),
        }
    }
    out
}

fn comment_location(source: &str, lines: &LineIndex, comment: LineComment) -> Location {
    let text = &source[comment.byte_start..comment.byte_end];
    let line_start = source[..comment.byte_start]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let column = source[line_start..comment.byte_start].chars().count();
    let end_column = column + text.chars().count();
    let _ = lines;
    Location {
        line: comment.line,
        column: column + 1,
        end_line: comment.line,
        end_column: end_column + 1,
        byte_start: comment.byte_start,
        byte_end: comment.byte_end,
    }
}

/// Parses `allow(a, b) -- reason` into the rule list and the reason.
fn parse(text: &str) -> Result<(Vec<String>, String), &'static str> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix("allow") else {
        return Err("malformed suppression: expected `allow(rule-id) -- reason`");
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix('(') else {
        return Err("malformed suppression: expected `allow(rule-id) -- reason`");
    };
    let Some(close) = rest.find(')') else {
        return Err("malformed suppression: missing `)` after the rule list");
    };
    let rules: Vec<String> = rest[..close]
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    if rules.is_empty() {
        return Err("suppression names no rule");
    }
    let after = rest[close + 1..].trim();
    let reason = after.strip_prefix("--").map(str::trim).unwrap_or("");
    if reason.is_empty() {
        return Err("suppression without a reason");
    }
    Ok((rules, reason.to_string()))
}

/// Every `//` comment of a Rust source text (including doc comments), skipping
/// string and character literals and block comments.
pub fn line_comments(source: &str) -> Vec<LineComment> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let mut end = source[i..]
                    .find('\n')
                    .map(|n| i + n)
                    .unwrap_or(source.len());
                if bytes[..end].ends_with(b"\r") {
                    end -= 1;
                }
                out.push(LineComment {
                    line,
                    byte_start: i,
                    byte_end: end,
                });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(bytes, i);
                line += count_newlines(&bytes[i..end]);
                i = end;
            }
            b'"' => {
                let end = quoted_end(bytes, i + 1, b'"');
                line += count_newlines(&bytes[i..end]);
                i = end;
            }
            b'r' | b'b' | b'c' if starts_raw_string(bytes, i) => {
                let end = raw_string_end(bytes, i);
                line += count_newlines(&bytes[i..end]);
                i = end;
            }
            b'\'' => i = char_literal_end(source, i),
            c if is_ident_byte(c) => {
                // A whole identifier, so that the `r` of `bar` never starts a raw
                // string; a `b`/`c` string prefix leaves the quote for next round.
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// The end of a (nested) block comment starting at `start`.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The end (after the closing quote) of a quoted literal whose body starts at `i`.
fn quoted_end(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Whether a raw string (`r"`, `r#"`, `br#"`, `cr"`) starts at `i`.
fn starts_raw_string(bytes: &[u8], i: usize) -> bool {
    let mut j = i;
    if matches!(bytes.get(j), Some(b'b' | b'c')) {
        j += 1;
    }
    if bytes.get(j) != Some(&b'r') {
        return false;
    }
    j += 1;
    while bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    bytes.get(j) == Some(&b'"')
}

fn raw_string_end(bytes: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < bytes.len() && bytes[j] != b'r' {
        j += 1;
    }
    j += 1;
    let mut hashes = 0;
    while bytes.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    j += 1; // the opening quote
    while j < bytes.len() {
        let closes = bytes[j] == b'"'
            && bytes.len() > j + hashes
            && bytes[j + 1..=j + hashes].iter().all(|&b| b == b'#');
        if closes {
            return j + 1 + hashes;
        }
        j += 1;
    }
    bytes.len()
}

/// Skips a character literal (`'a'`, `'\''`, `'"'`) or a lifetime (`'a`).
fn char_literal_end(source: &str, i: usize) -> usize {
    let bytes = source.as_bytes();
    if bytes.get(i + 1) == Some(&b'\\') {
        return quoted_end(bytes, i + 1, b'\'');
    }
    let Some(c) = source.get(i + 1..).and_then(|rest| rest.chars().next()) else {
        return i + 1;
    };
    let after = i + 1 + c.len_utf8();
    if bytes.get(after) == Some(&b'\'') {
        after + 1
    } else {
        // A lifetime or a loop label.
        i + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments(source: &str) -> Vec<&str> {
        line_comments(source)
            .into_iter()
            .map(|c| &source[c.byte_start..c.byte_end])
            .collect()
    }

    #[test]
    fn comment_markers_inside_literals_are_not_comments() {
        let source = r####"
let a = "// not a comment \" // still not";
let b = r#"// raw "# ; // real one
let c = '"'; // after a quote char
let d: &'static str = br"//x"; /* block // not */ // tail
let e = 'a'; let f = '\''; // esc
"####;
        assert_eq!(
            comments(source),
            ["// real one", "// after a quote char", "// tail", "// esc"]
        );
    }

    #[test]
    fn lines_are_counted_through_multiline_literals_and_block_comments() {
        let source = "let s = \"a\nb\";\n/* x\n y */\n// here\n";
        let found = line_comments(source);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 5);
    }

    #[test]
    fn suppressions_parse_rules_and_reasons() {
        let source = "x(); // asupersync: allow(cx-first, detached-spawn) -- legacy API\n";
        let found = scan(source, &LineIndex::new(source));
        assert!(found.invalid.is_empty());
        assert_eq!(found.valid[0].rules, ["cx-first", "detached-spawn"]);
        assert_eq!(found.valid[0].reason, "legacy API");
        assert!(found.covers("cx-first", 1));
        assert!(found.covers("cx-first", 2));
        assert!(!found.covers("cx-first", 3));
        assert!(!found.covers("ambient-cx", 1));
    }

    #[test]
    fn missing_reasons_unknown_rules_and_garbage_are_invalid() {
        let source = "// asupersync: allow(cx-first)\n// asupersync: allow(cx-first) --   \n// asupersync: allow(no-such-rule) -- why\n// asupersync: alow(cx-first) -- x\n/// asupersync: allow(cx-first)\nlet s = \"// asupersync: allow(x)\";\n";
        let found = scan(source, &LineIndex::new(source));
        assert!(found.valid.is_empty());
        let messages: Vec<(usize, &str)> = found
            .invalid
            .iter()
            .map(|d| (d.location.line, d.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (1, "suppression without a reason"),
                (2, "suppression without a reason"),
                (3, "suppression names unknown rule `no-such-rule`"),
                (
                    4,
                    "malformed suppression: expected `allow(rule-id) -- reason`"
                ),
            ]
        );
        assert_eq!(found.invalid[0].location.column, 1);
    }
}
