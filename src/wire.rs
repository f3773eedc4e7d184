//! The JSON shapes of the shop's feed and of ledger answers, shared by `creditbot import`,
//! `creditbot export` and the HTTP store API, so each shape is written once.
//!
//! Amounts are JSON strings ("12.50") both ways: a JSON number would pass through a float.
//! No I/O here: values in, values out.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shape::{Found, ShapeError};

mod shape;

use crate::error::{Field, UserError};
use crate::grammar::{self, parse_expiry};
use crate::ledger::{
    Account, AccountId, Balance, CreditChoice, Expiry, GrantRequest, HistoryEntry, IdempotencyKey,
    ItemKind, Lot, OrderBreakdown, OrderId, OrderItemRequest, OrderReceipt, OrderRequest, ReturnId,
    ReturnLine, ReturnReceipt, ReturnRequest, ReturnScope, Source, When,
};
use crate::money::{AmountSyntax, Credits, Currency};

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GrantIn {
    /// The idempotency key (import lines carry it here; the HTTP API takes a header).
    #[serde(default)]
    pub key: Option<String>,
    pub account: String,
    pub amount: String,
    /// gift, promotion, goodwill, refund or admin (default admin).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub reason: String,
    /// Days, a date (2027-06-30), an RFC 3339 time, or "never"; default from the config.
    #[serde(default)]
    pub expires: Option<String>,
    /// When it was granted; default now.
    #[serde(default, deserialize_with = "grammar::deserialize_time")]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    pub sku: String,
    #[serde(default)]
    pub title: String,
    pub kind: ItemKind,
    pub unit_price: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    pub id: String,
    pub account: String,
    pub items: Vec<ItemIn>,
    /// "all" (default), "none", or an amount ("12.00").
    #[serde(default)]
    pub credits: Option<String>,
    /// The other payment method, needed when credits don't cover the total.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default, deserialize_with = "grammar::deserialize_time")]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReturnItemIn {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReturnIn {
    pub id: String,
    pub order: String,
    /// The items and quantities; absent: everything not returned yet.
    #[serde(default)]
    pub items: Option<Vec<ReturnItemIn>>,
    #[serde(default)]
    pub reason: String,
    #[serde(default, deserialize_with = "grammar::deserialize_time")]
    pub at: Option<DateTime<Utc>>,
}

fn one() -> i64 {
    1
}

/// A body (or import line) that isn't the JSON its request takes: the field at fault as the
/// API names it (`id`, `items[0].quantity`, or the whole: `body`) and, in plain words, what
/// that field must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub field: String,
    pub message: String,
}

/// Reads a request from JSON, naming the field at fault when it can't. `whole` names the
/// JSON itself ("body" for the API, "line" for an import) when no field is at fault.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8], whole: &str) -> Result<T, JsonError> {
    refuse_duplicate_keys(bytes)?;
    // First the JSON itself (nothing but whitespace may follow the value), then the
    // request's shape, read by serde with its problems as data (`shape`).
    let value: Value = serde_json::from_slice(bytes).map_err(|error| JsonError {
        field: whole.to_string(),
        message: format!("The {whole} isn't valid JSON ({error})."),
    })?;
    // serde_path_to_error tracks where in the JSON serde was (`items[0].quantity`).
    serde_path_to_error::deserialize(shape::ValueReader(&value)).map_err(|error| {
        let path = error.path().to_string();
        // An empty path prints as "."; then no field is at fault.
        let path = Some(path.as_str()).filter(|p| !p.is_empty() && *p != ".");
        describe_shape_error(path, error.inner(), whole)
    })
}

/// Refuses JSON in which one object names a key twice, naming the key's path
/// (`items[0].sku`). serde_json would keep the last (`"amount":"1","amount":"900"` reads as
/// 900) where a request type's own reading refuses it, so every door checks first. JSON that
/// isn't valid passes here, for the typed reading to describe.
pub fn refuse_duplicate_keys(bytes: &[u8]) -> Result<(), JsonError> {
    use serde::de::DeserializeSeed;
    let duplicate = std::cell::RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let walk = UniqueKeys {
        path: String::new(),
        duplicate: &duplicate,
    };
    if walk.deserialize(&mut deserializer).is_err() {
        if let Some(field) = duplicate.into_inner() {
            return Err(JsonError {
                message: format!("{field} appears twice; give each field once."),
                field,
            });
        }
    }
    Ok(())
}

