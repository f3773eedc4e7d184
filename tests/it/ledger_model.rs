//! Model-based property test of the ledger: random sequences of grants, orders, returns,
//! revokes, expiry changes, sweeps, replays and clock advances over several accounts, each
//! step checked against a small in-memory model and the ledger's invariants. Some returns are
//! dated earlier than the clock (a shop's feed arrives late) and some sweeps run ahead of it,
//! so a lot can be refilled after it was swept and must expire again.
//!
//! The model is written independently of `ledger::rules` (straight loops over vectors), so a
//! mistake in the rules shows up as a disagreement rather than being copied into the oracle.

use crate::common::*;
use crate::stores::{Stores, over_both_stores};
use chrono::{DateTime, Duration, Utc};
use creditbot::error::{Error, UserError};
use creditbot::ledger::store::{Audit, Store};
use creditbot::ledger::{
    Act, CreditChoice, Expiry, GrantRequest, Ledger, LotId, OrderItemRequest, ReturnLine,
    ReturnRequest, ReturnScope, When,
};
use creditbot::money::Credits;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const ACCOUNTS: [&str; 3] = ["ACC-A", "ACC-B", "ACC-C"];
const REISSUE_DAYS: i64 = 30;

#[derive(Clone, Debug)]
enum Step {
    Grant {
        account: usize,
        cents: i64,
        expires_in_hours: Option<i64>,
    },
    Order {
        account: usize,
        items: Vec<(bool, i64, i64)>,
        choice: Choice,
    },
    ReturnWhole {
        order: usize,
        hours_late: i64,
    },
    ReturnSome {
        order: usize,
        item: usize,
        quantity: i64,
        hours_late: i64,
    },
    Revoke {
        lot: usize,
    },
    ChangeExpiry {
        lot: usize,
        hours: Option<i64>,
    },
    Sweep {
        hours_ahead: i64,
    },
    Advance {
        hours: i64,
    },
    ReplayGrant {
        grant: usize,
    },
}

#[derive(Clone, Copy, Debug)]
enum Choice {
    All,
    None,
    UpTo(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let account = 0..ACCOUNTS.len();
    prop_oneof![
        4 => (account.clone(), 1i64..=5_000, prop::option::weighted(0.8, 1i64..=1_000))
            .prop_map(|(account, cents, expires_in_hours)| Step::Grant { account, cents, expires_in_hours }),
        4 => (
            account,
            prop::collection::vec((prop::bool::weighted(0.75), 0i64..=3_000, 1i64..=3), 1..=3),
            prop_oneof![Just(Choice::All), Just(Choice::None), (0i64..=6_000).prop_map(Choice::UpTo)],
        )
            .prop_map(|(account, items, choice)| Step::Order { account, items, choice }),
        2 => (any::<usize>(), hours_late())
            .prop_map(|(order, hours_late)| Step::ReturnWhole { order, hours_late }),
        2 => (any::<usize>(), any::<usize>(), 1i64..=3, hours_late())
            .prop_map(|(order, item, quantity, hours_late)| Step::ReturnSome { order, item, quantity, hours_late }),
        1 => any::<usize>().prop_map(|lot| Step::Revoke { lot }),
        1 => (any::<usize>(), prop::option::of(1i64..=800))
            .prop_map(|(lot, hours)| Step::ChangeExpiry { lot, hours }),
        2 => prop_oneof![3 => Just(0i64), 1 => 1i64..=400]
            .prop_map(|hours_ahead| Step::Sweep { hours_ahead }),
        2 => (1i64..=400).prop_map(|hours| Step::Advance { hours }),
        1 => any::<usize>().prop_map(|grant| Step::ReplayGrant { grant }),
    ]
}

/// How many hours before the clock a return is dated: mostly on time, sometimes late.
fn hours_late() -> impl Strategy<Value = i64> {
    prop_oneof![2 => Just(0i64), 1 => 1i64..=400]
}

#[derive(Clone, Debug)]
struct ModelLot {
    id: LotId,
    account: usize,
    amount: i64,
    remaining: i64,
    expires_at: Option<DateTime<Utc>>,
    granted_at: DateTime<Utc>,
    /// Revoked by an admin: credit a return brings back is revoked again at once.
    revoked: bool,
}

#[derive(Clone, Debug)]
struct ModelItem {
    sku: String,
    digital: bool,
    total: i64,
    quantity: i64,
    credits: i64,
    returned: i64,
    /// (lot, taken, given back) in the order they were taken.
    allocations: Vec<(LotId, i64, i64)>,
}

#[derive(Clone, Debug)]
struct ModelOrder {
    id: String,
    placed_at: DateTime<Utc>,
    items: Vec<ModelItem>,
}

struct Model {
    now: DateTime<Utc>,
    lots: Vec<ModelLot>,
    orders: Vec<ModelOrder>,
    grants: Vec<(String, GrantRequest, LotId)>,
    returns: usize,
    changes: usize,
}

impl Model {
    fn live(&self, lot: &ModelLot) -> bool {
        live_at(lot, self.now)
    }

