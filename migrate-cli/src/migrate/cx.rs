//! Tier 4 (the simple case) and the `select!` case of tier 5: Cx threading inside an
//! entry point.
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
//!
//! `tokio::select! { .. }` in the same places becomes `asupersync::select! { .. }`
//! when its body is in the grammar the native macro parses ([`native_select_accepts`],
//! which mirrors `macros/src/combinators.rs`): the native macro reads the caller's
//! `cx` and polls its branches in place (so borrowing branches still compile), cancels
//! and drains the losers where Tokio drops them, and rebinds `cx` inside branch
//! expressions, which is why an entry point that names `cx` is left alone. Whether
//! the branch futures themselves are native is the package-level rule of `plan`: the
//! rewrite is made only when nothing in the package stays on Tokio.
//!
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

/// The Tokio macros this tier rewrites in entry points.
pub const CX_MACROS: [&str; 1] = ["tokio::select"];

/// Whether `api` is threaded a cx by this module (a function or a macro).
pub fn takes_entry_cx(api: &str) -> bool {
    CX_FUNCTIONS.contains(&api) || CX_MACROS.contains(&api)
}

/// A place in an entry point that gets the entry point's `cx`.
#[derive(Debug, Clone)]
pub struct CxCall {
    /// Where the callee (or macro) path starts: the key the resolver's location shares.
    pub callee_start: usize,
    pub form: CxForm,
    /// Just after the entry point's `(`: where `cx: &asupersync::Cx` goes.
    pub param_at: usize,
}

/// What the place looks like.
#[derive(Debug, Clone)]
pub enum CxForm {
    /// `callee(args).await;`
    AwaitedCall {
        stmt_start: usize,
        /// Just after the call's `(`.
        args_start: usize,
        has_args: bool,
        semi: Range<usize>,
    },
    /// `select! { .. }` whose body the native macro accepts: only its path changes,
    /// the native macro reads `cx` itself. `branches`: where each branch's callee
    /// starts; every one must be a [`CxForm::BranchCall`] that is rewritten too.
    Select { branches: Vec<usize> },
    /// `callee(args)` as a `select!` branch future: gets the branch's `cx` (the
    /// native macro rebinds `cx` in branch expressions).
    BranchCall { args_start: usize, has_args: bool },
}

impl CxCall {
    /// Whether this is a call (`UseKind::Path`) rather than a macro invocation.
    pub fn is_call(&self) -> bool {
        !matches!(self.form, CxForm::Select { .. })
    }

