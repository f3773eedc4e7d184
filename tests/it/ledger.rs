//! The ledger's behaviour, one rule at a time, through its public API, on each store: a real
//! SQLite file and a real PostgreSQL database (`stores`).

use crate::common::*;
use crate::stores::{Stores, over_both_stores};
use chrono::Duration;
use creditbot::error::{Error, Field, UserError};
use creditbot::ledger::Ledger;
use creditbot::ledger::store::Store;
use creditbot::ledger::{
    AccountId, Act, CreditChoice, ExpiredLotPolicy, Expiry, LedgerSettings, Lot, LotId, MemberId,
    ReturnLine, ReturnRequest, ReturnScope, Source, When,
};
use creditbot::money::Credits;

over_both_stores!(
    a_grant_shows_in_the_balance_with_source_and_default_expiry,
    expired_lots_do_not_count_from_their_expiry_instant,
    the_sweep_writes_each_expiry_once,
    a_lot_refilled_after_its_sweep_expires_again_and_later_sweeps_still_run,
    an_order_pays_digital_items_soonest_expiring_first_and_the_rest_by_card,
    the_members_choice_caps_the_credits_used,
    a_whole_return_gives_credits_back_to_their_lots_and_reports_the_card_part,
    partial_returns_add_up_and_never_return_more_than_was_bought,
    credit_returned_to_an_expired_lot_is_reissued_for_thirty_days,
    under_the_expire_policy_returned_credit_to_an_expired_lot_expires_at_once,
    a_replayed_grant_key_grants_once_and_a_reused_key_is_refused,
    an_order_id_recorded_twice_with_other_items_is_refused,
    links_are_one_to_one_both_ways,
    a_link_code_is_single_use_and_expires,
    revoke_and_expiry_changes_are_audited,
    credits_are_never_transferable,
    bad_input_is_refused_with_its_own_error_and_changes_nothing,
    a_closed_account_keeps_its_history_but_takes_no_new_credits_or_spends,
    a_return_to_a_closed_account_issues_no_new_grant,
    a_return_does_not_undo_a_revocation,
    moving_the_date_of_an_expired_lot_does_not_bring_its_credit_back,
    times_stay_in_order_a_return_follows_its_order_and_spends_use_earlier_grants,
    absurd_quantities_are_refused_not_overflowed,
    live_lots_are_found_by_the_first_digits_of_their_number_across_accounts,
    a_late_return_of_credit_expired_by_the_time_it_is_recorded_follows_the_policy,
    changes_dated_too_far_back_or_before_the_account_are_refused_and_change_nothing,
    history_shows_expiry_at_the_grants_expiry_date_before_and_after_a_sweep,
    pending_expiry_lines_page_like_written_ones,
);

fn user_error<T: std::fmt::Debug>(result: Result<T, Error>) -> UserError {
    match result {
        Err(Error::User(e)) => e,
        other => panic!("expected a user error, got {other:?}"),
    }
}

fn return_whole(id: &str, order: &str) -> ReturnRequest {
    ReturnRequest {
        return_id: ReturnId::new(id),
        order_external_id: OrderId::new(order),
        scope: ReturnScope::Whole,
        reason: "changed mind".into(),
    }
}

fn return_items(id: &str, order: &str, lines: &[(&str, i64)]) -> ReturnRequest {
    ReturnRequest {
        return_id: ReturnId::new(id),
        order_external_id: OrderId::new(order),
        scope: ReturnScope::Items(
            lines
                .iter()
                .map(|(sku, quantity)| ReturnLine {
                    sku: sku.to_string(),
                    quantity: *quantity,
                })
                .collect(),
        ),
        reason: String::new(),
    }
}

/// Account A with a $10.00 grant expiring on 1 Dec, $4.00 of it spent now on order o1 (one
/// digital "app"); returns the grant.
fn four_dollars_spent_from_a_grant_expiring_dec_1<S: Store>(l: &Ledger<S>) -> Lot {
    open(l, "A");
    let lot = l
        .grant(
            &admin("g1"),
            &grant_request("A", 10_00, Expiry::At(day(12, 1))),
        )
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order("o1", "A", vec![digital("app", 4_00, 1)]),
    )
    .unwrap();
    lot
}

fn a_grant_shows_in_the_balance_with_source_and_default_expiry(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "ACC-1");
    let lot = l
        .grant(
            &admin("g1"),
            &grant_request("ACC-1", 20_00, Expiry::Default),
        )
        .unwrap();
    assert_eq!(lot.remaining, usd(20_00));
    assert_eq!(lot.expires_at, Some(now() + Duration::days(365)));
    let balance = l.balance(&AccountId::new("ACC-1"), now()).unwrap();
    assert_eq!(balance.available, usd(20_00));
    assert_eq!(balance.lots.len(), 1);
    assert_eq!(balance.lots[0].source, Source::Promotion);
    assert_eq!(balance.lots[0].granted_by, "admin:1");
}

fn expired_lots_do_not_count_from_their_expiry_instant(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(
        &admin("g1"),
        &grant_request("A", 10_00, Expiry::At(day(12, 1))),
    )
    .unwrap();
    l.grant(&admin("g2"), &grant_request("A", 5_00, Expiry::Never))
        .unwrap();
    assert_eq!(
        l.balance(&AccountId::new("A"), day(11, 30))
            .unwrap()
            .available,
        usd(15_00)
    );
    assert_eq!(
        l.balance(&AccountId::new("A"), day(12, 1))
            .unwrap()
            .available,
        usd(5_00)
    );
    let balance = l.balance(&AccountId::new("A"), now()).unwrap();
    assert_eq!(balance.next_expiry(), Some((usd(10_00), day(12, 1))));
    let (soon, lots) = balance.expiring_within(now(), 30);
    assert_eq!((soon, lots.len()), (usd(10_00), 1));
    let (none_soon, _) = balance.expiring_within(now(), 3);
    assert_eq!(none_soon, Credits::ZERO);
}

