//! The readiness state of one registered source: the part of the reactor that the
//! driving thread and IO tasks touch concurrently, so it is modelled with loom.
//!
//! Readiness is one atomic word, `tick << TICK_SHIFT | bits`; waiters are lists of
//! wakers under a mutex that is taken only to wait and to wake. The driver sets
//! readiness *before* it takes the waiter lock, and a task re-checks readiness *under*
//! the lock before parking its waker, so an edge is either seen by the task or wakes
//! it. A clear is a compare-and-swap on the tick, so an edge that arrived after the
//! event the task acted on survives the clear.

use crate::loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex, MutexGuard,
};
use std::task::{Context, Poll, Waker};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Readiness bits kept in the low byte of a registration's readiness word; the rest of
/// the word is the tick of the last event that set them.
pub(crate) const READABLE: usize = 0b0001;
pub(crate) const WRITABLE: usize = 0b0010;
pub(crate) const READ_CLOSED: usize = 0b0100;
pub(crate) const WRITE_CLOSED: usize = 0b1000;
pub(crate) const ERROR: usize = 0b1_0000;
const READINESS_MASK: usize = 0xff;
pub(crate) const TICK_SHIFT: u32 = 8;

/// Which direction an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that end a wait in this direction (closing and errors count:
    /// the syscall will then report them).
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// The bits a `WouldBlock` clears. A pending socket error is consumed by the
    /// syscall that reports it, so a `WouldBlock` means it is gone and the bit must
    /// go too (else the direction would stay "ready" and the IO loop would spin).
    /// Closed states are final: the syscall keeps reporting them (end of stream,
    /// broken pipe) and never says `WouldBlock`.
    fn clearable(self) -> usize {
        match self {
            Direction::Read => READABLE | ERROR,
            Direction::Write => WRITABLE | ERROR,
        }
    }
}

/// Proof that a direction was ready at some tick; hand it back to
/// [`Registration::clear_readiness`] after a `WouldBlock`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyEvent {
    tick: usize,
    direction: Direction,
}

