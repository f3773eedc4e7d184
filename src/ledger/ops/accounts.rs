//! Accounts, member links and link codes: opening and closing accounts, linking and unlinking
//! members (one member per account, one account per member), issuing and redeeming codes.

use super::Ledger;
use super::checks::{check_id, check_optional_text, check_text, or_default};
use super::journal::Journal;
use crate::error::{Error, Field, Result, UserError};
use crate::ledger::store::Entry;
use crate::ledger::store::prelude::*;
use crate::ledger::{Account, AccountId, Act, IssuedLinkCode, JournalKind, Link, MemberId};
use chrono::Duration;
use sha2::{Digest, Sha256};

impl<S: Store> Ledger<S> {
    /// Creates an account, or returns it if it exists already.
    pub fn open_account(
        &self,
        act: &Act,
        account_id: &AccountId,
        display_name: &str,
    ) -> Result<Account> {
        let account_id = account_id.as_str();
        check_id(Field::AccountId, account_id)?;
        check_optional_text(Field::DisplayName, display_name)?;
        let request = (account_id, display_name);
        self.keyed(
            "open_account",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| ensure_account(tx, journal, account_id, display_name),
        )
    }

    /// Closes an account: it keeps its history, but can no longer receive or spend credits.
    pub fn close_account(
        &self,
        act: &Act,
        account_id: &AccountId,
        reason: &str,
    ) -> Result<Account> {
        let account_id = account_id.as_str();
        check_text(Field::Reason, reason)?;
        self.keyed(
            "close",
            act,
            &(account_id, reason),
            UserError::IdempotencyConflict,
            |tx, journal| {
                if account(tx, account_id)?.closed {
                    return Err(UserError::AccountClosed(account_id.to_string()).into());
                }
                tx.mark_account_closed(account_id)?;
                journal.write(tx, Entry::new(JournalKind::Close, account_id, reason))?;
                account(tx, account_id)
            },
        )
    }

    /// Links a member to an account, created if it does not exist yet (setup, the demo and
    /// imports, which name accounts the shop already has). Admins in chat use
    /// `link_member_to`, which creates one only when asked to.
    pub fn link_member(
        &self,
        act: &Act,
        member_id: &MemberId,
        account_id: &AccountId,
    ) -> Result<Link> {
        self.link_member_to(act, member_id, account_id, true)
    }

    /// Links a member to an account. Without `create`, an account that doesn't exist is
    /// refused (`UnknownAccount`), so a typing slip never opens a new, empty account.
    pub fn link_member_to(
        &self,
        act: &Act,
        member_id: &MemberId,
        account_id: &AccountId,
        create: bool,
    ) -> Result<Link> {
        let (member_id, account_id) = (member_id.as_str(), account_id.as_str());
        check_id(Field::Member, member_id)?;
        check_id(Field::AccountId, account_id)?;
        let request = (member_id, account_id);
        self.keyed(
            "link",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                if create {
                    ensure_account(tx, journal, account_id, account_id)?;
                }
                link(
                    tx,
                    journal,
                    member_id,
                    account_id,
                    "linked by an admin",
                    false,
                )
            },
        )
    }

    /// Drops a member's link. The account and its credits stay.
    pub fn unlink_member(&self, act: &Act, member_id: &MemberId, reason: &str) -> Result<Link> {
        let member_id = member_id.as_str();
        check_id(Field::Member, member_id)?;
        check_optional_text(Field::Reason, reason)?;
        let request = (member_id, reason);
        self.keyed(
            "unlink",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                let link = tx
                    .link_of_member(member_id)?
                    .ok_or(UserError::MemberNotLinked)?;
                tx.delete_link(member_id)?;
                journal.write(
                    tx,
                    Entry::new(
                        JournalKind::Unlink,
                        link.account_id.as_str(),
                        or_default(reason, "unlinked"),
                    )
                    .member(member_id),
                )?;
                Ok(link)
            },
        )
    }

    /// Issues a single-use link code for an account; only its hash is stored.
    pub fn issue_link_code(&self, act: &Act, account_id: &AccountId) -> Result<IssuedLinkCode> {
        let code = new_link_code()?;
        let expires_at = act.now + Duration::hours(i64::from(self.settings.link_code_ttl_hours));
        // The plain code is never stored, so a replay can't return it: it is refused instead.
        let issued: String = self.keyed(
            "link_code",
            act,
            // Fingerprinted as the bare id it was before it had a type.
            &account_id.as_str(),
            UserError::IdempotencyConflict,
            |tx, journal| {
                require_open_account(tx, account_id.as_str())?;
                // Whoever redeems a code sees the account's history: while a member holds
                // the account, a code would hand it to someone else once they unlink.
                if tx.member_of_account(account_id.as_str())?.is_some() {
                    return Err(UserError::CodeForLinkedAccount(account_id.to_string()).into());
                }
                tx.insert_link_code(
                    &hash_link_code(&code),
                    account_id.as_str(),
                    act.now,
                    &act.actor,
                    expires_at,
                )?;
                journal.write(
                    tx,
                    Entry::new(
                        JournalKind::LinkCode,
                        account_id.as_str(),
                        "link code issued",
                    ),
                )?;
                Ok(hash_link_code(&code))
            },
        )?;
        if issued != hash_link_code(&code) {
            return Err(UserError::LinkCodeAlreadyIssued.into());
        }
        Ok(IssuedLinkCode {
            code,
            account_id: account_id.clone(),
            expires_at,
        })
    }

    /// A member redeems a link code: it links them to the code's account and is used up.
    pub fn redeem_link_code(&self, act: &Act, member_id: &MemberId, code: &str) -> Result<Link> {
        let member_id = member_id.as_str();
        let hash = hash_link_code(code);
        let request = (member_id, &hash);
        self.keyed(
            "redeem",
            act,
            &request,
            UserError::IdempotencyConflict,
            |tx, journal| {
                let found = tx.link_code(&hash)?.ok_or(UserError::LinkCodeUnknown)?;
                if found.used_at.is_some() {
                    return Err(UserError::LinkCodeUsed.into());
                }
                if found.voided_at.is_some() {
                    return Err(UserError::LinkCodeVoided.into());
                }
                if found.expires_at <= act.now {
                    return Err(UserError::LinkCodeExpired.into());
                }
                // Used up before linking, which voids the account's other open codes.
                tx.mark_link_code_used(&hash, act.now, member_id)?;
                link(
                    tx,
                    journal,
                    member_id,
                    found.account_id.as_str(),
                    "redeemed a link code",
                    true,
                )
            },
        )
    }

    /// The account a member is linked to, if any.
    pub fn account_for_member(&self, member_id: &MemberId) -> Result<Option<Account>> {
        self.store
            .read(|tx| match tx.link_of_member(member_id.as_str())? {
                Some(link) => Ok(Some(account(tx, link.account_id.as_str())?)),
                None => Ok(None),
            })
    }

    /// The member linked to an account, if any.
    pub fn member_for_account(&self, account_id: &AccountId) -> Result<Option<MemberId>> {
        self.store
            .read(|tx| tx.member_of_account(account_id.as_str()))
    }

    /// The member who most recently unlinked from an account, if any did.
    pub fn previous_member(&self, account_id: &AccountId) -> Result<Option<MemberId>> {
        self.store
            .read(|tx| tx.previous_member(account_id.as_str()))
    }

    pub fn account(&self, account_id: &AccountId) -> Result<Account> {
        self.store.read(|tx| account(tx, account_id.as_str()))
    }
}

