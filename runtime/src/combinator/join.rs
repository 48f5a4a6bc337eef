//! The machinery behind `join!`, and combining outcomes by severity.

use std::future::{Future, IntoFuture};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::outcome::{Outcome, PanicPayload};

pin_project! {
    /// One `join!` branch: polled until done, its panic caught so the other branches
    /// still run to completion before the panic is resumed.
    pub struct JoinArm<F: Future> {
        #[pin]
        future: Option<F>,
        output: Option<Result<F::Output, PanicPayload>>,
    }
}

impl<F: Future> JoinArm<F> {
    /// Wraps a branch.
    pub fn new(future: impl IntoFuture<IntoFuture = F>) -> Self {
        JoinArm {
            future: Some(future.into_future()),
            output: None,
        }
    }

    /// Polls the branch; `true` once it is done.
    pub fn poll_arm(self: Pin<&mut Self>, task: &mut Context<'_>) -> bool {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return true;
        };
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(task))) {
            Ok(Poll::Pending) => return false,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(payload) => Err(PanicPayload::new(payload)),
        };
        this.future.set(None);
        *this.output = Some(result);
        true
    }

    /// The branch's value, or its panic.
    pub fn take(self: Pin<&mut Self>) -> Result<F::Output, PanicPayload> {
        self.project()
            .output
            .take()
            .expect("take on a join branch that has not finished")
    }
}

/// Combines a tuple of [`Outcome`]s into one by severity: `Ok` with every value if
/// all are `Ok`, otherwise the most severe of the others (`Panicked` > `Cancelled` >
/// `Err`; the first on a tie).
///
/// ```
/// use asupersync::combinator::JoinOutcomes;
/// use asupersync::Outcome;
/// let all: Outcome<(i32, &str), String> = (Outcome::Ok(1), Outcome::Ok("a")).join_outcomes();
/// assert!(matches!(all, Outcome::Ok((1, "a"))));
/// let failed: Outcome<(i32, i32), String> =
///     (Outcome::Ok(1), Outcome::Err("no".to_string())).join_outcomes();
/// assert!(failed.is_err());
/// ```
pub trait JoinOutcomes {
    /// The combined outcome.
    type Output;
    /// Combines by severity.
    fn join_outcomes(self) -> Self::Output;
}

macro_rules! impl_join_outcomes {
    ($($o:ident $v:ident $t:ident),+) => {
        impl<E, $($t),+> JoinOutcomes for ($(Outcome<$t, E>,)+) {
            type Output = Outcome<($($t,)+), E>;
            fn join_outcomes(self) -> Self::Output {
                let ($($o,)+) = self;
                let worst = [$($o.severity()),+].into_iter().max().expect("non-empty");
                if worst == crate::outcome::Severity::Ok {
                    let ($(Outcome::Ok($v),)+) = ($($o,)+) else { unreachable!() };
                    return Outcome::Ok(($($v,)+));
                }
                $(
                    if $o.severity() == worst {
                        return match $o {
                            Outcome::Err(e) => Outcome::Err(e),
                            Outcome::Cancelled(r) => Outcome::Cancelled(r),
                            Outcome::Panicked(p) => Outcome::Panicked(p),
                            Outcome::Ok(_) => unreachable!(),
                        };
                    }
                )+
                unreachable!()
            }
        }
    };
}

impl_join_outcomes!(a va A);
impl_join_outcomes!(a va A, b vb B);
impl_join_outcomes!(a va A, b vb B, c vc C);
impl_join_outcomes!(a va A, b vb B, c vc C, d vd D);
impl_join_outcomes!(a va A, b vb B, c vc C, d vd D, e ve F);
impl_join_outcomes!(a va A, b vb B, c vc C, d vd D, e ve F, f vf G);

impl<T, E> JoinOutcomes for Vec<Outcome<T, E>> {
    type Output = Outcome<Vec<T>, E>;
    fn join_outcomes(self) -> Self::Output {
        let worst = self.iter().map(Outcome::severity).max();
        if worst.is_none_or(|w| w == crate::outcome::Severity::Ok) {
            return Outcome::Ok(self.into_iter().filter_map(Outcome::ok).collect());
        }
        let worst = worst.expect("checked above");
        self.into_iter()
            .find(|o| o.severity() == worst)
            .map(|o| match o {
                Outcome::Err(e) => Outcome::Err(e),
                Outcome::Cancelled(r) => Outcome::Cancelled(r),
                Outcome::Panicked(p) => Outcome::Panicked(p),
                Outcome::Ok(_) => unreachable!(),
            })
            .expect("the worst outcome is in the list")
    }
}
