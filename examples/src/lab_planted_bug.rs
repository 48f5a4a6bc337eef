//! A planted concurrency bug, found by the lab explorer by seed, replayed exactly, and
//! fixed.
//!
//! The program is a box office: [`BUYERS`] buyers race for [`SEATS`] seats. Each
//! buyer is a task of the `box-office` region, and the property "never sell more
//! tickets than seats" is checked when the region closes, with
//! [`lab::check_on_close`]: the region closing means every buyer is done, so the count
//! is final.
//!
//! The bug ([`Booking::CheckThenAct`]) is the classic one that survives code review:
//! every access to the shared state is under an `asupersync::sync::Mutex`, but the
//! *check* ("a seat is left") and the *act* ("take it") are two separate critical
//! sections with an `.await` (the payment) in between. Most schedules run one buyer's
//! check-pay-take without interruption and pass; a schedule where another buyer
//! checks during the payment oversells. A real runtime picks the schedule for you; the
//! lab makes it a function of a seed, so [`Explorer`] can try seeds until one fails
//! and the failure can be replayed, event for event, from its seed alone.
//!
//! The fix ([`Booking::ReserveFirst`]) checks and takes the seat under one guard, and
//! pays after.

use std::sync::Arc;

use asupersync::lab::{self, Explored, Explorer, LabConfig, LabFailure, LabReport, LabRuntime};
use asupersync::sync::Mutex;
use asupersync::task::yield_now;
use asupersync::{Cancelled, Cx, Outcome, Region};

/// Seats for sale.
pub const SEATS: usize = 2;
/// Buyers competing for them.
pub const BUYERS: usize = 3;

/// Turns of browsing between one buyer's arrival and the next.
const BROWSE: usize = 6;

/// How a buyer books a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booking {
    /// The planted bug: check, pay, then take the seat in a second critical section.
    CheckThenAct,
    /// The fix: check and take the seat in one critical section, then pay.
    ReserveFirst,
}

/// Sells seats to [`BUYERS`] concurrent buyers and returns how many tickets were sold.
/// Under the lab, overselling is reported as a `no-overselling` violation.
pub async fn sell_tickets(cx: &Cx, booking: Booking) -> Outcome<usize> {
    let sold = Arc::new(Mutex::new(Vec::<usize>::new()));
    let checked = sold.clone();
    let for_buyers = sold.clone();
    Region::open(cx, "box-office", |cx| async move {
        // Runs after every buyer is done: the region closes to quiescence first.
        lab::check_on_close(&cx, "no-overselling", move || {
            let sold = checked.try_lock().map_err(|e| e.to_string())?;
            if sold.len() > SEATS {
                return Err(format!(
                    "oversold: {} tickets for {SEATS} seats (buyers {sold:?})",
                    sold.len()
                ));
            }
            Ok(())
        });
        for buyer in 0..BUYERS {
            let sold = for_buyers.clone();
            // The buyers are tasks of the region; `Region::open` waits for them.
            cx.spawn_named(format!("buyer-{buyer}"), move |cx| async move {
                buy(&cx, &sold, buyer, booking).await
            });
        }
    })
    .await
    .map(|()| sold.try_lock().map_or(0, |sold| sold.len()))
}

/// One buyer: `Ok(true)` if it got a seat.
async fn buy(
    cx: &Cx,
    sold: &Mutex<Vec<usize>>,
    buyer: usize,
    booking: Booking,
) -> Result<bool, Cancelled> {
    // Buyers arrive one after another (browsing takes a few turns each), so most
    // schedules never overlap two of them in the window the bug needs.
    for _ in 0..BROWSE * buyer {
        yield_now(cx).await?;
    }
    match booking {
        Booking::CheckThenAct => {
            // BUG: the guard is dropped at the end of this statement, so the seat can
            // be gone by the time the payment returns.
            let seat_left = sold.lock(cx).await?.len() < SEATS;
            if !seat_left {
                return Ok(false);
            }
            pay(cx).await?;
            sold.lock(cx).await?.push(buyer);
            Ok(true)
        }
        Booking::ReserveFirst => {
            {
                let mut sold = sold.lock(cx).await?;
                if sold.len() >= SEATS {
                    return Ok(false);
                }
                sold.push(buyer);
            }
            pay(cx).await?;
            Ok(true)
        }
    }
}

/// The call to the payment service: an `.await`, where other buyers get to run.
async fn pay(cx: &Cx) -> Result<(), Cancelled> {
    yield_now(cx).await
}

/// The program the lab runs: one box-office sale.
async fn sale(cx: Cx, booking: Booking) -> usize {
    match sell_tickets(&cx, booking).await {
        Outcome::Ok(sold) => sold,
        other => panic!("the box office did not close normally: {other:?}"),
    }
}

/// Runs the sale under the lab on every seed of [`Explorer::DEFAULT_SEEDS`], stopping
/// at the first failing seed.
pub fn explore(booking: Booking) -> Result<Explored, Box<LabFailure>> {
    Explorer::random().run(Explorer::DEFAULT_SEEDS, move |cx| sale(cx, booking))
}

/// Runs the sale once more from `seed` alone: the same schedule, the same trace.
pub fn replay(booking: Booking, seed: u64) -> LabReport<usize> {
    LabRuntime::new(LabConfig::seed(seed)).block_on(move |cx| sale(cx, booking))
}