fn the_sweep_writes_each_expiry_once(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(
            &admin("g1"),
            &grant_request("A", 10_00, Expiry::At(day(12, 1))),
        )
        .unwrap();
    assert_eq!(l.expired_from_lot(&lot).unwrap(), Credits::ZERO);
    let first = l.sweep_expired("sweeper", day(12, 2)).unwrap();
    assert_eq!((first.lots, first.amount), (1, usd(10_00)));
    assert_eq!(l.expired_from_lot(&lot).unwrap(), usd(10_00));
    let again = l.sweep_expired("sweeper", day(12, 3)).unwrap();
    assert_eq!(again.lots, 0);
    assert_eq!(l.lot(lot.id).unwrap().remaining, Credits::ZERO);
    let history = l.history(&AccountId::new("A"), 1, 10).unwrap();
    assert_eq!(
        history.entries[0].kind,
        creditbot::ledger::JournalKind::Expire
    );
    assert_eq!(history.entries[0].amount, usd(-10_00));
}

fn a_lot_refilled_after_its_sweep_expires_again_and_later_sweeps_still_run(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let swept = l
        .grant(
            &admin_at("g1", day(11, 1)),
            &grant_request("A", 10_00, Expiry::At(day(11, 10))),
        )
        .unwrap();
    l.record_order(
        "shop",
        day(11, 2),
        &order("o1", "A", vec![digital("song", 4_00, 1)]),
    )
    .unwrap();
    let later = l
        .grant(
            &admin_at("g2", day(11, 1)),
            &grant_request("A", 3_00, Expiry::At(day(11, 22))),
        )
        .unwrap();
    assert_eq!(
        l.sweep_expired("sweeper", day(11, 20)).unwrap().amount,
        usd(6_00)
    );
    // A return dated before the expiry, recorded after the sweep, refills the swept lot.
    l.record_return("shop", day(11, 5), &return_whole("r1", "o1"))
        .unwrap();
    assert_eq!(l.lot(swept.id).unwrap().remaining, usd(4_00));
    let second = l.sweep_expired("sweeper", day(11, 25)).unwrap();
    assert_eq!((second.lots, second.amount), (2, usd(7_00)));
    assert_eq!(l.lot(swept.id).unwrap().remaining, Credits::ZERO);
    assert_eq!(l.lot(later.id).unwrap().remaining, Credits::ZERO);
    let expiries: Vec<_> = l
        .history(&AccountId::new("A"), 1, 20)
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.kind == creditbot::ledger::JournalKind::Expire)
        .map(|e| e.amount)
        .collect();
    assert_eq!(expiries, vec![usd(-3_00), usd(-4_00), usd(-6_00)]);
}

fn an_order_pays_digital_items_soonest_expiring_first_and_the_rest_by_card(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let late = l
        .grant(
            &admin("g1"),
            &grant_request("A", 30_00, Expiry::At(day(12, 20))),
        )
        .unwrap();
    let soon = l
        .grant(
            &admin("g2"),
            &grant_request("A", 5_00, Expiry::At(day(12, 5))),
        )
        .unwrap();
    let forever = l
        .grant(&admin("g3"), &grant_request("A", 50_00, Expiry::Never))
        .unwrap();
    let receipt = l
        .record_order(
            "shop",
            now(),
            &order(
                "7781",
                "A",
                vec![digital("hobbit", 9_99, 1), physical("lamp", 24_99, 1)],
            ),
        )
        .unwrap();
    assert_eq!(receipt.credits_applied, usd(9_99));
    assert_eq!(receipt.other_amount, usd(24_99));
    let taken: Vec<_> = receipt
        .allocations
        .iter()
        .map(|a| (a.lot_id, a.amount))
        .collect();
    assert_eq!(taken, vec![(soon.id, usd(5_00)), (late.id, usd(4_99))]);
    assert_eq!(l.lot(forever.id).unwrap().remaining, usd(50_00));
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(75_01)
    );

    let breakdown = l.order_breakdown(&OrderId::new("7781"), now()).unwrap();
    assert_eq!(breakdown.items[0].credits_by_lot.len(), 2);
    assert_eq!(breakdown.items[0].return_would_restore, usd(9_99));
    assert_eq!(breakdown.items[1].credits, Credits::ZERO);
    assert_eq!(breakdown.items[1].return_would_refund_other, usd(24_99));
    assert_eq!(breakdown.other_method.as_deref(), Some("Visa"));
}

fn the_members_choice_caps_the_credits_used(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(&admin("g1"), &grant_request("A", 100_00, Expiry::Never))
        .unwrap();
    let mut up_to = order("o1", "A", vec![digital("film", 20_00, 1)]);
    up_to.credits = CreditChoice::UpTo(usd(7_50));
    let receipt = l.record_order("shop", now(), &up_to).unwrap();
    assert_eq!(
        (receipt.credits_applied, receipt.other_amount),
        (usd(7_50), usd(12_50))
    );
    let mut none = order("o2", "A", vec![digital("film", 20_00, 1)]);
    none.credits = CreditChoice::None;
    let receipt = l.record_order("shop", now(), &none).unwrap();
    assert_eq!(receipt.credits_applied, Credits::ZERO);
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(92_50)
    );
}

