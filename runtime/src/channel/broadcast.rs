//! A multi-producer, multi-consumer channel where every receiver sees every value.
//!
//! The channel keeps the last `capacity` values. A receiver that falls further behind
//! than that loses the oldest ones and is told so once, with
//! [`RecvError::Lagged(n)`](RecvError::Lagged), then continues from the oldest value
//! still kept. `recv(&cx)` is cancel-safe: a cancelled receive does not move the
//! receiver's position, so the value it was waiting for is still delivered later.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::cancel::Cancelled;
use crate::cx::Cx;

/// The error types, under Tokio's path (`broadcast::error::RecvError`).
pub mod error {
    pub use super::{RecvError, SendError, TryRecvError};
}

/// Why a broadcast send failed: no receiver exists. The value comes back.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no receivers")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why a broadcast `recv` returned no value.
#[derive(Debug, Clone)]
pub enum RecvError {
    /// Every sender is gone and this receiver has seen every value kept.
    Closed,
    /// This receiver fell behind and missed this many values; the next `recv`
    /// returns the oldest value still kept.
    Lagged(u64),
    /// The task was cancelled while it waited; the receiver's position is unchanged.
    Cancelled(Cancelled),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("channel closed"),
            RecvError::Lagged(n) => write!(f, "receiver lagged by {n} values"),
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

/// Why a broadcast `try_recv` returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No new value right now.
    Empty,
    /// Every sender is gone and every kept value was seen.
    Closed,
    /// Fell behind by this many values.
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Closed => f.write_str("channel closed"),
            TryRecvError::Lagged(n) => write!(f, "receiver lagged by {n} values"),
        }
    }
}

impl std::error::Error for TryRecvError {}

struct Shared<T> {
    state: Mutex<State<T>>,
    capacity: usize,
}

struct State<T> {
    /// The kept values; `values[0]` has sequence number `first_seq`.
    values: VecDeque<T>,
    first_seq: u64,
    senders: usize,
    receivers: usize,
    /// One entry per waiting receiver, owned by it until it stops waiting; a send
    /// takes the wakers but leaves the entries.
    waiters: Slab<Option<Waker>>,
}

impl<T> State<T> {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.values.len() as u64
    }
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        crate::task::core::lock(&self.state)
    }
}

fn take_wakers<T>(state: &mut State<T>) -> Vec<Waker> {
    state
        .waiters
        .iter_mut()
        .filter_map(|(_, w)| w.take())
        .collect()
}

/// A broadcast channel keeping the last `capacity` values (at least 1).
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel requires capacity > 0");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            values: VecDeque::with_capacity(capacity),
            first_seq: 0,
            senders: 1,
            receivers: 1,
            waiters: Slab::new(),
        }),
        capacity,
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            waiter: None,
        },
    )
}

/// Sends values to every receiver.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver, returning how many there are.
    /// `Err` if there are none (the value comes back).
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = self.shared.lock();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        if state.values.len() == self.shared.capacity {
            state.values.pop_front();
            state.first_seq += 1;
        }
        state.values.push_back(value);
        let receivers = state.receivers;
        let wakers = take_wakers(&mut state);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        Ok(receivers)
    }

    /// A new receiver that sees values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.next_seq(),
            waiter: None,
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// A handle that does not keep the channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

/// A broadcast sender that does not keep the channel open.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> WeakSender<T> {
    /// A sender again, if some sender still exists.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut state = self.shared.lock();
        if state.senders == 0 {
            return None;
        }
        state.senders += 1;
        Some(Sender {
            shared: self.shared.clone(),
        })
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            let wakers = take_wakers(&mut state);
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Receives every value sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The sequence number of the next value this receiver will see.
    next: u64,
    waiter: Option<usize>,
}

enum Next<T> {
    Value(T),
    Lagged(u64),
    Empty,
    Closed,
}

impl<T: Clone> Receiver<T> {
    fn take_next(&mut self, state: &State<T>) -> Next<T> {
        if self.next < state.first_seq {
            let missed = state.first_seq - self.next;
            self.next = state.first_seq;
            return Next::Lagged(missed);
        }
        let index = (self.next - state.first_seq) as usize;
        match state.values.get(index) {
            Some(v) => {
                self.next += 1;
                Next::Value(v.clone())
            }
            None if state.senders == 0 => Next::Closed,
            None => Next::Empty,
        }
    }

    /// Waits for the next value.
    pub fn recv<'a>(&'a mut self, cx: &'a Cx) -> Recv<'a, T> {
        Recv { rx: self, cx }
    }

    /// The next value now, if there is one.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let shared = self.shared.clone();
        let state = shared.lock();
        match self.take_next(&state) {
            Next::Value(v) => Ok(v),
            Next::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Next::Empty => Err(TryRecvError::Empty),
            Next::Closed => Err(TryRecvError::Closed),
        }
    }

    /// A new receiver starting at the newest position of this channel.
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.next_seq(),
            waiter: None,
        }
    }

    fn forget_waiter(&mut self, state: &mut State<T>) {
        if let Some(k) = self.waiter.take() {
            state.waiters.remove(k);
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receivers -= 1;
        if let Some(k) = self.waiter.take() {
            state.waiters.remove(k);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish()
    }
}

/// The future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    cx: &'a Cx,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        let this = &mut *self;
        let shared = this.rx.shared.clone();
        let mut state = shared.lock();
        if let Err(cancelled) = this.cx.checkpoint() {
            this.rx.forget_waiter(&mut state);
            return Poll::Ready(Err(RecvError::Cancelled(cancelled)));
        }
        let result = match this.rx.take_next(&state) {
            Next::Value(v) => Ok(v),
            Next::Lagged(n) => Err(RecvError::Lagged(n)),
            Next::Closed => Err(RecvError::Closed),
            Next::Empty => {
                match this.rx.waiter {
                    Some(k) => state.waiters[k] = Some(task.waker().clone()),
                    None => this.rx.waiter = Some(state.waiters.insert(Some(task.waker().clone()))),
                }
                return Poll::Pending;
            }
        };
        this.rx.forget_waiter(&mut state);
        Poll::Ready(result)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        let shared = self.rx.shared.clone();
        let mut state = shared.lock();
        if let Some(k) = self.rx.waiter.take() {
            state.waiters.remove(k);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}