/// Walks any JSON value, stopping at the first object key seen twice (its path goes into
/// `duplicate`).
struct UniqueKeys<'a> {
    path: String,
    duplicate: &'a std::cell::RefCell<Option<String>>,
}

impl UniqueKeys<'_> {
    fn at(&self, path: String) -> Self {
        UniqueKeys {
            path,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(self.at(format!("{}[{index}]", self.path)))?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value_seed(self.at(path))?;
        }
        Ok(())
    }
}

/// What a field must be, by its name.
fn expected(field: &str, whole: &str) -> &'static str {
    if field == whole {
        return "a JSON object";
    }
    if field.ends_with(']') {
        return "an object";
    }
    let name = field.rsplit(['.', ']']).next().unwrap_or(field);
    match name {
        "amount" | "unit_price" | "credits" => {
            "a string, like \"12.50\" (amounts are strings, so no float can round them)"
        }
        "quantity" => "a whole number, like 2",
        "kind" => "\"digital\" or \"physical\"",
        "at" => "an RFC 3339 time, like \"2026-11-26T12:00:00Z\"",
        "items" => "a list of items",
        _ => "a string",
    }
}

/// A value found where another was due, in plain words.
fn found(found: &Found) -> String {
    match found {
        Found::Text(text) => format!("{text:?}"),
        Found::Number(number) => number.clone(),
        Found::Bool(b) => b.to_string(),
        Found::Null => "null".to_string(),
        Found::Object => "an object".to_string(),
        Found::List => "a list".to_string(),
        Found::Other(other) => other.clone(),
    }
}

/// The fields a request takes, as a sentence: "a", "a or b", "a, b, c".
fn field_list(known: &[&str]) -> String {
    match known {
        [] => String::new(),
        [one] => one.to_string(),
        [a, b] => format!("{a} or {b}"),
        many => many.join(", "),
    }
}

fn describe_shape_error(path: Option<&str>, error: &ShapeError, whole: &str) -> JsonError {
    let at = |name: &str| match path {
        Some(path) => format!("{path}.{name}"),
        None => name.to_string(),
    };
    let here = path.map_or_else(|| whole.to_string(), str::to_string);
    let must = expected(&here, whole);
    let name = if here == whole {
        format!("The {whole}")
    } else {
        here.clone()
    };
    let (field, message) = match error {
        ShapeError::MissingField(missing) => {
            let field = at(missing);
            let message = format!("{field} is required.");
            (field, message)
        }
        ShapeError::UnknownField { name, known } => {
            // serde_path_to_error already counts the unknown key into the path.
            let field = if path.is_some_and(|p| p == name || p.ends_with(&format!(".{name}"))) {
                here
            } else {
                at(name)
            };
            let message = if known.is_empty() {
                format!("{field} isn't a field of this request.")
            } else {
                format!(
                    "{field} isn't a field of this request; it takes {}.",
                    field_list(known)
                )
            };
            (field, message)
        }
        ShapeError::Wrong(value) => (
            here,
            format!("{name} must be {must}, not {}.", found(value)),
        ),
        ShapeError::UnknownVariant(variant) => {
            let message = format!("{here} must be {must}, not \"{variant}\".");
            (here, message)
        }
        ShapeError::Custom(detail) => (here, format!("{name} must be {must} ({detail}).")),
    };
    JsonError { field, message }
}

/// How far ahead of `now` an `at` may be: clocks of the shop and the bot drift a little,
/// but a time further ahead is a mistake (it would date a grant or order in the future).
pub const MAX_AT_AHEAD_MINUTES: i64 = 5;

