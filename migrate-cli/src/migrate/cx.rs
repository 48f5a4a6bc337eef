//! Tier 4, Cx threading, and the `select!` and spawn cases of tier 5.
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
//! - or the callee is one of [`CX_SAME_RESULT`] (`timeout`, `ctrl_c`, `tokio::fs`),
//!   whose native twin returns what Tokio's did, awaited where it is called
//!   (`f(args).await`, in any expression) in such a function: it only gets the cx;
//! - a function has the cx if it is an entry point with no parameters and no option the
//!   native attribute lacks, or a *threaded* function: an `async fn` of the package,
//!   free or in an inherent `impl` (never a trait's: the trait fixes the signature),
//!   private unless nothing outside the package can call it (a binary-only or
//!   unpublished package no member depends on), that needs a cx (it makes such a call
//!   or calls another threaded function), defined once in the package, whose name
//!   appears in the package's files (imports of the package's own items aside) only as
//!   its definition and as awaited calls in the bodies of functions that have the cx,
//!   each in the function's own form ([`CallForm`]): `name(args)` (or
//!   `module::name(args)`, `crate::module::name(args)`) for a free function,
//!   `x.name(args)` for a method, `Type::name(args)` for an associated function without
//!   `self`. Anything else that mentions the name (a function pointer, a closure, a
//!   `spawn`, a macro, a call in another form, a path through another crate) keeps it
//!   unthreaded, and the calls in it stay manual. Names are matched, not resolved (the
//!   receiver's type is not known): when a call was of another item after all, the
//!   build breaks there and `--apply` backs the function's rewrites out;
//! - or it is a guard call `receiver.lock().await` (`.read()`, `.write()`: see
//!   [`GUARD_METHODS`]) on `self.field` or a local declared with Tokio's `Mutex` or
//!   `RwLock`, in such a function returning a `Result`: it becomes
//!   `receiver.lock(cx).await?`, and moves with the type's import (`source` decides);
//! - no function involved uses the name `cx` already.
//!
//! A threaded function gets `cx: &asupersync::Cx` as its first parameter (after `self`
//! for a method, as the `cx-first` lint wants) and each of its
//! calls passes `cx` (the caller's own `&Cx`). Entry points get the same parameter. The
//! rewrites of one call come with every edit of the chain up to the entry points
//! ([`CxCall::chain`]), so a call is rewritten with all of them or not at all.
//!
//! The statement becomes `if sleep(cx, d).await.is_err() { return; }` (in a function
//! returning a `Result`: `sleep(cx, d).await?;`, the `Cancelled` converted into its
//! error, which the compiler checks): where Tokio stopped the body by dropping it when
//! the runtime shut down, the native call returns `Err(Cancelled)` and the function
//! returns, so the code after the call does not run in either case. A caller of a threaded function goes on after it returns (cancellation is
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
//! Spawns (tier 5): `tokio::spawn(f)`/`tokio::task::spawn(f)`, written out, in a
//! function that has the cx, become `cx.spawn(move |cx| f)` for an `async move` block
//! `f` (the block is then a scope of its own whose cx is the task's owned `Cx`, passed
//! as `&cx`; its sleep statements are rewritten only when the block's value is `()`)
//! and `cx.spawn({ let future = f; move |_| future })` for any other future (evaluated
//! where Tokio evaluated it); `spawn_blocking(f)` becomes the native
//! `spawn_blocking(cx, f)`. A spawn is rewritten only when its handle is awaited, in
//! the same scope, in a form whose meaning survives the mapping back
//! ([`HandleAwait`]): `.join(cx).await.into_result()` is a `Result` whose `unwrap`,
//! `expect`, `ok`, `is_ok` and `is_err` say what Tokio's `Result<T, JoinError>` said
//! (a panic and a cancellation are errors in both). A detached Tokio task outlives its
//! spawner; a native one belongs to its region, which waits for it, so a spawn whose
//! handle is dropped, stored or passed on stays manual.
//!
//! Trait functions, functions called from other files and everything else that needs a
//! Cx stay manual, with the reason.

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

/// The Tokio functions whose native twin takes `&cx` first and returns what Tokio's
/// returned (`io::Result<T>`, or `Result<T, Elapsed>` whose native `Elapsed` converts
/// into `io::Error` too): an awaited call `f(args).await` anywhere in a function that
/// has the cx only gets the cx.
pub const CX_SAME_RESULT: [&str; 17] = [
    "tokio::time::timeout",
    "tokio::time::timeout_at",
    "tokio::signal::ctrl_c",
    "tokio::fs::read",
    "tokio::fs::read_to_string",
    "tokio::fs::write",
    "tokio::fs::copy",
    "tokio::fs::rename",
    "tokio::fs::hard_link",
    "tokio::fs::create_dir",
    "tokio::fs::create_dir_all",
    "tokio::fs::remove_file",
    "tokio::fs::remove_dir",
    "tokio::fs::remove_dir_all",
    "tokio::fs::metadata",
    "tokio::fs::symlink_metadata",
    "tokio::fs::canonicalize",
];