fn a_whole_return_gives_credits_back_to_their_lots_and_reports_the_card_part(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(&admin("g1"), &grant_request("A", 10_00, Expiry::Never))
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order(
            "o1",
            "A",
            vec![digital("album", 15_00, 1), physical("mug", 8_00, 1)],
        ),
    )
    .unwrap();
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        Credits::ZERO
    );
    let receipt = l
        .record_return("shop", now(), &return_whole("r1", "o1"))
        .unwrap();
    assert_eq!(receipt.credits_restored, usd(10_00));
    assert_eq!(receipt.other_refunded, usd(13_00));
    assert_eq!(receipt.other_method.as_deref(), Some("Visa"));
    assert_eq!(l.lot(lot.id).unwrap().remaining, usd(10_00));
    // Replaying the return changes nothing and answers the same.
    let checksum = l.content_checksum().unwrap();
    let replay = l
        .record_return("shop", now(), &return_whole("r1", "o1"))
        .unwrap();
    assert_eq!(replay, receipt);
    assert_eq!(l.content_checksum().unwrap(), checksum);
    // Nothing is left to return.
    assert_eq!(
        user_error(l.record_return("shop", now(), &return_whole("r2", "o1"))),
        UserError::NothingToReturn("o1".into())
    );
}

fn partial_returns_add_up_and_never_return_more_than_was_bought(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(&admin("g1"), &grant_request("A", 10_00, Expiry::Never))
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order("o1", "A", vec![digital("song", 3_33, 3)]),
    )
    .unwrap();
    // 9.99 of credit over 3 units: 3.33 each, the last unit takes what is left.
    let first = l
        .record_return("shop", now(), &return_items("r1", "o1", &[("song", 2)]))
        .unwrap();
    assert_eq!(first.credits_restored, usd(6_66));
    let err = user_error(l.record_return("shop", now(), &return_items("r2", "o1", &[("song", 2)])));
    assert_eq!(
        err,
        UserError::ReturnTooMany {
            item: "song".into(),
            bought: 3,
            returned: 2,
            asked: 2
        }
    );
    let last = l
        .record_return("shop", now(), &return_items("r3", "o1", &[("song", 1)]))
        .unwrap();
    assert_eq!(last.credits_restored, usd(3_33));
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(10_00)
    );
}

fn credit_returned_to_an_expired_lot_is_reissued_for_thirty_days(stores: &impl Stores) {
    let l = stores.ledger();
    let lot = four_dollars_spent_from_a_grant_expiring_dec_1(&l);
    let later = day(12, 10);
    let promised = &l.order_breakdown(&OrderId::new("o1"), later).unwrap().items[0];
    assert_eq!(
        (promised.return_would_restore, promised.return_would_forfeit),
        (usd(4_00), Credits::ZERO)
    );
    let receipt = l
        .record_return("shop", later, &return_whole("r1", "o1"))
        .unwrap();
    let reissued = receipt.reissued.expect("a refund lot");
    assert_eq!(reissued.amount, usd(4_00));
    assert_eq!(reissued.source, Source::Refund);
    assert_eq!(reissued.expires_at, Some(later + Duration::days(30)));
    assert_eq!(reissued.refund_of_order, Some(OrderId::new("o1")));
    assert_eq!(receipt.credits_restored, Credits::ZERO);
    assert_eq!(l.lot(lot.id).unwrap().remaining, usd(6_00));
    assert_eq!(
        l.balance(&AccountId::new("A"), later).unwrap().available,
        usd(4_00)
    );
}

fn under_the_expire_policy_returned_credit_to_an_expired_lot_expires_at_once(stores: &impl Stores) {
    let l = stores.ledger_with(LedgerSettings {
        expired_lot_policy: ExpiredLotPolicy::Expire,
        ..LedgerSettings::default()
    });
    four_dollars_spent_from_a_grant_expiring_dec_1(&l);
    // Before the expiry a return would give it back; after, under this policy, it would not.
    let before = &l.order_breakdown(&OrderId::new("o1"), now()).unwrap().items[0];
    assert_eq!(
        (before.return_would_restore, before.return_would_forfeit),
        (usd(4_00), Credits::ZERO)
    );
    let after = &l
        .order_breakdown(&OrderId::new("o1"), day(12, 10))
        .unwrap()
        .items[0];
    assert_eq!(
        (after.return_would_restore, after.return_would_forfeit),
        (Credits::ZERO, usd(4_00))
    );
    let receipt = l
        .record_return("shop", day(12, 10), &return_whole("r1", "o1"))
        .unwrap();
    assert_eq!(receipt.expired_at_once, usd(4_00));
    assert!(receipt.reissued.is_none());
    assert_eq!(
        l.balance(&AccountId::new("A"), day(12, 10))
            .unwrap()
            .available,
        Credits::ZERO
    );
    for (lot, remaining, journal_sum) in l.lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}");
    }
}

fn a_replayed_grant_key_grants_once_and_a_reused_key_is_refused(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let request = grant_request("A", 12_50, Expiry::Never);
    let first = l.grant(&admin("interaction-1"), &request).unwrap();
    let checksum = l.content_checksum().unwrap();
    let again = l.grant(&admin("interaction-1"), &request).unwrap();
    assert_eq!(again, first);
    assert_eq!(l.content_checksum().unwrap(), checksum);
    let other = grant_request("A", 99_00, Expiry::Never);
    assert_eq!(
        user_error(l.grant(&admin("interaction-1"), &other)),
        UserError::IdempotencyConflict
    );
    assert_eq!(l.content_checksum().unwrap(), checksum);
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(12_50)
    );
}

