//! The admin commands (`/admin …`), each carried out for an asker whose admin rights
//! `Assistant::run` has already checked: grants, revokes, expiry changes, links, link codes,
//! returns, an account's figures and history, the FAQ's unanswered questions and the
//! reminders' status. Their words come from `text`, their cards from `cards`.

use chrono::{DateTime, Duration, Utc};

use super::cards::{self, HISTORY_PER_PAGE, Viewer};
use super::{AccountOf, AdminCommand, Assistant, Reply, Request, Style, confirm, text};
use crate::error::{Error, ItemName, Result, UserError};
use crate::grammar::parse_expiry;
use crate::ledger::{
    Account, AccountId, Act, Expiry, GrantRequest, IdempotencyKey, ItemBreakdown, Lot, LotReceipt,
    MemberId, OrderBreakdown, OrderId, ReturnId, ReturnLine, ReturnRequest, ReturnScope,
};
use crate::money::{AmountSyntax, Credits};

impl Assistant {
    /// Carries out an admin command; `confirmed` when the admin has just accepted its
    /// confirmation (then it asks no more).
    pub(super) fn run_admin(
        &self,
        request: &Request,
        command: AdminCommand,
        confirmed: bool,
    ) -> Result<Reply> {
        let style = self.style(request);
        let now = request.now;
        let currency = self.ledger.currency();
        let act = |kind: &str| {
            Act::new(
                request.who.user_id.clone(),
                now,
                IdempotencyKey::chat(kind, &request.id),
            )
        };
        match command {
            AdminCommand::Grant {
                member,
                amount,
                expires,
                source,
                reason,
                note,
            } => {
                let amount = currency.parse_grant(&amount, AmountSyntax::Typed)?;
                let expiry = parse_expiry(expires.as_deref(), now)?.unwrap_or(Expiry::Default);
                let account = self.member_account(&member, style)?;
                check_note(note.as_deref())?;
                let reason = reason.unwrap_or_else(|| source.as_str().to_string());
                // A retried request replays what it did, without asking again.
                if !confirmed && !self.ledger.has_operation(&act("grant").key)? {
                    let member_name = style.member(&member);
                    if amount > self.confirm.grant_above {
                        return self.ask(
                            request,
                            text::confirm_large_grant(
                                &currency.format(amount),
                                &member_name,
                                &currency.format(self.confirm.grant_above),
                            ),
                            text::GRANT_BUTTONS,
                        );
                    }
                    let since = now - confirm::repeat_window();
                    if let Some(earlier) =
                        self.ledger
                            .recent_grant_like(&account.id, amount, &reason, since)?
                    {
                        return self.ask(
                            request,
                            text::confirm_repeat_grant(
                                &currency.format(amount),
                                &reason,
                                &member_name,
                                earlier.id,
                                (now - earlier.granted_at).num_minutes(),
                            ),
                            text::REPEAT_GRANT_BUTTONS,
                        );
                    }
                }
                let receipt = self.ledger.grant_with_receipt(
                    &act("grant"),
                    &GrantRequest {
                        account_id: account.id.clone(),
                        amount,
                        source,
                        reason: reason.clone(),
                        expiry,
                    },
                )?;
                self.add_note(&act("grant"), note.as_deref())?;
                let lot = &receipt.lot;
                let member = style.member(&member);
                Ok(Reply::private(format!(
                    "{}\n{}",
                    text::granted(
                        &currency.format(lot.amount),
                        &reason,
                        &member,
                        lot.expires_at.map(|at| style.date(at)).as_deref(),
                        lot.id,
                        &currency.format(self.balance_after(&receipt, now)?),
                    ),
                    text::who_reads_what(&member, &reason, note.as_deref()),
                )))
            }
            AdminCommand::Revoke {
                grant,
                reason,
                member,
                note,
            } => {
                let before = self.ledger.lot(grant)?;
                self.check_grant_member(&before, member.as_deref(), style)?;
                check_note(note.as_deref())?;
                // A retried request replays what it did, without checking or asking again.
                if !self.ledger.has_operation(&act("revoke").key)? {
                    // Expired credit counts as nothing left whether or not a sweep has
                    // written it off yet, so whether this asks first never depends on when
                    // the sweep ran.
                    if !before.remaining.is_positive() || !before.is_live(now) {
                        return Err(UserError::GrantNothingLeft(grant.get()).into());
                    }
                    if !confirmed && before.remaining > self.confirm.revoke_above {
                        return self.ask(
                            request,
                            text::confirm_large_revoke(
                                grant,
                                &currency.format(before.remaining),
                                &self.holder_of(&before.account_id, style)?,
                                &currency.format(self.confirm.revoke_above),
                            ),
                            text::REVOKE_BUTTONS,
                        );
                    }
                }
                // The figures come from the revoke's own transaction: an order landing
                // between a read and the revoke can't make the reply misstate them.
                let receipt = self.ledger.revoke(&act("revoke"), grant, &reason)?;
                self.add_note(&act("revoke"), note.as_deref())?;
                let account = &receipt.lot.account_id;
                Ok(Reply::private(format!(
                    "{}\n{}",
                    text::revoked(
                        grant,
                        &currency.format(receipt.taken()),
                        &reason,
                        account.as_str(),
                        &currency.format(self.balance_after(&receipt, now)?),
                    ),
                    text::who_reads_what(
                        &self.holder_of(account, style)?,
                        reason.trim(),
                        note.as_deref()
                    ),
                )))
            }
            AdminCommand::Expiry {
                grant,
                date,
                reason,
                member,
                note,
            } => {
                let expiry = parse_expiry(Some(&date), now)?
                    .ok_or(UserError::DateNotReadable(date.clone()))?;
                let expires_at = match expiry {
                    Expiry::Never => None,
                    Expiry::At(at) => Some(at),
                    Expiry::InDays(days) => Some(now + Duration::days(i64::from(days))),
                    Expiry::Default => unreachable!("parse_expiry never gives Default"),
                };
                let before = self.ledger.lot(grant)?;
                self.check_grant_member(&before, member.as_deref(), style)?;
                self.check_expiry_can_change(&before, now, style)?;
                check_note(note.as_deref())?;
                let receipt =
                    self.ledger
                        .change_expiry(&act("expiry"), grant, expires_at, &reason)?;
                // What the date was and is, as the change itself saw them.
                let (lot, was) = (&receipt.lot, receipt.before.as_ref().unwrap_or(&before));
                self.add_note(&act("expiry"), note.as_deref())?;
                let holder = self.holder_of(&lot.account_id, style)?;
                let mut lines = vec![text::expiry_changed(
                    grant,
                    was.expires_at,
                    lot.expires_at,
                    style,
                )];
                let shortened = match (was.expires_at, lot.expires_at) {
                    (None, Some(_)) => true,
                    (Some(was), Some(now_at)) => now_at < was,
                    _ => false,
                };
                if shortened {
                    lines.push(text::expiry_shortened(
                        &holder,
                        &currency.format(lot.remaining),
                    ));
                }
                lines.push(text::who_reads_what(
                    &holder,
                    reason.trim(),
                    note.as_deref(),
                ));
                Ok(Reply::private(lines.join("\n")))
            }
            AdminCommand::Link {
                member,
                account,
                create,
            } => {
                let (member_id, account_id) = (MemberId::new(&member), AccountId::new(&account));
                let existed = self.ledger.account(&account_id).is_ok();
                let link = self
                    .ledger
                    .link_member_to(&act("link"), &member_id, &account_id, create)
                    .map_err(|error| match error.as_user() {
                        // A slip must not open an empty account: creating one is asked for.
                        Some(UserError::UnknownAccount(_)) => match AccountId::parse(&account) {
                            Err(not_valid) => not_valid.into(),
                            Ok(_) => UserError::AccountToCreate {
                                account: account.clone(),
                                member: style.member(&member),
                            }
                            .into(),
                        },
                        _ => error,
                    })?;
                Ok(Reply::private(text::linked(
                    &style.member(&member),
                    link.account_id.as_str(),
                    !existed,
                )))
            }
            AdminCommand::Unlink { member } => {
                let link = self.ledger.unlink_member(
                    &act("unlink"),
                    &MemberId::new(&member),
                    text::REASON_UNLINKED_BY_ADMIN,
                )?;
                Ok(Reply::private(text::unlinked_member(
                    &style.member(&member),
                    link.account_id.as_str(),
                )))
            }
            AdminCommand::Code { account } => {
                let issued = self
                    .ledger
                    .issue_link_code(&act("code"), &AccountId::new(account))?;
                let mut reply = text::link_code(
                    issued.account_id.as_str(),
                    &issued.code,
                    &style.date_relative(issued.expires_at, now),
                );
                // The code is refused while a member holds the account; one who held it
                // before left their history on it, and whoever redeems the code reads it.
                if let Some(earlier) = self.ledger.previous_member(&issued.account_id)? {
                    reply.push('\n');
                    reply.push_str(&text::code_shows_earlier_history(
                        issued.account_id.as_str(),
                        &style.member(earlier.as_str()),
                    ));
                }
                Ok(Reply::private(reply))
            }
            AdminCommand::Account { of } => {
                let (account, member) = match of {
                    AccountOf::Member(member) => (
                        self.member_account(&member, style)?,
                        Some(MemberId::new(member)),
                    ),
                    AccountOf::Account(id) => {
                        let account = self.ledger.account(&AccountId::new(id))?;
                        let member = self.ledger.member_for_account(&account.id)?;
                        (account, member)
                    }
                };
                let balance = self.ledger.balance(&account.id, now)?;
                let title = text::account_card_title(
                    account.id.as_str(),
                    member.as_ref().map(|m| style.member(m.as_str())).as_deref(),
                );
                Ok(Reply::card(
                    self.balance_card(
                        &balance,
                        &title,
                        now,
                        style,
                        Viewer::Admin(member.as_ref().map(MemberId::as_str)),
                    ),
                    true,
                ))
            }
            AdminCommand::History { member, page } => {
                let account = self.member_account(&member, style)?;
                let title = text::member_history_title(&style.member(&member), account.id.as_str());
                let next = text::member_history_command(&member);
                Ok(Reply::card(
                    self.history_card(
                        self.ledger
                            .admin_history_at(&account.id, now, page, HISTORY_PER_PAGE)?,
                        &title,
                        &next,
                        style,
                    )?,
                    true,
                ))
            }
            AdminCommand::Return {
                order,
                return_id,
                item,
                quantity,
            } => {
                let scope = match item {
                    Some(typed) => {
                        let breakdown = self
                            .ledger
                            .order_breakdown(&OrderId::new(order.as_str()), now)?;
                        let sku = pick_item(&breakdown, &typed)?.sku.clone();
                        ReturnScope::Items(vec![ReturnLine { sku, quantity }])
                    }
                    None => ReturnScope::Whole,
                };
                let receipt = self.ledger.record_return(
                    &request.who.user_id,
                    now,
                    &ReturnRequest {
                        return_id: ReturnId::new(return_id),
                        order_external_id: OrderId::new(order),
                        scope,
                        reason: text::REASON_RETURN_BY_ADMIN.into(),
                    },
                )?;
                Ok(Reply::private(text::return_recorded(
                    &receipt, currency, style,
                )))
            }
            AdminCommand::Reminders => {
                let last = self.ledger.last_reminder_run()?;
                let settings = &self.reminders;
                let every = chrono::Duration::from_std(settings.every).unwrap_or_default();
                let next = last.as_ref().map(|run| (run.started_at + every).max(now));
                let due = crate::reminders::plan_run(&self.ledger, settings, now)?;
                Ok(Reply::private(crate::reminders::text::admin_status(
                    last.as_ref(),
                    next,
                    due.messages.len(),
                    settings.enabled,
                    &settings.days_before,
                    style,
                    now,
                )))
            }
            AdminCommand::Unanswered => {
                let rows = self.ledger.unanswered(50)?;
                if rows.is_empty() {
                    return Ok(Reply::private(text::NO_UNANSWERED));
                }
                Ok(Reply::card(cards::unanswered_card(&rows, style), true))
            }
        }
    }

