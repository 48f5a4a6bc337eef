//! A simulated network for lab tests: named hosts, listeners and byte streams over
//! links with latency, jitter, loss and partitions.
//!
//! Everything runs in the lab's virtual time, and every random choice (jitter, which
//! segment is lost) comes from a generator seeded from the lab's seed, so a server and
//! its clients run deterministically and a failing interleaving replays exactly.
//!
//! Streams keep TCP's contract: bytes arrive intact and in order, or not at all. A lost
//! segment models a retransmission (it arrives one retransmission timeout later and
//! holds back what follows), so loss shows up as delay and head-of-line blocking, the
//! way an application sees it. While two hosts are partitioned their segments are held
//! and delivered after [`SimNet::heal`], and a connect across the partition fails with
//! [`io::ErrorKind::TimedOut`] after the connect timeout.
//!
//! [`SimStream`] implements the `futures-io` traits, so the `asupersync::io` extension
//! traits (`read(&cx, ..)`, `write_all`, `lines()`, ...) work on it as on a socket.
//!
//! ```
//! use std::time::Duration;
//! use asupersync::io::{AsyncReadExt, AsyncWriteExt};
//! use asupersync::lab::net::{Link, SimNet};
//! use asupersync::lab::{LabConfig, LabRuntime};
//!
//! let report = LabRuntime::new(LabConfig::seed(1)).block_on(|cx| async move {
//!     let net = SimNet::new(&cx);
//!     net.set_default_link(Link::latency(Duration::from_millis(20)));
//!     let listener = net.host("server").listen(80).unwrap();
//!     let server = cx.spawn(move |cx| async move {
//!         let (mut stream, _peer) = listener.accept(&cx).await.unwrap();
//!         let mut buf = [0u8; 5];
//!         stream.read_exact(&cx, &mut buf).await.unwrap();
//!         stream.write_all(&cx, &buf).await.unwrap();
//!     });
//!     let mut client = net.host("client").connect(&cx, "server", 80).await.unwrap();
//!     let sent = cx.now();
//!     client.write_all(&cx, b"hello").await.unwrap();
//!     let mut echo = [0u8; 5];
//!     client.read_exact(&cx, &mut echo).await.unwrap();
//!     server.join(&cx).await.unwrap();
//!     (echo, cx.now() - sent)
//! });
//! let (echo, round_trip) = report.unwrap();
//! assert_eq!(&echo, b"hello");
//! assert_eq!(round_trip, Duration::from_millis(40)); // one way and back, in virtual time
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::rng::SplitMix64;
use crate::runtime::shared::RuntimeShared;
use crate::time::timer::TimerKey;
use crate::time::Instant;
use crate::Cx;

/// The behaviour of the link between two hosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// One-way delay of every segment.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per segment (order is kept).
    pub jitter: Duration,
    /// Probability that a segment is lost and retransmitted.
    pub loss: f64,
    /// How much later a lost segment arrives.
    pub retransmit_after: Duration,
}

impl Link {
    /// A link with this one-way latency and nothing else.
    pub fn latency(latency: Duration) -> Link {
        Link {
            latency,
            jitter: Duration::ZERO,
            loss: 0.0,
            retransmit_after: (latency * 3).max(Duration::from_millis(1)),
        }
    }

    /// Adds per-segment jitter.
    pub fn jitter(mut self, jitter: Duration) -> Link {
        self.jitter = jitter;
        self
    }

    /// Sets the probability that a segment is lost (and retransmitted).
    pub fn loss(mut self, probability: f64) -> Link {
        self.loss = probability.clamp(0.0, 1.0);
        self
    }

    /// Sets the retransmission delay of a lost segment.
    pub fn retransmit_after(mut self, delay: Duration) -> Link {
        self.retransmit_after = delay;
        self
    }
}

impl Default for Link {
    fn default() -> Link {
        Link::latency(Duration::from_millis(1))
    }
}

/// A simulated network; cheap to clone (clones share it).
#[derive(Clone)]
pub struct SimNet {
    inner: Arc<NetInner>,
}

struct NetInner {
    rt: Arc<RuntimeShared>,
    state: Mutex<NetState>,
}

struct NetState {
    rng: SplitMix64,
    default_link: Link,
    links: HashMap<(Arc<str>, Arc<str>), Link>,
    partitions: HashSet<(Arc<str>, Arc<str>)>,
    listeners: HashMap<(Arc<str>, u16), Weak<ListenerState>>,
    pipes: Vec<Weak<Pipe>>,
    connect_timeout: Duration,
}

