//@ path: src/bin/server.rs
//@ boundary: src/bin/**
// A configured boundary may create contexts: no findings.
use asupersync::Cx;

fn main() {
    let cx = Cx::for_request();
}
