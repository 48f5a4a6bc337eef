//! The runtime's timer queue: deadlines mapped to wakers, kept in a hierarchical
//! timer wheel.
//!
//! Every time-based thing in the runtime is a waker registered at a deadline: sleeps,
//! timeouts, intervals, budget deadlines (whose waker cancels the task) and drain
//! deadlines (whose waker lets the harness drop a task that ignored its cancellation).
//! The driver asks for the next deadline before parking and fires what has expired
//! after waking.
//!
//! ## The wheel
//!
//! Time is counted in whole milliseconds ("ticks") since the queue was created; a
//! deadline is rounded *up* to its tick, so a timer never fires early. Six levels of 64
//! slots each cover 64^6 ms (about 2.2 years); level `l` slot `s` holds the timers
//! whose tick differs from the wheel's current tick first in bits `6l..6l+6`. Insert
//! and cancel are O(1) (a push onto a slot, a swap-remove from it). Firing walks the
//! occupied slots in time order (a bitmask per level finds the next one); the timers
//! of a higher-level slot are re-inserted lower down ("cascade") when the wheel
//! reaches it, until they reach level 0 and fire. Deadlines beyond the wheel's range
//! sit in the last level and cascade until they are in range.
//!
//! ## Waking the driver
//!
//! On the multi-thread runtime the worker that parks until the next deadline calls
//! [`begin_park`](TimerQueue::begin_park); a timer inserted meanwhile with an earlier
//! deadline (from another thread) calls the wake hook so the driver re-arms in time.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::Duration;

use slab::Slab;

use super::Instant;

/// Identifies a registered timer so it can be re-armed or removed: a slab index and a
/// generation, so a stale key never touches a timer that reused the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey(u64);

impl TimerKey {
    fn new(index: usize, generation: u32) -> TimerKey {
        TimerKey((u64::from(generation) << 32) | index as u64)
    }

    fn index(self) -> usize {
        (self.0 & u64::from(u32::MAX)) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const LEVELS: usize = 6;
/// Ticks the wheel can hold ahead of its current tick.
const WHEEL_RANGE: u64 = 1 << (SLOT_BITS * LEVELS as u32);
/// Timers at least this far ahead wait in the overflow list: one top-level slot short
/// of the range, so a top-level slot never holds timers of two different laps.
const OVERFLOW_AFTER: u64 = WHEEL_RANGE - (WHEEL_RANGE >> SLOT_BITS);

/// What the wake hook does: wake whoever sleeps until the next deadline.
type WakeHook = Box<dyn Fn() + Send + Sync>;

pub(crate) struct TimerQueue {
    inner: Mutex<Wheel>,
    wake_hook: OnceLock<WakeHook>,
}

impl Default for TimerQueue {
    fn default() -> TimerQueue {
        TimerQueue::new(std::time::Instant::now().into())
    }
}

impl TimerQueue {
    /// A wheel whose millisecond grid starts at `origin`: the runtime clock's start, so
    /// that on a virtual clock a whole-millisecond sleep from the start lands exactly on
    /// its deadline (and a lab run does not depend on when, in real time, it started).
    pub(crate) fn new(origin: Instant) -> TimerQueue {
        TimerQueue {
            inner: Mutex::new(Wheel::new(origin)),
            wake_hook: OnceLock::new(),
        }
    }
}

struct Wheel {
    origin: Instant,
    /// The tick up to which the wheel has fired.
    elapsed: u64,
    entries: Slab<Entry>,
    levels: [Level; LEVELS],
    /// Timers already due when inserted; they fire on the next `fire_expired`.
    due: Vec<usize>,
    /// Timers beyond the wheel's range, and a lower bound of their ticks.
    overflow: Vec<usize>,
    overflow_min: u64,
    generation: u32,
    /// While a driver is parked: the tick it will wake at (`u64::MAX`: never).
    parked_until: Option<u64>,
}

struct Level {
    occupied: u64,
    slots: [Vec<usize>; SLOTS],
}

struct Entry {
    generation: u32,
    deadline: Instant,
    tick: u64,
    waker: Waker,
    place: Place,
}

#[derive(Clone, Copy)]
enum Place {
    Due(usize),
    Overflow(usize),
    Slot {
        level: usize,
        slot: usize,
        at: usize,
    },
}

impl TimerQueue {
    /// Installs the hook called when a timer is inserted with an earlier deadline than
    /// a parked driver will wake at. Set once, at runtime construction.
    pub(crate) fn set_wake_hook(&self, hook: WakeHook) {
        let _ = self.wake_hook.set(hook);
    }

    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let (key, wake_driver) = {
            let mut wheel = self.lock();
            let key = wheel.insert(deadline, waker);
            let tick = wheel.entries[key.index()].tick;
            let wake_driver = match wheel.parked_until {
                Some(until) if tick < until => {
                    // Wake the driver once; it re-reads the next deadline.
                    wheel.parked_until = Some(tick);
                    true
                }
                _ => false,
            };
            (key, wake_driver)
        };
        if wake_driver {
            if let Some(hook) = self.wake_hook.get() {
                hook();
            }
        }
        key
    }

    /// Replaces the waker of a registered timer unless it would wake the same task.
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) {
        let mut wheel = self.lock();
        if let Some(entry) = wheel.entry_mut(key) {
            if !entry.waker.will_wake(waker) {
                entry.waker = waker.clone();
            }
        }
    }

