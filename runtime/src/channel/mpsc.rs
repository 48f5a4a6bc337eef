//! Multi-producer, single-consumer channels: bounded (two-phase sends, back-pressure)
//! and unbounded.
//!
//! ```
//! use asupersync::channel::mpsc;
//! # let rt = asupersync::RuntimeBuilder::current_thread().build().unwrap();
//! # rt.block_on(|cx| async move {
//! let (tx, mut rx) = mpsc::channel::<u32>(4);
//! let permit = tx.reserve(&cx).await.unwrap(); // waits for a slot; cancel-safe
//! permit.send(7); // cannot fail
//! tx.send(&cx, 8).await.unwrap(); // reserve + send
//! assert_eq!(rx.recv(&cx).await.unwrap(), 7);
//! assert_eq!(rx.recv(&cx).await.unwrap(), 8);
//! # }).unwrap();
//! ```
//!
//! # No lock between senders and the receiver
//!
//! A mutex around the queue made every message cost two lock round trips between the
//! senders' core and the receiver's: with the receiver on one core and the senders on
//! the other, the lock's cache line crossed over on every push and every pop and both
//! sides spun waiting for it (`mpsc_contention_full` in `docs/performance.md`). Now:
//!
//! - the messages of a bounded channel sit in a lock-free ring (`channel/ring.rs`,
//!   allocated up front, so only when its slots take at most 32 KiB): a sender claims
//!   an index on a word only senders write and publishes its message in the slot, the
//!   receiver reads the slot. Larger and unbounded channels use crossbeam's lock-free
//!   segmented queue (`Injector`, which grows as messages arrive);
//! - the sender count and the receiver's state (`RX_CLOSED`, `RX_DROPPED`,
//!   `RX_WAITING`) are atomics;
//! - the receiver's waker sits in an `AtomicWaker` (`sync/atomic_waker.rs`). A
//!   receiver that finds the queue empty registers it and *announces* `RX_WAITING`,
//!   then looks again; a sender pushes, then reads the state and wakes the receiver
//!   only if it was announced. Both the announcement and the sender's read are
//!   read-modify-writes of the state word, so one of the two sees the other (a plain
//!   load on the sender's side would allow the store-buffering outcome where neither
//!   does; the loom model finds it). Unlike an `AtomicWaker::wake` per push, a push
//!   while the receiver is busy touches no line the receiver writes.
//! - a receiver that is dropped marks itself so, then drops what is queued; a sender
//!   whose message landed after that drain sees the mark (same argument) and drops it.
//!
//! The interleavings are checked with loom
//! (`RUSTFLAGS="--cfg loom" cargo test -p asupersync --lib --release mpsc::loom`).

use crossbeam_deque::{Injector, Steal};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

use super::ring::Ring;

use crate::cancel::Cancelled;
use crate::cx::Cx;
use crate::obligation::ObligationToken;
use crate::sync::atomic_waker::AtomicWaker;
use crate::sync::sem::{AcquireCore, AcquireFailed, SemCore, TryAcquireFailed};

/// The error types, under Tokio's path (`mpsc::error::SendError`).
pub mod error {
    pub use super::{RecvError, ReserveError, SendError, TryRecvError, TrySendError};
}

/// Why a send failed; the value comes back.
#[derive(Clone, PartialEq, Eq)]
pub enum SendError<T> {
    /// The receiver was dropped or closed the channel.
    Closed(T),
    /// The sending task was cancelled while it waited for a slot.
    Cancelled(T),
}

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendError::Closed(v) | SendError::Cancelled(v) => v,
        }
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::Cancelled(_) => f.write_str("Cancelled(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("channel closed"),
            SendError::Cancelled(_) => f.write_str("send cancelled"),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why a `try_send` failed; the value comes back.
#[derive(Clone, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No free slot right now.
    Full(T),
    /// The receiver was dropped or closed the channel.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full"),
            TrySendError::Closed(_) => f.write_str("channel closed"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why a `reserve` failed.
#[derive(Debug, Clone)]
pub enum ReserveError {
    /// The receiver was dropped or closed the channel.
    Closed,
    /// The task was cancelled while it waited; no slot is held.
    Cancelled(Cancelled),
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReserveError::Closed => f.write_str("channel closed"),
            ReserveError::Cancelled(c) => write!(f, "reserve cancelled: {c}"),
        }
    }
}

