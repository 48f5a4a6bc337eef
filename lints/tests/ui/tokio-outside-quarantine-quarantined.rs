//@ path: compat/src/host.rs
//@ quarantine: compat/**
// Inside the quarantine Tokio is allowed: no findings here.
use tokio::runtime::Runtime;

pub fn host() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().build().unwrap()
}
