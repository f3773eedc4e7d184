//! Accounts, member links and link codes, as rows.

use crate::error::Result;
use crate::ledger::{Account, AccountId, Link, MemberId};
use chrono::{DateTime, Utc};

/// A stored link code (only its hash is kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkCodeRow {
    pub account_id: AccountId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

pub trait AccountRows {
    /// The account with exactly this id.
    fn account(&mut self, account_id: &str) -> Result<Option<Account>>;
    /// The id of an account spelled like `account_id` ignoring case (a look-alike), if any.
    fn account_spelled_like(&mut self, account_id: &str) -> Result<Option<String>>;
    fn insert_account(
        &mut self,
        account_id: &str,
        display_name: &str,
        created_at: DateTime<Utc>,
    ) -> Result<()>;
    fn mark_account_closed(&mut self, account_id: &str) -> Result<()>;

    /// The link of a member, if linked.
    fn link_of_member(&mut self, member_id: &str) -> Result<Option<Link>>;
    /// The member linked to an account, if any.
    fn member_of_account(&mut self, account_id: &str) -> Result<Option<MemberId>>;
    fn insert_link(
        &mut self,
        member_id: &str,
        account_id: &str,
        linked_at: DateTime<Utc>,
        linked_by: &str,
    ) -> Result<()>;
    fn delete_link(&mut self, member_id: &str) -> Result<()>;
    /// The member of the account's latest `unlink` journal entry, if any.
    fn previous_member(&mut self, account_id: &str) -> Result<Option<MemberId>>;

    fn insert_link_code(
        &mut self,
        code_hash: &str,
        account_id: &str,
        created_at: DateTime<Utc>,
        created_by: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    fn link_code(&mut self, code_hash: &str) -> Result<Option<LinkCodeRow>>;
    fn mark_link_code_used(
        &mut self,
        code_hash: &str,
        used_at: DateTime<Utc>,
        used_by: &str,
    ) -> Result<()>;
    /// Voids every code of the account not used or voided yet.
    fn void_link_codes(&mut self, account_id: &str, voided_at: DateTime<Utc>) -> Result<()>;
}