impl std::error::Error for ReserveError {}

/// Why a `recv` returned no message.
#[derive(Debug, Clone)]
pub enum RecvError {
    /// Every sender is gone (or the channel was closed) and no message is left.
    Closed,
    /// The task was cancelled while it waited; nothing was taken.
    Cancelled(Cancelled),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("channel closed"),
            RecvError::Cancelled(c) => write!(f, "receive cancelled: {c}"),
        }
    }
}

impl std::error::Error for RecvError {}

impl From<Cancelled> for RecvError {
    fn from(c: Cancelled) -> Self {
        RecvError::Cancelled(c)
    }
}

/// Why a `try_recv` returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message right now.
    Empty,
    /// Every sender is gone and no message is left.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Disconnected => f.write_str("channel closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// The state both halves share; see the [module docs](self) for why no lock is held
/// between senders and the receiver.
/// Bounded channels count free slots in `slots`: a slot is taken by `reserve` and
/// given back when the receiver takes the message (or when a permit is dropped
/// unused).
struct Chan<T> {
    /// The messages, oldest first (a lock-free FIFO). Senders push; the receiver
    /// takes. Once the receiver is gone, whoever finds messages left drops them.
    queue: Queue<T>,
    /// Live [`Sender`]s (weak senders do not count). Each sender's pushes happen
    /// before its decrement, so a receiver that reads 0 and then finds the queue
    /// empty has seen every message.
    senders: AtomicUsize,
    /// `RX_CLOSED | RX_DROPPED | RX_WAITING`.
    rx_state: AtomicUsize,
    /// The receiver's waker: registered (and announced with `RX_WAITING`) before its
    /// last look at the queue; woken by the first push that sees the announcement,
    /// and when the last sender goes.
    rx_waker: AtomicWaker,
    /// Serialises the drains of a dropped receiver's queue (the receiver's own and
    /// those of senders whose message landed after it): the queue has one consumer.
    drain_lock: Mutex<()>,
    slots: Option<SemCore>,
    capacity: usize,
}

/// The largest ring of slots allocated up front when a bounded channel is made; a
/// channel whose ring would be larger (and an unbounded one) keeps its messages in a
/// growable queue. 32 KiB: 2,048 slots of a word-sized message.
const MAX_RING_BYTES: usize = 32 * 1024;

/// Where the messages wait: a lock-free [`Ring`] for a bounded channel of modest
/// capacity (every message in it holds a slot, so it never overflows), a lock-free
/// segmented queue otherwise (it allocates a block per 63 messages as they arrive).
/// A mutex around a `VecDeque` cost `mpsc_contention` (capacity 1,000,000) twice the
/// time whenever the receiver and the senders ran on different cores.
// One per channel, inside its `Arc`: boxing the ring would add an indirection to every
// push and pop to save a few hundred bytes per channel.
#[allow(clippy::large_enum_variant)]
enum Queue<T> {
    Ring(Ring<T>),
    Segmented(Injector<T>),
}

impl<T> Queue<T> {
    fn new(capacity: Option<usize>) -> Queue<T> {
        match capacity {
            Some(capacity) if Ring::<T>::bytes_for(capacity) <= MAX_RING_BYTES => {
                Queue::Ring(Ring::new(capacity))
            }
            _ => Queue::Segmented(Injector::new()),
        }
    }

    /// Appends a message. For the ring the caller holds the message's slot.
    fn push(&self, value: T) {
        match self {
            Queue::Ring(ring) => ring.push(value),
            Queue::Segmented(queue) => queue.push(value),
        }
    }

