//! Time: `sleep`, `sleep_until`, `timeout`, `interval` and [`Instant`], shaped like `tokio::time`
//! with `&cx` first.
//!
//! Every timer goes through the runtime's clock, so the same code runs on real time in
//! production and on virtual time under the lab runtime, where an hour of sleeping takes
//! microseconds. Sleeping is cancel-aware: a cancelled task's `sleep` returns
//! `Err(Cancelled)` at once instead of holding the task for the rest of the duration.

mod clock;
mod instant;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod timer;

pub(crate) use clock::Clock;
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
