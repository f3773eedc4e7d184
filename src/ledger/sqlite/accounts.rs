//! SQL for accounts, member links and link codes.

use super::{SqliteTx, at, ts};
use crate::error::Result;
use crate::ledger::store::{AccountRows, LinkCodeRow};
use crate::ledger::{Account, Link, MemberId};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl AccountRows for SqliteTx<'_> {
    fn account(&mut self, account_id: &str) -> Result<Option<Account>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, display_name, created_at, closed FROM accounts WHERE id = ?1",
            )?
            .query_row([account_id], |r| {
                Ok(Account {
                    id: r.get(0)?,
                    display_name: r.get(1)?,
                    created_at: at(r.get(2)?),
                    closed: r.get(3)?,
                })
            })
            .optional()?)
    }

    fn account_spelled_like(&mut self, account_id: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT id FROM accounts WHERE id = ?1 COLLATE NOCASE LIMIT 1")?
            .query_row([account_id], |r| r.get(0))
            .optional()?)
    }

    fn insert_account(
        &mut self,
        account_id: &str,
        display_name: &str,
        created_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO accounts (id, display_name, created_at) VALUES (?1, ?2, ?3)",
            params![account_id, display_name, ts(created_at)],
        )?;
        Ok(())
    }

    fn mark_account_closed(&mut self, account_id: &str) -> Result<()> {
        self.0
            .execute("UPDATE accounts SET closed = 1 WHERE id = ?1", [account_id])?;
        Ok(())
    }

    fn link_of_member(&mut self, member_id: &str) -> Result<Option<Link>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT member_id, account_id, linked_at FROM links WHERE member_id = ?1",
            )?
            .query_row([member_id], |r| {
                Ok(Link {
                    member_id: r.get(0)?,
                    account_id: r.get(1)?,
                    linked_at: at(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn member_of_account(&mut self, account_id: &str) -> Result<Option<MemberId>> {
        Ok(self
            .0
            .prepare_cached("SELECT member_id FROM links WHERE account_id = ?1")?
            .query_row([account_id], |r| r.get(0))
            .optional()?)
    }

    fn insert_link(
        &mut self,
        member_id: &str,
        account_id: &str,
        linked_at: DateTime<Utc>,
        linked_by: &str,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO links (member_id, account_id, linked_at, linked_by) VALUES (?1, ?2, ?3, ?4)",
            params![member_id, account_id, ts(linked_at), linked_by],
        )?;
        Ok(())
    }

    fn delete_link(&mut self, member_id: &str) -> Result<()> {
        self.0
            .execute("DELETE FROM links WHERE member_id = ?1", [member_id])?;
        Ok(())
    }

    fn previous_member(&mut self, account_id: &str) -> Result<Option<MemberId>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT member_id FROM journal WHERE account_id = ?1 AND kind = 'unlink'
                 ORDER BY at DESC, id DESC LIMIT 1",
            )?
            .query_row([account_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    fn insert_link_code(
        &mut self,
        code_hash: &str,
        account_id: &str,
        created_at: DateTime<Utc>,
        created_by: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO link_codes (code_hash, account_id, created_at, created_by, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                code_hash,
                account_id,
                ts(created_at),
                created_by,
                ts(expires_at)
            ],
        )?;
        Ok(())
    }

    fn link_code(&mut self, code_hash: &str) -> Result<Option<LinkCodeRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT account_id, expires_at, used_at, voided_at FROM link_codes WHERE code_hash = ?1",
                [code_hash],
                |r| {
                    Ok(LinkCodeRow {
                        account_id: r.get(0)?,
                        expires_at: at(r.get(1)?),
                        used_at: r.get::<_, Option<i64>>(2)?.map(at),
                        voided_at: r.get::<_, Option<i64>>(3)?.map(at),
                    })
                },
            )
            .optional()?)
    }

    fn mark_link_code_used(
        &mut self,
        code_hash: &str,
        used_at: DateTime<Utc>,
        used_by: &str,
    ) -> Result<()> {
        self.0.execute(
            "UPDATE link_codes SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3",
            params![ts(used_at), used_by, code_hash],
        )?;
        Ok(())
    }

    fn void_link_codes(&mut self, account_id: &str, voided_at: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE link_codes SET voided_at = ?1 WHERE account_id = ?2 AND used_at IS NULL AND voided_at IS NULL",
            params![ts(voided_at), account_id],
        )?;
        Ok(())
    }
}