    /// Takes the oldest message. One caller at a time (the ring has one consumer):
    /// the receiver, or once it is gone a drainer holding [`Chan::drain_lock`].
    fn pop(&self) -> Option<T> {
        match self {
            Queue::Ring(ring) => ring.pop(),
            Queue::Segmented(queue) => loop {
                match queue.steal() {
                    Steal::Success(value) => return Some(value),
                    Steal::Empty => return None,
                    // A spurious compare-and-swap failure (there is one consumer).
                    Steal::Retry => std::hint::spin_loop(),
                }
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            Queue::Ring(ring) => ring.len(),
            Queue::Segmented(queue) => queue.len(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under these locks (values are dropped after them).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The receiver closed the channel (or was dropped): no new messages are accepted.
const RX_CLOSED: usize = 1;
/// The receiver was dropped: messages left in the queue are dropped by whoever sees
/// them.
const RX_DROPPED: usize = 2;
/// The receiver found the queue empty and registered its waker: the next push wakes
/// it. Without it a push touches no line the receiver writes.
const RX_WAITING: usize = 4;

impl<T> Chan<T> {
    fn new(capacity: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            queue: Queue::new(capacity),
            senders: AtomicUsize::new(1),
            rx_state: AtomicUsize::new(0),
            rx_waker: AtomicWaker::new(),
            drain_lock: Mutex::new(()),
            slots: capacity.map(SemCore::new),
            capacity: capacity.unwrap_or(usize::MAX),
        })
    }

    /// Queues a message (its slot, if bounded, is already held). A closed receiver
    /// refuses it, and the slot goes back.
    fn push(&self, value: T) -> Result<(), T> {
        if self.is_closed() {
            self.release_slot();
            return Err(value);
        }
        self.queue.push(value);
        // Against the receiver announcing that it waits (or that it is dropped), then
        // looking at the queue: both are read-modify-writes of `rx_state`, so one
        // comes first; if it is this one, the announcement reads what it released and
        // the receiver's look sees the message; otherwise this sees the announcement.
        let state = self.rx_state.fetch_add(0, Ordering::AcqRel);
        if state & (RX_WAITING | RX_DROPPED) != 0 {
            self.after_push_seen(state);
        }
        Ok(())
    }

    #[cold]
    fn after_push_seen(&self, state: usize) {
        if state & RX_DROPPED != 0 {
            self.drop_queued();
        } else {
            // Clear first: a registration after this is announced again, and this
            // wake takes whatever waker is registered by then.
            self.rx_state.fetch_and(!RX_WAITING, Ordering::AcqRel);
            self.rx_waker.wake();
        }
    }

    /// The oldest message, if any, without giving its slot back. Only the receiver
    /// calls it (see [`drop_queued`](Chan::drop_queued) for after).
    fn take(&self) -> Option<T> {
        self.queue.pop()
    }

    /// The oldest message, if any; its slot goes back.
    fn pop(&self) -> Option<T> {
        let value = self.take()?;
        self.release_slot();
        Some(value)
    }

    /// Drops the messages of a receiver that is gone.
    fn drop_queued(&self) {
        let _one_consumer = lock(&self.drain_lock);
        while let Some(value) = self.take() {
            drop(value);
        }
    }

    fn release_slot(&self) {
        if let Some(slots) = &self.slots {
            slots.release(1);
        }
    }

    fn close_rx(&self) {
        self.rx_state.fetch_or(RX_CLOSED, Ordering::AcqRel);
        if let Some(slots) = &self.slots {
            slots.close();
        }
    }

    /// The receiver is dropped: nothing will be received any more, so the messages
    /// queued are dropped now (not when the last sender goes).
    fn drop_rx(&self) {
        self.rx_state
            .fetch_or(RX_CLOSED | RX_DROPPED, Ordering::AcqRel);
        if let Some(slots) = &self.slots {
            slots.close();
        }
        // Its task is going away: let go of its waker (a reference to the task).
        self.rx_waker.clear();
        // The mark above is ordered against `push`'s read of it (see there).
        self.drop_queued();
    }

    fn is_closed(&self) -> bool {
        self.rx_state.load(Ordering::Acquire) & RX_CLOSED != 0
    }

    /// Adds a sender if one still exists (a weak sender upgrading).
    fn upgrade(&self) -> bool {
        let mut senders = self.senders.load(Ordering::Acquire);
        loop {
            if senders == 0 {
                return false;
            }
            match self.senders.compare_exchange_weak(
                senders,
                senders + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => senders = actual,
            }
        }
    }

    fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.rx_waker.wake();
        }
    }

    /// `true` once no sender is left. Read *before* a last look at the queue: the
    /// senders' pushes happen before their decrements, so that look sees them all.
    fn senders_gone(&self) -> bool {
        self.senders.load(Ordering::Acquire) == 0
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        if let Some(v) = self.pop() {
            return Ok(v);
        }
        if self.senders_gone() {
            return self.pop().ok_or(TryRecvError::Disconnected);
        }
        Err(TryRecvError::Empty)
    }

    /// One poll of a receive. The cancellation check comes first and takes nothing,
    /// so a cancelled receive leaves every message queued.
    fn poll_recv(&self, cx: &Cx, task: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // Before taking anything: a spent turn budget yields with the message queued.
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        cx.checkpoint()?;
        self.poll_message(task.waker())
    }

    /// A message, the end of the channel, or `Pending` with `waker` registered.
    fn poll_message(&self, waker: &Waker) -> Poll<Result<T, RecvError>> {
        if let Some(v) = self.pop() {
            return Poll::Ready(Ok(v));
        }
        // Register and announce, then look again: a message pushed before the
        // announcement is found now, one pushed after it wakes the task (see `push`).
        self.rx_waker.register(waker);
        self.rx_state.fetch_or(RX_WAITING, Ordering::AcqRel);
        let result = if self.senders_gone() || self.is_closed() {
            self.pop().ok_or(RecvError::Closed)
        } else {
            match self.pop() {
                Some(v) => Ok(v),
                None => return Poll::Pending,
            }
        };
        // Not waiting after all: spare the senders a wake-up.
        self.rx_state.fetch_and(!RX_WAITING, Ordering::AcqRel);
        Poll::Ready(result)
    }

    fn poll_recv_many(
        &self,
        cx: &Cx,
        buffer: &mut Vec<T>,
        limit: usize,
        task: &mut Context<'_>,
    ) -> Poll<Result<usize, Cancelled>> {
        if limit == 0 {
            return Poll::Ready(Ok(0));
        }
        match self.poll_recv(cx, task) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(RecvError::Closed)) => Poll::Ready(Ok(0)),
            Poll::Ready(Err(RecvError::Cancelled(c))) => Poll::Ready(Err(c)),
            Poll::Ready(Ok(first)) => {
                buffer.push(first);
                let mut taken = 1;
                while taken < limit {
                    let Some(v) = self.take() else {
                        break;
                    };
                    buffer.push(v);
                    taken += 1;
                }
                if let Some(slots) = &self.slots {
                    slots.release(taken - 1);
                }
                Poll::Ready(Ok(taken))
            }
        }
    }
}

