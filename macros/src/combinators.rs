//! `join!`, `race!` and `select!`: parsing, and expansions onto
//! `asupersync::__private` (the runtime side lives in `asupersync::combinator`).
//!
//! `race!` and `select!` run each branch in a branch region with a `Cx` of its own.
//! Inside a branch expression, the context identifier (`cx` unless another is named
//! before a `;`) is rebound to the branch's `Cx`, so `rx.recv(&cx)` or
//! `sleep(cx, d)` written in a branch waits under the branch's cancel scope and sees
//! `RaceLost` when another branch wins. Handlers (`=> expr`) run after the race, with
//! the caller's own `cx`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Pat, Token};

/// `join!(a, b, ...)`: every branch runs to completion; the tuple of outputs. A
/// panicking branch does not stop the others: its panic is resumed once all are done.
pub(crate) fn join(input: TokenStream) -> syn::Result<TokenStream> {
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(input)?;
    if exprs.is_empty() {
        return Ok(quote! { async {}.await });
    }
    let arms: Vec<Ident> = (0..exprs.len())
        .map(|i| format_ident!("__asx_join_{}", i))
        .collect();
    let values: Vec<Ident> = (0..exprs.len())
        .map(|i| format_ident!("__asx_value_{}", i))
        .collect();
    let exprs = exprs.iter();
    Ok(quote! {{
        #( let mut #arms = ::core::pin::pin!(::asupersync::__private::JoinArm::new(#exprs)); )*
        ::core::future::poll_fn(|__asx_task| {
            let mut __asx_all = true;
            #( __asx_all &= #arms.as_mut().poll_arm(__asx_task); )*
            if __asx_all {
                ::core::task::Poll::Ready(())
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await;
        #( let #values = #arms.as_mut().take(); )*
        ( #( match #values {
            ::core::result::Result::Ok(v) => v,
            ::core::result::Result::Err(panic) => panic.resume(),
        }, )* )
    }})
}

/// An optional leading `ident;` naming the context, then an optional `biased;`.
struct Header {
    cx: Ident,
    biased: bool,
}

fn parse_header(input: ParseStream<'_>) -> syn::Result<Header> {
    let mut cx = Ident::new("cx", Span::call_site());
    let mut biased = false;
    for _ in 0..2 {
        if input.peek(Ident) && input.peek2(Token![;]) {
            let ident: Ident = input.parse()?;
            input.parse::<Token![;]>()?;
            if ident == "biased" {
                biased = true;
            } else {
                cx = ident;
            }
        }
    }
    Ok(Header { cx, biased })
}

struct RaceInput {
    header: Header,
    branches: Vec<Expr>,
}

impl Parse for RaceInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let header = parse_header(input)?;
        let branches = Punctuated::<Expr, Token![,]>::parse_terminated(input)?
            .into_iter()
            .collect::<Vec<_>>();
        if branches.is_empty() {
            return Err(input.error("race! needs at least one branch"));
        }
        Ok(RaceInput { header, branches })
    }
}

/// Opens one branch region per enabled branch and builds its arm with the context
/// rebound. A disabled branch (`, if false`) gets no region and its future
/// expression is not evaluated: its arm is `None`, finished from the start.
fn build_arms(
    cx: &Ident,
    exprs: &[&Expr],
    accepts: &[TokenStream],
    enabled: &[TokenStream],
) -> (Vec<Ident>, TokenStream) {
    let arms: Vec<Ident> = (0..exprs.len())
        .map(|i| format_ident!("__asx_arm_{}", i))
        .collect();
    let mut tokens = TokenStream::new();
    for (i, ((expr, accept), enabled)) in exprs.iter().zip(accepts).zip(enabled).enumerate() {
        let scope = format_ident!("__asx_scope_{}", i);
        let branch_cx = format_ident!("__asx_cx_{}", i);
        let arm = &arms[i];
        tokens.extend(quote! {
            let (#scope, #branch_cx) = if #enabled {
                let (scope, cx) = ::asupersync::__private::branch(__asx_parent, "branch");
                (::core::option::Option::Some(scope), ::core::option::Option::Some(cx))
            } else {
                (::core::option::Option::None, ::core::option::Option::None)
            };
            #[allow(unused_variables)]
            let #cx: &::asupersync::Cx = match &#branch_cx {
                ::core::option::Option::Some(cx) => cx,
                ::core::option::Option::None => __asx_parent,
            };
            // `cx` is a `&Cx` here whatever it was outside, so a branch written for an
            // owned `Cx` (`recv(&cx)`) borrows a reference: fine, and not the user's
            // doing.
            #[allow(clippy::needless_borrow, clippy::needless_borrows_for_generic_args)]
            let mut #arm = ::core::pin::pin!(match #scope {
                ::core::option::Option::Some(scope) => ::core::option::Option::Some(
                    ::asupersync::__private::arm(scope, #expr, #accept),
                ),
                ::core::option::Option::None => ::core::option::Option::None,
            });
        });
    }
    (arms, tokens)
}

