//! The IO reactor: `mio` readiness turned into task wake-ups.
//!
//! Every IO object ([`net`](crate::net), process pipes, signal pipes) registers its OS
//! source here once, edge-triggered for both directions, and gets a [`Registration`].
//! The registration keeps one readiness word and one waiter list per direction, so a
//! reading task and a writing task on the same socket (the two halves of a split
//! stream) never wake each other.
//!
//! The protocol an IO operation follows is the classic edge-triggered one:
//!
//! 1. `poll_read_ready` (or `_write_`) returns a [`ReadyEvent`] once the direction is
//!    ready, or registers the task's waker and returns `Pending`;
//! 2. the operation tries the non-blocking syscall;
//! 3. on `WouldBlock` it calls [`Registration::clear_readiness`] with the event and
//!    loops. The event carries the reactor's *tick*, so a readiness edge that arrived
//!    between the syscall and the clear is not erased (the clear is a compare-and-swap
//!    on the tick), and no wake-up is lost.
//!
//! # Who polls `mio`
//!
//! A scheduler thread that has nothing to run, as in Tokio: the [`IoDriver`] is the
//! [`Driver`] a [`Parker`](crate::runtime::park::Parker) sleeps in. On the
//! current-thread runtime that is the `block_on` thread whenever it parks; on the
//! multi-thread runtime it is the one parked worker that holds the driver token (the
//! others sleep on their condvars), and it wakes at the next timer deadline. Either
//! way one `epoll_wait` collects the readiness of every connection, the woken tasks
//! land in that thread's own queue, and no thread hand-off is paid per event. A busy
//! runtime still polls without blocking every few dozen task turns, so IO is not
//! starved while every thread has work. Waking a thread parked in `epoll_wait` goes
//! through the reactor's `mio::Waker`.
//!
//! The reactor is created with the runtime (an epoll instance and an eventfd), and
//! shut down with it ([`IoDriver::shutdown`]): pending IO then fails with an error
//! instead of hanging. The lab runtime has none: it never touches real epoll, and
//! registering a real socket there is an error (`lab::net` simulates the network).
//!
//! An earlier version polled `mio` on a dedicated driver thread; on the `tcp_echo`
//! benchmark it made about one `epoll_wait` and one cross-thread wake per message, 28
//! times Tokio's count, and was slower on every flavor, so it is gone.
//!
//! The read/write path allocates nothing: readiness is one atomic word, and waiting
//! reuses the waiter list's capacity (a waker clone is a reference-count increment).

mod blocking;
mod poll_evented;
mod scheduled_io;

pub(crate) use blocking::BlockingPool;
pub(crate) use poll_evented::PollEvented;
pub(crate) use scheduled_io::{Direction, ReadyEvent};
use scheduled_io::{ScheduledIo, ERROR, READABLE, READ_CLOSED, TICK_SHIFT, WRITABLE, WRITE_CLOSED};

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Poll as MioPoll, Token};
use slab::Slab;

use crate::runtime::park::Driver;
use crate::task::core::lock;

/// The token of the reactor's own waker (used to wake a thread parked in `epoll_wait`).
const WAKE_TOKEN: Token = Token(usize::MAX);
/// Tokens are `generation << GENERATION_SHIFT | slab index`, so an event for a source
/// that was deregistered is never delivered to a new source reusing its slot.
const GENERATION_SHIFT: u32 = 32;
const INDEX_MASK: usize = (1 << GENERATION_SHIFT) - 1;

/// What the driving thread and the registrations share.
struct ReactorInner {
    registry: mio::Registry,
    sources: Mutex<Sources>,
    waker: mio::Waker,
    stopped: AtomicBool,
}

#[derive(Default)]
struct Sources {
    slab: Slab<(u32, Arc<ScheduledIo>)>,
    generation: u32,
}

/// A source's place in the reactor; leaves the reactor's table on drop (the owning
/// [`PollEvented`] deregisters the OS source first).
pub(crate) struct Registration {
    reactor: Arc<ReactorInner>,
    io: Arc<ScheduledIo>,
    token: Token,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// Waits until the source is readable (or read-closed, or in error).
    pub(crate) fn poll_read_ready(&self, task: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(Direction::Read, task)
    }

    /// Waits until the source is writable (or write-closed, or in error).
    pub(crate) fn poll_write_ready(&self, task: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(Direction::Write, task)
    }

