//! Demo data: one linked member with grants, expiries, an order and a return, so every
//! command has something to show. Idempotent (fixed keys), and dated relative to `now`.

use chrono::{DateTime, Duration, Utc};

use crate::error::Result;
use crate::ledger::{
    AccountId, Act, CreditChoice, Expiry, GrantRequest, ItemKind, Ledger, MemberId, OrderId,
    OrderItemRequest, OrderRequest, ReturnId, ReturnRequest, ReturnScope, Source,
};
use crate::money::Credits;

/// The demo member (the console's default user) and their account.
pub const DEMO_MEMBER: &str = "alice";
pub const DEMO_ACCOUNT: &str = "ACC-1042";

/// Seeds the demo account. Running it again changes nothing.
pub fn seed(ledger: &Ledger, now: DateTime<Utc>) -> Result<()> {
    let days = |n: i64| now + Duration::days(n);
    let admin = |key: &str, at: DateTime<Utc>| Act::new("demo", at, format!("demo:{key}"));
    let cents = Credits::from_minor;
    let account = AccountId::new(DEMO_ACCOUNT);
    ledger.open_account(&admin("open", days(-90)), &account, "Alice Example")?;
    ledger.link_member(
        &admin("link", days(-90)),
        &MemberId::new(DEMO_MEMBER),
        &account,
    )?;
    let grant = |key: &str, at, amount, source, reason: &str, expiry| {
        ledger.grant(
            &admin(key, at),
            &GrantRequest {
                account_id: account.clone(),
                amount,
                source,
                reason: reason.into(),
                expiry,
            },
        )
    };
    grant(
        "autumn",
        days(-60),
        cents(8_00),
        Source::Promotion,
        "autumn promotion",
        Expiry::At(days(-10)),
    )?;
    grant(
        "birthday",
        days(-50),
        cents(12_50),
        Source::Gift,
        "birthday gift from Sam",
        Expiry::At(days(216)),
    )?;
    grant(
        "sorry",
        days(-40),
        cents(5_00),
        Source::Goodwill,
        "sorry for the late download",
        Expiry::Never,
    )?;
    // Bought with the autumn promotion, returned after it had expired: a refund lot.
    ledger.record_order(
        "demo",
        days(-45),
        &order(
            "7702",
            vec![item(
                "ambient-album",
                "Ambient Sounds (album)",
                ItemKind::Digital,
                8_00,
            )],
        ),
    )?;
    grant(
        "black-friday",
        days(-20),
        cents(20_00),
        Source::Promotion,
        "Black Friday promotion",
        Expiry::At(days(16)),
    )?;
    ledger.record_return(
        "demo",
        days(-3),
        &ReturnRequest {
            return_id: ReturnId::new("R-7702"),
            order_external_id: OrderId::new("7702"),
            scope: ReturnScope::Whole,
            reason: "didn't like it".into(),
        },
    )?;
    ledger.record_order(
        "demo",
        days(-2),
        &order(
            "7781",
            vec![
                item(
                    "hobbit-ebook",
                    "The Hobbit (ebook)",
                    ItemKind::Digital,
                    9_99,
                ),
                item(
                    "reading-lamp",
                    "Reading lamp (physical)",
                    ItemKind::Physical,
                    24_99,
                ),
            ],
        ),
    )?;
    ledger.sweep_expired("demo", now)?;
    Ok(())
}

fn item(sku: &str, title: &str, kind: ItemKind, cents: i64) -> OrderItemRequest {
    OrderItemRequest {
        sku: sku.into(),
        title: title.into(),
        kind,
        unit_price: Credits::from_minor(cents),
        quantity: 1,
    }
}

fn order(id: &str, items: Vec<OrderItemRequest>) -> OrderRequest {
    OrderRequest {
        external_id: OrderId::new(id),
        account_id: AccountId::new(DEMO_ACCOUNT),
        items,
        credits: CreditChoice::All,
        other_method: Some("Visa".into()),
    }
}