/// A refusal of one field of a feed request: the field as the API names it
/// (`items[0].unit_price`, `credits`, `at`) and what the member reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub error: UserError,
}

impl FieldError {
    pub fn new(field: impl Into<String>, error: UserError) -> Self {
        FieldError {
            field: field.into(),
            error,
        }
    }
}

/// A refusal of the ledger's, named by `field_of`.
impl From<UserError> for FieldError {
    fn from(error: UserError) -> Self {
        FieldError::new(field_of(&error), error)
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// When a request happened (its `at`, or `now` when it has none) and that it is recorded
/// `now`. An `at` more than `MAX_AT_AHEAD_MINUTES` after `now` is refused (field `at`); how far
/// back it may be is the ledger's to say (`max_backdate_days`). `now` is passed in.
pub fn checked_at(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<When, FieldError> {
    let at = match at {
        None => now,
        Some(at) if at > now + chrono::Duration::minutes(MAX_AT_AHEAD_MINUTES) => {
            return Err(FieldError::new(
                "at",
                UserError::TimeInFuture {
                    minutes: MAX_AT_AHEAD_MINUTES,
                },
            ));
        }
        Some(at) => at,
    };
    Ok(When::backdated(at, now))
}

/// The idempotency key a client's grant key is stored under. Client keys live in their own
/// namespace so none can take a key the bot uses itself (`order:9001`, `grant:<interaction>`,
/// sweep keys); the store API and `import` share it, so a grant fed by file and then by API
/// with the same key is carried out once.
pub fn feed_grant_key(client_key: &str) -> String {
    IdempotencyKey::grant_feed(client_key).into()
}

/// A grant's client key from `field` (`Idempotency-Key`, or a body's or line's `key`),
/// checked by the one rule for keys, as the key it is stored under.
pub fn client_grant_key(field: &str, key: &str) -> Result<String, JsonError> {
    grammar::check_client_key(key).map_err(|problem| JsonError {
        field: field.to_string(),
        message: problem.message(field),
    })?;
    Ok(feed_grant_key(key))
}

impl GrantIn {
    /// The ledger request, and when it was granted (`at`, checked against `now`).
    pub fn to_request(
        &self,
        currency: &Currency,
        now: DateTime<Utc>,
    ) -> Result<(GrantRequest, When), FieldError> {
        let at = checked_at(self.at, now)?;
        let request = GrantRequest {
            account_id: AccountId::new(self.account.as_str()),
            amount: currency.parse_grant(&self.amount, AmountSyntax::Plain)?,
            source: match &self.source {
                Some(text) => {
                    Source::parse(text).ok_or_else(|| UserError::UnknownSource(text.clone()))?
                }
                None => Source::Admin,
            },
            reason: self.reason.clone(),
            // Whether a date is past is the ledger's to say, after its key lookup, so a
            // request replayed later still reads as a replay.
            expiry: parse_expiry(self.expires.as_deref(), DateTime::<Utc>::MIN_UTC)?
                .unwrap_or(Expiry::Default),
        };
        Ok((request, at))
    }
}

impl OrderIn {
    /// The ledger request, and when the order was placed (`at`, checked against `now`).
    pub fn to_request(
        &self,
        currency: &Currency,
        now: DateTime<Utc>,
    ) -> Result<(OrderRequest, When), FieldError> {
        let at = checked_at(self.at, now)?;
        let credits = match self.credits.as_deref() {
            None | Some("all") => CreditChoice::All,
            Some("none") => CreditChoice::None,
            Some(amount) => CreditChoice::UpTo(
                currency
                    .parse_positive(amount, AmountSyntax::Plain)
                    .map_err(|e| FieldError::new("credits", e))?,
            ),
        };
        let items = self
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let unit_price = parse_price(currency, &item.unit_price)
                    .map_err(|e| FieldError::new(format!("items[{index}].unit_price"), e))?;
                Ok(OrderItemRequest {
                    sku: item.sku.clone(),
                    title: if item.title.trim().is_empty() {
                        item.sku.clone()
                    } else {
                        item.title.clone()
                    },
                    kind: item.kind,
                    unit_price,
                    quantity: item.quantity,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        let request = OrderRequest {
            external_id: OrderId::new(self.id.as_str()),
            account_id: AccountId::new(self.account.as_str()),
            items,
            credits,
            other_method: self.method.clone(),
        };
        Ok((request, at))
    }
}

impl ReturnIn {
    /// The ledger request, and when the return happened (`at`, checked against `now`).
    pub fn to_request(&self, now: DateTime<Utc>) -> Result<(ReturnRequest, When), FieldError> {
        let at = checked_at(self.at, now)?;
        let request = ReturnRequest {
            return_id: ReturnId::new(self.id.as_str()),
            order_external_id: OrderId::new(self.order.as_str()),
            scope: match &self.items {
                None => ReturnScope::Whole,
                Some(items) => ReturnScope::Items(
                    items
                        .iter()
                        .map(|i| ReturnLine {
                            sku: i.sku.clone(),
                            quantity: i.quantity,
                        })
                        .collect(),
                ),
            },
            reason: self.reason.clone(),
        };
        Ok((request, at))
    }
}

/// A unit price: zero is allowed (free items), negative and over-precise ones are not.
fn parse_price(currency: &Currency, text: &str) -> Result<Credits, UserError> {
    match currency.parse_positive(text, AmountSyntax::Plain) {
        Err(UserError::AmountZero) => Ok(Credits::ZERO),
        other => other,
    }
}

impl AccountIn {
    /// The field of this request a ledger refusal is about.
    pub fn field_of(&self, error: &UserError) -> String {
        match error.field() {
            Some(Field::AccountId) => "id".to_string(),
            _ => field_of(error),
        }
    }
}

impl GrantIn {
    /// The field of this request a ledger refusal is about.
    pub fn field_of(&self, error: &UserError) -> String {
        field_of(error)
    }
}

/// The index of the first item `matches`, as `items[i].<leaf>`; `items` when none does.
fn item_field<T>(items: &[T], leaf: &str, matches: impl Fn(&T) -> bool) -> String {
    match items.iter().position(matches) {
        Some(index) => format!("items[{index}].{leaf}"),
        None => "items".to_string(),
    }
}

impl OrderIn {
    /// The field of this request a ledger refusal is about: `id`, `items[1].quantity`, ….
    pub fn field_of(&self, error: &UserError) -> String {
        match error.field() {
            Some(Field::OrderId) => "id".to_string(),
            _ => field_of(error),
        }
    }
}

impl ReturnIn {
    /// The field of this request a ledger refusal is about: `order`, `items[0].quantity`, ….
    pub fn field_of(&self, error: &UserError) -> String {
        let items = self.items.as_deref().unwrap_or_default();
        match error {
            // Refusals about what the order holds name the item by its SKU, as the ledger
            // read it from the order; the request's line is the one that asked for it.
            UserError::UnknownItem { item, .. } => item_field(items, "sku", |i| &i.sku == item),
            UserError::ReturnTooMany { item, .. } => {
                item_field(items, "quantity", |i| &i.sku == item)
            }
            _ => match error.field() {
                Some(Field::ReturnId) => "id".to_string(),
                _ => field_of(error),
            },
        }
    }
}

/// A refusal as the shop's backend reads it (API bodies, import reports): the member's
/// wording, except where that points at a chat command the backend can't use.
pub fn feed_message(error: &UserError) -> String {
    match error {
        UserError::UnknownAccount(id) => format!(
            "There is no account {id}. Create it first (POST /api/v1/accounts, or an \"account\" line in an import)."
        ),
        UserError::UnknownOrder(id) => format!("There is no order {id}."),
        other => other.to_string(),
    }
}

/// The JSON path of an input in the feed's requests (`items[2].sku`). An id is named by the
/// field that refers to it (`account`, `order`); a request about that very thing names it `id`
/// instead (the request types' own `field_of`).
pub fn json_path(field: Field) -> String {
    match field {
        Field::AccountId => "account".into(),
        Field::DisplayName => "name".into(),
        // Chat's option; no feed request carries a member.
        Field::Member => "member".into(),
        Field::OrderId => "order".into(),
        Field::ReturnId => "id".into(),
        Field::Reason => "reason".into(),
        Field::Note => "note".into(),
        Field::PaymentMethod => "method".into(),
        Field::RequestKey => "Idempotency-Key".into(),
        Field::ItemSku(n) | Field::ReturnItem(n) => format!("items[{n}].sku"),
        Field::ItemTitle(n) => format!("items[{n}].title"),
        Field::ItemQuantity(n) => format!("items[{n}].quantity"),
        Field::ItemPrice(n) => format!("items[{n}].unit_price"),
        Field::ReturnItems => "items".into(),
    }
}

/// Which field of a request a refusal is about, for API error bodies, when the request isn't
/// known (the request types' own `field_of` are exact).
pub fn field_of(error: &UserError) -> String {
    if let Some(field) = error.field() {
        return json_path(field);
    }
    match error {
        UserError::AmountNotANumber(_)
        | UserError::AmountNegative
        | UserError::AmountZero
        | UserError::AmountTooManyDecimals { .. }
        | UserError::AmountTooLarge { .. }
        | UserError::AmountTooLargeToStore
        | UserError::AmountCommaDecimal(_) => "amount",
        UserError::TimeInFuture { .. }
        | UserError::TimeTooFarBack { .. }
        | UserError::TimeBeforeAccount(_)
        | UserError::ReturnBeforeOrder => "at",
        UserError::DateNotReadable(_) | UserError::DateInPast => "expires",
        UserError::UnknownSource(_) => "source",
        UserError::UnknownAccount(_) | UserError::AccountClosed(_) => "account",
        UserError::OrderWithoutItems
        | UserError::UnknownItem { .. }
        | UserError::ReturnTooMany { .. }
        | UserError::OrderTooLarge => "items",
        UserError::PaymentMethodMissing => "method",
        UserError::UnknownOrder(_) | UserError::NothingToReturn(_) => "order",
        _ => "request",
    }
    .to_string()
}

pub fn money(currency: &Currency, amount: Credits) -> String {
    currency.to_decimal(amount).to_string()
}

pub fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "display_name": account.display_name,
        "created_at": account.created_at,
        "closed": account.closed,
    })
}

pub fn lot_json(lot: &Lot, currency: &Currency) -> Value {
    json!({
        "id": lot.id,
        "account": lot.account_id,
        "amount": money(currency, lot.amount),
        "remaining": money(currency, lot.remaining),
        "source": lot.source.as_str(),
        "reason": lot.reason,
        "granted_by": lot.granted_by,
        "granted_at": lot.granted_at,
        "expires_at": lot.expires_at,
        "refund_of_order": lot.refund_of_order,
    })
}

pub fn balance_json(balance: &Balance, currency: &Currency) -> Value {
    json!({
        "account": balance.account_id,
        "currency": currency.code(),
        "available": money(currency, balance.available),
        "next_expiry": balance.next_expiry().map(|(amount, at)| json!({"amount": money(currency, amount), "at": at})),
        "lots": balance.lots.iter().map(|lot| lot_json(lot, currency)).collect::<Vec<_>>(),
    })
}

pub fn history_entry_json(entry: &HistoryEntry, currency: &Currency) -> Value {
    json!({
        "id": entry.id,
        "kind": entry.kind.as_str(),
        "amount": money(currency, entry.amount),
        "lot": entry.lot_id,
        "order": entry.order_external_id,
        "detail": entry.detail,
        "actor": entry.actor,
        "reason": entry.reason,
        // When it took effect; `recorded_at` is when it was written (null: an expiry no sweep
        // has written yet).
        "at": entry.at,
        "recorded_at": entry.recorded_at,
    })
}

pub fn order_breakdown_json(order: &OrderBreakdown, currency: &Currency) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            json!({
                "sku": item.sku,
                "title": item.title,
                "kind": item.kind.as_str(),
                "unit_price": money(currency, item.unit_price),
                "quantity": item.quantity,
                "credits": money(currency, item.credits),
                "credits_by_lot": item.credits_by_lot.iter().map(|s| json!({"lot": s.lot_id, "amount": money(currency, s.amount)})).collect::<Vec<_>>(),
                "other": money(currency, item.other),
                "returned_quantity": item.returned_quantity,
                "credits_returned": money(currency, item.credits_returned),
                "other_returned": money(currency, item.other_returned),
                "return_would_restore": money(currency, item.return_would_restore),
                "return_would_forfeit": money(currency, item.return_would_forfeit),
                "return_would_refund_other": money(currency, item.return_would_refund_other),
            })
        })
        .collect();
    json!({
        "id": order.external_id,
        "account": order.account_id,
        "placed_at": order.placed_at,
        "total": money(currency, order.total),
        "credits_applied": money(currency, order.credits_applied),
        "other_amount": money(currency, order.other_amount),
        "other_method": order.other_method,
        "items": items,
    })
}

