//! `blocking-in-async`: blocking calls that stall a worker thread.

use syn::visit::{self, Visit};

use super::common::{path_span, strip_parens, track_async_context, AsyncStack};
use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub const ID: &str = "blocking-in-async";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Warn,
    summary: "blocking calls inside async code: `std::thread::sleep`, `std::fs::*`, std blocking net/io, blocking `recv`, `reqwest::blocking`",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
Inside `async fn` bodies, `async` blocks and async closures (not in sync closures
nested in them, which is where `spawn_blocking` work belongs), finds calls to
`std::thread::sleep`, functions of `std::fs`, `std::net::TcpStream::connect*`,
`std::io::copy`/`read_to_string`/`stdin`, anything under `reqwest::blocking`, and
`.recv()` / `.recv_timeout(..)` calls whose result is used as a `Result` — the shape
of a blocking receive such as `std::sync::mpsc::Receiver::recv`: `rx.recv().unwrap()`,
`rx.recv()?`, `if let Ok(v) = rx.recv()` — and Tokio's `blocking_recv`,
`blocking_send`, `blocking_lock`, `blocking_read`, `blocking_write`.

### Why is this bad
An async task shares its worker thread with many others. A blocking call parks the
thread: every task scheduled on it stalls, timers fire late, and cancellation cannot
interrupt the call.

### Example
```rust
async fn load(cx: &Cx) -> String {
    std::thread::sleep(Duration::from_millis(10));
    std::fs::read_to_string("config.toml").unwrap()
}
```

### Use instead
```rust
async fn load(cx: &Cx) -> String {
    asupersync::time::sleep(cx, Duration::from_millis(10)).await;
    asupersync::fs::read_to_string(cx, "config.toml").await.unwrap()
}
```

### How to fix
Use the async equivalent (`asupersync::time`, `asupersync::fs`, `asupersync::net`,
`asupersync::channel`), or move the blocking work to the blocking pool with
`asupersync::task::spawn_blocking(&cx, || ..)`.

### Known limits
Blocking methods on std values (`file.read_to_end(..)`, `listener.accept()`) are not
recognised. `.recv()` is recognised by shape: only a receive whose result is
unwrapped, `?`-ed or matched against `Ok(..)`/`Err(..)` counts (an async receive
returns a future, or an `Option` once awaited), so `let v = rx.recv();` passed on
elsewhere is missed.
"#;

/// Exact blocking functions, with the advice for each family.
const BLOCKING_CALLS: &[(&str, &str)] = &[
    (
        "std::thread::sleep",
        "use `asupersync::time::sleep(&cx, d).await`",
    ),
    (
        "std::net::TcpStream::connect",
        "use `asupersync::net::TcpStream::connect(&cx, addr).await`",
    ),
    (
        "std::net::TcpStream::connect_timeout",
        "use `asupersync::net::TcpStream::connect(&cx, addr)` under `asupersync::time::timeout`",
    ),
    (
        "std::io::copy",
        "use `asupersync::io::copy` or `asupersync::task::spawn_blocking(&cx, ..)`",
    ),
    (
        "std::io::read_to_string",
        "use `asupersync::io` or `asupersync::task::spawn_blocking(&cx, ..)`",
    ),
    (
        "std::io::stdin",
        "read stdin in `asupersync::task::spawn_blocking(&cx, ..)`",
    ),
];

/// Module prefixes whose every function blocks (minus a few constructors).
const BLOCKING_MODULES: &[(&str, &str)] = &[
    (
        "std::fs::",
        "use `asupersync::fs` or `asupersync::task::spawn_blocking(&cx, ..)`",
    ),
    (
        "reqwest::blocking::",
        "use the async `reqwest` client inside the compat quarantine",
    ),
];

/// `std::fs` items that do not touch the file system.
const NON_BLOCKING_FS: &[&str] = &["std::fs::OpenOptions::new", "std::fs::FileTimes::new"];

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut visitor = BlockingInAsync {
        context,
        asyncness: AsyncStack::default(),
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

struct BlockingInAsync<'c, 'a> {
    context: &'c FileContext<'a>,
    asyncness: AsyncStack,
    out: Vec<Diagnostic>,
}

fn advice(canonical: &str) -> Option<&'static str> {
    if NON_BLOCKING_FS.contains(&canonical) {
        return None;
    }
    BLOCKING_CALLS
        .iter()
        .find(|(path, _)| *path == canonical)
        .or_else(|| {
            BLOCKING_MODULES
                .iter()
                .find(|(prefix, _)| canonical.starts_with(prefix))
        })
        .map(|(_, advice)| *advice)
}

