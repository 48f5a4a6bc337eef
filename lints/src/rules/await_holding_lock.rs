//! `await-holding-lock`: a blocking lock guard alive across an `.await`.

use syn::visit::{self, Visit};

use super::common::{pat_ident, strip_parens, track_async_context, AsyncStack, AwaitFinder};
use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub const ID: &str = "await-holding-lock";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Deny,
    summary: "a `std::sync`/`parking_lot` lock guard alive across an `.await`",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
In async code, finds a guard of a blocking lock bound with `let` (from `.lock()`,
`.read()`, `.write()`, `.try_lock()` called without arguments and not awaited,
optionally followed by `.unwrap()`, `.expect(..)` or `?`) that is still alive when a
later statement of the same block awaits. A guard passed by value to a call
(`drop(guard)`, `consume(guard)`) or shadowed by a new `let` is released; one moved
into the awaited expression itself (`save(guard).await`) is still held.

### Why is this bad
A `std::sync::Mutex` or `parking_lot` guard held across a suspension point blocks
every other task that needs the lock on a worker thread, can deadlock the
scheduler, and makes the future `!Send`. If the task is cancelled while suspended,
the critical section is abandoned half-way.

### Example
```rust
async fn bump(cx: &Cx, state: &std::sync::Mutex<State>) {
    let mut guard = state.lock().unwrap();
    guard.count += 1;
    save(cx, &guard).await;
}
```

### Use instead
```rust
async fn bump(cx: &Cx, state: &std::sync::Mutex<State>) {
    let snapshot = {
        let mut guard = state.lock().unwrap();
        guard.count += 1;
        guard.clone()
    };
    save(cx, &snapshot).await;
}
```

### How to fix
End the guard's scope (or `drop(guard)`) before awaiting, or use
`asupersync::sync::Mutex`, whose `lock(&cx).await` is cancel-aware and may be held
across awaits.

### Known limits
The lock is recognised by its method shape, not its type: a zero-argument `.lock()`
that is not awaited is taken to be blocking (async locks are awaited, directly or
later through the variable: `let fut = m.lock(); fut.await` is not a guard). Guards kept in
temporaries (`match m.lock().unwrap().get() { .. }`), struct fields, or moved
elsewhere are not tracked.
"#;

/// Methods that return a blocking lock guard when called without arguments.
const LOCK_METHODS: &[&str] = &["lock", "read", "write", "try_lock", "try_read", "try_write"];
/// Methods that unwrap a guard from its `Result`.
const UNWRAP_METHODS: &[&str] = &["unwrap", "expect", "unwrap_or_else"];

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    let names = |prefixes: &[&str]| {
        context
            .resolution
            .uses
            .iter()
            .any(|u| prefixes.iter().any(|p| u.path.starts_with(p)))
    };
    // `try_lock()`/`try_read()`/`try_write()` take no argument on asupersync's async
    // locks too, whose guards may be held across an await; in a file that names only
    // those, the `try_` forms are not blocking locks.
    let try_forms_block = names(BLOCKING_LOCK_PATHS) || !names(&["asupersync::sync::"]);
    let mut visitor = AwaitHoldingLock {
        context,
        try_forms_block,
        asyncness: AsyncStack::default(),
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

/// Paths of lock types whose guards block a thread.
const BLOCKING_LOCK_PATHS: &[&str] = &["std::sync::Mutex", "std::sync::RwLock", "parking_lot::"];

struct AwaitHoldingLock<'c, 'a> {
    context: &'c FileContext<'a>,
    try_forms_block: bool,
    asyncness: AsyncStack,
    out: Vec<Diagnostic>,
}

/// Whether an expression evaluates to a blocking lock guard (or its `Result`).
///
/// At most one unwrapping step (`.unwrap()`, `.expect(..)`, `?`) may follow the lock
/// call: it takes the guard out of the `Result`. A second one applies to the guarded
/// value itself (`m.lock().unwrap().expect(..)` copies an `Option` out), and the
/// guard is a temporary dropped at the end of the statement.
fn is_guard_expr(expr: &syn::Expr, try_forms_block: bool) -> bool {
    fn walk(expr: &syn::Expr, unwraps: usize, try_forms_block: bool) -> bool {
        match strip_parens(expr) {
            syn::Expr::Try(t) => unwraps < 1 && walk(&t.expr, unwraps + 1, try_forms_block),
            syn::Expr::MethodCall(m) => {
                let method = m.method.to_string();
                if UNWRAP_METHODS.contains(&method.as_str()) {
                    unwraps < 1 && walk(&m.receiver, unwraps + 1, try_forms_block)
                } else {
                    LOCK_METHODS.contains(&method.as_str())
                        && (try_forms_block || !method.starts_with("try_"))
                        && m.args.is_empty()
                        && AwaitFinder::first_in_expr(&m.receiver, false).is_none()
                }
            }
            _ => false,
        }
    }
    walk(expr, 0, try_forms_block)
}

/// Whether a statement ends the guard `name`: it is moved into a call
/// (`drop(name)`, `consume(name)`) or shadowed by a new `let name`.
fn releases(stmt: &syn::Stmt, name: &str) -> bool {
    if let syn::Stmt::Local(local) = stmt {
        if pat_ident(&local.pat).is_some_and(|i| i == name) {
            return true;
        }
    }
    let mut moved = MovedIntoCall { name, found: false };
    moved.visit_stmt(stmt);
    moved.found
}

/// Whether a statement awaits the variable `name` itself (`name.await`).
fn awaits_ident(stmt: &syn::Stmt, name: &str) -> bool {
    struct AwaitsIdent<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for AwaitsIdent<'_> {
        fn visit_expr_await(&mut self, expr: &'ast syn::ExprAwait) {
            if matches!(strip_parens(&expr.base), syn::Expr::Path(p) if p.path.is_ident(self.name))
            {
                self.found = true;
            }
            visit::visit_expr_await(self, expr);
        }
    }
    let mut finder = AwaitsIdent { name, found: false };
    finder.visit_stmt(stmt);
    finder.found
}

