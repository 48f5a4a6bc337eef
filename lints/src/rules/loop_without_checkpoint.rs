//! `loop-without-checkpoint`: loops in cancellable code must notice cancellation.

use syn::visit::{self, Visit};

use super::common::{block_mentions, expr_mentions, AwaitFinder};
use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub const ID: &str = "loop-without-checkpoint";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Warn,
    summary:
        "in a function that has a `Cx`, a loop whose body awaits but never reaches a checkpoint",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
In a function or closure that has a capability context (a parameter of type `Cx`,
`&Cx`, or a closure parameter named `cx`), finds `loop`, `while` and `for` loops
whose body awaits (`.await`, or `select!`/`race!`/`join!`) but never mentions the
context: no `cx.checkpoint()`, no call that takes `&cx`, no use of `cx` at all.

### Why is this bad
Cancellation is cooperative. A loop that awaits operations which do not take the
context only notices a cancel request when one of them happens to return; a loop
over a stream that keeps yielding never does, so the task overruns its drain budget
and gets finalized by force.

### Example
```rust
async fn pump(cx: &Cx, mut rx: Receiver<Msg>) {
    loop {
        let msg = other_crate::next(&mut rx).await;
        handle(msg);
    }
}
```

### Use instead
```rust
async fn pump(cx: &Cx, mut rx: Receiver<Msg>) -> Result<(), Cancelled> {
    loop {
        cx.checkpoint()?;
        let msg = other_crate::next(&mut rx).await;
        handle(msg);
    }
}
```

### How to fix
Call `cx.checkpoint()?` at the top of the loop body, or pass `&cx` to the awaited
operation (native operations are cancel-aware).

Code handed to the compat quarantine (`asupersync_tokio_compat::run(&cx, fut)`,
`host.run(&cx, async { .. })`, `asupersync_tokio_compat::spawn(fut)`) is not checked:
a cancel request drops that future at whatever `.await` it is suspended on, so every
await in it is already a cancellation point.

### Known limits
Any mention of the context counts as a checkpoint (over-approximation on purpose: no
false positives from helpers that take the context). Only the innermost loop that
awaits is reported. A context reached through a field (`self.cx`) is not recognised.
"#;