/// The race and drain phases, inlined over the arms (no trait objects, so the
/// expansion is `Send` whenever the branches are): poll until one arm wins or all
/// finish, cancel the others with `RaceLost`, poll them until every branch region has
/// closed. Evaluates to the winner's index.
fn driver(arms: &[Ident], biased: bool) -> TokenStream {
    let n = arms.len();
    let indices: Vec<usize> = (0..n).collect();
    quote! {{
        let __asx_start = ::asupersync::__private::race_start(#n, #biased);
        let mut __asx_winner: ::core::option::Option<usize> = ::core::option::Option::None;
        ::core::future::poll_fn(|__asx_task| {
            let mut __asx_pending = false;
            for __asx_offset in 0..#n {
                let __asx_index = ::asupersync::__private::arm_index(__asx_start, __asx_offset, #n);
                let __asx_step = match __asx_index {
                    #( #indices => ::asupersync::__private::step(#arms.as_mut(), __asx_task), )*
                    _ => ::core::unreachable!(),
                };
                match __asx_step {
                    ::asupersync::__private::Step::Won => {
                        __asx_winner = ::core::option::Option::Some(__asx_index);
                        return ::core::task::Poll::Ready(());
                    }
                    ::asupersync::__private::Step::Pending => __asx_pending = true,
                    ::asupersync::__private::Step::Finished => {}
                }
            }
            if __asx_pending {
                ::core::task::Poll::Pending
            } else {
                ::core::task::Poll::Ready(())
            }
        })
        .await;
        if let ::core::option::Option::Some(__asx_won) = __asx_winner {
            let __asx_reason = ::asupersync::__private::lost_reason(__asx_parent, __asx_won);
            #(
                if __asx_won != #indices && !::asupersync::__private::Arm::is_done(&*#arms) {
                    ::asupersync::__private::Arm::lose(&*#arms, __asx_reason.clone());
                }
            )*
        }
        // Drain: nothing returns before every branch region has closed.
        ::core::future::poll_fn(|__asx_task| {
            let mut __asx_pending = false;
            #(
                if ::asupersync::__private::draining(#arms.as_mut(), __asx_task) {
                    __asx_pending = true;
                }
            )*
            if __asx_pending {
                ::core::task::Poll::Pending
            } else {
                ::core::task::Poll::Ready(())
            }
        })
        .await;
        __asx_winner
    }}
}

/// `race!(cx; a, b, ...)`: the first branch to finish wins; the others are cancelled
/// with `RaceLost` and drained. The winner's `Outcome`.
pub(crate) fn race(input: TokenStream) -> syn::Result<TokenStream> {
    let RaceInput { header, branches } = syn::parse2(input)?;
    let cx = &header.cx;
    let biased = header.biased;
    let exprs: Vec<&Expr> = branches.iter().collect();
    let accepts: Vec<TokenStream> = exprs
        .iter()
        .map(|_| quote! { |_: &::asupersync::Outcome<_>| true })
        .collect();
    let enabled: Vec<TokenStream> = exprs.iter().map(|_| quote! { true }).collect();
    let (arms, setup) = build_arms(cx, &exprs, &accepts, &enabled);
    let driver = driver(&arms, biased);
    let indices = 0..arms.len();
    Ok(quote! {{
        let __asx_parent: &::asupersync::Cx = &#cx;
        #setup
        let __asx_winner = #driver;
        match __asx_winner {
            #( ::core::option::Option::Some(#indices) => ::asupersync::__private::take_outcome(#arms.as_mut()), )*
            _ => ::core::unreachable!("race!: every branch finishes, so one wins"),
        }
    }})
}

struct SelectBranch {
    pat: Pat,
    future: Expr,
    condition: Option<Expr>,
    handler: Expr,
}

struct SelectInput {
    header: Header,
    branches: Vec<SelectBranch>,
    otherwise: Option<Expr>,
}

fn parse_handler(input: ParseStream<'_>) -> syn::Result<Expr> {
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
        return Ok(handler);
    }
    if block_like {
        let _ = input.parse::<Option<Token![,]>>()?;
    } else {
        input.parse::<Token![,]>()?;
    }
    Ok(handler)
}

impl Parse for SelectInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let header = parse_header(input)?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                input.parse::<Token![else]>()?;
                input.parse::<Token![=>]>()?;
                otherwise = Some(parse_handler(input)?);
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let future = Expr::parse_without_eager_brace(input)?;
            let condition = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(Expr::parse_without_eager_brace(input)?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = parse_handler(input)?;
            branches.push(SelectBranch {
                pat,
                future,
                condition,
                handler,
            });
        }
        if branches.is_empty() {
            return Err(
                input.error("select! needs at least one `pattern = future => handler` branch")
            );
        }
        Ok(SelectInput {
            header,
            branches,
            otherwise,
        })
    }
}