/// An unordered pair of host names, as a map key.
fn pair(a: &str, b: &str) -> (Arc<str>, Arc<str>) {
    if a <= b {
        (a.into(), b.into())
    } else {
        (b.into(), a.into())
    }
}

impl SimNet {
    /// A network on `cx`'s runtime. Under the lab its generator is seeded from the
    /// lab's seed, so the same seed gives the same latencies and losses.
    pub fn new(cx: &Cx) -> SimNet {
        let rt = cx.runtime().clone();
        let seed = rt.lab().map_or(0, |lab| lab.seed());
        SimNet {
            inner: Arc::new(NetInner {
                rt,
                state: Mutex::new(NetState {
                    // A different stream of numbers from the scheduler's.
                    rng: SplitMix64::new(seed ^ 0x6E65_745F_7369_6D31),
                    default_link: Link::default(),
                    links: HashMap::new(),
                    partitions: HashSet::new(),
                    listeners: HashMap::new(),
                    pipes: Vec::new(),
                    connect_timeout: Duration::from_secs(1),
                }),
            }),
        }
    }

    /// A host on this network (hosts exist by name; this only names one).
    pub fn host(&self, name: &str) -> SimHost {
        SimHost {
            net: self.clone(),
            name: name.into(),
        }
    }

    /// The link used between hosts that have none of their own.
    pub fn set_default_link(&self, link: Link) {
        self.lock().default_link = link;
    }

    /// The link between `a` and `b` (both directions).
    pub fn set_link(&self, a: &str, b: &str, link: Link) {
        self.lock().links.insert(pair(a, b), link);
    }

    /// How long a connect across a partition waits before failing.
    pub fn set_connect_timeout(&self, timeout: Duration) {
        self.lock().connect_timeout = timeout;
    }

    /// Cuts `a` off from `b`: segments between them are held until [`heal`](SimNet::heal);
    /// connects fail with `TimedOut`.
    pub fn partition(&self, a: &str, b: &str) {
        self.lock().partitions.insert(pair(a, b));
    }

    /// Ends a partition: held segments are sent now, in order.
    pub fn heal(&self, a: &str, b: &str) {
        let key = pair(a, b);
        let pipes: Vec<Arc<Pipe>> = {
            let mut state = self.lock();
            state.partitions.remove(&key);
            state.pipes.retain(|p| p.strong_count() > 0);
            state
                .pipes
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|p| pair(&p.from, &p.to) == key)
                .collect()
        };
        for pipe in pipes {
            let mut segments = pipe.lock();
            let mut previous = segments.last_scheduled();
            let mut released = false;
            for segment in segments.queue.iter_mut().filter(|s| s.deliver_at.is_none()) {
                let at = self
                    .send_time(&pipe.from, &pipe.to)
                    .max(previous.unwrap_or_else(|| self.now()));
                segment.deliver_at = Some(at);
                previous = Some(at);
                released = true;
            }
            let waker = if released {
                segments.reader.take()
            } else {
                None
            };
            drop(segments);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    fn now(&self) -> Instant {
        self.inner.rt.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, NetState> {
        crate::task::core::lock(&self.inner.state)
    }

    fn link(&self, a: &str, b: &str) -> Link {
        let state = self.lock();
        state
            .links
            .get(&pair(a, b))
            .copied()
            .unwrap_or(state.default_link)
    }

    fn partitioned(&self, a: &str, b: &str) -> bool {
        self.lock().partitions.contains(&pair(a, b))
    }

    /// When a segment sent now from `from` to `to` arrives (before ordering).
    fn send_time(&self, from: &str, to: &str) -> Instant {
        let link = self.link(from, to);
        let mut state = self.lock();
        let mut delay = link.latency;
        if !link.jitter.is_zero() {
            let nanos = u64::try_from(link.jitter.as_nanos()).unwrap_or(u64::MAX);
            delay += Duration::from_nanos(state.rng.below(nanos.saturating_add(1)));
        }
        if link.loss > 0.0 && state.rng.chance(link.loss) {
            delay += link.retransmit_after;
        }
        drop(state);
        self.now() + delay
    }

    fn new_pipe(&self, from: &Arc<str>, to: &Arc<str>) -> Arc<Pipe> {
        let pipe = Arc::new(Pipe {
            from: from.clone(),
            to: to.clone(),
            state: Mutex::new(PipeState::default()),
        });
        self.lock().pipes.push(Arc::downgrade(&pipe));
        pipe
    }
}

impl fmt::Debug for SimNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimNet").finish_non_exhaustive()
    }
}

