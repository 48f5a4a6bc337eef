//! The primitives the runtime's concurrent protocols are built on: std's, or loom's
//! under `cfg(all(loom, test))`, so the same code is model-checked (see the `loom_*`
//! test modules; run with `RUSTFLAGS="--cfg loom" cargo test -p asupersync --lib
//! --release loom`).
//!
//! One place chooses, as in Tokio: a file that picked its own could forget a type, and a
//! std `Mutex` inside a loom model is a wait loom cannot see.

#[cfg(all(loom, test))]
pub(crate) mod sync {
    pub(crate) use loom::sync::{atomic, Condvar, Mutex, MutexGuard};
}

#[cfg(not(all(loom, test)))]
pub(crate) mod sync {
    pub(crate) use std::sync::{atomic, Condvar, Mutex, MutexGuard};
}
