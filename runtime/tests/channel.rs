//! Channels: semantics, and cancellation at every await point (nothing lost, no slot
//! held, no wake-up swallowed), on every runtime flavor.

mod common;

use std::sync::atomic::Ordering;

use asupersync::channel::{broadcast, mpsc, oneshot, watch};
use asupersync::task::yield_now;
use asupersync::time::sleep;
use asupersync::{CancelKind, CancelReason, Cx};
use common::{counter, on_each_flavor, on_one_thread_and_lab, MS};

/// Lets every other ready task run (a few scheduler turns).
async fn settle(cx: &Cx) {
    // Yield, then sleep a moment and yield again: enough for tasks on other workers
    // of a multi-thread runtime to reach their await points too.
    for _ in 0..5 {
        yield_now(cx).await.unwrap();
    }
    sleep(cx, MS).await.unwrap();
    for _ in 0..5 {
        yield_now(cx).await.unwrap();
    }
}

#[test]
fn mpsc_delivers_in_order_and_reports_capacity() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(3);
        assert_eq!((tx.capacity(), tx.max_capacity()), (3, 3));
        let permit = tx.reserve(&cx).await.unwrap();
        assert_eq!(tx.capacity(), 2, "a permit holds a slot");
        permit.send(1);
        tx.send(&cx, 2).await.unwrap();
        tx.try_send(3).unwrap();
        assert!(matches!(tx.try_send(4), Err(mpsc::TrySendError::Full(4))));
        assert_eq!(tx.capacity(), 0);
        assert_eq!(rx.recv(&cx).await.unwrap(), 1);
        assert_eq!(tx.capacity(), 1, "receiving frees the slot");
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&cx, &mut buf, 10).await.unwrap(), 2);
        assert_eq!(buf, [2, 3]);
        assert_eq!(tx.capacity(), 3);
        assert!(matches!(rx.try_recv(), Err(mpsc::TryRecvError::Empty)));
        drop(tx);
        assert!(matches!(rx.recv(&cx).await, Err(mpsc::RecvError::Closed)));
        assert!(matches!(
            rx.try_recv(),
            Err(mpsc::TryRecvError::Disconnected)
        ));
        assert_eq!(rx.recv_many(&cx, &mut buf, 10).await.unwrap(), 0);
    });
}

#[test]
fn mpsc_dropping_a_permit_releases_its_slot() {
    on_each_flavor(|cx| async move {
        let (tx, _rx) = mpsc::channel::<u32>(1);
        let permit = tx.reserve(&cx).await.unwrap();
        assert!(tx.try_reserve().is_err());
        drop(permit);
        assert_eq!(tx.capacity(), 1);
        assert!(tx.try_reserve().is_ok());
    });
}

#[test]
fn mpsc_close_refuses_senders_but_keeps_queued_messages() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        tx.send(&cx, 1).await.unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert!(matches!(
            tx.send(&cx, 2).await,
            Err(mpsc::SendError::Closed(2))
        ));
        assert!(matches!(
            tx.reserve(&cx).await,
            Err(mpsc::ReserveError::Closed)
        ));
        assert_eq!(rx.recv(&cx).await.unwrap(), 1);
        assert!(matches!(rx.recv(&cx).await, Err(mpsc::RecvError::Closed)));
    });
}

#[test]
fn mpsc_closing_wakes_a_waiting_reserve() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.send(&cx, 1).await.unwrap();
        let waiter = cx.spawn(move |cx| async move { tx.reserve(&cx).await.map(drop) });
        settle(&cx).await;
        rx.close();
        assert!(matches!(
            waiter.join(&cx).await.unwrap(),
            Err(mpsc::ReserveError::Closed)
        ));
    });
}

#[test]
fn mpsc_cancelled_recv_leaves_the_message_queued() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, rx) = mpsc::channel::<u32>(4);
        let rx = std::sync::Arc::new(asupersync::sync::Mutex::new(rx));
        let rx2 = rx.clone();
        let waiter = cx.spawn(move |cx| async move {
            let mut rx = rx2.lock(&cx).await.unwrap();
            rx.recv(&cx).await
        });
        settle(&cx).await;
        // Cancel and send in the same turn: the waiter is woken by both, but sees
        // the cancellation first and must not take the message.
        waiter.cancel(CancelReason::user("stop"));
        tx.send(&cx, 9).await.unwrap();
        let result = waiter.join(&cx).await.unwrap();
        assert!(matches!(result, Err(mpsc::RecvError::Cancelled(_))));
        assert_eq!(rx.lock(&cx).await.unwrap().try_recv().unwrap(), 9);
    });
}

