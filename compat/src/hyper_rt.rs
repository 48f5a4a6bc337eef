//! Driving hyper from native code.
//!
//! hyper 1.x is runtime-agnostic at its core: it asks for an IO type
//! (`hyper::rt::{Read, Write}`), an executor for background work (HTTP/2 streams, the
//! client's connection task) and a timer (header-read timeouts, keep-alive). Given those
//! three, a connection is a plain future that a native task can poll, so an HTTP
//! service can move off Tokio before the rest of its stack does. This module supplies
//! them:
//!
//! - [`hyper_io`]: any `futures-io` stream (native sockets, in-memory pipes) as hyper IO,
//!   through [`IntoTokio`] and hyper-util's `TokioIo`.
//! - [`RegionExecutor`]: spawns hyper's background futures as native tasks in a
//!   region, which then does not close before they are done; [`HostExecutor`] spawns
//!   them on a [`TokioHost`] instead (counted in its metrics, aborted by its shutdown).
//! - [`HostTimer`]: hyper's timer on the host's Tokio time driver, usable from any
//!   thread.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use asupersync::Cx;
use hyper::rt::{Executor, Sleep, Timer};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::io::IntoTokio;
use crate::TokioHost;

/// A `futures-io` stream as hyper IO.
pub type HyperIo<T> = TokioIo<IntoTokio<T>>;

/// Wraps a `futures-io` stream (a native socket, an in-memory pipe) for hyper's
/// `serve_connection` / `handshake`.
pub fn hyper_io<T>(io: T) -> HyperIo<T> {
    TokioIo::new(IntoTokio::new(io))
}

/// A hyper executor that spawns into a native region: the region owns hyper's
/// background work and does not close before it is done.
#[derive(Clone, Debug)]
pub struct RegionExecutor {
    cx: Cx,
}

impl RegionExecutor {
    /// Spawns into `cx`'s region.
    pub fn new(cx: &Cx) -> Self {
        RegionExecutor { cx: cx.clone() }
    }
}

impl<F> Executor<F> for RegionExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // The region owns the task: dropping the handle does not detach it.
        let _owned_by_region = self.cx.spawn_named("hyper", |_cx| future);
    }
}

/// A hyper executor that spawns onto a [`TokioHost`]: for hyper futures that need a
/// Tokio context of their own. The host counts them and its shutdown aborts them.
#[derive(Clone, Debug)]
pub struct HostExecutor {
    host: TokioHost,
}

impl HostExecutor {
    /// Spawns onto `host`.
    pub fn new(host: &TokioHost) -> Self {
        HostExecutor { host: host.clone() }
    }
}

impl<F> Executor<F> for HostExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // asupersync: allow(detached-spawn) -- counted by the host's metrics and aborted by its shutdown
        drop(self.host.handle().spawn(future));
    }
}

/// hyper's timer on a [`TokioHost`]'s time driver.
///
/// Tokio timers must be created inside a Tokio context, which native threads are not;
/// this timer enters the host's context to create them, after which they can be polled
/// from any thread.
#[derive(Clone, Debug)]
pub struct HostTimer {
    host: TokioHost,
}

impl HostTimer {
    /// A timer on `host` (which must have its time driver enabled).
    pub fn new(host: &TokioHost) -> Self {
        HostTimer { host: host.clone() }
    }
}

impl Timer for HostTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        let _context = self.host.handle().enter();
        TokioTimer::new().sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        let _context = self.host.handle().enter();
        TokioTimer::new().sleep_until(deadline)
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        let _context = self.host.handle().enter();
        TokioTimer::new().reset(sleep, new_deadline)
    }
}
