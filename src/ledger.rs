//! The credit ledger: accounts, links, lots (grants), orders, returns and the journal.
//!
//! - `ledger::rules` holds the policies as plain functions over values (what a spend takes,
//!   what a return gives back, what counts in a balance); they are tested without a database.
//! - `ledger::ops` is the `Ledger` and its operations (grants, orders, returns, links, the
//!   sweep, history, …): idempotency, validation, date checks and journal entries, written
//!   once against the store interface.
//! - `ledger::store` is that interface: a `Store` runs transactions, a `StoreTx` reads and
//!   writes rows (one trait per concern), in plain ledger values.
//! - `ledger::sqlite` implements it over SQLite, `ledger::postgres` (feature `postgres`) over
//!   PostgreSQL: the only places under `ledger` with SQL; neither driver's types leak past
//!   its store. `Ledger` means `Ledger<SqliteStore>` unless told.
//!
//! Nothing in the ledger reads the clock: every call takes `now`. Nothing here imports a
//! transport, a network crate or the FAQ (the layers test checks it). There is deliberately
//! no operation that moves credits between two accounts: credits are non-transferable.

mod any;
pub mod ids;
mod ops;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rules;
pub mod sqlite;
pub mod store;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Credits;

#[cfg(feature = "postgres")]
pub use self::postgres::{PgOptions, PgStore};
pub use any::AnyStore;
pub use ids::{AccountId, LotId, MemberId, OrderId, ReturnId};
pub use ops::Ledger;
pub use sqlite::SqliteStore;
pub use store::reminders::{
    DueGrant, MemberReminders, ReminderCandidate, ReminderChange, ReminderOutcome,
    ReminderRunRecord,
};

// Its settings are plain data read from bot.toml, so they live with the config (the layer
// below the ledger); the ledger re-exports them under the names its callers know.
pub use crate::config::{ExpiredLotPolicy, LedgerSettings};
/// What a journal entry records. Stored as its `as_str()` name; the names never change, since
/// history and the sums over the journal read them back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JournalKind {
    Open,
    Close,
    Link,
    Unlink,
    LinkCode,
    Grant,
    Revoke,
    ExpiryChange,
    Expire,
    Spend,
    Refund,
    Reissue,
}

