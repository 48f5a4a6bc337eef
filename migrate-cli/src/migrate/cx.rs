//! Tier 4, Cx threading, and the `select!` case of tier 5.
//!
//! `#[asupersync::main]`/`#[asupersync::test]` functions may take `cx: &Cx`: they are
//! where a cx comes from. From there it is threaded down through the file's own async
//! functions to the calls that need it. Only rewrites that can be shown to compile
//! *and* to keep their meaning are made:
//!
//! - the callee is `tokio::time::sleep`, `tokio::time::sleep_until` or
//!   `tokio::task::yield_now`, whose native twins take `&cx` first and return
//!   `Result<(), Cancelled>` where Tokio returns `()`;
//! - the call is awaited as a statement of its own (`sleep(d).await;`) directly in the
//!   body of a function that has the cx (nested blocks, loops and `if`s included;
//!   closures, `async` blocks, nested items and macros other than the standard
//!   library's expression macros excluded: a `&Cx` cannot be proven to reach them),
//!   and that function returns `()`;
//! - a function has the cx if it is an entry point with no parameters and no option the
//!   native attribute lacks, or a *threaded* function: a private free `async fn` (no
//!   `self`, inherited visibility) of the file that needs a cx (it makes such a call or
//!   calls another threaded function), whose name appears nowhere else in the package
//!   and, in its own file, only as its definition and as calls `name(args).await`
//!   directly in the bodies of functions that have the cx. Anything else that mentions
//!   the name (a function pointer, a closure, a `spawn`, a macro, a method, another
//!   file) keeps it unthreaded, and the calls in it stay manual;
//! - no function involved uses the name `cx` already.
//!
//! A threaded function gets `cx: &asupersync::Cx` as its first parameter and each of its
//! calls passes `cx` (the caller's own `&Cx`). Entry points get the same parameter. The
//! rewrites of one call come with every edit of the chain up to the entry points
//! ([`CxCall::chain`]), so a call is rewritten with all of them or not at all.
//!
//! The statement becomes `if sleep(cx, d).await.is_err() { return; }`: where Tokio
//! stopped the body by dropping it when the runtime shut down, the native call returns
//! `Err(Cancelled)` and the function returns, so the code after the call does not run in
//! either case. A caller of a threaded function goes on after it returns (cancellation is
//! cooperative): its own next cx call sees the same cancel and returns.
//!
//! `tokio::select! { .. }` in the same places becomes `asupersync::select! { .. }`
//! when its body is in the grammar the native macro parses ([`native_select_accepts`],
//! which mirrors `macros/src/combinators.rs`): the native macro reads the caller's
//! `cx` and polls its branches in place (so borrowing branches still compile), cancels
//! and drains the losers where Tokio drops them, and rebinds `cx` inside branch
//! expressions, which is why a function that names `cx` is left alone. Whether
//! the branch futures themselves are native is the package-level rule of `plan`: the
//! rewrite is made only when nothing in the package stays on Tokio.
//!
//! Methods, trait functions, public functions and everything else that needs a Cx stay
//! manual, with the reason.

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

/// A place in a function that has the cx (see the module docs) that gets it.
#[derive(Debug, Clone)]
pub struct CxCall {
    /// Where the callee (or macro) path starts: the key the resolver's location shares.
    pub callee_start: usize,
    pub form: CxForm,
    /// The function it is in (an index into the file's [`CxScope`]s).
    pub scope: usize,
    /// What gets the cx to it: the `cx` parameter of its function, and of every
    /// threaded function up to the entry points with the `cx` argument of each call
    /// on the way ([`thread`] fills it in).
    pub chain: Vec<Edit>,
}

/// A function that can have the cx: an entry point, or a candidate to be threaded.
#[derive(Debug, Clone)]
pub struct CxScope {
    pub name: String,
    pub entry: bool,
    /// Just after the function's `(`: where `cx: &asupersync::Cx` goes.
    pub param_at: usize,
    pub has_inputs: bool,
    /// Awaited calls `name(args).await` of functions named by one identifier.
    pub local_calls: Vec<LocalCall>,
}

/// `name(args).await` in the body of a [`CxScope`].
#[derive(Debug, Clone)]
pub struct LocalCall {
    pub name: String,
    /// Just after the call's `(`.
    pub args_start: usize,
    pub has_args: bool,
}

