//! The ledger under many threads: spends never overdraw, a retried key never counts twice.

use crate::common::*;
use crate::stores::{Stores, over_both_stores};
use creditbot::ledger::{Expiry, ReturnRequest, ReturnScope};
use creditbot::money::Credits;
use std::sync::{Arc, Barrier};
use std::thread;

const THREADS: usize = 8;

over_both_stores!(
    eight_threads_spending_from_one_account_never_take_it_below_zero,
    the_same_request_retried_from_eight_threads_counts_once,
);

fn eight_threads_spending_from_one_account_never_take_it_below_zero(stores: &impl Stores) {
    let l = Arc::new(stores.ledger());
    open(&l, "A");
    // $100.00 granted; 8 threads × 10 orders × $3.00 of digital items = $240.00 asked for.
    l.grant(
        &admin("g1"),
        &grant_request("A", 60_00, Expiry::At(day(12, 20))),
    )
    .unwrap();
    l.grant(&admin("g2"), &grant_request("A", 40_00, Expiry::Never))
        .unwrap();
    let granted = usd(100_00);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let l = Arc::clone(&l);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut credits = Credits::ZERO;
                for n in 0..10 {
                    let request = order(&format!("t{t}-o{n}"), "A", vec![digital("book", 3_00, 1)]);
                    let receipt = l.record_order("shop", now(), &request).unwrap();
                    assert!(receipt.credits_applied + receipt.other_amount == usd(3_00));
                    credits += receipt.credits_applied;
                    let balance = l.balance(&AccountId::new("A"), now()).unwrap().available;
                    assert!(
                        balance >= Credits::ZERO,
                        "balance went below zero: {balance:?}"
                    );
                }
                credits
            })
        })
        .collect();
    let spent: Credits = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        spent, granted,
        "the successful spends add up to what was granted"
    );
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        Credits::ZERO
    );
    for (lot, remaining, journal_sum) in l.lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}");
        assert!(remaining >= Credits::ZERO);
    }
}

fn the_same_request_retried_from_eight_threads_counts_once(stores: &impl Stores) {
    let l = Arc::new(stores.ledger());
    open(&l, "A");
    l.grant(&admin("g0"), &grant_request("A", 10_00, Expiry::Never))
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order("o1", "A", vec![digital("x", 10_00, 1)]),
    )
    .unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let l = Arc::clone(&l);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let lot = l
                    .grant(
                        &admin("interaction-42"),
                        &grant_request("A", 5_00, Expiry::Never),
                    )
                    .unwrap();
                let back = l
                    .record_return(
                        "shop",
                        now(),
                        &ReturnRequest {
                            return_id: ReturnId::new("r1"),
                            order_external_id: OrderId::new("o1"),
                            scope: ReturnScope::Whole,
                            reason: String::new(),
                        },
                    )
                    .unwrap();
                (lot.id, back.credits_restored)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    assert_eq!(results[0].1, usd(10_00));
    // $10.00 back from the return plus one $5.00 grant, not eight.
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(15_00)
    );
}

/// Two processes on one PostgreSQL database, as two stores with a pool each: threads of both
/// spend from one account at once and carry out the same keyed requests at once. Nothing is
/// overdrawn or counted twice, and every answer to one key is the first one.
#[cfg(feature = "postgres")]
#[test]
fn two_stores_on_one_postgres_database_never_double_spend_and_replay_one_result() {
    use creditbot::ledger::{Ledger, LedgerSettings, PgOptions};
    let test = "two_stores_on_one_postgres_database_never_double_spend_and_replay_one_result";
    let Some(pg) = crate::stores::Postgres::or_skip(test) else {
        return;
    };
    let url = pg.database();
    let options = PgOptions {
        pool_size: THREADS / 2,
        ..PgOptions::default()
    };
    let stores: Vec<_> = (0..2)
        .map(|_| {
            Arc::new(Ledger::open_postgres(&url, &options, LedgerSettings::default()).unwrap())
        })
        .collect();
    open(&stores[0], "A");
    stores[1]
        .grant(&admin("g1"), &grant_request("A", 100_00, Expiry::Never))
        .unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let l = Arc::clone(&stores[t % 2]);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                // The same grant and the same order from every thread, through both stores.
                let lot = l
                    .grant(
                        &admin("interaction-7"),
                        &grant_request("A", 5_00, Expiry::Never),
                    )
                    .unwrap();
                let shared = order("shared", "A", vec![digital("song", 2_00, 1)]);
                let receipt = l.record_order("shop", now(), &shared).unwrap();
                let mut credits = Credits::ZERO;
                for n in 0..10 {
                    let request = order(&format!("t{t}-o{n}"), "A", vec![digital("book", 3_00, 1)]);
                    let spent = l.record_order("shop", now(), &request).unwrap();
                    credits += spent.credits_applied;
                    assert!(
                        l.balance(&AccountId::new("A"), now()).unwrap().available >= Credits::ZERO
                    );
                }
                (lot, receipt, credits)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (lot, receipt, _) = &results[0];
    for (other_lot, other_receipt, _) in &results {
        assert_eq!(other_lot, lot, "one key, one grant, from either store");
        assert_eq!(
            other_receipt, receipt,
            "one order id, one receipt, from either store"
        );
    }
    // $100.00 + $5.00 granted once; the shared order took $2.00 once; the rest went on books.
    let spent: Credits = results.iter().map(|(_, _, credits)| *credits).sum();
    assert_eq!(receipt.credits_applied, usd(2_00));
    assert_eq!(spent, usd(103_00));
    for l in &stores {
        assert_eq!(
            l.balance(&AccountId::new("A"), now()).unwrap().available,
            Credits::ZERO
        );
    }
    for (lot, remaining, journal_sum) in stores[0].lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}");
    }
    let totals = stores[1].journal_totals().unwrap();
    let of = |kind: &str| totals.iter().find(|(k, _)| k == kind).map(|(_, c)| *c);
    assert_eq!(of("grant"), Some(usd(105_00)));
    assert_eq!(of("spend"), Some(Credits::ZERO - usd(105_00)));
}