impl JournalKind {
    pub const ALL: [JournalKind; 12] = [
        JournalKind::Open,
        JournalKind::Close,
        JournalKind::Link,
        JournalKind::Unlink,
        JournalKind::LinkCode,
        JournalKind::Grant,
        JournalKind::Revoke,
        JournalKind::ExpiryChange,
        JournalKind::Expire,
        JournalKind::Spend,
        JournalKind::Refund,
        JournalKind::Reissue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JournalKind::Open => "open",
            JournalKind::Close => "close",
            JournalKind::Link => "link",
            JournalKind::Unlink => "unlink",
            JournalKind::LinkCode => "link_code",
            JournalKind::Grant => "grant",
            JournalKind::Revoke => "revoke",
            JournalKind::ExpiryChange => "expiry_change",
            JournalKind::Expire => "expire",
            JournalKind::Spend => "spend",
            JournalKind::Refund => "refund",
            JournalKind::Reissue => "reissue",
        }
    }

    pub fn parse(text: &str) -> Option<JournalKind> {
        JournalKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// An idempotency key as it is stored. Each kind of request builds its key with one
/// constructor here, so the chat, the store API and the importer can't drift apart: a key
/// spelled differently would no longer find the requests stored under the old spelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// An order, by the shop's order id (the store API, imports and `record_order` agree).
    pub fn order(external_id: &str) -> Self {
        IdempotencyKey(format!("order:{external_id}"))
    }

    /// A return, by the shop's return id.
    pub fn order_return(return_id: &str) -> Self {
        IdempotencyKey(format!("return:{return_id}"))
    }

    /// A grant the shop feeds in (store API or import) under its own client key. Client keys
    /// get their own namespace so none can take a key the bot uses itself.
    pub fn grant_feed(client_key: &str) -> Self {
        IdempotencyKey(format!("feed:grant:{client_key}"))
    }

    /// An account the store API opens.
    pub fn api_account(account_id: &str) -> Self {
        IdempotencyKey(format!("api:account:{account_id}"))
    }

    /// A link code the store API issues; `nonce` makes each call a new request.
    pub fn api_link_code(account_id: &str, nonce: &str) -> Self {
        IdempotencyKey(format!("api:code:{account_id}:{nonce}"))
    }

    /// An account an import opens.
    pub fn import_account(account_id: &str) -> Self {
        IdempotencyKey(format!("import:account:{account_id}"))
    }

    /// A chat command (`grant`, `revoke`, `redeem`, …) by the interaction that asked for it.
    pub fn chat(command: &str, interaction_id: &str) -> Self {
        IdempotencyKey(format!("{command}:{interaction_id}"))
    }

    /// The admin note on the change made under `change`.
    pub fn note(change: &str) -> Self {
        IdempotencyKey(format!("{change}:note"))
    }

    /// A sweep's expiry of `lot_id` at `expires_at` (seconds); `round` 1 for the first time
    /// the lot expires at that instant, 2, 3, … for later times (see the sweep).
    pub fn sweep(lot_id: LotId, expires_at: i64, round: u32) -> Self {
        match round {
            0 | 1 => IdempotencyKey(format!("sweep:{lot_id}:{expires_at}")),
            round => IdempotencyKey(format!("sweep:{lot_id}:{expires_at}:{round}")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// When a change happened and when the ledger recorded it.
///
/// `at` is the change's own time, which the shop's feed may date a little in the past (at
/// most `max_backdate_days`); `recorded` is the clock at the door when the request came in.
/// Credit that had expired by either can't be spent, or come back from a return as if it
/// were live, so a ledger's answers never depend on when the expiry sweep last ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct When {
    pub at: DateTime<Utc>,
    pub recorded: DateTime<Utc>,
}

impl When {
    /// A change dated `at`, recorded at `recorded`.
    pub fn backdated(at: DateTime<Utc>, recorded: DateTime<Utc>) -> Self {
        When {
            at: whole_seconds(at),
            recorded: whole_seconds(recorded),
        }
    }

    /// The instant a lot must still be live at to count for this change: the later of the
    /// two times, since credit expired by either is gone.
    pub fn live_at(&self) -> DateTime<Utc> {
        self.at.max(self.recorded)
    }
}

/// A change that happens as it is recorded (chat commands, the console, the sweeper).
impl From<DateTime<Utc>> for When {
    fn from(now: DateTime<Utc>) -> Self {
        When::backdated(now, now)
    }
}

/// Who does a change, when, and under which idempotency key.
///
/// The key makes a retried request harmless: the same key with the same request returns the
/// first result and changes nothing; with a different request it is refused.
#[derive(Clone, Debug)]
pub struct Act {
    pub actor: String,
    /// When the change happened (its `at`), in whole seconds.
    pub now: DateTime<Utc>,
    /// When it was recorded; equal to `now` unless the request was backdated.
    pub recorded: DateTime<Utc>,
    pub key: String,
}

impl Act {
    /// Times are kept to whole seconds, the precision the database stores.
    pub fn new(actor: impl Into<String>, when: impl Into<When>, key: impl Into<String>) -> Self {
        let when = when.into();
        Act {
            actor: actor.into(),
            now: when.at,
            recorded: when.recorded,
            key: key.into(),
        }
    }

    /// The instant a lot must still be live at to count for this change (see [`When`]).
    pub fn live_at(&self) -> DateTime<Utc> {
        When::backdated(self.now, self.recorded).live_at()
    }
}

/// Drops sub-second precision, so that comparisons in Rust and in SQL agree.
pub fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(at.timestamp(), 0).single().unwrap_or(at)
}

/// The longest account id.
pub const ACCOUNT_ID_MAX: usize = 64;

/// Where a grant came from. Stored as its lowercase name; new kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Gift,
    Promotion,
    Refund,
    Goodwill,
    Admin,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Gift,
        Source::Promotion,
        Source::Refund,
        Source::Goodwill,
        Source::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Gift => "gift",
            Source::Promotion => "promotion",
            Source::Refund => "refund",
            Source::Goodwill => "goodwill",
            Source::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        let wanted = text.trim().to_ascii_lowercase();
        Source::ALL.into_iter().find(|s| s.as_str() == wanted)
    }
}

/// A shop account that holds credits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub closed: bool,
}

/// A Discord member linked to an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub member_id: MemberId,
    pub account_id: AccountId,
    pub linked_at: DateTime<Utc>,
}

/// A freshly issued single-use link code. The plain code exists only in this value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedLinkCode {
    pub code: String,
    pub account_id: AccountId,
    pub expires_at: DateTime<Utc>,
}

/// When a new grant expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    /// After the configured default number of days (or never, if so configured).
    Default,
    Never,
    At(DateTime<Utc>),
    InDays(u32),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRequest {
    pub account_id: AccountId,
    pub amount: Credits,
    pub source: Source,
    pub reason: String,
    pub expiry: Expiry,
}

