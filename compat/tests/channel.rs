//! Tokio mpsc bridged to native code: items cross both ways, waits are cancel-aware,
//! and a cancelled forwarder loses no item.

#[path = "../../runtime/tests/common/mod.rs"]
mod common;

use asupersync::{CancelKind, CancelReason, Outcome};
use asupersync_tokio_compat::channel::{forward_to_tokio, ReceiverGone, TokioReceiver};
use asupersync_tokio_compat::run;
use common::MS;
use futures_util::StreamExt;

#[test]
fn items_sent_by_tokio_code_reach_a_native_receiver() {
    common::on_each_flavor(|cx| async move {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let producer = cx.spawn(move |cx| async move {
            run(&cx, async move {
                for i in 0..20u32 {
                    tx.send(i).await.unwrap();
                    if i % 5 == 0 {
                        tokio::time::sleep(MS).await;
                    }
                }
            })
            .await
        });
        let mut rx = TokioReceiver::new(rx);
        let mut got = Vec::new();
        while let Some(item) = rx.recv(&cx).await.unwrap() {
            got.push(item);
        }
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        producer.join(&cx).await.unwrap().unwrap();
    });
}

#[test]
fn a_native_receive_wait_is_cancel_aware() {
    common::on_each_flavor(|cx| async move {
        let (tx, rx) = tokio::sync::mpsc::channel::<u32>(4);
        let waiter = cx.spawn(move |cx| async move {
            let mut rx = TokioReceiver::new(rx);
            let result = rx.recv(&cx).await;
            (result.map_err(|c| c.reason().kind), rx)
        });
        asupersync::time::sleep(&cx, 10 * MS).await.unwrap();
        waiter.cancel(CancelReason::user("stop waiting"));
        let (result, mut rx) = waiter.join(&cx).await.unwrap();
        assert_eq!(result, Err(CancelKind::User));
        // Nothing was taken: a later item still arrives.
        tx.send(9).await.unwrap();
        assert_eq!(rx.recv(&cx).await.unwrap(), Some(9));
    });
}

#[test]
fn a_native_stream_is_forwarded_into_tokio_code() {
    common::on_each_flavor(|cx| async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let consumer = cx.spawn(move |cx| async move {
            run(&cx, async move {
                let mut sum = 0u64;
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
                sum
            })
            .await
        });
        let items = futures_util::stream::iter(1..=100u64);
        let forwarded = forward_to_tokio(&cx, items, &tx).await;
        drop(tx);
        assert_eq!(forwarded.unwrap(), 100);
        assert_eq!(consumer.join(&cx).await.unwrap().unwrap(), 5050);
    });
}

#[test]
fn forwarding_reports_a_tokio_receiver_that_went_away() {
    common::on_each_flavor(|cx| async move {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        drop(rx);
        let outcome = forward_to_tokio(&cx, futures_util::stream::iter([1, 2]), &tx).await;
        match outcome {
            Outcome::Err(ReceiverGone { forwarded }) => assert_eq!(forwarded, 0),
            other => panic!("expected Err, got {other:?}"),
        }
    });
}

#[test]
fn a_cancelled_forwarder_loses_no_item() {
    common::on_each_flavor(|cx| async move {
        // A full channel: the forwarder waits for a slot, holding no item.
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        tx.send(0u32).await.unwrap();
        let (items_tx, items_rx) = tokio::sync::mpsc::channel(8);
        // asupersync: allow(loop-without-checkpoint) -- three sends into a channel with room for eight
        for i in 1..=3u32 {
            items_tx.send(i).await.unwrap();
        }
        drop(items_tx);
        let forwarder = cx.spawn(move |cx| async move {
            let mut items = TokioReceiver::new(items_rx);
            let outcome = forward_to_tokio(&cx, &mut items, &tx).await;
            (outcome.map(|_| ()).map_err(|_| ()), items)
        });
        asupersync::time::sleep(&cx, 10 * MS).await.unwrap();
        forwarder.cancel(CancelReason::user("stop forwarding"));
        let (outcome, mut items) = forwarder.join(&cx).await.unwrap();
        assert!(outcome.is_cancelled(), "{outcome:?}");
        // Only the item that was there before; the three are still in the source.
        assert_eq!(rx.recv().await, Some(0));
        assert!(rx.try_recv().is_err());
        let rest: Vec<u32> = (&mut items).collect().await;
        assert_eq!(rest, [1, 2, 3]);
    });
}
