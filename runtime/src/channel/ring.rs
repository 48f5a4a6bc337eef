//! The message ring of a bounded [`mpsc`](super::mpsc) channel: many senders, one
//! receiver, no lock.
//!
//! # Why not a mutex around a `VecDeque`
//!
//! With the receiver on one core and the senders on another, every message took the
//! channel's mutex twice (push, pop): the lock's cache line crossed between the cores
//! on every message and each side spun in `lock_contended` waiting for the other. In
//! `mpsc_contention_full` (`docs/performance.md`) that made the channel the slowest
//! part of the path whenever the receiver and the senders ran on different cores. Here
//! a sender claims an index with one `fetch_add` (on a word only senders write) and
//! publishes its message in the slot's stamp; the receiver reads the stamp and the
//! value and never touches the senders' word. The only line both sides write is the
//! slot itself.
//!
//! # Why a sender never finds its slot occupied
//!
//! The ring has at least as many slots as the channel has capacity, and a sender
//! pushes only while holding one of the channel's capacity permits, which the receiver
//! gives back only *after* it has taken the message out of its slot. So when a sender
//! claims index `i`, the `capacity + 1` indices `i - capacity ..= i` cannot all be
//! holding permits at once: the message at `i - slots` (same slot) has been taken, and
//! the permit hand-off (release → acquire on the semaphore's word, then the claim's
//! `AcqRel` on `tail`) orders that take before this write. The stamp check in
//! [`push`](Ring::push) is the safety net that makes this a wait instead of a data race
//! should the accounting ever be broken. The loom models run the ring with permits
//! handed out as the channel does and check that no slot is written while read.
//!
//! Stamps: `2 * i` means "free for index `i`", `2 * i + 1` "holds the message of index
//! `i`". The receiver, having taken index `i`, marks the slot free for `i + slots`.

use std::mem::MaybeUninit;

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use crate::sync::cell::UnsafeCell;

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

pub(super) struct Ring<T> {
    slots: Box<[Slot<T>]>,
    /// `slots.len() - 1` (the length is a power of two).
    mask: usize,
    /// The next index a sender claims. Only senders write it.
    tail: CachePadded<AtomicUsize>,
    /// The next index the receiver takes. Only the receiver writes it (others read it
    /// for [`len`](Ring::len)).
    head: CachePadded<AtomicUsize>,
}

// SAFETY: a slot's value is written only by the sender that claimed its index and
// read only by the single receiver, each after the stamp hands the slot over (module
// docs); values move between threads, so `T: Send` is required and enough.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Ring<T> {}

fn free_for(index: usize) -> usize {
    index.wrapping_mul(2)
}

fn holding(index: usize) -> usize {
    index.wrapping_mul(2).wrapping_add(1)
}

impl<T> Ring<T> {
    /// The bytes of slots a ring for `capacity` messages allocates.
    pub(super) fn bytes_for(capacity: usize) -> usize {
        Self::slots_for(capacity).saturating_mul(std::mem::size_of::<Slot<T>>())
    }

