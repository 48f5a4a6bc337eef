//@ path: tests/integration.rs
//@ target: test
// Integration tests may create contexts: no findings.
use asupersync::Cx;

fn helper() -> Cx {
    Cx::for_testing()
}
