//! Tier 6: what stays Tokio-bound runs in the compat quarantine.
//!
//! The boundary is a function: a free `async fn` (private, or `pub` in a package
//! nothing outside calls; never a method: a later run recognises only a free
//! function's wrap) whose body uses something
//! that stays on Tokio (a holdout crate such as hyper or reqwest, or a Tokio API this
//! version does not rewrite) keeps its body as it was, as an inner function of the same
//! name, and its own body becomes one call of that inner function through
//! `asupersync_tokio_compat::run(cx, ..)`:
//!
//! ```text
//! async fn hostname(cx: &asupersync::Cx) -> io::Result<String> {
//!     // asupersync: allow(tokio-outside-quarantine) -- runs on Tokio in the compat quarantine: ...
//!     async fn hostname() -> io::Result<String> {
//!         ..the original body..
//!     }
//!     match asupersync_tokio_compat::run(cx, hostname()).await { .. }
//! }
//! ```
//!
//! The function gets a `cx` and its callers pass one exactly as in tier 4 ([`super::cx`]),
//! so the same rules decide whether it can be changed at all (defined once, every
//! mention in the package an awaited call from a function with the cx). Because the
//! inner function runs on the Tokio host, what crosses the boundary must not need
//! Tokio afterwards, and the outer function must be able to say what it returns when the
//! run is cancelled. So a function is wrapped only when
//!
//! - every parameter is `name: Type` with an owned type (no reference, lifetime or
//!   `impl`), passed on by name: the run's future is `Send + 'static`;
//! - it has no generics;
//! - it returns `()`, or `io::Result<T>` (also written `std::io::Result<T>` or
//!   `Result<T, io::Error>`) with `T` made only of std types (integers, `bool`, `char`,
//!   `String`, `Vec`, `Option`, `PathBuf`, `SocketAddr`, `Duration`, tuples and arrays):
//!   a value of a Tokio-bound type (a `reqwest::Response`) would be used outside the
//!   quarantine through its methods, which no tool sees.
//!
//! The outcome is mapped back: `Ok(v)` is `v`; a panic on the Tokio side resumes here;
//! a cancellation is `()` or an `io::Error` of kind `Interrupted` (what native IO
//! returns when cancelled). The note above the inner function is a lint suppression
//! with the reason, the form `cargo asupersync lint` reads; a later run recognises an
//! inner function by it ([`wrapped_earlier`]) and reports its code as behind compat.

use std::ops::Range;

use asupersync_lints::resolve::{LineIndex, PRIMITIVE_TYPES};
use proc_macro2::{Delimiter, TokenTree};

use super::edit::{indent_of, Edit};
use super::source::{EntryBody, TestRuntime, TokioClock};

pub use asupersync_lints::resolve::QUARANTINED_TOKIO;

/// The note's reason starts with this; a function right below such a note was wrapped
/// by an earlier run, and what is in it is already behind compat.
pub const NOTE: &str = "runs on Tokio in the compat quarantine";

/// Whether `function` is the inner function of an earlier wrap: the line above its
/// signature is the note.
pub fn wrapped_earlier(function: &syn::ItemFn, source: &str, start: usize) -> bool {
    function.attrs.is_empty() && {
        let line_start = source[..start].rfind('\n').unwrap_or(0);
        let previous = source[..line_start].rsplit('\n').next().unwrap_or("");
        previous.trim_start().starts_with("// asupersync:") && previous.contains(NOTE)
    }
}

/// The syntactic facts a wrap needs, from the function as written.
#[derive(Debug, Clone)]
pub struct Wrap {
    /// The signature as written (from `async` to before `{`): the inner function's.
    pub signature: Range<usize>,
    /// Just after the body's `{`.
    pub body_open: usize,
    /// The body's `}`.
    pub body_close: usize,
    /// The parameter names, passed on to the inner function.
    pub arguments: Vec<String>,
    /// Whether it returns an `io::Result` (else `()`).
    pub returns_io: bool,
}