impl CxScope {
    fn param_edit(&self) -> Edit {
        let text = if self.has_inputs {
            "cx: &asupersync::Cx, "
        } else {
            "cx: &asupersync::Cx"
        };
        Edit::new(self.param_at..self.param_at, text)
    }
}

fn cx_argument(args_start: usize, has_args: bool) -> Edit {
    Edit::new(args_start..args_start, if has_args { "cx, " } else { "cx" })
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
            } => return vec![cx_argument(*args_start, *has_args)],
            CxForm::Select { .. } => return Vec::new(),
        };
        let indent = indent_of(source, *stmt_start);
        vec![
            Edit::new(*stmt_start..*stmt_start, "if "),
            cx_argument(*args_start, *has_args),
            Edit::new(
                semi.clone(),
                format!(".is_err() {{\n{indent}    return;\n{indent}}}"),
            ),
        ]
    }
}

/// Whether `function` can be threaded a cx: a private free `async fn` (a method or a
/// trait function is an `ImplItemFn`/`TraitItemFn`, never seen here) with no attribute
/// that could rewrite it (an attribute macro such as `#[instrument]` may read its
/// parameters).
pub fn threadable(function: &syn::ItemFn) -> bool {
    const INERT: [&str; 9] = [
        "doc", "allow", "warn", "deny", "expect", "cfg", "inline", "must_use", "cold",
    ];
    function.sig.asyncness.is_some()
        && matches!(function.vis, syn::Visibility::Inherited)
        && function.sig.variadic.is_none()
        && function
            .attrs
            .iter()
            .all(|attr| INERT.iter().any(|inert| attr.path().is_ident(inert)))
}

/// The scope of one function that may have the cx (an entry point already checked to
/// be one, or a [`threadable`] function), and its candidate calls (`scope` is the
/// index the scope will have). A function that names `cx` has no candidate calls and
/// cannot be threaded (its scope is `None`).
pub fn scan_function(
    function: &syn::ItemFn,
    entry: bool,
    scope: usize,
    offset: &dyn Fn(Span) -> Range<usize>,
) -> Option<(CxScope, Vec<CxCall>)> {
    if mentions_cx(function) || entry && !function.sig.inputs.is_empty() {
        return None;
    }
    let mut finder = Finder {
        offset,
        scope,
        statements: matches!(function.sig.output, syn::ReturnType::Default),
        calls: Vec::new(),
        local_calls: Vec::new(),
    };
    finder.visit_block(&function.block);
    let cx_scope = CxScope {
        name: function.sig.ident.to_string(),
        entry,
        param_at: offset(function.sig.paren_token.span.open()).end,
        has_inputs: !function.sig.inputs.is_empty(),
        local_calls: finder.local_calls,
    };
    Some((cx_scope, finder.calls))
}

fn mentions_cx(function: &syn::ItemFn) -> bool {
    fn walk(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "cx",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(quote::ToTokens::to_token_stream(&function.sig.inputs))
        || walk(quote::ToTokens::to_token_stream(&function.block))
}

/// How many times each identifier occurs in `source` (comments and literals aside).
pub fn identifier_counts(source: &str) -> std::collections::HashMap<String, usize> {
    fn walk(tokens: proc_macro2::TokenStream, out: &mut std::collections::HashMap<String, usize>) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => *out.entry(ident.to_string()).or_default() += 1,
                TokenTree::Group(group) => walk(group.stream(), out),
                _ => {}
            }
        }
    }
    let mut counts = std::collections::HashMap::new();
    if let Ok(tokens) = source.parse() {
        walk(tokens, &mut counts);
    }
    counts
}

