//! Syntax helpers shared by the rules (and by `migrate`, which asks the same questions:
//! is this test code?).

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// Removes parentheses and invisible groups around an expression.
pub fn strip_parens(mut expr: &syn::Expr) -> &syn::Expr {
    loop {
        match expr {
            syn::Expr::Paren(p) => expr = &p.expr,
            syn::Expr::Group(g) => expr = &g.expr,
            _ => return expr,
        }
    }
}

/// The path of a call's callee when it is a plain path (`a::b(..)`).
pub fn callee_path(expr: &syn::Expr) -> Option<&syn::Path> {
    let syn::Expr::Call(call) = strip_parens(expr) else {
        return None;
    };
    match strip_parens(&call.func) {
        syn::Expr::Path(p) if p.qself.is_none() => Some(&p.path),
        _ => None,
    }
}

/// The span from the first to the last segment of a path.
pub fn path_span(path: &syn::Path) -> (Span, Span) {
    let first = path
        .leading_colon
        .map(|c| c.spans[0])
        .or_else(|| path.segments.first().map(|s| s.ident.span()))
        .unwrap_or_else(|| path.span());
    let last = path
        .segments
        .last()
        .map(|s| s.ident.span())
        .unwrap_or(first);
    (first, last)
}

/// The last segment of a canonical path.
pub fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

/// Whether a single-identifier expression (`x`, `&x`, `&mut x`) names `name`.
pub fn is_ident_expr(expr: &syn::Expr, name: &str) -> bool {
    match strip_parens(expr) {
        syn::Expr::Path(p) => p.qself.is_none() && p.path.is_ident(name),
        syn::Expr::Reference(r) => is_ident_expr(&r.expr, name),
        _ => false,
    }
}

/// Whether an attribute marks a test: `#[test]`, `#[asupersync::test]`,
/// `#[tokio::test]`, `#[asupersync::lab_test(..)]`, ...
pub fn is_test_attribute(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    path.segments
        .last()
        .is_some_and(|s| s.ident == "test" || s.ident == "lab_test")
}

/// Whether attributes include `#[cfg(test)]` (or a `cfg` that requires `test`,
/// such as `cfg(all(test, unix))`; `cfg(not(test))` does not count).
pub fn has_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        if !attr.path().is_ident("cfg") {
            return false;
        }
        let syn::Meta::List(list) = &attr.meta else {
            return false;
        };
        requires_test(list.tokens.clone())
    })
}

fn requires_test(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Ident(id) if id == "test" => return true,
            TokenTree::Ident(id) if id == "not" || id == "any" => i += 2,
            TokenTree::Ident(id) if id == "all" => {
                if let Some(TokenTree::Group(g)) = trees.get(i + 1) {
                    if requires_test(g.stream()) {
                        return true;
                    }
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Whether attributes mark a function or module as test code.
pub fn is_test_code(attrs: &[syn::Attribute]) -> bool {
    has_cfg_test(attrs) || attrs.iter().any(is_test_attribute)
}

/// Whether any identifier in a token stream (macro bodies included) is in `names`.
pub fn mentions_any(tokens: TokenStream, names: &[String]) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(id) => names.iter().any(|n| id == n),
        TokenTree::Group(g) => mentions_any(g.stream(), names),
        _ => false,
    })
}

/// Whether code mentions any of `names`: as a path segment, method, field, binding
/// or inside a macro's tokens.
struct Mentions<'n> {
    names: &'n [String],
    found: bool,
}

impl<'ast> Visit<'ast> for Mentions<'_> {
    fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
        if !self.found && self.names.iter().any(|n| ident == n) {
            self.found = true;
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit::visit_macro(self, mac);
        if !self.found && mentions_any(mac.tokens.clone(), self.names) {
            self.found = true;
        }
    }
}

pub fn block_mentions(block: &syn::Block, names: &[String]) -> bool {
    let mut mentions = Mentions {
        names,
        found: false,
    };
    mentions.visit_block(block);
    mentions.found
}

pub fn expr_mentions(expr: &syn::Expr, names: &[String]) -> bool {
    let mut mentions = Mentions {
        names,
        found: false,
    };
    mentions.visit_expr(expr);
    mentions.found
}

/// Macros that await their operands themselves (`select!`, `race!`, `join!`).
pub fn is_awaiting_macro(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "select" | "select_biased" | "race" | "join" | "try_join"
        )
    })
}