/// The per-source state shared by the driving thread and the IO object.
#[derive(Debug)]
pub(crate) struct ScheduledIo {
    /// `tick << TICK_SHIFT | readiness bits`.
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Debug, Default)]
struct Waiters {
    read: Vec<Waker>,
    write: Vec<Waker>,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Records an event's readiness under a new tick and moves the wakers it concerns
    /// into `wake`.
    pub(crate) fn set_readiness(&self, ready: usize, tick: usize, wake: &mut Vec<Waker>) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            let next = (tick << TICK_SHIFT) | (current & READINESS_MASK) | ready;
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let mut waiters = lock(&self.waiters);
        if ready & Direction::Read.mask() != 0 {
            wake.append(&mut waiters.read);
        }
        if ready & Direction::Write.mask() != 0 {
            wake.append(&mut waiters.write);
        }
    }

    pub(crate) fn ready_event(&self, direction: Direction) -> Option<ReadyEvent> {
        let word = self.readiness.load(Ordering::Acquire);
        (word & direction.mask() != 0).then_some(ReadyEvent {
            tick: word >> TICK_SHIFT,
            direction,
        })
    }

    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        task: &mut Context<'_>,
    ) -> Poll<ReadyEvent> {
        if let Some(event) = self.ready_event(direction) {
            return Poll::Ready(event);
        }
        let mut waiters = lock(&self.waiters);
        // Re-check under the lock: the driver sets readiness before taking the lock to
        // collect wakers, so a readiness edge is either seen here or wakes us.
        if let Some(event) = self.ready_event(direction) {
            return Poll::Ready(event);
        }
        let list = match direction {
            Direction::Read => &mut waiters.read,
            Direction::Write => &mut waiters.write,
        };
        if !list.iter().any(|w| w.will_wake(task.waker())) {
            list.push(task.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            if current >> TICK_SHIFT != event.tick {
                // A newer event arrived after the one the caller acted on: keep it.
                return;
            }
            let next = current & !event.direction.clearable();
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Wakes every waiter (used when the reactor stops: their IO can no longer make
    /// progress and they must see an error rather than hang).
    pub(crate) fn wake_all(&self) {
        let wakers: Vec<Waker> = {
            let mut waiters = lock(&self.waiters);
            let waiters = &mut *waiters;
            waiters
                .read
                .drain(..)
                .chain(waiters.write.drain(..))
                .collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    //! `RUSTFLAGS="--cfg loom" cargo test -p asupersync --lib loom_models`
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    /// A readiness edge racing with a task that is about to park is never lost: the
    /// task either sees the readiness or is woken (loom reports a deadlock otherwise).
    #[test]
    fn an_edge_racing_with_parking_wakes_the_task() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let driver_io = io.clone();
            let driver = loom::thread::spawn(move || {
                let mut wake = Vec::new();
                driver_io.set_readiness(READABLE, 1, &mut wake);
                for waker in wake {
                    waker.wake();
                }
            });
            loom::future::block_on(std::future::poll_fn(|task| {
                io.poll_ready(Direction::Read, task).map(|_| ())
            }));
            driver.join().unwrap();
        });
    }

    /// A task that acted on an old event and got `WouldBlock` must not erase a newer
    /// edge when it clears: it sees the new data without another edge.
    #[test]
    fn a_clear_keeps_an_edge_that_arrived_after_the_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            // An earlier edge whose data the task already consumed.
            io.set_readiness(READABLE, 1, &mut Vec::new());
            let data = Arc::new(AtomicBool::new(false));
            let (driver_io, driver_data) = (io.clone(), data.clone());
            let driver = loom::thread::spawn(move || {
                driver_data.store(true, Ordering::Release);
                let mut wake = Vec::new();
                driver_io.set_readiness(READABLE, 2, &mut wake);
                for waker in wake {
                    waker.wake();
                }
            });
            loom::future::block_on(std::future::poll_fn(|task| loop {
                let event = std::task::ready!(io.poll_ready(Direction::Read, task));
                if data.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                // The "syscall" said WouldBlock.
                io.clear_readiness(event);
            }));
            driver.join().unwrap();
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_support::CountingWake;
    use std::sync::Arc;

    #[test]
    fn a_write_edge_neither_wakes_nor_readies_a_reader() {
        let io = ScheduledIo::new();
        let reader = Arc::new(CountingWake::default());
        let writer = Arc::new(CountingWake::default());
        let reader_waker = Waker::from(reader.clone());
        let writer_waker = Waker::from(writer.clone());
        assert!(io
            .poll_ready(Direction::Read, &mut Context::from_waker(&reader_waker))
            .is_pending());
        assert!(io
            .poll_ready(Direction::Write, &mut Context::from_waker(&writer_waker))
            .is_pending());
        let mut wake = Vec::new();
        io.set_readiness(WRITABLE, 1, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(reader.count(), 0);
        assert_eq!(writer.count(), 1);
        assert!(io
            .poll_ready(Direction::Read, &mut Context::from_waker(&reader_waker))
            .is_pending());
        let write = io.poll_ready(Direction::Write, &mut Context::from_waker(&writer_waker));
        let Poll::Ready(event) = write else {
            panic!("the write edge was recorded")
        };
        // A clear with the current tick forgets the edge; an older tick would not.
        io.clear_readiness(event);
        assert!(io
            .poll_ready(Direction::Write, &mut Context::from_waker(&writer_waker))
            .is_pending());
        io.set_readiness(READ_CLOSED, 2, &mut wake);
        assert_eq!(wake.len(), 1, "read-closed ends a read wait");
    }

    #[test]
    fn an_error_edge_is_cleared_by_a_would_block() {
        let io = ScheduledIo::new();
        let waker = Waker::from(Arc::new(CountingWake::default()));
        let mut task = Context::from_waker(&waker);
        io.set_readiness(ERROR, 1, &mut Vec::new());
        let Poll::Ready(event) = io.poll_ready(Direction::Read, &mut task) else {
            panic!("an error ends a read wait")
        };
        // The syscall reported (and so consumed) the error, then said WouldBlock.
        io.clear_readiness(event);
        assert!(io.poll_ready(Direction::Read, &mut task).is_pending());
    }
}
