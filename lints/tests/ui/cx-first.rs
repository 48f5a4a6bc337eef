use asupersync::Cx;
use asupersync::Cx as Context;

// Positives.
fn after_value(id: u32, cx: &Cx) {}
async fn aliased(x: u8, cx: &Context) {}
fn by_value(a: u8, b: u8, cx: Cx) {}
fn absolute(a: u8, cx: &mut ::asupersync::Cx) {}

struct Service;

impl Service {
    fn method(&self, name: &str, cx: &Cx) {}
}

trait Handler {
    fn handle(&self, req: Request, cx: &Cx);
}

// Negatives: first (after self), no Cx, a local type named Cx, a string.
fn first(cx: &Cx, id: u32) {}
fn method_first(&self, cx: &Cx, id: u32) {}
fn no_context(a: u8, b: u8) {}
mod local {
    struct Cx;
    fn not_ours(a: u8, cx: &Cx) {}
}
const S: &str = "fn f(a: u8, cx: &Cx) {}";
// fn commented(a: u8, cx: &Cx) {}

// Suppressions: the line above and the same line.
// asupersync: allow(cx-first) -- public API frozen until 2.0
fn legacy(id: u32, cx: &Cx) {}
fn legacy_inline(id: u32, cx: &Cx) {} // asupersync: allow(cx-first) -- generated binding