pub fn order_receipt_json(receipt: &OrderReceipt, currency: &Currency) -> Value {
    json!({
        "id": receipt.external_id,
        "account": receipt.account_id,
        "total": money(currency, receipt.total),
        "credits_applied": money(currency, receipt.credits_applied),
        "other_amount": money(currency, receipt.other_amount),
        "other_method": receipt.other_method,
        "allocations": receipt.allocations.iter().map(|a| json!({
            "sku": a.sku, "lot": a.lot_id, "amount": money(currency, a.amount)
        })).collect::<Vec<_>>(),
    })
}

pub fn return_receipt_json(receipt: &ReturnReceipt, currency: &Currency) -> Value {
    json!({
        "id": receipt.return_id,
        "order": receipt.order_external_id,
        "account": receipt.account_id,
        "items": receipt.items.iter().map(|i| json!({
            "sku": i.sku, "title": i.title, "quantity": i.quantity,
            "credits": money(currency, i.credits), "other": money(currency, i.other),
        })).collect::<Vec<_>>(),
        "credits_restored": money(currency, receipt.credits_restored),
        "reissued": receipt.reissued.as_ref().map(|lot| lot_json(lot, currency)),
        "expired_at_once": money(currency, receipt.expired_at_once),
        "revoked_at_once": money(currency, receipt.revoked_at_once),
        "other_refunded": money(currency, receipt.other_refunded),
        "other_method": receipt.other_method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    #[test]
    fn an_at_may_be_past_or_a_little_ahead_but_not_in_the_future() {
        let now = now();
        assert_eq!(checked_at(None, now), Ok(When::from(now)));
        let past = now - chrono::Duration::days(30);
        assert_eq!(checked_at(Some(past), now), Ok(When::backdated(past, now)));
        let drift = now + chrono::Duration::minutes(5);
        assert_eq!(
            checked_at(Some(drift), now),
            Ok(When::backdated(drift, now))
        );
        let future = checked_at(Some(drift + chrono::Duration::seconds(1)), now).unwrap_err();
        assert_eq!(future.field, "at");
        assert!(
            future
                .to_string()
                .starts_with("That time is in the future;")
        );
    }

    #[test]
    fn conversion_refusals_name_the_field() {
        let usd = Currency::usd();
        let order: OrderIn = serde_json::from_value(serde_json::json!({
            "id": "O-1", "account": "ACC-1", "credits": "1.001",
            "items": [{"sku": "a", "kind": "digital", "unit_price": "1.00"}]
        }))
        .unwrap();
        assert_eq!(order.to_request(&usd, now()).unwrap_err().field, "credits");
        let order: OrderIn = serde_json::from_value(serde_json::json!({
            "id": "O-1", "account": "ACC-1",
            "items": [
                {"sku": "a", "kind": "digital", "unit_price": "0"},
                {"sku": "b", "kind": "digital", "unit_price": "99999999999999999999"}
            ]
        }))
        .unwrap();
        let refused = order.to_request(&usd, now()).unwrap_err();
        assert_eq!(refused.field, "items[1].unit_price");
        assert_eq!(refused.error, UserError::AmountTooLargeToStore);
        let grant: GrantIn = serde_json::from_value(
            serde_json::json!({"account": "ACC-1", "amount": "5000", "key": "k"}),
        )
        .unwrap();
        assert_eq!(grant.to_request(&usd, now()).unwrap_err().field, "amount");
    }

    #[test]
    fn json_refusals_name_the_field_path_in_plain_words() {
        let refused = |json: &str| {
            let error = from_json::<OrderIn>(json.as_bytes(), "body").unwrap_err();
            (error.field, error.message)
        };
        let item = r#""sku":"a","kind":"digital","unit_price":"1.00""#;
        let (field, message) =
            refused(&format!(r#"{{"id":5,"account":"A","items":[{{{item}}}]}}"#));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("id", "id must be a string, not 5.")
        );
        let (field, message) = refused(&format!(
            r#"{{"id":"O","account":"A","items":[{{{item}}},{{{item},"quantity":1.5}}]}}"#
        ));
        assert_eq!(field, "items[1].quantity");
        assert_eq!(
            message,
            "items[1].quantity must be a whole number, like 2, not 1.5."
        );
        let (field, message) = refused(&format!(
            r#"{{"id":"O","account":"A","items":[{{{item},"quantity":99999999999999999999}}]}}"#
        ));
        assert_eq!(field, "items[0].quantity", "{message}");
        let (field, message) = refused(
            r#"{"id":"O","account":"A","items":[{"sku":"a","kind":"ebook","unit_price":"1"}]}"#,
        );
        assert_eq!(field, "items[0].kind");
        assert_eq!(
            message,
            r#"items[0].kind must be "digital" or "physical", not "ebook"."#
        );
        let (field, message) = refused(&format!(
            r#"{{"id":"O","account":"A","at":"garbage","items":[{{{item}}}]}}"#
        ));
        assert_eq!(field, "at");
        assert!(
            message.starts_with("at must be an RFC 3339 time"),
            "{message}"
        );
        let (field, message) = refused(
            r#"{"id":"O","account":"A","items":[{"sku":"a","kind":"digital","unit_price":4}]}"#,
        );
        assert_eq!(field, "items[0].unit_price");
        assert!(message.contains("amounts are strings"), "{message}");
        assert!(message.ends_with("not 4."), "{message}");
        let (field, message) = refused(r#"{"id":"O","account":"A","items":[{"sku":"a"}]}"#);
        assert_eq!(field, "items[0].kind");
        assert_eq!(message, "items[0].kind is required.");
        let (field, message) = refused(r#"{"id":"O","account":"A","items":[],"colour":"red"}"#);
        assert_eq!(field, "colour");
        assert!(
            message
                .starts_with("colour isn't a field of this request; it takes id, account, items"),
            "{message}"
        );
        let (field, message) = refused(r#"[1]"#);
        assert_eq!(field, "body");
        assert_eq!(message, "The body must be a JSON object, not a list.");
        let (field, message) = refused(r#"{"id": "#);
        assert_eq!(field, "body");
        assert!(
            message.starts_with("The body isn't valid JSON (EOF"),
            "{message}"
        );

        let ret =
            from_json::<ReturnIn>(br#"{"id":"R","order":"O","reason":null}"#, "line").unwrap_err();
        assert_eq!(
            (ret.field.as_str(), ret.message.as_str()),
            ("reason", "reason must be a string, not null.")
        );
        let grant = from_json::<GrantIn>(br#"{"account":1,"amount":"1"}"#, "body").unwrap_err();
        assert_eq!(grant.field, "account");
        assert!(
            !grant.message.contains("amounts are strings"),
            "{}",
            grant.message
        );
    }

    #[test]
    fn client_grant_keys_have_their_own_namespace() {
        for bots in ["order:9001", "return:R-1", "grant:1300000000000000001"] {
            assert!(feed_grant_key(bots).starts_with("feed:grant:"));
            assert_ne!(feed_grant_key(bots), bots);
        }
    }
}
