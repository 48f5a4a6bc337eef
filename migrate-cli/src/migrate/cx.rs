//! Tier 4, the simple case only: Cx threading inside an entry point.
//!
//! `#[asupersync::main]`/`#[asupersync::test]` functions may take `cx: &Cx`, so a call
//! that needs a Cx can get one there without touching any other function. Only calls
//! whose rewrite can be shown to compile *and* to keep their meaning are made:
//!
//! - the callee is `tokio::time::sleep`, `tokio::time::sleep_until` or
//!   `tokio::task::yield_now`, whose native twins take `&cx` first and return
//!   `Result<(), Cancelled>` where Tokio returns `()`;
//! - the call is awaited as a statement of its own (`sleep(d).await;`) directly in the
//!   entry point's body (nested blocks, loops and `if`s included; closures, `async`
//!   blocks, nested items and macros excluded: a `&Cx` cannot be proven to reach them);
//! - the entry point returns `()`, has no parameters, no option the native attribute
//!   lacks, and does not use the name `cx` anywhere.
//!
//! The statement becomes `if sleep(cx, d).await.is_err() { return; }`: where Tokio
//! stopped the body by dropping it when the runtime shut down, the native call returns
//! `Err(Cancelled)` and the body returns, so the code after the call does not run in
//! either case. `cx: &asupersync::Cx` is added as the entry point's parameter.
//! Everything else that needs a Cx stays manual (tier 4 proper is not done).

use std::ops::Range;

use proc_macro2::{Span, TokenTree};
use syn::visit::Visit;

use super::edit::{indent_of, Edit};

/// The Tokio functions this tier threads a Cx into.
pub const CX_FUNCTIONS: [&str; 3] = [
    "tokio::time::sleep",
    "tokio::time::sleep_until",
    "tokio::task::yield_now",
];

/// A `callee(args).await;` statement in an entry point that can take `cx`.
#[derive(Debug, Clone)]
pub struct CxCall {
    /// Where the callee path starts: the key the resolver's location shares.
    pub callee_start: usize,
    stmt_start: usize,
    /// Just after the call's `(`.
    args_start: usize,
    has_args: bool,
    semi: Range<usize>,
    /// Just after the entry point's `(`: where `cx: &asupersync::Cx` goes.
    pub param_at: usize,
}

impl CxCall {
    /// The edits of the call statement (the callee path itself is rewritten as a path).
    pub fn edits(&self, source: &str) -> [Edit; 3] {
        let indent = indent_of(source, self.stmt_start);
        [
            Edit::new(self.stmt_start..self.stmt_start, "if "),
            Edit::new(
                self.args_start..self.args_start,
                if self.has_args { "cx, " } else { "cx" },
            ),
            Edit::new(
                self.semi.clone(),
                format!(".is_err() {{\n{indent}    return;\n{indent}}}"),
            ),
        ]
    }

    /// The edit adding the parameter to the entry point.
    pub fn param_edit(&self) -> Edit {
        Edit::new(self.param_at..self.param_at, "cx: &asupersync::Cx")
    }
}

/// The candidate calls of one entry point (`function` already checked to be one).
pub fn find_calls(function: &syn::ItemFn, offset: &dyn Fn(Span) -> Range<usize>) -> Vec<CxCall> {
    if !matches!(function.sig.output, syn::ReturnType::Default)
        || !function.sig.inputs.is_empty()
        || mentions_cx(function)
    {
        return Vec::new();
    }
    let mut finder = Finder {
        offset,
        param_at: offset(function.sig.paren_token.span.open()).end,
        calls: Vec::new(),
    };
    finder.visit_block(&function.block);
    finder.calls
}

fn mentions_cx(function: &syn::ItemFn) -> bool {
    fn walk(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "cx",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(quote::ToTokens::to_token_stream(&function.block))
}

struct Finder<'o> {
    offset: &'o dyn Fn(Span) -> Range<usize>,
    param_at: usize,
    calls: Vec<CxCall>,
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        if let syn::Stmt::Expr(syn::Expr::Await(awaited), Some(semi)) = stmt {
            if let syn::Expr::Call(call) = &*awaited.base {
                if let syn::Expr::Path(callee) = &*call.func {
                    if callee.qself.is_none() && call.attrs.is_empty() && awaited.attrs.is_empty() {
                        let start = match &callee.path.leading_colon {
                            Some(colon) => (self.offset)(colon.spans[0]).start,
                            None => callee
                                .path
                                .segments
                                .first()
                                .map_or(0, |s| (self.offset)(s.ident.span()).start),
                        };
                        self.calls.push(CxCall {
                            callee_start: start,
                            stmt_start: start,
                            args_start: (self.offset)(call.paren_token.span.open()).end,
                            has_args: !call.args.is_empty(),
                            semi: (self.offset)(semi.spans[0]),
                            param_at: self.param_at,
                        });
                    }
                }
            }
        }
        syn::visit::visit_stmt(self, stmt);
    }

    // Where a `&Cx` parameter cannot be shown to reach.
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_macro(&mut self, _: &'ast syn::Macro) {}
}
