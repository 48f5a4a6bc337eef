//! A channel for one value.
//!
//! `tx.send(v)` never waits; `rx.recv(&cx)` waits for it and is cancel-safe (a
//! cancelled receive leaves the value in the channel for a later `recv` or
//! `try_recv`). Each side can see the other go: `tx.is_closed()` / `tx.closed(&cx)`
//! once the receiver is dropped or closed, `RecvError::Closed` once the sender is
//! dropped without sending.
//!
//! # No lock
//!
//! One value crosses once, so the channel is a state word and three cells (Tokio's
//! design). A mutex would cost a lock and an unlock (two read-modify-writes, each a
//! full fence on x86) on every send, poll and close: on request/reply paths they were
//! the largest cost of the channel (`ping_pong` in `docs/performance.md`). Here a
//! send is one compare-and-swap, a receive that finds the value is one load, and a
//! wait registers its waker with one `fetch_or`.
//!
//! The state word's bits say who may touch which cell:
//!
//! - `COMPLETE`: the sender is gone (after writing the value, if it sent one). The
//!   value cell belongs to the sender before, to the receiver after.
//! - `CLOSED`: the receiver refuses the value. A sender that sees it takes its value
//!   back before setting `COMPLETE`, so the receiver never reads a refused value.
//! - `RX_TASK_SET`: the receiver's waker is in its cell. The receiver writes the cell
//!   only while the bit is clear; the sender reads it (to wake) only if its own
//!   `COMPLETE` read-modify-write saw the bit set, and from then on the receiver,
//!   seeing `COMPLETE`, leaves the cell alone.
//! - `TX_TASK_SET`: the same for the sender's waker (in `closed`) and `CLOSED`.
//!
//! The interleavings are checked with loom
//! (`RUSTFLAGS="--cfg loom" cargo test -p asupersync --lib --release oneshot::loom`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

use crate::cancel::Cancelled;
use crate::cx::Cx;
use crate::sync::cell::UnsafeCell;

pub use super::mpsc::{RecvError, TryRecvError};

/// The error types, under Tokio's path (`oneshot::error::RecvError`).
pub mod error {
    pub use super::{RecvError, TryRecvError};
}

const RX_TASK_SET: usize = 1;
const COMPLETE: usize = 2;
const CLOSED: usize = 4;
const TX_TASK_SET: usize = 8;

