//! Support for the macros' expansions. Not a public API.

use std::fmt::Debug;

use crate::outcome::Outcome;
use crate::runtime::{Runtime, RuntimeBuilder, RuntimeError};

/// The runtime `#[asupersync::test]` builds.
pub fn build_runtime(worker_threads: Option<usize>) -> Runtime {
    build(builder(worker_threads))
}

/// The runtime `#[asupersync::main]` builds: like a test's, and it shuts down on
/// Ctrl-C.
pub fn build_main_runtime(worker_threads: Option<usize>) -> Runtime {
    build(builder(worker_threads).shutdown_on_ctrl_c(true))
}

fn builder(worker_threads: Option<usize>) -> RuntimeBuilder {
    match worker_threads {
        Some(n) if n > 1 => RuntimeBuilder::multi_thread().worker_threads(n),
        _ => RuntimeBuilder::current_thread(),
    }
}

fn build(builder: RuntimeBuilder) -> Runtime {
    match builder.build() {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    }
}

/// What `main`'s body outcome becomes: the value, a re-raised panic, or an exit.
pub fn finish_main<T>(outcome: Outcome<T, RuntimeError>) -> T {
    match outcome {
        Outcome::Ok(v) => v,
        Outcome::Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(101)
        }
        Outcome::Cancelled(reason) => {
            eprintln!("main was cancelled: {reason}");
            std::process::exit(130)
        }
        Outcome::Panicked(p) => p.resume(),
    }
}

/// What a test body's outcome becomes: the value, or a panic that fails the test.
#[track_caller]
pub fn finish_test<T>(outcome: Outcome<T, RuntimeError>) -> T {
    match outcome {
        Outcome::Ok(v) => v,
        Outcome::Err(e) => panic!("{e}"),
        Outcome::Cancelled(reason) => panic!("the test was cancelled: {reason}"),
        Outcome::Panicked(p) => p.resume(),
    }
}

/// Lets `main` return an `Outcome` (its `Ok` value is the program's result).
pub trait MainOutput {
    /// The type `fn main` returns.
    type Output;
    /// Converts.
    fn into_main_output(self) -> Self::Output;
}

impl MainOutput for () {
    type Output = ();
    fn into_main_output(self) {}
}

impl<T, E: Debug> MainOutput for Result<T, E> {
    type Output = Result<T, E>;
    fn into_main_output(self) -> Self::Output {
        self
    }
}

impl<T: MainOutput, E: Debug> MainOutput for Outcome<T, E> {
    type Output = T::Output;
    fn into_main_output(self) -> Self::Output {
        match self {
            Outcome::Ok(v) => v.into_main_output(),
            Outcome::Err(e) => panic!("main returned an error: {e:?}"),
            Outcome::Cancelled(r) => {
                eprintln!("main was cancelled: {r}");
                std::process::exit(130)
            }
            Outcome::Panicked(p) => p.resume(),
        }
    }
}
