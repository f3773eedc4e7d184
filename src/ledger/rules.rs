//! The ledger's policies as plain functions over values: which lots count, which pay first,
//! how a spend is split over order lines and lots, and what a return gives back.
//!
//! No database, no clock, no I/O: the store loads values, calls these, and writes the result.

use chrono::{DateTime, Utc};

use super::{ExpiredLotPolicy, ItemKind, LotId};
use crate::money::Credits;

/// A lot counts (can be spent, shows in the balance) until the instant it expires.
pub fn is_live(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_none_or(|at| at > now)
}

/// What the spending order needs to know of a lot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendableLot {
    pub id: LotId,
    pub remaining: Credits,
    pub expires_at: Option<DateTime<Utc>>,
    pub granted_at: DateTime<Utc>,
}

/// Sort key for spending: soonest expiry first, ties by earlier grant (then lower id, so the
/// order is total), lots that never expire last.
pub fn spending_key(
    expires_at: Option<DateTime<Utc>>,
    granted_at: DateTime<Utc>,
    id: LotId,
) -> (bool, Option<DateTime<Utc>>, DateTime<Utc>, LotId) {
    (expires_at.is_none(), expires_at, granted_at, id)
}

/// Puts lots in spending order.
pub fn sort_for_spending(lots: &mut [SpendableLot]) {
    lots.sort_by_key(|l| spending_key(l.expires_at, l.granted_at, l.id));
}

/// An order line as the spend sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineToPay {
    pub kind: ItemKind,
    pub total: Credits,
}

/// `amount` taken from lot `lot_id` for line number `line` (index into the lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Take {
    pub line: usize,
    pub lot_id: LotId,
    pub amount: Credits,
}

/// Splits a spend over lines and lots.
///
/// Credits pay digital lines only, in line order, taking from `lots` in the order given (call
/// [`sort_for_spending`] first), and never more than `cap` in all (`None`: no cap beyond what
/// the lots hold). Lots with nothing left are skipped. Each (line, lot) pair appears once.
pub fn allocate(lines: &[LineToPay], lots: &[SpendableLot], cap: Option<Credits>) -> Vec<Take> {
    let mut left_in_lot: Vec<Credits> = lots.iter().map(|l| l.remaining).collect();
    let mut budget = cap;
    let mut takes = Vec::new();
    let mut lot_index = 0;
    for (line, item) in lines.iter().enumerate() {
        if item.kind != ItemKind::Digital {
            continue;
        }
        let mut due = item.total;
        if let Some(budget) = budget {
            due = due.min(budget);
        }
        while due.is_positive() && lot_index < lots.len() {
            let available = left_in_lot[lot_index];
            if !available.is_positive() {
                lot_index += 1;
                continue;
            }
            let amount = due.min(available);
            takes.push(Take {
                line,
                lot_id: lots[lot_index].id,
                amount,
            });
            left_in_lot[lot_index] -= amount;
            due -= amount;
            if let Some(budget) = budget.as_mut() {
                *budget -= amount;
            }
        }
    }
    takes
}

/// The part of `part` (a line's credits, or its other payment) that returning `returning`
/// more units gives back, after `returned_before` of `bought` units came back already.
///
/// Cumulative shares are rounded down and the last unit takes what is left, so partial
/// returns add up to exactly `part` and never more.
pub fn return_share(part: Credits, bought: i64, returned_before: i64, returning: i64) -> Credits {
    debug_assert!(bought > 0 && returned_before >= 0 && returning >= 0);
    debug_assert!(returned_before + returning <= bought);
    let cumulative = |units: i64| -> i64 {
        (i128::from(part.minor()) * i128::from(units) / i128::from(bought)) as i64
    };
    Credits::from_minor(cumulative(returned_before + returning) - cumulative(returned_before))
}

/// What becomes of credit a return sends back to the lot it was spent from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnedCredit {
    /// Back on its lot, spendable again.
    Restored,
    /// Its lot has expired: a new refund lot carries it (policy `reissue`).
    Reissued,
    /// Its lot was revoked by an admin: it is revoked again at once, so a return never undoes
    /// a revocation.
    Revoked,
    /// Its lot has expired: it is expired again at once (policy `expire`).
    Expired,
}