/// Methods that only make sense on a `Result` (what a blocking `recv` returns; an
/// async `recv` returns a future).
const RESULT_METHODS: &[&str] = &[
    "unwrap",
    "expect",
    "ok",
    "err",
    "is_ok",
    "is_err",
    "unwrap_or",
    "unwrap_or_default",
    "unwrap_or_else",
    "map_err",
];

/// Methods that block by name (Tokio's `blocking_*` family panics in async code).
const BLOCKING_METHODS: &[&str] = &[
    "blocking_recv",
    "blocking_send",
    "blocking_lock",
    "blocking_read",
    "blocking_write",
];

/// A `.recv()` / `.recv_timeout(d)` call.
fn as_recv(expr: &syn::Expr) -> Option<&syn::ExprMethodCall> {
    match strip_parens(expr) {
        syn::Expr::MethodCall(m)
            if (m.method == "recv" && m.args.is_empty())
                || (m.method == "recv_timeout" && m.args.len() == 1) =>
        {
            Some(m)
        }
        _ => None,
    }
}

/// Whether a pattern is `Ok(..)` / `Err(..)`: the scrutinee is a `Result`.
fn is_result_pattern(pat: &syn::Pat) -> bool {
    match pat {
        syn::Pat::TupleStruct(t) => t.path.is_ident("Ok") || t.path.is_ident("Err"),
        _ => false,
    }
}

impl BlockingInAsync<'_, '_> {
    fn report_method(&mut self, call: &syn::ExprMethodCall, help: &str) {
        self.out.push(Diagnostic {
            location: self.context.location(call.method.span()),
            message: format!(
                "`.{}()` blocks the worker thread inside async code",
                call.method
            ),
            help: help.to_string(),
        });
    }

    /// A receive used as a `Result` (`rx.recv().unwrap()`, `rx.recv()?`,
    /// `if let Ok(v) = rx.recv()`) is a blocking receive.
    fn check_blocking_recv(&mut self, expr: &syn::Expr) {
        if let Some(recv) = as_recv(expr) {
            self.report_method(
                recv,
                "use an async channel (`asupersync::channel::mpsc`) and `rx.recv(&cx).await`",
            );
        }
    }
}

impl<'ast> Visit<'ast> for BlockingInAsync<'_, '_> {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if self.asyncness.in_async() {
            if let syn::Expr::Path(p) = strip_parens(&call.func) {
                if let Some(canonical) = self.context.resolve(&p.path) {
                    if let Some(advice) = advice(canonical) {
                        let (start, end) = path_span(&p.path);
                        self.out.push(Diagnostic {
                            location: self.context.location_between(start, end),
                            message: format!(
                                "`{canonical}` blocks the worker thread inside async code"
                            ),
                            help: advice.to_string(),
                        });
                    }
                }
            }
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if self.asyncness.in_async() {
            let method = call.method.to_string();
            if RESULT_METHODS.contains(&method.as_str()) {
                self.check_blocking_recv(&call.receiver);
            }
            if BLOCKING_METHODS.contains(&method.as_str()) {
                self.report_method(
                    call,
                    "await the async form instead (`recv(&cx).await`, `lock(&cx).await`, ..)",
                );
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_try(&mut self, expr: &'ast syn::ExprTry) {
        if self.asyncness.in_async() {
            self.check_blocking_recv(&expr.expr);
        }
        visit::visit_expr_try(self, expr);
    }

    fn visit_expr_let(&mut self, expr: &'ast syn::ExprLet) {
        if self.asyncness.in_async() && is_result_pattern(&expr.pat) {
            self.check_blocking_recv(&expr.expr);
        }
        visit::visit_expr_let(self, expr);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let (true, Some(init)) = (self.asyncness.in_async(), &local.init) {
            if is_result_pattern(&local.pat) {
                self.check_blocking_recv(&init.expr);
            }
        }
        visit::visit_local(self, local);
    }

    track_async_context!();
}