/// A grant: an amount of credits with its own source, expiry and what is left of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub id: LotId,
    pub account_id: AccountId,
    pub amount: Credits,
    pub remaining: Credits,
    pub source: Source,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// For a refund lot: the order whose return issued it.
    pub refund_of_order: Option<OrderId>,
    /// An admin revoked it; credit a return brings back to it is revoked again at once.
    #[serde(default)]
    pub revoked: bool,
}

impl Lot {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        rules::is_live(self.expires_at, now)
    }
}

/// A change to one grant as the change's own transaction saw it: the grant after it, the
/// grant before it (none for a new grant) and what the account could spend right after.
/// Replies to admins take their figures from here, never from a second read that another
/// write (an order, say) could have moved in between.
///
/// Stored as the change's idempotent result, so a retry answers with the first figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotReceipt {
    #[serde(flatten)]
    pub lot: Lot,
    #[serde(default)]
    pub before: Option<Lot>,
    /// `None` only when replaying a grant first written by `grant_batch`, which stores the
    /// bare lot.
    #[serde(default)]
    pub balance_after: Option<Credits>,
}

impl LotReceipt {
    /// Credit the change took off the grant (a revoke: everything that was left).
    pub fn taken(&self) -> Credits {
        self.before.as_ref().map_or(Credits::ZERO, |before| {
            before.remaining - self.lot.remaining
        })
    }
}

/// How much of their credits the member chose to use on an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreditChoice {
    All,
    None,
    UpTo(Credits),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Digital,
    Physical,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Digital => "digital",
            ItemKind::Physical => "physical",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemRequest {
    pub sku: String,
    pub title: String,
    pub kind: ItemKind,
    pub unit_price: Credits,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub external_id: OrderId,
    pub account_id: AccountId,
    pub items: Vec<OrderItemRequest>,
    pub credits: CreditChoice,
    /// The other payment method (e.g. "Visa"); needed when credits don't cover the total.
    pub other_method: Option<String>,
}

/// What one spend took: `amount` from `lot_id` for the item on `line`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub line: usize,
    pub sku: String,
    pub lot_id: LotId,
    pub amount: Credits,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReceipt {
    pub external_id: OrderId,
    pub account_id: AccountId,
    pub total: Credits,
    pub credits_applied: Credits,
    pub other_amount: Credits,
    pub other_method: Option<String>,
    pub allocations: Vec<Allocation>,
}

/// Which part of an order comes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnScope {
    /// Everything not returned yet.
    Whole,
    /// These items (by SKU) and quantities.
    Items(Vec<ReturnLine>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    pub return_id: ReturnId,
    pub order_external_id: OrderId,
    pub scope: ReturnScope,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedItem {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub credits: Credits,
    pub other: Credits,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReceipt {
    pub return_id: ReturnId,
    pub order_external_id: OrderId,
    pub account_id: AccountId,
    pub items: Vec<ReturnedItem>,
    /// Credit put back on the lots it came from (still live).
    pub credits_restored: Credits,
    /// Credit whose lot had expired, issued as a new refund lot (policy `reissue`).
    pub reissued: Option<Lot>,
    /// Credit whose lot had expired, restored and expired at once (policy `expire`).
    pub expired_at_once: Credits,
    /// Credit whose lot an admin had revoked, restored and revoked again at once.
    #[serde(default)]
    pub revoked_at_once: Credits,
    /// The other-payment part, refunded to that method.
    pub other_refunded: Credits,
    pub other_method: Option<String>,
}

impl ReturnReceipt {
    /// All credit the return gave back, whatever became of it.
    pub fn credits_returned(&self) -> Credits {
        self.items.iter().map(|i| i.credits).sum()
    }
}

/// What the member can spend now, and the live lots that make it up, in spending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    pub account_id: AccountId,
    pub available: Credits,
    pub lots: Vec<Lot>,
}

impl Balance {
    /// The soonest expiry: the amount expiring then, and when.
    pub fn next_expiry(&self) -> Option<(Credits, DateTime<Utc>)> {
        let soonest = self.lots.iter().filter_map(|l| l.expires_at).min()?;
        let amount = self
            .lots
            .iter()
            .filter(|l| l.expires_at == Some(soonest))
            .map(|l| l.remaining)
            .sum();
        Some((amount, soonest))
    }

    /// The live lots expiring within `days` of `now`, and their total.
    pub fn expiring_within(&self, now: DateTime<Utc>, days: u32) -> (Credits, Vec<&Lot>) {
        let horizon = now + Duration::days(i64::from(days));
        let lots: Vec<&Lot> = self
            .lots
            .iter()
            .filter(|l| l.expires_at.is_some_and(|at| at <= horizon))
            .collect();
        (lots.iter().map(|l| l.remaining).sum(), lots)
    }
}

/// The answer to "can I move my credits to someone?": never, with the balance that stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferAnswer {
    pub transferable: bool,
    pub account_id: AccountId,
    pub available: Credits,
}