#[test]
fn mpsc_cancelled_reserve_holds_no_slot() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let held = tx.reserve(&cx).await.unwrap();
        let tx2 = tx.clone();
        let waiter = cx.spawn(move |cx| async move { tx2.reserve(&cx).await.map(|p| p.send(1)) });
        settle(&cx).await;
        waiter.cancel(CancelReason::user("stop"));
        let result = waiter.join(&cx).await.unwrap();
        assert!(matches!(result, Err(mpsc::ReserveError::Cancelled(_))));
        drop(held);
        assert_eq!(tx.capacity(), 1, "the cancelled reserve took nothing");
        tx.try_send(2).unwrap();
        assert_eq!(rx.recv(&cx).await.unwrap(), 2);
    });
}

/// `a` queues for the only slot, then `b`; the slot is freed and `a` is cancelled.
/// Returns what `a`'s send reported and what the receiver got, in order.
async fn handed_the_slot_then_cancelled(cx: Cx) -> (Result<(), mpsc::SendError<u32>>, Vec<u32>) {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let held = tx.reserve(&cx).await.unwrap();
    let (a_tx, b_tx) = (tx.clone(), tx.clone());
    let a = cx.spawn(move |cx| async move { a_tx.send(&cx, 1).await });
    settle(&cx).await;
    let b = cx.spawn(move |cx| async move { b_tx.send(&cx, 2).await });
    settle(&cx).await;
    drop(held);
    a.cancel(CancelReason::user("stop"));
    let a_result = a.join(&cx).await.unwrap();
    // Receive before joining `b`: if `a` sent (possible on parallel workers), its value
    // holds the only slot and `b` can only finish once the receiver frees it.
    let mut received = vec![rx.recv(&cx).await.unwrap()];
    if a_result.is_ok() {
        received.push(rx.recv(&cx).await.unwrap());
    }
    b.join(&cx).await.unwrap().unwrap();
    (a_result, received)
}

#[test]
fn mpsc_a_reserve_cancelled_after_it_was_handed_the_slot_passes_it_on() {
    // On one thread nothing runs between freeing the slot and cancelling `a`: the slot
    // is handed to `a`, and `a`, cancelled before it runs, must pass it to `b` rather
    // than swallow the wake-up.
    let strict = |cx| async move {
        let (a_result, received) = handed_the_slot_then_cancelled(cx).await;
        assert!(matches!(a_result, Err(mpsc::SendError::Cancelled(1))));
        assert_eq!(received, [2]);
    };
    common::current_thread().block_on(strict).unwrap();
    common::on_lab(strict);
    // On parallel workers `a` may send before the cancel lands. Either way nothing is
    // lost and nobody is stuck.
    on_each_flavor(|cx| async move {
        match handed_the_slot_then_cancelled(cx).await {
            (Ok(()), received) => assert_eq!(received, [1, 2]),
            (Err(mpsc::SendError::Cancelled(1)), received) => assert_eq!(received, [2]),
            (other, received) => panic!("{other:?}, received {received:?}"),
        }
    });
}

#[test]
fn mpsc_send_cancelled_while_waiting_returns_the_value() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<String>(1);
        tx.send(&cx, "first".into()).await.unwrap();
        let tx2 = tx.clone();
        let waiter = cx.spawn(move |cx| async move { tx2.send(&cx, "second".into()).await });
        settle(&cx).await;
        waiter.cancel(CancelReason::user("stop"));
        match waiter.join(&cx).await.unwrap() {
            Err(mpsc::SendError::Cancelled(v)) => assert_eq!(v, "second"),
            other => panic!("expected the value back, got {other:?}"),
        }
        assert_eq!(rx.recv(&cx).await.unwrap(), "first");
        assert!(rx.try_recv().is_err());
    });
}