/// The channel's state word and cells; see the [module docs](self) for who owns
/// which cell when.
struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are only touched under the state word's ownership protocol (module
// docs), so each is accessed by one side at a time; the value moves between threads
// (`T: Send`) and wakers are `Send + Sync`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; no `&T` is ever handed out, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    fn new() -> Inner<T> {
        Inner {
            state: AtomicUsize::new(0),
            value: UnsafeCell::new(None),
            rx_waker: UnsafeCell::new(None),
            tx_waker: UnsafeCell::new(None),
        }
    }

    /// The sender's send: `Err(value)` if the receiver had closed.
    fn send(&self, value: T) -> Result<(), T> {
        // SAFETY: `COMPLETE` is not set (the sender sets it once, below or in
        // `drop_tx`, and a sender sends once), so the value cell is the sender's.
        self.value.with_mut(|cell| unsafe { *cell = Some(value) });
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                // SAFETY: still not `COMPLETE`: the cell is still the sender's.
                let value = self.value.with_mut(|cell| unsafe { (*cell).take() });
                self.drop_tx();
                return Err(value.expect("the value was just written"));
            }
            match self.state.compare_exchange_weak(
                state,
                state | COMPLETE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RX_TASK_SET != 0 {
            self.wake_rx();
        }
        Ok(())
    }

    /// The sender goes without (or after failing to) send.
    fn drop_tx(&self) {
        let state = self.state.fetch_or(COMPLETE, Ordering::AcqRel);
        if state & RX_TASK_SET != 0 && state & COMPLETE == 0 {
            self.wake_rx();
        }
    }

    fn wake_rx(&self) {
        // SAFETY: our `COMPLETE` read-modify-write saw `RX_TASK_SET`, so the waker was
        // written before it, and the receiver, which sees `COMPLETE` from then on,
        // never writes the cell again (module docs).
        unsafe { read_waker(&self.rx_waker, |w| w.map(Waker::wake_by_ref)) };
    }

    /// The receiver takes the value (`Some(Some(v))`), learns there is none
    /// (`Some(None)`: the sender is gone), or registers `waker` (`None`).
    fn poll_recv(&self, waker: &Waker) -> Option<Option<T>> {
        let mut state = self.state.load(Ordering::Acquire);
        if state & COMPLETE != 0 {
            return Some(self.take_value());
        }
        if state & RX_TASK_SET != 0 {
            // SAFETY: the receiver only reads its own registered waker; the sender
            // may read it concurrently but never writes it.
            let same =
                unsafe { read_waker(&self.rx_waker, |w| w.is_some_and(|w| w.will_wake(waker))) };
            if same {
                return None;
            }
            state = self.state.fetch_and(!RX_TASK_SET, Ordering::AcqRel);
            if state & COMPLETE != 0 {
                // The sender may be waking the old waker: leave the cell to it.
                self.state.fetch_or(RX_TASK_SET, Ordering::AcqRel);
                return Some(self.take_value());
            }
        }
        // SAFETY: `RX_TASK_SET` is clear and was cleared by the receiver before any
        // `COMPLETE`, so the sender will not read the cell until the bit is set again.
        self.rx_waker
            .with_mut(|cell| unsafe { *cell = Some(waker.clone()) });
        let state = self.state.fetch_or(RX_TASK_SET, Ordering::AcqRel);
        if state & COMPLETE != 0 {
            return Some(self.take_value());
        }
        None
    }

    /// The value, if one was sent and not taken; `None` before `COMPLETE` too.
    fn try_take(&self) -> Option<Option<T>> {
        if self.state.load(Ordering::Acquire) & COMPLETE != 0 {
            Some(self.take_value())
        } else {
            None
        }
    }

    fn take_value(&self) -> Option<T> {
        // SAFETY: called only after seeing `COMPLETE` (with acquire ordering): the
        // sender is gone and the cell is the receiver's.
        self.value.with_mut(|cell| unsafe { (*cell).take() })
    }

    /// The receiver refuses the value from now on.
    fn close_rx(&self) {
        let state = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if state & TX_TASK_SET != 0 && state & (CLOSED | COMPLETE) == 0 {
            // SAFETY: as `wake_rx`, with `TX_TASK_SET` and `CLOSED` for the sender.
            unsafe { read_waker(&self.tx_waker, |w| w.map(Waker::wake_by_ref)) };
        }
    }

    fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// The sender's wait for `CLOSED`: `true` once closed, else `waker` is registered.
    fn poll_closed(&self, waker: &Waker) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            return true;
        }
        if state & TX_TASK_SET != 0 {
            // SAFETY: as in `poll_recv`, for the sender's own waker.
            let same =
                unsafe { read_waker(&self.tx_waker, |w| w.is_some_and(|w| w.will_wake(waker))) };
            if same {
                return false;
            }
            state = self.state.fetch_and(!TX_TASK_SET, Ordering::AcqRel);
            if state & CLOSED != 0 {
                self.state.fetch_or(TX_TASK_SET, Ordering::AcqRel);
                return true;
            }
        }
        // SAFETY: as in `poll_recv`: the bit is clear, so the receiver keeps off.
        self.tx_waker
            .with_mut(|cell| unsafe { *cell = Some(waker.clone()) });
        let state = self.state.fetch_or(TX_TASK_SET, Ordering::AcqRel);
        state & CLOSED != 0
    }
}

/// Shared access to a waker cell.
///
/// # Safety
///
/// Nobody may write the cell while `f` runs (the state word's protocol decides).
unsafe fn read_waker<R>(
    cell: &UnsafeCell<Option<Waker>>,
    f: impl FnOnce(Option<&Waker>) -> R,
) -> R {
    cell.with(|ptr| {
        // SAFETY: the caller's contract: the cell is not written meanwhile, so a
        // shared reference to it is sound for the call.
        f(unsafe { &*ptr }.as_ref())
    })
}

/// A channel for exactly one value.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner::new());
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver {
            inner,
            saw_sender_gone: false,
        },
    )
}