fn an_order_id_recorded_twice_with_other_items_is_refused(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let first = order("o1", "A", vec![digital("x", 1_00, 1)]);
    let receipt = l.record_order("shop", now(), &first).unwrap();
    assert_eq!(l.record_order("shop", now(), &first).unwrap(), receipt);
    let different = order("o1", "A", vec![digital("x", 2_00, 1)]);
    assert_eq!(
        user_error(l.record_order("shop", now(), &different)),
        UserError::OrderAlreadyRecorded("o1".into())
    );
}

fn links_are_one_to_one_both_ways(stores: &impl Stores) {
    let l = stores.ledger();
    let link = l
        .link_member(
            &admin("l1"),
            &MemberId::new("alice"),
            &AccountId::new("ACC-1"),
        )
        .unwrap();
    assert_eq!(link.account_id, "ACC-1");
    assert_eq!(
        l.account_for_member(&MemberId::new("alice"))
            .unwrap()
            .unwrap()
            .id,
        "ACC-1"
    );
    assert_eq!(
        user_error(l.link_member(
            &admin("l2"),
            &MemberId::new("alice"),
            &AccountId::new("ACC-2")
        )),
        UserError::MemberAlreadyLinked("ACC-1".into())
    );
    assert_eq!(
        user_error(l.link_member(
            &admin("l3"),
            &MemberId::new("bob"),
            &AccountId::new("ACC-1")
        )),
        UserError::AccountAlreadyLinked("ACC-1".into())
    );
    l.unlink_member(&admin("u1"), &MemberId::new("alice"), "moved")
        .unwrap();
    assert!(
        l.account_for_member(&MemberId::new("alice"))
            .unwrap()
            .is_none()
    );
    assert_eq!(
        user_error(l.unlink_member(&admin("u2"), &MemberId::new("alice"), "")),
        UserError::MemberNotLinked
    );
    l.link_member(
        &admin("l4"),
        &MemberId::new("bob"),
        &AccountId::new("ACC-1"),
    )
    .unwrap();
    assert_eq!(
        l.member_for_account(&AccountId::new("ACC-1")).unwrap(),
        Some(MemberId::new("bob"))
    );
}

/// On disk, SQLite's file and its log; the PostgreSQL store writes the same hash only.
#[test]
fn a_link_code_is_stored_only_hashed() {
    let l = ledger();
    open(&l, "ACC-9");
    let issued = l
        .issue_link_code(&admin("c1"), &AccountId::new("ACC-9"))
        .unwrap();
    assert_eq!(issued.expires_at, now() + Duration::hours(24));
    let raw = std::fs::read(l.dir.path().join("ledger.db")).unwrap();
    let wal = std::fs::read(l.dir.path().join("ledger.db-wal")).unwrap_or_default();
    let plain = issued.code.replace('-', "");
    for bytes in [&raw, &wal] {
        assert!(
            !bytes.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "the plain code is on disk"
        );
    }
}

fn a_link_code_is_single_use_and_expires(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "ACC-9");
    let issued = l
        .issue_link_code(&admin("c1"), &AccountId::new("ACC-9"))
        .unwrap();
    assert_eq!(issued.expires_at, now() + Duration::hours(24));
    assert_eq!(
        user_error(l.redeem_link_code(&admin_at("m0", now()), &MemberId::new("sam"), "ZZZZ-ZZZZ")),
        UserError::LinkCodeUnknown
    );
    let typed = issued.code.to_lowercase().replace('-', " ");
    let link = l
        .redeem_link_code(&Act("sam", now(), "m1"), &MemberId::new("sam"), &typed)
        .unwrap();
    assert_eq!(link.account_id, "ACC-9");
    assert_eq!(
        user_error(l.redeem_link_code(
            &Act("kim", now(), "m2"),
            &MemberId::new("kim"),
            &issued.code
        )),
        UserError::LinkCodeUsed
    );
    // ACC-9 is held by sam now: no code is made for it until sam unlinks.
    assert_eq!(
        user_error(l.issue_link_code(&admin("c2"), &AccountId::new("ACC-9"))),
        UserError::CodeForLinkedAccount("ACC-9".into())
    );
    l.unlink_member(&admin("u1"), &MemberId::new("sam"), "moving")
        .unwrap();
    let second = l
        .issue_link_code(&admin("c3"), &AccountId::new("ACC-9"))
        .unwrap();
    let late = now() + Duration::hours(25);
    assert_eq!(
        user_error(l.redeem_link_code(
            &Act("kim", late, "m3"),
            &MemberId::new("kim"),
            &second.code
        )),
        UserError::LinkCodeExpired
    );
}

#[allow(non_snake_case)]
fn Act(actor: &str, at: chrono::DateTime<chrono::Utc>, key: &str) -> creditbot::ledger::Act {
    creditbot::ledger::Act::new(actor, at, key)
}

fn revoke_and_expiry_changes_are_audited(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(&admin("g1"), &grant_request("A", 10_00, Expiry::Default))
        .unwrap();
    let moved = l
        .change_expiry(&admin("e1"), lot.id, Some(day(12, 31)), "holiday extension")
        .unwrap();
    assert_eq!(moved.lot.expires_at, Some(day(12, 31)));
    let revoked = l
        .revoke(&admin("r1"), lot.id, "granted by mistake")
        .unwrap();
    assert_eq!(revoked.lot.remaining, Credits::ZERO);
    assert_eq!(
        user_error(l.revoke(&admin("r2"), lot.id, "again")),
        UserError::GrantNothingLeft(lot.id.get())
    );
    let history = l.history(&AccountId::new("A"), 1, 2).unwrap();
    assert_eq!(history.total_entries, 4); // open, grant, expiry change, revoke
    assert_eq!(history.pages, 2);
    let kinds: Vec<&str> = history.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["revoke", "expiry_change"]);
    assert_eq!(history.entries[0].reason, "granted by mistake");
    let older = l.history(&AccountId::new("A"), 2, 2).unwrap();
    let kinds: Vec<&str> = older.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["grant", "open"]);
}

