//! The runtime's timer queue: deadlines mapped to wakers.
//!
//! Every time-based thing in the runtime is a waker registered at a deadline: sleeps,
//! timeouts, budget deadlines (whose waker cancels the task) and drain deadlines (whose
//! waker lets the harness drop a task that ignored its cancellation). The driver asks
//! for the next deadline before parking and fires what has expired after waking.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;
use std::task::Waker;

use super::Instant;

/// Identifies a registered timer so it can be re-armed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey(u64);

#[derive(Default)]
pub(crate) struct TimerQueue {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    // Removal is lazy: the heap may hold keys no longer in `entries`.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    entries: HashMap<u64, Entry>,
    next_key: u64,
}

struct Entry {
    deadline: Instant,
    waker: Waker,
}

impl TimerQueue {
    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let mut inner = self.lock();
        let key = inner.next_key;
        inner.next_key += 1;
        inner.heap.push(Reverse((deadline, key)));
        inner.entries.insert(key, Entry { deadline, waker });
        TimerKey(key)
    }

    /// Replaces the waker of a registered timer unless it would wake the same task.
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) {
        if let Some(entry) = self.lock().entries.get_mut(&key.0) {
            if !entry.waker.will_wake(waker) {
                entry.waker = waker.clone();
            }
        }
    }

    /// Removes a timer; returns `false` if it already fired or was removed.
    pub(crate) fn remove(&self, key: TimerKey) -> bool {
        self.lock().entries.remove(&key.0).is_some()
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let mut inner = self.lock();
        while let Some(Reverse((deadline, key))) = inner.heap.peek().copied() {
            if inner
                .entries
                .get(&key)
                .is_some_and(|e| e.deadline == deadline)
            {
                return Some(deadline);
            }
            inner.heap.pop();
        }
        None
    }

    /// Wakes every timer whose deadline is at or before `now`, in deadline order;
    /// returns how many fired.
    pub(crate) fn fire_expired(&self, now: Instant) -> usize {
        let mut expired = Vec::new();
        {
            let mut inner = self.lock();
            while let Some(Reverse((deadline, key))) = inner.heap.peek().copied() {
                if deadline > now {
                    break;
                }
                inner.heap.pop();
                if let Some(entry) = inner.entries.remove(&key) {
                    expired.push(entry.waker);
                }
            }
        }
        // Wake outside the lock: a waker may re-register a timer.
        let fired = expired.len();
        for waker in expired {
            waker.wake();
        }
        fired
    }

    /// Drops every timer (their wakers with them).
    pub(crate) fn clear(&self) {
        let entries = {
            let mut inner = self.lock();
            inner.heap.clear();
            std::mem::take(&mut inner.entries)
        };
        drop(entries);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic never happens while the lock is held (no user code runs under it).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn fires_in_order_and_skips_removed() {
        let q = TimerQueue::default();
        let t0 = Instant::now();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let late = q.insert(t0 + Duration::from_millis(30), waker.clone());
        let early = q.insert(t0 + Duration::from_millis(10), waker.clone());
        let removed = q.insert(t0 + Duration::from_millis(5), waker.clone());
        assert!(q.remove(removed));
        assert!(!q.remove(removed));
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(q.fire_expired(t0 + Duration::from_millis(20)), 1);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(!q.remove(early), "fired timers are gone");
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(30)));
        assert!(q.remove(late));
        assert_eq!(q.next_deadline(), None);
        assert_eq!(q.len(), 0);
    }
}