/// The methods of Tokio's `Mutex` and `RwLock` whose native twins take `&cx` and
/// return `Result<Guard, Cancelled>` where Tokio's return the guard.
pub const GUARD_METHODS: [&str; 3] = ["lock", "read", "write"];

/// The Tokio types whose [`GUARD_METHODS`] calls this tier rewrites.
pub const GUARD_TYPES: [&str; 2] = ["tokio::sync::Mutex", "tokio::sync::RwLock"];

/// The Tokio macros this tier rewrites in entry points.
pub const CX_MACROS: [&str; 1] = ["tokio::select"];

/// The Tokio spawns this tier rewrites (tier 5): `cx.spawn(..)` for the first two,
/// the native `spawn_blocking(cx, ..)` for the last.
pub const CX_SPAWNS: [&str; 3] = [
    "tokio::spawn",
    "tokio::task::spawn",
    "tokio::task::spawn_blocking",
];

/// Whether `api` is threaded a cx by this module (a function or a macro).
pub fn takes_entry_cx(api: &str) -> bool {
    CX_FUNCTIONS.contains(&api)
        || CX_MACROS.contains(&api)
        || CX_SPAWNS.contains(&api)
        || CX_SAME_RESULT.contains(&api)
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
    /// on the way ([`thread`] fills it in), each edit with the index of its file in
    /// the package (a chain crosses files).
    pub chain: Vec<FileEdit>,
    /// How the scope passes its cx: `cx` (a `&Cx` parameter) or `&cx` (the owned `Cx`
    /// of a spawned task).
    pub cx_arg: &'static str,
}

/// An `.await` of a join handle, in a form whose value means the same once mapped
/// back (`handle.join(cx).await.into_result()` is a `Result` whose `unwrap`, `expect`,
/// `ok`, `is_ok` and `is_err` mean what Tokio's `Result<T, JoinError>` ones did).
#[derive(Debug, Clone)]
pub struct HandleAwait {
    pub handle: Handle,
    /// Where `.join(cx)` goes: the `.` of `.await`.
    pub join_at: usize,
    /// Where `.into_result()` goes: just after `await`.
    pub result_at: usize,
}

/// What is awaited: a local bound by `let name = spawn(..);`, or the spawn call itself
/// (by where its path starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handle {
    Name(String),
    Spawn(usize),
}

/// An edit of the file with this index among the package's files.
pub type FileEdit = (usize, Edit);

/// A function that can have the cx: an entry point, or a candidate to be threaded.
#[derive(Debug, Clone)]
pub struct CxScope {
    /// The index of its file among the package's files (0 until the package-level
    /// analysis places it).
    pub file: usize,
    /// Empty for the body of a spawned task.
    pub name: String,
    pub entry: bool,
    /// For the `async move` body of a spawn: the scope it is in and where the spawn's
    /// path starts. It has a cx (its own, owned) when the spawn is rewritten.
    pub spawned_in: Option<(usize, usize)>,
    /// Identifier counts of the body (a handle must be mentioned only where awaited).
    pub counts: std::collections::HashMap<String, usize>,
    /// `let name = callee(..);`, with where the callee path starts.
    pub bindings: Vec<(String, usize)>,
    pub handle_awaits: Vec<HandleAwait>,
    /// For a function that could be wrapped in compat (tier 6): how.
    pub wrap: Option<super::compat::Wrap>,
    /// Set by the caller of [`thread`] when something in the body stays Tokio-bound:
    /// why. The function is then wrapped (if it can be threaded) instead of having its
    /// calls rewritten.
    pub wrap_why: Option<String>,
    /// Just after the function's `(` (or after its `self` parameter): where
    /// `cx: &asupersync::Cx` goes.
    pub param_at: usize,
    pub has_inputs: bool,
    /// How the function is called: by name, as a method, or as `Type::name`.
    pub call_form: CallForm,
    /// Awaited calls `name(args).await` of functions named by one identifier.
    pub local_calls: Vec<LocalCall>,
}

/// `name(args).await` in the body of a [`CxScope`] (or `x.name(args).await`, or
/// `Type::name(args).await`).
#[derive(Debug, Clone)]
pub struct LocalCall {
    pub name: String,
    /// Just after the call's `(`.
    pub args_start: usize,
    pub has_args: bool,
    pub form: CallForm,
}

/// How a function that may be threaded is called, and so which calls can be its: a
/// free function by its name, a method (`self` first) in method-call syntax (its cx
/// goes after `self`, and so first among the call's arguments), an associated function
/// without `self` as `Type::name(..)` or `Self::name(..)`. A call in another form
/// counts as a mention that is not a call, which keeps the function as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallForm {
    Free,
    Method,
    Associated,
}

impl LocalCall {
    /// Whether this call can be a call of `scope` (by name and form).
    fn calls(&self, scope: &CxScope) -> bool {
        self.name == scope.name && self.form == scope.call_form
    }
}