    /// Removes a timer; returns `false` if it already fired or was removed.
    pub(crate) fn remove(&self, key: TimerKey) -> bool {
        let removed = self.lock().remove(key);
        // The waker is dropped outside the lock: dropping it may run arbitrary code.
        removed.is_some()
    }

    /// When the driver must wake next: at or before the earliest deadline (never more
    /// than a tick after it), `None` with no timer registered.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let wheel = self.lock();
        wheel.next_tick().map(|tick| wheel.instant_of(tick))
    }

    /// Wakes every timer whose deadline is at or before `now`, in deadline order;
    /// returns how many fired.
    pub(crate) fn fire_expired(&self, now: Instant) -> usize {
        let expired = self.lock().expire(now);
        wake_all(expired)
    }

    /// [`fire_expired`](TimerQueue::fire_expired) unless another thread holds the
    /// queue right now (then it fires them): for busy workers that should not wait.
    pub(crate) fn try_fire_expired(&self, now: Instant) -> usize {
        let expired = match self.inner.try_lock() {
            Ok(mut wheel) => wheel.expire(now),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().expire(now),
            Err(std::sync::TryLockError::WouldBlock) => return 0,
        };
        wake_all(expired)
    }

    /// A driver is about to park: returns the instant it must wake at and, until
    /// [`end_park`](TimerQueue::end_park), has the wake hook called for any timer
    /// inserted with an earlier deadline.
    pub(crate) fn begin_park(&self) -> Option<Instant> {
        let mut wheel = self.lock();
        let next = wheel.next_tick();
        wheel.parked_until = Some(next.unwrap_or(u64::MAX));
        next.map(|tick| wheel.instant_of(tick))
    }

    pub(crate) fn end_park(&self) {
        self.lock().parked_until = None;
    }

    /// Drops every timer (their wakers with them).
    pub(crate) fn clear(&self) {
        let entries = {
            let mut wheel = self.lock();
            let origin = wheel.origin;
            std::mem::replace(&mut *wheel, Wheel::new(origin)).entries
        };
        drop(entries);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, Wheel> {
        // A panic never happens while the lock is held (no user code runs under it).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn wake_all(expired: Vec<Waker>) -> usize {
    // Woken outside the lock: a waker may re-register a timer.
    let fired = expired.len();
    for waker in expired {
        waker.wake();
    }
    fired
}

impl Wheel {
    fn new(origin: Instant) -> Wheel {
        Wheel {
            origin,
            elapsed: 0,
            entries: Slab::new(),
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                slots: std::array::from_fn(|_| Vec::new()),
            }),
            due: Vec::new(),
            overflow: Vec::new(),
            overflow_min: u64::MAX,
            generation: 0,
            parked_until: None,
        }
    }

    /// The tick of `deadline`, rounded up so that reaching the tick means the deadline
    /// has passed.
    fn tick_of(&self, deadline: Instant) -> u64 {
        let since = deadline.duration_since(self.origin);
        u64::try_from(since.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }

    /// The last tick that has fully passed at `now`.
    fn ticks_passed(&self, now: Instant) -> u64 {
        let since = now.duration_since(self.origin);
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }

    fn instant_of(&self, tick: u64) -> Instant {
        self.origin
            .checked_add(Duration::from_millis(tick))
            .unwrap_or_else(|| self.origin + Duration::from_secs(86400 * 365 * 30))
    }

    fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let tick = self.tick_of(deadline);
        let index = self.entries.insert(Entry {
            generation,
            deadline,
            tick,
            waker,
            place: Place::Due(0),
        });
        self.place(index);
        TimerKey::new(index, generation)
    }

    /// Puts entry `index` in the slot its tick belongs to (relative to `elapsed`).
    fn place(&mut self, index: usize) {
        let tick = self.entries[index].tick;
        let place = if tick <= self.elapsed {
            self.due.push(index);
            Place::Due(self.due.len() - 1)
        } else if tick - self.elapsed >= OVERFLOW_AFTER {
            self.overflow.push(index);
            self.overflow_min = self.overflow_min.min(tick);
            Place::Overflow(self.overflow.len() - 1)
        } else {
            let level = level_for(self.elapsed, tick);
            let slot = slot_for(tick, level);
            let slots = &mut self.levels[level];
            slots.slots[slot].push(index);
            slots.occupied |= 1 << slot;
            Place::Slot {
                level,
                slot,
                at: slots.slots[slot].len() - 1,
            }
        };
        self.entries[index].place = place;
    }

    fn entry_mut(&mut self, key: TimerKey) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index())
            .filter(|e| e.generation == key.generation())
    }

    fn remove(&mut self, key: TimerKey) -> Option<Entry> {
        self.entry_mut(key)?;
        let entry = self.entries.remove(key.index());
        self.unlink(key.index(), entry.place);
        Some(entry)
    }

    /// Takes `index` out of the list that holds it, fixing the position of the entry
    /// swapped into its place.
    fn unlink(&mut self, index: usize, place: Place) {
        let (list, at) = match place {
            Place::Due(at) => (&mut self.due, at),
            Place::Overflow(at) => (&mut self.overflow, at),
            Place::Slot { level, slot, at } => {
                let level = &mut self.levels[level];
                if level.slots[slot].len() == 1 {
                    level.occupied &= !(1 << slot);
                }
                (&mut level.slots[slot], at)
            }
        };
        debug_assert_eq!(list[at], index);
        list.swap_remove(at);
        if let Some(&moved) = list.get(at) {
            match &mut self.entries[moved].place {
                Place::Due(i) | Place::Overflow(i) | Place::Slot { at: i, .. } => *i = at,
            }
        }
    }

    /// The earliest tick at which some timer may be due.
    fn next_tick(&self) -> Option<u64> {
        if !self.due.is_empty() {
            return Some(self.elapsed);
        }
        let overflow = (!self.overflow.is_empty()).then_some(self.overflow_min);
        let wheel = self.next_slot().map(|(_, _, tick)| tick);
        wheel.into_iter().chain(overflow).min()
    }

    /// The occupied slot reached first from `elapsed`: (level, slot, its start tick).
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        (0..LEVELS)
            .filter_map(|level| {
                let occupied = self.levels[level].occupied;
                if occupied == 0 {
                    return None;
                }
                let slot_range = 1u64 << (SLOT_BITS * level as u32);
                let level_range = slot_range << SLOT_BITS;
                let now_slot = ((self.elapsed / slot_range) % SLOTS as u64) as u32;
                let slot =
                    (occupied.rotate_right(now_slot).trailing_zeros() + now_slot) % SLOTS as u32;
                let level_start = self.elapsed & !(level_range - 1);
                let mut start = level_start + u64::from(slot) * slot_range;
                if slot < now_slot {
                    // Only the last level wraps: a timer of the next lap.
                    start += level_range;
                }
                Some((level, slot as usize, start.max(self.elapsed)))
            })
            .min_by_key(|&(level, _, start)| (start, level))
    }

    /// Advances the wheel to `now`, returning the wakers of the timers that expired, in
    /// deadline order.
    fn expire(&mut self, now: Instant) -> Vec<Waker> {
        let now_tick = self.ticks_passed(now);
        loop {
            while let Some((level, slot, start)) = self.next_slot() {
                if start > now_tick {
                    break;
                }
                self.elapsed = self.elapsed.max(start);
                self.levels[level].occupied &= !(1 << slot);
                let timers = std::mem::take(&mut self.levels[level].slots[slot]);
                for index in timers {
                    // Due ones go to `due`, the others cascade to a lower level.
                    self.place(index);
                }
            }
            self.elapsed = self.elapsed.max(now_tick);
            if self.overflow.is_empty()
                || self.overflow_min.saturating_sub(self.elapsed) >= OVERFLOW_AFTER
            {
                break;
            }
            // The wheel came within range of the overflow: bring it in.
            self.overflow_min = u64::MAX;
            for index in std::mem::take(&mut self.overflow) {
                self.place(index);
            }
        }
        let fired = std::mem::take(&mut self.due);
        let mut fired: Vec<Entry> = fired.into_iter().map(|i| self.entries.remove(i)).collect();
        fired.sort_by_key(|e| e.deadline);
        fired.into_iter().map(|e| e.waker).collect()
    }
}

