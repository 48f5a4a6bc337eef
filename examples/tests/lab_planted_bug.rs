//! The lab example: the explorer finds the planted oversell within the default seeds,
//! the failing seed replays to the same trace, and the fixed booking passes every seed
//! (and sells exactly the seats on the real runtime).

mod common;

use asupersync::lab::Explorer;
use asupersync_examples::lab_planted_bug::{explore, replay, sell_tickets, Booking, SEATS};
use common::flavors;

#[test]
fn the_explorer_finds_the_oversell_by_seed_and_the_seed_replays_the_same_run() {
    let failure = explore(Booking::CheckThenAct)
        .expect_err("the check-then-act race is found within the default seeds");
    assert!(Explorer::DEFAULT_SEEDS.contains(&failure.seed));
    assert!(
        failure.report.contains("[no-overselling] oversold"),
        "{failure}"
    );
    assert!(failure
        .replay_line()
        .contains(&format!("LabConfig::seed({})", failure.seed)));

    let again = replay(Booking::CheckThenAct, failure.seed);
    assert!(!again.is_ok(), "the replay fails too");
    assert_eq!(again.violations.len(), 1);
    assert_eq!(again.violations[0].oracle, "no-overselling");
    assert_eq!(
        again.trace_hash(),
        failure.trace_hash,
        "replaying the seed is the same run"
    );
}

#[test]
fn the_fixed_booking_passes_every_default_seed() {
    let explored = match explore(Booking::ReserveFirst) {
        Ok(explored) => explored,
        Err(failure) => panic!("{failure}"),
    };
    assert_eq!(
        explored.runs,
        Explorer::DEFAULT_SEEDS.end - Explorer::DEFAULT_SEEDS.start
    );
}

#[test]
fn the_fixed_booking_sells_exactly_the_seats_on_the_real_runtime() {
    for (flavor, builder) in flavors() {
        let rt = builder.build().unwrap();
        let sold = rt
            .block_on(|cx| async move { sell_tickets(&cx, Booking::ReserveFirst).await })
            .unwrap()
            .unwrap();
        assert_eq!(sold, SEATS, "[{flavor}]");
    }
}