    /// What the account could spend right after a change, from the change's receipt (a
    /// grant first written by a batch import stored none: then it is read now).
    fn balance_after(&self, receipt: &LotReceipt, now: DateTime<Utc>) -> Result<Credits> {
        match receipt.balance_after {
            Some(balance) => Ok(balance),
            None => Ok(self.ledger.balance(&receipt.lot.account_id, now)?.available),
        }
    }

    /// Refuses an expiry change that could give the member nothing: on a grant that was
    /// revoked, has expired (expired credit stays expired), or has nothing left.
    fn check_expiry_can_change(&self, lot: &Lot, now: DateTime<Utc>, style: Style) -> Result<()> {
        let currency = self.ledger.currency();
        if lot.revoked {
            return Err(UserError::ExpiryOfRevokedGrant(lot.id.get()).into());
        }
        if let Some(expired_at) = lot.expires_at.filter(|_| !lot.is_live(now)) {
            // Swept or not: what the sweep wrote off, plus what it hasn't reached yet.
            let lost = self.ledger.expired_from_lot(lot)? + lot.remaining;
            if lost.is_positive() {
                let member = self
                    .ledger
                    .member_for_account(&lot.account_id)?
                    .map_or("…".to_string(), |m| style.member(m.as_str()));
                return Err(UserError::ExpiryOfExpiredGrant {
                    grant: lot.id.get(),
                    expired_on: style.date(expired_at),
                    lost: currency.format(lost),
                    regrant: text::regrant_command(&member, &currency.to_decimal(lost).to_string()),
                }
                .into());
            }
        }
        if !lot.remaining.is_positive() {
            return Err(UserError::ExpiryOfEmptyGrant(lot.id.get()).into());
        }
        Ok(())
    }