    fn balance(&self, account: usize) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.account == account && self.live(l))
            .map(|l| l.remaining)
            .sum()
    }

    fn lot_mut(&mut self, id: LotId) -> &mut ModelLot {
        self.lots.iter_mut().find(|l| l.id == id).unwrap()
    }

    /// The account's live lots with something left, soonest expiry first, then earlier
    /// grant, never-expiring last.
    fn spending_order(&self, account: usize) -> Vec<LotId> {
        let mut lots: Vec<&ModelLot> = self
            .lots
            .iter()
            .filter(|l| l.account == account && l.remaining > 0 && self.live(l))
            .collect();
        lots.sort_by(|a, b| match (a.expires_at, b.expires_at) {
            (Some(x), Some(y)) => x
                .cmp(&y)
                .then(a.granted_at.cmp(&b.granted_at))
                .then(a.id.cmp(&b.id)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.granted_at.cmp(&b.granted_at).then(a.id.cmp(&b.id)),
        });
        lots.iter().map(|l| l.id).collect()
    }
}

fn live_at(lot: &ModelLot, at: DateTime<Utc>) -> bool {
    lot.expires_at.is_none_or(|expiry| expiry > at)
}

fn cumulative_share(part: i64, bought: i64, units: i64) -> i64 {
    part * units / bought
}

fn user_error<T>(result: Result<T, Error>) -> Option<UserError> {
    match result {
        Ok(_) => None,
        Err(Error::User(e)) => Some(e),
        Err(e) => panic!("internal error: {e}"),
    }
}