impl CxScope {
    fn cx_arg(&self) -> &'static str {
        if self.spawned_in.is_some() {
            "&cx"
        } else {
            "cx"
        }
    }

    /// Whether the spawn starting at `callee_start` in this scope has its handle used
    /// only in awaits this tier maps back (a handle dropped or stored would detach the
    /// task in Tokio, but not natively: the region waits for it).
    fn handle_mapped(&self, callee_start: usize) -> bool {
        let awaits = |handle: &Handle| {
            self.handle_awaits
                .iter()
                .filter(|a| &a.handle == handle)
                .count()
        };
        if awaits(&Handle::Spawn(callee_start)) == 1 {
            return true;
        }
        self.bindings
            .iter()
            .filter(|(_, start)| *start == callee_start)
            .any(|(name, _)| {
                let awaited = awaits(&Handle::Name(name.clone()));
                awaited >= 1 && self.counts.get(name).copied() == Some(1 + awaited)
            })
    }

    fn await_edits(&self, callee_start: usize) -> Vec<Edit> {
        let names: Vec<Handle> = self
            .bindings
            .iter()
            .filter(|(_, start)| *start == callee_start)
            .map(|(name, _)| Handle::Name(name.clone()))
            .chain([Handle::Spawn(callee_start)])
            .collect();
        self.handle_awaits
            .iter()
            .filter(|a| names.contains(&a.handle))
            .flat_map(|a| {
                [
                    Edit::new(a.join_at..a.join_at, format!(".join({})", self.cx_arg())),
                    Edit::new(a.result_at..a.result_at, ".into_result()"),
                ]
            })
            .collect()
    }

    fn param_edit(&self) -> Edit {
        if self.call_form == CallForm::Method {
            return Edit::new(self.param_at..self.param_at, ", cx: &asupersync::Cx");
        }
        let text = if self.has_inputs {
            "cx: &asupersync::Cx, "
        } else {
            "cx: &asupersync::Cx"
        };
        Edit::new(self.param_at..self.param_at, text)
    }
}

fn cx_argument(args_start: usize, has_args: bool, cx_arg: &str) -> Edit {
    let text = if has_args {
        format!("{cx_arg}, ")
    } else {
        cx_arg.to_string()
    };
    Edit::new(args_start..args_start, text)
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
        /// In a function returning a `Result` (not `()`): the native call's
        /// `Err(Cancelled)` is returned with `?` (the compiler checks the error converts).
        question_mark: bool,
    },
    /// `select! { .. }` whose body the native macro accepts: only its path changes,
    /// the native macro reads `cx` itself. `branches`: where each branch's callee
    /// starts; every one must be a [`CxForm::BranchCall`] that is rewritten too.
    Select { branches: Vec<usize> },
    /// `callee(args)` as a `select!` branch future: gets the branch's `cx` (the
    /// native macro rebinds `cx` in branch expressions).
    BranchCall { args_start: usize, has_args: bool },
    /// `callee(args).await` of a [`CX_SAME_RESULT`] function, anywhere: gets the cx.
    SameResultCall { args_start: usize, has_args: bool },
    /// `receiver.lock().await` (or `.read()`, `.write()`), where `receiver` is `self.name`
    /// or `name`: a [`GUARD_METHODS`] call that becomes `receiver.lock(cx).await?` once
    /// the receiver's type is the native one. `fallible`: its function returns a
    /// `Result` (whose error must convert from `Cancelled`, which the compiler checks).
    GuardCall {
        receiver: String,
        args_start: usize,
        /// Just after `await`: where `?` goes.
        after_await: usize,
        fallible: bool,
    },
    /// `spawn(future)` or `spawn_blocking(f)` (tier 5). `edits`: everything but the
    /// path of a `spawn_blocking` (rewritten as a path), filled in by [`thread`].
    Spawn {
        callee: Range<usize>,
        blocking: bool,
        /// Just after the call's `(`.
        args_start: usize,
        argument: Range<usize>,
        /// The argument is an `async move` block (its body is a scope of its own).
        async_move: bool,
        edits: Vec<Edit>,
    },
}

impl CxCall {
    /// Whether this is a call (`UseKind::Path`) rather than a macro invocation.
    pub fn is_call(&self) -> bool {
        !matches!(self.form, CxForm::Select { .. })
    }

    /// Whether this place is a rewrite of a usage of `api`.
    pub fn rewrites(&self, api: &str) -> bool {
        match &self.form {
            CxForm::AwaitedCall { .. } | CxForm::BranchCall { .. } => CX_FUNCTIONS.contains(&api),
            CxForm::SameResultCall { .. } => CX_SAME_RESULT.contains(&api),
            // A method of a value: no usage of its own (its type's import has it).
            CxForm::GuardCall { .. } => false,
            CxForm::Select { .. } => CX_MACROS.contains(&api),
            CxForm::Spawn { blocking, .. } => {
                CX_SPAWNS.contains(&api) && *blocking == api.ends_with("spawn_blocking")
            }
        }
    }

