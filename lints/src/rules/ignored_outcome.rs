//! `ignored-outcome`: the `Outcome` of a join, region, race or timeout is dropped.

use syn::visit::{self, Visit};

use super::common::{callee_path, is_wild, last_segment, path_span, strip_parens};
use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};
use crate::resolve::Location;

pub const ID: &str = "ignored-outcome";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Warn,
    summary: "the result of `join`, `Region::open`, `race!` or `timeout` discarded",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
Finds statements that discard (as `expr;` or `let _ = expr;`, awaited or not) the
result of `Region::open(..)`, `handle.join(&cx)`, `asupersync::time::timeout(..)`
(and `tokio::time::timeout`), and the `race!` / `join!` macros of asupersync.

### Why is this bad
These return an `Outcome` (or a `Result` for timeouts) that tells how the child work
ended: `Ok`, `Err`, `Cancelled` or `Panicked`. Dropping it turns a panic or a
cancellation of the child into silent success.

### Example
```rust
Region::open(cx, "workers", |cx| async move { .. }).await;
handle.join(cx).await;
```

### Use instead
```rust
match Region::open(cx, "workers", |cx| async move { .. }).await {
    Outcome::Ok(v) => v,
    other => return other.map(|_| ()),
}
let value = handle.join(cx).await.into_result()?;
```

### How to fix
Match on the outcome, propagate it with `?`, or bind it and inspect it. If dropping
it really is intended, suppress the finding with the reason.

### Known limits
`.join(..)` is recognised by shape: a method named `join` called with one argument
that is a variable or a reference to one (`handle.join(&cx)`); zero-argument joins
(`std::thread::JoinHandle::join`) are left to rustc's `unused_must_use`.
`Region::open` and the macros must resolve to `asupersync` (an unresolved `race!`
counts too, as no other well-known macro has that name).
"#;

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut visitor = IgnoredOutcome {
        context,
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

struct IgnoredOutcome<'c, 'a> {
    context: &'c FileContext<'a>,
    out: Vec<Diagnostic>,
}

impl IgnoredOutcome<'_, '_> {
    /// What produced the outcome an expression evaluates to, and where.
    fn outcome_source(&self, expr: &syn::Expr) -> Option<(String, Location)> {
        let expr = match strip_parens(expr) {
            syn::Expr::Await(a) => strip_parens(&a.base),
            other => other,
        };
        if let Some(path) = callee_path(expr) {
            let canonical = self.context.resolve(path)?;
            let (start, end) = path_span(path);
            let is_region_open =
                canonical.starts_with("asupersync::") && canonical.ends_with("Region::open");
            let is_timeout = matches!(
                canonical,
                "asupersync::time::timeout" | "tokio::time::timeout"
            );
            return (is_region_open || is_timeout).then(|| {
                (
                    canonical.to_string(),
                    self.context.location_between(start, end),
                )
            });
        }
        match expr {
            syn::Expr::MethodCall(m) if m.method == "join" && m.args.len() == 1 => {
                let arg_is_variable = match strip_parens(&m.args[0]) {
                    syn::Expr::Reference(r) => matches!(strip_parens(&r.expr), syn::Expr::Path(_)),
                    syn::Expr::Path(_) => true,
                    _ => false,
                };
                arg_is_variable
                    .then(|| ("join".to_string(), self.context.location(m.method.span())))
            }
            syn::Expr::Macro(m) => self.macro_source(&m.mac),
            _ => None,
        }
    }

    fn macro_source(&self, mac: &syn::Macro) -> Option<(String, Location)> {
        let (start, end) = path_span(&mac.path);
        let location = self.context.location_between(start, end);
        let resolved = self.context.resolve(&mac.path);
        let name = match resolved {
            Some(canonical) if canonical.starts_with("asupersync::") => last_segment(canonical),
            None if mac.path.is_ident("race") => "race",
            _ => return None,
        };
        matches!(name, "race" | "join").then(|| (format!("{name}!"), location))
    }

    fn report(&mut self, (what, location): (String, Location)) {
        self.out.push(Diagnostic {
            location,
            message: format!(
                "the outcome of `{what}` is discarded: a cancellation or panic of the child goes unnoticed"
            ),
            help: "match on the outcome or propagate it with `?`; if dropping it is intended, suppress this with the reason".into(),
        });
    }
}

impl<'ast> Visit<'ast> for IgnoredOutcome<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let source = match stmt {
            syn::Stmt::Expr(expr, Some(_)) => self.outcome_source(expr),
            syn::Stmt::Local(local) if is_wild(&local.pat) => local
                .init
                .as_ref()
                .and_then(|init| self.outcome_source(&init.expr)),
            syn::Stmt::Macro(m) if m.semi_token.is_some() => self.macro_source(&m.mac),
            _ => None,
        };
        if let Some(source) = source {
            self.report(source);
        }
        visit::visit_stmt(self, stmt);
    }
}