/// Runs one step on both the ledger and the model, asserting they agree.
fn apply<S: Store>(ledger: &Ledger<S>, model: &mut Model, step: &Step) {
    let now = model.now;
    match step {
        Step::Grant {
            account,
            cents,
            expires_in_hours,
        } => {
            model.changes += 1;
            let key = format!("grant-{}", model.changes);
            let expires_at = expires_in_hours.map(|h| now + Duration::hours(h));
            let request = GrantRequest {
                expiry: expires_at.map_or(Expiry::Never, Expiry::At),
                ..grant_request(ACCOUNTS[*account], *cents, Expiry::Never)
            };
            let lot = ledger.grant(&admin_at(&key, now), &request).unwrap();
            assert_eq!(lot.expires_at, expires_at);
            model.lots.push(ModelLot {
                id: lot.id,
                account: *account,
                amount: *cents,
                remaining: *cents,
                expires_at,
                granted_at: now,
                revoked: false,
            });
            model.grants.push((key, request, lot.id));
        }
        Step::ReplayGrant { grant } => {
            if model.grants.is_empty() {
                return;
            }
            let (key, request, lot_id) = model.grants[grant % model.grants.len()].clone();
            let replay = ledger.grant(&admin_at(&key, now), &request).unwrap();
            assert_eq!(
                replay.id, lot_id,
                "a replayed key must answer the first result"
            );
            let mut other = request.clone();
            other.amount = request.amount + usd(1);
            assert_eq!(
                user_error(ledger.grant(&admin_at(&key, now), &other)),
                Some(UserError::IdempotencyConflict)
            );
        }
        Step::Order {
            account,
            items,
            choice,
        } => {
            model.changes += 1;
            let id = format!("order-{}", model.changes);
            let requests: Vec<OrderItemRequest> = items
                .iter()
                .enumerate()
                .map(|(n, (is_digital, cents, quantity))| {
                    let sku = format!("sku{n}");
                    if *is_digital {
                        digital(&sku, *cents, *quantity)
                    } else {
                        physical(&sku, *cents, *quantity)
                    }
                })
                .collect();
            let mut request = order(&id, ACCOUNTS[*account], requests);
            request.credits = match choice {
                Choice::All => CreditChoice::All,
                Choice::None => CreditChoice::None,
                Choice::UpTo(cents) => CreditChoice::UpTo(usd(*cents)),
            };
            let receipt = ledger.record_order("shop", now, &request).unwrap();

            let mut budget = match choice {
                Choice::All => i64::MAX,
                Choice::None => 0,
                Choice::UpTo(cents) => *cents,
            };
            let order_lots = model.spending_order(*account);
            let mut model_items = Vec::new();
            for (n, (is_digital, cents, quantity)) in items.iter().enumerate() {
                let total = cents * quantity;
                let mut item = ModelItem {
                    sku: format!("sku{n}"),
                    digital: *is_digital,
                    total,
                    quantity: *quantity,
                    credits: 0,
                    returned: 0,
                    allocations: Vec::new(),
                };
                if *is_digital {
                    for lot_id in &order_lots {
                        let lot = model.lot_mut(*lot_id);
                        let take = (total - item.credits).min(budget).min(lot.remaining);
                        if take > 0 {
                            lot.remaining -= take;
                            budget -= take;
                            item.credits += take;
                            item.allocations.push((*lot_id, take, 0));
                        }
                    }
                }
                model_items.push(item);
            }
            let applied: i64 = model_items.iter().map(|i| i.credits).sum();
            let total: i64 = model_items.iter().map(|i| i.total).sum();
            assert_eq!(receipt.credits_applied, usd(applied), "credits applied");
            assert_eq!(receipt.other_amount, usd(total - applied), "other payment");
            for item in &model_items {
                assert!(
                    item.digital || item.credits == 0,
                    "credits paid a physical item"
                );
            }
            let real: Vec<(LotId, Credits)> = receipt
                .allocations
                .iter()
                .map(|a| (a.lot_id, a.amount))
                .collect();
            let expected: Vec<(LotId, Credits)> = model_items
                .iter()
                .flat_map(|i| {
                    i.allocations
                        .iter()
                        .map(|(lot, taken, _)| (*lot, usd(*taken)))
                })
                .collect();
            assert_eq!(real, expected, "allocation rows");
            model.orders.push(ModelOrder {
                id,
                placed_at: now,
                items: model_items,
            });
        }
        Step::ReturnWhole { order, hours_late } => {
            if model.orders.is_empty() {
                return;
            }
            let n = order % model.orders.len();
            let wanted: Vec<(usize, i64)> = model.orders[n]
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.quantity > i.returned)
                .map(|(k, i)| (k, i.quantity - i.returned))
                .collect();
            run_return(ledger, model, n, ReturnScope::Whole, wanted, *hours_late);
        }
        Step::ReturnSome {
            order,
            item,
            quantity,
            hours_late,
        } => {
            if model.orders.is_empty() {
                return;
            }
            let n = order % model.orders.len();
            let k = item % model.orders[n].items.len();
            let sku = model.orders[n].items[k].sku.clone();
            let scope = ReturnScope::Items(vec![ReturnLine {
                sku,
                quantity: *quantity,
            }]);
            run_return(ledger, model, n, scope, vec![(k, *quantity)], *hours_late);
        }
        Step::Revoke { lot } => {
            if model.lots.is_empty() {
                return;
            }
            model.changes += 1;
            let index = lot % model.lots.len();
            let target = model.lots[index].clone();
            let result = ledger.revoke(
                &admin_at(&format!("revoke-{}", model.changes), now),
                target.id,
                "test",
            );
            if target.remaining > 0 && model.live(&target) {
                let receipt = result.unwrap();
                assert_eq!(receipt.lot.remaining, Credits::ZERO);
                model.lots[index].remaining = 0;
                model.lots[index].revoked = true;
                // The reply's figures come from the write: what it took, what is left.
                assert_eq!(receipt.taken(), Credits::from_minor(target.remaining));
                assert_eq!(
                    receipt.balance_after,
                    Some(Credits::from_minor(model.balance(target.account)))
                );
            } else {
                assert_eq!(
                    user_error(result),
                    Some(UserError::GrantNothingLeft(target.id.get()))
                );
            }
        }
        Step::ChangeExpiry { lot, hours } => {
            if model.lots.is_empty() {
                return;
            }
            model.changes += 1;
            let index = lot % model.lots.len();
            let new_expiry = hours.map(|h| now + Duration::hours(h));
            let key = format!("expiry-{}", model.changes);
            let changed = ledger
                .change_expiry(
                    &admin_at(&key, now),
                    model.lots[index].id,
                    new_expiry,
                    "test",
                )
                .unwrap();
            assert_eq!(changed.lot.expires_at, new_expiry);
            assert_eq!(
                changed.before.map(|before| before.expires_at),
                Some(model.lots[index].expires_at)
            );
            // Expired credit stays expired when the date moves.
            if !model.live(&model.lots[index]) {
                model.lots[index].remaining = 0;
            }
            model.lots[index].expires_at = new_expiry;
            let account = model.lots[index].account;
            assert_eq!(
                changed.balance_after,
                Some(Credits::from_minor(model.balance(account)))
            );
        }
        Step::Sweep { hours_ahead } => {
            // A sweep may run ahead of the clock (`creditbot sweep --now` on a later time).
            let at = now + Duration::hours(*hours_ahead);
            let report = ledger.sweep_expired("sweeper", at).unwrap();
            let mut expired = 0;
            let mut count = 0;
            for lot in model.lots.iter_mut() {
                if lot.remaining > 0 && lot.expires_at.is_some_and(|expiry| expiry <= at) {
                    expired += lot.remaining;
                    count += 1;
                    lot.remaining = 0;
                }
            }
            assert_eq!((report.lots, report.amount), (count, usd(expired)));
        }
        Step::Advance { hours } => model.now = now + Duration::hours(*hours),
    }
}