    fn poll_ready(
        &self,
        direction: Direction,
        task: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        // A socket that is always ready (a fast peer) must not keep the worker.
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        match self.io.poll_ready(direction, task) {
            Poll::Ready(event) => Poll::Ready(Ok(event)),
            Poll::Pending if self.reactor.stopped.load(Ordering::Acquire) => {
                Poll::Ready(Err(reactor_gone()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Forgets the readiness `event` reported, after the syscall said `WouldBlock`.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs a non-blocking `op` once the direction is ready, clearing readiness and
    /// waiting again on `WouldBlock`: the loop every IO operation is made of.
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        task: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = std::task::ready!(match direction {
                Direction::Read => self.poll_read_ready(task),
                Direction::Write => self.poll_write_ready(task),
            })?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Deregisters `source` (which must be the source this registration was made for).
    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.reactor.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let index = self.token.0 & INDEX_MASK;
        let mut sources = lock(&self.reactor.sources);
        if sources
            .slab
            .get(index)
            .is_some_and(|(_, io)| Arc::ptr_eq(io, &self.io))
        {
            sources.slab.remove(index);
        }
    }
}

fn reactor_gone() -> io::Error {
    io::Error::other("the runtime's IO reactor has shut down")
}

/// The IO settings a [`RuntimeBuilder`](crate::RuntimeBuilder) collects.
#[derive(Debug, Clone)]
pub(crate) struct IoConfig {
    pub(crate) thread_name: String,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) shutdown_on_ctrl_c: bool,
}

impl Default for IoConfig {
    fn default() -> Self {
        IoConfig {
            thread_name: "asupersync-worker".to_string(),
            max_blocking_threads: blocking::DEFAULT_MAX_THREADS,
            blocking_keep_alive: blocking::DEFAULT_KEEP_ALIVE,
            shutdown_on_ctrl_c: false,
        }
    }
}

/// The runtime's IO side: the reactor (`None` on the lab runtime) and the blocking pool.
pub(crate) struct IoDriver {
    reactor: Option<Reactor>,
    pub(crate) blocking: BlockingPool,
    /// The SIGINT listener of a runtime built with `shutdown_on_ctrl_c(true)`.
    pub(crate) shutdown_listener: Mutex<Option<crate::signal::ShutdownListener>>,
}

struct Reactor {
    inner: Arc<ReactorInner>,
    /// The poller, taken by the one thread that drives (the schedulers never let two
    /// try at once; the `try_lock` makes a mistake a skipped poll, not a deadlock).
    poller: Mutex<Poller>,
}

struct Poller {
    poll: MioPoll,
    events: Events,
    /// The wakers of one turn, woken after the source table's lock is released
    /// (kept to reuse its capacity).
    wake: Vec<Waker>,
    tick: usize,
}

impl IoDriver {
    /// The IO side of a real runtime: creates the epoll instance now.
    pub(crate) fn new(config: &IoConfig) -> io::Result<IoDriver> {
        let poll = MioPoll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let reactor = Reactor {
            inner: Arc::new(ReactorInner {
                registry,
                sources: Mutex::new(Sources::default()),
                waker,
                stopped: AtomicBool::new(false),
            }),
            poller: Mutex::new(Poller {
                poll,
                events: Events::with_capacity(1024),
                wake: Vec::with_capacity(64),
                tick: 0,
            }),
        };
        Ok(IoDriver::with_reactor(config, Some(reactor)))
    }

    /// The IO side of the lab runtime: a blocking pool, no reactor.
    pub(crate) fn without_reactor(config: &IoConfig) -> IoDriver {
        IoDriver::with_reactor(config, None)
    }

    fn with_reactor(config: &IoConfig, reactor: Option<Reactor>) -> IoDriver {
        let blocking = BlockingPool::new(&config.thread_name);
        blocking.configure(config.max_blocking_threads, config.blocking_keep_alive);
        IoDriver {
            reactor,
            blocking,
            shutdown_listener: Mutex::new(None),
        }
    }

    /// Registers `source` for both directions, edge-triggered (`cx.runtime().io
    /// .register(..)`; [`PollEvented::new`] does it for IO types).
    pub(crate) fn register(&self, source: &mut impl Source) -> io::Result<Registration> {
        let Some(reactor) = &self.reactor else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the lab runtime does not drive real IO; use asupersync::lab::net",
            ));
        };
        let reactor = &reactor.inner;
        if reactor.stopped.load(Ordering::Acquire) {
            return Err(reactor_gone());
        }
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut sources = lock(&reactor.sources);
            sources.generation = sources.generation.wrapping_add(1);
            let generation = sources.generation;
            let index = sources.slab.insert((generation, io.clone()));
            assert!(index <= INDEX_MASK, "too many IO sources registered");
            Token(((generation as usize) << GENERATION_SHIFT) | index)
        };
        let registration = Registration {
            reactor: reactor.clone(),
            io,
            token,
        };
        reactor
            .registry
            .register(source, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(registration)
    }

