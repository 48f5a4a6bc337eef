//! Byte-range edits on the original text of a file: the rustfix model.
//!
//! `migrate` never re-prints a Rust file. Every rewrite is a replacement of one byte
//! range of the text as it was read, so comments, blank lines and formatting outside
//! the replaced ranges come out exactly as they went in. Two edits whose ranges overlap
//! cannot both be right (one of them was computed against text the other replaces), so
//! they are rejected, never merged; the caller reports the rejected one as manual.

use std::ops::Range;

/// One replacement of `range` (bytes of the original text) by `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

impl Edit {
    pub fn new(range: Range<usize>, replacement: impl Into<String>) -> Edit {
        Edit {
            range,
            replacement: replacement.into(),
        }
    }

    fn overlaps(&self, other: &Edit) -> bool {
        // Two insertions at one point are ambiguous too.
        self.range.start < other.range.end && other.range.start < self.range.end
            || self.range == other.range
    }
}

/// The accepted edits of one file, kept non-overlapping.
#[derive(Debug, Clone, Default)]
pub struct EditSet {
    edits: Vec<Edit>,
}

/// An edit that overlaps one already accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub rejected: Edit,
    pub accepted: Edit,
}

impl EditSet {
    /// Accepts `edit` unless it overlaps an accepted edit. An edit that replaces a
    /// range by the text already there, or that is already accepted (two rewrites that
    /// need the same `cx` parameter), is dropped as a no-op.
    pub fn add(&mut self, edit: Edit, original: &str) -> Result<(), Box<Overlap>> {
        if original.get(edit.range.clone()) == Some(edit.replacement.as_str())
            || self.edits.contains(&edit)
        {
            return Ok(());
        }
        if let Some(accepted) = self.edits.iter().find(|e| e.overlaps(&edit)) {
            return Err(Box::new(Overlap {
                rejected: edit,
                accepted: accepted.clone(),
            }));
        }
        self.edits.push(edit);
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Edit> {
        self.edits.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// Where `range` (bytes of the original text: an accepted edit's range, or text no
    /// edit touches) lies in the text [`EditSet::apply`] returns.
    pub fn shifted(&self, range: &Range<usize>) -> Range<usize> {
        let (mut start, mut end) = (range.start, range.end);
        for edit in &self.edits {
            let (grow, shrink) = (edit.replacement.len(), edit.range.len());
            if edit.range == *range {
                end = end + grow - shrink;
            } else if edit.range.end <= range.start {
                start = start + grow - shrink;
                end = end + grow - shrink;
            } else if range.start <= edit.range.start && edit.range.end <= range.end {
                end = end + grow - shrink;
            }
        }
        start..end
    }

    /// The original text with every edit applied.
    pub fn apply(&self, original: &str) -> String {
        let mut edits: Vec<&Edit> = self.edits.iter().collect();
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        let mut out = String::with_capacity(original.len());
        let mut at = 0;
        for edit in edits {
            out.push_str(&original[at..edit.range.start]);
            out.push_str(&edit.replacement);
            at = edit.range.end;
        }
        out.push_str(&original[at..]);
        out
    }
}

/// The whitespace before `at` on its line (empty when other text precedes it there).
pub fn indent_of(source: &str, at: usize) -> &str {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &source[line_start..at];
    if before.chars().all(char::is_whitespace) {
        before
    } else {
        ""
    }
}

/// A unified diff of `old` → `new` for `path` (git's `a/` `b/` headers), empty when equal.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_replace_only_their_ranges() {
        let text = "use tokio::time::Duration; // keep me\nfn f() {}\n";
        let mut set = EditSet::default();
        set.add(Edit::new(4..25, "std::time::Duration"), text)
            .unwrap();
        assert_eq!(
            set.apply(text),
            "use std::time::Duration; // keep me\nfn f() {}\n"
        );
    }

    #[test]
    fn overlapping_edits_are_rejected_not_merged() {
        let text = "abcdef";
        let mut set = EditSet::default();
        set.add(Edit::new(1..4, "X"), text).unwrap();
        let overlap = set.add(Edit::new(3..5, "Y"), text).unwrap_err();
        assert_eq!(overlap.rejected, Edit::new(3..5, "Y"));
        assert_eq!(overlap.accepted, Edit::new(1..4, "X"));
        // Touching ranges do not overlap.
        set.add(Edit::new(4..6, "Z"), text).unwrap();
        assert_eq!(set.apply(text), "aXZ");
        // Two insertions at one point are ambiguous.
        set.add(Edit::new(0..0, "<"), text).unwrap();
        assert!(set.add(Edit::new(0..0, ">"), text).is_err());
    }

    #[test]
    fn ranges_shift_with_the_edits_before_them() {
        let text = "aaa bbb ccc";
        let mut set = EditSet::default();
        set.add(Edit::new(0..3, "xxxxx"), text).unwrap();
        set.add(Edit::new(4..7, "y"), text).unwrap();
        let new = set.apply(text);
        assert_eq!(new, "xxxxx y ccc");
        assert_eq!(&new[set.shifted(&(0..3))], "xxxxx");
        assert_eq!(&new[set.shifted(&(4..7))], "y");
        assert_eq!(&new[set.shifted(&(8..11))], "ccc");
        assert_eq!(&new[set.shifted(&(0..11))], new);
    }

    #[test]
    fn a_no_op_edit_is_dropped() {
        let mut set = EditSet::default();
        set.add(Edit::new(0..3, "abc"), "abcdef").unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn diff_has_git_headers() {
        let diff = unified_diff("src/lib.rs", "a\nb\n", "a\nc\n");
        assert!(
            diff.starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n"),
            "{diff}"
        );
        assert!(diff.contains("-b\n+c\n"), "{diff}");
        assert_eq!(unified_diff("x", "same", "same"), "");
    }
}