/// A return of order `n`, dated `hours_late` before the clock but never before the order.
fn run_return<S: Store>(
    ledger: &Ledger<S>,
    model: &mut Model,
    n: usize,
    scope: ReturnScope,
    wanted: Vec<(usize, i64)>,
    hours_late: i64,
) {
    let at = (model.now - Duration::hours(hours_late)).max(model.orders[n].placed_at);
    model.returns += 1;
    let order_id = model.orders[n].id.clone();
    let request = ReturnRequest {
        return_id: ReturnId::new(format!("return-{}", model.returns)),
        order_external_id: OrderId::new(order_id.clone()),
        scope,
        reason: "test".into(),
    };
    let result = ledger.record_return("shop", at, &request);
    if wanted.is_empty() {
        assert_eq!(
            user_error(result),
            Some(UserError::NothingToReturn(order_id))
        );
        return;
    }
    for &(k, quantity) in &wanted {
        let item = &model.orders[n].items[k];
        if quantity > item.quantity - item.returned {
            assert_eq!(
                user_error(result),
                Some(UserError::ReturnTooMany {
                    item: item.sku.clone(),
                    bought: item.quantity,
                    returned: item.returned,
                    asked: quantity
                })
            );
            return;
        }
    }
    let receipt = result.unwrap();
    let mut restored = 0;
    let mut reissue = 0;
    let mut revoked_back = 0;
    let mut other_back = 0;
    for &(k, quantity) in &wanted {
        let item = model.orders[n].items[k].clone();
        let credit_back = cumulative_share(item.credits, item.quantity, item.returned + quantity)
            - cumulative_share(item.credits, item.quantity, item.returned);
        let other = item.total - item.credits;
        other_back += cumulative_share(other, item.quantity, item.returned + quantity)
            - cumulative_share(other, item.quantity, item.returned);
        let mut left = credit_back;
        for a in (0..item.allocations.len()).rev() {
            let (lot_id, taken, given) = item.allocations[a];
            let amount = left.min(taken - given);
            if amount <= 0 {
                continue;
            }
            left -= amount;
            model.orders[n].items[k].allocations[a].2 += amount;
            let (live, revoked) = {
                let l = model.lots.iter().find(|l| l.id == lot_id).unwrap();
                (live_at(l, at), l.revoked)
            };
            if revoked {
                // Given back and revoked again at once: the lot's remaining doesn't move.
                revoked_back += amount;
            } else if live {
                model.lot_mut(lot_id).remaining += amount;
                restored += amount;
            } else {
                reissue += amount;
            }
        }
        assert_eq!(left, 0, "the credit part must fit the allocations");
        model.orders[n].items[k].returned += quantity;
    }
    assert_eq!(receipt.credits_restored, usd(restored), "credits restored");
    assert_eq!(
        receipt.revoked_at_once,
        usd(revoked_back),
        "credits revoked again"
    );
    assert_eq!(
        receipt.other_refunded,
        usd(other_back),
        "other payment refunded"
    );
    match receipt.reissued {
        Some(lot) => {
            assert_eq!(lot.amount, usd(reissue));
            assert_eq!(lot.expires_at, Some(at + Duration::days(REISSUE_DAYS)));
            let account = model
                .lots
                .iter()
                .find(|l| lot.account_id == ACCOUNTS[l.account])
                .map(|l| l.account)
                .unwrap_or_else(|| ACCOUNTS.iter().position(|a| lot.account_id == *a).unwrap());
            model.lots.push(ModelLot {
                id: lot.id,
                account,
                amount: reissue,
                remaining: reissue,
                expires_at: lot.expires_at,
                granted_at: at,
                revoked: false,
            });
        }
        None => assert_eq!(reissue, 0, "expected a reissued lot"),
    }
}

