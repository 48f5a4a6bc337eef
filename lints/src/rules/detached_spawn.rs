//! `detached-spawn`: a spawned task or thread whose handle is thrown away.

use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::common::{callee_path, is_ident_expr, is_wild, pat_ident, path_span, strip_parens};
use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub const ID: &str = "detached-spawn";

/// Free functions that spawn and return a handle which, dropped, detaches.
pub const SPAWN_FUNCTIONS: &[&str] = &[
    "tokio::spawn",
    "tokio::task::spawn",
    "tokio::task::spawn_local",
    "tokio::task::spawn_blocking",
    "std::thread::spawn",
    "async_std::task::spawn",
    "async_std::task::spawn_local",
    "async_std::task::spawn_blocking",
    "smol::spawn",
];

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Deny,
    summary: "a spawned task or thread whose handle is discarded (`tokio::spawn(..);`, `let _ = thread::spawn(..)`, `drop(handle)`)",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
Finds calls to `tokio::spawn`, `tokio::task::spawn{,_local,_blocking}`,
`std::thread::spawn`, `async_std::task::spawn*` and `smol::spawn` whose handle is
discarded: the call is a statement of its own (`tokio::spawn(fut);`), it is bound to
`_` (`let _ = thread::spawn(f);`), or the handle is bound and then passed to `drop`.

### Why is this bad
A detached task outlives the code that started it: nobody waits for it, nobody
cancels it, its panic is lost, and shutdown cannot drain it. Structured concurrency
means every task belongs to a region that waits for it.

### Example
```rust
tokio::spawn(async move { serve(conn).await });
let _ = std::thread::spawn(|| compute());
```

### Use instead
```rust
cx.spawn(|cx| async move { serve(&cx, conn).await });   // owned by the region
let handle = std::thread::spawn(|| compute());
let value = handle.join();
```

### How to fix
Spawn into the current region with `cx.spawn(..)` (its handle may be dropped: the
region still owns the task), or keep the handle and join it. A thread that must live
for the whole process can be suppressed with a reason.

Inside the configured `quarantine` paths, Tokio-ecosystem spawns are allowed (that
code runs on Tokio by design, behind `asupersync-tokio-compat`); detached
`std::thread::spawn` is still reported there.

### Known limits
Only free spawn functions are checked: method spawns (`runtime.spawn(..)`,
`Builder::spawn`) and `JoinSet` are not. A handle stored in a variable and dropped by
going out of scope is not detected; `drop(handle)` is.
"#;

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut visitor = DetachedSpawn {
        context,
        handles: Vec::new(),
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

struct DetachedSpawn<'c, 'a> {
    context: &'c FileContext<'a>,
    /// Names bound to spawn handles, one set per function body.
    handles: Vec<HashSet<String>>,
    out: Vec<Diagnostic>,
}

impl DetachedSpawn<'_, '_> {
    /// The canonical spawn function a call expression calls, if any.
    fn spawn_call<'e>(&self, expr: &'e syn::Expr) -> Option<(String, &'e syn::Path)> {
        let path = callee_path(expr)?;
        let canonical = self.context.resolve(path)?;
        // Inside the Tokio quarantine, Tokio's own spawning model is allowed.
        let quarantined = self.context.quarantined && !canonical.starts_with("std::");
        (SPAWN_FUNCTIONS.contains(&canonical) && !quarantined)
            .then(|| (canonical.to_string(), path))
    }

    fn report(&mut self, path: &syn::Path, canonical: &str, how: &str) {
        let (start, end) = path_span(path);
        self.out.push(Diagnostic {
            location: self.context.location_between(start, end),
            message: format!("the handle of `{canonical}` is {how}: the task is detached"),
            help: help_for(canonical),
        });
    }

    fn with_function_scope(&mut self, visit: impl FnOnce(&mut Self)) {
        self.handles.push(HashSet::new());
        visit(self);
        self.handles.pop();
    }
}

fn help_for(canonical: &str) -> String {
    if canonical.starts_with("std::thread") {
        "keep the `JoinHandle` and `join()` it, or use `asupersync::task::spawn_blocking(&cx, ..)`"
            .into()
    } else {
        "spawn into the caller's region with `cx.spawn(|cx| async move { .. })`, or keep the handle and await it".into()
    }
}

impl<'ast> Visit<'ast> for DetachedSpawn<'_, '_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.with_function_scope(|v| visit::visit_item_fn(v, item));
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.with_function_scope(|v| visit::visit_impl_item_fn(v, item));
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        self.with_function_scope(|v| visit::visit_trait_item_fn(v, item));
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        match stmt {
            syn::Stmt::Expr(expr, Some(_)) => {
                if let Some((canonical, path)) = self.spawn_call(expr) {
                    self.report(path, &canonical, "discarded");
                }
            }
            syn::Stmt::Local(local) => {
                if let Some(init) = &local.init {
                    if let Some((canonical, path)) = self.spawn_call(&init.expr) {
                        if is_wild(&local.pat) {
                            self.report(path, &canonical, "bound to `_`");
                        } else if let (Some(name), Some(scope)) =
                            (pat_ident(&local.pat), self.handles.last_mut())
                        {
                            scope.insert(name.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
        visit::visit_stmt(self, stmt);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let is_drop = match strip_parens(&call.func) {
            syn::Expr::Path(p) if p.qself.is_none() => {
                p.path.is_ident("drop")
                    || matches!(
                        self.context.resolve(&p.path),
                        Some("std::mem::drop" | "core::mem::drop")
                    )
            }
            _ => false,
        };
        if is_drop && call.args.len() == 1 {
            let dropped = self
                .handles
                .last()
                .and_then(|scope| scope.iter().find(|name| is_ident_expr(&call.args[0], name)))
                .cloned();
            if let Some(name) = dropped {
                self.out.push(Diagnostic {
                    location: self.context.location(call.span()),
                    message: format!("the spawn handle `{name}` is dropped: the task is detached"),
                    help: "join the handle instead, or spawn into the caller's region with `cx.spawn(..)`".into(),
                });
            }
        }
        visit::visit_expr_call(self, call);
    }
}