#[test]
fn mpsc_reserve_is_fifo() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let held = tx.reserve(&cx).await.unwrap();
        let mut handles = Vec::new();
        for i in 0..5 {
            let tx = tx.clone();
            handles.push(cx.spawn(move |cx| async move { tx.send(&cx, i).await.unwrap() }));
            settle(&cx).await;
        }
        drop(held);
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(rx.recv(&cx).await.unwrap());
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        for h in handles {
            h.join(&cx).await.unwrap();
        }
    });
}

#[test]
fn mpsc_stress_many_producers_with_cancellations_lose_nothing() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u64>(4);
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut producers = Vec::new();
        for p in 0..16u64 {
            let tx = tx.clone();
            let sent = sent.clone();
            producers.push(cx.spawn(move |cx| async move {
                for i in 0..200u64 {
                    match tx.send(&cx, p * 1000 + i).await {
                        Ok(()) => {
                            sent.fetch_add(p * 1000 + i, Ordering::SeqCst);
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        drop(tx);
        let mut received = 0u64;
        let mut count = 0;
        while let Ok(v) = rx.recv(&cx).await {
            received += v;
            count += 1;
            if count % 97 == 0 {
                // Cancel a producer mid-stream: whatever it did send must arrive.
                producers[(count / 97) % 16].cancel(CancelReason::user("stress"));
            }
        }
        for p in producers {
            p.join(&cx).await.unwrap();
        }
        assert_eq!(received, sent.load(Ordering::SeqCst));
        assert_eq!(rx.capacity(), 4, "every slot came back");
    });
}

#[test]
fn mpsc_small_capacities_wrap_their_ring_keeping_each_senders_order() {
    // Capacity 1 and 3: the lock-free ring is reused lap after lap, with senders on
    // both workers and the receiver on the `block_on` thread; the receiver mixes
    // `recv`, `try_recv` and `recv_many`.
    on_each_flavor(|cx| async move {
        for capacity in [1, 3] {
            let (tx, mut rx) = mpsc::channel::<(usize, usize)>(capacity);
            for sender in 0..4 {
                let tx = tx.clone();
                cx.spawn(move |cx| async move {
                    for i in 0..300 {
                        tx.send(&cx, (sender, i)).await.unwrap();
                    }
                });
            }
            drop(tx);
            let mut next = [0usize; 4];
            let mut buf = Vec::new();
            let mut round = 0;
            loop {
                round += 1;
                let got = match round % 3 {
                    0 => match rx.try_recv() {
                        Ok(v) => vec![v],
                        Err(mpsc::TryRecvError::Empty) => continue,
                        Err(mpsc::TryRecvError::Disconnected) => break,
                    },
                    1 => match rx.recv(&cx).await {
                        Ok(v) => vec![v],
                        Err(_) => break,
                    },
                    _ => {
                        buf.clear();
                        if rx.recv_many(&cx, &mut buf, 2).await.unwrap() == 0 {
                            break;
                        }
                        buf.clone()
                    }
                };
                for (sender, i) in got {
                    assert_eq!(i, next[sender], "sender {sender} out of order");
                    next[sender] += 1;
                }
            }
            assert_eq!(next, [300; 4], "capacity {capacity}: every message, once");
        }
    });
}

#[test]
fn mpsc_a_large_bounded_channel_keeps_capacity_and_order() {
    // 10,000 slots of a word are more than a ring allocated up front may take: this
    // channel queues in the growable queue, with the same bounded semantics.
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u64>(10_000);
        for i in 0..10_000 {
            tx.try_send(i).unwrap();
        }
        assert!(matches!(
            tx.try_send(10_000),
            Err(mpsc::TrySendError::Full(_))
        ));
        assert_eq!(rx.len(), 10_000);
        let sender = cx.spawn(move |cx| async move {
            for i in 10_000..20_000 {
                tx.send(&cx, i).await.unwrap();
            }
        });
        for i in 0..20_000 {
            assert_eq!(rx.recv(&cx).await.unwrap(), i);
        }
        sender.join(&cx).await.unwrap();
        assert!(matches!(rx.recv(&cx).await, Err(mpsc::RecvError::Closed)));
        assert_eq!(rx.capacity(), 10_000);
    });
}

#[test]
fn mpsc_messages_sent_as_the_receiver_goes_are_dropped_not_kept() {
    // Senders keep pushing while the receiver is dropped: a message that lands after
    // the receiver's own drain is dropped by its sender, so once the senders are done
    // nothing is held by the channel even though a sender still keeps it open.
    for capacity in [Some(2), None] {
        on_each_flavor(|cx| async move {
            let alive = counter();
            struct Message(std::sync::Arc<std::sync::atomic::AtomicUsize>);
            impl Drop for Message {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let message = |alive: &std::sync::Arc<std::sync::atomic::AtomicUsize>| {
                alive.fetch_add(1, Ordering::SeqCst);
                Message(alive.clone())
            };
            let (bounded, unbounded);
            let mut rx = match capacity {
                Some(n) => {
                    let (tx, rx) = mpsc::channel::<Message>(n);
                    (bounded, unbounded) = (Some(tx), None);
                    Ok(rx)
                }
                None => {
                    let (tx, rx) = mpsc::unbounded_channel::<Message>();
                    (bounded, unbounded) = (None, Some(tx));
                    Err(rx)
                }
            };
            let mut senders = Vec::new();
            for _ in 0..3 {
                let (bounded, unbounded, alive) =
                    (bounded.clone(), unbounded.clone(), alive.clone());
                senders.push(cx.spawn(move |cx| async move {
                    for _ in 0..400 {
                        let sent = match (&bounded, &unbounded) {
                            (Some(tx), _) => tx.send(&cx, message(&alive)).await.is_ok(),
                            (_, Some(tx)) => tx.send(message(&alive)).is_ok(),
                            _ => unreachable!(),
                        };
                        if !sent {
                            return;
                        }
                        yield_now(&cx).await.unwrap();
                    }
                }));
            }
            for _ in 0..50 {
                match &mut rx {
                    Ok(rx) => drop(rx.recv(&cx).await.unwrap()),
                    Err(rx) => drop(rx.recv(&cx).await.unwrap()),
                }
            }
            drop(rx);
            for sender in senders {
                sender.join(&cx).await.unwrap();
            }
            assert_eq!(
                alive.load(Ordering::SeqCst),
                0,
                "a message outlived the receiver"
            );
            // The channel is still open on this side.
            drop((bounded, unbounded));
        });
    }
}

#[test]
fn unbounded_mpsc_sends_without_waiting() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 1000);
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&cx, &mut buf, 600).await.unwrap(), 600);
        assert_eq!(rx.recv(&cx).await.unwrap(), 600);
        drop(rx);
        assert!(matches!(tx.send(1), Err(mpsc::SendError::Closed(1))));
        assert!(tx.is_closed());
    });
}