/// Credits one lot paid for one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotShare {
    pub lot_id: LotId,
    pub source: Source,
    pub amount: Credits,
}

/// One order line: what paid for it, what was returned, what a return would still give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemBreakdown {
    pub line: usize,
    pub sku: String,
    pub title: String,
    pub kind: ItemKind,
    pub unit_price: Credits,
    pub quantity: i64,
    pub total: Credits,
    pub credits: Credits,
    pub credits_by_lot: Vec<LotShare>,
    pub other: Credits,
    pub returned_quantity: i64,
    pub credits_returned: Credits,
    pub other_returned: Credits,
    /// Returning the rest of this line would give back this much credit to spend…
    pub return_would_restore: Credits,
    /// …not give back this much of its credit part (its grant was revoked, or has expired
    /// under the `expire` policy or on a closed account)…
    pub return_would_forfeit: Credits,
    /// …and refund this much to the other payment method.
    pub return_would_refund_other: Credits,
}

/// An order's payment breakdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderBreakdown {
    pub external_id: OrderId,
    pub account_id: AccountId,
    pub placed_at: DateTime<Utc>,
    pub total: Credits,
    pub credits_applied: Credits,
    pub other_amount: Credits,
    pub other_method: Option<String>,
    pub items: Vec<ItemBreakdown>,
}

/// A change waiting to be confirmed (see `assistant::confirm`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub id: String,
    /// Who asked: the only one who may answer.
    pub asker: MemberId,
    /// What to carry out, as the assistant wrote it (JSON).
    pub request: String,
    pub expires_at: DateTime<Utc>,
    /// `None` until answered; then whether it was accepted.
    pub decision: Option<bool>,
}

/// One journal entry as the member's history shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: i64,
    pub kind: JournalKind,
    pub amount: Credits,
    pub lot_id: Option<LotId>,
    pub order_external_id: Option<OrderId>,
    pub detail: Option<String>,
    pub actor: String,
    pub reason: String,
    /// When it took effect: for a sweep's expiry entry, the grant's expiry.
    pub at: DateTime<Utc>,
    /// An admin's note on the change: only in `Ledger::admin_history`, never the member's.
    pub note: Option<String>,
    /// When it was written to the journal; `None` for an expiry no sweep has written yet
    /// (credit that expired at `at` and is already gone from the balance).
    pub recorded_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// 1-based.
    pub page: u32,
    pub pages: u32,
    pub total_entries: u64,
}

/// What an expiry sweep wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub lots: usize,
    pub amount: Credits,
}

/// An order in an account's list of recent orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSummary {
    pub external_id: OrderId,
    pub placed_at: DateTime<Utc>,
    pub total: Credits,
    pub credits_applied: Credits,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored keys must keep matching: each constructor's exact spelling is pinned here.
    #[test]
    fn idempotency_keys_keep_their_stored_spelling() {
        assert_eq!(IdempotencyKey::order("9001").as_str(), "order:9001");
        assert_eq!(IdempotencyKey::order_return("R-7").as_str(), "return:R-7");
        assert_eq!(IdempotencyKey::grant_feed("abc").as_str(), "feed:grant:abc");
        assert_eq!(
            IdempotencyKey::api_account("ACC-1").as_str(),
            "api:account:ACC-1"
        );
        assert_eq!(
            IdempotencyKey::api_link_code("ACC-1", "0000002a0000002b").as_str(),
            "api:code:ACC-1:0000002a0000002b"
        );
        assert_eq!(
            IdempotencyKey::import_account("ACC-1").as_str(),
            "import:account:ACC-1"
        );
        assert_eq!(IdempotencyKey::chat("grant", "123").as_str(), "grant:123");
        assert_eq!(IdempotencyKey::note("grant:123").as_str(), "grant:123:note");
        assert_eq!(
            IdempotencyKey::sweep(LotId::new(57), 1_700_000_000, 1).as_str(),
            "sweep:57:1700000000"
        );
        assert_eq!(
            IdempotencyKey::sweep(LotId::new(57), 1_700_000_000, 3).as_str(),
            "sweep:57:1700000000:3"
        );
        assert_eq!(String::from(IdempotencyKey::order("1")), "order:1");
    }

    #[test]
    fn journal_kinds_read_back_as_written() {
        for kind in JournalKind::ALL {
            assert_eq!(JournalKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JournalKind::ExpiryChange.as_str(), "expiry_change");
        assert_eq!(JournalKind::LinkCode.as_str(), "link_code");
        assert_eq!(JournalKind::parse("transfer"), None);
    }
}
