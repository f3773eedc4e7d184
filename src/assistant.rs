//! The assistant: `handle(Request) -> Reply` for every transport. It parses commands, checks
//! admin rights (from the config, for every admin command), applies the privacy rule (a
//! member's figures only in private places), calls the ledger and the FAQ, and turns errors
//! into replies in exactly one place (`Assistant::error_reply`).
//!
//! It must not import serenity, axum or anything that talks to a network: the console,
//! Discord and HTTP all speak to it through `Request` and `Reply`. It calls SQLite through
//! the ledger synchronously, so async transports call it from `spawn_blocking`.

mod admin;
mod answers;
mod cards;
pub mod command;
pub mod confirm;
pub mod reply;
pub mod suggest;
pub mod text;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::error::{Error, Reference, Result, UserError};
use crate::faq::{self, Faq};
pub use crate::grammar::parse_expiry;
use crate::ledger::{Account, Act, IdempotencyKey, Ledger, MemberId, OrderId};
pub use command::{AccountOf, AdminCommand, COMMANDS, Command, CommandSpec};
pub use confirm::ConfirmSettings;
pub use reply::{COLOUR_INFO, COLOUR_WARN, Card, Choice, Field, Reply};
pub use text::Style;

use admin::to_admin_refusal;
use cards::{HISTORY_PER_PAGE, Viewer};

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

impl Who {
    /// The user as the ledger names a member.
    pub fn member(&self) -> MemberId {
        MemberId::new(self.user_id.as_str())
    }
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

impl Request {
    /// The reference an internal failure of this request is logged under and its apology
    /// names, so an admin can find it in the logs: from the request's id and time, so the
    /// same request always gets the same one and a replayed id at another time another.
    pub fn reference(&self) -> Reference {
        Reference::of(&format!("{}|{}", self.id, self.now.timestamp()))
    }
}

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
                let reference = request.reference();
                tracing::error!(%reference, %context, error = %source, "internal error");
                apology(&reference)
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
                        &text::balance_title(account.id.as_str()),
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
                    self.ledger.account_for_member(&request.who.member())?
                } else {
                    Some(self.own_account(request)?)
                };
                let breakdown = self
                    .ledger
                    .order_breakdown(&OrderId::new(id.as_str()), now)
                    .map_err(|error| {
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
                        text::HISTORY_TITLE,
                        "/history",
                        style,
                    )?,
                    true,
                ))
            }
            Command::Transfer { .. } => {
                match self.ledger.account_for_member(&request.who.member())? {
                    Some(account) => {
                        let answer = self.ledger.transfer_check(&account.id, now)?;
                        Ok(Reply::private(text::transfer_answer(
                            account.id.as_str(),
                            answer.available,
                            self.ledger.currency(),
                        )))
                    }
                    None => Ok(Reply::private(text::transfer_unlinked())),
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
                    .redeem_link_code(&act, &request.who.member(), &code)?;
                Ok(Reply::private(text::linked_by_code(
                    link.account_id.as_str(),
                )))
            }
            Command::Unlink => {
                let Some(account) = self.ledger.account_for_member(&request.who.member())? else {
                    return Err(UserError::NotLinked.into());
                };
                // Undoing it takes an admin, so it asks first.
                if !confirmed {
                    return self.ask(
                        request,
                        text::confirm_unlink(account.id.as_str()),
                        text::UNLINK_BUTTONS,
                    );
                }
                let act = Act::new(
                    request.who.user_id.clone(),
                    now,
                    IdempotencyKey::chat("unlink", &request.id),
                );
                let link = self.ledger.unlink_member(
                    &act,
                    &request.who.member(),
                    text::REASON_UNLINKED_BY_MEMBER,
                )?;
                Ok(Reply::private(text::unlinked_self(
                    link.account_id.as_str(),
                )))
            }
            Command::Help => Ok(Reply::card(
                self.help_card(self.is_admin(&request.who)),
                true,
            )),
            Command::Reminders { change } => {
                use crate::reminders::text as words;
                let member = &request.who.member();
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
                if self
                    .ledger
                    .account_for_member(&request.who.member())?
                    .is_none()
                {
                    out.push('\n');
                    out.push_str(text::not_linked_hint());
                }
                Ok(Reply::private(out))
            }
            Command::Admin(_) => unreachable!("handled above"),
        }
    }

    /// Asks the asker to confirm the command of `request` before it is carried out: stores
    /// it for `confirm::TTL_SECONDS` and answers with the question and two buttons.
    fn ask(&self, request: &Request, question: String, (yes, no): (&str, &str)) -> Result<Reply> {
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
            &request.who.member(),
            &pending,
            request.now,
            request.now + confirm::ttl(),
        )?;
        // What was stored answers, so two copies of one request racing read the same question.
        self.question_asked_by(request)?
            .ok_or_else(|| Error::internal("asking for a confirmation", "it was not stored"))
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

    /// The asker's own account, or the "not linked" refusal.
    fn own_account(&self, request: &Request) -> Result<Account> {
        self.ledger
            .account_for_member(&request.who.member())?
            .ok_or_else(|| UserError::NotLinked.into())
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
        let account = self.ledger.account_for_member(&request.who.member())?;
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

/// The one apology for an internal failure, whichever door it came through (an error from
/// the ledger here, a failed task in `offload`): `text::internal_error` with the reference
/// the failure is logged under.
pub fn apology(reference: &Reference) -> Reply {
    Reply::private(text::internal_error(reference))
}