/// The wrap facts of `function`, when it can be wrapped (see the module docs).
pub fn wrap_of(
    function: &syn::ItemFn,
    offset: &dyn Fn(proc_macro2::Span) -> Range<usize>,
) -> Option<Wrap> {
    let sig = &function.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return None;
    }
    let mut arguments = Vec::new();
    for input in &sig.inputs {
        let syn::FnArg::Typed(typed) = input else {
            return None;
        };
        let syn::Pat::Ident(name) = &*typed.pat else {
            return None;
        };
        if name.by_ref.is_some() || name.subpat.is_some() || !owned_type(&typed.ty) {
            return None;
        }
        arguments.push(name.ident.to_string());
    }
    let returns_io = match &sig.output {
        syn::ReturnType::Default => false,
        syn::ReturnType::Type(_, ty) => {
            if !io_result_of_std(ty) {
                return None;
            }
            true
        }
    };
    let start = match &function.vis {
        syn::Visibility::Inherited => {
            offset(
                sig.constness
                    .map(|t| t.span)
                    .or(sig.asyncness.map(|t| t.span))
                    .unwrap_or(sig.fn_token.span),
            )
            .start
        }
        _ => return None,
    };
    let end = offset(function.block.brace_token.span.open()).start;
    Some(Wrap {
        signature: start..end,
        body_open: offset(function.block.brace_token.span.open()).end,
        body_close: offset(function.block.brace_token.span.close()).start,
        arguments,
        returns_io,
    })
}

/// The edits that wrap the function (its `cx` parameter comes with its chain).
pub fn wrap_edits(wrap: &Wrap, name: &str, why: &str, source: &str) -> Vec<Edit> {
    let indent = indent_of(source, wrap.body_close);
    let signature = source[wrap.signature.clone()].trim_end();
    let run = format!(
        "asupersync_tokio_compat::run(cx, {name}({})).await",
        wrap.arguments.join(", ")
    );
    let cancelled = if wrap.returns_io {
        "Cancelled(reason) => Err(std::io::Error::new(std::io::ErrorKind::Interrupted, reason.to_string()))"
    } else {
        "Cancelled(_) => {}"
    };
    let inner = format!("{indent}    ");
    let mapped = format!(
        "match {run} {{\n\
         {inner}    asupersync::Outcome::Ok(value) => value,\n\
         {inner}    asupersync::Outcome::Err(never) => match never {{}},\n\
         {inner}    asupersync::Outcome::{cancelled},\n\
         {inner}    asupersync::Outcome::Panicked(panic) => panic.resume(),\n\
         {inner}}}"
    );
    inner_function(
        wrap.body_open..wrap.body_close,
        &format!("{signature} {{"),
        why,
        &mapped,
        source,
    )
    .to_vec()
}

/// The two edits that turn a body into an inner function (headed by the note, which
/// a later run recognises) followed by `tail`, the outer function's new body.
fn inner_function(
    body: Range<usize>,
    head: &str,
    why: &str,
    tail: &str,
    source: &str,
) -> [Edit; 2] {
    let indent = indent_of(source, body.end);
    let inner = format!("{indent}    ");
    [
        Edit::new(
            body.start..body.start,
            format!(
                "\n{inner}// asupersync: allow(tokio-outside-quarantine) -- {NOTE}: {why}\n{inner}{head}"
            ),
        ),
        Edit::new(body.end..body.end, format!("    }}\n{inner}{tail}\n{indent}")),
    ]
}

