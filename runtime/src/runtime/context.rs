//! The thread's current runtime: set while a thread runs a runtime's tasks, so that
//! `Instant::now()` reads the right clock and a nested `block_on` is caught.

use std::cell::RefCell;
use std::sync::Arc;

use super::shared::RuntimeShared;
use crate::time::Instant;

thread_local! {
    static CURRENT: RefCell<Option<Arc<RuntimeShared>>> = const { RefCell::new(None) };
}

/// The current runtime's `now`, or `None` outside a runtime.
pub(crate) fn now() -> Option<Instant> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|rt| rt.clock.now()))
        .ok()
        .flatten()
}

pub(crate) fn is_entered() -> bool {
    CURRENT.try_with(|c| c.borrow().is_some()).unwrap_or(false)
}

/// Whether this thread is running `rt` (its worker, or its `block_on` thread). The
/// thread then holds a reference to `rt` until it leaves, so `rt` outlives any call
/// made from here.
#[inline]
pub(crate) fn is_running(rt: *const RuntimeShared) -> bool {
    CURRENT
        .try_with(|c| {
            // `try_borrow`: a wake may come from a drop inside `EnterGuard::drop`'s
            // assignment; "not known to be running" is then the safe answer.
            c.try_borrow().is_ok_and(|current| {
                current
                    .as_ref()
                    .is_some_and(|current| std::ptr::eq(Arc::as_ptr(current), rt))
            })
        })
        .unwrap_or(false)
}

/// Marks this thread as running `rt` until the guard drops.
pub(crate) fn enter(rt: &Arc<RuntimeShared>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(rt.clone()));
    EnterGuard { previous }
}

pub(crate) struct EnterGuard {
    previous: Option<Arc<RuntimeShared>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::RuntimeBuilder;

    /// `is_running` names exactly the runtime this thread entered (the wake path
    /// relies on it to skip keeping that runtime alive), and nothing once it left.
    #[test]
    fn is_running_names_only_the_entered_runtime() {
        let a = RuntimeBuilder::current_thread().build().unwrap();
        let b = RuntimeBuilder::current_thread().build().unwrap();
        let (a_ptr, b_ptr) = (Arc::as_ptr(&a.shared), Arc::as_ptr(&b.shared));
        assert!(!is_running(a_ptr));
        {
            let _guard = enter(&a.shared);
            assert!(is_running(a_ptr));
            assert!(!is_running(b_ptr));
        }
        assert!(!is_running(a_ptr));
    }
}
