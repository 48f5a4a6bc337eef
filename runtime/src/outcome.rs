//! The four-valued result of anything that runs under a region.
//!
//! A `Result` has no room for "this work was cancelled" or "this work panicked", and
//! Tokio folds both into a `JoinError`. Structured concurrency needs to combine the
//! results of many children, so [`Outcome`] keeps the four cases apart and orders
//! them by severity (`Ok < Err < Cancelled < Panicked`): combining outcomes keeps the
//! most severe, the way a region reports the worst thing that happened inside it.

use std::any::Any;
use std::convert::Infallible;
use std::fmt;

use crate::cancel::CancelReason;

/// The result of a task, a region or a combinator: `Ok`, `Err`, `Cancelled` or
/// `Panicked`, in increasing order of severity.
#[must_use = "an Outcome reports whether the work finished, failed, was cancelled or panicked"]
#[derive(Debug)]
pub enum Outcome<T, E = Infallible> {
    /// The work finished with a value.
    Ok(T),
    /// The work finished with an error of its own.
    Err(E),
    /// The work was cancelled before it produced a value.
    Cancelled(CancelReason),
    /// The work panicked; the payload is kept so it can be re-raised.
    Panicked(PanicPayload),
}

/// The severity of an [`Outcome`], in the order used to combine outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// [`Outcome::Ok`].
    Ok,
    /// [`Outcome::Err`].
    Err,
    /// [`Outcome::Cancelled`].
    Cancelled,
    /// [`Outcome::Panicked`].
    Panicked,
}

impl<T, E> Outcome<T, E> {
    /// This outcome's place in the order `Ok < Err < Cancelled < Panicked`.
    pub fn severity(&self) -> Severity {
        match self {
            Outcome::Ok(_) => Severity::Ok,
            Outcome::Err(_) => Severity::Err,
            Outcome::Cancelled(_) => Severity::Cancelled,
            Outcome::Panicked(_) => Severity::Panicked,
        }
    }

    /// `true` for [`Outcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    /// `true` for [`Outcome::Err`].
    pub fn is_err(&self) -> bool {
        matches!(self, Outcome::Err(_))
    }

