//! Typed ids for the ledger's values, so an account id can't be passed where a member id goes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ACCOUNT_ID_MAX;
use crate::error::UserError;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Serialized as the bare string (`#[serde(transparent)]`), so stored results, the
        /// API's JSON and idempotency fingerprints are the same as before it had a type.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id written as given. There is deliberately no `From<&str>` or
            /// `From<String>`: an id is named where it is made (chat parsing, the HTTP wire,
            /// the CLI, an import, a row read back), so `.into()` can never fill an account
            /// id's field with an order id or a member id.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

string_id!(
    /// A shop account's id as written (`ACC-1042`); compared ignoring case by the store.
    AccountId
);
impl AccountId {
    /// `id` as a new account's id, if it is written as one may be: 1 to `ACCOUNT_ID_MAX`
    /// ASCII letters, digits, `-`, `_` or `.` (`ACC-1042`); refused otherwise as
    /// `AccountIdNotValid`, naming what was written. Ids are compared ignoring case, so
    /// `acc-1042` names the same account and can never be a second one; ASCII only, so no
    /// two ids look alike (no Cyrillic "А" beside a Latin "A", no accents written two ways).
    ///
    /// Only a new account's id is checked so: one that exists is looked up as written
    /// (`AccountId::new`), whatever it was allowed to be when it was opened.
    pub fn parse(id: &str) -> Result<AccountId, UserError> {
        let valid = (1..=ACCOUNT_ID_MAX).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Ok(AccountId::new(id))
        } else {
            Err(UserError::AccountIdNotValid(id.to_string()))
        }
    }
}

string_id!(
    /// A Discord member's id (a snowflake, kept as text).
    MemberId
);
string_id!(
    /// The shop's external id for an order (not a database row id).
    OrderId
);
string_id!(
    /// The shop's id for a return of an order (not a database row id). It is also what
    /// makes recording the return idempotent (`IdempotencyKey::order_return`), but it is
    /// the return's name first: receipts and replies show it.
    ReturnId
);

/// A lot's database id, shown to admins as "grant #57".
///
/// The words: in code the stored row is a *lot* (every grant is a lot), so its id is `LotId`
/// and its type `Lot`; "grant" is the act (`Ledger::grant`, `GrantRequest`) and the word
/// members and admins read ("grant #57"). So there is no separate `GrantId`: a grant's
/// number *is* its lot's id, and two names for one key would drift.
///
/// Serialized as the bare number (`#[serde(transparent)]`) and displayed as it (`57`), so
/// stored results, the API's JSON and keys such as `sweep:57:…` are as they were when it
/// was an `i64`. Made from a number only by `LotId::new` (the store, a parsed "#57").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LotId(i64);

impl LotId {
    /// The highest lot number (the end of "every lot" when searching by first digits).
    pub const MAX: LotId = LotId(i64::MAX);

    pub const fn new(id: i64) -> Self {
        LotId(id)
    }

