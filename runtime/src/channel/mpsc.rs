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

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::cancel::Cancelled;
use crate::cx::Cx;
use crate::obligation::ObligationToken;
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

/// The state both halves share. Bounded channels count free slots in `slots`: a
/// slot is taken by `reserve` and given back when the receiver takes the message (or
/// when a permit is dropped unused).
struct Chan<T> {
    state: Mutex<ChanState<T>>,
    slots: Option<SemCore>,
    capacity: usize,
}

struct ChanState<T> {
    queue: VecDeque<T>,
    senders: usize,
    /// The receiver is gone or called `close`: no new messages are accepted.
    rx_closed: bool,
    rx_waker: Option<Waker>,
}

impl<T> Chan<T> {
    fn new(capacity: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            state: Mutex::new(ChanState {
                queue: VecDeque::new(),
                senders: 1,
                rx_closed: false,
                rx_waker: None,
            }),
            slots: capacity.map(SemCore::new),
            capacity: capacity.unwrap_or(usize::MAX),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ChanState<T>> {
        crate::task::core::lock(&self.state)
    }

    /// Queues a message (its slot, if bounded, is already held). A closed receiver
    /// drops it, and gives the slot back.
    fn push(&self, value: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.rx_closed {
            drop(state);
            self.release_slot();
            return Err(value);
        }
        state.queue.push_back(value);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    fn release_slot(&self) {
        if let Some(slots) = &self.slots {
            slots.release(1);
        }
    }

    fn close_rx(&self) {
        self.lock().rx_closed = true;
        if let Some(slots) = &self.slots {
            slots.close();
        }
    }

    fn is_closed(&self) -> bool {
        self.lock().rx_closed
    }

    /// Adds a sender if one still exists (a weak sender upgrading).
    fn upgrade(&self) -> bool {
        let mut state = self.lock();
        if state.senders == 0 {
            return false;
        }
        state.senders += 1;
        true
    }

    fn add_sender(&self) {
        self.lock().senders += 1;
    }

    fn drop_sender(&self) {
        let mut state = self.lock();
        state.senders -= 1;
        let waker = if state.senders == 0 {
            state.rx_waker.take()
        } else {
            None
        };
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        match state.queue.pop_front() {
            Some(v) => {
                drop(state);
                self.release_slot();
                Ok(v)
            }
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// One poll of a receive. The cancellation check comes first and takes nothing,
    /// so a cancelled receive leaves every message queued.
    fn poll_recv(&self, cx: &Cx, task: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // Before taking anything: a spent turn budget yields with the message queued.
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        cx.checkpoint()?;
        let mut state = self.lock();
        match state.queue.pop_front() {
            Some(v) => {
                drop(state);
                self.release_slot();
                Poll::Ready(Ok(v))
            }
            None if state.senders == 0 || state.rx_closed => Poll::Ready(Err(RecvError::Closed)),
            None => {
                match &mut state.rx_waker {
                    Some(w) if w.will_wake(task.waker()) => {}
                    slot => *slot = Some(task.waker().clone()),
                }
                Poll::Pending
            }
        }
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
                let mut state = self.lock();
                while taken < limit {
                    let Some(v) = state.queue.pop_front() else {
                        break;
                    };
                    buffer.push(v);
                    taken += 1;
                }
                drop(state);
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
        self.chan.lock().queue.len()
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
        self.chan.close_rx();
        // Messages nobody will receive are dropped now, not when the last sender
        // goes.
        let drained: Vec<T> = self.chan.lock().queue.drain(..).collect();
        drop(drained);
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
        self.chan.lock().queue.len()
    }

    /// `true` if no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.close_rx();
        let drained: Vec<T> = self.chan.lock().queue.drain(..).collect();
        drop(drained);
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("len", &self.len())
            .finish()
    }
}