    /// `true` for [`Outcome::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Outcome::Cancelled(_))
    }

    /// `true` for [`Outcome::Panicked`].
    pub fn is_panicked(&self) -> bool {
        matches!(self, Outcome::Panicked(_))
    }

    /// The value, if the work finished.
    pub fn ok(self) -> Option<T> {
        match self {
            Outcome::Ok(v) => Some(v),
            _ => None,
        }
    }

    /// The error, if the work failed.
    pub fn err(self) -> Option<E> {
        match self {
            Outcome::Err(e) => Some(e),
            _ => None,
        }
    }

    /// The cancellation reason, if the work was cancelled.
    pub fn cancel_reason(&self) -> Option<&CancelReason> {
        match self {
            Outcome::Cancelled(r) => Some(r),
            _ => None,
        }
    }

    /// Borrows the contents.
    pub fn as_ref(&self) -> Outcome<&T, &E> {
        match self {
            Outcome::Ok(v) => Outcome::Ok(v),
            Outcome::Err(e) => Outcome::Err(e),
            Outcome::Cancelled(r) => Outcome::Cancelled(r.clone()),
            Outcome::Panicked(p) => Outcome::Panicked(p.clone_message()),
        }
    }

    /// Maps the value, leaving the other cases alone.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U, E> {
        match self {
            Outcome::Ok(v) => Outcome::Ok(f(v)),
            Outcome::Err(e) => Outcome::Err(e),
            Outcome::Cancelled(r) => Outcome::Cancelled(r),
            Outcome::Panicked(p) => Outcome::Panicked(p),
        }
    }

    /// Maps the error, leaving the other cases alone.
    pub fn map_err<F>(self, f: impl FnOnce(E) -> F) -> Outcome<T, F> {
        match self {
            Outcome::Ok(v) => Outcome::Ok(v),
            Outcome::Err(e) => Outcome::Err(f(e)),
            Outcome::Cancelled(r) => Outcome::Cancelled(r),
            Outcome::Panicked(p) => Outcome::Panicked(p),
        }
    }

    /// Chains work that itself produces an outcome.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Outcome<U, E>) -> Outcome<U, E> {
        match self {
            Outcome::Ok(v) => f(v),
            Outcome::Err(e) => Outcome::Err(e),
            Outcome::Cancelled(r) => Outcome::Cancelled(r),
            Outcome::Panicked(p) => Outcome::Panicked(p),
        }
    }

    /// Converts to a `Result`, folding cancellation and panics into [`OutcomeError`].
    pub fn into_result(self) -> Result<T, OutcomeError<E>> {
        match self {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err(e) => Err(OutcomeError::Err(e)),
            Outcome::Cancelled(r) => Err(OutcomeError::Cancelled(r)),
            Outcome::Panicked(p) => Err(OutcomeError::Panicked(p)),
        }
    }

    /// The value; re-raises a panic, and panics with the reason on `Err`/`Cancelled`.
    #[track_caller]
    pub fn unwrap(self) -> T
    where
        E: fmt::Debug,
    {
        match self {
            Outcome::Ok(v) => v,
            Outcome::Err(e) => panic!("called `Outcome::unwrap()` on an `Err`: {e:?}"),
            Outcome::Cancelled(r) => panic!("called `Outcome::unwrap()` on a `Cancelled`: {r}"),
            Outcome::Panicked(p) => p.resume(),
        }
    }

    /// The value, or `default` for every other case.
    pub fn unwrap_or(self, default: T) -> T {
        self.ok().unwrap_or(default)
    }

    /// The value, or one computed from the outcome that was not `Ok`.
    pub fn unwrap_or_else(self, f: impl FnOnce(Outcome<T, E>) -> T) -> T {
        match self {
            Outcome::Ok(v) => v,
            other => f(other),
        }
    }

    /// The value; re-raises a panic, and panics with `message` otherwise.
    #[track_caller]
    pub fn expect(self, message: &str) -> T
    where
        E: fmt::Debug,
    {
        match self {
            Outcome::Ok(v) => v,
            Outcome::Err(e) => panic!("{message}: {e:?}"),
            Outcome::Cancelled(r) => panic!("{message}: cancelled: {r}"),
            Outcome::Panicked(p) => p.resume(),
        }
    }

    /// Keeps the more severe of two outcomes (the first on a tie).
    pub fn worst(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl<T, E> Outcome<Result<T, E>, Infallible> {
    /// Lifts a task's own `Result` into the outcome's `Ok`/`Err` cases.
    pub fn flatten(self) -> Outcome<T, E> {
        match self {
            Outcome::Ok(Ok(v)) => Outcome::Ok(v),
            Outcome::Ok(Err(e)) => Outcome::Err(e),
            Outcome::Err(never) => match never {},
            Outcome::Cancelled(r) => Outcome::Cancelled(r),
            Outcome::Panicked(p) => Outcome::Panicked(p),
        }
    }
}

impl<T, E> From<Result<T, E>> for Outcome<T, E> {
    fn from(result: Result<T, E>) -> Self {
        match result {
            Ok(v) => Outcome::Ok(v),
            Err(e) => Outcome::Err(e),
        }
    }
}

impl<T: PartialEq, E: PartialEq> PartialEq for Outcome<T, E> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Ok(a), Outcome::Ok(b)) => a == b,
            (Outcome::Err(a), Outcome::Err(b)) => a == b,
            (Outcome::Cancelled(a), Outcome::Cancelled(b)) => a.kind == b.kind,
            (Outcome::Panicked(a), Outcome::Panicked(b)) => a.message() == b.message(),
            _ => false,
        }
    }
}

/// The non-`Ok` cases of an [`Outcome`] as an error type.
#[derive(Debug)]
pub enum OutcomeError<E> {
    /// The work's own error.
    Err(E),
    /// The work was cancelled.
    Cancelled(CancelReason),
    /// The work panicked.
    Panicked(PanicPayload),
}

impl<E: fmt::Display> fmt::Display for OutcomeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeError::Err(e) => e.fmt(f),
            OutcomeError::Cancelled(r) => write!(f, "cancelled: {r}"),
            OutcomeError::Panicked(p) => write!(f, "panicked: {}", p.message()),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for OutcomeError<E> {}

/// So `handle.join(&cx).await.into_result()?` works in a function returning
/// `io::Result`, as `handle.await?` does with Tokio's `JoinError`. A cancellation
/// becomes [`ErrorKind::Interrupted`](std::io::ErrorKind::Interrupted) (as
/// [`Cancelled`](crate::Cancelled) does), a panic [`ErrorKind::Other`](std::io::ErrorKind::Other)
/// with its message, and the work's own `io::Error` passes through unchanged.
impl<E> From<OutcomeError<E>> for std::io::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: OutcomeError<E>) -> Self {
        match error {
            OutcomeError::Err(e) => {
                let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
                match boxed.downcast::<std::io::Error>() {
                    Ok(io) => *io,
                    Err(other) => std::io::Error::other(other),
                }
            }
            OutcomeError::Cancelled(reason) => std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                format!("cancelled: {reason}"),
            ),
            OutcomeError::Panicked(p) => {
                std::io::Error::other(format!("task panicked: {}", p.message()))
            }
        }
    }
}

/// The payload of a caught panic. It keeps the original payload so the panic can be
/// re-raised with [`PanicPayload::resume`], and a readable message.
pub struct PanicPayload {
    payload: Option<Box<dyn Any + Send + 'static>>,
    message: String,
}

