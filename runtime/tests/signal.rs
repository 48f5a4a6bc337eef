//! Signals delivered to our own process (raised with libc, only in this test binary).

mod common;

use std::time::Duration;

use asupersync::signal::unix::{signal, SignalKind};
use asupersync::{CancelKind, CancelReason, Outcome};
use common::{flavors, on_each_flavor, MS};

fn raise(signum: i32) {
    // SAFETY: sending a signal to our own process; a handler is registered first.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signum) }, 0);
}

#[test]
fn sighup_is_delivered_to_every_listener() {
    on_each_flavor(|cx| async move {
        let mut first = signal(&cx, SignalKind::hangup()).unwrap();
        let mut second = signal(&cx, SignalKind::hangup()).unwrap();
        raise(libc::SIGHUP);
        let both = asupersync::time::timeout(&cx, Duration::from_secs(10), async {
            first.recv(&cx).await.unwrap();
            second.recv(&cx).await.unwrap();
        })
        .await;
        assert!(both.is_ok(), "SIGHUP was not delivered");
    });
}

#[test]
fn deliveries_between_receives_coalesce_and_later_ones_are_seen() {
    on_each_flavor(|cx| async move {
        let mut usr1 = signal(&cx, SignalKind::user_defined1()).unwrap();
        raise(libc::SIGUSR1);
        raise(libc::SIGUSR1);
        // Give a delivery handled on another thread time to land before receiving.
        asupersync::time::sleep(&cx, 30 * MS).await.unwrap();
        usr1.recv(&cx).await.unwrap();
        // Both earlier deliveries were consumed by one recv: the next one waits.
        let waiting = asupersync::time::timeout(&cx, 50 * MS, usr1.recv(&cx)).await;
        assert!(waiting.is_err(), "no new delivery, so recv must still wait");
        raise(libc::SIGUSR1);
        usr1.recv(&cx).await.unwrap();
    });
}

#[test]
fn recv_is_cancel_aware() {
    on_each_flavor(|cx| async move {
        let mut usr2 = signal(&cx, SignalKind::user_defined2()).unwrap();
        let waiter = cx.spawn(move |cx| async move { usr2.recv(&cx).await });
        asupersync::time::sleep(&cx, 10 * MS).await.unwrap();
        waiter.cancel(CancelReason::new(CancelKind::User));
        let cancelled = waiter.join(&cx).await.unwrap().unwrap_err();
        assert_eq!(cancelled.reason().kind, CancelKind::User);
    });
}

#[test]
fn unhandleable_signals_are_refused() {
    on_each_flavor(|cx| async move {
        assert!(signal(&cx, SignalKind::from_raw(libc::SIGKILL)).is_err());
        assert!(signal(&cx, SignalKind::from_raw(libc::SIGSEGV)).is_err());
    });
}

/// Every SIGINT test in one function, so no SIGINT is raised while no listener exists.
#[test]
fn ctrl_c_resolves_and_shuts_down_a_listening_runtime() {
    on_each_flavor(|cx| async move {
        let listener = cx.spawn(|cx| async move { asupersync::signal::ctrl_c(&cx).await });
        // Let the listener register before raising.
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        raise(libc::SIGINT);
        listener.join(&cx).await.unwrap().unwrap();
    });

    for (name, builder) in flavors() {
        let rt = builder.shutdown_on_ctrl_c(true).build().unwrap();
        let outcome = rt.block_on(|cx| async move {
            raise(libc::SIGINT);
            // The shutdown signal fires first, then the root region is cancelled
            // (from the reactor thread): a sleep ends with that cancellation.
            let fired = asupersync::time::timeout(&cx, Duration::from_secs(10), async {
                cx.shutdown_signal().await;
            });
            let _ = fired.await;
            let slept = asupersync::time::sleep(&cx, Duration::from_secs(10)).await;
            assert!(
                slept.is_err(),
                "[{name}] Ctrl-C did not shut the runtime down"
            );
            let reason = cx.cancel_reason().unwrap();
            assert_eq!(reason.root_cause().kind, CancelKind::Shutdown);
        });
        assert!(
            matches!(outcome, Outcome::Ok(()) | Outcome::Cancelled(_)),
            "[{name}] {:?}",
            outcome.map(|_| ())
        );
    }

    // A runtime that was not asked to listen is not shut down by Ctrl-C (an explicit
    // listener keeps the process alive here).
    on_each_flavor(|cx| async move {
        let listener = cx.spawn(|cx| async move { asupersync::signal::ctrl_c(&cx).await });
        asupersync::time::sleep(&cx, 20 * MS).await.unwrap();
        raise(libc::SIGINT);
        listener.join(&cx).await.unwrap().unwrap();
        assert!(!cx.is_cancel_requested());
    });
}
