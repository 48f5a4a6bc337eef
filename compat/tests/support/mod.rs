//! Helpers shared by the compat crate's integration tests (on top of the runtime's).
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use asupersync::{Cx, Outcome};

#[path = "../../../runtime/tests/common/mod.rs"]
pub mod common;

/// Runs `body` on every native flavor with `drain` as the default drain budget (what
/// region cancellation gives the tasks inside).
pub fn on_each_flavor_with_drain<T, F, Fut>(drain: Duration, body: F) -> Vec<T>
where
    F: Fn(Cx) -> Fut,
    Fut: Future<Output = T>,
{
    common::flavors()
        .into_iter()
        .map(|(name, builder)| {
            let rt = builder.drain_budget(drain).build().unwrap();
            match rt.block_on(&body) {
                Outcome::Ok(v) => v,
                other => panic!("[{name}] block_on did not finish: {:?}", other.map(|_| ())),
            }
        })
        .collect()
}
