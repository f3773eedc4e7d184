//! The assistant: `handle(Request) -> Reply` for every transport. It parses commands, checks
//! admin rights (from the config, for every admin command), applies the privacy rule (a
//! member's figures only in private places), calls the ledger and the FAQ, and turns errors
//! into replies in exactly one place (`Assistant::error_reply`).
//!
//! It must not import serenity, axum or anything that talks to a network: the console,
//! Discord and HTTP all speak to it through `Request` and `Reply`. It calls SQLite through
//! the ledger synchronously, so async transports call it from `spawn_blocking`.

mod answers;
pub mod command;
pub mod confirm;
pub mod reply;
pub mod suggest;
pub mod text;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::error::{Error, ItemName, Reference, Result, UserError};
use crate::faq::{self, Faq};
pub use crate::grammar::parse_expiry;
use crate::ledger::{
    Account, Act, Balance, Expiry, GrantRequest, HistoryPage, IdempotencyKey, Ledger, LotReceipt,
    ReturnLine, ReturnRequest, ReturnScope, is_account_id,
};
use crate::money::{AmountSyntax, Credits};
pub use command::{AccountOf, AdminCommand, COMMANDS, Command, CommandSpec};
pub use confirm::ConfirmSettings;
pub use reply::{COLOUR_INFO, COLOUR_WARN, Card, Choice, Field, Reply};
pub use text::Style;

/// Who may run admin commands: user ids and role ids from the config.
#[derive(Clone, Debug, Default)]
pub struct Admins {
    pub user_ids: Vec<String>,
    pub role_ids: Vec<String>,
}

/// Who asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    /// The platform's user id (Discord snowflake, or the console name).
    pub user_id: String,
    pub display_name: String,
    pub role_ids: Vec<String>,
}

/// Where the question was asked, which decides what may be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The local console: private.
    Console,
    /// A direct message with the bot: private.
    DirectMessage,
    /// A channel others read. Commands still answer privately (ephemeral); free text
    /// answers publicly, without personal figures.
    Channel,
}

/// What is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A command by path ("admin grant") with `name:value` options as typed. An option with
    /// an empty name is a bare word that could not be paired with a name (the console's
    /// `/expiry 60`); the command parser refuses it, after admin rights are checked.
    Command {
        path: String,
        options: Vec<(String, String)>,
    },
    /// A button press: the `id` of a `Choice` from an earlier reply.
    Choice(String),
    /// Free text: a DM, a mention, a message in a FAQ channel, or a console line.
    Text(String),
}

#[derive(Clone, Debug)]
pub struct Request {
    /// Unique per request (on Discord the interaction id); the base of idempotency keys,
    /// so a retried request never counts twice.
    pub id: String,
    pub who: Who,
    pub place: Place,
    pub now: DateTime<Utc>,
    pub input: Input,
}

/// How many recent orders personal FAQ answers mention.
const RECENT_ORDERS: usize = 3;
const HISTORY_PER_PAGE: u32 = 10;
/// Room for the lines of a card's description, under Discord's 4,096.
const CARD_LINES_CHARS: usize = 3_500;

pub struct Assistant {
    ledger: Arc<Ledger>,
    faq: Arc<Faq>,
    admins: Admins,
    confirm: ConfirmSettings,
    reminders: crate::reminders::Settings,
}

impl Assistant {
    /// An assistant with the default confirmation thresholds (`with_confirm` sets others).
    pub fn new(ledger: Arc<Ledger>, faq: Arc<Faq>, admins: Admins) -> Self {
        let confirm = ConfirmSettings::defaults_for(ledger.currency());
        Assistant {
            ledger,
            faq,
            admins,
            confirm,
            reminders: crate::reminders::Settings::default(),
        }
    }

    /// When admins are asked to confirm a grant or a revoke (bot.toml's `[confirm]`).
    pub fn with_confirm(mut self, confirm: ConfirmSettings) -> Self {
        self.confirm = confirm;
        self
    }

    /// The same assistant with `[reminders]` from the config (defaults otherwise).
    pub fn with_reminders(mut self, reminders: crate::reminders::Settings) -> Self {
        self.reminders = reminders;
        self
    }

