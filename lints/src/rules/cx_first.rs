//! `cx-first`: the capability context comes first.

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::Rule;
use crate::engine::FileContext;
use crate::finding::{Diagnostic, Level};

pub const ID: &str = "cx-first";

pub const RULE: Rule = Rule {
    id: ID,
    default_level: Level::Deny,
    summary: "a function or method with a `Cx` parameter anywhere but first (after `self`)",
    docs: DOCS,
    check,
};

pub const DOCS: &str = r#"### What it does
Checks that a function or method taking the capability context (`&Cx`, `Cx` or
`&mut Cx`) takes it as its first parameter, right after `self` for methods.

### Why is this bad
Every effectful asupersync API takes `&Cx` first, and `cargo asupersync migrate`
relies on that shape (`sleep(d)` becomes `sleep(&cx, d)`). A context in another
position makes call sites inconsistent, hides that a function is effectful, and
breaks mechanical rewrites.

### Example
```rust
use asupersync::Cx;
async fn fetch(url: &str, cx: &Cx) -> Result<Vec<u8>, Error> { .. }
```

### Use instead
```rust
use asupersync::Cx;
async fn fetch(cx: &Cx, url: &str) -> Result<Vec<u8>, Error> { .. }
```

### How to fix
Move the `Cx` parameter to the front and update the callers.

### Known limits
`Cx` is recognised through imports, aliases (`use asupersync::Cx as Context`) and
globs of `asupersync`; a type alias declared elsewhere (`type Ctx = Cx;`) or a `Cx`
wrapped in another type (`Arc<Cx>`) is not. Closures are not checked.
"#;

fn check(context: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut visitor = CxFirst {
        context,
        out: Vec::new(),
    };
    visitor.visit_file(context.file);
    visitor.out
}

struct CxFirst<'c, 'a> {
    context: &'c FileContext<'a>,
    out: Vec<Diagnostic>,
}

impl<'ast> Visit<'ast> for CxFirst<'_, '_> {
    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        let params = sig.inputs.iter().filter_map(|input| match input {
            syn::FnArg::Typed(t) => Some(t),
            syn::FnArg::Receiver(_) => None,
        });
        for (position, param) in params.enumerate() {
            if position == 0 || !self.context.is_cx_type(&param.ty) {
                continue;
            }
            let location = self.context.location(param.span());
            let text = self
                .context
                .source
                .get(location.byte_start..location.byte_end)
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| param.pat.to_token_stream().to_string());
            self.out.push(Diagnostic {
                location,
                message: format!(
                    "`{text}` is parameter {} of `{}`; the capability context must come first",
                    position + 1,
                    sig.ident
                ),
                help: format!(
                    "move `{text}` to the front of the parameter list (after `self` for methods)"
                ),
            });
        }
        visit::visit_signature(self, sig);
    }
}