/// A bounded channel of `capacity` messages (at least 1).
///
/// Sends wait for a free slot: `reserve(&cx)` then `permit.send(v)`, or
/// `send(&cx, v)` which does both.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Chan::new(Some(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// An unbounded channel: sends never wait.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(None);
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// The sending half of a bounded channel. Clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Waits for a free slot and holds it in a [`Permit`]. Cancel-safe: if the task
    /// is cancelled while waiting, `Err(ReserveError::Cancelled)` and no slot is held.
    #[track_caller]
    pub fn reserve<'a, 'c>(&'a self, cx: &'c Cx) -> Reserve<'a, 'c, T>
    where
        'a: 'c,
    {
        Reserve {
            sender: self,
            acquire: AcquireCore::new(cx, self.slots(), 1),
            location: Location::caller(),
        }
    }

    /// Holds a free slot now, if there is one.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.slots().try_acquire(1) {
            Ok(()) => Ok(Permit {
                sender: self,
                _token: ObligationToken::untracked(),
                sent: false,
            }),
            Err(TryAcquireFailed::Closed) => Err(TrySendError::Closed(())),
            Err(TryAcquireFailed::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// Waits for a slot, then sends `value`. If the task is cancelled while waiting,
    /// the value comes back in `SendError::Cancelled` and nothing was sent; if the
    /// receiver is gone, it comes back in `SendError::Closed`.
    pub fn send<'a, 'c>(&'a self, cx: &'c Cx, value: T) -> Send<'a, 'c, T>
    where
        'a: 'c,
    {
        Send {
            sender: self,
            acquire: AcquireCore::new(cx, self.slots(), 1),
            value: Some(value),
        }
    }

    /// Sends now if a slot is free.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.try_reserve() {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(value)),
        }
    }

    /// Free slots right now.
    pub fn capacity(&self) -> usize {
        self.slots().available()
    }

    /// The channel's capacity.
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity
    }

    /// `true` once the receiver is gone or closed the channel.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// `true` if both senders send into the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// A handle that does not keep the channel open (see [`WeakSender`]).
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// Like [`reserve`](Sender::reserve), for a permit that owns the sender (so it
    /// can be moved into another task). `Err` gives the sender back.
    #[track_caller]
    pub fn reserve_owned(self, cx: &Cx) -> ReserveOwned<'_, T> {
        ReserveOwned {
            sender: Some(self),
            cx,
            key: None,
            location: Location::caller(),
        }
    }

    /// Like [`try_reserve`](Sender::try_reserve), for an owned permit.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        match self.slots().try_acquire(1) {
            Ok(()) => Ok(OwnedPermit {
                sender: Some(self),
                _token: ObligationToken::untracked(),
            }),
            Err(TryAcquireFailed::Closed) => Err(TrySendError::Closed(self)),
            Err(TryAcquireFailed::NoPermits) => Err(TrySendError::Full(self)),
        }
    }

    fn slots(&self) -> &SemCore {
        self.chan
            .slots
            .as_ref()
            .expect("a bounded channel has slots")
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("max_capacity", &self.max_capacity())
            .finish()
    }
}