    pub fn reminder_settings(&self) -> &crate::reminders::Settings {
        &self.reminders
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn faq(&self) -> &Faq {
        &self.faq
    }

    pub fn is_admin(&self, who: &Who) -> bool {
        self.admins.user_ids.contains(&who.user_id)
            || who
                .role_ids
                .iter()
                .any(|role| self.admins.role_ids.contains(role))
    }

    /// Answers one request. Never fails: errors become replies here.
    pub fn handle(&self, request: &Request) -> Reply {
        let span = tracing::info_span!("request", id = %request.id, user = %request.who.user_id);
        let _guard = span.enter();
        match self.try_handle(request) {
            Ok(reply) => reply.fitted(),
            Err(error) => self.error_reply(request, error),
        }
    }

    /// The one place where an error becomes what the member reads.
    fn error_reply(&self, request: &Request, error: Error) -> Reply {
        match error {
            Error::User(user) => {
                tracing::debug!(refusal = %user, "refused");
                Reply::private(text::refusal(&user, self.is_admin(&request.who)))
            }
            Error::Internal { context, source } => {
                let reference = reference(request);
                tracing::error!(%reference, %context, error = %source, "internal error");
                Reply::private(text::internal_error(&reference))
            }
        }
    }

    fn style(&self, request: &Request) -> Style {
        match request.place {
            Place::Console => Style::Plain,
            Place::DirectMessage | Place::Channel => Style::Discord,
        }
    }

    fn try_handle(&self, request: &Request) -> Result<Reply> {
        match &request.input {
            Input::Command { path, options } => {
                // Admin rights come first: someone who isn't an admin learns nothing about
                // an admin command's options, or which subcommands exist.
                let normalized = command::normalize_path(path);
                if command::is_admin_path(&normalized) {
                    if !self.is_admin(&request.who) {
                        return Err(UserError::NotAdmin {
                            action: command::admin_action(&normalized),
                        }
                        .into());
                    }
                    if command::spec(&normalized).is_none() {
                        return Err(UserError::UnknownAdminCommand {
                            path: normalized,
                            subcommands: COMMANDS
                                .iter()
                                .filter(|c| c.is_admin())
                                .map(|c| c.path)
                                .collect(),
                        }
                        .into());
                    }
                }
                let command = command::parse(path, options)?;
                self.run(request, command, false)
            }
            Input::Choice(id) => {
                if let Some((confirmation, accept)) = confirm::parse_choice(id) {
                    return self.answer_confirmation(request, confirmation, accept);
                }
                let topic = id.strip_prefix("faq:").ok_or(UserError::UnknownChoice)?;
                let index = self
                    .faq
                    .catalog()
                    .position(topic)
                    .ok_or(UserError::UnknownChoice)?;
                let asker = self.faq_asker(request, true)?;
                Ok(Reply::private(self.faq.render(
                    index,
                    &asker,
                    faq::Place::Private,
                )))
            }
            Input::Text(text) => {
                let private = request.place != Place::Channel;
                // A command typed as a message ("/balance", "/order #7781"): run it where
                // the reply is private; in a channel only the refusal or the hint, which
                // carry no figures.
                if let Some((path, options)) = command::parse_typed(text) {
                    if !private {
                        // Admin commands learn nothing here; a member's typo gets its fix.
                        if !command::is_admin_path(&command::normalize_path(&path)) {
                            command::parse(&path, &options)?;
                        }
                        return Err(UserError::TypedCommandInChannel(command::normalize_path(
                            &path,
                        ))
                        .into());
                    }
                    let typed = Request {
                        input: Input::Command { path, options },
                        ..request.clone()
                    };
                    return self.try_handle(&typed);
                }
                // "1" or "2" after a "Did you mean …?" whose buttons are gone: not a
                // question, and not one to log as unanswered.
                if is_stray_choice(text) {
                    return Err(UserError::ChoiceExpired.into());
                }
                self.answer_question(request, text, private)
            }
        }
    }

    /// Runs a parsed command; `confirmed` when the asker has just accepted a confirmation
    /// for it (then it asks no more).
    fn run(&self, request: &Request, command: Command, confirmed: bool) -> Result<Reply> {
        if let Command::Admin(admin) = &command
            && !self.is_admin(&request.who)
        {
            return Err(UserError::NotAdmin {
                action: command::admin_action(admin.path()),
            }
            .into());
        }
        // A retried request that asked for a confirmation asks the same question again: it
        // must not act on figures that have moved since (a revoke that has shrunk below the
        // threshold, say) when nobody said yes.
        if !confirmed && let Some(question) = self.question_asked_by(request)? {
            return Ok(question);
        }
        if let Command::Admin(admin) = command {
            return self
                .run_admin(request, admin, confirmed)
                .map_err(to_admin_refusal);
        }
        let style = self.style(request);
        let now = request.now;
        match command {
            Command::Balance => {
                let account = self.own_account(request)?;
                let balance = self.ledger.balance(&account.id, now)?;
                Ok(Reply::card(
                    self.balance_card(
                        &balance,
                        &format!("Your credits · account {}", account.id),
                        now,
                        style,
                        Viewer::Own,
                    ),
                    true,
                ))
            }
            Command::Expiry { days } => {
                let account = self.own_account(request)?;
                let balance = self.ledger.balance(&account.id, now)?;
                Ok(Reply::private(self.expiry_text(&balance, days, now, style)))
            }
            Command::Order { id } => {
                // Who asks is settled before the order is looked up, so neither an unlinked
                // member nor one asking for someone else's order learns whether it exists:
                // both read exactly what an unknown order reads.
                let admin = self.is_admin(&request.who);
                let own = if admin {
                    self.ledger.account_for_member(&request.who.user_id)?
                } else {
                    Some(self.own_account(request)?)
                };
                let breakdown = self.ledger.order_breakdown(&id, now).map_err(|error| {
                    if admin {
                        to_admin_refusal(error)
                    } else {
                        error
                    }
                })?;
                let theirs = own.is_some_and(|account| account.id == breakdown.account_id);
                if !admin && !theirs {
                    return Err(UserError::UnknownOrder(id).into());
                }
                Ok(Reply::card(
                    self.order_card(&breakdown, theirs, admin, style),
                    true,
                ))
            }
            Command::History { page } => {
                let account = self.own_account(request)?;
                Ok(Reply::card(
                    self.history_card(
                        self.ledger
                            .history_at(&account.id, now, page, HISTORY_PER_PAGE)?,
                        "Your credit history",
                        "/history",
                        style,
                    )?,
                    true,
                ))
            }
            Command::Transfer { .. } => {
                match self.ledger.account_for_member(&request.who.user_id)? {
                    Some(account) => {
                        let answer = self.ledger.transfer_check(&account.id, now)?;
                        Ok(Reply::private(text::transfer_answer(
                            &account.id,
                            answer.available,
                            self.ledger.currency(),
                        )))
                    }
                    None => Ok(Reply::private(format!(
                        "{} {}",
                        text::NOT_TRANSFERABLE,
                        text::not_linked_hint()
                    ))),
                }
            }
            Command::Faq { topic } => {
                let index = self
                    .topic_index(&topic)
                    .ok_or(UserError::UnknownTopic(topic))?;
                let asker = self.faq_asker(request, true)?;
                Ok(Reply::private(self.faq.render(
                    index,
                    &asker,
                    faq::Place::Private,
                )))
            }
            Command::Ask { question } => self.answer_question(request, &question, true),
            Command::Link { code } => {
                let act = Act::new(
                    request.who.user_id.clone(),
                    now,
                    IdempotencyKey::chat("redeem", &request.id),
                );
                let link = self
                    .ledger
                    .redeem_link_code(&act, &request.who.user_id, &code)?;
                Ok(Reply::private(format!(
                    "Linked! Your Discord account now belongs to shop account {}. Try /balance.",
                    link.account_id
                )))
            }
            Command::Unlink => {
                let Some(account) = self.ledger.account_for_member(&request.who.user_id)? else {
                    return Err(UserError::NotLinked.into());
                };
                // Undoing it takes an admin, so it asks first.
                if !confirmed {
                    return self.ask(
                        request,
                        text::confirm_unlink(&account.id),
                        "Unlink",
                        "Keep linked",
                    );
                }
                let act = Act::new(
                    request.who.user_id.clone(),
                    now,
                    IdempotencyKey::chat("unlink", &request.id),
                );
                let link = self.ledger.unlink_member(
                    &act,
                    &request.who.user_id,
                    "unlinked by the member",
                )?;
                Ok(Reply::private(format!(
                    "Unlinked from account {}. Its credits stay on the account; to link again, ask an admin for a new code.",
                    link.account_id
                )))
            }
            Command::Help => Ok(Reply::card(
                self.help_card(self.is_admin(&request.who)),
                true,
            )),
            Command::Reminders { change } => {
                use crate::reminders::text as words;
                let member = &request.who.user_id;
                let mut out = match change {
                    None => {
                        let setting = self.ledger.member_reminders(member)?;
                        let thresholds = self.reminders.thresholds(&setting);
                        words::setting(&setting, &thresholds, self.reminders.enabled, style)
                    }
                    Some(change) => {
                        let setting = self.ledger.set_member_reminders(member, change, now)?;
                        let thresholds = self.reminders.thresholds(&setting);
                        words::changed(&setting, &thresholds)
                    }
                };
                if self.ledger.account_for_member(member)?.is_none() {
                    out.push('\n');
                    out.push_str(text::not_linked_hint());
                }
                Ok(Reply::private(out))
            }
            Command::Admin(_) => unreachable!("handled above"),
        }
    }

    fn run_admin(
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
                            "Grant",
                            "Cancel",
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
                            "Grant again",
                            "Cancel",
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
                let expires = match lot.expires_at {
                    Some(at) => format!("expires {}", style.date(at)),
                    None => "never expires".into(),
                };
                Ok(Reply::private(format!(
                    "Granted {} ({reason}) to {} · {expires} · grant #{}\nTheir balance is now {}.\n{}",
                    currency.format(lot.amount),
                    style.member(&member),
                    lot.id,
                    currency.format(self.balance_after(&receipt, now)?),
                    text::who_reads_what(&style.member(&member), &reason, note.as_deref()),
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
                        return Err(UserError::GrantNothingLeft(grant).into());
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
                            "Revoke",
                            "Cancel",
                        );
                    }
                }
                // The figures come from the revoke's own transaction: an order landing
                // between a read and the revoke can't make the reply misstate them.
                let receipt = self.ledger.revoke(&act("revoke"), grant, &reason)?;
                self.add_note(&act("revoke"), note.as_deref())?;
                let account = &receipt.lot.account_id;
                Ok(Reply::private(format!(
                    "Revoked grant #{grant}: {} taken back ({reason}). Account {account} now has {}.\n{}",
                    currency.format(receipt.taken()),
                    currency.format(self.balance_after(&receipt, now)?),
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
                let existed = self.ledger.account(&account).is_ok();
                let link = self
                    .ledger
                    .link_member_to(&act("link"), &member, &account, create)
                    .map_err(|error| match error.as_user() {
                        // A slip must not open an empty account: creating one is asked for.
                        Some(UserError::UnknownAccount(_)) if !is_account_id(&account) => {
                            UserError::AccountIdNotValid(account.clone()).into()
                        }
                        Some(UserError::UnknownAccount(_)) => UserError::AccountToCreate {
                            account: account.clone(),
                            member: style.member(&member),
                        }
                        .into(),
                        _ => error,
                    })?;
                Ok(Reply::private(text::linked(
                    &style.member(&member),
                    &link.account_id,
                    !existed,
                )))
            }
            AdminCommand::Unlink { member } => {
                let link =
                    self.ledger
                        .unlink_member(&act("unlink"), &member, "unlinked by an admin")?;
                Ok(Reply::private(format!(
                    "Unlinked {} from account {}. The account keeps its credits.",
                    style.member(&member),
                    link.account_id
                )))
            }
            AdminCommand::Code { account } => {
                let issued = self.ledger.issue_link_code(&act("code"), &account)?;
                let mut reply = format!(
                    "Link code for account {}: {}\nSingle use, expires {}. Give it to the member privately; they run /link code:{}",
                    issued.account_id,
                    issued.code,
                    style.date_relative(issued.expires_at, now),
                    issued.code
                );
                // The code is refused while a member holds the account; one who held it
                // before left their history on it, and whoever redeems the code reads it.
                if let Some(earlier) = self.ledger.previous_member(&issued.account_id)? {
                    reply.push('\n');
                    reply.push_str(&text::code_shows_earlier_history(
                        &issued.account_id,
                        &style.member(&earlier),
                    ));
                }
                Ok(Reply::private(reply))
            }
            AdminCommand::Account { of } => {
                let (account, member) = match of {
                    AccountOf::Member(member) => {
                        (self.member_account(&member, style)?, Some(member))
                    }
                    AccountOf::Account(id) => {
                        let account = self.ledger.account(&id)?;
                        let member = self.ledger.member_for_account(&account.id)?;
                        (account, member)
                    }
                };
                let balance = self.ledger.balance(&account.id, now)?;
                let title = text::account_card_title(
                    &account.id,
                    member.as_deref().map(|m| style.member(m)).as_deref(),
                );
                Ok(Reply::card(
                    self.balance_card(
                        &balance,
                        &title,
                        now,
                        style,
                        Viewer::Admin(member.as_deref()),
                    ),
                    true,
                ))
            }
            AdminCommand::History { member, page } => {
                let account = self.member_account(&member, style)?;
                let title = format!(
                    "Credit history of {} · account {}",
                    style.member(&member),
                    account.id
                );
                let next = format!("/admin history member:{member}");
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
                        let breakdown = self.ledger.order_breakdown(&order, now)?;
                        let sku = pick_item(&breakdown, &typed)?.sku.clone();
                        ReturnScope::Items(vec![ReturnLine { sku, quantity }])
                    }
                    None => ReturnScope::Whole,
                };
                let receipt = self.ledger.record_return(
                    &request.who.user_id,
                    now,
                    &ReturnRequest {
                        return_id,
                        order_external_id: order,
                        scope,
                        reason: "recorded by an admin".into(),
                    },
                )?;
                let method = receipt
                    .other_method
                    .clone()
                    .unwrap_or_else(|| "the other payment method".into());
                let mut lines = vec![format!(
                    "Return {} of order {} recorded.",
                    receipt.return_id, receipt.order_external_id
                )];
                for item in &receipt.items {
                    let mut parts = Vec::new();
                    if item.credits.is_positive() {
                        parts.push(format!("{} in credits", currency.format(item.credits)));
                    }
                    if item.other.is_positive() {
                        parts.push(format!(
                            "{} refunded to {method}",
                            currency.format(item.other)
                        ));
                    }
                    if parts.is_empty() {
                        parts.push("nothing to refund".into());
                    }
                    lines.push(format!(
                        "  {} ×{}: {}",
                        item.title,
                        item.quantity,
                        parts.join(", ")
                    ));
                }
                if receipt.credits_restored.is_positive() {
                    lines.push(format!(
                        "{} is back on the member's credits.",
                        currency.format(receipt.credits_restored)
                    ));
                }
                if let Some(lot) = &receipt.reissued {
                    let expires = lot.expires_at.map_or("never".into(), |at| style.date(at));
                    lines.push(format!(
                        "{} came from credits that had expired meanwhile, so it was issued again as grant #{} (expires {expires}).",
                        currency.format(lot.amount),
                        lot.id
                    ));
                }
                if receipt.expired_at_once.is_positive() {
                    lines.push(format!(
                        "{} came from credits that had expired meanwhile, so it expired again at once.",
                        currency.format(receipt.expired_at_once)
                    ));
                }
                if receipt.revoked_at_once.is_positive() {
                    lines.push(format!(
                        "{} came from a grant an admin had revoked, so it stays revoked.",
                        currency.format(receipt.revoked_at_once)
                    ));
                }
                Ok(Reply::private(lines.join("\n")))
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
                    return Ok(Reply::private("No unanswered questions so far."));
                }
                let lines: Vec<String> = rows
                    .iter()
                    .map(|(question, times, last)| {
                        format!("{times}× \"{question}\" (last {})", style.date(*last))
                    })
                    .collect();
                let body = text::pack_lines(&lines, CARD_LINES_CHARS, |n| format!("…and {n} more"));
                Ok(Reply::card(
                    Card {
                        title: "Questions the FAQ couldn't answer, most asked first".into(),
                        description: body,
                        footer: "Add examples for these to the FAQ catalog.".into(),
                        colour: COLOUR_INFO,
                        ..Card::default()
                    },
                    true,
                ))
            }
        }
    }

    /// Asks the asker to confirm the command of `request` before it is carried out: stores
    /// it for `confirm::TTL_SECONDS` and answers with the question and two buttons.
    fn ask(&self, request: &Request, question: String, yes: &str, no: &str) -> Result<Reply> {
        let Input::Command { path, options } = &request.input else {
            return Err(Error::internal(
                "asking for a confirmation",
                "only a command can be confirmed",
            ));
        };
        let pending = serde_json::to_string(&confirm::Pending {
            path: path.clone(),
            options: options.clone(),
            question,
            yes: yes.to_string(),
            no: no.to_string(),
        })
        .map_err(|e| Error::internal("storing a confirmation", e))?;
        let id = confirmation_id(request);
        self.ledger.ask_confirmation(
            &id,
            &request.who.user_id,
            &pending,
            request.now,
            request.now + confirm::ttl(),
        )?;
        // What was stored answers, so two copies of one request racing read the same question.
        self.question_asked_by(request)?
            .ok_or_else(|| Error::internal("asking for a confirmation", "it was not stored"))
    }

    /// What the account could spend right after a change, from the change's receipt (a
    /// grant first written by a batch import stored none: then it is read now).
    fn balance_after(&self, receipt: &LotReceipt, now: DateTime<Utc>) -> Result<Credits> {
        match receipt.balance_after {
            Some(balance) => Ok(balance),
            None => Ok(self.ledger.balance(&receipt.lot.account_id, now)?.available),
        }
    }

    /// The question `request` asked, if it asked one: the same words and buttons each time.
    fn question_asked_by(&self, request: &Request) -> Result<Option<Reply>> {
        let id = confirmation_id(request);
        let Some(found) = self
            .ledger
            .confirmation(&id)?
            .filter(|found| found.asker == request.who.user_id)
        else {
            return Ok(None);
        };
        let pending: confirm::Pending = serde_json::from_str(&found.request)
            .map_err(|e| Error::internal("reading a confirmation", e))?;
        Ok(Some(
            Reply::private(format!("{}\n{}", pending.question, text::CONFIRM_WITHIN))
                .with_choices(confirm::choices(&id, &pending.yes, &pending.no)),
        ))
    }

    /// A confirmation's button: accepted once, by whoever asked, before it expires; the
    /// command then runs under a key made from the confirmation, so it counts once however
    /// often the button is pressed. Anything else changes nothing.
    fn answer_confirmation(&self, request: &Request, id: &str, accept: bool) -> Result<Reply> {
        let found = self
            .ledger
            .confirmation(id)?
            .filter(|found| found.asker == request.who.user_id)
            .ok_or(UserError::ConfirmationUnknown)?;
        if found.decision.is_some() {
            return Err(UserError::ConfirmationAnswered.into());
        }
        if found.expires_at <= request.now {
            return Err(UserError::ConfirmationExpired.into());
        }
        if !self.ledger.decide_confirmation(id, accept, request.now)? {
            // Answered meanwhile (another press) or expired this very second.
            return Err(UserError::ConfirmationAnswered.into());
        }
        if !accept {
            return Ok(Reply::private(text::CONFIRMATION_DECLINED));
        }
        let pending: confirm::Pending = serde_json::from_str(&found.request)
            .map_err(|e| Error::internal("reading a confirmation", e))?;
        let command = command::parse(&pending.path, &pending.options)?;
        let confirmed = Request {
            id: format!("confirm:{id}"),
            input: Input::Command {
                path: pending.path,
                options: pending.options,
            },
            ..request.clone()
        };
        self.run(&confirmed, command, true)
    }

    /// Refuses an expiry change that could give the member nothing: on a grant that was
    /// revoked, has expired (expired credit stays expired), or has nothing left.
    fn check_expiry_can_change(
        &self,
        lot: &crate::ledger::Lot,
        now: DateTime<Utc>,
        style: Style,
    ) -> Result<()> {
        let currency = self.ledger.currency();
        if lot.revoked {
            return Err(UserError::ExpiryOfRevokedGrant(lot.id).into());
        }
        if let Some(expired_at) = lot.expires_at.filter(|_| !lot.is_live(now)) {
            // Swept or not: what the sweep wrote off, plus what it hasn't reached yet.
            let lost = self.ledger.expired_from_lot(lot)? + lot.remaining;
            if lost.is_positive() {
                let member = self
                    .ledger
                    .member_for_account(&lot.account_id)?
                    .map_or("…".to_string(), |m| style.member(&m));
                return Err(UserError::ExpiryOfExpiredGrant {
                    grant: lot.id,
                    expired_on: style.date(expired_at),
                    lost: currency.format(lost),
                    regrant: format!(
                        "/admin grant member:{member} amount:{} reason:…",
                        currency.to_decimal(lost)
                    ),
                }
                .into());
            }
        }
        if !lot.remaining.is_positive() {
            return Err(UserError::ExpiryOfEmptyGrant(lot.id).into());
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
    fn holder_of(&self, account_id: &str, style: Style) -> Result<String> {
        Ok(self
            .ledger
            .member_for_account(account_id)?
            .map_or_else(|| "The member".to_string(), |m| style.member(&m)))
    }

    /// The asker's own account, or the "not linked" refusal.
    fn own_account(&self, request: &Request) -> Result<Account> {
        self.ledger
            .account_for_member(&request.who.user_id)?
            .ok_or_else(|| UserError::NotLinked.into())
    }

    /// When the admin named whose grant it is, refuses a grant of anyone else's.
    fn check_grant_member(
        &self,
        lot: &crate::ledger::Lot,
        member: Option<&str>,
        style: Style,
    ) -> Result<()> {
        let Some(member) = member else {
            return Ok(());
        };
        if self.member_account(member, style)?.id != lot.account_id {
            return Err(UserError::GrantOfAnotherMember {
                grant: lot.id,
                member: style.member(member),
            }
            .into());
        }
        Ok(())
    }

    fn member_account(&self, member: &str, style: Style) -> Result<Account> {
        self.ledger
            .account_for_member(member)?
            .ok_or_else(|| UserError::MemberHasNoAccount(style.member(member)).into())
    }

    fn topic_index(&self, topic: &str) -> Option<usize> {
        let wanted = topic.trim().to_lowercase();
        let intents = &self.faq.catalog().intents;
        intents
            .iter()
            .position(|i| i.id == wanted && i.id != faq::NONE_ID)
            .or_else(|| {
                intents
                    .iter()
                    .position(|i| i.title.to_lowercase() == wanted)
            })
    }

    /// The FAQ's view of the asker: their figures when the place is private and they are linked.
    fn faq_asker(&self, request: &Request, private: bool) -> Result<faq::Asker> {
        if !private {
            return Ok(faq::Asker::Unlinked);
        }
        let account = self.ledger.account_for_member(&request.who.user_id)?;
        self.faq_asker_of(request, account.as_ref())
    }

    /// The FAQ's view of an asker whose account (in a private place) is already known.
    fn faq_asker_of(&self, request: &Request, account: Option<&Account>) -> Result<faq::Asker> {
        match account {
            Some(account) => Ok(faq::Asker::Linked(self.personal_figures(
                account,
                request.now,
                self.style(request),
            )?)),
            None => Ok(faq::Asker::Unlinked),
        }
    }

    fn personal_figures(
        &self,
        account: &Account,
        now: DateTime<Utc>,
        style: Style,
    ) -> Result<faq::PersonalFigures> {
        let currency = self.ledger.currency();
        let balance = self.ledger.balance(&account.id, now)?;
        let (soon, _) = balance.expiring_within(now, text::SOON_DAYS as u32);
        let mut recent_orders = Vec::new();
        for summary in self.ledger.recent_orders(&account.id, RECENT_ORDERS)? {
            let breakdown = self.ledger.order_breakdown(&summary.external_id, now)?;
            let gives_back: Credits = breakdown.items.iter().map(|i| i.return_would_restore).sum();
            recent_orders.push(faq::OrderFigures {
                order_id: summary.external_id,
                date: style.date(summary.placed_at),
                credits_applied: currency.format(summary.credits_applied),
                return_gives_back: gives_back
                    .is_positive()
                    .then(|| currency.format(gives_back)),
            });
        }
        Ok(faq::PersonalFigures {
            account: account.id.clone(),
            balance: currency.format(balance.available),
            lots: balance
                .lots
                .iter()
                .map(|lot| faq::LotLine {
                    amount: currency.format(lot.remaining),
                    source: text::source_label(lot),
                    expires: lot
                        .expires_at
                        .map_or("never".into(), |at| style.date_relative(at, now)),
                })
                .collect(),
            next_expiry: balance.next_expiry().map(|(amount, at)| faq::NextExpiry {
                amount: currency.format(amount),
                date: style.date_relative(at, now),
            }),
            expiring_within_30_days: soon.is_positive().then(|| currency.format(soon)),
            recent_orders,
            never_expiring: text::never_expiring(&balance, currency),
        })
    }

    /// The balance as a card: the asker's own, or, for an admin, an account's (with the
    /// member holding it, if any), with grant numbers and wording about "this account".
    fn balance_card(
        &self,
        balance: &Balance,
        title: &str,
        now: DateTime<Utc>,
        style: Style,
        viewer: Viewer,
    ) -> Card {
        let currency = self.ledger.currency();
        let with_ids = viewer != Viewer::Own;
        let mut description = format!("Available  {}", currency.format(balance.available));
        if balance.lots.is_empty() {
            description.push('\n');
            description.push_str(&match viewer {
                Viewer::Own => text::no_credits(&balance.account_id),
                Viewer::Admin(member) => text::member_has_no_credits(
                    &balance.account_id,
                    member.map(|m| style.member(m)).as_deref(),
                ),
            });
        } else {
            let lines: Vec<String> = balance
                .lots
                .iter()
                .map(|lot| format!("  {}", text::lot_line(lot, currency, now, style, with_ids)))
                .collect();
            description.push('\n');
            description.push_str(&text::pack_lines(&lines, CARD_LINES_CHARS, |n| {
                format!("  …and {n} more grants, expiring later.")
            }));
            let (soon, _) = balance.expiring_within(now, text::SOON_DAYS as u32);
            if soon.is_positive() {
                description.push_str(&format!(
                    "\nExpiring within {} days: {} — {}",
                    text::SOON_DAYS,
                    currency.format(soon),
                    text::SOONEST_FIRST
                ));
            }
        }
        Card {
            title: title.to_string(),
            description,
            fields: Vec::new(),
            footer: match viewer {
                Viewer::Own => format!("{} /expiry · /order · /help", text::CREDITS_PAY_FOR),
                Viewer::Admin(member) => {
                    text::admin_account_footer(member.map(|m| style.member(m)).as_deref())
                }
            },
            colour: COLOUR_INFO,
        }
    }

    fn expiry_text(
        &self,
        balance: &Balance,
        days: u32,
        now: DateTime<Utc>,
        style: Style,
    ) -> String {
        let currency = self.ledger.currency();
        if balance.lots.is_empty() {
            return text::no_credits(&balance.account_id);
        }
        let Some((amount, at)) = balance.next_expiry() else {
            return format!(
                "None of your {} of credits expire.",
                currency.format(balance.available)
            );
        };
        let mut out = format!(
            "Your next expiry: {} on {}.",
            currency.format(amount),
            style.date_relative(at, now)
        );
        let (within, lots) = balance.expiring_within(now, days);
        if within.is_positive() {
            let lines: Vec<String> = lots
                .iter()
                .map(|lot| {
                    format!(
                        "  {}  {}  {}",
                        currency.format(lot.remaining),
                        text::source_label(lot),
                        lot.expires_at.map(|at| style.date(at)).unwrap_or_default()
                    )
                })
                .collect();
            out.push_str(&format!(
                "\nWithin {}, {} expires:\n",
                crate::words::count(days, "day"),
                currency.format(within)
            ));
            out.push_str(&text::pack_lines(&lines, 1_500, |n| {
                format!("  …and {n} more. /balance shows them all.")
            }));
        } else {
            out.push_str(&format!(
                "\nNothing expires within {}.",
                crate::words::count(days, "day")
            ));
        }
        if let Some(never) = text::never_expiring(balance, currency) {
            out.push('\n');
            out.push_str(&never);
        }
        out.push_str("\nExpired credits can't be spent; the soonest-expiring credits are used first when you buy.");
        out
    }

    /// An order, item by item. `own` is whether the asker's account placed it (an admin may
    /// look at anyone's: then a return gives back to "the member's" credits, not "your");
    /// `admin` adds each item's id, which `/admin return item:` takes.
    fn order_card(
        &self,
        order: &crate::ledger::OrderBreakdown,
        own: bool,
        admin: bool,
        style: Style,
    ) -> Card {
        let currency = self.ledger.currency();
        let method = order
            .other_method
            .clone()
            .unwrap_or_else(|| "other payment".into());
        let mut lines = Vec::new();
        let mut returns = Vec::new();
        for item in &order.items {
            let quantity = if item.quantity > 1 {
                format!(" ×{}", item.quantity)
            } else {
                String::new()
            };
            let mut parts = Vec::new();
            if item.credits.is_positive() {
                parts.push(text::credits_paid(
                    item.credits,
                    &item.credits_by_lot,
                    currency,
                ));
            }
            if item.other.is_positive() {
                parts.push(format!("paid by {method}: {}", currency.format(item.other)));
            }
            if item.kind == crate::ledger::ItemKind::Physical {
                parts.push("credits can't pay physical items".into());
            }
            if item.returned_quantity > 0 {
                parts.push(text::returned_part(item, currency));
            }
            let id = if admin {
                format!(" [item {}]", item.sku)
            } else {
                String::new()
            };
            lines.push(format!(
                "  {}{id}{quantity}  {}  {}",
                item.title,
                currency.format(item.total),
                parts.join(" — ")
            ));
            let whose = if own { "your" } else { "the member's" };
            if item.return_would_restore.is_positive() {
                returns.push(format!(
                    "If you return {}, {} goes back to {whose} credits.",
                    item.title,
                    currency.format(item.return_would_restore),
                ));
            }
            if item.return_would_forfeit.is_positive() {
                returns.push(format!(
                    "{} of the credit paid for {} came from a grant that was revoked or has expired, so a return would not give it back.",
                    currency.format(item.return_would_forfeit),
                    item.title,
                ));
            }
        }
        let mut description =
            text::pack_lines(&lines, 2_500, |n| format!("  …and {n} more items."));
        let other = if order.other_amount.is_positive() {
            format!(
                " · other payment {} ({method})",
                currency.format(order.other_amount)
            )
        } else {
            String::new()
        };
        description.push_str(&format!(
            "\nCredits applied {}{other}",
            currency.format(order.credits_applied)
        ));
        if !returns.is_empty() {
            description.push('\n');
            description.push_str(&text::pack_lines(&returns, 800, |n| {
                format!("…and {n} more items could be returned.")
            }));
        }
        Card {
            title: format!(
                "Order {} · {}",
                order.external_id,
                style.date(order.placed_at)
            ),
            description,
            fields: Vec::new(),
            // Only where it is true: an order paid entirely with credits has no "rest".
            footer: if order.other_amount.is_positive() {
                "Credits cover digital items; another payment method pays the rest.".into()
            } else {
                String::new()
            },
            colour: COLOUR_INFO,
        }
    }

    /// A page of an account's history as a card. The caller reads the page: the member's
    /// (`Ledger::history_at`) never carries the admins' notes, an admin's may.
    fn history_card(
        &self,
        history: HistoryPage,
        title: &str,
        next_command: &str,
        style: Style,
    ) -> Result<Card> {
        let currency = self.ledger.currency();
        if history.page > history.pages {
            return Err(UserError::NoSuchPage {
                page: history.page,
                pages: history.pages,
                command: next_command.to_string(),
            }
            .into());
        }
        let lines: Vec<String> = history
            .entries
            .iter()
            .map(|e| text::history_line(e, currency, style))
            .collect();
        let description = if lines.is_empty() {
            "Nothing on this page.".to_string()
        } else {
            text::pack_lines(&lines, CARD_LINES_CHARS, |n| {
                format!("…and {n} more on this page.")
            })
        };
        let footer = if history.page < history.pages {
            format!("Older entries: {next_command} page:{}", history.page + 1)
        } else {
            "That's everything.".to_string()
        };
        Ok(Card {
            title: format!("{title} · page {} of {}", history.page, history.pages),
            description,
            fields: Vec::new(),
            footer,
            colour: COLOUR_INFO,
        })
    }

    fn help_card(&self, admin: bool) -> Card {
        let line = |spec: &CommandSpec| {
            let options: Vec<String> = spec
                .options
                .iter()
                .map(|o| {
                    if o.required {
                        format!("{}:", o.name)
                    } else {
                        format!("[{}:]", o.name)
                    }
                })
                .collect();
            let usage = if options.is_empty() {
                String::new()
            } else {
                format!(" {}", options.join(" "))
            };
            format!("/{}{usage} — {}", spec.path, spec.description)
        };
        let members: Vec<String> = COMMANDS
            .iter()
            .filter(|c| !c.is_admin())
            .map(line)
            .collect();
        let mut fields = vec![Field {
            name: "Commands".into(),
            value: members.join("\n"),
            inline: false,
        }];
        if admin {
            let admins: Vec<String> = COMMANDS.iter().filter(|c| c.is_admin()).map(line).collect();
            fields.push(Field {
                name: "Admin commands".into(),
                value: admins.join("\n"),
                inline: false,
            });
        }
        let topics: Vec<String> = self
            .faq
            .catalog()
            .intents
            .iter()
            .filter(|i| i.id != faq::NONE_ID)
            .map(|i| i.id.clone())
            .collect();
        Card {
            title: "creditbot — your digital credits".into(),
            description: format!(
                "I answer questions about your digital credits: balance, expiry, returns, orders and linking your account. {} Ask in your own words, or use a command.",
                text::CREDITS_PAY_FOR
            ),
            fields,
            footer: format!("Topics for /faq: {}", topics.join(", ")),
            colour: COLOUR_INFO,
        }
    }
}

/// Words a refusal for an admin where the member's wording would mislead them (an unknown
/// order's "/order lists your recent orders" names the admin's own orders).
fn to_admin_refusal(error: Error) -> Error {
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
fn pick_item<'a>(
    order: &'a crate::ledger::OrderBreakdown,
    typed: &str,
) -> Result<&'a crate::ledger::ItemBreakdown, UserError> {
    let wanted = typed.trim().to_lowercase();
    let items = &order.items;
    let exact = |f: fn(&crate::ledger::ItemBreakdown) -> &str| {
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
    let named = |items: &[&crate::ledger::ItemBreakdown]| {
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
            order: order.external_id.clone(),
            item: typed.trim().to_string(),
            items: named(&items.iter().collect::<Vec<_>>()),
        }),
        several => Err(UserError::ItemAmbiguous {
            order: order.external_id.clone(),
            item: typed.trim().to_string(),
            items: named(several),
        }),
    }
}

