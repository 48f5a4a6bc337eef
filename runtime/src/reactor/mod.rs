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
//! A dedicated driver thread per runtime, started lazily by the first registration and
//! stopped and joined when the runtime is dropped ([`IoDriver::shutdown`]), so no
//! thread outlives its runtime. A driver thread works the same under every scheduler
//! flavor and keeps the schedulers free of IO concerns; its cost is one cross-thread
//! wake per readiness edge. Everything the rest of the crate sees is the small API
//! below (`register`, `poll_read_ready`, `poll_write_ready`, `clear_readiness`), so
//! polling can move into a parked worker later without touching the IO types, if the
//! `vs_tokio` benchmarks say it pays.
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
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Poll as MioPoll, Token};
use slab::Slab;

use crate::task::core::lock;

/// The token of the driver's own waker (used to stop the thread).
const WAKE_TOKEN: Token = Token(usize::MAX);
/// Tokens are `generation << GENERATION_SHIFT | slab index`, so an event for a source
/// that was deregistered is never delivered to a new source reusing its slot.
const GENERATION_SHIFT: u32 = 32;
const INDEX_MASK: usize = (1 << GENERATION_SHIFT) - 1;

/// What the driver thread and the registrations share.
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

/// The runtime's IO side: the reactor (started on first use) and the blocking pool.
pub(crate) struct IoDriver {
    reactor: OnceLock<io::Result<Arc<ReactorInner>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_name: String,
    pub(crate) blocking: BlockingPool,
    /// The SIGINT listener of a runtime built with `shutdown_on_ctrl_c(true)`.
    pub(crate) shutdown_listener: Mutex<Option<crate::signal::ShutdownListener>>,
    /// Set by `shutdown`: no reactor thread starts after it.
    closed: AtomicBool,
}

impl IoDriver {
    pub(crate) fn new(config: &IoConfig) -> IoDriver {
        let blocking = BlockingPool::new(&config.thread_name);
        blocking.configure(config.max_blocking_threads, config.blocking_keep_alive);
        IoDriver {
            reactor: OnceLock::new(),
            thread: Mutex::new(None),
            thread_name: config.thread_name.clone(),
            blocking,
            shutdown_listener: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    fn reactor(&self) -> io::Result<&Arc<ReactorInner>> {
        self.reactor
            .get_or_init(|| self.start())
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))
    }

    fn start(&self) -> io::Result<Arc<ReactorInner>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(reactor_gone());
        }
        let poll = MioPoll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let inner = Arc::new(ReactorInner {
            registry,
            sources: Mutex::new(Sources::default()),
            waker,
            stopped: AtomicBool::new(false),
        });
        let driver = inner.clone();
        let handle = std::thread::Builder::new()
            .name(format!("{}-io", self.thread_name))
            .spawn(move || drive(poll, &driver))?;
        *lock(&self.thread) = Some(handle);
        Ok(inner)
    }

    /// Registers `source` for both directions, edge-triggered (`cx.runtime().io
    /// .register(..)`; [`PollEvented::new`] does it for IO types).
    pub(crate) fn register(&self, source: &mut impl Source) -> io::Result<Registration> {
        let reactor = self.reactor()?;
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

    /// Stops and joins the driver thread and the blocking pool. Idempotent.
    pub(crate) fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        drop(lock(&self.shutdown_listener).take());
        if let Some(Ok(reactor)) = self.reactor.get() {
            reactor.stopped.store(true, Ordering::Release);
            let _ = reactor.waker.wake();
            if let Some(handle) = lock(&self.thread).take() {
                let _ = handle.join();
            }
            let sources: Vec<Arc<ScheduledIo>> = lock(&reactor.sources)
                .slab
                .iter()
                .map(|(_, (_, io))| io.clone())
                .collect();
            for io in sources {
                io.wake_all();
            }
        }
        self.blocking.shutdown();
    }
}

/// The driver thread's loop.
fn drive(mut poll: MioPoll, reactor: &ReactorInner) {
    let mut events = Events::with_capacity(1024);
    let mut wake: Vec<Waker> = Vec::with_capacity(64);
    let mut tick: usize = 0;
    while !reactor.stopped.load(Ordering::Acquire) {
        if let Err(e) = poll.poll(&mut events, None::<Duration>) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // An unusable poller: stop, and let waiting IO see the error.
            reactor.stopped.store(true, Ordering::Release);
            break;
        }
        tick = tick.wrapping_add(1) & (usize::MAX >> TICK_SHIFT);
        {
            let sources = lock(&reactor.sources);
            for event in events.iter() {
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
                io.set_readiness(readiness_of(event), tick, &mut wake);
            }
        }
        for waker in wake.drain(..) {
            waker.wake();
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