    /// Whether the usage's path is replaced by this place's own edits rather than by
    /// its native path (`tokio::spawn` becomes `cx.spawn`, a method call).
    pub fn replaces_path(&self) -> bool {
        matches!(
            self.form,
            CxForm::Spawn {
                blocking: false,
                ..
            }
        )
    }

    /// The edits of the statement besides its path (which is rewritten as a path).
    pub fn edits(&self, source: &str) -> Vec<Edit> {
        let (stmt_start, args_start, has_args, semi) = match &self.form {
            CxForm::AwaitedCall {
                args_start,
                has_args,
                semi,
                question_mark: true,
                ..
            } => {
                return vec![
                    cx_argument(*args_start, *has_args, self.cx_arg),
                    Edit::new(semi.start..semi.start, "?"),
                ]
            }
            CxForm::AwaitedCall {
                stmt_start,
                args_start,
                has_args,
                semi,
                question_mark: false,
            } => (stmt_start, args_start, has_args, semi),
            CxForm::BranchCall {
                args_start,
                has_args,
            }
            | CxForm::SameResultCall {
                args_start,
                has_args,
            } => return vec![cx_argument(*args_start, *has_args, self.cx_arg)],
            CxForm::Select { .. } => return Vec::new(),
            CxForm::Spawn { edits, .. } => return edits.clone(),
            CxForm::GuardCall {
                args_start,
                after_await,
                ..
            } => {
                return vec![
                    cx_argument(*args_start, false, self.cx_arg),
                    Edit::new(*after_await..*after_await, "?"),
                ]
            }
        };
        let indent = indent_of(source, *stmt_start);
        vec![
            Edit::new(*stmt_start..*stmt_start, "if "),
            cx_argument(*args_start, *has_args, self.cx_arg),
            Edit::new(
                semi.clone(),
                format!(".is_err() {{\n{indent}    return;\n{indent}}}"),
            ),
        ]
    }
}

/// Whether `function` can be threaded a cx: an `async fn` (free, or an inherent method
/// or associated function: trait items are never passed here), private unless
/// `any_visibility` (the package's API has no users outside it), with no attribute that
/// could rewrite it (an attribute macro such as `#[instrument]` may read its
/// parameters) and no elided lifetime in its return type (`-> &str` borrows from the
/// only reference parameter; with `cx: &Cx` there would be two).
pub fn threadable(function: &syn::ItemFn, any_visibility: bool) -> bool {
    const INERT: [&str; 9] = [
        "doc", "allow", "warn", "deny", "expect", "cfg", "inline", "must_use", "cold",
    ];
    let output = quote::ToTokens::to_token_stream(&function.sig.output).to_string();
    function.sig.asyncness.is_some()
        && (any_visibility || matches!(function.vis, syn::Visibility::Inherited))
        && function.sig.variadic.is_none()
        && !output.contains('&')
        && !output.contains("'_")
        && function
            .attrs
            .iter()
            .all(|attr| INERT.iter().any(|inert| attr.path().is_ident(inert)))
}

/// The scopes of one function that may have the cx (an entry point already checked
/// to be one, or a [`threadable`] function) — the function's own, then one per
/// `async move` block it spawns, nested ones included — with their candidate calls.
/// `first` is the index the function's scope will have; `in_impl`: the function is an
/// item of an inherent `impl` (as an `ItemFn`). A function that names `cx` has none and
/// cannot be threaded.
pub fn scan_function(
    function: &syn::ItemFn,
    entry: bool,
    in_impl: bool,
    first: usize,
    offset: &dyn Fn(Span) -> Range<usize>,
) -> Vec<(CxScope, Vec<CxCall>)> {
    if mentions_cx(function) || entry && !function.sig.inputs.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut queue: Vec<(usize, usize, syn::Block)> = Vec::new();
    let unit = matches!(function.sig.output, syn::ReturnType::Default);
    let fallible = match &function.sig.output {
        syn::ReturnType::Type(_, ty) => matches!(
            &**ty,
            syn::Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "Result")
        ),
        syn::ReturnType::Default => false,
    };
    let (scope, calls, spawned) = scan_body(&function.block, first, unit, fallible, "cx", offset);
    let receiver = function.sig.receiver();
    out.push((
        CxScope {
            name: function.sig.ident.to_string(),
            entry,
            param_at: match receiver {
                Some(receiver) => offset(syn::spanned::Spanned::span(receiver)).end,
                None => offset(function.sig.paren_token.span.open()).end,
            },
            has_inputs: !function.sig.inputs.is_empty(),
            call_form: match (in_impl, receiver) {
                (false, _) => CallForm::Free,
                (true, Some(_)) => CallForm::Method,
                (true, None) => CallForm::Associated,
            },
            spawned_in: None,
            // A later run recognises a wrap only in a free function.
            wrap: (!entry && !in_impl)
                .then(|| super::compat::wrap_of(function, offset))
                .flatten(),
            ..scope
        },
        calls,
    ));
    queue.extend(
        spawned
            .into_iter()
            .map(|(start, block)| (first, start, block)),
    );
    while !queue.is_empty() {
        let (parent, start, block) = queue.remove(0);
        let index = first + out.len();
        let (scope, calls, spawned) =
            scan_body(&block, index, block_is_unit(&block), false, "&cx", offset);
        out.push((
            CxScope {
                spawned_in: Some((parent, start)),
                ..scope
            },
            calls,
        ));
        queue.extend(
            spawned
                .into_iter()
                .map(|(start, block)| (index, start, block)),
        );
    }
    out
}

