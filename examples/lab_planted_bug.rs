//! A planted check-then-act race that the lab explorer finds by seed; the failing
//! seed replayed with the same trace hash; and the fixed version passing every seed.
//!
//! `cargo run --example lab_planted_bug`. The program and the bug are in
//! `asupersync_examples::lab_planted_bug`.

use asupersync::lab::Explorer;
use asupersync_examples::lab_planted_bug::{explore, replay, Booking};

fn main() {
    println!(
        "exploring the buggy box office over seeds {:?}",
        Explorer::DEFAULT_SEEDS
    );
    let failure = match explore(Booking::CheckThenAct) {
        Err(failure) => failure,
        Ok(explored) => panic!("no seed found the bug in {} runs", explored.runs),
    };
    // The report: the seed, the violated property, the tasks, a trace excerpt, and the
    // line that replays it.
    println!("{failure}\n");

    let again = replay(Booking::CheckThenAct, failure.seed);
    println!(
        "replayed seed {}: trace hash {:#018x} (exploration: {:#018x}), {}",
        failure.seed,
        again.trace_hash(),
        failure.trace_hash,
        if again.trace_hash() == failure.trace_hash && !again.is_ok() {
            "the same failing run"
        } else {
            "NOT the same run"
        }
    );

    match explore(Booking::ReserveFirst) {
        Ok(explored) => println!(
            "the fixed box office passed all {} seeds ({} scheduling steps)",
            explored.runs, explored.steps
        ),
        Err(failure) => panic!("the fix is not a fix:\n{failure}"),
    }
}