    /// Writes an admin's note on the change just made under `act`, if they gave one.
    fn add_note(&self, act: &Act, note: Option<&str>) -> Result<()> {
        match note {
            Some(note) => self.ledger.add_note(act, note),
            None => Ok(()),
        }
    }

    /// The member holding an account as the admin reads it, or "The member" when none does.
    fn holder_of(&self, account_id: &AccountId, style: Style) -> Result<String> {
        Ok(self.ledger.member_for_account(account_id)?.map_or_else(
            || text::THE_MEMBER.to_string(),
            |m| style.member(m.as_str()),
        ))
    }

    /// When the admin named whose grant it is, refuses a grant of anyone else's.
    fn check_grant_member(&self, lot: &Lot, member: Option<&str>, style: Style) -> Result<()> {
        let Some(member) = member else {
            return Ok(());
        };
        if self.member_account(member, style)?.id != lot.account_id {
            return Err(UserError::GrantOfAnotherMember {
                grant: lot.id.get(),
                member: style.member(member),
            }
            .into());
        }
        Ok(())
    }

    fn member_account(&self, member: &str, style: Style) -> Result<Account> {
        self.ledger
            .account_for_member(&MemberId::new(member))?
            .ok_or_else(|| UserError::MemberHasNoAccount(style.member(member)).into())
    }
}

