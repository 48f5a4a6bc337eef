//! `ambient-cx`: capability contexts come from callers, not from thin air.

use syn::visit::{self, Visit};

use super::common::{is_test_code, last_segment, path_span};
use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub const ID: &str = "ambient-cx";

/// The ambient constructors of `Cx`.
pub const AMBIENT_CONSTRUCTORS: &[&str] = &["for_testing", "for_request", "current"];

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Deny,
    summary: "`Cx::for_testing()` / `Cx::for_request()` / `Cx::current()` outside tests and boundary paths",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
Finds calls to (and references to, as in `.unwrap_or_else(Cx::current)`)
`Cx::for_testing()`, `Cx::for_request()` and `Cx::current()` (with
`Cx` resolved through imports and aliases to asupersync's `Cx`) outside test code
and outside the configured `boundary` globs. Test code is: files of test targets
or under a `tests/` directory, `#[cfg(test)]` modules and items, and functions
marked `#[test]`, `#[asupersync::test]`, `#[asupersync::lab_test]` (any attribute
named `test` or `lab_test`).

### Why is this bad
A `Cx` carries the task's region, budget, cancellation state and clock. A context
conjured in the middle of the code belongs to no caller: cancelling the caller does
not cancel the work, budgets and deadlines are lost, and lab runs stop being
deterministic.

### Example
```rust
fn handler(req: Request) -> Response {
    let cx = Cx::for_request();
    serve(&cx, req)
}
```

### Use instead
```rust
fn handler(cx: &Cx, req: Request) -> Response {
    serve(cx, req)
}
```

### How to fix
Take `cx: &Cx` as the first parameter and let the caller pass it down. Where a
context must be created (the edge of a framework integration, a `main` without
`#[asupersync::main]`), list that file in `boundary = [..]` of
`[workspace.metadata.asupersync]`.

### Known limits
Constructors reached through a helper function or a re-export under another name
are not recognised.
"#;

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    if context.boundary || context.is_test_file() {
        return Vec::new();
    }
    let mut visitor = AmbientCx {
        context,
        test_depth: 0,
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

struct AmbientCx<'c, 'a> {
    context: &'c FileContext<'a>,
    /// How many enclosing items are test code.
    test_depth: usize,
    out: Vec<Diagnostic>,
}

impl AmbientCx<'_, '_> {
    fn within(&mut self, attrs: &[syn::Attribute], visit: impl FnOnce(&mut Self)) {
        let is_test = is_test_code(attrs);
        self.test_depth += usize::from(is_test);
        visit(self);
        self.test_depth -= usize::from(is_test);
    }
}

impl AmbientCx<'_, '_> {
    fn check_path(&mut self, path: &syn::Path) {
        let Some(canonical) = self.context.resolve(path) else {
            return;
        };
        let constructor = last_segment(canonical);
        let owner = canonical
            .strip_suffix(constructor)
            .and_then(|p| p.strip_suffix("::"))
            .unwrap_or("");
        if !AMBIENT_CONSTRUCTORS.contains(&constructor) || !self.context.is_cx_path(owner) {
            return;
        }
        let (start, end) = path_span(path);
        self.out.push(Diagnostic {
            location: self.context.location_between(start, end),
            message: format!(
                "`Cx::{constructor}()` creates an ambient capability context outside tests"
            ),
            help: "take `cx: &Cx` as the first parameter and let the caller pass it; ambient contexts belong in tests or configured `boundary` paths".into(),
        });
    }
}

impl<'ast> Visit<'ast> for AmbientCx<'_, '_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.within(&item.attrs, |v| visit::visit_item_mod(v, item));
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.within(&item.attrs, |v| visit::visit_item_fn(v, item));
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        self.within(&item.attrs, |v| visit::visit_item_impl(v, item));
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.within(&item.attrs, |v| visit::visit_impl_item_fn(v, item));
    }

    /// Calls (`Cx::current()`) and references (`.unwrap_or_else(Cx::current)`).
    fn visit_expr_path(&mut self, expr: &'ast syn::ExprPath) {
        if self.test_depth == 0 && expr.qself.is_none() {
            self.check_path(&expr.path);
        }
        visit::visit_expr_path(self, expr);
    }
}