    /// Polls for readiness without blocking and wakes the ready tasks: what a busy
    /// scheduler thread does now and then. Returns at once if another thread drives.
    pub(crate) fn poll_now(&self) {
        self.poll_events(Some(Duration::ZERO));
        self.dispatch_events();
    }

    /// One `epoll_wait` of at most `timeout` (`None`: until woken); records the new
    /// readiness of every source and collects their waiting wakers for
    /// [`dispatch_events`](IoDriver::dispatch_events).
    fn poll_events(&self, timeout: Option<Duration>) {
        let Some(reactor) = &self.reactor else {
            return;
        };
        let Ok(mut poller) = reactor.poller.try_lock() else {
            return;
        };
        let poller = &mut *poller;
        if let Err(e) = poller.poll.poll(&mut poller.events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                // An unusable poller: stop, and let waiting IO see the error.
                self.stop_reactor(reactor);
            }
            return;
        }
        poller.tick = poller.tick.wrapping_add(1) & (usize::MAX >> TICK_SHIFT);
        let sources = lock(&reactor.inner.sources);
        for event in poller.events.iter() {
            let token = event.token();
            if token == WAKE_TOKEN {
                continue;
            }
            let index = token.0 & INDEX_MASK;
            let generation = (token.0 >> GENERATION_SHIFT) as u32;
            let Some((live_generation, io)) = sources.slab.get(index) else {
                continue;
            };
            if *live_generation != generation {
                continue;
            }
            io.set_readiness(readiness_of(event), poller.tick, &mut poller.wake);
        }
    }

    /// Wakes the tasks the last [`poll_events`](IoDriver::poll_events) found ready,
    /// with no lock held (a woken task may be scheduled, and so run, right here).
    fn dispatch_events(&self) {
        let Some(reactor) = &self.reactor else {
            return;
        };
        let mut wake = match reactor.poller.try_lock() {
            Ok(mut poller) if !poller.wake.is_empty() => std::mem::take(&mut poller.wake),
            _ => return,
        };
        for waker in wake.drain(..) {
            waker.wake();
        }
        // Hand the capacity back for the next turn.
        if let Ok(mut poller) = reactor.poller.try_lock() {
            if poller.wake.is_empty() {
                poller.wake = wake;
            }
        }
    }

    /// Marks the reactor stopped and wakes every waiting IO operation (which then
    /// fails) and any thread blocked in `epoll_wait`.
    fn stop_reactor(&self, reactor: &Reactor) {
        let inner = &reactor.inner;
        inner.stopped.store(true, Ordering::Release);
        let _ = inner.waker.wake();
        let sources: Vec<Arc<ScheduledIo>> = lock(&inner.sources)
            .slab
            .iter()
            .map(|(_, (_, io))| io.clone())
            .collect();
        for io in sources {
            io.wake_all();
        }
    }

    /// Stops the reactor and the blocking pool (joining its threads). Idempotent.
    pub(crate) fn shutdown(&self) {
        drop(lock(&self.shutdown_listener).take());
        if let Some(reactor) = &self.reactor {
            self.stop_reactor(reactor);
        }
        self.blocking.shutdown();
    }
}

/// A parked scheduler thread sleeps in `epoll_wait`.
impl Driver for IoDriver {
    fn park(&self, timeout: Option<Duration>) {
        self.poll_events(timeout);
    }

    fn dispatch(&self) {
        self.dispatch_events();
    }

    fn wake(&self) {
        if let Some(reactor) = &self.reactor {
            let _ = reactor.inner.waker.wake();
        }
    }
}

fn readiness_of(event: &mio::event::Event) -> usize {
    let mut ready = 0;
    if event.is_readable() {
        ready |= READABLE;
    }
    if event.is_writable() {
        ready |= WRITABLE;
    }
    if event.is_read_closed() {
        ready |= READ_CLOSED;
    }
    if event.is_write_closed() {
        ready |= WRITE_CLOSED;
    }
    if event.is_error() {
        ready |= ERROR;
    }
    ready
}
