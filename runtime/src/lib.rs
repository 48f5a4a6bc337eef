//! asupersync: a cancel-correct, structured-concurrency async runtime.
#![deny(unsafe_op_in_unsafe_fn)]
