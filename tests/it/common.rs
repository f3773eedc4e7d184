//! Builders shared by the integration tests: a ledger on a temporary file, dates, amounts.

use chrono::{DateTime, TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::store::Store;
// The typed ids, for the tests that name an account, an order or a return.
pub use creditbot::ledger::{AccountId, OrderId, ReturnId};
use creditbot::ledger::{
    Act, AnyStore, CreditChoice, Expiry, GrantRequest, ItemKind, Ledger, LedgerSettings,
    OrderItemRequest, OrderRequest, Source,
};
use creditbot::money::Credits;
use std::ops::Deref;

/// A ledger on a fresh temporary database, removed when dropped (SQLite's: a file in `dir`;
/// PostgreSQL's: a database of the tests' cluster, gone with it, and `dir` stays empty).
pub struct TestLedger<S: Store = AnyStore> {
    pub ledger: Ledger<S>,
    pub dir: tempfile::TempDir,
}

impl<S: Store> Deref for TestLedger<S> {
    type Target = Ledger<S>;
    fn deref(&self) -> &Ledger<S> {
        &self.ledger
    }
}

pub fn ledger() -> TestLedger {
    ledger_with(LedgerSettings::default())
}

pub fn ledger_with(settings: LedgerSettings) -> TestLedger {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(
        &dir.path().join("ledger.db"),
        &DatabaseConfig::default(),
        settings,
    )
    .unwrap();
    TestLedger { ledger, dir }
}

/// Midnight UTC on a day of 2026.
pub fn day(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 0, 0, 0).unwrap()
}

/// The default "now" of the tests.
pub fn now() -> DateTime<Utc> {
    day(11, 26)
}

/// Dollars and cents as minor units: `usd(12_50)` is $12.50.
pub fn usd(cents: i64) -> Credits {
    Credits::from_minor(cents)
}

pub fn admin(key: &str) -> Act {
    Act::new("admin:1", now(), key)
}

pub fn admin_at(key: &str, at: DateTime<Utc>) -> Act {
    Act::new("admin:1", at, key)
}

/// Links `member` to `account` as an admin, with `key` as the change's idempotency key.
pub fn link<S: Store>(ledger: &Ledger<S>, key: &str, member: &str, account: &str) {
    ledger
        .link_member(
            &admin(key),
            &creditbot::ledger::MemberId::new(member),
            &creditbot::ledger::AccountId::new(account),
        )
        .unwrap();
}

/// Opens an account early in the year, so tests may date changes before "now" (the ledger
/// refuses a change dated before its account was opened).
pub fn open<S: Store>(ledger: &Ledger<S>, account: &str) {
    ledger
        .open_account(
            &admin_at(&format!("open:{account}"), day(1, 1)),
            &AccountId::new(account),
            account,
        )
        .unwrap();
}

pub fn grant_request(account: &str, cents: i64, expiry: Expiry) -> GrantRequest {
    GrantRequest {
        account_id: AccountId::new(account),
        amount: usd(cents),
        source: Source::Promotion,
        reason: "test".into(),
        expiry,
    }
}

pub fn digital(sku: &str, cents: i64, quantity: i64) -> OrderItemRequest {
    OrderItemRequest {
        sku: sku.into(),
        title: format!("{sku} (ebook)"),
        kind: ItemKind::Digital,
        unit_price: usd(cents),
        quantity,
    }
}

pub fn physical(sku: &str, cents: i64, quantity: i64) -> OrderItemRequest {
    OrderItemRequest {
        sku: sku.into(),
        title: format!("{sku} (lamp)"),
        kind: ItemKind::Physical,
        unit_price: usd(cents),
        quantity,
    }
}

pub fn order(id: &str, account: &str, items: Vec<OrderItemRequest>) -> OrderRequest {
    OrderRequest {
        external_id: OrderId::new(id),
        account_id: AccountId::new(account),
        items,
        credits: CreditChoice::All,
        other_method: Some("Visa".into()),
    }
}
