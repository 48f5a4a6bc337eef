//! Channels whose waiting operations take `&cx`: [`mpsc`], [`oneshot`],
//! [`broadcast`], [`watch`].
//!
//! Tokio's module names and shapes, made cancel-safe by construction rather than by
//! documentation:
//!
//! - A receive that is cancelled returns `Err(..Cancelled..)` and leaves the message
//!   in the channel for the next receive: the message is only taken in the same poll
//!   that returns it.
//! - A bounded send is two-phase: `tx.reserve(&cx).await?` waits for a slot and
//!   returns a [`mpsc::Permit`]; `permit.send(v)` cannot fail and cannot wait. So the
//!   value is never inside a future that could be dropped half-way, and a cancelled
//!   reserve holds no slot. A permit is an obligation (see [`crate::obligation`]).
//! - Waiters are kept in mutex-protected lists; a waiter that is cancelled after it
//!   was handed a slot passes it on, so no wake-up is lost.

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
mod ring;
pub mod watch;