/// The account `account_id`, or the refusal naming it: unknown, or a look-alike of one.
pub(super) fn account(tx: &mut (impl StoreTx + ?Sized), account_id: &str) -> Result<Account> {
    if let Some(found) = tx.account(account_id)? {
        return Ok(found);
    }
    // Account ids are compared ignoring case: `acc-2001` beside `ACC-2001` is refused naming
    // the one that exists, never taken for a different (or a new) account. Only on a miss,
    // so the primary key serves every ordinary lookup.
    Err(match tx.account_spelled_like(account_id)? {
        Some(existing) => UserError::AccountLookAlike {
            typed: account_id.to_string(),
            existing,
        },
        None => UserError::UnknownAccount(account_id.to_string()),
    }
    .into())
}

pub(super) fn require_account(tx: &mut (impl StoreTx + ?Sized), account_id: &str) -> Result<()> {
    account(tx, account_id).map(|_| ())
}

pub(super) fn require_open_account(
    tx: &mut (impl StoreTx + ?Sized),
    account_id: &str,
) -> Result<()> {
    if account(tx, account_id)?.closed {
        return Err(UserError::AccountClosed(account_id.to_string()).into());
    }
    Ok(())
}

fn ensure_account(
    tx: &mut (impl StoreTx + ?Sized),
    journal: &mut Journal,
    account_id: &str,
    display_name: &str,
) -> Result<Account> {
    if let Some(existing) = account(tx, account_id)
        .map(Some)
        .or_else(|e| match e.as_user() {
            Some(UserError::UnknownAccount(_)) => Ok(None),
            _ => Err(e),
        })?
    {
        return Ok(existing);
    }
    let account_id = AccountId::parse(account_id)?;
    let account_id = account_id.as_str();
    let name = or_default(display_name, account_id);
    tx.insert_account(account_id, name, journal.act.now)?;
    journal.write(
        tx,
        Entry::new(JournalKind::Open, account_id, "account opened"),
    )?;
    account(tx, account_id)
}

/// Links `member_id` to `account_id`, enforcing one account per member and one member per
/// account. Linking a member again to the account they already have is a no-op.
fn link(
    tx: &mut (impl StoreTx + ?Sized),
    journal: &mut Journal,
    member_id: &str,
    account_id: &str,
    reason: &str,
    by_member: bool,
) -> Result<Link> {
    if let Some(existing) = tx.link_of_member(member_id)? {
        if existing.account_id == *account_id {
            return Ok(existing);
        }
        return Err(if by_member {
            UserError::AlreadyLinked(existing.account_id.into_string())
        } else {
            UserError::MemberAlreadyLinked(existing.account_id.into_string())
        }
        .into());
    }
    // A closed account takes no new member, whether an admin links it or a code does.
    require_open_account(tx, account_id)?;
    if tx.member_of_account(account_id)?.is_some() {
        return Err(UserError::AccountAlreadyLinked(account_id.to_string()).into());
    }
    // Codes made before this link are void: one redeemed after this member unlinks would
    // show its redeemer this member's history.
    tx.void_link_codes(account_id, journal.act.now)?;
    tx.insert_link(member_id, account_id, journal.act.now, &journal.act.actor)?;
    journal.write(
        tx,
        Entry::new(JournalKind::Link, account_id, reason).member(member_id),
    )?;
    Ok(Link {
        member_id: MemberId::new(member_id),
        account_id: AccountId::new(account_id),
        linked_at: journal.act.now,
    })
}

/// Link codes look like `K7QM-3XHD`: 8 characters from an alphabet without look-alikes
/// (no 0/O, 1/I/L), about 40 bits, single-use and short-lived.
fn new_link_code() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal("making a link code", e.to_string()))?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// Codes are compared ignoring case, spaces and dashes, so `k7qm 3xhd` redeems `K7QM-3XHD`.
fn hash_link_code(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}