/// The invariants that hold after every step, whatever happened.
fn check_invariants<S: Store + Audit>(ledger: &Ledger<S>, model: &Model) {
    for (index, account) in ACCOUNTS.iter().enumerate() {
        let balance = ledger
            .balance(&AccountId::new(*account), model.now)
            .unwrap();
        assert_eq!(
            balance.available,
            usd(model.balance(index)),
            "balance of {account}"
        );
        assert!(balance.available >= Credits::ZERO);
        let sum: Credits = balance.lots.iter().map(|l| l.remaining).sum();
        assert_eq!(balance.available, sum, "balance = sum of live lots");
    }
    for lot in &model.lots {
        let real = ledger.lot(lot.id).unwrap();
        assert_eq!(
            real.remaining,
            usd(lot.remaining),
            "remaining of lot {}",
            lot.id
        );
        assert!(Credits::ZERO <= real.remaining && real.remaining <= real.amount);
        assert_eq!(real.amount, usd(lot.amount));
    }
    // Per lot: remaining = amount - spent + refunded - revoked - expired, i.e. the journal's
    // signed entries for the lot add up to its remaining.
    let mut total_remaining = Credits::ZERO;
    for (lot, remaining, journal_sum) in ledger.lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}: remaining vs journal");
        total_remaining += remaining;
    }
    // The whole ledger: granted = available + spent - refunded + revoked + expired.
    let totals = ledger.journal_totals().unwrap();
    let of = |kind: &str| {
        totals
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(Credits::ZERO, |(_, c)| *c)
    };
    let granted = of("grant") + of("reissue");
    let spent = Credits::ZERO - of("spend");
    let refunded = of("refund");
    let revoked = Credits::ZERO - of("revoke");
    let expired = Credits::ZERO - of("expire");
    assert_eq!(
        granted,
        total_remaining + spent - refunded + revoked + expired,
        "money is conserved"
    );
    assert_eq!(ledger.entries_touching_two_accounts().unwrap(), 0);
}

over_both_stores!(
    the_ledger_agrees_with_the_model_and_keeps_its_invariants,
    the_ledger_does_not_depend_on_when_sweeps_ran,
);

/// Runs `test` on `cases` random values of `strategy` (shrinking a failure to a small one).
fn check<T: std::fmt::Debug>(
    cases: u32,
    strategy: impl Strategy<Value = T>,
    test: impl Fn(T) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(failure) = TestRunner::new(config).run(&strategy, test) {
        panic!("{failure}");
    }
}

fn the_ledger_agrees_with_the_model_and_keeps_its_invariants(stores: &impl Stores) {
    let steps = prop::collection::vec(step(), 1..40);
    check(stores.cases(1_000), steps, |steps| {
        let ledger = stores.ledger();
        for account in ACCOUNTS {
            open(&ledger, account);
        }
        let mut model = Model {
            now: now(),
            lots: Vec::new(),
            orders: Vec::new(),
            grants: Vec::new(),
            returns: 0,
            changes: 0,
        };
        for step in &steps {
            apply(&ledger, &mut model, step);
            check_invariants(&ledger, &model);
        }
        Ok(())
    });
}

/// One request of the shop's feed for the sweep-independence property: recorded at the
/// running clock, dated `late_hours` before it.
#[derive(Clone, Debug)]
enum Feed {
    Grant {
        account: usize,
        cents: i64,
        expires_in_hours: i64,
        late_hours: i64,
    },
    Order {
        account: usize,
        cents: i64,
        late_hours: i64,
    },
    Return {
        order: usize,
        late_hours: i64,
    },
    /// The clock moves on.
    Advance {
        hours: i64,
    },
    /// A sweep at the clock, in one of the two runs only.
    Sweep,
}