fn credits_are_never_transferable(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(&admin("g1"), &grant_request("A", 37_50, Expiry::Never))
        .unwrap();
    let answer = l.transfer_check(&AccountId::new("A"), now()).unwrap();
    assert!(!answer.transferable);
    assert_eq!(answer.available, usd(37_50));
}

#[test]
fn the_journal_refuses_updates_and_deletes() {
    let l = ledger();
    open(&l, "A");
    let conn = rusqlite::Connection::open(l.dir.path().join("ledger.db")).unwrap();
    assert!(conn.execute("UPDATE journal SET amount = 5", []).is_err());
    assert!(conn.execute("DELETE FROM journal", []).is_err());
}

#[cfg(feature = "postgres")]
#[test]
fn the_postgres_journal_refuses_updates_deletes_and_truncation() {
    let Some(pg) = crate::stores::Postgres::or_skip(
        "the_postgres_journal_refuses_updates_deletes_and_truncation",
    ) else {
        return;
    };
    let url = pg.database();
    let l = Ledger::open_postgres(
        &url,
        &creditbot::ledger::PgOptions::default(),
        LedgerSettings::default(),
    )
    .unwrap();
    open(&l, "A");
    let database = url.rsplit('/').next().unwrap();
    for sql in [
        "UPDATE journal SET amount = 5",
        "DELETE FROM journal",
        "TRUNCATE journal CASCADE",
    ] {
        let refused = pg
            .cluster()
            .psql_in(database, sql)
            .expect_err("the journal is append-only");
        assert!(
            refused.contains("the journal is append-only"),
            "{sql}: {refused}"
        );
    }
    assert_eq!(
        l.history(&AccountId::new("A"), 1, 10)
            .unwrap()
            .total_entries,
        1
    );
}

/// Every refusal names its problem and leaves every row as it was.
fn bad_input_is_refused_with_its_own_error_and_changes_nothing(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    open(&l, "B");
    let lot = l
        .grant(&admin("g0"), &grant_request("A", 10_00, Expiry::Never))
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order("o1", "A", vec![digital("x", 2_00, 2)]),
    )
    .unwrap();
    l.link_member(&admin("l0"), &MemberId::new("alice"), &AccountId::new("A"))
        .unwrap();
    let before = l.content_checksum().unwrap();

    let mut cases: Vec<(&str, UserError, Result<(), Error>)> = Vec::new();
    let mut check = |name: &'static str, expected: UserError, result: Result<(), Error>| {
        cases.push((name, expected, result));
    };
    check(
        "zero grant",
        UserError::AmountZero,
        l.grant(&admin("b1"), &grant_request("A", 0, Expiry::Never))
            .map(drop),
    );
    check(
        "negative grant",
        UserError::AmountNegative,
        l.grant(&admin("b2"), &grant_request("A", -5_00, Expiry::Never))
            .map(drop),
    );
    check(
        "grant over the maximum",
        UserError::AmountTooLarge {
            max: "$1,000.00".into(),
        },
        l.grant(&admin("b3"), &grant_request("A", 1000_01, Expiry::Never))
            .map(drop),
    );
    check(
        "grant to an unknown account",
        UserError::UnknownAccount("NOPE".into()),
        l.grant(&admin("b4"), &grant_request("NOPE", 1_00, Expiry::Never))
            .map(drop),
    );
    check(
        "expiry in the past",
        UserError::DateInPast,
        l.grant(
            &admin("b5"),
            &grant_request("A", 1_00, Expiry::At(day(1, 1))),
        )
        .map(drop),
    );
    check(
        "revoke an unknown grant",
        UserError::UnknownGrant(999),
        l.revoke(&admin("b6"), LotId::new(999), "x").map(drop),
    );
    check(
        "move an expiry into the past",
        UserError::DateInPast,
        l.change_expiry(&admin("b7"), lot.id, Some(day(1, 1)), "x")
            .map(drop),
    );
    check(
        "order without items",
        UserError::OrderWithoutItems,
        l.record_order("shop", now(), &order("o2", "A", vec![]))
            .map(drop),
    );
    check(
        "zero quantity",
        UserError::ItemQuantity {
            item: "x".into(),
            line: 0,
        },
        l.record_order(
            "shop",
            now(),
            &order("o3", "A", vec![digital("x", 1_00, 0)]),
        )
        .map(drop),
    );
    check(
        "negative price",
        UserError::ItemPriceNegative {
            item: "x".into(),
            line: 0,
        },
        l.record_order(
            "shop",
            now(),
            &order("o4", "A", vec![digital("x", -1_00, 1)]),
        )
        .map(drop),
    );
    let mut no_method = order("o5", "B", vec![digital("x", 5_00, 1)]);
    no_method.other_method = None;
    check(
        "no payment method for the rest",
        UserError::PaymentMethodMissing,
        l.record_order("shop", now(), &no_method).map(drop),
    );
    check(
        "return of an unknown order",
        UserError::UnknownOrder("o404".into()),
        l.record_return("shop", now(), &return_whole("r1", "o404"))
            .map(drop),
    );
    check(
        "return of an item not on the order",
        UserError::UnknownItem {
            order: "o1".into(),
            item: "y".into(),
        },
        l.record_return("shop", now(), &return_items("r2", "o1", &[("y", 1)]))
            .map(drop),
    );
    check(
        "return of more than was bought",
        UserError::ReturnTooMany {
            item: "x".into(),
            bought: 2,
            returned: 0,
            asked: 3,
        },
        l.record_return("shop", now(), &return_items("r3", "o1", &[("x", 3)]))
            .map(drop),
    );
    check(
        "a second account for a linked member",
        UserError::MemberAlreadyLinked("A".into()),
        l.link_member(&admin("b8"), &MemberId::new("alice"), &AccountId::new("B"))
            .map(drop),
    );
    check(
        "an unknown link code",
        UserError::LinkCodeUnknown,
        l.redeem_link_code(&admin("b9"), &MemberId::new("bob"), "AAAA-BBBB")
            .map(drop),
    );
    check(
        "a link code for an unknown account",
        UserError::UnknownAccount("NOPE".into()),
        l.issue_link_code(&admin("b10"), &AccountId::new("NOPE"))
            .map(drop),
    );
    check(
        "an account id with a space around it",
        UserError::SurroundingSpace {
            field: Field::AccountId,
        },
        l.open_account(&admin("b12"), &AccountId::new(" A"), "A")
            .map(drop),
    );
    check(
        "an order id with a line break",
        UserError::ControlCharacters {
            field: Field::OrderId,
        },
        l.record_order(
            "shop",
            now(),
            &order("o\n6", "A", vec![digital("x", 1_00, 1)]),
        )
        .map(drop),
    );
    check(
        "an account id with a zero-width space",
        UserError::InvisibleCharacters {
            field: Field::AccountId,
        },
        l.open_account(&admin("b14"), &AccountId::new("A\u{200B}"), "A")
            .map(drop),
    );
    check(
        "an account id with a letter and its accent apart",
        UserError::DecomposedLetters {
            field: Field::AccountId,
        },
        l.open_account(&admin("b15"), &AccountId::new("A\u{030A}"), "A")
            .map(drop),
    );
    check(
        "a reason with a tab",
        UserError::ControlCharacters {
            field: Field::Reason,
        },
        l.revoke(&admin("b13"), lot.id, "by\tmistake").map(drop),
    );
    let mut long_reason = return_whole("r4", "o1");
    long_reason.reason = "x".repeat(201);
    check(
        "a return reason too long",
        UserError::FieldTooLong {
            field: Field::Reason,
            length: 201,
            max: 200,
        },
        l.record_return("shop", now(), &long_reason).map(drop),
    );
    check(
        "a returned item with a name too long",
        UserError::FieldTooLong {
            field: Field::ReturnItem(0),
            length: 201,
            max: 200,
        },
        l.record_return(
            "shop",
            now(),
            &return_items("r5", "o1", &[(&"x".repeat(201), 1)]),
        )
        .map(drop),
    );
    check(
        "an unlink reason too long",
        UserError::FieldTooLong {
            field: Field::Reason,
            length: 201,
            max: 200,
        },
        l.unlink_member(&admin("b11"), &MemberId::new("alice"), &"x".repeat(201))
            .map(drop),
    );
    check(
        "a reused grant key",
        UserError::IdempotencyConflict,
        l.grant(&admin("g0"), &grant_request("A", 3_00, Expiry::Never))
            .map(drop),
    );

    for (name, expected, result) in cases {
        assert_eq!(user_error(result), expected, "{name}");
        assert!(!expected.to_string().is_empty());
    }
    assert_eq!(
        l.content_checksum().unwrap(),
        before,
        "a refusal changed the database"
    );
}

