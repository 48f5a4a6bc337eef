//! Support for the macros' expansions. Not a public API.

use std::fmt::Debug;

use crate::outcome::Outcome;
use crate::runtime::{Runtime, RuntimeBuilder, RuntimeError};

pub use crate::combinator::{
    arm, arm_index, branch, draining, lost_reason, race_start, step, take_outcome, take_value, Arm,
    JoinArm, Step,
};

/// The runtime `#[asupersync::test]` builds: current-thread unless the attribute asks
/// for workers (as with `#[tokio::test]`).
pub fn build_runtime(worker_threads: Option<usize>) -> Runtime {
    build(match worker_threads {
        Some(n) if n > 1 => RuntimeBuilder::multi_thread().worker_threads(n),
        _ => RuntimeBuilder::current_thread(),
    })
}

/// The runtime `#[asupersync::main]` builds: multi-thread on every core unless the
/// attribute says otherwise (as with `#[tokio::main]`), shutting down on Ctrl-C.
pub fn build_main_runtime(worker_threads: Option<usize>) -> Runtime {
    let builder = match worker_threads {
        None => RuntimeBuilder::multi_thread(),
        Some(1) => RuntimeBuilder::current_thread(),
        Some(n) => RuntimeBuilder::multi_thread().worker_threads(n),
    };
    build(builder.shutdown_on_ctrl_c(true))
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

impl MainOutput for std::process::ExitCode {
    type Output = std::process::ExitCode;
    fn into_main_output(self) -> Self::Output {
        self
    }
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

/// Runs a `#[asupersync::lab_test]` body for every seed (or only for
/// `ASUPERSYNC_LAB_SEED`), panicking with the failure and its replay line.
#[track_caller]
pub fn run_lab_test<F, Fut>(
    test_name: &str,
    seeds: std::ops::Range<u64>,
    strategy: crate::lab::Strategy,
    body: F,
) where
    F: Fn(crate::Cx) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use crate::lab::{Explorer, LabConfig};
    let seeds: Box<dyn Iterator<Item = u64>> = match std::env::var("ASUPERSYNC_LAB_SEED") {
        Ok(seed) => match seed.trim().parse::<u64>() {
            Ok(seed) => Box::new(std::iter::once(seed)),
            Err(_) => panic!("ASUPERSYNC_LAB_SEED must be a number, got {seed:?}"),
        },
        Err(_) => Box::new(seeds),
    };
    let explorer = Explorer::new(LabConfig::seed(0).strategy(strategy)).test_name(test_name);
    if let Err(failure) = explorer.run(seeds, body) {
        panic!("{failure}");
    }
}

/// What a lab test body may return: `()`, or a `Result` whose `Err` fails the run.
pub trait LabTestOutput {
    /// Panics on failure (the lab reports the panic with the seed).
    fn check(self);
}

impl LabTestOutput for () {
    fn check(self) {}
}

impl<T, E: Debug> LabTestOutput for Result<T, E> {
    #[track_caller]
    fn check(self) {
        if let Err(e) = self {
            panic!("the test returned an error: {e:?}");
        }
    }
}