    /// The edits of the statement besides its path (which is rewritten as a path).
    pub fn edits(&self, source: &str) -> Vec<Edit> {
        let (stmt_start, args_start, has_args, semi) = match &self.form {
            CxForm::AwaitedCall {
                stmt_start,
                args_start,
                has_args,
                semi,
            } => (stmt_start, args_start, has_args, semi),
            CxForm::BranchCall {
                args_start,
                has_args,
            } => {
                let cx = if *has_args { "cx, " } else { "cx" };
                return vec![Edit::new(*args_start..*args_start, cx)];
            }
            CxForm::Select { .. } => return Vec::new(),
        };
        let indent = indent_of(source, *stmt_start);
        vec![
            Edit::new(*stmt_start..*stmt_start, "if "),
            Edit::new(
                *args_start..*args_start,
                if *has_args { "cx, " } else { "cx" },
            ),
            Edit::new(
                semi.clone(),
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
                            form: CxForm::AwaitedCall {
                                stmt_start: start,
                                args_start: (self.offset)(call.paren_token.span.open()).end,
                                has_args: !call.args.is_empty(),
                                semi: (self.offset)(semi.spans[0]),
                            },
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

    // A macro's body is not seen (it is tokens); a `select!` whose body the native
    // macro accepts and whose branches are all `_ = callee(args)` is a place of its
    // own, and so is each branch call. Whether the macro is Tokio's and each callee a
    // cx function is the resolver's answer, matched by the paths' starts (`source`).
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let is_select = mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "select");
        let Some(futures) = is_select
            .then(|| native_select_branches(mac.tokens.clone()))
            .flatten()
        else {
            return;
        };
        let mut branches = Vec::new();
        for (pat, future) in &futures {
            let syn::Pat::Wild(_) = pat else {
                return;
            };
            let syn::Expr::Call(call) = future else {
                return;
            };
            let syn::Expr::Path(callee) = &*call.func else {
                return;
            };
            if callee.qself.is_some() || !call.attrs.is_empty() {
                return;
            }
            let start = path_start(&callee.path, self.offset);
            branches.push(start);
            self.calls.push(CxCall {
                callee_start: start,
                form: CxForm::BranchCall {
                    args_start: (self.offset)(call.paren_token.span.open()).end,
                    has_args: !call.args.is_empty(),
                },
                param_at: self.param_at,
            });
        }
        self.calls.push(CxCall {
            callee_start: path_start(&mac.path, self.offset),
            form: CxForm::Select { branches },
            param_at: self.param_at,
        });
    }
}

fn path_start(path: &syn::Path, offset: &dyn Fn(Span) -> Range<usize>) -> usize {
    match &path.leading_colon {
        Some(colon) => offset(colon.spans[0]).start,
        None => path
            .segments
            .first()
            .map_or(0, |s| offset(s.ident.span()).start),
    }
}

/// Whether `asupersync::select!` parses this body, which must also be a body Tokio's
/// macro took: `[biased;] pat = fut [, if cond] => handler, ... [else => handler]`.
/// The native grammar (`macros/src/combinators.rs`, `SelectInput`) also allows a
/// leading `name;` naming the context; a body starting with anything but `biased;`
/// before a `;` is refused, so the rewrite never changes which name is the cx.
pub fn native_select_accepts(body: proc_macro2::TokenStream) -> bool {
    native_select_branches(body).is_some()
}

/// The branches (pattern, future) of a `select!` body the native macro accepts (see
/// [`native_select_accepts`]).
pub fn native_select_branches(
    body: proc_macro2::TokenStream,
) -> Option<Vec<(syn::Pat, syn::Expr)>> {
    use syn::parse::{ParseStream, Parser};
    use syn::{Expr, Pat, Token};

    fn handler(input: ParseStream<'_>) -> syn::Result<()> {
        let handler: Expr = input.parse()?;
        let block_like = matches!(
            handler,
            Expr::Block(_)
                | Expr::If(_)
                | Expr::Match(_)
                | Expr::Loop(_)
                | Expr::While(_)
                | Expr::ForLoop(_)
                | Expr::Unsafe(_)
        );
        if input.is_empty() {
            return Ok(());
        }
        if block_like {
            let _ = input.parse::<Option<Token![,]>>()?;
        } else {
            input.parse::<Token![,]>()?;
        }
        Ok(())
    }
    let parser = |input: ParseStream<'_>| -> syn::Result<Vec<(Pat, Expr)>> {
        if input.peek(syn::Ident) && input.peek2(Token![;]) {
            let name: syn::Ident = input.parse()?;
            if name != "biased" {
                return Err(input.error("not a Tokio select! body"));
            }
            input.parse::<Token![;]>()?;
        }
        let mut branches = Vec::new();
        while !input.is_empty() {
            if input.peek(Token![else]) {
                input.parse::<Token![else]>()?;
                input.parse::<Token![=>]>()?;
                handler(input)?;
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let future = Expr::parse_without_eager_brace(input)?;
            if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Expr::parse_without_eager_brace(input)?;
            }
            input.parse::<Token![=>]>()?;
            handler(input)?;
            branches.push((pat, future));
        }
        if branches.is_empty() {
            return Err(input.error("no branch"));
        }
        Ok(branches)
    };
    parser.parse2(body).ok()
}

#[cfg(test)]
mod tests {
    use super::native_select_accepts;

    #[test]
    fn select_bodies_in_the_native_grammar_are_accepted_and_others_refused() {
        for body in [
            "v = ready(1) => v, _ = pending::<()>() => 0",
            "biased; n = ready(r) => 1,",
            "n = ready(r), if r < 2 => 1,",
            "n = ready(r) => { r = n + 1; } m = ready(r) => 2,",
            "() = pending::<()>() => 1,",
            "n = ready(r) => 1, else => break,",
            "Some(v) = rx.recv() => v, else => 0,",
            "biased; n = ready(r), if r < 2 => { r = n + 1; }, () = pending::<()>(), if r < 2 => unreachable!(\"x\"), else => break,",
        ] {
            assert!(native_select_accepts(body.parse().unwrap()), "{body}");
        }
        for body in [
            "ctx; v = ready(1) => v,",
            "",
            "v = ready(1) => v _ = ready(2) => 0",
            // Tokio splits branches itself; the native macro parses an expression, so
            // a block handler followed by a `(`-pattern without a comma is a call.
            "n = ready(r) => { r = n + 1; } () = pending::<()>() => 1,",
        ] {
            assert!(!native_select_accepts(body.parse().unwrap()), "{body}");
        }
    }
}