/// One body's scope (name and parameter left blank), calls and spawned `async move`
/// blocks (with where their spawn's path starts).
#[allow(clippy::type_complexity)]
fn scan_body(
    block: &syn::Block,
    scope: usize,
    statements: bool,
    fallible: bool,
    cx_arg: &'static str,
    offset: &dyn Fn(Span) -> Range<usize>,
) -> (CxScope, Vec<CxCall>, Vec<(usize, syn::Block)>) {
    let mut finder = Finder {
        offset,
        scope,
        statements,
        fallible,
        cx_arg,
        calls: Vec::new(),
        local_calls: Vec::new(),
        bindings: Vec::new(),
        handle_awaits: Vec::new(),
        spawned: Vec::new(),
    };
    finder.visit_block(block);
    let scope = CxScope {
        file: 0,
        name: String::new(),
        entry: false,
        spawned_in: None,
        counts: identifier_counts_of(quote::ToTokens::to_token_stream(block)),
        bindings: finder.bindings,
        handle_awaits: finder.handle_awaits,
        wrap: None,
        wrap_why: None,
        param_at: 0,
        has_inputs: false,
        call_form: CallForm::Free,
        local_calls: finder.local_calls,
    };
    (scope, finder.calls, finder.spawned)
}

/// Whether an `async` block's value is `()` as far as syntax shows: no tail
/// expression but a loop or an `if` without `else`, no `return` with a value and no
/// `?` (outside nested closures, `async` blocks and items).
fn block_is_unit(block: &syn::Block) -> bool {
    struct Valued(bool);
    impl<'ast> Visit<'ast> for Valued {
        fn visit_expr_return(&mut self, ret: &'ast syn::ExprReturn) {
            self.0 |= ret.expr.is_some();
        }
        fn visit_expr_try(&mut self, _: &'ast syn::ExprTry) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let tail_ok = match block.stmts.last() {
        Some(syn::Stmt::Expr(expr, None)) => {
            matches!(
                expr,
                syn::Expr::Loop(_) | syn::Expr::While(_) | syn::Expr::ForLoop(_)
            ) || matches!(expr, syn::Expr::If(branch) if branch.else_branch.is_none())
        }
        _ => true,
    };
    let mut valued = Valued(false);
    valued.visit_block(block);
    tail_ok && !valued.0
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
    source.parse().map(identifier_counts_of).unwrap_or_default()
}

fn identifier_counts_of(
    tokens: proc_macro2::TokenStream,
) -> std::collections::HashMap<String, usize> {
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
    walk(tokens, &mut counts);
    counts
}

/// Decides which candidate functions are threaded (see the module docs) and which
/// spawns are rewritten, and keeps the calls that then have a cx, each with its
/// [`CxCall::chain`] (and a spawn with its own edits).
///
/// `scopes` are those of every file of the package (each knows its file, and `calls`
/// their scope by its index here); `occurrences(name)`: how often the identifier
/// occurs in the package's files (imports of the package's own items aside);
/// `sources`: the text of each file.
pub fn thread(
    scopes: &[CxScope],
    calls: Vec<CxCall>,
    occurrences: &dyn Fn(&str) -> usize,
    sources: &[&str],
) -> Threading {
    // A function wrapped in compat keeps its body as written: nothing in it gets a cx.
    let wrapping = |i: usize| scopes[i].wrap.is_some() && scopes[i].wrap_why.is_some();
    let calls: Vec<CxCall> = calls
        .into_iter()
        .filter(|call| !wrapping(call.scope))
        .collect();
    // A spawn is a candidate when its handle is only awaited in forms mapped back; the
    // body of one that is not is not a scope with a cx. A `select!` is not rewritten in
    // a spawned body (the native macro reads a `&Cx` named `cx`).
    let calls: Vec<CxCall> = calls
        .into_iter()
        .filter(|call| match &call.form {
            CxForm::Spawn { .. } => scopes[call.scope].handle_mapped(call.callee_start),
            CxForm::Select { .. } | CxForm::BranchCall { .. } => {
                scopes[call.scope].spawned_in.is_none()
            }
            CxForm::AwaitedCall { .. } | CxForm::SameResultCall { .. } => true,
            // Only where `?` can carry the cancellation out.
            CxForm::GuardCall { fallible, .. } => *fallible,
        })
        .collect();
    let spawn_kept = |start: usize, parent: usize| {
        calls.iter().any(|call| {
            call.scope == parent
                && call.callee_start == start
                && matches!(call.form, CxForm::Spawn { .. })
        })
    };
    // The greatest set of candidates that each need a cx and are only ever called from
    // a scope with a cx: start from all and drop until stable.
    let direct: Vec<bool> = (0..scopes.len())
        .map(|i| wrapping(i) || calls.iter().any(|call| call.scope == i))
        .collect();
    let mut threaded: Vec<bool> = scopes
        .iter()
        .map(|scope| {
            !scope.entry && scope.spawned_in.is_none() && {
                // One definition only (a second item of that name would share calls).
                scopes.iter().filter(|s| s.name == scope.name).count() == 1
            }
        })
        .collect();
    // Parents come before the bodies they spawn, so one pass settles a spawned body.
    let has_cx = |threaded: &[bool]| -> Vec<bool> {
        let mut has = vec![false; scopes.len()];
        for (i, scope) in scopes.iter().enumerate() {
            has[i] = match scope.spawned_in {
                Some((parent, start)) => has[parent] && spawn_kept(start, parent),
                None => scope.entry || threaded[i],
            };
        }
        has
    };
    loop {
        let mut changed = false;
        let has = has_cx(&threaded);
        for f in 0..scopes.len() {
            if !threaded[f] {
                continue;
            }
            let name = scopes[f].name.as_str();
            let callers: usize = (0..scopes.len())
                .filter(|&g| has[g] && !wrapping(g))
                .map(|g| {
                    scopes[g]
                        .local_calls
                        .iter()
                        .filter(|call| call.calls(&scopes[f]))
                        .count()
                })
                .sum();
            let needs_cx = direct[f]
                || !wrapping(f)
                    && scopes[f].local_calls.iter().any(|call| {
                        scopes
                            .iter()
                            .enumerate()
                            .any(|(h, s)| threaded[h] && call.calls(s))
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
    let has = has_cx(&threaded);
    // Whether a spawned body uses its cx (else its closure takes `_`).
    let uses_cx = |body: usize| {
        calls.iter().any(|call| call.scope == body)
            || scopes[body].local_calls.iter().any(|call| {
                scopes
                    .iter()
                    .enumerate()
                    .any(|(h, s)| threaded[h] && call.calls(s))
            })
    };
    let spawn_edits: std::collections::HashMap<(usize, usize), Vec<Edit>> = calls
        .iter()
        .filter_map(|call| {
            let CxForm::Spawn {
                callee,
                blocking,
                args_start,
                argument,
                async_move,
                ..
            } = &call.form
            else {
                return None;
            };
            let scope = &scopes[call.scope];
            let mut edits = scope.await_edits(call.callee_start);
            if *blocking {
                edits.push(cx_argument(*args_start, true, scope.cx_arg()));
            } else {
                edits.push(Edit::new(callee.clone(), "cx.spawn"));
                let body = scopes
                    .iter()
                    .position(|s| s.spawned_in == Some((call.scope, call.callee_start)));
                if *async_move {
                    let param = if body.is_some_and(|b| has[b] && uses_cx(b)) {
                        "move |cx| "
                    } else {
                        "move |_| "
                    };
                    edits.push(Edit::new(argument.start..argument.start, param));
                } else {
                    edits.push(Edit::new(argument.start..argument.start, "{ let future = "));
                    edits.push(Edit::new(argument.end..argument.end, "; move |_| future }"));
                }
            }
            Some(((call.scope, call.callee_start), edits))
        })
        .collect();
    // The chain of each scope that has the cx: a function's parameter, and for a
    // threaded one each call of it with the caller's chain; for a spawned body, its
    // spawn's edits and the chain of the scope it is in.
    struct Chains<'a> {
        scopes: &'a [CxScope],
        has: &'a [bool],
        wrapping: &'a [bool],
        spawn_edits: &'a std::collections::HashMap<(usize, usize), Vec<Edit>>,
    }
    impl Chains<'_> {
        fn of(&self, f: usize, seen: &mut Vec<usize>, out: &mut Vec<FileEdit>) {
            if seen.contains(&f) {
                return;
            }
            seen.push(f);
            let scope = &self.scopes[f];
            if let Some((parent, start)) = scope.spawned_in {
                out.extend(
                    self.spawn_edits
                        .get(&(parent, start))
                        .into_iter()
                        .flatten()
                        .map(|edit| (self.scopes[parent].file, edit.clone())),
                );
                self.of(parent, seen, out);
                return;
            }
            out.push((scope.file, scope.param_edit()));
            if scope.entry {
                return;
            }
            for (g, caller) in self.scopes.iter().enumerate() {
                if !self.has[g] || self.wrapping[g] {
                    continue;
                }
                for call in caller.local_calls.iter().filter(|c| c.calls(scope)) {
                    out.push((
                        caller.file,
                        cx_argument(call.args_start, call.has_args, caller.cx_arg()),
                    ));
                    self.of(g, seen, out);
                }
            }
        }
    }
    let chains = Chains {
        scopes,
        has: &has,
        wrapping: &(0..scopes.len()).map(wrapping).collect::<Vec<_>>(),
        spawn_edits: &spawn_edits,
    };
    let wrapped: Vec<WrappedFn> = (0..scopes.len())
        .filter(|&f| has[f] && wrapping(f))
        .filter_map(|f| {
            let scope = &scopes[f];
            let wrap = scope.wrap.as_ref()?;
            let why = scope.wrap_why.as_deref()?;
            let source = sources[scope.file];
            let mut edits: Vec<FileEdit> =
                super::compat::wrap_edits(wrap, &scope.name, why, source)
                    .into_iter()
                    .map(|edit| (scope.file, edit))
                    .collect();
            chains.of(f, &mut Vec::new(), &mut edits);
            Some(WrappedFn {
                file: scope.file,
                name: scope.name.clone(),
                body: wrap.body_open..wrap.body_close,
                edits,
            })
        })
        .collect();
    let calls = calls
        .into_iter()
        .filter(|call| has[call.scope])
        .map(|mut call| {
            chains.of(call.scope, &mut Vec::new(), &mut call.chain);
            if let CxForm::Spawn { edits, .. } = &mut call.form {
                *edits = spawn_edits
                    .get(&(call.scope, call.callee_start))
                    .cloned()
                    .unwrap_or_default();
            }
            call
        })
        .collect();
    Threading { calls, wrapped }
}

/// What [`thread`] decided.
#[derive(Debug, Default)]
pub struct Threading {
    /// The places that get a cx, with their chains.
    pub calls: Vec<CxCall>,
    /// The functions wrapped in compat (tier 6).
    pub wrapped: Vec<WrappedFn>,
}

/// A function whose body runs in the compat quarantine.
#[derive(Debug, Clone)]
pub struct WrappedFn {
    /// The index of its file.
    pub file: usize,
    pub name: String,
    /// Inside the braces of its body.
    pub body: Range<usize>,
    /// The wrap, the `cx` parameter and the calls passing it, up to the entry points.
    pub edits: Vec<FileEdit>,
}

struct Finder<'o> {
    offset: &'o dyn Fn(Span) -> Range<usize>,
    scope: usize,
    /// Whether awaited statements are rewritten (the function returns `()`).
    statements: bool,
    /// Whether the function returns a `Result` (a guard call can use `?`).
    fallible: bool,
    cx_arg: &'static str,
    calls: Vec<CxCall>,
    local_calls: Vec<LocalCall>,
    bindings: Vec<(String, usize)>,
    handle_awaits: Vec<HandleAwait>,
    /// `async move` blocks given to a spawn, with where the spawn's path starts.
    spawned: Vec<(usize, syn::Block)>,
}

impl Finder<'_> {
    fn handle_await(&mut self, awaited: &syn::ExprAwait) {
        let handle = match &*awaited.base {
            syn::Expr::Path(path) if path.qself.is_none() => match path.path.get_ident() {
                Some(name) => Handle::Name(name.to_string()),
                None => return,
            },
            syn::Expr::Call(call) => match &*call.func {
                syn::Expr::Path(callee) => Handle::Spawn(path_start(&callee.path, self.offset)),
                _ => return,
            },
            _ => return,
        };
        self.handle_awaits.push(HandleAwait {
            handle,
            join_at: (self.offset)(awaited.dot_token.spans[0]).start,
            result_at: (self.offset)(awaited.await_token.span).end,
        });
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_expr_await(&mut self, awaited: &'ast syn::ExprAwait) {
        if let syn::Expr::Call(call) = &*awaited.base {
            if let syn::Expr::Path(callee) = &*call.func {
                if callee.qself.is_none() {
                    self.calls.push(CxCall {
                        callee_start: path_start(&callee.path, self.offset),
                        form: CxForm::SameResultCall {
                            args_start: (self.offset)(call.paren_token.span.open()).end,
                            has_args: !call.args.is_empty(),
                        },
                        scope: self.scope,
                        chain: Vec::new(),
                        cx_arg: self.cx_arg,
                    });
                }
                let segments = &callee.path.segments;
                let plain = segments.iter().all(|s| s.arguments.is_none())
                    && callee.qself.is_none()
                    && callee.path.leading_colon.is_none();
                // `f`, `module::f`, `crate::module::f` name a free function (the one
                // of the package, if the name is defined once: a same-named function
                // of another crate breaks the build, and `--apply` backs it out);
                // `Type::f` / `Self::f` an associated one.
                let local = |segment: &syn::PathSegment| {
                    ["super", "self", "crate"]
                        .iter()
                        .any(|m| segment.ident == m)
                };
                let lowercase = |segment: &syn::PathSegment| {
                    segment
                        .ident
                        .to_string()
                        .starts_with(|c: char| c.is_ascii_lowercase())
                };
                let named = match segments.len() {
                    0 => None,
                    1 => Some((CallForm::Free, &segments[0].ident)),
                    2 if lowercase(&segments[0]) => Some((CallForm::Free, &segments[1].ident)),
                    2 => Some((CallForm::Associated, &segments[1].ident)),
                    n if local(&segments[0]) && segments.iter().take(n - 1).all(lowercase) => {
                        Some((CallForm::Free, &segments[n - 1].ident))
                    }
                    _ => None,
                };
                if let (true, Some((form, name))) = (plain, named) {
                    self.local_calls.push(LocalCall {
                        name: name.to_string(),
                        args_start: (self.offset)(call.paren_token.span.open()).end,
                        has_args: !call.args.is_empty(),
                        form,
                    });
                }
            }
        }
        if let syn::Expr::MethodCall(call) = &*awaited.base {
            let receiver = match &*call.receiver {
                syn::Expr::Field(field) if matches!(&*field.base, syn::Expr::Path(p) if p.path.is_ident("self")) => {
                    match &field.member {
                        syn::Member::Named(name) => Some(name.to_string()),
                        syn::Member::Unnamed(_) => None,
                    }
                }
                syn::Expr::Path(path) if path.qself.is_none() => {
                    path.path.get_ident().map(ToString::to_string)
                }
                _ => None,
            };
            let guard = GUARD_METHODS.iter().any(|m| call.method == m);
            if let (true, Some(receiver), true) = (guard, receiver, call.args.is_empty()) {
                self.calls.push(CxCall {
                    callee_start: (self.offset)(call.method.span()).start,
                    form: CxForm::GuardCall {
                        receiver,
                        args_start: (self.offset)(call.paren_token.span.open()).end,
                        after_await: (self.offset)(awaited.await_token.span).end,
                        fallible: self.fallible,
                    },
                    scope: self.scope,
                    chain: Vec::new(),
                    cx_arg: self.cx_arg,
                });
            }
            if call.turbofish.is_none() {
                self.local_calls.push(LocalCall {
                    name: call.method.to_string(),
                    args_start: (self.offset)(call.paren_token.span.open()).end,
                    has_args: !call.args.is_empty(),
                    form: CallForm::Method,
                });
            }
        }
        syn::visit::visit_expr_await(self, awaited);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let args: Vec<&syn::Expr> = call.args.iter().collect();
        if let (syn::Expr::Path(callee), [argument]) = (&*call.func, args.as_slice()) {
            // `spawn::<T>(..)` keeps a turbofish `cx.spawn` would not take.
            let last = callee
                .path
                .segments
                .last()
                .filter(|s| s.arguments.is_none())
                .map(|s| (s.ident.to_string(), s.ident.span()));
            if let (None, Some((name, last_span))) = (&callee.qself, last) {
                if matches!(name.as_str(), "spawn" | "spawn_blocking") {
                    let start = path_start(&callee.path, self.offset);
                    let blocking = name == "spawn_blocking";
                    let async_move =
                        matches!(argument, syn::Expr::Async(block) if block.capture.is_some());
                    if let (false, syn::Expr::Async(block)) = (blocking, argument) {
                        if async_move {
                            self.spawned.push((start, block.block.clone()));
                        }
                    }
                    self.calls.push(CxCall {
                        callee_start: start,
                        form: CxForm::Spawn {
                            callee: start..(self.offset)(last_span).end,
                            blocking,
                            args_start: (self.offset)(call.paren_token.span.open()).end,
                            argument: (self.offset)(syn::spanned::Spanned::span(*argument)),
                            async_move,
                            edits: Vec::new(),
                        },
                        scope: self.scope,
                        chain: Vec::new(),
                        cx_arg: self.cx_arg,
                    });
                }
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let Some(init) = local.init.as_ref().filter(|init| init.diverge.is_none()) {
            match (&local.pat, &*init.expr) {
                (syn::Pat::Ident(binding), syn::Expr::Call(call))
                    if binding.by_ref.is_none() && binding.subpat.is_none() =>
                {
                    if let syn::Expr::Path(callee) = &*call.func {
                        self.bindings.push((
                            binding.ident.to_string(),
                            path_start(&callee.path, self.offset),
                        ));
                    }
                }
                (syn::Pat::Wild(_), syn::Expr::Await(awaited)) => self.handle_await(awaited),
                _ => {}
            }
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        const MAPPED: [&str; 5] = ["unwrap", "expect", "ok", "is_ok", "is_err"];
        if let syn::Expr::Await(awaited) = &*call.receiver {
            if MAPPED.iter().any(|m| call.method == m) {
                self.handle_await(awaited);
            }
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        if let syn::Stmt::Expr(syn::Expr::Await(awaited), Some(_)) = stmt {
            self.handle_await(awaited);
        }
        if let (true, syn::Stmt::Expr(syn::Expr::Await(awaited), Some(semi))) =
            (self.statements || self.fallible, stmt)
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
                                question_mark: !self.statements,
                            },
                            scope: self.scope,
                            chain: Vec::new(),
                            cx_arg: self.cx_arg,
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
                cx_arg: self.cx_arg,
            });
        }
        self.calls.push(CxCall {
            callee_start: path_start(&mac.path, self.offset),
            form: CxForm::Select { branches },
            scope: self.scope,
            chain: Vec::new(),
            cx_arg: self.cx_arg,
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
