//! Typed ids for the ledger's values, so an account id can't be passed where a member id goes.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    };
}

string_id!(
    /// A shop account's id as written (`ACC-1042`); compared ignoring case by the store.
    AccountId
);
string_id!(
    /// A Discord member's id (a snowflake, kept as text).
    MemberId
);
string_id!(
    /// The shop's external id for an order (not a database row id).
    OrderId
);

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
    fn a_tuple_of_ids_fingerprints_like_a_tuple_of_strs() {
        // The link operation's idempotency request is (member, account).
        let typed = (&MemberId::new("123"), &AccountId::new("ACC-1"));
        let bare = ("123", "ACC-1");
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&bare).unwrap()
        );
    }
}
