//! Sync primitives: semantics, and cancellation at every await point (nothing left
//! locked, no permit held, no wake-up swallowed), on every runtime flavor.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use asupersync::sync::{
    AcquireError, Barrier, Mutex, Notify, OnceCell, RwLock, Semaphore, TryAcquireError,
};
use asupersync::task::yield_now;
use asupersync::time::sleep;
use asupersync::{CancelReason, Cancelled, Cx};
use common::{counter, on_each_flavor, on_each_flavor_and_lab, on_one_thread_and_lab, Log, MS};

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
fn mutex_excludes_and_is_fifo() {
    on_one_thread_and_lab(|cx| async move {
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let guard = mutex.lock(&cx).await.unwrap();
        assert!(mutex.try_lock().is_err());
        let mut handles = Vec::new();
        for i in 0..5 {
            let mutex = mutex.clone();
            handles.push(cx.spawn(move |cx| async move {
                mutex.lock(&cx).await.unwrap().push(i);
            }));
            settle(&cx).await;
        }
        drop(guard);
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(*mutex.lock(&cx).await.unwrap(), [0, 1, 2, 3, 4]);
    });
}

#[test]
fn mutex_guard_held_across_await_keeps_others_out() {
    on_each_flavor(|cx| async move {
        let mutex = Arc::new(Mutex::new(0u32));
        let mut handles = Vec::new();
        for _ in 0..8 {
            let mutex = mutex.clone();
            handles.push(cx.spawn(move |cx| async move {
                for _ in 0..20 {
                    let mut guard = mutex.lock(&cx).await.unwrap();
                    let before = *guard;
                    yield_now(&cx).await.unwrap();
                    *guard = before + 1;
                }
            }));
        }
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(*mutex.lock(&cx).await.unwrap(), 160);
    });
}

#[test]
fn mutex_cancelled_lock_leaves_it_unlocked_for_the_next() {
    on_one_thread_and_lab(|cx| async move {
        let mutex = Arc::new(Mutex::new(0));
        let guard = mutex.lock(&cx).await.unwrap();
        let (m1, m2) = (mutex.clone(), mutex.clone());
        let a = cx.spawn(move |cx| async move { m1.lock(&cx).await.map(|mut g| *g += 1) });
        settle(&cx).await;
        let b = cx.spawn(move |cx| async move { m2.lock(&cx).await.map(|mut g| *g += 10) });
        settle(&cx).await;
        // Hand the lock to `a` and cancel `a` before it runs: `b` must get it.
        drop(guard);
        a.cancel(CancelReason::user("stop"));
        assert!(a.join(&cx).await.unwrap().is_err());
        b.join(&cx).await.unwrap().unwrap();
        assert_eq!(*mutex.try_lock().unwrap(), 10);
    });
}

#[test]
fn mutex_owned_guard_moves_into_a_task() {
    on_each_flavor(|cx| async move {
        let mutex = Arc::new(Mutex::new(1));
        let mut guard = mutex.clone().lock_owned(&cx).await.unwrap();
        let h = cx.spawn(move |_cx| async move {
            *guard += 1;
        });
        h.join(&cx).await.unwrap();
        assert_eq!(*mutex.try_lock_owned().unwrap(), 2);
    });
}

#[test]
fn rwlock_shares_reads_and_prefers_a_waiting_writer() {
    on_one_thread_and_lab(|cx| async move {
        let lock = Arc::new(RwLock::new(0));
        let r1 = lock.read(&cx).await.unwrap();
        let r2 = lock.try_read().unwrap();
        assert_eq!(*r1 + *r2, 0);
        let log = Log::default();
        let (l, w) = (lock.clone(), log.clone());
        let writer = cx.spawn(move |cx| async move {
            *l.write(&cx).await.unwrap() = 5;
            w.push("write");
        });
        settle(&cx).await;
        assert!(
            lock.try_read().is_err(),
            "a queued writer blocks new readers"
        );
        let (l, r) = (lock.clone(), log.clone());
        let reader = cx.spawn(move |cx| async move {
            let v = *l.read(&cx).await.unwrap();
            r.push(format!("read {v}"));
        });
        settle(&cx).await;
        drop((r1, r2));
        writer.join(&cx).await.unwrap();
        reader.join(&cx).await.unwrap();
        assert_eq!(log.events(), ["write", "read 5"]);
    });
}