/// Sends the one value.
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; `Err(value)` if the receiver is gone or closed.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a sender sends once");
        inner.send(value)
    }

    /// `true` once the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|inner| inner.is_closed())
    }

    /// Waits until the receiver is dropped or closed (to stop computing a value
    /// nobody wants). Cancel-aware.
    pub async fn closed(&mut self, cx: &Cx) -> Result<(), Cancelled> {
        let Some(inner) = self.inner.as_ref() else {
            return Ok(());
        };
        std::future::poll_fn(|task| {
            cx.checkpoint()?;
            if inner.poll_closed(task.waker()) {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.drop_tx();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives the one value.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// This receiver has seen the sender gone (`COMPLETE`). Nobody is then left to
    /// look for `CLOSED`, so dropping the receiver need not set it: one
    /// read-modify-write saved per request/reply.
    saw_sender_gone: bool,
}

impl<T> Receiver<T> {
    /// Waits for the value. `Err(RecvError::Closed)` if the sender was dropped
    /// without sending (or the value was already taken); `Err(RecvError::Cancelled)`
    /// if the task is cancelled, leaving a value that arrives in the channel.
    pub fn recv<'a>(&'a mut self, cx: &'a Cx) -> Recv<'a, T> {
        Recv { rx: self, cx }
    }

    /// The value now, if it was sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.inner.try_take() {
            Some(value) => {
                self.saw_sender_gone = true;
                value.ok_or(TryRecvError::Disconnected)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses the value: the sender's `send` fails from now on (a value already sent
    /// can still be taken with `try_recv`).
    pub fn close(&mut self) {
        self.inner.close_rx();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if !self.saw_sender_gone {
            self.close();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    cx: &'a Cx,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        self.cx.checkpoint()?;
        let rx = &mut *self.get_mut().rx;
        match rx.inner.poll_recv(task.waker()) {
            Some(value) => {
                rx.saw_sender_gone = true;
                Poll::Ready(value.ok_or(RecvError::Closed))
            }
            None => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::atomic::AtomicUsize as Counter;
    use loom::sync::Arc;
    use std::task::Wake;

    /// Counts its wake-ups.
    struct CountingWaker(Counter);

    impl Wake for CountingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
        let counter = std::sync::Arc::new(CountingWaker(Counter::new(0)));
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    /// A receive racing a send: either it takes the value at once, or its waker is
    /// woken and the next poll does (no lost wake-up, no lost value).
    #[test]
    fn loom_a_send_racing_a_receive_is_never_lost() {
        loom::model(|| {
            let inner = Arc::new(Inner::new());
            let tx = inner.clone();
            let sender = loom::thread::spawn(move || tx.send(7u32));
            let (count, waker) = counting_waker();
            let first = inner.poll_recv(&waker);
            assert_eq!(sender.join().unwrap(), Ok(()));
            match first {
                Some(value) => assert_eq!(value, Some(7)),
                None => {
                    assert_eq!(
                        count.0.load(Ordering::SeqCst),
                        1,
                        "the receiver was not woken"
                    );
                    assert_eq!(inner.poll_recv(&waker), Some(Some(7)));
                }
            }
        });
    }

    /// A receiver that re-registers a different waker while the value arrives: the
    /// value is taken once, and whichever waker is current when the send lands is
    /// woken.
    #[test]
    fn loom_changing_the_waker_while_the_value_arrives() {
        loom::model(|| {
            let inner = Arc::new(Inner::new());
            let (count_a, waker_a) = counting_waker();
            let (count_b, waker_b) = counting_waker();
            assert_eq!(inner.poll_recv(&waker_a), None);
            let tx = inner.clone();
            let sender = loom::thread::spawn(move || tx.send(1u32));
            let second = inner.poll_recv(&waker_b);
            sender.join().unwrap().unwrap();
            let woken = count_a.0.load(Ordering::SeqCst) + count_b.0.load(Ordering::SeqCst);
            match second {
                Some(value) => assert_eq!(value, Some(1)),
                None => {
                    assert_eq!(
                        count_b.0.load(Ordering::SeqCst),
                        1,
                        "the new waker was not woken"
                    );
                    assert_eq!(inner.poll_recv(&waker_b), Some(Some(1)));
                }
            }
            assert!(woken <= 1);
        });
    }

    /// A close racing a send: the send fails and hands the value back, or it
    /// succeeds and the value stays takeable; never both, never neither.
    #[test]
    fn loom_a_close_racing_a_send_decides_once() {
        loom::model(|| {
            let inner = Arc::new(Inner::new());
            let tx = inner.clone();
            let sender = loom::thread::spawn(move || tx.send(3u32));
            inner.close_rx();
            let sent = sender.join().unwrap();
            let taken = inner.try_take();
            match sent {
                Ok(()) => assert_eq!(taken, Some(Some(3))),
                Err(v) => {
                    assert_eq!(v, 3);
                    assert_eq!(taken, Some(None), "the sender is gone, without a value");
                }
            }
        });
    }

    /// The sender's `closed` wait racing the receiver's close: woken or ready.
    #[test]
    fn loom_closed_wait_sees_the_close() {
        loom::model(|| {
            let inner = Arc::new(Inner::<u32>::new());
            let rx = inner.clone();
            let closer = loom::thread::spawn(move || rx.close_rx());
            let (count, waker) = counting_waker();
            let closed = inner.poll_closed(&waker);
            closer.join().unwrap();
            if !closed {
                assert_eq!(
                    count.0.load(Ordering::SeqCst),
                    1,
                    "the sender was not woken"
                );
                assert!(inner.poll_closed(&waker));
            }
        });
    }

    /// A sender dropped without sending wakes a waiting receiver, which sees the
    /// channel disconnected.
    #[test]
    fn loom_a_dropped_sender_wakes_the_receiver() {
        loom::model(|| {
            let inner = Arc::new(Inner::<u32>::new());
            let tx = inner.clone();
            let dropper = loom::thread::spawn(move || tx.drop_tx());
            let (count, waker) = counting_waker();
            let first = inner.poll_recv(&waker);
            dropper.join().unwrap();
            if first.is_none() {
                assert_eq!(count.0.load(Ordering::SeqCst), 1);
            }
            assert_eq!(inner.poll_recv(&waker), Some(None));
        });
    }
}
