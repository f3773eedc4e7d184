//! SQL for accounts, member links and link codes.

use super::{PgTx, ts};
use crate::error::Result;
use crate::ledger::store::{AccountRows, LinkCodeRow};
use crate::ledger::{Account, AccountId, Link, MemberId};
use chrono::{DateTime, Utc};

impl AccountRows for PgTx<'_> {
    fn account(&mut self, account_id: &str) -> Result<Option<Account>> {
        self.opt(
            "SELECT id, display_name, created_at, closed FROM accounts WHERE id = $1",
            &[&account_id],
            |r| {
                Ok(Account {
                    id: r.try_get(0)?,
                    display_name: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    closed: r.try_get(3)?,
                })
            },
        )
    }

    /// Case folded as SQLite's `COLLATE NOCASE` folds it: ASCII letters only (`ascii_lower`).
    fn account_spelled_like(&mut self, account_id: &str) -> Result<Option<String>> {
        self.opt(
            "SELECT id FROM accounts WHERE ascii_lower(id) = ascii_lower($1) LIMIT 1",
            &[&account_id],
            |r| r.try_get(0),
        )
    }

    fn insert_account(
        &mut self,
        account_id: &str,
        display_name: &str,
        created_at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO accounts (id, display_name, created_at) VALUES ($1, $2, $3)",
            &[&account_id, &display_name, &ts(created_at)],
        )?;
        Ok(())
    }

    fn mark_account_closed(&mut self, account_id: &str) -> Result<()> {
        self.exec(
            "UPDATE accounts SET closed = true WHERE id = $1",
            &[&account_id],
        )?;
        Ok(())
    }

    fn link_of_member(&mut self, member_id: &str) -> Result<Option<Link>> {
        self.opt(
            "SELECT member_id, account_id, linked_at FROM links WHERE member_id = $1",
            &[&member_id],
            |r| {
                Ok(Link {
                    member_id: MemberId::new(r.try_get::<_, String>(0)?),
                    account_id: AccountId::new(r.try_get::<_, String>(1)?),
                    linked_at: r.try_get(2)?,
                })
            },
        )
    }

    fn member_of_account(&mut self, account_id: &str) -> Result<Option<MemberId>> {
        self.opt(
            "SELECT member_id FROM links WHERE account_id = $1",
            &[&account_id],
            |r| r.try_get(0),
        )
    }

    fn insert_link(
        &mut self,
        member_id: &str,
        account_id: &str,
        linked_at: DateTime<Utc>,
        linked_by: &str,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO links (member_id, account_id, linked_at, linked_by) VALUES ($1, $2, $3, $4)",
            &[&member_id, &account_id, &ts(linked_at), &linked_by],
        )?;
        Ok(())
    }

    fn delete_link(&mut self, member_id: &str) -> Result<()> {
        self.exec("DELETE FROM links WHERE member_id = $1", &[&member_id])?;
        Ok(())
    }

    fn previous_member(&mut self, account_id: &str) -> Result<Option<MemberId>> {
        let member = self.opt(
            "SELECT member_id FROM journal WHERE account_id = $1 AND kind = 'unlink'
             ORDER BY at DESC, id DESC LIMIT 1",
            &[&account_id],
            |r| r.try_get::<_, Option<MemberId>>(0),
        )?;
        Ok(member.flatten())
    }

    fn insert_link_code(
        &mut self,
        code_hash: &str,
        account_id: &str,
        created_at: DateTime<Utc>,
        created_by: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO link_codes (code_hash, account_id, created_at, created_by, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &code_hash,
                &account_id,
                &ts(created_at),
                &created_by,
                &ts(expires_at),
            ],
        )?;
        Ok(())
    }

    fn link_code(&mut self, code_hash: &str) -> Result<Option<LinkCodeRow>> {
        self.opt(
            "SELECT account_id, expires_at, used_at, voided_at FROM link_codes WHERE code_hash = $1",
            &[&code_hash],
            |r| {
                Ok(LinkCodeRow {
                    account_id: r.try_get(0)?,
                    expires_at: r.try_get(1)?,
                    used_at: r.try_get(2)?,
                    voided_at: r.try_get(3)?,
                })
            },
        )
    }

    fn mark_link_code_used(
        &mut self,
        code_hash: &str,
        used_at: DateTime<Utc>,
        used_by: &str,
    ) -> Result<()> {
        self.exec(
            "UPDATE link_codes SET used_at = $1, used_by = $2 WHERE code_hash = $3",
            &[&ts(used_at), &used_by, &code_hash],
        )?;
        Ok(())
    }

    fn void_link_codes(&mut self, account_id: &str, voided_at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE link_codes SET voided_at = $1
             WHERE account_id = $2 AND used_at IS NULL AND voided_at IS NULL",
            &[&ts(voided_at), &account_id],
        )?;
        Ok(())
    }
}