fn a_closed_account_keeps_its_history_but_takes_no_new_credits_or_spends(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(&admin("g1"), &grant_request("A", 5_00, Expiry::Never))
        .unwrap();
    let closed = l
        .close_account(&admin("c1"), &AccountId::new("A"), "customer left")
        .unwrap();
    assert!(closed.closed);
    assert_eq!(
        l.close_account(&admin("c1"), &AccountId::new("A"), "customer left")
            .unwrap(),
        closed,
        "a replay answers the first result"
    );
    let before = l.content_checksum().unwrap();
    assert_eq!(
        user_error(l.grant(&admin("g2"), &grant_request("A", 1_00, Expiry::Never))),
        UserError::AccountClosed("A".into())
    );
    assert_eq!(
        user_error(l.record_order(
            "shop",
            now(),
            &order("o1", "A", vec![digital("x", 1_00, 1)])
        )),
        UserError::AccountClosed("A".into())
    );
    assert_eq!(
        user_error(l.close_account(&admin("c2"), &AccountId::new("A"), "again")),
        UserError::AccountClosed("A".into())
    );
    assert_eq!(
        user_error(l.link_member(&admin("l1"), &MemberId::new("alice"), &AccountId::new("A"))),
        UserError::AccountClosed("A".into())
    );
    assert_eq!(l.content_checksum().unwrap(), before);
    assert_eq!(
        l.history(&AccountId::new("A"), 1, 10).unwrap().entries[0].kind,
        creditbot::ledger::JournalKind::Close
    );
}

fn a_return_to_a_closed_account_issues_no_new_grant(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(
            &admin("g1"),
            &grant_request("A", 10_00, Expiry::At(day(12, 1))),
        )
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order(
            "o1",
            "A",
            vec![digital("app", 4_00, 1), physical("mug", 3_00, 1)],
        ),
    )
    .unwrap();
    l.close_account(&admin("c1"), &AccountId::new("A"), "customer left")
        .unwrap();
    let later = day(12, 10);
    // Under the default reissue policy an open account would get a new refund grant.
    let promised = &l.order_breakdown(&OrderId::new("o1"), later).unwrap().items[0];
    assert_eq!(promised.return_would_forfeit, usd(4_00));
    let receipt = l
        .record_return("shop", later, &return_whole("r1", "o1"))
        .unwrap();
    assert!(receipt.reissued.is_none());
    assert_eq!(receipt.expired_at_once, usd(4_00));
    assert_eq!(receipt.other_refunded, usd(3_00));
    assert_eq!(l.lots(&AccountId::new("A")).unwrap().len(), 1);
    // The returned $4 expired again at once; the $6 never spent waits for the sweep.
    assert_eq!(l.lot(lot.id).unwrap().remaining, usd(6_00));
    for (lot, remaining, journal_sum) in l.lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}");
    }
}