#[test]
fn unbounded_recv_cancelled_then_retried_gets_the_message() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        let got = asupersync::time::timeout(&cx, 2 * MS, rx.recv(&cx)).await;
        assert!(got.is_err(), "nothing to receive yet");
        tx.send(3).unwrap();
        assert_eq!(rx.recv(&cx).await.unwrap(), 3);
    });
}

#[test]
fn oneshot_delivers_and_detects_closure_both_ways() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let h = cx.spawn(move |cx| async move {
            sleep(&cx, MS).await.unwrap();
            tx.send(5).unwrap();
        });
        assert_eq!(rx.recv(&cx).await.unwrap(), 5);
        h.join(&cx).await.unwrap();

        let (tx, mut rx) = oneshot::channel::<u32>();
        drop(tx);
        assert!(matches!(
            rx.recv(&cx).await,
            Err(oneshot::RecvError::Closed)
        ));

        let (mut tx, rx) = oneshot::channel::<u32>();
        assert!(!tx.is_closed());
        let closer = cx.spawn(move |cx| async move {
            sleep(&cx, MS).await.unwrap();
            drop(rx);
        });
        tx.closed(&cx).await.unwrap();
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
        closer.join(&cx).await.unwrap();
    });
}

/// The lock-free oneshot under real races: many request/reply pairs where the two
/// ends run as separate tasks (on different workers on the multi-thread flavor), and
/// the replier sends, drops its sender, or waits for the requester to give up. Every
/// value sent to a live receiver arrives exactly once, every drop is seen as
/// `Closed`, and every refused send hands its value back.
#[test]
fn oneshot_pairs_racing_across_tasks_deliver_every_value_once() {
    on_each_flavor(|cx| async move {
        const PAIRS: u32 = 300;
        let mut handles = Vec::new();
        for i in 0..PAIRS {
            let (tx, mut rx) = oneshot::channel::<u32>();
            let (mut back_tx, back_rx) = oneshot::channel::<u32>();
            let replier = cx.spawn(move |cx| async move {
                match i % 3 {
                    0 => tx.send(i).map(|()| 1).unwrap_or(0),
                    1 => {
                        drop(tx);
                        0
                    }
                    _ => {
                        // Hangs up, waits until the requester drops its end of the
                        // back channel, then sends on it in vain.
                        drop(tx);
                        back_tx.closed(&cx).await.unwrap();
                        assert_eq!(back_tx.send(i), Err(i));
                        0
                    }
                }
            });
            let requester = cx.spawn(move |cx| async move {
                let got = rx.recv(&cx).await;
                drop(back_rx);
                got
            });
            handles.push((i, replier, requester));
        }
        for (i, replier, requester) in handles {
            let sent = replier.join(&cx).await.unwrap();
            match requester.join(&cx).await.unwrap() {
                Ok(v) => {
                    assert_eq!(v, i);
                    assert_eq!(sent, 1, "a value arrived that was not sent");
                }
                Err(oneshot::RecvError::Closed) => assert_eq!(sent, 0, "pair {i} lost its value"),
                Err(e) => panic!("pair {i}: {e}"),
            }
        }
    });
}

