//! `#[asupersync::lab_test(seeds = .., strategy = .., depth = ..)]`: an `async fn` test
//! run under the lab runtime once per seed.
//!
//! The expansion is a plain `#[test]` that hands the body (as an `Fn(Cx) -> Future`
//! closure, so it can run once per seed) to `asupersync::__private::run_lab_test`,
//! which owns the exploration, the `ASUPERSYNC_LAB_SEED` override and the failure
//! message. Keeping the logic there keeps the macro a thin, testable shell.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, Lit, Meta, Token, Type};

const ATTR: &str = "#[asupersync::lab_test]";

struct Options {
    seeds: Expr,
    strategy: String,
    depth: u32,
    steps: Option<u32>,
}

fn int<T: std::str::FromStr>(value: &Expr, name: &str) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    match value {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(i) => i.base10_parse::<T>(),
            other => Err(syn::Error::new(
                other.span(),
                format!("{name} takes an integer"),
            )),
        },
        other => Err(syn::Error::new(
            other.span(),
            format!("{name} takes an integer"),
        )),
    }
}

fn parse_options(args: TokenStream2) -> syn::Result<Options> {
    let mut options = Options {
        seeds: syn::parse_quote!(::asupersync::lab::Explorer::DEFAULT_SEEDS),
        strategy: "random".into(),
        depth: 3,
        steps: None,
    };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    for meta in metas {
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new(
                meta.span(),
                format!("{ATTR}: expected `name = value`"),
            ));
        };
        let name = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match name.as_str() {
            "seeds" => match &nv.value {
                Expr::Range(_) => options.seeds = nv.value.clone(),
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "seeds takes a range of seeds, such as `0..500`",
                    ))
                }
            },
            "strategy" => {
                let value = match &nv.value {
                    Expr::Lit(lit) => match &lit.lit {
                        Lit::Str(s) => s.value(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                if value != "random" && value != "pct" {
                    return Err(syn::Error::new(
                        nv.value.span(),
                        "strategy must be \"random\" or \"pct\"",
                    ));
                }
                options.strategy = value;
            }
            "depth" => {
                options.depth = int(&nv.value, "depth")?;
                if options.depth == 0 {
                    return Err(syn::Error::new(nv.value.span(), "depth must be at least 1"));
                }
            }
            "steps" => options.steps = Some(int(&nv.value, "steps")?),
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!(
                        "{ATTR}: unknown option `{name}` (expected `seeds`, `strategy`, `depth` or `steps`)"
                    ),
                ))
            }
        }
    }
    Ok(options)
}

fn is_cx_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if r.mutability.is_none()
        && matches!(&*r.elem, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Cx")))
}

pub(crate) fn expand(args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let options = parse_options(args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!(
                "{ATTR} needs an `async fn`: write `async fn {}(..)`",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("{ATTR} functions cannot be generic"),
        ));
    }
    let mut cx_pat = None;
    for input in &sig.inputs {
        match input {
            FnArg::Typed(arg) if is_cx_ref(&arg.ty) && cx_pat.is_none() => {
                cx_pat = Some((*arg.pat).clone());
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    format!("{ATTR} functions take at most one parameter, `cx: &Cx`"),
                ))
            }
        }
    }
    let binding = match &cx_pat {
        Some(pat) => quote! { let #pat: &::asupersync::Cx = &__asupersync_cx; },
        None => quote! { let _ = &__asupersync_cx; },
    };
    let body = function.block.clone();
    let output = function.sig.output.clone();
    let body_ty = match &output {
        syn::ReturnType::Default => quote! { () },
        syn::ReturnType::Type(_, ty) => quote! { #ty },
    };
    let depth = options.depth;
    let strategy = match (options.strategy.as_str(), options.steps) {
        ("pct", Some(steps)) => quote! {
            ::asupersync::lab::Strategy::Pct { depth: #depth, steps: #steps }
        },
        ("pct", None) => quote! { ::asupersync::lab::Strategy::pct(#depth) },
        _ => quote! { ::asupersync::lab::Strategy::Random },
    };
    let seeds = &options.seeds;
    let name = function.sig.ident.to_string();
    let span = Span::call_site();
    let attrs = &function.attrs;
    let vis = &function.vis;
    let ident = &function.sig.ident;
    function.sig.asyncness = None;
    let expanded = quote::quote_spanned! {span=>
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #ident() {
            ::asupersync::__private::run_lab_test(
                ::core::concat!("-p ", ::core::env!("CARGO_PKG_NAME"), " ", #name),
                #seeds,
                #strategy,
                |__asupersync_cx: ::asupersync::Cx| async move {
                    #binding
                    let __asupersync_value: #body_ty = async move #body.await;
                    ::asupersync::__private::LabTestOutput::check(__asupersync_value)
                },
            )
        }
    };
    Ok(expanded)
}