/// A sender that does not keep the channel open: once every [`Sender`] is gone,
/// [`upgrade`](WeakSender::upgrade) returns `None` and the receiver sees the end.
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakSender<T> {
    /// A sender again, if some sender still exists.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().then(|| Sender {
            chan: self.chan.clone(),
        })
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

/// The future returned by [`Sender::reserve_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReserveOwned<'cx, T> {
    sender: Option<Sender<T>>,
    cx: &'cx Cx,
    key: Option<usize>,
    location: &'static Location<'static>,
}

impl<T> Unpin for ReserveOwned<'_, T> {}

impl<T> Future for ReserveOwned<'_, T> {
    type Output = Result<OwnedPermit<T>, (Sender<T>, ReserveError)>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sender = this
            .sender
            .as_ref()
            .expect("ReserveOwned polled after completion");
        let result =
            std::task::ready!(sender.slots().poll_acquire(this.cx, &mut this.key, 1, task));
        let sender = this.sender.take().expect("checked above");
        Poll::Ready(match result {
            Ok(()) => Ok(OwnedPermit {
                sender: Some(sender),
                _token: ObligationToken::track(this.cx, "mpsc send permit", this.location),
            }),
            Err(AcquireFailed::Closed) => Err((sender, ReserveError::Closed)),
            Err(AcquireFailed::Cancelled(c)) => Err((sender, ReserveError::Cancelled(c))),
        })
    }
}

impl<T> Drop for ReserveOwned<'_, T> {
    fn drop(&mut self) {
        if let (Some(sender), Some(key)) = (&self.sender, self.key.take()) {
            sender.slots().leave(key);
        }
    }
}

impl<T> fmt::Debug for ReserveOwned<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReserveOwned").finish_non_exhaustive()
    }
}

/// A reserved slot that owns its [`Sender`]; [`send`](OwnedPermit::send) gives the
/// sender back. An obligation, like [`Permit`].
#[must_use = "a permit holds a slot until it is used or dropped"]
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
    _token: ObligationToken,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot and returns the sender.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("a permit sends once");
        let _ = sender.chan.push(value);
        sender
    }

    /// Gives the slot back unused and returns the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is released once");
        sender.chan.release_slot();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.chan.release_slot();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

/// The future returned by [`Sender::reserve`].
#[must_use = "futures do nothing unless awaited"]
pub struct Reserve<'a, 'c, T> {
    sender: &'a Sender<T>,
    acquire: AcquireCore<'c>,
    location: &'static Location<'static>,
}