fn feed() -> impl Strategy<Value = Feed> {
    // Up to ten days late, inside the 30-day backdating window.
    let late = 0i64..240;
    prop_oneof![
        3 => (0..ACCOUNTS.len(), 1i64..50_00, 1i64..400, late.clone()).prop_map(
            |(account, cents, expires_in_hours, late_hours)| Feed::Grant { account, cents, expires_in_hours, late_hours }
        ),
        3 => (0..ACCOUNTS.len(), 1i64..60_00, late.clone())
            .prop_map(|(account, cents, late_hours)| Feed::Order { account, cents, late_hours }),
        2 => (0usize..20, late).prop_map(|(order, late_hours)| Feed::Return { order, late_hours }),
        2 => (1i64..200).prop_map(|hours| Feed::Advance { hours }),
        2 => Just(Feed::Sweep),
    ]
}

/// Plays `steps` on a fresh ledger, running the sweeps only when `sweeps` is set, and
/// answers every request's outcome and, after a last sweep, every lot's remainder.
fn play(stores: &impl Stores, steps: &[Feed], sweeps: bool) -> (Vec<String>, Vec<(LotId, i64)>) {
    let ledger = stores.ledger();
    for account in ACCOUNTS {
        open(&ledger, account);
    }
    let mut clock = now();
    let mut outcomes = Vec::new();
    let mut orders = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let dated = |late: &i64| When::backdated(clock - Duration::hours(*late), clock);
        let outcome = match step {
            Feed::Grant {
                account,
                cents,
                expires_in_hours,
                late_hours,
            } => {
                let when = dated(late_hours);
                let expiry = Expiry::At(when.at + Duration::hours(*expires_in_hours));
                let request = grant_request(ACCOUNTS[*account], *cents, expiry);
                format!(
                    "{:?}",
                    ledger
                        .grant(&Act::new("shop", when, format!("g{n}")), &request)
                        .map(|lot| (lot.id, lot.amount))
                )
            }
            Feed::Order {
                account,
                cents,
                late_hours,
            } => {
                let id = format!("O-{n}");
                let request =
                    crate::common::order(&id, ACCOUNTS[*account], vec![digital("song", *cents, 1)]);
                let result = ledger.record_order("shop", dated(late_hours), &request);
                if result.is_ok() {
                    orders.push(id);
                }
                format!(
                    "{:?}",
                    result.map(|r| (r.credits_applied, r.other_amount, r.allocations.len()))
                )
            }
            Feed::Return { order, late_hours } => match orders.get(*order) {
                None => continue,
                Some(id) => {
                    let request = ReturnRequest {
                        return_id: ReturnId::new(format!("R-{n}")),
                        order_external_id: OrderId::new(id.clone()),
                        scope: ReturnScope::Whole,
                        reason: String::new(),
                    };
                    let result = ledger.record_return("shop", dated(late_hours), &request);
                    format!(
                        "{:?}",
                        result.map(|r| (
                            r.credits_restored,
                            r.reissued.map(|l| (l.amount, l.expires_at)),
                            r.expired_at_once,
                            r.other_refunded
                        ))
                    )
                }
            },
            Feed::Advance { hours } => {
                clock += Duration::hours(*hours);
                continue;
            }
            Feed::Sweep => {
                if sweeps {
                    ledger.sweep_expired("sweeper", clock).unwrap();
                }
                continue;
            }
        };
        outcomes.push(format!("step {n} ({step:?}): {outcome}"));
        // What the member sees is the same either way too.
        for account in ACCOUNTS {
            let balance = ledger.balance(&AccountId::new(account), clock).unwrap();
            outcomes.push(format!("  {account} has {:?}", balance.available));
        }
    }
    ledger.sweep_expired("sweeper", clock).unwrap();
    let lots = ACCOUNTS
        .iter()
        .flat_map(|account| ledger.lots(&AccountId::new(*account)).unwrap())
        .map(|lot| (lot.id, lot.remaining.minor()))
        .collect();
    (outcomes, lots)
}

/// The same feed gives the same ledger whether or not, and whenever, sweeps ran: an order
/// can't spend credit that had expired by the time it was recorded, and a late return
/// doesn't bring such credit back as if it were live.
fn the_ledger_does_not_depend_on_when_sweeps_ran(stores: &impl Stores) {
    let steps = prop::collection::vec(feed(), 1..40);
    check(stores.cases(300), steps, |steps| {
        let (with_sweeps, lots_with) = play(stores, &steps, true);
        let (without, lots_without) = play(stores, &steps, false);
        for (a, b) in with_sweeps.iter().zip(&without) {
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(lots_with, lots_without);
        Ok(())
    });
}