impl ReturnedCredit {
    /// What happens to credit going back to a lot that is `revoked` and `live` or not.
    pub fn of(revoked: bool, live: bool, policy: ExpiredLotPolicy) -> ReturnedCredit {
        match (revoked, live, policy) {
            (true, _, _) => ReturnedCredit::Revoked,
            (false, true, _) => ReturnedCredit::Restored,
            (false, false, ExpiredLotPolicy::Reissue) => ReturnedCredit::Reissued,
            (false, false, ExpiredLotPolicy::Expire) => ReturnedCredit::Expired,
        }
    }

    /// Whether the member can spend it again after the return.
    pub fn comes_back(self) -> bool {
        matches!(self, ReturnedCredit::Restored | ReturnedCredit::Reissued)
    }
}

/// One allocation's state as a return sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpentAllocation {
    pub allocation_id: i64,
    pub lot_id: LotId,
    pub taken: Credits,
    pub given_back: Credits,
}

/// `amount` going back through allocation `allocation_id` to lot `lot_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GiveBack {
    pub allocation_id: i64,
    pub lot_id: LotId,
    pub amount: Credits,
}

/// Sends `amount` of credit back to the lots a line was paid from, last taken first (so a
/// partial return undoes the spend in reverse), never more than an allocation took.
pub fn give_back(allocations: &[SpentAllocation], amount: Credits) -> Vec<GiveBack> {
    let mut left = amount;
    let mut plan = Vec::new();
    for alloc in allocations.iter().rev() {
        if !left.is_positive() {
            break;
        }
        let room = alloc.taken - alloc.given_back;
        if !room.is_positive() {
            continue;
        }
        let amount = left.min(room);
        plan.push(GiveBack {
            allocation_id: alloc.allocation_id,
            lot_id: alloc.lot_id,
            amount,
        });
        left -= amount;
    }
    plan
}

/// An order line as a return sees it: what it cost, what credit paid of it, and how many of
/// its units came back already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoughtLine {
    pub total: Credits,
    pub credits: Credits,
    pub quantity: i64,
    pub returned_quantity: i64,
}

/// What returning `quantity` units of line `line` gives back: `credits` to the lots in
/// `give_backs` (each with what becomes of it) and `other` to the other payment method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineReturn {
    pub line: usize,
    pub quantity: i64,
    pub credits: Credits,
    pub other: Credits,
    pub give_backs: Vec<(GiveBack, ReturnedCredit)>,
}

/// Plans a return of `wanted` (line index, units) over the lines bought: each line's credit
/// and other-payment shares, the credit sent back through `allocations[line]` (see
/// [`give_back`]), and what becomes of each part by its lot's state (`lot_state(lot)`:
/// revoked, live), under `policy`. Lines appear in the order wanted.
pub fn plan_return(
    lines: &[BoughtLine],
    allocations: &[Vec<SpentAllocation>],
    wanted: &[(usize, i64)],
    policy: ExpiredLotPolicy,
    lot_state: impl Fn(LotId) -> (bool, bool),
) -> Vec<LineReturn> {
    wanted
        .iter()
        .map(|&(line, quantity)| {
            let item = &lines[line];
            let credits = return_share(
                item.credits,
                item.quantity,
                item.returned_quantity,
                quantity,
            );
            let other = return_share(
                item.total - item.credits,
                item.quantity,
                item.returned_quantity,
                quantity,
            );
            let give_backs = give_back(&allocations[line], credits)
                .into_iter()
                .map(|back| {
                    let (revoked, live) = lot_state(back.lot_id);
                    (back, ReturnedCredit::of(revoked, live, policy))
                })
                .collect();
            LineReturn {
                line,
                quantity,
                credits,
                other,
                give_backs,
            }
        })
        .collect()
}

