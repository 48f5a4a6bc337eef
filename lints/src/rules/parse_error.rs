//! `parse-error`: a Rust file that does not parse. Reported by the engine.

use super::Rule;
use crate::finding::Level;

pub const ID: &str = "parse-error";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Deny,
    summary: "a Rust source file that does not parse (no other rule could check it)",
    docs: DOCS,
    check: super::no_syntax_check,
};

pub const DOCS: &str = r#"### What it does
Reports a `.rs` file of the workspace that `syn` cannot parse, or that cannot be read
as UTF-8.

### Why is this bad
No rule can check a file that does not parse, so the gate would pass code it never
saw. The run goes on with the other files.

### Example
```rust
fn broken( {
```

### Use instead
```rust
fn fixed() {}
```

### How to fix
Fix the syntax error (`cargo check` shows it in full). If the file is not meant to be
compiled, do not declare it as a module or target.

### Known limits
Syntax newer than the `syn` version in use is reported as a parse error.
"#;