/// Compat functions whose future argument is cancelled by being dropped.
const DROP_CANCELLED_RUNNERS: &[&str] = &[
    "asupersync_tokio_compat::run",
    "asupersync_tokio_compat::spawn",
];

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut visitor = LoopCheck {
        context,
        cx_names: Vec::new(),
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

struct LoopCheck<'c, 'a> {
    context: &'c FileContext<'a>,
    /// Context variables visible in the function being visited (one entry per
    /// function or closure; closures see their function's context).
    cx_names: Vec<Vec<String>>,
    out: Vec<Diagnostic>,
}

impl LoopCheck<'_, '_> {
    fn context_names(&self) -> Vec<String> {
        self.cx_names.iter().flatten().cloned().collect()
    }

    fn visible_names(&self) -> Vec<String> {
        let mut names = self.context_names();
        names.push("checkpoint".to_string());
        names
    }

    fn has_context(&self) -> bool {
        self.cx_names.iter().any(|names| !names.is_empty())
    }

    /// Reports the loop at `keyword` if it awaits (in `body`, or in a `while`
    /// condition) without mentioning the context.
    fn check_loop(
        &mut self,
        keyword: proc_macro2::Span,
        what: &str,
        body: &syn::Block,
        cond: Option<&syn::Expr>,
    ) {
        if !self.has_context() {
            return;
        }
        let awaits = AwaitFinder::first_in_block(body, true).is_some()
            || cond.is_some_and(|c| AwaitFinder::first_in_expr(c, true).is_some());
        if !awaits {
            return;
        }
        let names = self.visible_names();
        if block_mentions(body, &names) || cond.is_some_and(|c| expr_mentions(c, &names)) {
            return;
        }
        let cx = self
            .cx_names
            .iter()
            .rev()
            .flatten()
            .next()
            .cloned()
            .unwrap_or_else(|| "cx".into());
        self.out.push(Diagnostic {
            location: self.context.location(keyword),
            message: format!(
                "this `{what}` awaits but never reaches a checkpoint: a cancel request is only noticed when the awaited operation returns"
            ),
            help: format!("call `{cx}.checkpoint()?` at the top of the loop body, or pass `&{cx}` to the awaited operation"),
        });
    }

    fn in_function(&mut self, names: Vec<String>, reset: bool, visit: impl FnOnce(&mut Self)) {
        let saved = reset.then(|| std::mem::take(&mut self.cx_names));
        self.cx_names.push(names);
        visit(self);
        self.cx_names.pop();
        if let Some(saved) = saved {
            self.cx_names = saved;
        }
    }

    /// Visits code that the compat quarantine cancels by dropping it: no context,
    /// so no loop in it is reported.
    fn in_drop_cancelled(&mut self, visit: impl FnOnce(&mut Self)) {
        self.in_function(Vec::new(), true, visit);
    }

    /// `host.run(&cx, async { .. })`: the method form of the compat `run`, recognised
    /// by shape since the receiver's type is not known from syntax.
    fn is_host_run(&self, call: &syn::ExprMethodCall) -> bool {
        call.method == "run"
            && call.args.len() == 2
            && matches!(call.args[1], syn::Expr::Async(_))
            && expr_mentions(&call.args[0], &self.context_names())
    }

    fn signature_cx_names(&self, sig: &syn::Signature) -> Vec<String> {
        sig.inputs
            .iter()
            .filter_map(|input| match input {
                syn::FnArg::Typed(t) if self.context.is_cx_type(&t.ty) => {
                    super::common::pat_ident(&t.pat).map(|i| i.to_string())
                }
                _ => None,
            })
            .collect()
    }
}

impl<'ast> Visit<'ast> for LoopCheck<'_, '_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        let names = self.signature_cx_names(&item.sig);
        self.in_function(names, true, |v| visit::visit_item_fn(v, item));
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let names = self.signature_cx_names(&item.sig);
        self.in_function(names, true, |v| visit::visit_impl_item_fn(v, item));
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        let names = self.signature_cx_names(&item.sig);
        self.in_function(names, true, |v| visit::visit_trait_item_fn(v, item));
    }

    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        let names = closure
            .inputs
            .iter()
            .filter_map(|pat| match pat {
                syn::Pat::Type(t) if self.context.is_cx_type(&t.ty) => {
                    super::common::pat_ident(&t.pat).map(|i| i.to_string())
                }
                syn::Pat::Ident(i) if i.ident == "cx" => Some(i.ident.to_string()),
                _ => None,
            })
            .collect();
        self.in_function(names, false, |v| visit::visit_expr_closure(v, closure));
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let runner = match &*call.func {
            syn::Expr::Path(p) => self
                .context
                .resolve(&p.path)
                .is_some_and(|canonical| DROP_CANCELLED_RUNNERS.contains(&canonical)),
            _ => false,
        };
        if runner {
            self.in_drop_cancelled(|v| visit::visit_expr_call(v, call));
        } else {
            visit::visit_expr_call(self, call);
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if self.is_host_run(call) {
            self.in_drop_cancelled(|v| visit::visit_expr_method_call(v, call));
        } else {
            visit::visit_expr_method_call(self, call);
        }
    }

    fn visit_expr_loop(&mut self, expr: &'ast syn::ExprLoop) {
        self.check_loop(expr.loop_token.span, "loop", &expr.body, None);
        visit::visit_expr_loop(self, expr);
    }

    fn visit_expr_while(&mut self, expr: &'ast syn::ExprWhile) {
        self.check_loop(expr.while_token.span, "while", &expr.body, Some(&expr.cond));
        visit::visit_expr_while(self, expr);
    }

    fn visit_expr_for_loop(&mut self, expr: &'ast syn::ExprForLoop) {
        self.check_loop(expr.for_token.span, "for", &expr.body, None);
        visit::visit_expr_for_loop(self, expr);
    }
}