/// Finds `name` passed by value to a call or method call.
struct MovedIntoCall<'n> {
    name: &'n str,
    found: bool,
}

impl MovedIntoCall<'_> {
    fn check_args<'a>(&mut self, args: impl IntoIterator<Item = &'a syn::Expr>) {
        let by_value = |arg: &syn::Expr| matches!(strip_parens(arg), syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.name));
        if args.into_iter().any(by_value) {
            self.found = true;
        }
    }
}

impl<'ast> Visit<'ast> for MovedIntoCall<'_> {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        self.check_args(&call.args);
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.check_args(&call.args);
        visit::visit_expr_method_call(self, call);
    }
}

impl AwaitHoldingLock<'_, '_> {
    fn check_block(&mut self, block: &syn::Block) {
        for (index, stmt) in block.stmts.iter().enumerate() {
            let syn::Stmt::Local(local) = stmt else {
                continue;
            };
            let (Some(name), Some(init)) = (pat_ident(&local.pat), &local.init) else {
                continue;
            };
            if init.diverge.is_some() || !is_guard_expr(&init.expr, self.try_forms_block) {
                continue;
            }
            let name = name.to_string();
            let rest = &block.stmts[index + 1..];
            if rest.iter().any(|stmt| awaits_ident(stmt, &name)) {
                // `let fut = m.lock(); .. fut.await`: an async lock's future.
                continue;
            }
            for later in rest {
                // An await in the statement that releases the guard still holds
                // it (`save(guard).await` moves it into the awaited future).
                let awaits = AwaitFinder::first_in_stmt(later);
                if awaits.is_none() && releases(later, &name) {
                    break;
                }
                if let Some(await_span) = awaits {
                    let await_line = await_span.start().line;
                    self.out.push(Diagnostic {
                        location: self.context.location(pat_ident(&local.pat).map(|i| i.span()).unwrap_or(await_span)),
                        message: format!(
                            "the lock guard `{name}` is held across the `.await` on line {await_line}"
                        ),
                        help: format!(
                            "drop `{name}` before awaiting (end its block or call `drop({name})`), or use `asupersync::sync::Mutex`, whose `lock(&cx).await` is cancel-aware"
                        ),
                    });
                    break;
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for AwaitHoldingLock<'_, '_> {
    fn visit_block(&mut self, block: &'ast syn::Block) {
        if self.asyncness.in_async() {
            self.check_block(block);
        }
        visit::visit_block(self, block);
    }

    track_async_context!();
}
