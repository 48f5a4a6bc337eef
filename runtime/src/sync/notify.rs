use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::cancel::Cancelled;
use crate::cx::Cx;

/// Wakes tasks waiting for an event, without data.
///
/// `notify_one` wakes the longest waiter, or stores one permit if nobody waits (the
/// next `notified` then completes at once). `notify_waiters` wakes everyone waiting
/// now and stores nothing. `notified(&cx)` is cancel-safe: a waiter cancelled after
/// `notify_one` picked it passes the notification on to the next waiter (or back to
/// the stored permit), so no wake-up is lost.
pub struct Notify {
    state: Mutex<NotifyState>,
}

struct NotifyState {
    permit: bool,
    waiters: Slab<NotifyWaiter>,
    queue: VecDeque<usize>,
}

struct NotifyWaiter {
    waker: Option<Waker>,
    notified: Option<Notification>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Notification {
    One,
    All,
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(NotifyState {
                permit: false,
                waiters: Slab::new(),
                queue: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, NotifyState> {
        crate::task::core::lock(&self.state)
    }

    /// Wakes the longest waiter, or stores a permit for the next one.
    pub fn notify_one(&self) {
        let waker = notify_one_locked(&mut self.lock());
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every task waiting now; stores no permit.
    pub fn notify_waiters(&self) {
        let mut state = self.lock();
        let queued: Vec<usize> = state.queue.drain(..).collect();
        let wakers: Vec<Waker> = queued
            .into_iter()
            .filter_map(|k| {
                let waiter = &mut state.waiters[k];
                waiter.notified = Some(Notification::All);
                waiter.waker.take()
            })
            .collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Waits for a notification.
    pub fn notified<'a>(&'a self, cx: &'a Cx) -> Notified<'a> {
        Notified {
            notify: self,
            cx,
            key: None,
            early: false,
        }
    }

    fn leave(&self, key: usize) {
        let mut state = self.lock();
        let waiter = state.waiters.remove(key);
        let waker = match waiter.notified {
            // Picked by notify_one but never told its caller: pass it on.
            Some(Notification::One) => notify_one_locked(&mut state),
            Some(Notification::All) => None,
            None => {
                state.queue.retain(|&k| k != key);
                None
            }
        };
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

fn notify_one_locked(state: &mut NotifyState) -> Option<Waker> {
    match state.queue.pop_front() {
        Some(k) => {
            let waiter = &mut state.waiters[k];
            waiter.notified = Some(Notification::One);
            waiter.waker.take()
        }
        None => {
            state.permit = true;
            None
        }
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.queue.len())
            .finish()
    }
}

/// The future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    cx: &'a Cx,
    key: Option<usize>,
    /// [`enable`](Notified::enable) took the stored permit: the next poll completes.
    early: bool,
}

impl Notified<'_> {
    /// Joins the wait list now, before the first poll, so that every `notify_one` from
    /// here on reaches this waiter (Tokio's `Notified::enable`): register, then tell
    /// the notifier you are ready. Returns `true` if the waiter is already notified.
    ///
    /// A notification taken here and never returned to the caller (the waiter is
    /// cancelled or dropped) is passed on to the next waiter, as with any other.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        let mut state = this.notify.lock();
        if this.early {
            return true;
        }
        if let Some(k) = this.key {
            return state.waiters[k].notified.is_some();
        }
        if std::mem::take(&mut state.permit) {
            this.early = true;
            return true;
        }
        let k = state.waiters.insert(NotifyWaiter {
            waker: None,
            notified: None,
        });
        state.queue.push_back(k);
        this.key = Some(k);
        false
    }

    /// Gives back a notification this waiter took but will not report.
    fn pass_on(&mut self) {
        if std::mem::take(&mut self.early) {
            let waker = notify_one_locked(&mut self.notify.lock());
            if let Some(w) = waker {
                w.wake();
            }
        }
        if let Some(k) = self.key.take() {
            self.notify.leave(k);
        }
    }
}

impl Future for Notified<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::runtime::scheduler::coop::poll_proceed(task));
        let this = &mut *self;
        if let Err(cancelled) = this.cx.checkpoint() {
            this.pass_on();
            return Poll::Ready(Err(cancelled));
        }
        if std::mem::take(&mut this.early) {
            return Poll::Ready(Ok(()));
        }
        let mut state = this.notify.lock();
        match this.key {
            None => {
                if std::mem::take(&mut state.permit) {
                    return Poll::Ready(Ok(()));
                }
                let k = state.waiters.insert(NotifyWaiter {
                    waker: Some(task.waker().clone()),
                    notified: None,
                });
                state.queue.push_back(k);
                this.key = Some(k);
                Poll::Pending
            }
            Some(k) => {
                if state.waiters[k].notified.is_some() {
                    state.waiters.remove(k);
                    this.key = None;
                    return Poll::Ready(Ok(()));
                }
                state.waiters[k].waker = Some(task.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.pass_on();
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