/// The pattern for testing a branch's output by reference (before it is moved to the
/// handler): `mut` bindings would move out of the reference, so they become plain
/// bindings (the test never uses them).
fn without_mut_bindings(pat: Pat) -> Pat {
    match pat {
        Pat::Ident(mut p) => {
            p.mutability = None;
            p.by_ref = None;
            if let Some((at, sub)) = p.subpat.take() {
                p.subpat = Some((at, Box::new(without_mut_bindings(*sub))));
            }
            Pat::Ident(p)
        }
        Pat::Tuple(mut p) => {
            p.elems = p.elems.into_iter().map(without_mut_bindings).collect();
            Pat::Tuple(p)
        }
        Pat::TupleStruct(mut p) => {
            p.elems = p.elems.into_iter().map(without_mut_bindings).collect();
            Pat::TupleStruct(p)
        }
        Pat::Struct(mut p) => {
            for field in p.fields.iter_mut() {
                let inner = std::mem::replace(&mut *field.pat, Pat::Verbatim(TokenStream::new()));
                *field.pat = without_mut_bindings(inner);
            }
            Pat::Struct(p)
        }
        Pat::Slice(mut p) => {
            p.elems = p.elems.into_iter().map(without_mut_bindings).collect();
            Pat::Slice(p)
        }
        Pat::Or(mut p) => {
            p.cases = p.cases.into_iter().map(without_mut_bindings).collect();
            Pat::Or(p)
        }
        Pat::Paren(mut p) => {
            p.pat = Box::new(without_mut_bindings(*p.pat));
            Pat::Paren(p)
        }
        Pat::Reference(mut p) => {
            p.pat = Box::new(without_mut_bindings(*p.pat));
            Pat::Reference(p)
        }
        Pat::Type(mut p) => {
            p.pat = Box::new(without_mut_bindings(*p.pat));
            Pat::Type(p)
        }
        other => other,
    }
}

/// `select! { [cx;] [biased;] pat = fut [, if cond] => handler, ... [else => handler] }`:
/// the first branch whose output matches its pattern wins; the others are cancelled
/// and drained; then the winner's handler runs with the pattern's bindings.
pub(crate) fn select(input: TokenStream) -> syn::Result<TokenStream> {
    let SelectInput {
        header,
        branches,
        otherwise,
    } = syn::parse2(input)?;
    let cx = &header.cx;
    let biased = header.biased;
    let n = branches.len();
    let exprs: Vec<&Expr> = branches.iter().map(|b| &b.future).collect();
    let accepts: Vec<TokenStream> = branches
        .iter()
        .map(|b| {
            let pat = without_mut_bindings(b.pat.clone());
            quote! {
                |__asx_outcome: &::asupersync::Outcome<_>| match __asx_outcome {
                    ::asupersync::Outcome::Ok(__asx_value) => {
                        #[allow(unreachable_patterns, unused_variables)]
                        let __asx_matches = match __asx_value {
                            #pat => true,
                            _ => false,
                        };
                        __asx_matches
                    }
                    ::asupersync::Outcome::Panicked(_) => true,
                    _ => false,
                }
            }
        })
        .collect();
    let enabled_flags: Vec<TokenStream> = (0..n)
        .map(|i| {
            let name = format_ident!("__asx_enabled_{}", i);
            quote! { #name }
        })
        .collect();
    let (arms, setup) = build_arms(cx, &exprs, &accepts, &enabled_flags);
    let driver = driver(&arms, biased);
    let variants: Vec<Ident> = (0..n).map(|i| format_ident!("B{}", i)).collect();
    let generics: Vec<Ident> = (0..n).map(|i| format_ident!("T{}", i)).collect();
    // Conditions are evaluated with the caller's cx, before any rebinding.
    let conditions: Vec<TokenStream> = branches
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let name = format_ident!("__asx_enabled_{}", i);
            match &b.condition {
                Some(cond) => quote! { let #name: bool = #cond; },
                None => quote! { let #name: bool = true; },
            }
        })
        .collect();
    let indices = 0..n;
    let handlers = branches.iter().zip(&variants).map(|(b, variant)| {
        let pat = &b.pat;
        let handler = &b.handler;
        quote! {
            __AsxSelected::#variant(__asx_value) => {
                #[allow(unreachable_patterns)]
                let __asx_result = match __asx_value {
                    #pat => #handler,
                    _ => ::core::unreachable!("select!: the winning branch matched its pattern"),
                };
                __asx_result
            }
        }
    });
    let otherwise = match otherwise {
        Some(handler) => quote! { __AsxSelected::None => #handler, },
        None => quote! {
            __AsxSelected::None => ::core::panic!(
                "select!: every branch was disabled and there is no `else` branch"
            ),
        },
    };
    Ok(quote! {{
        #[allow(non_camel_case_types, dead_code)]
        enum __AsxSelected<#(#generics),*> {
            #( #variants(#generics), )*
            None,
        }
        #( #conditions )*
        let __asx_selected = {
            let __asx_parent: &::asupersync::Cx = &#cx;
            #setup
            let __asx_winner = #driver;
            match __asx_winner {
                #( ::core::option::Option::Some(#indices) => __AsxSelected::#variants(::asupersync::__private::take_value(#arms.as_mut())), )*
                _ => __AsxSelected::None,
            }
        };
        match __asx_selected {
            #( #handlers )*
            #otherwise
        }
    }})
}
