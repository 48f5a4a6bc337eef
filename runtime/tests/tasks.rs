//! Spawning, joining, panics, handles.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use asupersync::{task, time, Cx, Outcome, Region, TaskHandle};
use common::*;

#[test]
fn spawn_and_join_returns_the_value() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|_cx| async move { 40 + 2 });
        assert_eq!(handle.join(&cx).await, Outcome::Ok(42));
    });
}

#[test]
fn a_panic_becomes_panicked_and_siblings_keep_running() {
    on_each_flavor(|cx| async move {
        let panicker = cx.spawn(|cx| async move {
            time::sleep(&cx, 2 * MS).await.unwrap();
            panic!("task blew up");
        });
        let sibling = cx.spawn(|cx| async move {
            time::sleep(&cx, 10 * MS).await.unwrap();
            "still here"
        });
        match panicker.join(&cx).await {
            Outcome::Panicked(p) => assert_eq!(p.message(), "task blew up"),
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(sibling.join(&cx).await, Outcome::Ok("still here"));
        // The runtime is still serving.
        assert_eq!(cx.spawn(|_cx| async { 1 }).join(&cx).await, Outcome::Ok(1));
    });
}

#[test]
fn dropping_a_handle_neither_cancels_nor_detaches() {
    on_each_flavor(|cx| async move {
        let finished = flag();
        let f = finished.clone();
        Region::open(&cx, "owner", |cx| async move {
            let handle = cx.spawn(move |cx| async move {
                time::sleep(&cx, 20 * MS).await.unwrap();
                f.store(true, Ordering::SeqCst);
            });
            drop(handle);
        })
        .await
        .unwrap();
        assert!(
            finished.load(Ordering::SeqCst),
            "the region closed without its task"
        );
    });
}

#[test]
fn is_finished_turns_true_when_the_task_ends() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            time::sleep(&cx, 5 * MS).await.unwrap();
        });
        assert!(!handle.is_finished());
        // Bounded in time, not a fixed sleep: on a loaded machine a worker may run the
        // task late.
        let give_up = cx.now() + Duration::from_secs(5);
        while !handle.is_finished() && cx.now() < give_up {
            time::sleep(&cx, 5 * MS).await.unwrap();
        }
        assert!(handle.is_finished());
        assert!(handle.join(&cx).await.is_ok());
    });
}

#[test]
fn named_tasks_keep_their_names_and_distinct_ids() {
    on_each_flavor(|cx| async move {
        let a = cx.spawn_named("alpha", |cx| async move { cx.task_id() });
        let b = cx.spawn(|cx| async move { cx.task_id() });
        assert_eq!(a.name(), Some("alpha"));
        assert_eq!(b.name(), None);
        let (a_id, b_id) = (a.id(), b.id());
        assert_ne!(a_id, b_id);
        assert_eq!(
            a.join(&cx).await.unwrap(),
            a_id,
            "a task's cx reports its own id"
        );
        assert_eq!(b.join(&cx).await.unwrap(), b_id);
    });
}