/// Finds the first suspension point (an `.await`, or an awaiting macro) in code
/// that runs as part of the visited node: closures, async blocks and nested items
/// are their own code and are skipped; nested loops are skipped when asked.
pub struct AwaitFinder {
    pub skip_loops: bool,
    pub found: Option<Span>,
}

impl AwaitFinder {
    pub fn first_in_expr(expr: &syn::Expr, skip_loops: bool) -> Option<Span> {
        let mut finder = AwaitFinder {
            skip_loops,
            found: None,
        };
        finder.visit_expr(expr);
        finder.found
    }

    pub fn first_in_block(block: &syn::Block, skip_loops: bool) -> Option<Span> {
        let mut finder = AwaitFinder {
            skip_loops,
            found: None,
        };
        finder.visit_block(block);
        finder.found
    }

    pub fn first_in_stmt(stmt: &syn::Stmt) -> Option<Span> {
        let mut finder = AwaitFinder {
            skip_loops: false,
            found: None,
        };
        finder.visit_stmt(stmt);
        finder.found
    }
}

impl<'ast> Visit<'ast> for AwaitFinder {
    fn visit_expr_await(&mut self, expr: &'ast syn::ExprAwait) {
        visit::visit_expr(self, &expr.base);
        if self.found.is_none() {
            self.found = Some(expr.await_token.span);
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if self.found.is_none() {
            let awaits = is_awaiting_macro(&mac.path)
                || mentions_any(mac.tokens.clone(), &["await".to_string()]);
            if awaits {
                self.found = Some(path_span(&mac.path).0);
            }
        }
    }

    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}

    fn visit_expr_loop(&mut self, expr: &'ast syn::ExprLoop) {
        if !self.skip_loops {
            visit::visit_expr_loop(self, expr);
        }
    }

    fn visit_expr_while(&mut self, expr: &'ast syn::ExprWhile) {
        if !self.skip_loops {
            visit::visit_expr_while(self, expr);
        }
    }

    fn visit_expr_for_loop(&mut self, expr: &'ast syn::ExprForLoop) {
        if self.skip_loops {
            // The iterator expression runs once, as part of the enclosing code.
            self.visit_expr(&expr.expr);
        } else {
            visit::visit_expr_for_loop(self, expr);
        }
    }
}

/// Tracks whether the code being visited runs inside an async body: `async fn`,
/// `async` blocks and async closures start one; sync closures and nested items end
/// it.
#[derive(Debug, Default)]
pub struct AsyncStack {
    stack: Vec<bool>,
}

impl AsyncStack {
    pub fn in_async(&self) -> bool {
        self.stack.last().copied().unwrap_or(false)
    }

    pub fn push(&mut self, is_async: bool) {
        self.stack.push(is_async);
    }

    pub fn pop(&mut self) {
        self.stack.pop();
    }
}

/// The `Visit` methods that keep a visitor's `asyncness: AsyncStack` in step with the
/// syntax tree: functions and methods push their own asyncness, async blocks push
/// `true`, closures push theirs. Expand inside `impl<'ast> Visit<'ast> for ..`.
macro_rules! track_async_context {
    () => {
        fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
            self.asyncness.push(item.sig.asyncness.is_some());
            syn::visit::visit_item_fn(self, item);
            self.asyncness.pop();
        }

        fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
            self.asyncness.push(item.sig.asyncness.is_some());
            syn::visit::visit_impl_item_fn(self, item);
            self.asyncness.pop();
        }

        fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
            self.asyncness.push(item.sig.asyncness.is_some());
            syn::visit::visit_trait_item_fn(self, item);
            self.asyncness.pop();
        }

        fn visit_expr_async(&mut self, expr: &'ast syn::ExprAsync) {
            self.asyncness.push(true);
            syn::visit::visit_expr_async(self, expr);
            self.asyncness.pop();
        }

        fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
            self.asyncness.push(closure.asyncness.is_some());
            syn::visit::visit_expr_closure(self, closure);
            self.asyncness.pop();
        }
    };
}
pub(crate) use track_async_context;

/// The simple identifier a pattern binds (`x`, `mut x`, `x: T`), if any.
pub fn pat_ident(pat: &syn::Pat) -> Option<&syn::Ident> {
    match pat {
        syn::Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
        syn::Pat::Type(t) => pat_ident(&t.pat),
        _ => None,
    }
}

/// Whether a pattern is `_` (possibly with a type: `_: T`).
pub fn is_wild(pat: &syn::Pat) -> bool {
    match pat {
        syn::Pat::Wild(_) => true,
        syn::Pat::Type(t) => is_wild(&t.pat),
        _ => false,
    }
}