/// A named host on a [`SimNet`].
#[derive(Debug, Clone)]
pub struct SimHost {
    net: SimNet,
    name: Arc<str>,
}

impl SimHost {
    /// The host's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Listens on `port`; `AddrInUse` if something already does.
    pub fn listen(&self, port: u16) -> io::Result<SimListener> {
        let key = (self.name.clone(), port);
        let mut state = self.net.lock();
        if state
            .listeners
            .get(&key)
            .is_some_and(|l| l.strong_count() > 0)
        {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{}:{port} is already listening", self.name),
            ));
        }
        let listener = Arc::new(ListenerState::default());
        state.listeners.insert(key, Arc::downgrade(&listener));
        Ok(SimListener {
            net: self.net.clone(),
            state: listener,
        })
    }

    /// Connects to `host:port`: one round trip of the link, `ConnectionRefused` if
    /// nothing listens there, `TimedOut` after the connect timeout across a partition.
    /// Cancel-aware.
    pub async fn connect(&self, cx: &Cx, host: &str, port: u16) -> io::Result<SimStream> {
        cx.checkpoint()?;
        let net = &self.net;
        if net.partitioned(&self.name, host) {
            let timeout = net.lock().connect_timeout;
            crate::time::sleep(cx, timeout).await?;
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connect to {host}:{port} timed out: {} is partitioned from it",
                    self.name
                ),
            ));
        }
        let link = net.link(&self.name, host);
        let listener = net
            .lock()
            .listeners
            .get(&(Arc::from(host), port))
            .and_then(Weak::upgrade);
        let Some(listener) = listener else {
            crate::time::sleep(cx, link.latency * 2).await?;
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("nothing listens on {host}:{port}"),
            ));
        };
        let remote: Arc<str> = host.into();
        let to_server = net.new_pipe(&self.name, &remote);
        let to_client = net.new_pipe(&remote, &self.name);
        let server_side = SimStream::new(
            net,
            to_client.clone(),
            to_server.clone(),
            remote.clone(),
            self.name.clone(),
        );
        let client_side = SimStream::new(net, to_server, to_client, self.name.clone(), remote);
        // The handshake: the SYN reaches the listener, the SYN-ACK comes back.
        let arrives = net.send_time(&self.name, host);
        let back = net.send_time(host, &self.name) - net.now();
        listener.push(arrives, server_side);
        crate::time::sleep_until(cx, arrives + back).await?;
        Ok(client_side)
    }
}

#[derive(Default)]
struct ListenerState {
    inner: Mutex<ListenerInner>,
}

#[derive(Default)]
struct ListenerInner {
    backlog: VecDeque<(Instant, SimStream)>,
    waker: Option<Waker>,
}