impl<'a, T> Future for Reserve<'a, '_, T> {
    type Output = Result<Permit<'a, T>, ReserveError>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match std::task::ready!(this.acquire.poll(task)) {
            Ok(()) => Poll::Ready(Ok(Permit {
                sender: this.sender,
                _token: ObligationToken::track(this.acquire.cx, "mpsc send permit", this.location),
                sent: false,
            })),
            Err(AcquireFailed::Closed) => Poll::Ready(Err(ReserveError::Closed)),
            Err(AcquireFailed::Cancelled(c)) => Poll::Ready(Err(ReserveError::Cancelled(c))),
        }
    }
}

impl<T> fmt::Debug for Reserve<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve").finish_non_exhaustive()
    }
}

/// The future returned by [`Sender::send`].
///
/// It takes a slot and fills it in the same poll, so unlike [`Reserve`] it records
/// no obligation: the slot never exists apart from the message.
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, 'c, T> {
    sender: &'a Sender<T>,
    acquire: AcquireCore<'c>,
    value: Option<T>,
}

impl<T> Unpin for Send<'_, '_, T> {}

impl<T> Future for Send<'_, '_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let result = std::task::ready!(this.acquire.poll(task));
        let value = this.value.take().expect("Send polled after completion");
        Poll::Ready(match result {
            // `push` gives the slot back itself when the receiver has gone.
            Ok(()) => this.sender.chan.push(value).map_err(SendError::Closed),
            Err(AcquireFailed::Closed) => Err(SendError::Closed(value)),
            Err(AcquireFailed::Cancelled(_)) => Err(SendError::Cancelled(value)),
        })
    }
}

impl<T> fmt::Debug for Send<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").finish_non_exhaustive()
    }
}