#[test]
fn oneshot_cancelled_recv_keeps_the_value() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, rx) = oneshot::channel::<u32>();
        let rx = std::sync::Arc::new(asupersync::sync::Mutex::new(rx));
        let rx2 = rx.clone();
        let waiter =
            cx.spawn(move |cx| async move { rx2.lock(&cx).await.unwrap().recv(&cx).await });
        settle(&cx).await;
        waiter.cancel(CancelReason::user("stop"));
        tx.send(11).unwrap();
        assert!(matches!(
            waiter.join(&cx).await.unwrap(),
            Err(oneshot::RecvError::Cancelled(_))
        ));
        assert_eq!(rx.lock(&cx).await.unwrap().try_recv().unwrap(), 11);
    });
}

#[test]
fn broadcast_every_receiver_sees_every_value_and_lag_is_reported() {
    on_each_flavor(|cx| async move {
        let (tx, mut a) = broadcast::channel::<u32>(2);
        let mut b = tx.subscribe();
        assert_eq!(tx.send(1).unwrap(), 2);
        assert_eq!(a.recv(&cx).await.unwrap(), 1);
        assert_eq!(b.recv(&cx).await.unwrap(), 1);
        for v in 2..=5 {
            tx.send(v).unwrap();
        }
        // `a` is four behind with room for two: it lost 2 and 3.
        assert!(matches!(
            a.recv(&cx).await,
            Err(broadcast::RecvError::Lagged(2))
        ));
        assert_eq!(a.recv(&cx).await.unwrap(), 4);
        assert_eq!(a.recv(&cx).await.unwrap(), 5);
        assert!(matches!(
            b.try_recv(),
            Err(broadcast::TryRecvError::Lagged(2))
        ));
        assert_eq!(b.try_recv().unwrap(), 4);
        drop(tx);
        assert_eq!(b.recv(&cx).await.unwrap(), 5);
        assert!(matches!(
            b.recv(&cx).await,
            Err(broadcast::RecvError::Closed)
        ));
        assert!(matches!(
            a.recv(&cx).await,
            Err(broadcast::RecvError::Closed)
        ));
    });
}

#[test]
fn broadcast_cancelled_recv_does_not_skip_a_value() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, rx) = broadcast::channel::<u32>(4);
        let rx = std::sync::Arc::new(asupersync::sync::Mutex::new(rx));
        let rx2 = rx.clone();
        let waiter =
            cx.spawn(move |cx| async move { rx2.lock(&cx).await.unwrap().recv(&cx).await });
        settle(&cx).await;
        waiter.cancel(CancelReason::user("stop"));
        tx.send(8).unwrap();
        assert!(matches!(
            waiter.join(&cx).await.unwrap(),
            Err(broadcast::RecvError::Cancelled(_))
        ));
        assert_eq!(rx.lock(&cx).await.unwrap().try_recv().unwrap(), 8);
    });
}