impl ListenerState {
    fn push(&self, arrives: Instant, stream: SimStream) {
        let mut inner = crate::task::core::lock(&self.inner);
        inner.backlog.push_back((arrives, stream));
        let waker = inner.waker.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A listener on a [`SimHost`]; closes when dropped.
pub struct SimListener {
    net: SimNet,
    state: Arc<ListenerState>,
}

impl SimListener {
    /// Waits for the next connection: the stream and the connecting host's name.
    /// Cancel-aware.
    pub async fn accept(&self, cx: &Cx) -> io::Result<(SimStream, String)> {
        let mut timer = TimerSlot::new(&self.net);
        poll_fn(|task| {
            cx.checkpoint()?;
            let mut inner = crate::task::core::lock(&self.state.inner);
            match inner.backlog.front() {
                Some((arrives, _)) if *arrives <= self.net.now() => {
                    let (_, stream) = inner.backlog.pop_front().expect("front exists");
                    let peer = stream.peer.to_string();
                    Poll::Ready(Ok((stream, peer)))
                }
                front => {
                    if let Some((arrives, _)) = front {
                        timer.arm(*arrives, task.waker());
                    }
                    inner.waker = Some(task.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl fmt::Debug for SimListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimListener").finish_non_exhaustive()
    }
}

/// One direction of a connection.
struct Pipe {
    from: Arc<str>,
    to: Arc<str>,
    state: Mutex<PipeState>,
}

#[derive(Default)]
struct PipeState {
    queue: VecDeque<Segment>,
    reader: Option<Waker>,
    /// The writer closed (a FIN is queued).
    closed: bool,
    /// The reading end was dropped: writes fail with `BrokenPipe`.
    reader_gone: bool,
}

struct Segment {
    data: Vec<u8>,
    read: usize,
    /// `None` while held by a partition.
    deliver_at: Option<Instant>,
    fin: bool,
}

impl PipeState {
    fn last_scheduled(&self) -> Option<Instant> {
        self.queue.iter().rev().find_map(|s| s.deliver_at)
    }
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        crate::task::core::lock(&self.state)
    }

    /// Queues a segment, in order after everything already queued.
    fn send(&self, net: &SimNet, data: Vec<u8>, fin: bool) {
        let held = net.partitioned(&self.from, &self.to);
        let at = (!held).then(|| net.send_time(&self.from, &self.to));
        let mut state = self.lock();
        let deliver_at = match at {
            // Nothing overtakes a held segment: later ones wait for the heal too.
            Some(_) if state.queue.iter().any(|s| s.deliver_at.is_none()) => None,
            Some(at) => Some(state.last_scheduled().map_or(at, |prev| prev.max(at))),
            None => None,
        };
        state.queue.push_back(Segment {
            data,
            read: 0,
            deliver_at,
            fin,
        });
        let waker = state.reader.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A connected byte stream between two hosts. Implements `futures-io`'s `AsyncRead`
/// and `AsyncWrite`; dropping it closes its writing direction (the peer reads EOF).
pub struct SimStream {
    net: SimNet,
    rx: Arc<Pipe>,
    tx: Arc<Pipe>,
    local: Arc<str>,
    peer: Arc<str>,
    read_timer: Option<TimerKey>,
}

impl SimStream {
    fn new(
        net: &SimNet,
        rx: Arc<Pipe>,
        tx: Arc<Pipe>,
        local: Arc<str>,
        peer: Arc<str>,
    ) -> SimStream {
        SimStream {
            net: net.clone(),
            rx,
            tx,
            local,
            peer,
            read_timer: None,
        }
    }

    /// This end's host name.
    pub fn local_host(&self) -> &str {
        &self.local
    }

    /// The other end's host name.
    pub fn peer_host(&self) -> &str {
        &self.peer
    }

    fn clear_timer(&mut self) {
        if let Some(key) = self.read_timer.take() {
            self.net.inner.rt.timers.remove(key);
        }
    }
}

impl futures_io::AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        task: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let now = this.net.now();
        let mut state = this.rx.lock();
        let wait_until = match state.queue.front_mut() {
            Some(segment) if segment.deliver_at.is_some_and(|at| at <= now) => {
                if segment.fin {
                    drop(state);
                    this.clear_timer();
                    return Poll::Ready(Ok(0));
                }
                let n = buf.len().min(segment.data.len() - segment.read);
                buf[..n].copy_from_slice(&segment.data[segment.read..segment.read + n]);
                segment.read += n;
                if segment.read == segment.data.len() {
                    state.queue.pop_front();
                }
                drop(state);
                this.clear_timer();
                return Poll::Ready(Ok(n));
            }
            Some(segment) => segment.deliver_at,
            None => None,
        };
        state.reader = Some(task.waker().clone());
        drop(state);
        this.clear_timer();
        if let Some(at) = wait_until {
            this.read_timer = Some(this.net.inner.rt.timers.insert(at, task.waker().clone()));
        }
        Poll::Pending
    }
}

impl futures_io::AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _task: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let state = self.tx.lock();
        if state.reader_gone || state.closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection is closed",
            )));
        }
        drop(state);
        self.tx.send(&self.net, buf.to_vec(), false);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.tx.lock();
        if !std::mem::replace(&mut state.closed, true) {
            drop(state);
            self.tx.send(&self.net, Vec::new(), true);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        self.clear_timer();
        self.rx.lock().reader_gone = true;
        let mut state = self.tx.lock();
        if !std::mem::replace(&mut state.closed, true) {
            drop(state);
            self.tx.send(&self.net, Vec::new(), true);
        }
    }
}

impl fmt::Debug for SimStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// A timer re-armed on every pending poll, removed when dropped.
struct TimerSlot<'a> {
    net: &'a SimNet,
    key: Option<TimerKey>,
}

impl<'a> TimerSlot<'a> {
    fn new(net: &'a SimNet) -> Self {
        TimerSlot { net, key: None }
    }

    fn arm(&mut self, at: Instant, waker: &Waker) {
        let timers = &self.net.inner.rt.timers;
        if let Some(old) = self.key.replace(timers.insert(at, waker.clone())) {
            timers.remove(old);
        }
    }
}

impl Drop for TimerSlot<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.net.inner.rt.timers.remove(key);
        }
    }
}
