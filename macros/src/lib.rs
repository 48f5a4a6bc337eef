//! Procedural macros for asupersync, re-exported by the `asupersync` crate:
//! `#[asupersync::main]`, `#[asupersync::test]`, `#[asupersync::lab_test]` (in
//! `lab_test.rs`), and the combinators `join!`, `race!` and `select!` (in
//! `combinators.rs`).
//!
//! Both turn an `async fn` into a plain function that builds a runtime and runs the
//! body in its root region with `block_on`. The body may take `cx: &Cx` (the root
//! region's capability context) as its only parameter; anything else is rejected at
//! compile time with an error that says what to write instead.

mod combinators;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, Lit, Meta, Pat, Token, Type};

mod lab_test;

/// Runs an `async fn` test under the lab runtime for a range of seeds. See
/// `asupersync::lab_test`.
#[proc_macro_attribute]
pub fn lab_test(args: TokenStream, item: TokenStream) -> TokenStream {
    lab_test::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Runs `async fn main` on an asupersync runtime. See `asupersync::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Main, args.into(), item.into())
        .unwrap_or_else(|error| {
            // A stand-in `main` keeps rustc from adding "`main` function not found"
            // to the one error that says what to fix.
            let mut tokens = error.into_compile_error();
            tokens.extend(quote! { fn main() {} });
            tokens
        })
        .into()
}

/// Runs an `async fn` test on a fresh runtime. See `asupersync::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Test, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Main,
    Test,
}

impl Entry {
    fn attr(self) -> &'static str {
        match self {
            Entry::Main => "#[asupersync::main]",
            Entry::Test => "#[asupersync::test]",
        }
    }
}

/// The options both attributes accept.
#[derive(Default)]
struct Options {
    worker_threads: Option<usize>,
}

fn parse_options(entry: Entry, args: TokenStream2) -> syn::Result<Options> {
    let mut options = Options::default();
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    for meta in metas {
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new(
                meta.span(),
                format!("{}: expected `name = value`", entry.attr()),
            ));
        };
        let name = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match name.as_str() {
            "worker_threads" => {
                let n = match &nv.value {
                    Expr::Lit(lit) => match &lit.lit {
                        Lit::Int(i) => i.base10_parse::<usize>()?,
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "worker_threads takes an integer",
                            ))
                        }
                    },
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            "worker_threads takes an integer",
                        ))
                    }
                };
                if n == 0 {
                    return Err(syn::Error::new(
                        nv.value.span(),
                        "worker_threads must be at least 1",
                    ));
                }
                options.worker_threads = Some(n);
            }
            "flavor" => {
                let flavor = match &nv.value {
                    Expr::Lit(lit) => match &lit.lit {
                        Lit::Str(s) => s.value(),
                        other => {
                            return Err(syn::Error::new(other.span(), "flavor takes a string"))
                        }
                    },
                    other => return Err(syn::Error::new(other.span(), "flavor takes a string")),
                };
                match flavor.as_str() {
                    "current_thread" => options.worker_threads = Some(1),
                    "multi_thread" => {
                        options.worker_threads.get_or_insert(2);
                    }
                    _ => {
                        return Err(syn::Error::new(
                            nv.value.span(),
                            "flavor must be \"current_thread\" or \"multi_thread\"",
                        ))
                    }
                }
            }
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!(
                        "{}: unknown option `{name}` (expected `flavor` or `worker_threads`)",
                        entry.attr()
                    ),
                ))
            }
        }
    }
    Ok(options)
}

fn is_cx_type(ty: &Type) -> bool {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Cx"))
}

fn expand(entry: Entry, args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let options = parse_options(entry, args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;

    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!(
                "{} needs an `async fn`: write `async fn {}(..)`",
                entry.attr(),
                sig.ident
            ),
        ));
    }
    if entry == Entry::Main && sig.ident != "main" {
        return Err(syn::Error::new(
            sig.ident.span(),
            "#[asupersync::main] goes on `async fn main`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("{} functions cannot be generic", entry.attr()),
        ));
    }

    // The only parameter allowed is the Cx, and it comes first.
    let mut cx_binding: Option<(Pat, Type)> = None;
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = input else {
            return Err(syn::Error::new(
                input.span(),
                format!("{} functions take no `self`", entry.attr()),
            ));
        };
        if is_cx_type(&arg.ty) {
            if index != 0 {
                return Err(syn::Error::new(
                    arg.span(),
                    "the `Cx` parameter must come first: write `cx: &Cx` as the first parameter",
                ));
            }
            if !matches!(&*arg.ty, Type::Reference(r) if r.mutability.is_none()) {
                return Err(syn::Error::new(
                    arg.ty.span(),
                    "take the context as `cx: &Cx`",
                ));
            }
            cx_binding = Some(((*arg.pat).clone(), (*arg.ty).clone()));
        } else {
            let hint = if sig
                .inputs
                .iter()
                .skip(index + 1)
                .any(|a| matches!(a, FnArg::Typed(t) if is_cx_type(&t.ty)))
            {
                "the `Cx` parameter must come first, and it is the only parameter allowed"
            } else {
                "the only parameter allowed is the context, `cx: &Cx`"
            };
            return Err(syn::Error::new(
                arg.span(),
                format!(
                    "{} functions take no other parameters: {hint}",
                    entry.attr()
                ),
            ));
        }
    }

    let body = function.block.clone();
    let output = sig.output.clone();
    let binding = match &cx_binding {
        Some((pat, ty)) => quote! { let #pat: #ty = &__asupersync_cx; },
        None => quote! { let _ = &__asupersync_cx; },
    };
    let workers = match options.worker_threads {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    // `main` shuts its runtime down on Ctrl-C (so `cx.shutdown_signal()` fires); tests
    // leave SIGINT alone.
    let build = match entry {
        Entry::Main => quote! { build_main_runtime },
        Entry::Test => quote! { build_runtime },
    };
    let span = Span::call_site();
    let run = quote_spanned! {span=>
        let __asupersync_rt = ::asupersync::__private::#build(#workers);
        let __asupersync_outcome = __asupersync_rt.block_on(|__asupersync_cx: ::asupersync::Cx| async move {
            #binding
            #body
        });
    };

    function.sig.asyncness = None;
    function.sig.inputs = Punctuated::new();
    let attrs = &function.attrs;
    let vis = &function.vis;
    let name = &function.sig.ident;
    let expanded = match entry {
        Entry::Main => {
            let ret = match output {
                syn::ReturnType::Default => quote! {},
                syn::ReturnType::Type(_, ty) => {
                    quote! { -> <#ty as ::asupersync::__private::MainOutput>::Output }
                }
            };
            quote! {
                #(#attrs)*
                #vis fn #name() #ret {
                    #run
                    ::asupersync::__private::MainOutput::into_main_output(
                        ::asupersync::__private::finish_main(__asupersync_outcome)
                    )
                }
            }
        }
        Entry::Test => quote! {
            #[::core::prelude::v1::test]
            #(#attrs)*
            #vis fn #name() #output {
                #run
                ::asupersync::__private::finish_test(__asupersync_outcome)
            }
        },
    };
    Ok(expanded)
}

/// Runs every branch to completion and returns the tuple of outputs. See
/// `asupersync::join!`.
#[proc_macro]
pub fn join(input: TokenStream) -> TokenStream {
    combinators::join(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The first branch to finish wins; the losers are cancelled and drained. See
/// `asupersync::race!`.
#[proc_macro]
pub fn race(input: TokenStream) -> TokenStream {
    combinators::race(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Tokio-style `select!` whose losers are cancelled and drained. See
/// `asupersync::select!`.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    combinators::select(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