impl PanicPayload {
    /// Wraps a payload caught by `catch_unwind`.
    pub fn new(payload: Box<dyn Any + Send + 'static>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_string()
        };
        PanicPayload {
            payload: Some(payload),
            message,
        }
    }

    /// The panic message, when the payload was a string.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A copy holding only the message (payloads cannot be cloned).
    pub fn clone_message(&self) -> PanicPayload {
        PanicPayload {
            payload: None,
            message: self.message.clone(),
        }
    }

    /// Re-raises the panic on the current thread.
    pub fn resume(self) -> ! {
        match self.payload {
            Some(payload) => std::panic::resume_unwind(payload),
            None => std::panic::resume_unwind(Box::new(self.message)),
        }
    }
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PanicPayload").field(&self.message).finish()
    }
}

impl fmt::Display for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::{CancelKind, CancelReason};

    #[test]
    fn severity_orders_the_four_cases() {
        let ok: Outcome<i32, &str> = Outcome::Ok(1);
        let err: Outcome<i32, &str> = Outcome::Err("e");
        let cancelled: Outcome<i32, &str> = Outcome::Cancelled(CancelReason::new(CancelKind::User));
        let panicked: Outcome<i32, &str> = Outcome::Panicked(PanicPayload::new(Box::new("p")));
        assert!(ok.severity() < err.severity());
        assert!(err.severity() < cancelled.severity());
        assert!(cancelled.severity() < panicked.severity());
    }

    #[test]
    fn worst_keeps_the_more_severe() {
        let a: Outcome<i32, &str> = Outcome::Err("a");
        let b: Outcome<i32, &str> = Outcome::Ok(2);
        assert_eq!(a.worst(b), Outcome::Err("a"));
        let c: Outcome<i32, &str> = Outcome::Ok(3);
        let d: Outcome<i32, &str> = Outcome::Cancelled(CancelReason::new(CancelKind::Timeout));
        assert!(c.worst(d).is_cancelled());
    }

    #[test]
    fn combinators_touch_only_their_case() {
        let ok: Outcome<i32, String> = Outcome::Ok(2);
        assert_eq!(ok.map(|v| v * 10), Outcome::Ok(20));
        let err: Outcome<i32, String> = Outcome::Err("bad".into());
        assert_eq!(err.map_err(|e| e.len()), Outcome::Err(3));
        let chained: Outcome<i32, String> =
            Outcome::Ok(1).and_then(|v| Outcome::Err(format!("{v}")));
        assert_eq!(chained, Outcome::Err("1".to_string()));
        let flattened: Outcome<u8, &str> = Outcome::<Result<u8, &str>>::Ok(Err("x")).flatten();
        assert_eq!(flattened, Outcome::Err("x"));
    }

    #[test]
    fn unwrap_or_falls_back_on_every_non_ok_case() {
        let cancelled: Outcome<i32> = Outcome::Cancelled(CancelReason::new(CancelKind::User));
        assert_eq!(cancelled.unwrap_or(7), 7);
        let ok: Outcome<i32> = Outcome::Ok(1);
        assert_eq!(ok.unwrap_or(7), 1);
        let err: Outcome<i32, &str> = Outcome::Err("e");
        assert_eq!(err.unwrap_or_else(|o| if o.is_err() { -1 } else { 0 }), -1);
    }

    #[test]
    fn into_result_keeps_the_reason() {
        let o: Outcome<(), ()> = Outcome::Cancelled(CancelReason::new(CancelKind::Deadline));
        match o.into_result() {
            Err(OutcomeError::Cancelled(r)) => assert_eq!(r.kind, CancelKind::Deadline),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn outcome_errors_convert_into_io_errors_by_kind() {
        use std::io;
        fn joined(o: Outcome<u8, io::Error>) -> io::Result<u8> {
            Ok(o.into_result()?)
        }
        let own = joined(Outcome::Err(io::Error::new(
            io::ErrorKind::NotFound,
            "gone",
        )));
        assert_eq!(own.unwrap_err().kind(), io::ErrorKind::NotFound);
        let cancelled = joined(Outcome::Cancelled(CancelReason::new(CancelKind::User)));
        assert_eq!(cancelled.unwrap_err().kind(), io::ErrorKind::Interrupted);
        let panicked = joined(Outcome::Panicked(PanicPayload::new(Box::new("boom"))));
        let panicked = panicked.unwrap_err();
        assert_eq!(panicked.kind(), io::ErrorKind::Other);
        assert!(panicked.to_string().contains("boom"), "{panicked}");
        // A task handle's outcome (no error type of its own) converts too.
        let infallible: Outcome<u8> = Outcome::Ok(3);
        let value: io::Result<u8> = infallible.into_result().map_err(io::Error::from);
        assert_eq!(value.unwrap(), 3);
    }

    #[test]
    fn panic_payload_keeps_message_and_resumes() {
        let p = PanicPayload::new(Box::new(String::from("boom")));
        assert_eq!(p.message(), "boom");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.resume()));
        let payload = caught.expect_err("resume must panic");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("boom")
        );
    }
}
