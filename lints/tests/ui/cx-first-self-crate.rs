//@ self-crate: asupersync
//@ path: runtime/src/time.rs
// Inside the asupersync crate itself, its own `Cx` is recognised through
// `crate::` and `super::` paths.
use crate::Cx;

fn crate_path(d: u64, cx: &crate::cx::Cx) {}
fn imported(d: u64, cx: &Cx) {}

mod nested {
    fn through_super(d: u64, cx: &super::Cx) {}
}
