//! Obligations: permits and leases are tracked per region with their creating
//! location, and a region that closes with one unresolved reports a leak.

mod common;

use asupersync::channel::mpsc;
use asupersync::obligation::{LeakPolicy, Obligation};
use asupersync::sync::Semaphore;
use asupersync::trace::TraceKind;
use asupersync::{Outcome, Region};

#[test]
fn a_leaked_lease_panics_with_the_creating_file_and_line() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder
            .obligation_leak_policy(LeakPolicy::Panic)
            .build()
            .unwrap();
        let line = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let line2 = line.clone();
        let outcome = rt.block_on(|cx| async move {
            Region::open(&cx, "leaky", |cx| async move {
                line2.store(line!() + 1, std::sync::atomic::Ordering::SeqCst);
                let lease = Obligation::new(&cx, "lease");
                std::mem::forget(lease);
            })
            .await
        });
        let Outcome::Panicked(payload) = outcome else {
            panic!("expected the leak to panic, got {outcome:?}");
        };
        let expected = format!(
            "tests/obligation.rs:{}",
            line.load(std::sync::atomic::Ordering::SeqCst)
        );
        assert!(
            payload.message().contains(&expected),
            "{} should name {expected}",
            payload.message()
        );
        assert!(payload.message().contains("leaky"), "{}", payload.message());
        assert!(payload.message().contains("lease"), "{}", payload.message());
    }
}

#[test]
fn a_leaked_send_permit_is_logged_with_its_location_under_the_log_policy() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder
            .obligation_leak_policy(LeakPolicy::Log)
            .trace(true)
            .build()
            .unwrap();
        let (tx, _rx) = mpsc::channel::<u32>(2);
        let tx = Box::leak(Box::new(tx));
        let outcome = rt.block_on(|cx| async move {
            let inner = Region::open(&cx, "sender", |cx| async move {
                let permit = tx.reserve(&cx).await.unwrap();
                std::mem::forget(permit);
                line!() - 2
            })
            .await;
            inner.unwrap()
        });
        let line = outcome.unwrap();
        let leaks: Vec<String> = rt
            .take_trace()
            .into_iter()
            .filter_map(|e| match e.kind {
                TraceKind::ObligationLeaked(text) => Some(text),
                _ => None,
            })
            .collect();
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].contains("mpsc send permit"), "{}", leaks[0]);
        assert!(
            leaks[0].contains(&format!("tests/obligation.rs:{line}")),
            "{} should name line {line}",
            leaks[0]
        );
    }
}

#[test]
fn resolved_and_dropped_obligations_are_not_leaks() {
    common::on_each_flavor(|cx| async move {
        let sem = Semaphore::new(2);
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let outcome = Region::open(&cx, "tidy", |cx| async move {
            let lease = Obligation::new(&cx, "lease");
            assert_eq!(cx.outstanding_obligations().len(), 1);
            lease.resolve();
            let permit = sem.acquire(&cx, 1).await.unwrap();
            assert_eq!(cx.outstanding_obligations()[0].kind, "semaphore permit");
            drop(permit);
            tx.reserve(&cx).await.unwrap().send(1);
            let unused = tx.reserve(&cx).await.unwrap();
            drop(unused);
            Obligation::new(&cx, "aborted").abort();
            assert!(cx.outstanding_obligations().is_empty());
        })
        .await;
        assert!(outcome.is_ok());
        assert_eq!(rx.try_recv().unwrap(), 1);
    });
}

#[test]
fn a_permit_moved_out_of_its_region_is_a_leak() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder
            .obligation_leak_policy(LeakPolicy::Panic)
            .build()
            .unwrap();
        let sem = std::sync::Arc::new(Semaphore::new(1));
        let outcome = rt.block_on(|cx| async move {
            let escaped = Region::open(&cx, "inner", |cx| {
                let sem = sem.clone();
                async move { sem.acquire_owned(&cx, 1).await.unwrap() }
            })
            .await;
            escaped.map(drop)
        });
        let Outcome::Panicked(payload) = outcome else {
            panic!("expected a leak report, got {outcome:?}");
        };
        assert!(
            payload.message().contains("semaphore permit"),
            "{}",
            payload.message()
        );
        assert!(
            payload.message().contains("tests/obligation.rs:"),
            "{}",
            payload.message()
        );
    }
}

#[test]
fn silent_policy_reports_nothing() {
    for (_flavor, builder) in common::flavors() {
        let rt = builder
            .obligation_leak_policy(LeakPolicy::Silent)
            .trace(true)
            .build()
            .unwrap();
        let outcome = rt.block_on(|cx| async move {
            Region::open(&cx, "quiet", |cx| async move {
                std::mem::forget(Obligation::new(&cx, "lease"));
            })
            .await
        });
        assert!(outcome.unwrap().is_ok());
        assert!(!rt
            .take_trace()
            .iter()
            .any(|e| matches!(e.kind, TraceKind::ObligationLeaked(_))));
    }
}

#[test]
fn the_default_policy_panics_in_debug_builds() {
    assert_eq!(
        LeakPolicy::default(),
        if cfg!(debug_assertions) {
            LeakPolicy::Panic
        } else {
            LeakPolicy::Log
        }
    );
}

#[test]
fn a_permit_reserved_in_a_select_branch_belongs_to_the_handler() {
    common::on_each_flavor(|cx| async move {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let sent = asupersync::select! {
            Ok(permit) = tx.reserve(&cx) => {
                // The branch region has closed; the permit lives on in the caller's
                // region and is resolved here.
                assert_eq!(cx.outstanding_obligations().len(), 1);
                permit.send(3);
                true
            }
            _ = asupersync::time::sleep(&cx, std::time::Duration::from_secs(60)) => false,
        };
        assert!(sent);
        assert!(cx.outstanding_obligations().is_empty());
        assert_eq!(rx.recv(&cx).await.unwrap(), 3);
    });
}
