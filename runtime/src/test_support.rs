//! Helpers shared by the crate's unit tests (and its loom models: the count is a
//! std atomic, which a model only reads after its threads are joined).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Wake;

/// A waker that counts its wakes.
#[derive(Default)]
pub(crate) struct CountingWake(AtomicUsize);

impl CountingWake {
    /// How many times it was woken so far.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
