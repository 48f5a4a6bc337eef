//! A list of wakers collected under a lock and called after it is released.
//!
//! Releasing a contended primitive usually wakes exactly one waiter, so collecting
//! into a `Vec` would cost an allocation on every hand-off. The first few wakers live
//! inline (as in Tokio's `WakeList`); more spill onto the heap.

use std::task::Waker;

const INLINE: usize = 4;

#[derive(Default)]
pub(crate) struct WakeList {
    inline: [Option<Waker>; INLINE],
    len: usize,
    spilled: Vec<Waker>,
}

impl WakeList {
    pub(crate) fn new() -> WakeList {
        WakeList::default()
    }

    pub(crate) fn push(&mut self, waker: Waker) {
        if self.len < INLINE {
            self.inline[self.len] = Some(waker);
            self.len += 1;
        } else {
            self.spilled.push(waker);
        }
    }

    /// Calls every waker. Call it with no lock held: a waker may run arbitrary code.
    pub(crate) fn wake_all(self) {
        let WakeList {
            inline, spilled, ..
        } = self;
        inline.into_iter().flatten().for_each(Waker::wake);
        spilled.into_iter().for_each(Waker::wake);
    }
}

impl Extend<Waker> for WakeList {
    fn extend<I: IntoIterator<Item = Waker>>(&mut self, wakers: I) {
        wakers.into_iter().for_each(|w| self.push(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::CountingWake;
    use std::sync::Arc;

    #[test]
    fn wakes_every_waker_inline_and_spilled() {
        for n in [0, 1, INLINE, INLINE + 1, 3 * INLINE] {
            let count = Arc::new(CountingWake::default());
            let mut list = WakeList::new();
            list.extend((0..n).map(|_| Waker::from(count.clone())));
            list.wake_all();
            assert_eq!(count.count(), n, "{n} wakers");
        }
    }
}