/// Decides which candidate functions are threaded (see the module docs) and keeps the
/// calls that then have a cx, each with its [`CxCall::chain`].
///
/// `occurrences(name)`: how often the identifier occurs in the file; `elsewhere(name)`:
/// whether another file of the package mentions it.
pub fn thread(
    scopes: &[CxScope],
    calls: Vec<CxCall>,
    occurrences: &dyn Fn(&str) -> usize,
    elsewhere: &dyn Fn(&str) -> bool,
) -> Vec<CxCall> {
    // The greatest set of candidates that each need a cx and are only ever called from
    // an entry point or another member: start from all and drop until stable.
    let direct: Vec<bool> = (0..scopes.len())
        .map(|i| calls.iter().any(|call| call.scope == i))
        .collect();
    let mut threaded: Vec<bool> = scopes
        .iter()
        .map(|scope| {
            !scope.entry && !elsewhere(&scope.name) && {
                // One definition only (a second item of that name would share calls).
                scopes.iter().filter(|s| s.name == scope.name).count() == 1
            }
        })
        .collect();
    let has_cx = |threaded: &[bool], i: usize| scopes[i].entry || threaded[i];
    loop {
        let mut changed = false;
        for f in 0..scopes.len() {
            if !threaded[f] {
                continue;
            }
            let name = scopes[f].name.as_str();
            let callers: usize = (0..scopes.len())
                .filter(|&g| has_cx(&threaded, g))
                .map(|g| {
                    scopes[g]
                        .local_calls
                        .iter()
                        .filter(|call| call.name == name)
                        .count()
                })
                .sum();
            let needs_cx = direct[f]
                || scopes[f].local_calls.iter().any(|call| {
                    scopes
                        .iter()
                        .enumerate()
                        .any(|(h, s)| threaded[h] && s.name == call.name)
                });
            // Never called (dead, or called from where it cannot be seen): the
            // function keeps its signature.
            if !needs_cx || callers == 0 || occurrences(name) != 1 + callers {
                threaded[f] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // The chain of each function that has the cx: its parameter, and for a threaded one
    // each call of it with the caller's chain.
    fn chain_of(
        scopes: &[CxScope],
        threaded: &[bool],
        f: usize,
        seen: &mut Vec<usize>,
        out: &mut Vec<Edit>,
    ) {
        if seen.contains(&f) {
            return;
        }
        seen.push(f);
        out.push(scopes[f].param_edit());
        if scopes[f].entry {
            return;
        }
        for (g, caller) in scopes.iter().enumerate() {
            if !(caller.entry || threaded[g]) {
                continue;
            }
            for call in caller
                .local_calls
                .iter()
                .filter(|c| c.name == scopes[f].name)
            {
                out.push(cx_argument(call.args_start, call.has_args));
                chain_of(scopes, threaded, g, seen, out);
            }
        }
    }
    calls
        .into_iter()
        .filter(|call| has_cx(&threaded, call.scope))
        .map(|mut call| {
            chain_of(
                scopes,
                &threaded,
                call.scope,
                &mut Vec::new(),
                &mut call.chain,
            );
            call
        })
        .collect()
}

struct Finder<'o> {
    offset: &'o dyn Fn(Span) -> Range<usize>,
    scope: usize,
    /// Whether awaited statements are rewritten (the function returns `()`).
    statements: bool,
    calls: Vec<CxCall>,
    local_calls: Vec<LocalCall>,
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_expr_await(&mut self, awaited: &'ast syn::ExprAwait) {
        if let syn::Expr::Call(call) = &*awaited.base {
            if let syn::Expr::Path(callee) = &*call.func {
                if let Some(name) = callee.path.get_ident().filter(|_| callee.qself.is_none()) {
                    self.local_calls.push(LocalCall {
                        name: name.to_string(),
                        args_start: (self.offset)(call.paren_token.span.open()).end,
                        has_args: !call.args.is_empty(),
                    });
                }
            }
        }
        syn::visit::visit_expr_await(self, awaited);
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        if let (true, syn::Stmt::Expr(syn::Expr::Await(awaited), Some(semi))) =
            (self.statements, stmt)
        {
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
                            scope: self.scope,
                            chain: Vec::new(),
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
        // The standard library's expression macros (`assert_eq!(f().await, 3)`) take
        // plain expressions: a call in them is a call like any other.
        if super::source::is_std_expression_macro(&mac.path) {
            use syn::parse::Parser;
            let arguments =
                syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated
                    .parse2(mac.tokens.clone());
            for argument in arguments.iter().flatten() {
                self.visit_expr(argument);
            }
            return;
        }
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
                scope: self.scope,
                chain: Vec::new(),
            });
        }
        self.calls.push(CxCall {
            callee_start: path_start(&mac.path, self.offset),
            form: CxForm::Select { branches },
            scope: self.scope,
            chain: Vec::new(),
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
