//! `#[timed(EXPR)]`: records the elapsed seconds of a fn into a Histogram or Summary on every
//! exit path. The signature is kept token for token; only the body is wrapped.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{AttrStyle, Attribute, ReturnType, Type};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(tokens) => tokens,
        // Keep the item so that its other errors and uses still make sense.
        Err(e) => {
            let e = e.to_compile_error();
            quote!(#e #item)
        }
    }
}

/// Whether a type mentions `impl Trait` (which cannot be written in a `let`).
fn has_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}

/// Whether the target is a static or a field of one, as far as its tokens tell: a path of
/// more than one segment (`crate::LATENCY`, which no local variable is) or one named in upper
/// case (`LATENCY`, as statics are), then fields (`METRICS.latency`). Naming it again later
/// reads the same place, runs no code and captures nothing; a target through `self`, a
/// parameter or a local keeps the reference taken at the start (a closure naming it again
/// would capture more than the reference, and could make the future lose `Send`).
fn is_static_place(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Path(p) => {
            p.qself.is_none()
                && (p.path.segments.len() > 1
                    || p.path.segments.first().is_some_and(|s| {
                        s.arguments.is_none() && !s.ident.to_string().chars().any(|c| c.is_lowercase())
                    }))
        }
        syn::Expr::Field(f) => is_static_place(&f.base),
        syn::Expr::Paren(p) => is_static_place(&p.expr),
        syn::Expr::Group(g) => is_static_place(&g.expr),
        _ => false,
    }
}

/// Whether the declared return type is a `Result` (by its last path segment).
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Group(g) => is_result(&g.elem),
        Type::Paren(p) => is_result(&p.elem),
        _ => false,
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if args.is_empty() {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[timed]` needs the metric to record into: `#[timed(METRICS.request_seconds)]`",
        ));
    }
    let target: syn::Expr = syn::parse2(args)?;
    let func: syn::ItemFn = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            if let Ok(f) = syn::parse2::<syn::TraitItemFn>(item) {
                if f.default.is_none() {
                    return Err(syn::Error::new_spanned(
                        &f.sig,
                        "`#[timed]` needs a fn body; put it on the impl's method instead of the trait's declaration",
                    ));
                }
            }
            return Err(syn::Error::new(e.span(), "`#[timed]` applies to a fn or method with a body"));
        }
    };
    let sig = &func.sig;
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new_spanned(
            c,
            "`#[timed]` cannot time a `const fn`: it may run at compile time, where there is no clock; remove `const` or time the callers",
        ));
    }
    // `ItemFn.attrs` holds both the outer attributes and the body's inner ones (`#![..]`, `//!`);
    // the inner ones must stay inner attributes of the fn's outermost block (as tracing does).
    let (outer_attrs, inner_attrs): (Vec<&Attribute>, Vec<&Attribute>) =
        func.attrs.iter().partition(|a| matches!(a.style, AttrStyle::Outer));
    let vis = &func.vis;
    let block = &func.block;
    let rt = quote!(::metrics_runtime);
    let target_span = target.span();
    let bind_target = quote_spanned! {target_span=>
        let __timed_target = &(#target);
    };
    let (ret_ty, result) = match &sig.output {
        ReturnType::Default => (None, false),
        ReturnType::Type(_, ty) => (Some(ty.as_ref()), is_result(ty)),
    };
    // An unreachable early return of the declared type pins the block's type, so that `?` and
    // `return` inside it behave exactly as in the fn body (the trick tracing uses).
    let fake_return = match ret_ty {
        Some(ty) if !has_impl_trait(ty) => quote! {
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return)]
            if false {
                let __timed_fake_return: #ty = loop {};
                return __timed_fake_return;
            }
        },
        _ => quote!(),
    };
    let outcome = if result {
        quote!(#rt::__private::ToOutcome::outcome(&__timed_result))
    } else {
        quote!(#rt::__private::Outcome::Ok)
    };
    // Timer statements carry the target's span, so that a target that cannot record a
    // duration is reported on the target, not on the attribute.
    let start_timed = quote_spanned! {target_span=>
        let __timed_timer = ::metrics_runtime::__private::Timer::start_timed(__timed_target);
    };
    let start_plain = quote_spanned! {target_span=>
        let __timed_timer = ::metrics_runtime::__private::Timer::start(__timed_target);
    };
    let finish = quote! {
        __timed_timer.record_finish(#outcome);
    };

    let body = if sig.asyncness.is_some() {
        // A static is named again where the timer records (`Deferred`): the future's state
        // then holds no reference to it, and the record after the `.await` reaches the static
        // at its own address instead of through one loaded from the state.
        let start = if is_static_place(&target) {
            quote_spanned! {target_span=>
                let __timed_timer = ::metrics_runtime::__private::Timer::start_timed(
                    ::metrics_runtime::__private::Deferred(|| &(#target)),
                );
            }
        } else {
            quote!(#bind_target #start_timed)
        };
        quote! {
            #start
            let __timed_result = async move { #fake_return #block }.await;
            #finish
            __timed_result
        }
    } else if result {
        quote! {
            #bind_target
            #start_timed
            #[allow(clippy::redundant_closure_call)]
            let __timed_result = (move || { #fake_return #block })();
            #finish
            __timed_result
        }
    } else {
        // No value to inspect: the guard records on every exit (return, `?`, panic).
        quote! {
            #bind_target
            #start_plain
            #block
        }
    };
    Ok(quote! {
        #(#outer_attrs)* #vis #sig {
            #(#inner_attrs)*
            #body
        }
    })
}