fn a_return_does_not_undo_a_revocation(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(&admin("g1"), &grant_request("A", 10_00, Expiry::Never))
        .unwrap();
    l.record_order(
        "shop",
        now(),
        &order("o1", "A", vec![digital("x", 4_00, 1)]),
    )
    .unwrap();
    l.revoke(&admin("r1"), lot.id, "fraud").unwrap();
    // The breakdown promises exactly what the return then does.
    let promised = &l.order_breakdown(&OrderId::new("o1"), now()).unwrap().items[0];
    assert_eq!(
        (promised.return_would_restore, promised.return_would_forfeit),
        (Credits::ZERO, usd(4_00))
    );
    let receipt = l
        .record_return("shop", now(), &return_whole("ret1", "o1"))
        .unwrap();
    assert_eq!(receipt.revoked_at_once, usd(4_00));
    assert_eq!(receipt.credits_restored, Credits::ZERO);
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        Credits::ZERO
    );
    for (lot, remaining, journal_sum) in l.lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}");
    }
}

fn moving_the_date_of_an_expired_lot_does_not_bring_its_credit_back(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(
            &admin("g1"),
            &grant_request("A", 7_00, Expiry::At(day(12, 5))),
        )
        .unwrap();
    let later = day(12, 10);
    let moved = l
        .change_expiry(
            &admin_at("e1", later),
            lot.id,
            Some(day(12, 31)),
            "extension",
        )
        .unwrap();
    assert_eq!(moved.lot.remaining, Credits::ZERO);
    assert_eq!(
        l.balance(&AccountId::new("A"), later).unwrap().available,
        Credits::ZERO
    );
    assert_eq!(
        l.history(&AccountId::new("A"), 1, 10).unwrap().entries[1].kind,
        creditbot::ledger::JournalKind::Expire
    );
}

fn times_stay_in_order_a_return_follows_its_order_and_spends_use_earlier_grants(
    stores: &impl Stores,
) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(
        &admin_at("g1", day(11, 20)),
        &grant_request("A", 5_00, Expiry::Never),
    )
    .unwrap();
    // An order dated before the grant can't spend it.
    let early = l
        .record_order(
            "shop",
            day(11, 1),
            &order("o1", "A", vec![digital("x", 3_00, 1)]),
        )
        .unwrap();
    assert_eq!(early.credits_applied, Credits::ZERO);
    assert_eq!(
        l.balance(&AccountId::new("A"), day(11, 10))
            .unwrap()
            .available,
        Credits::ZERO
    );
    assert_eq!(
        user_error(l.record_return("shop", day(10, 1), &return_whole("r1", "o1"))),
        UserError::ReturnBeforeOrder
    );
}

fn absurd_quantities_are_refused_not_overflowed(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    l.record_order(
        "shop",
        now(),
        &order("o1", "A", vec![digital("x", 1_00, 1)]),
    )
    .unwrap();
    let before = l.content_checksum().unwrap();
    let err = user_error(l.record_return(
        "shop",
        now(),
        &return_items("r1", "o1", &[("x", i64::MAX), ("x", 1)]),
    ));
    assert!(matches!(err, UserError::ReturnTooMany { .. }), "{err:?}");
    let huge = order("o2", "A", vec![digital("y", 1_00, i64::MAX)]);
    assert_eq!(
        user_error(l.record_order("shop", now(), &huge)),
        UserError::OrderTooLarge
    );
    let long_name = "n".repeat(500);
    assert!(matches!(
        user_error(l.open_account(&admin("o9"), &AccountId::new("B"), &long_name)),
        UserError::FieldTooLong { .. }
    ));
    assert_eq!(l.content_checksum().unwrap(), before);
}

fn live_lots_are_found_by_the_first_digits_of_their_number_across_accounts(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    open(&l, "B");
    for n in 1..=12 {
        let account = if n % 2 == 0 { "A" } else { "B" };
        let expiry = if n == 11 {
            Expiry::At(day(11, 27))
        } else {
            Expiry::Never
        };
        l.grant(
            &admin(&format!("g{n}")),
            &grant_request(account, 1_00, expiry),
        )
        .unwrap();
    }
    let ids = |digits: &str, at| -> Vec<i64> {
        l.live_lots_numbered(digits, at, 25)
            .unwrap()
            .iter()
            .map(|lot| lot.id.get())
            .collect()
    };
    assert_eq!(ids("1", now()), vec![12, 11, 10, 1]);
    assert_eq!(
        ids("1", day(11, 28)),
        vec![12, 10, 1],
        "an expired grant isn't offered"
    );
    assert_eq!(ids("", now()).len(), 12);
    assert_eq!(l.live_lots_numbered("", now(), 3).unwrap().len(), 3);
    assert!(ids("7x", now()).is_empty());
}