/// The edits that move an entry point's body into the quarantine (a package
/// quarantine, see [`super::plan`]): the entry point gets the cx, and its body becomes
/// an inner function of the same name, run on a Tokio host: `main` on the shared one
/// (`asupersync_tokio_compat::run`), a test on a host of its own shaped like the runtime
/// `#[tokio::test]` gave it (current-thread, `worker_threads(n)`, or with Tokio's clock
/// paused), so what the test spawns ends with it. The inner function gets an owned clone of the cx
/// when its body uses one (`run` needs a `'static` future), rebound as `cx: &Cx` so
/// the native rewrites in the body read as they would outside. The outcome is
/// unwrapped: an entry point has no caller to report to, a panic on the Tokio side
/// resumes (so a failing test fails with its own message), and a cancel panics with
/// its reason.
pub fn entry_wrap_edits(body: &EntryBody, uses_cx: bool, why: &str, source: &str) -> Vec<Edit> {
    let indent = indent_of(source, body.body_close);
    let inner = format!("{indent}    ");
    let (param, rebind, argument) = if uses_cx {
        (
            "cx: asupersync::Cx",
            format!("\n{inner}    let cx = &cx;"),
            "cx.clone()",
        )
    } else {
        ("", String::new(), "")
    };
    let mut signature = format!(
        "{}{param}{}",
        &source[body.signature.start..body.param_at],
        source[body.param_at..body.signature.end].trim_end()
    );
    // What `run` returns must be `Send`: a boxed error crosses as `Send + Sync` and
    // is coerced back to the entry point's own type.
    let mut coerce = String::new();
    for boxed in ["dyn std::error::Error>", "dyn Error>"] {
        if signature.contains(boxed) {
            let sendable = boxed.replace('>', " + Send + Sync>");
            signature = signature.replace(boxed, &sendable);
            coerce = format!("\n{inner}    .map_err(|error| error as _)");
        }
    }
    // A test gets a host of its own, like the runtime `#[tokio::test]` gave it (so what
    // it spawns ends with it), with Tokio's clock paused if it was; `main` runs on the
    // shared host.
    let kind = match (body.clock, &body.test_runtime) {
        (Some(TokioClock::Paused), _) => Some(".start_paused(true)".to_string()),
        (Some(TokioClock::Controlled), _) | (None, Some(TestRuntime::CurrentThread)) => {
            Some(".current_thread()".to_string())
        }
        // Tokio's multi-thread default: one worker per core.
        (None, Some(TestRuntime::MultiThread(workers))) => Some(format!(
            ".worker_threads({})",
            workers
                .as_deref()
                .unwrap_or("std::thread::available_parallelism().map_or(1, usize::from)")
        )),
        (None, None) => None,
    };
    let host = match kind {
        None => "asupersync_tokio_compat::".to_string(),
        Some(kind) => format!(
            "asupersync_tokio_compat::TokioHost::builder()\n{inner}    {kind}\n{inner}    .build()\n{inner}    .expect(\"a Tokio host for this test\")\n{inner}    ."
        ),
    };
    let tail = format!(
        "{host}run(cx, {}({argument}))\n{inner}    .await\n{inner}    .unwrap(){coerce}",
        body.name
    );
    let [open, close] = inner_function(
        body.body_open..body.body_close,
        &format!("{signature} {{{rebind}"),
        why,
        &tail,
        source,
    );
    vec![
        Edit::new(body.param_at..body.param_at, "cx: &asupersync::Cx"),
        open,
        close,
    ]
}

/// The edits that make every `tokio::` path of a file name the quarantine's Tokio
/// ([`QUARANTINED_TOKIO`]), macro bodies included (a `tokio::select!` and the paths
/// inside it): the package no longer depends on Tokio but through the compat crate. A
/// path whose `tokio` follows another segment (`crate::tokio::..`) is a local module,
/// and stays. Tokio's own attributes, `#[tokio::main]` and `#[tokio::test]` left on a
/// function, also get `crate = ".."`, so what they expand to finds Tokio there too.
///
/// One group per path: its root, then the attribute's `crate` option if it has one
/// (made only with the root).
pub fn quarantine_path_edits(source: &str, lines: &LineIndex) -> Vec<Vec<Edit>> {
    let Ok(tokens) = source.parse::<proc_macro2::TokenStream>() else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    collect_tokio_roots(tokens, false, source, lines, &mut edits);
    edits
}

/// Keywords a path from the crate root (`::tokio::..`) may follow.
const KEYWORDS_BEFORE_A_PATH: [&str; 12] = [
    "use", "return", "in", "as", "dyn", "impl", "for", "where", "mut", "const", "static", "break",
];

fn collect_tokio_roots(
    tokens: proc_macro2::TokenStream,
    in_attribute: bool,
    source: &str,
    lines: &LineIndex,
    out: &mut Vec<Vec<Edit>>,
) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_colon =
        |i: usize| matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':');
    let ident_is = |i: usize, names: &[&str]| matches!(tokens.get(i), Some(TokenTree::Ident(id)) if names.iter().any(|n| id == n));
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => {
                let attribute = group.delimiter() == Delimiter::Bracket
                    && matches!(i.checked_sub(1).and_then(|j| tokens.get(j)), Some(TokenTree::Punct(p)) if p.as_char() == '#');
                collect_tokio_roots(group.stream(), attribute, source, lines, out);
            }
            TokenTree::Ident(ident) if ident == "tokio" && is_colon(i + 1) && is_colon(i + 2) => {
                // `a::tokio::..` (a local module), `.tokio::<..>` or `tokio` inside a
                // longer path: not the crate.
                let segment_before = i >= 3
                    && is_colon(i - 1)
                    && is_colon(i - 2)
                    && match &tokens[i - 3] {
                        TokenTree::Ident(id) => !KEYWORDS_BEFORE_A_PATH.iter().any(|k| id == k),
                        TokenTree::Punct(p) => p.as_char() == '>',
                        TokenTree::Group(_) | TokenTree::Literal(_) => false,
                    };
                let after_dot = matches!(i.checked_sub(1).and_then(|j| tokens.get(j)), Some(TokenTree::Punct(p)) if p.as_char() == '.');
                if segment_before || after_dot {
                    continue;
                }
                let at = lines.span_location(source, ident.span());
                let mut group = vec![Edit::new(at.byte_start..at.byte_end, QUARANTINED_TOKIO)];
                if in_attribute && i == 0 && ident_is(3, &["main", "test"]) {
                    let option = format!("crate = \"{QUARANTINED_TOKIO}\"");
                    match tokens.get(4) {
                        Some(TokenTree::Group(args))
                            if args.delimiter() == Delimiter::Parenthesis =>
                        {
                            if !args.stream().to_string().contains("crate") {
                                let open = lines.span_location(source, args.span_open()).byte_end;
                                let comma = if args.stream().is_empty() { "" } else { ", " };
                                group.push(Edit::new(open..open, format!("{option}{comma}")));
                            }
                        }
                        _ => {
                            let end = lines.span_location(source, tokens[3].span()).byte_end;
                            group.push(Edit::new(end..end, format!("({option})")));
                        }
                    }
                }
                out.push(group);
            }
            _ => {}
        }
    }
}