/// Refuses an unusable note before anything is changed (the note is written after the change).
fn check_note(note: Option<&str>) -> Result<(), UserError> {
    note.map_or(Ok(()), crate::ledger::store::check_note)
}

/// Who looks at a balance card: the member whose credits they are, or an admin (with the
/// member holding the account, if one does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Viewer<'a> {
    Own,
    Admin(Option<&'a str>),
}

/// A bare choice number, as typed to pick one of up to `reply::limits::CHOICES` buttons.
fn is_stray_choice(text: &str) -> bool {
    text.trim()
        .parse::<usize>()
        .is_ok_and(|n| (1..=reply::limits::CHOICES).contains(&n))
}

/// A confirmation's id: unguessable enough (only its asker may answer it anyway) and short
/// enough for a button's 100-character id. Made from the request alone, not the time it
/// arrived, so a retried request (Discord resends the same interaction id) asks the same
/// question again, which can still be accepted only once.
fn confirmation_id(request: &Request) -> String {
    let digest =
        Sha256::digest(format!("confirm|{}|{}", request.id, request.who.user_id).as_bytes());
    hex::encode(&digest[..10])
}

/// A short reference for an internal error, derived from the request so the admin can find
/// it in the logs (where it is printed beside the request id).
/// A request's apology reference: its id and time, so a replayed id at another time differs.
fn reference(request: &Request) -> Reference {
    Reference::of(&format!("{}|{}", request.id, request.now.timestamp()))
}