    /// The number, for arithmetic over lot numbers and for binding in SQL.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_serializes_as_its_bare_string() {
        let bare = serde_json::to_string("ACC-1042").unwrap();
        assert_eq!(
            serde_json::to_string(&AccountId::new("ACC-1042")).unwrap(),
            bare
        );
        assert_eq!(
            serde_json::to_string(&MemberId::new("ACC-1042")).unwrap(),
            bare
        );
        assert_eq!(
            serde_json::to_string(&OrderId::new("ACC-1042")).unwrap(),
            bare
        );
        let back: AccountId = serde_json::from_str(&bare).unwrap();
        assert_eq!(back, "ACC-1042");
        assert_eq!(AccountId::new("ACC-1").to_string(), "ACC-1");
    }

    #[test]
    fn an_account_id_parses_only_as_a_new_account_may_be_written() {
        assert_eq!(AccountId::parse("ACC-1042"), Ok(AccountId::new("ACC-1042")));
        assert!(AccountId::parse("a_b.9").is_ok());
        assert!(AccountId::parse(&"A".repeat(ACCOUNT_ID_MAX)).is_ok());
        for refused in ["", " A", "A B", "ACC\u{200B}", "АСС-1", "A\u{030A}"] {
            assert_eq!(
                AccountId::parse(refused),
                Err(UserError::AccountIdNotValid(refused.to_string())),
                "{refused:?}"
            );
        }
        assert!(AccountId::parse(&"A".repeat(ACCOUNT_ID_MAX + 1)).is_err());
    }

    #[test]
    fn a_tuple_of_ids_fingerprints_like_a_tuple_of_strs() {
        // The link operation's idempotency request is (member, account).
        let typed = (&MemberId::new("123"), &AccountId::new("ACC-1"));
        let bare = ("123", "ACC-1");
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&bare).unwrap()
        );
    }

    /// A request's fingerprint hashes its serialized form: with the typed account id it must
    /// be the JSON the same request gave when the field was a bare `String`.
    #[test]
    fn requests_with_typed_ids_serialize_as_they_did_with_strings() {
        use crate::ledger::{
            CreditChoice, Expiry, GrantRequest, ItemKind, OrderItemRequest, OrderRequest,
            ReturnRequest, ReturnScope, Source,
        };
        use crate::money::Credits;

        #[derive(Serialize)]
        struct BareGrant {
            account_id: String,
            amount: Credits,
            source: Source,
            reason: String,
            expiry: Expiry,
        }
        #[derive(Serialize)]
        struct BareOrder {
            external_id: String,
            account_id: String,
            items: Vec<OrderItemRequest>,
            credits: CreditChoice,
            other_method: Option<String>,
        }

        let grant = GrantRequest {
            account_id: AccountId::new("ACC-1042"),
            amount: Credits::from_minor(12_50),
            source: Source::Gift,
            reason: "welcome".into(),
            expiry: Expiry::InDays(30),
        };
        let bare_grant = BareGrant {
            account_id: "ACC-1042".into(),
            amount: grant.amount,
            source: grant.source,
            reason: grant.reason.clone(),
            expiry: grant.expiry,
        };
        assert_eq!(
            serde_json::to_string(&grant).unwrap(),
            serde_json::to_string(&bare_grant).unwrap()
        );

        let items = vec![OrderItemRequest {
            sku: "MUG".into(),
            title: "Mug".into(),
            kind: ItemKind::Physical,
            unit_price: Credits::from_minor(9_00),
            quantity: 2,
        }];
        let order = OrderRequest {
            external_id: OrderId::new("ORD-1"),
            account_id: AccountId::new("ACC-1042"),
            items: items.clone(),
            credits: CreditChoice::All,
            other_method: Some("Visa".into()),
        };
        let bare_order = BareOrder {
            external_id: "ORD-1".into(),
            account_id: "ACC-1042".into(),
            items,
            credits: CreditChoice::All,
            other_method: Some("Visa".into()),
        };
        assert_eq!(
            serde_json::to_string(&order).unwrap(),
            serde_json::to_string(&bare_order).unwrap()
        );
        #[derive(Serialize)]
        struct BareReturn {
            return_id: String,
            order_external_id: String,
            scope: ReturnScope,
            reason: String,
        }
        let ret = ReturnRequest {
            return_id: ReturnId::new("RET-1"),
            order_external_id: OrderId::new("ORD-1"),
            scope: ReturnScope::Whole,
            reason: "broken".into(),
        };
        let bare_ret = BareReturn {
            return_id: "RET-1".into(),
            order_external_id: "ORD-1".into(),
            scope: ReturnScope::Whole,
            reason: "broken".into(),
        };
        assert_eq!(
            serde_json::to_string(&ret).unwrap(),
            serde_json::to_string(&bare_ret).unwrap()
        );
        let back: GrantRequest =
            serde_json::from_str(&serde_json::to_string(&bare_grant).unwrap()).unwrap();
        assert_eq!(back, grant);
    }
}
