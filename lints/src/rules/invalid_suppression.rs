//! `invalid-suppression`: a suppression comment that does not say why, or names a
//! rule that does not exist. Reported by the engine ([`crate::suppress`]).

use super::Rule;
use crate::finding::Level;

pub const ID: &str = "invalid-suppression";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Deny,
    summary: "a suppression comment without a reason, naming an unknown rule, or malformed",
    docs: DOCS,
    check: super::no_syntax_check,
};

pub const DOCS: &str = r#"### What it does
Checks `// asupersync: allow(..)` comments: each must name known rules and give a
reason after `--`.

### Why is this bad
A suppression is an exception to the gate. Without a reason nobody can later judge
whether it still holds; a misspelt rule id suppresses nothing while looking as if it
did.

### Example
```rust
// asupersync: allow(cx-first)
fn legacy(id: u32, cx: &Cx) {}
// asupersync: allow(cx-frist) -- public API, cannot change before 2.0
fn legacy2(id: u32, cx: &Cx) {}
```

### Use instead
```rust
// asupersync: allow(cx-first) -- public API, cannot change before 2.0
fn legacy(id: u32, cx: &Cx) {}
```

### How to fix
Write `// asupersync: allow(rule-id, other-rule) -- reason` on the line of the finding
or on the line above it; above a function it covers the whole function (as `#[allow]`
on an item does). `cargo asupersync explain` lists the rule ids.

### Known limits
Only `//` line comments suppress; doc comments and block comments never do.
"#;