/// Words a refusal for an admin where the member's wording would mislead them (an unknown
/// order's "/order lists your recent orders" names the admin's own orders).
pub(super) fn to_admin_refusal(error: Error) -> Error {
    match error {
        Error::User(UserError::UnknownOrder(order)) => {
            UserError::UnknownOrderForAdmin(order).into()
        }
        other => other,
    }
}

/// Which item of an order an admin means by `typed`: its id (SKU), else its title, each
/// ignoring case; else the one item whose id or title contains it. None or several are
/// refused listing the order's items, so the admin can pick.
fn pick_item<'a>(order: &'a OrderBreakdown, typed: &str) -> Result<&'a ItemBreakdown, UserError> {
    let wanted = typed.trim().to_lowercase();
    let items = &order.items;
    let exact = |f: fn(&ItemBreakdown) -> &str| {
        items
            .iter()
            .find(|item| f(item) == typed.trim())
            .or_else(|| items.iter().find(|item| f(item).to_lowercase() == wanted))
    };
    if let Some(item) = exact(|i| &i.sku).or_else(|| exact(|i| &i.title)) {
        return Ok(item);
    }
    let partial: Vec<_> = items
        .iter()
        .filter(|i| {
            i.sku.to_lowercase().contains(&wanted) || i.title.to_lowercase().contains(&wanted)
        })
        .collect();
    let named = |items: &[&ItemBreakdown]| {
        items
            .iter()
            .map(|i| ItemName {
                sku: i.sku.clone(),
                title: i.title.clone(),
            })
            .collect()
    };
    match partial.as_slice() {
        [one] => Ok(one),
        [] => Err(UserError::UnknownItemForAdmin {
            order: order.external_id.to_string(),
            item: typed.trim().to_string(),
            items: named(&items.iter().collect::<Vec<_>>()),
        }),
        several => Err(UserError::ItemAmbiguous {
            order: order.external_id.to_string(),
            item: typed.trim().to_string(),
            items: named(several),
        }),
    }
}

/// Refuses an unusable note before anything is changed (the note is written after the change).
fn check_note(note: Option<&str>) -> Result<(), UserError> {
    note.map_or(Ok(()), crate::ledger::store::check_note)
}