/// A `use` tree printed anew ([`super::source`]'s grouped imports) with a Tokio root
/// made the quarantine's.
pub fn quarantine_root(tree: &str) -> String {
    if tree == "tokio" || tree.starts_with("tokio::") {
        format!("asupersync_tokio_compat::{tree}")
    } else {
        tree.to_string()
    }
}

/// A type with no reference, lifetime, `impl` or `dyn` in it.
fn owned_type(ty: &syn::Type) -> bool {
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    !(text.contains('&') || text.contains('\'') || text.contains("impl ") || text.contains("dyn "))
}

/// `io::Result<T>`, `std::io::Result<T>`, `Result<T, io::Error>` or
/// `Result<T, std::io::Error>` with `T` made of std types only.
fn io_result_of_std(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    if path.qself.is_some() {
        return false;
    }
    let names: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    let types: Vec<&syn::Type> = args
        .args
        .iter()
        .filter_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect();
    let path_is = |ty: &syn::Type, wanted: &[&[&str]]| {
        let syn::Type::Path(p) = ty else { return false };
        let names: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        wanted.iter().any(|w| names == *w)
    };
    let joined: Vec<&str> = names.iter().map(String::as_str).collect();
    match (joined.as_slice(), types.as_slice()) {
        (["io", "Result"] | ["std", "io", "Result"], [value]) => std_type(value),
        (["Result"], [value, error]) => {
            std_type(value) && path_is(error, &[&["io", "Error"], &["std", "io", "Error"]])
        }
        _ => false,
    }
}