/// The level a timer at `tick` goes in when the wheel is at `elapsed`: the level of the
/// highest bit in which they differ.
fn level_for(elapsed: u64, tick: u64) -> usize {
    let differing = (elapsed ^ tick) | (SLOTS as u64 - 1);
    let significant = 63 - differing.leading_zeros();
    (significant / SLOT_BITS) as usize
}

fn slot_for(tick: u64, level: usize) -> usize {
    ((tick >> (SLOT_BITS * level as u32)) % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::CountingWake;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex as StdMutex};
    use std::task::Wake;

    /// Records its id in a shared log when woken.
    struct Recorder(u64, Arc<StdMutex<Vec<u64>>>);
    impl Wake for Recorder {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn fires_in_order_and_skips_removed() {
        let q = TimerQueue::default();
        let t0 = Instant::now();
        let counter = Arc::new(CountingWake::default());
        let waker = Waker::from(counter.clone());
        let late = q.insert(t0 + ms(30), waker.clone());
        let early = q.insert(t0 + ms(10), waker.clone());
        let removed = q.insert(t0 + ms(5), waker.clone());
        assert!(q.remove(removed));
        assert!(!q.remove(removed));
        let next = q.next_deadline().unwrap();
        assert!(next >= t0 + ms(10) && next <= t0 + ms(11), "{next:?}");
        assert_eq!(q.fire_expired(t0 + ms(20)), 1);
        assert_eq!(counter.count(), 1);
        assert!(!q.remove(early), "fired timers are gone");
        let next = q.next_deadline().unwrap();
        assert!(next >= t0 + ms(30) && next <= t0 + ms(31), "{next:?}");
        assert!(q.remove(late));
        assert_eq!(q.next_deadline(), None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn never_fires_early_and_fires_once_the_deadline_passed() {
        let q = TimerQueue::default();
        let t0 = q.lock().origin;
        let counter = Arc::new(CountingWake::default());
        let deadline = t0 + Duration::from_micros(10_500);
        q.insert(deadline, Waker::from(counter.clone()));
        assert_eq!(q.fire_expired(deadline - Duration::from_micros(1)), 0);
        assert_eq!(q.fire_expired(t0 + ms(10)), 0);
        assert_eq!(q.fire_expired(t0 + ms(11)), 1);
    }

    #[test]
    fn far_timers_cascade_down_the_levels() {
        let q = TimerQueue::default();
        let t0 = q.lock().origin;
        let log = Arc::new(StdMutex::new(Vec::new()));
        // One timer per level, plus one beyond the wheel's range.
        let offsets = [
            3u64,
            100,
            5_000,
            300_000,
            20_000_000,
            1_000_000_000,
            WHEEL_RANGE + 7,
        ];
        for (id, off) in offsets.iter().enumerate().rev() {
            q.insert(
                t0 + ms(*off),
                Waker::from(Arc::new(Recorder(id as u64, log.clone()))),
            );
        }
        for (id, off) in offsets.iter().enumerate() {
            let next = q.next_deadline().unwrap();
            assert!(
                next <= t0 + ms(*off),
                "next deadline {next:?} is past timer {id}"
            );
            assert_eq!(
                q.fire_expired(t0 + ms(off - 1)),
                0,
                "timer {id} fired early"
            );
            assert_eq!(q.fire_expired(t0 + ms(*off)), 1, "timer {id} did not fire");
        }
        assert_eq!(
            *log.lock().unwrap(),
            (0..offsets.len() as u64).collect::<Vec<_>>()
        );
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn the_wake_hook_runs_for_an_earlier_timer_while_parked() {
        let q = TimerQueue::default();
        let t0 = Instant::now();
        let hooked = Arc::new(AtomicUsize::new(0));
        let h = hooked.clone();
        q.set_wake_hook(Box::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        }));
        let waker = Waker::noop().clone();
        q.insert(t0 + ms(100), waker.clone());
        assert!(q.begin_park().is_some());
        q.insert(t0 + ms(200), waker.clone());
        assert_eq!(
            hooked.load(Ordering::SeqCst),
            0,
            "a later timer needs no wake-up"
        );
        q.insert(t0 + ms(50), waker.clone());
        assert_eq!(hooked.load(Ordering::SeqCst), 1);
        q.insert(t0 + ms(60), waker.clone());
        assert_eq!(
            hooked.load(Ordering::SeqCst),
            1,
            "the driver is already woken"
        );
        q.end_park();
        q.insert(t0 + ms(1), waker);
        assert_eq!(hooked.load(Ordering::SeqCst), 1, "nobody is parked");
    }

    mod model {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        #[derive(Debug, Clone)]
        enum Op {
            Insert(u64),
            Remove(usize),
            Advance(u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => prop_oneof![0u64..200, 0u64..20_000, 0u64..5_000_000].prop_map(Op::Insert),
                2 => any::<usize>().prop_map(Op::Remove),
                3 => prop_oneof![0u64..50, 0u64..3_000, 0u64..2_000_000].prop_map(Op::Advance),
            ]
        }

        proptest! {
            /// The wheel against a sorted map: the same timers fire at each step, in
            /// deadline order, none early; removal and next_deadline agree.
            #[test]
            fn the_wheel_behaves_like_a_sorted_map(ops in proptest::collection::vec(op(), 1..120)) {
                let q = TimerQueue::default();
                let t0 = q.lock().origin;
                let log = Arc::new(StdMutex::new(Vec::new()));
                let mut model: BTreeMap<(u64, u64), TimerKey> = BTreeMap::new();
                let mut keys: Vec<(u64, u64, TimerKey)> = Vec::new();
                let mut now_us = 0u64;
                for (id, op) in ops.into_iter().enumerate() {
                    let id = id as u64;
                    match op {
                        Op::Insert(offset_ms) => {
                            // Sub-millisecond deadlines exercise the rounding.
                            let at = now_us + offset_ms * 1000 + id % 1000;
                            let key = q.insert(t0 + Duration::from_micros(at),
                                Waker::from(Arc::new(Recorder(id, log.clone()))));
                            model.insert((at, id), key);
                            keys.push((at, id, key));
                        }
                        Op::Remove(i) if !keys.is_empty() => {
                            let (at, id, key) = keys[i % keys.len()];
                            prop_assert_eq!(q.remove(key), model.remove(&(at, id)).is_some());
                        }
                        Op::Remove(_) => {}
                        Op::Advance(by_ms) => {
                            now_us += by_ms * 1000 + 317;
                            q.fire_expired(t0 + Duration::from_micros(now_us));
                            let fired = std::mem::take(&mut *log.lock().unwrap());
                            // The model fires what is due; the wheel may hold back at
                            // most the timers of the tick not yet complete.
                            let due: Vec<(u64, u64)> = model.keys()
                                .filter(|(at, _)| at.div_ceil(1000) * 1000 <= now_us)
                                .copied().collect();
                            for k in &due { model.remove(k); }
                            let mut expected: Vec<u64> = due.iter().map(|(_, id)| *id).collect();
                            let mut got = fired.clone();
                            expected.sort_unstable();
                            got.sort_unstable();
                            prop_assert_eq!(got, expected);
                            let deadlines: Vec<u64> = fired.iter()
                                .map(|id| keys.iter().find(|k| k.1 == *id).unwrap().0).collect();
                            prop_assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "out of order: {:?}", deadlines);
                        }
                    }
                    prop_assert_eq!(q.len(), model.len());
                    let next = q.next_deadline();
                    match model.keys().next() {
                        None => prop_assert_eq!(next, None),
                        Some((at, _)) => {
                            let next = next.expect("a timer is pending");
                            let latest = t0 + Duration::from_millis(at.div_ceil(1000));
                            prop_assert!(next <= latest, "next {:?} after the earliest deadline", next);
                        }
                    }
                }
            }
        }
    }
}