#[test]
fn broadcast_wakes_every_waiting_receiver() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, rx) = broadcast::channel::<u32>(4);
        let got = counter();
        let mut handles = Vec::new();
        for _ in 0..8 {
            let mut rx = rx.resubscribe();
            let got = got.clone();
            handles.push(cx.spawn(move |cx| async move {
                let v = rx.recv(&cx).await.unwrap();
                got.fetch_add(v as usize, Ordering::SeqCst);
            }));
        }
        settle(&cx).await;
        tx.send(3).unwrap();
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(got.load(Ordering::SeqCst), 24);
    });
}

#[test]
fn watch_changed_borrow_and_send_variants() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, mut rx) = watch::channel(0u32);
        assert!(!rx.has_changed());
        let h = cx.spawn(move |cx| async move {
            rx.changed(&cx).await.unwrap();
            let first = *rx.borrow_and_update();
            // Later changes may coalesce: keep reading until the sender is gone.
            let mut last = first;
            while rx.changed(&cx).await.is_ok() {
                last = *rx.borrow_and_update();
            }
            (first, last)
        });
        settle(&cx).await;
        tx.send(1).unwrap();
        settle(&cx).await;
        tx.send_modify(|v| *v += 10);
        settle(&cx).await;
        assert_eq!(tx.send_replace(20), 11);
        assert_eq!(*tx.borrow(), 20);
        let mut late = tx.subscribe();
        assert!(!late.has_changed());
        drop(tx);
        let (first, second) = h.join(&cx).await.unwrap();
        assert_eq!(first, 1);
        assert_eq!(second, 20, "ends on the latest value");
        assert!(matches!(
            late.changed(&cx).await,
            Err(watch::RecvError::Closed)
        ));
    });
}

#[test]
fn watch_cancelled_changed_does_not_mark_the_value_seen() {
    on_one_thread_and_lab(|cx| async move {
        let (tx, rx) = watch::channel(0u32);
        let rx = std::sync::Arc::new(asupersync::sync::Mutex::new(rx));
        let rx2 = rx.clone();
        let waiter =
            cx.spawn(move |cx| async move { rx2.lock(&cx).await.unwrap().changed(&cx).await });
        settle(&cx).await;
        waiter.cancel(CancelReason::user("stop"));
        tx.send(1).unwrap();
        let result = waiter.join(&cx).await.unwrap();
        let Err(watch::RecvError::Cancelled(c)) = result else {
            panic!("expected a cancelled wait, got {result:?}");
        };
        assert_eq!(c.reason().kind, CancelKind::User);
        let mut rx = rx.lock(&cx).await.unwrap();
        assert!(rx.has_changed(), "the change is still unseen");
        rx.changed(&cx).await.unwrap();
        assert_eq!(*rx.borrow(), 1);
    });
}

#[test]
fn mpsc_weak_senders_do_not_keep_the_channel_open() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let weak = tx.downgrade();
        let again = weak.upgrade().expect("a sender still exists");
        again.send(&cx, 1).await.unwrap();
        drop((tx, again));
        assert!(weak.upgrade().is_none());
        assert_eq!(rx.recv(&cx).await.unwrap(), 1);
        assert!(matches!(rx.recv(&cx).await, Err(mpsc::RecvError::Closed)));

        let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
        let uweak = utx.downgrade();
        drop(utx);
        assert!(uweak.upgrade().is_none());
        assert!(matches!(urx.recv(&cx).await, Err(mpsc::RecvError::Closed)));

        let (btx, _brx) = broadcast::channel::<u32>(2);
        let bweak = btx.downgrade();
        assert!(bweak.upgrade().is_some());
        drop(btx);
        assert!(bweak.upgrade().is_none());
    });
}

#[test]
fn mpsc_owned_permits_carry_the_sender() {
    on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let permit = tx.reserve_owned(&cx).await.unwrap();
        let h = cx.spawn(move |_cx| async move {
            let tx = permit.send(4);
            tx.max_capacity()
        });
        assert_eq!(h.join(&cx).await.unwrap(), 1);
        assert_eq!(rx.recv(&cx).await.unwrap(), 4);
        let (tx, _rx2) = mpsc::channel::<u32>(1);
        let held = tx.clone().try_reserve_owned().unwrap();
        let Err(mpsc::TrySendError::Full(tx)) = tx.try_reserve_owned() else {
            panic!("the only slot is held");
        };
        let tx2 = held.release();
        assert!(tx.same_channel(&tx2));
        assert_eq!(tx.capacity(), 1);
    });
}