/// A type made only of std types (see the module docs).
fn std_type(ty: &syn::Type) -> bool {
    /// std types a wrapped signature may use, besides the primitives.
    const STD: [&str; 12] = [
        "String",
        "Vec",
        "Option",
        "PathBuf",
        "SocketAddr",
        "IpAddr",
        "Duration",
        "std",
        "path",
        "net",
        "time",
        "vec",
    ];
    match ty {
        syn::Type::Tuple(tuple) => tuple.elems.iter().all(std_type),
        syn::Type::Array(array) => std_type(&array.elem),
        syn::Type::Paren(inner) => std_type(&inner.elem),
        syn::Type::Path(path) if path.qself.is_none() => path.path.segments.iter().all(|s| {
            let name = s.ident.to_string();
            (STD.contains(&name.as_str()) || PRIMITIVE_TYPES.contains(&name.as_str()))
                && match &s.arguments {
                    syn::PathArguments::None => true,
                    syn::PathArguments::AngleBracketed(args) => args
                        .args
                        .iter()
                        .all(|arg| matches!(arg, syn::GenericArgument::Type(ty) if std_type(ty))),
                    syn::PathArguments::Parenthesized(_) => false,
                }
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(source: &str) -> Option<Wrap> {
        let function: syn::ItemFn = syn::parse_str(source).unwrap();
        let lines = asupersync_lints::resolve::LineIndex::new(source);
        wrap_of(&function, &|span| {
            let location = lines.span_location(source, span);
            location.byte_start..location.byte_end
        })
    }

    #[test]
    fn only_owned_parameters_and_std_results_cross_the_boundary() {
        for source in [
            "async fn f() {}",
            "async fn f(a: u8, mut b: String) -> io::Result<(u16, String)> { Ok((a.into(), b)) }",
            "async fn f(p: PathBuf) -> std::io::Result<Vec<Option<u8>>> { todo!() }",
            "async fn f() -> Result<std::time::Duration, io::Error> { todo!() }",
        ] {
            assert!(wrap(source).is_some(), "{source}");
        }
        for source in [
            "async fn f(a: &str) {}",
            "async fn f<T>(a: T) {}",
            "async fn f(a: impl Send) {}",
            "async fn f((a, b): (u8, u8)) {}",
            "async fn f() -> u8 { 1 }",
            "async fn f() -> io::Result<reqwest::Response> { todo!() }",
            "async fn f() -> Result<u8, MyError> { todo!() }",
            "pub async fn f() {}",
        ] {
            assert!(wrap(source).is_none(), "{source}");
        }
    }

    fn quarantined(source: &str) -> String {
        let lines = LineIndex::new(source);
        let mut set = super::super::edit::EditSet::default();
        for edit in quarantine_path_edits(source, &lines).into_iter().flatten() {
            set.add(edit, source).unwrap();
        }
        set.apply(source)
    }

    #[test]
    fn every_tokio_root_names_the_quarantine_and_local_modules_stay() {
        let source = "use tokio::sync::mpsc;\nuse ::tokio::time;\n\
                      fn f() -> tokio::task::JoinHandle<()> { crate::tokio::x(); a.tokio(); \
                      tokio::select! { _ = tokio::time::sleep(D) => {} }; tokio::spawn(g()) }\n";
        assert_eq!(
            quarantined(source),
            "use asupersync_tokio_compat::tokio::sync::mpsc;\nuse ::asupersync_tokio_compat::tokio::time;\n\
             fn f() -> asupersync_tokio_compat::tokio::task::JoinHandle<()> { crate::tokio::x(); a.tokio(); \
             asupersync_tokio_compat::tokio::select! { _ = asupersync_tokio_compat::tokio::time::sleep(D) => {} }; \
             asupersync_tokio_compat::tokio::spawn(g()) }\n"
        );
    }

    #[test]
    fn tokio_attributes_left_on_a_function_find_tokio_through_compat() {
        assert_eq!(
            quarantined("#[tokio::test(start_paused = true)]\nasync fn t() {}\n#[tokio::main]\nasync fn main() {}\n"),
            "#[asupersync_tokio_compat::tokio::test(crate = \"asupersync_tokio_compat::tokio\", start_paused = true)]\n\
             async fn t() {}\n\
             #[asupersync_tokio_compat::tokio::main(crate = \"asupersync_tokio_compat::tokio\")]\nasync fn main() {}\n"
        );
    }

    #[test]
    fn an_entry_point_body_runs_in_compat_and_a_boxed_error_crosses_as_send() {
        let source =
            "async fn t() -> Result<(), Box<dyn Error>> {\n    go().await?;\n    Ok(())\n}\n";
        let function: syn::ItemFn = syn::parse_str(source).unwrap();
        let lines = LineIndex::new(source);
        let at = |span: proc_macro2::Span| lines.span_location(source, span);
        let body = EntryBody {
            name: "t".to_string(),
            signature: at(function.sig.asyncness.unwrap().span).byte_start
                ..at(function.block.brace_token.span.open()).byte_start,
            param_at: at(function.sig.paren_token.span.open()).byte_end,
            clock: None,
            test_runtime: None,
            attr_args: None,
            body_open: at(function.block.brace_token.span.open()).byte_end,
            body_close: at(function.block.brace_token.span.close()).byte_start,
        };
        let mut set = super::super::edit::EditSet::default();
        for edit in entry_wrap_edits(&body, true, "why", source) {
            set.add(edit, source).unwrap();
        }
        assert_eq!(
            set.apply(source),
            "async fn t(cx: &asupersync::Cx) -> Result<(), Box<dyn Error>> {\n    \
             // asupersync: allow(tokio-outside-quarantine) -- runs on Tokio in the compat quarantine: why\n    \
             async fn t(cx: asupersync::Cx) -> Result<(), Box<dyn Error + Send + Sync>> {\n        \
             let cx = &cx;\n    go().await?;\n    Ok(())\n    }\n    \
             asupersync_tokio_compat::run(cx, t(cx.clone()))\n        .await\n        .unwrap()\n        \
             .map_err(|error| error as _)\n}\n"
        );
    }
}