/// The ranges of lot numbers whose decimal digits start with `digits`, highest first:
/// "1" → …, 100..=199, 10..=19, 1..=1. Empty digits: every number. A leading zero or a
/// non-number: none.
pub fn numbers_starting_with(digits: &str) -> Vec<(LotId, LotId)> {
    if digits.is_empty() {
        return vec![(LotId::new(1), LotId::MAX)];
    }
    // The arithmetic is over plain numbers; only the finished bounds are lot ids.
    let prefix = match digits.parse::<i64>() {
        Ok(prefix) if !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) => {
            prefix
        }
        _ => return Vec::new(),
    };
    let mut ranges = Vec::new();
    let mut scale: i64 = 1;
    while let Some(start) = prefix.checked_mul(scale) {
        ranges.push((
            LotId::new(start),
            LotId::new(start.saturating_add(scale - 1)),
        ));
        match scale.checked_mul(10) {
            Some(next) => scale = next,
            None => break,
        }
    }
    ranges.reverse();
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap()
    }

    fn c(minor: i64) -> Credits {
        Credits::from_minor(minor)
    }

    fn lot(id: i64, remaining: i64, expires: Option<u32>, granted: u32) -> SpendableLot {
        SpendableLot {
            id: LotId::new(id),
            remaining: c(remaining),
            expires_at: expires.map(day),
            granted_at: day(granted),
        }
    }

    #[test]
    fn lot_numbers_are_found_by_their_first_digits_highest_first() {
        let ranges = numbers_starting_with("57");
        assert_eq!(ranges.last(), Some(&(LotId::new(57), LotId::new(57))));
        assert_eq!(ranges[ranges.len() - 2], (LotId::new(570), LotId::new(579)));
        assert!(ranges.windows(2).all(|w| w[0].0 > w[1].0), "highest first");
        assert_eq!(numbers_starting_with(""), vec![(LotId::new(1), LotId::MAX)]);
        assert!(numbers_starting_with("05").is_empty());
        assert!(numbers_starting_with("5a").is_empty());
        assert!(numbers_starting_with("99999999999999999999").is_empty());
    }

    #[test]
    fn a_lot_stops_counting_at_its_expiry_instant() {
        assert!(is_live(Some(day(10)), day(9)));
        assert!(!is_live(Some(day(10)), day(10)));
        assert!(is_live(None, day(28)));
    }

    #[test]
    fn soonest_expiry_pays_first_then_earlier_grant_and_never_expiring_last() {
        let mut lots = vec![
            lot(1, 100, None, 1),
            lot(2, 100, Some(20), 3),
            lot(3, 100, Some(10), 5),
            lot(4, 100, Some(20), 2),
        ];
        sort_for_spending(&mut lots);
        let order: Vec<i64> = lots.iter().map(|l| l.id.get()).collect();
        assert_eq!(order, vec![3, 4, 2, 1]);
    }

    #[test]
    fn credits_pay_digital_lines_only_and_respect_the_cap() {
        let lines = [
            LineToPay {
                kind: ItemKind::Digital,
                total: c(999),
            },
            LineToPay {
                kind: ItemKind::Physical,
                total: c(2499),
            },
            LineToPay {
                kind: ItemKind::Digital,
                total: c(500),
            },
        ];
        let lots = [lot(7, 600, Some(5), 1), lot(8, 10_000, None, 1)];
        let takes = allocate(&lines, &lots, None);
        assert_eq!(
            takes,
            vec![
                Take {
                    line: 0,
                    lot_id: LotId::new(7),
                    amount: c(600)
                },
                Take {
                    line: 0,
                    lot_id: LotId::new(8),
                    amount: c(399)
                },
                Take {
                    line: 2,
                    lot_id: LotId::new(8),
                    amount: c(500)
                },
            ]
        );
        let capped = allocate(&lines, &lots, Some(c(700)));
        let total: Credits = capped.iter().map(|t| t.amount).sum();
        assert_eq!(total, c(700));
        assert!(allocate(&lines, &lots, Some(Credits::ZERO)).is_empty());
    }

    #[test]
    fn an_empty_lot_is_skipped() {
        let lines = [LineToPay {
            kind: ItemKind::Digital,
            total: c(100),
        }];
        let lots = [lot(1, 0, Some(5), 1), lot(2, 50, Some(6), 1)];
        assert_eq!(
            allocate(&lines, &lots, None),
            vec![Take {
                line: 0,
                lot_id: LotId::new(2),
                amount: c(50)
            }]
        );
    }

    #[test]
    fn partial_returns_add_up_to_exactly_the_part() {
        // 1000 over 3 units: 333, 333, 334 whatever the grouping.
        assert_eq!(return_share(c(1000), 3, 0, 1), c(333));
        assert_eq!(return_share(c(1000), 3, 1, 1), c(333));
        assert_eq!(return_share(c(1000), 3, 2, 1), c(334));
        assert_eq!(return_share(c(1000), 3, 0, 3), c(1000));
        assert_eq!(return_share(c(1000), 3, 1, 2), c(667));
    }

    #[test]
    fn a_return_plans_each_part_by_its_lots_state() {
        // 2 units of 1000, 600 paid by credit: lot 10 (live) took 400, lot 11 (expired) 200.
        let lines = [BoughtLine {
            total: c(1000),
            credits: c(600),
            quantity: 2,
            returned_quantity: 0,
        }];
        let allocations = vec![vec![
            SpentAllocation {
                allocation_id: 1,
                lot_id: LotId::new(10),
                taken: c(400),
                given_back: c(0),
            },
            SpentAllocation {
                allocation_id: 2,
                lot_id: LotId::new(11),
                taken: c(200),
                given_back: c(0),
            },
        ]];
        let state = |lot: LotId| (false, lot == LotId::new(10));
        let plan = plan_return(
            &lines,
            &allocations,
            &[(0, 1)],
            ExpiredLotPolicy::Reissue,
            state,
        );
        assert_eq!(plan.len(), 1);
        assert_eq!((plan[0].credits, plan[0].other), (c(300), c(200)));
        // Last taken first: the expired lot's 200 is reissued, then 100 goes back to lot 10.
        let fates: Vec<(i64, Credits, ReturnedCredit)> = plan[0]
            .give_backs
            .iter()
            .map(|(back, fate)| (back.lot_id.get(), back.amount, *fate))
            .collect();
        assert_eq!(
            fates,
            vec![
                (11, c(200), ReturnedCredit::Reissued),
                (10, c(100), ReturnedCredit::Restored),
            ]
        );
        let plan = plan_return(
            &lines,
            &allocations,
            &[(0, 1)],
            ExpiredLotPolicy::Expire,
            state,
        );
        assert_eq!(plan[0].give_backs[0].1, ReturnedCredit::Expired);
    }

    #[test]
    fn credit_from_a_revoked_lot_is_revoked_again_whatever_the_policy() {
        let lines = [BoughtLine {
            total: c(500),
            credits: c(500),
            quantity: 1,
            returned_quantity: 0,
        }];
        let allocations = vec![vec![SpentAllocation {
            allocation_id: 1,
            lot_id: LotId::new(7),
            taken: c(500),
            given_back: c(0),
        }]];
        let plan = plan_return(
            &lines,
            &allocations,
            &[(0, 1)],
            ExpiredLotPolicy::Reissue,
            |_| (true, true),
        );
        assert_eq!(plan[0].give_backs[0].1, ReturnedCredit::Revoked);
        assert_eq!(plan[0].other, Credits::ZERO);
    }

    #[test]
    fn give_back_undoes_the_last_take_first_and_never_exceeds_it() {
        let allocs = [
            SpentAllocation {
                allocation_id: 1,
                lot_id: LotId::new(10),
                taken: c(300),
                given_back: c(0),
            },
            SpentAllocation {
                allocation_id: 2,
                lot_id: LotId::new(11),
                taken: c(200),
                given_back: c(150),
            },
        ];
        assert_eq!(
            give_back(&allocs, c(100)),
            vec![
                GiveBack {
                    allocation_id: 2,
                    lot_id: LotId::new(11),
                    amount: c(50)
                },
                GiveBack {
                    allocation_id: 1,
                    lot_id: LotId::new(10),
                    amount: c(50)
                },
            ]
        );
        let all: Credits = give_back(&allocs, c(10_000)).iter().map(|g| g.amount).sum();
        assert_eq!(all, c(350));
    }
}