#[test]
fn rwlock_cancelled_writer_unblocks_readers() {
    on_one_thread_and_lab(|cx| async move {
        let lock = Arc::new(RwLock::new(0));
        let r = lock.read(&cx).await.unwrap();
        let l = lock.clone();
        let writer = cx.spawn(move |cx| async move { l.write(&cx).await.map(drop) });
        settle(&cx).await;
        assert!(lock.try_read().is_err());
        writer.cancel(CancelReason::user("stop"));
        assert!(writer.join(&cx).await.unwrap().is_err());
        assert!(lock.try_read().is_ok(), "readers flow again");
        drop(r);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn semaphore_counts_and_serves_in_order() {
    on_one_thread_and_lab(|cx| async move {
        let sem = Arc::new(Semaphore::new(3));
        let two = sem.acquire(&cx, 2).await.unwrap();
        assert_eq!(two.num_permits(), 2);
        assert_eq!(sem.available_permits(), 1);
        assert!(matches!(
            sem.try_acquire(2),
            Err(TryAcquireError::NoPermits)
        ));
        let log = Log::default();
        let (s, l) = (sem.clone(), log.clone());
        let big = cx.spawn(move |cx| async move {
            let _p = s.acquire(&cx, 3).await.unwrap();
            l.push("big");
        });
        settle(&cx).await;
        assert!(
            sem.try_acquire(1).is_err(),
            "a small request may not overtake a queued big one"
        );
        drop(two);
        big.join(&cx).await.unwrap();
        assert_eq!(log.events(), ["big"]);
        sem.add_permits(2);
        assert_eq!(sem.available_permits(), 5);
        let owned = sem.clone().acquire_owned(&cx, 5).await.unwrap();
        assert_eq!(owned.num_permits(), 5);
        owned.forget();
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn semaphore_close_fails_waiters() {
    on_one_thread_and_lab(|cx| async move {
        let sem = Arc::new(Semaphore::new(0));
        let s = sem.clone();
        let waiter = cx.spawn(move |cx| async move { s.acquire(&cx, 1).await.map(drop) });
        settle(&cx).await;
        sem.close();
        assert!(matches!(
            waiter.join(&cx).await.unwrap(),
            Err(AcquireError::Closed)
        ));
        assert!(sem.is_closed());
        assert!(matches!(sem.try_acquire(1), Err(TryAcquireError::Closed)));
    });
}

#[test]
fn semaphore_cancelled_head_of_queue_lets_smaller_requests_through() {
    on_one_thread_and_lab(|cx| async move {
        let sem = Arc::new(Semaphore::new(1));
        let (s1, s2) = (sem.clone(), sem.clone());
        let big = cx.spawn(move |cx| async move { s1.acquire(&cx, 5).await.map(drop) });
        settle(&cx).await;
        let small = cx.spawn(move |cx| async move { s2.acquire(&cx, 1).await.map(drop) });
        settle(&cx).await;
        assert!(!small.is_finished(), "queued behind the big request");
        big.cancel(CancelReason::user("stop"));
        assert!(matches!(
            big.join(&cx).await.unwrap(),
            Err(AcquireError::Cancelled(_))
        ));
        small.join(&cx).await.unwrap().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn semaphore_stress_never_exceeds_its_permits() {
    on_each_flavor(|cx| async move {
        let sem = Arc::new(Semaphore::new(3));
        let inside = counter();
        let peak = counter();
        let mut handles = Vec::new();
        for i in 0..64 {
            let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
            handles.push(cx.spawn(move |cx| async move {
                for _ in 0..10 {
                    let Ok(_permit) = sem.acquire(&cx, 1 + i % 2).await else {
                        return;
                    };
                    let now = inside.fetch_add(1 + i % 2, Ordering::SeqCst) + 1 + i % 2;
                    peak.fetch_max(now, Ordering::SeqCst);
                    yield_now(&cx).await.ok();
                    inside.fetch_sub(1 + i % 2, Ordering::SeqCst);
                }
            }));
        }
        for (i, h) in handles.iter().enumerate() {
            if i % 7 == 0 {
                h.cancel(CancelReason::user("stress"));
            }
        }
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(sem.available_permits(), 3, "every permit came back");
    });
}

#[test]
fn notify_one_stores_a_permit_and_wakes_in_order() {
    on_one_thread_and_lab(|cx| async move {
        let notify = Arc::new(Notify::new());
        notify.notify_one();
        notify.notified(&cx).await.unwrap();
        let log = Log::default();
        let mut handles = Vec::new();
        for i in 0..3 {
            let (n, l) = (notify.clone(), log.clone());
            handles.push(cx.spawn(move |cx| async move {
                n.notified(&cx).await.unwrap();
                l.push(format!("{i}"));
            }));
            settle(&cx).await;
        }
        for _ in 0..3 {
            notify.notify_one();
            settle(&cx).await;
        }
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(log.events(), ["0", "1", "2"]);
    });
}

#[test]
fn notify_waiters_wakes_everyone_waiting_and_stores_nothing() {
    on_one_thread_and_lab(|cx| async move {
        let notify = Arc::new(Notify::new());
        let woken = counter();
        let mut handles = Vec::new();
        for _ in 0..4 {
            let (n, w) = (notify.clone(), woken.clone());
            handles.push(cx.spawn(move |cx| async move {
                n.notified(&cx).await.unwrap();
                w.fetch_add(1, Ordering::SeqCst);
            }));
        }
        settle(&cx).await;
        notify.notify_waiters();
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 4);
        let late = asupersync::time::timeout(&cx, 2 * MS, notify.notified(&cx)).await;
        assert!(late.is_err(), "notify_waiters stored no permit");
    });
}

#[test]
fn notify_a_cancelled_waiter_passes_its_notification_on() {
    on_one_thread_and_lab(|cx| async move {
        let notify = Arc::new(Notify::new());
        let (n1, n2) = (notify.clone(), notify.clone());
        let a = cx.spawn(move |cx| async move { n1.notified(&cx).await });
        settle(&cx).await;
        let b = cx.spawn(move |cx| async move { n2.notified(&cx).await });
        settle(&cx).await;
        notify.notify_one();
        a.cancel(CancelReason::user("stop"));
        assert!(a.join(&cx).await.unwrap().is_err());
        b.join(&cx).await.unwrap().unwrap();
    });
}

#[test]
fn notify_a_cancelled_last_waiter_restores_the_permit() {
    on_one_thread_and_lab(|cx| async move {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let a = cx.spawn(move |cx| async move { n.notified(&cx).await });
        settle(&cx).await;
        notify.notify_one();
        a.cancel(CancelReason::user("stop"));
        assert!(a.join(&cx).await.unwrap().is_err());
        notify.notified(&cx).await.unwrap();
    });
}

#[test]
fn barrier_releases_all_with_one_leader_and_resets() {
    on_each_flavor(|cx| async move {
        let barrier = Arc::new(Barrier::new(4));
        for _round in 0..2 {
            let mut handles = Vec::new();
            for _ in 0..4 {
                let b = barrier.clone();
                handles.push(cx.spawn(move |cx| async move { b.wait(&cx).await.unwrap() }));
            }
            let mut leaders = 0;
            for h in handles {
                if h.join(&cx).await.unwrap().is_leader() {
                    leaders += 1;
                }
            }
            assert_eq!(leaders, 1);
        }
    });
}

#[test]
fn barrier_a_cancelled_waiter_withdraws_its_arrival() {
    on_one_thread_and_lab(|cx| async move {
        let barrier = Arc::new(Barrier::new(2));
        let b = barrier.clone();
        let quitter = cx.spawn(move |cx| async move { b.wait(&cx).await });
        settle(&cx).await;
        quitter.cancel(CancelReason::user("stop"));
        assert!(quitter.join(&cx).await.unwrap().is_err());
        // One arrival does not trip a barrier of two.
        let alone = asupersync::time::timeout(&cx, 3 * MS, barrier.wait(&cx)).await;
        assert!(alone.is_err(), "the cancelled arrival was withdrawn");
        let b = barrier.clone();
        let partner = cx.spawn(move |cx| async move { b.wait(&cx).await.map(|r| r.is_leader()) });
        let me = barrier.wait(&cx).await.unwrap().is_leader();
        let them = partner.join(&cx).await.unwrap().unwrap();
        assert!(me ^ them);
    });
}

#[test]
fn once_cell_initialises_once() {
    on_each_flavor(|cx| async move {
        let cell = Arc::new(OnceCell::new());
        let runs = counter();
        let mut handles = Vec::new();
        for i in 0..6 {
            let (cell, runs) = (cell.clone(), runs.clone());
            handles.push(cx.spawn(move |cx| async move {
                *cell
                    .get_or_init(&cx, || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        sleep(&cx, MS).await.ok();
                        i
                    })
                    .await
                    .unwrap()
            }));
        }
        let values: Vec<i32> = {
            let mut v = Vec::new();
            for h in handles {
                v.push(h.join(&cx).await.unwrap());
            }
            v
        };
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(values.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(cell.get(), Some(&values[0]));
        assert!(cell.set(99).is_err());
    });
}

#[test]
fn once_cell_a_cancelled_initialiser_lets_the_next_caller_retry() {
    on_one_thread_and_lab(|cx| async move {
        let cell = Arc::new(OnceCell::<u32>::new());
        let c = cell.clone();
        let first = cx.spawn(move |cx| async move {
            c.get_or_try_init(&cx, || async {
                sleep(&cx, 60_000 * MS).await?;
                Ok::<u32, Cancelled>(1)
            })
            .await
            .copied()
        });
        settle(&cx).await;
        let c = cell.clone();
        let second =
            cx.spawn(move |cx| async move { *c.get_or_init(&cx, || async { 2 }).await.unwrap() });
        settle(&cx).await;
        first.cancel(CancelReason::user("stop"));
        assert!(first.join(&cx).await.unwrap().is_err());
        assert_eq!(second.join(&cx).await.unwrap(), 2);
        assert_eq!(cell.get(), Some(&2));
    });
}

#[test]
fn once_cell_initialiser_dropped_mid_way_leaves_the_cell_empty_and_unlocked() {
    on_each_flavor(|cx| async move {
        let cell = OnceCell::<u32>::new();
        let attempt = asupersync::time::timeout(
            &cx,
            2 * MS,
            cell.get_or_init(&cx, || async {
                sleep(&cx, 60_000 * MS).await.ok();
                1
            }),
        )
        .await;
        assert!(attempt.is_err());
        assert!(!cell.initialized());
        assert_eq!(*cell.get_or_init(&cx, || async { 3 }).await.unwrap(), 3);
    });
}

#[test]
fn mapped_guards_narrow_and_still_unlock() {
    use asupersync::sync::{
        MappedMutexGuard, MutexGuard, OwnedMutexGuard, OwnedRwLockWriteGuard, RwLockWriteGuard,
    };
    // Under the lab the guards also carry a holder record that the mapped guard releases.
    on_each_flavor_and_lab(|cx| async move {
        let mutex = Mutex::new((1, String::from("a")));
        {
            let mut name: MappedMutexGuard<'_, String> =
                MutexGuard::map(mutex.lock(&cx).await.unwrap(), |v| &mut v.1);
            name.push('b');
            assert!(mutex.try_lock().is_err(), "the mapped guard keeps the lock");
        }
        assert_eq!(mutex.try_lock().unwrap().1, "ab");

        let shared = Arc::new(Mutex::new(vec![1, 2]));
        let mut first =
            OwnedMutexGuard::map(shared.clone().lock_owned(&cx).await.unwrap(), |v| &mut v[0]);
        *first = 10;
        drop(first);
        assert_eq!(*shared.try_lock().unwrap(), [10, 2]);
        assert_eq!(Arc::strong_count(&shared), 1, "no Arc count leaked by map");

        let lock = RwLock::new([0u8; 2]);
        let mut second = RwLockWriteGuard::map(lock.write(&cx).await.unwrap(), |v| &mut v[1]);
        *second = 7;
        assert!(lock.try_read().is_err());
        drop(second);
        assert_eq!(*lock.try_read().unwrap(), [0, 7]);

        let shared = Arc::new(RwLock::new([0u8; 2]));
        let mut third =
            OwnedRwLockWriteGuard::map(shared.clone().write_owned(&cx).await.unwrap(), |v| {
                &mut v[0]
            });
        *third = 3;
        assert!(shared.try_read().is_err());
        drop(third);
        assert_eq!(*shared.try_read().unwrap(), [3, 0]);
        assert_eq!(Arc::strong_count(&shared), 1, "no Arc count leaked by map");
    });
}

#[test]
fn owned_rwlock_guards_move_into_tasks() {
    on_each_flavor(|cx| async move {
        let lock = Arc::new(RwLock::new(1));
        let mut w = lock.clone().write_owned(&cx).await.unwrap();
        let h = cx.spawn(move |_cx| async move { *w += 1 });
        h.join(&cx).await.unwrap();
        let r = lock.clone().read_owned(&cx).await.unwrap();
        assert_eq!(*r, 2);
        assert!(lock.try_write().is_err());
        drop(r);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn once_cell_set_reports_why_it_failed() {
    use asupersync::sync::SetError;
    let cell = OnceCell::new();
    assert!(cell.set(1).is_ok());
    assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
    assert_eq!(cell.into_inner(), Some(1));
}

#[test]
fn set_once_wakes_every_waiter_and_waiting_is_cancel_aware() {
    use asupersync::sync::SetOnce;
    on_one_thread_and_lab(|cx| async move {
        let once = Arc::new(SetOnce::new());
        let mut handles = Vec::new();
        for _ in 0..4 {
            let once = once.clone();
            handles.push(cx.spawn(move |cx| async move { *once.wait(&cx).await.unwrap() }));
        }
        let o = once.clone();
        let quitter = cx.spawn(move |cx| async move { o.wait(&cx).await.copied() });
        settle(&cx).await;
        quitter.cancel(CancelReason::user("stop"));
        assert!(quitter.join(&cx).await.unwrap().is_err());
        once.set(5).unwrap();
        assert!(once.set(6).is_err());
        for h in handles {
            assert_eq!(h.join(&cx).await.unwrap(), 5);
        }
    });
}

#[test]
fn lock_and_acquire_futures_dropped_while_queued_leave_no_trace() {
    on_each_flavor(|cx| async move {
        let mutex = Mutex::new(0);
        let guard = mutex.lock(&cx).await.unwrap();
        let dropped = asupersync::time::timeout(&cx, 2 * MS, mutex.lock(&cx)).await;
        assert!(dropped.is_err(), "timed out while queued");
        drop(guard);
        assert!(
            mutex.try_lock().is_ok(),
            "the dropped waiter left the queue"
        );

        let sem = Semaphore::new(1);
        let held = sem.acquire(&cx, 1).await.unwrap();
        let dropped = asupersync::time::timeout(&cx, 2 * MS, sem.acquire(&cx, 1)).await;
        assert!(dropped.is_err());
        drop(held);
        assert_eq!(sem.available_permits(), 1);
        assert!(sem.try_acquire(1).is_ok());

        let notify = Notify::new();
        let dropped = asupersync::time::timeout(&cx, 2 * MS, notify.notified(&cx)).await;
        assert!(dropped.is_err());
        notify.notify_one();
        notify.notified(&cx).await.unwrap();
    });
}

#[test]
fn a_cancelled_region_releases_what_its_tasks_held() {
    on_each_flavor(|cx| async move {
        let mutex = Arc::new(Mutex::new(0));
        let sem = Arc::new(Semaphore::new(2));
        let (m, s) = (mutex.clone(), sem.clone());
        let outcome = asupersync::Region::open(&cx, "holders", move |cx| async move {
            for _ in 0..4 {
                let (m, s) = (m.clone(), s.clone());
                let _ = cx.spawn(move |cx| async move {
                    let Ok(_permit) = s.acquire(&cx, 1).await else {
                        return;
                    };
                    let Ok(_guard) = m.lock(&cx).await else {
                        return;
                    };
                    sleep(&cx, 60_000 * MS).await.ok();
                });
            }
            sleep(&cx, 2 * MS).await.unwrap();
            cx.cancel_region(CancelReason::user("stop"));
        })
        .await;
        assert!(outcome.is_ok(), "the body itself returned normally");
        assert_eq!(sem.available_permits(), 2);
        assert!(mutex.try_lock().is_ok());
    });
}

#[test]
fn rwlock_stress_readers_never_see_a_half_write() {
    on_each_flavor(|cx| async move {
        // A writer keeps both halves equal; a reader that ever sees them differ saw a
        // write in progress.
        let lock = Arc::new(RwLock::new((0u64, 0u64)));
        let mut handles = Vec::new();
        for i in 0..32 {
            let lock = lock.clone();
            handles.push(cx.spawn(move |cx| async move {
                for _ in 0..20 {
                    if i % 4 == 0 {
                        let mut w = lock.write(&cx).await.unwrap();
                        w.0 += 1;
                        yield_now(&cx).await.unwrap();
                        w.1 += 1;
                    } else {
                        let r = lock.read(&cx).await.unwrap();
                        let first = r.0;
                        yield_now(&cx).await.unwrap();
                        assert_eq!(first, r.1, "a reader saw a write in progress");
                    }
                }
            }));
        }
        for h in handles {
            h.join(&cx).await.unwrap();
        }
        assert_eq!(*lock.read(&cx).await.unwrap(), (160, 160));
    });
}

#[test]
fn notify_stress_every_notify_one_wakes_exactly_one_waiter() {
    on_one_thread_and_lab(|cx| async move {
        let notify = Arc::new(Notify::new());
        let woken = counter();
        let registered = counter();
        let mut handles = Vec::new();
        for i in 0..50 {
            let (n, w, r) = (notify.clone(), woken.clone(), registered.clone());
            handles.push(cx.spawn(move |cx| async move {
                let mut notified = std::pin::pin!(n.notified(&cx));
                // On the wait list before we say so: no notification can coalesce
                // into the single stored permit.
                notified.as_mut().enable();
                r.fetch_add(1, Ordering::SeqCst);
                let woke = notified.await.is_ok();
                if woke {
                    w.fetch_add(1, Ordering::SeqCst);
                }
                (i, woke)
            }));
        }
        while registered.load(Ordering::SeqCst) < 50 {
            yield_now(&cx).await.unwrap();
        }
        // Cancel some waiters while notifications are in flight: their notifications
        // must be passed on, so the 30 notifications still wake 30 tasks.
        for (i, h) in handles.iter().enumerate() {
            if i % 5 == 0 {
                h.cancel(CancelReason::user("stress"));
            }
            if i < 30 {
                notify.notify_one();
            }
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while woken.load(Ordering::SeqCst) < 30 && std::time::Instant::now() < deadline {
            settle(&cx).await;
        }
        settle(&cx).await;
        assert_eq!(woken.load(Ordering::SeqCst), 30, "no more, no fewer");
        notify.notify_waiters();
        let mut cancelled = 0;
        for h in handles {
            let (i, woke) = h.join(&cx).await.unwrap();
            if !woke {
                assert_eq!(i % 5, 0, "task {i} was neither woken nor cancelled");
                cancelled += 1;
            }
        }
        // Every task woke exactly once or was cancelled (a cancelled waiter that had
        // been notified passed its notification on, so it is not lost).
        assert_eq!(woken.load(Ordering::SeqCst) + cancelled, 50);
        assert!(cancelled <= 10);
    });
}