/// A reserved slot in a bounded channel: [`send`](Permit::send) cannot fail or wait.
/// Dropping the permit unused gives the slot back. An obligation: a permit that
/// outlives its region is reported as a leak.
#[must_use = "a permit holds a slot until it is used or dropped"]
pub struct Permit<'a, T> {
    sender: &'a Sender<T>,
    _token: ObligationToken,
    sent: bool,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot. If the receiver has gone meanwhile the
    /// value is dropped (nobody could receive it).
    pub fn send(mut self, value: T) {
        // The slot now belongs to the message: the receiver gives it back.
        self.sent = true;
        let _ = self.sender.chan.push(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        if !self.sent {
            self.sender.chan.release_slot();
        }
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Waits for a message. `Err(RecvError::Closed)` once every sender is gone and the
    /// queue is empty; `Err(RecvError::Cancelled)` if the task is cancelled, with the
    /// queue untouched.
    pub fn recv<'a>(&'a mut self, cx: &'a Cx) -> Recv<'a, T> {
        Recv {
            chan: &self.chan,
            cx,
        }
    }

    /// A message now, if there is one.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Waits for at least one message, then moves up to `limit` into `buffer`.
    /// Returns how many; `Ok(0)` means the channel is closed and empty (or `limit`
    /// is 0).
    pub async fn recv_many(
        &mut self,
        cx: &Cx,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Result<usize, Cancelled> {
        std::future::poll_fn(|task| self.chan.poll_recv_many(cx, buffer, limit, task)).await
    }

    /// Closes the channel: senders fail from now on, messages already queued can
    /// still be received.
    pub fn close(&mut self) {
        self.chan.close_rx();
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// `true` if no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.slots.as_ref().map_or(0, SemCore::available)
    }

    /// The channel's capacity.
    pub fn max_capacity(&self) -> usize {
        self.chan.capacity
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_rx();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .finish()
    }
}

/// The future returned by `recv`.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    cx: &'a Cx,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        self.chan.poll_recv(self.cx, task)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// The sending half of an unbounded channel.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends without waiting; `Err` once the receiver is gone or closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.push(value).map_err(SendError::Closed)
    }

    /// `true` once the receiver is gone or closed the channel.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// A handle that does not keep the channel open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }

    /// `true` if both senders send into the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

/// An unbounded sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakUnboundedSender<T> {
    /// A sender again, if some sender still exists.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().then(|| UnboundedSender {
            chan: self.chan.clone(),
        })
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedReceiver<T> {
    /// Waits for a message; see [`Receiver::recv`].
    pub fn recv<'a>(&'a mut self, cx: &'a Cx) -> Recv<'a, T> {
        Recv {
            chan: &self.chan,
            cx,
        }
    }

    /// A message now, if there is one.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// See [`Receiver::recv_many`].
    pub async fn recv_many(
        &mut self,
        cx: &Cx,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Result<usize, Cancelled> {
        std::future::poll_fn(|task| self.chan.poll_recv_many(cx, buffer, limit, task)).await
    }

    /// Closes the channel; queued messages can still be received.
    pub fn close(&mut self) {
        self.chan.close_rx();
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// `true` if no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.drop_rx();
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::test_support::CountingWake;
    use loom::sync::Arc as LoomArc;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    /// The receiver finds the queue empty and waits while a sender pushes: either its
    /// second look finds the message or the push wakes it (the `RX_WAITING`
    /// announcement against the push's read-modify-write). On the ring: crossbeam's
    /// segmented queue is not built on loom's atomics, and the protocol around both
    /// is the same code.
    #[test]
    fn loom_a_push_racing_the_receivers_wait_is_not_lost() {
        loom::model(|| {
            let chan = LoomArc::new(Chan::<u32>::new(Some(1)));
            if let Some(slots) = &chan.slots {
                slots.try_acquire(1).unwrap();
            }
            let sender = {
                let chan = chan.clone();
                loom::thread::spawn(move || chan.push(7).unwrap())
            };
            let count = std::sync::Arc::new(CountingWake::default());
            let waker = Waker::from(count.clone());
            let first = chan.poll_message(&waker);
            sender.join().unwrap();
            match first {
                Poll::Ready(got) => assert_eq!(got.unwrap(), 7),
                Poll::Pending => {
                    assert_eq!(count.count(), 1, "the push did not wake the receiver");
                    assert!(matches!(chan.poll_message(&waker), Poll::Ready(Ok(7))));
                }
            }
        });
    }

    /// The last sender goes while the receiver starts waiting: the receiver sees the
    /// end, or is woken to see it.
    #[test]
    fn loom_the_last_sender_going_wakes_a_waiting_receiver() {
        loom::model(|| {
            let chan = LoomArc::new(Chan::<u32>::new(Some(1)));
            let sender = {
                let chan = chan.clone();
                loom::thread::spawn(move || chan.drop_sender())
            };
            let count = std::sync::Arc::new(CountingWake::default());
            let waker = Waker::from(count.clone());
            let first = chan.poll_message(&waker);
            sender.join().unwrap();
            if first.is_pending() {
                assert_eq!(
                    count.count(),
                    1,
                    "the last sender did not wake the receiver"
                );
            }
            assert!(matches!(
                chan.poll_message(&waker),
                Poll::Ready(Err(RecvError::Closed))
            ));
        });
    }

    /// A message pushed while the receiver is dropped is dropped too (by the receiver's
    /// drain or by its sender), not kept until the channel goes (on the ring, as
    /// above).
    #[test]
    fn loom_a_push_racing_the_receivers_drop_is_dropped() {
        struct Counted(std::sync::Arc<StdAtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        loom::model(|| {
            let alive = std::sync::Arc::new(StdAtomicUsize::new(1));
            let chan = LoomArc::new(Chan::<Counted>::new(Some(1)));
            if let Some(slots) = &chan.slots {
                slots.try_acquire(1).unwrap();
            }
            let sender = {
                let (chan, value) = (chan.clone(), Counted(alive.clone()));
                loom::thread::spawn(move || drop(chan.push(value)))
            };
            chan.drop_rx();
            sender.join().unwrap();
            // `chan` (a sender's view of it) is still alive here.
            assert_eq!(
                alive.load(std::sync::atomic::Ordering::SeqCst),
                0,
                "a message outlived the receiver"
            );
        });
    }
}