fn a_late_return_of_credit_expired_by_the_time_it_is_recorded_follows_the_policy(
    stores: &impl Stores,
) {
    let l = stores.ledger();
    open(&l, "A");
    l.grant(
        &admin_at("g1", day(11, 1)),
        &grant_request("A", 10_00, Expiry::At(day(11, 20))),
    )
    .unwrap();
    l.record_order(
        "shop",
        day(11, 5),
        &order("o1", "A", vec![digital("song", 4_00, 1)]),
    )
    .unwrap();
    // Dated before the grant expired, but recorded after: the credit is not simply back on
    // its expired grant (where nobody could spend it); the reissue policy gives a new one.
    let late = When::backdated(day(11, 18), day(11, 24));
    let receipt = l
        .record_return("shop", late, &return_whole("r1", "o1"))
        .unwrap();
    assert_eq!(receipt.credits_restored, Credits::ZERO);
    let reissued = receipt.reissued.expect("a refund grant");
    assert_eq!(reissued.amount, usd(4_00));
    assert_eq!(
        l.balance(&AccountId::new("A"), day(11, 24))
            .unwrap()
            .available,
        usd(4_00)
    );
}

fn changes_dated_too_far_back_or_before_the_account_are_refused_and_change_nothing(
    stores: &impl Stores,
) {
    let l = stores.ledger();
    open(&l, "A");
    let before = l.content_checksum().unwrap();
    let recorded = now();
    let too_old = When::backdated(recorded - Duration::days(31), recorded);
    assert_eq!(
        user_error(l.grant(
            &Act::new("shop", too_old, "g-old"),
            &grant_request("A", 1_00, Expiry::Never)
        )),
        UserError::TimeTooFarBack { days: 30 }
    );
    assert_eq!(
        user_error(l.record_order(
            "shop",
            too_old,
            &order("o1", "A", vec![digital("x", 1_00, 1)])
        )),
        UserError::TimeTooFarBack { days: 30 }
    );
    // Inside the window but before the account was opened (1 January).
    let l2 = stores.ledger();
    l2.open_account(&admin_at("open", now()), &AccountId::new("B"), "B")
        .unwrap();
    let before_b = l2.content_checksum().unwrap();
    assert_eq!(
        user_error(l2.grant(
            &Act::new(
                "shop",
                When::backdated(now() - Duration::days(2), now()),
                "g-b"
            ),
            &grant_request("B", 1_00, Expiry::Never)
        )),
        UserError::TimeBeforeAccount("B".into())
    );
    assert_eq!(l.content_checksum().unwrap(), before);
    assert_eq!(l2.content_checksum().unwrap(), before_b);
}

fn history_shows_expiry_at_the_grants_expiry_date_before_and_after_a_sweep(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    let lot = l
        .grant(
            &admin_at("g1", day(11, 1)),
            &grant_request("A", 10_01, Expiry::At(day(12, 17))),
        )
        .unwrap();
    l.grant(
        &admin_at("g2", day(12, 20)),
        &grant_request("A", 2_00, Expiry::Never),
    )
    .unwrap();
    let late = day(12, 29);
    // Before any sweep: the expiry line is there, dated at the expiry, not yet written.
    let before = l.history_at(&AccountId::new("A"), late, 1, 10).unwrap();
    let expired: Vec<_> = before
        .entries
        .iter()
        .filter(|e| e.kind == creditbot::ledger::JournalKind::Expire)
        .collect();
    assert_eq!(expired.len(), 1, "{:?}", before.entries);
    assert_eq!(expired[0].at, day(12, 17));
    assert_eq!(expired[0].amount, usd(-10_01));
    assert_eq!(expired[0].lot_id, Some(lot.id));
    assert_eq!(expired[0].recorded_at, None);
    assert_eq!(before.total_entries, 4, "open, two grants, the expiry");
    // Newest first by when things happened: the later grant above the expiry.
    let kinds: Vec<&str> = before.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["grant", "expire", "grant", "open"]);
    // Only what is written: no expiry yet.
    assert!(
        l.history(&AccountId::new("A"), 1, 10)
            .unwrap()
            .entries
            .iter()
            .all(|e| e.kind != creditbot::ledger::JournalKind::Expire)
    );

    // The sweep runs 12 days late; its entry carries the expiry as when it took effect.
    let report = l.sweep_expired("sweeper", late).unwrap();
    assert_eq!(report.lots, 1);
    let after = l.history_at(&AccountId::new("A"), late, 1, 10).unwrap();
    let kinds: Vec<&str> = after.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["grant", "expire", "grant", "open"]);
    let expired = &after.entries[1];
    assert_eq!(expired.at, day(12, 17));
    assert_eq!(expired.recorded_at, Some(late));
    assert_eq!(expired.amount, usd(-10_01));
    assert_eq!(after.total_entries, 4);
    // Money still adds up: the grants less what expired is the balance.
    assert_eq!(
        l.balance(&AccountId::new("A"), late).unwrap().available,
        usd(2_00)
    );
    // Pages cut the merged history the same way: two per page.
    let first = l.history_at(&AccountId::new("A"), late, 1, 2).unwrap();
    let second = l.history_at(&AccountId::new("A"), late, 2, 2).unwrap();
    assert_eq!(first.pages, 2);
    let paged: Vec<&str> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(paged, ["grant", "expire", "grant", "open"]);
}

fn pending_expiry_lines_page_like_written_ones(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    for n in 0..5 {
        l.grant(
            &admin_at(&format!("g{n}"), day(11, 1) + Duration::days(n)),
            &grant_request("A", 1_00, Expiry::At(day(12, 1) + Duration::days(n))),
        )
        .unwrap();
    }
    let late = day(12, 20);
    let all = l.history_at(&AccountId::new("A"), late, 1, 100).unwrap();
    assert_eq!(all.total_entries, 11);
    let mut paged = Vec::new();
    for page in 1..=4 {
        paged.extend(
            l.history_at(&AccountId::new("A"), late, page, 3)
                .unwrap()
                .entries,
        );
    }
    assert_eq!(paged, all.entries);
    assert!(all.entries.windows(2).all(|w| w[0].at >= w[1].at));
}