#[test]
fn yield_now_interleaves_tasks() {
    let runtime = current_thread();
    let order = runtime
        .block_on(|cx| async move {
            let log = Log::default();
            let handles: Vec<TaskHandle<()>> = ["a", "b"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    cx.spawn(move |cx| async move {
                        for i in 0..3 {
                            log.push(format!("{name}{i}"));
                            task::yield_now(&cx).await.unwrap();
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join(&cx).await.unwrap();
            }
            log.events()
        })
        .unwrap();
    assert_eq!(order, ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn a_busy_yielding_task_does_not_starve_a_sibling() {
    on_each_flavor(|cx| async move {
        let stop = flag();
        let s = stop.clone();
        let spinner = cx.spawn(move |cx| async move {
            let mut spins = 0u64;
            while !s.load(Ordering::SeqCst) {
                task::yield_now(&cx).await.unwrap();
                spins += 1;
            }
            spins
        });
        let sibling = cx.spawn(|cx| async move {
            time::sleep(&cx, 10 * MS).await.unwrap();
            "sibling ran"
        });
        assert_eq!(sibling.join(&cx).await.unwrap(), "sibling ran");
        stop.store(true, Ordering::SeqCst);
        assert!(spinner.join(&cx).await.unwrap() > 0);
    });
}

#[test]
fn cx_is_cheap_to_clone_and_thread_safe() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Cx>();
    fn assert_send<T: Send>() {}
    assert_send::<TaskHandle<String>>();
}

#[test]
fn tasks_see_their_region() {
    on_each_flavor(|cx| async move {
        Region::open(&cx, "named-region", |cx| async move {
            let region_id = cx.region_id();
            let handle =
                cx.spawn(|cx| async move { (cx.region_id(), cx.region_name().to_string()) });
            assert_eq!(
                handle.join(&cx).await.unwrap(),
                (region_id, "named-region".to_string())
            );
        })
        .await
        .unwrap();
    });
}

#[test]
fn join_of_a_task_that_outlives_the_joiners_wait_is_not_lost() {
    on_each_flavor(|cx| async move {
        let handle = cx.spawn(|cx| async move {
            time::sleep(&cx, 15 * MS).await.unwrap();
            vec![1, 2, 3]
        });
        let result = time::timeout(&cx, Duration::from_secs(5), handle.join(&cx)).await;
        assert_eq!(result.unwrap(), Outcome::Ok(vec![1, 2, 3]));
    });
}

/// Waits (generously: the machine is shared) until `name` is referenced only by the
/// test, i.e. the task's core that held the other reference was freed.
async fn until_only_the_test_holds(cx: &Cx, name: &std::sync::Arc<str>) -> usize {
    for _ in 0..2000 {
        if std::sync::Arc::strong_count(name) == 1 {
            break;
        }
        time::sleep(cx, MS).await.unwrap();
    }
    std::sync::Arc::strong_count(name)
}

#[test]
fn the_spawn_closure_runs_in_the_task_with_the_tasks_own_cx() {
    on_each_flavor_and_lab(|cx| async move {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot = seen.clone();
        let handle = cx.spawn(move |cx| {
            // The synchronous part of the closure already has the task's Cx.
            *slot.lock().unwrap() = Some(cx.task_id());
            async move { cx.task_id() }
        });
        let id = handle.id();
        assert_ne!(id, cx.task_id());
        assert_eq!(handle.join(&cx).await, Outcome::Ok(id));
        assert_eq!(*seen.lock().unwrap(), Some(id));
    });
}

#[test]
fn a_panic_in_the_spawn_closure_is_the_tasks_panic() {
    on_each_flavor_and_lab(|cx| async move {
        let handle = cx.spawn(|_cx| -> std::future::Ready<()> { panic!("closure blew up") });
        match handle.join(&cx).await {
            Outcome::Panicked(p) => assert_eq!(p.message(), "closure blew up"),
            other => panic!("expected Panicked, got {other:?}"),
        }
        // The spawner and the runtime carry on.
        assert_eq!(cx.spawn(|_cx| async { 7 }).join(&cx).await, Outcome::Ok(7));
    });
}

#[test]
fn a_finished_tasks_core_is_freed_and_a_kept_cx_keeps_it_alive() {
    // Not under the lab: its registry keeps every task's core for its end-of-run report.
    on_each_flavor(|cx| async move {
        // The task's name lives in its core, so its reference count shows whether the
        // core (and the task's single allocation around it) was freed.
        let name: std::sync::Arc<str> = "kept".into();
        let handle = cx.spawn_named(name.clone(), |cx| async move {
            // A region opened in the task holds the task as its owner until it closes.
            Region::open(&cx, "inner", |_cx| async {}).await.unwrap();
            cx
        });
        let id = handle.id();
        let kept = handle.join(&cx).await.unwrap();
        // The task is gone, but its Cx still answers: it keeps the core alive.
        assert_eq!(kept.task_id(), id);
        assert!(!kept.is_cancel_requested());
        assert!(kept.checkpoint().is_ok());
        assert_eq!(kept.region_id(), cx.region_id());
        assert!(std::sync::Arc::strong_count(&name) > 1);
        drop(kept);
        assert_eq!(
            until_only_the_test_holds(&cx, &name).await,
            1,
            "the task's core was not freed after its last Cx went"
        );

        // The same without a kept Cx, for a task cancelled while it waits.
        let name: std::sync::Arc<str> = "cancelled".into();
        let handle = cx.spawn_named(name.clone(), |cx| async move {
            time::sleep(&cx, Duration::from_secs(60)).await
        });
        handle.cancel(asupersync::CancelReason::user("stop"));
        assert!(handle.join(&cx).await.unwrap().is_err());
        assert_eq!(until_only_the_test_holds(&cx, &name).await, 1);
    });
}