    fn slots_for(capacity: usize) -> usize {
        capacity
            .max(1)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX)
    }

    /// A ring for a channel of `capacity` messages.
    pub(super) fn new(capacity: usize) -> Ring<T> {
        let len = Self::slots_for(capacity);
        Ring {
            slots: (0..len)
                .map(|i| Slot {
                    stamp: AtomicUsize::new(free_for(i)),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
            mask: len - 1,
            tail: CachePadded::new(AtomicUsize::new(0)),
            head: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// Appends `value`. The caller holds one of the channel's capacity permits for
    /// it (see the module docs: that is what guarantees room).
    pub(super) fn push(&self, value: T) {
        let index = self.tail.fetch_add(1, Ordering::AcqRel);
        let slot = &self.slots[index & self.mask];
        let mut spins = 0u32;
        while slot.stamp.load(Ordering::Acquire) != free_for(index) {
            // Not reached while the permits are accounted for (module docs).
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            #[cfg(all(loom, test))]
            loom::thread::yield_now();
        }
        // SAFETY: the stamp says the slot is free for this index, which only this
        // sender claimed; the receiver does not read it before the stamp below.
        slot.value.with_mut(|cell| unsafe { (*cell).write(value) });
        slot.stamp.store(holding(index), Ordering::Release);
    }

    /// Takes the oldest message, if it has been published. Only the receiver calls
    /// this (or, once the receiver is gone, one drainer at a time).
    pub(super) fn pop(&self) -> Option<T> {
        let head = self.head.load(Ordering::Relaxed);
        let slot = &self.slots[head & self.mask];
        if slot.stamp.load(Ordering::Acquire) != holding(head) {
            // Empty, or the sender that claimed `head` has not written yet (it wakes
            // the receiver once it has).
            return None;
        }
        // SAFETY: the stamp (acquire) says the slot holds the message of `head`,
        // written before the stamp; no sender touches it until it is marked free.
        let value = slot
            .value
            .with(|cell| unsafe { (*cell).assume_init_read() });
        slot.stamp.store(
            free_for(head.wrapping_add(self.slots.len())),
            Ordering::Release,
        );
        self.head.store(head.wrapping_add(1), Ordering::Release);
        Some(value)
    }

    /// Messages claimed and not yet taken (including ones being written).
    pub(super) fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head)
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc;

    #[test]
    fn messages_come_out_in_order_across_many_laps() {
        let ring = Ring::new(3);
        assert_eq!(ring.slots.len(), 4);
        for lap in 0..10 {
            for i in 0..3 {
                ring.push(lap * 10 + i);
            }
            assert_eq!(ring.len(), 3);
            for i in 0..3 {
                assert_eq!(ring.pop(), Some(lap * 10 + i));
            }
            assert_eq!(ring.pop(), None);
        }
    }

    #[test]
    fn the_ring_size_is_the_capacity_rounded_up_to_a_power_of_two() {
        assert_eq!(Ring::<u64>::new(100).slots.len(), 128);
        assert_eq!(Ring::<u64>::new(1).slots.len(), 1);
        assert_eq!(Ring::<u64>::bytes_for(100), 128 * 16);
        assert_eq!(Ring::<[u8; 1000]>::bytes_for(100), 128 * 1008);
        assert_eq!(Ring::<u64>::bytes_for(usize::MAX), usize::MAX);
    }

    struct Counted(Arc<StdAtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn dropping_the_ring_drops_the_messages_left() {
        let dropped = Arc::new(StdAtomicUsize::new(0));
        let ring = Ring::new(4);
        for _ in 0..3 {
            ring.push(Counted(dropped.clone()));
        }
        drop(ring.pop());
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        drop(ring);
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Permits as the channel's semaphore hands them out: a counter the receiver
    /// increments after taking a message and a sender decrements before pushing.
    struct Permits(AtomicUsize);

    impl Permits {
        fn acquire(&self) {
            let mut n = self.0.load(Ordering::Acquire);
            loop {
                if n == 0 {
                    loom::thread::yield_now();
                    n = self.0.load(Ordering::Acquire);
                    continue;
                }
                match self
                    .0
                    .compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => return,
                    Err(actual) => n = actual,
                }
            }
        }

        fn release(&self) {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Receives `n` messages, giving a permit back after each (as the channel does).
    fn receive(ring: &Ring<usize>, permits: &Permits, n: usize) -> Vec<usize> {
        let mut got = Vec::new();
        while got.len() < n {
            match ring.pop() {
                Some(v) => {
                    got.push(v);
                    permits.release();
                }
                None => loom::thread::yield_now(),
            }
        }
        got
    }

    /// Two senders push through a one-slot ring, the second with the permit the
    /// receiver gave back after taking the first message: loom finds no data race on
    /// the reused slot (the permit hand-off orders the read before the next write)
    /// and both messages arrive once.
    #[test]
    fn loom_a_slot_is_reused_only_after_the_receiver_took_it() {
        loom::model(|| {
            let ring = Arc::new(Ring::new(1));
            let permits = Arc::new(Permits(AtomicUsize::new(1)));
            let senders: Vec<_> = (0..2)
                .map(|s| {
                    let (ring, permits) = (ring.clone(), permits.clone());
                    loom::thread::spawn(move || {
                        permits.acquire();
                        ring.push(s);
                    })
                })
                .collect();
            let mut got = receive(&ring, &permits, 2);
            for s in senders {
                s.join().unwrap();
            }
            got.sort_unstable();
            assert_eq!(got, vec![0, 1]);
        });
    }

    /// One sender laps a two-slot ring while the receiver drains it: the messages come
    /// out in order and the wrapped write does not race the read of its slot.
    #[test]
    fn loom_a_sender_laps_the_ring_in_order() {
        loom::model(|| {
            let ring = Arc::new(Ring::new(2));
            let permits = Arc::new(Permits(AtomicUsize::new(2)));
            let sender = {
                let (ring, permits) = (ring.clone(), permits.clone());
                loom::thread::spawn(move || {
                    for i in 0..3 {
                        permits.acquire();
                        ring.push(i);
                    }
                })
            };
            assert_eq!(receive(&ring, &permits, 3), vec![0, 1, 2]);
            sender.join().unwrap();
        });
    }
}
