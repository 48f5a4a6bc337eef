//@ enable: cx-first
use asupersync::Cx;

// asupersync: allow(cx-first)
fn no_reason(id: u32, cx: &Cx) {}

// asupersync: allow(cx-frist) -- typo in the rule id
fn unknown_rule(id: u32, cx: &Cx) {}

// asupersync: permit(cx-first) -- wrong verb
fn malformed(id: u32, cx: &Cx) {}

/// asupersync: allow(cx-first) -- doc comments never suppress
fn doc_comment(id: u32, cx: &Cx) {}

// A valid suppression of several rules still suppresses.
// asupersync: allow(detached-spawn, cx-first) -- kept for the C ABI
fn valid(id: u32, cx: &Cx) {}

const S: &str = "// asupersync: allow(nothing)";
