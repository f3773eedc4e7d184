//! The two kinds of failure: `UserError` (what the member reads, exactly) and `Error`
//! (a `UserError` or an internal failure that is logged and never shown in detail).
//!
//! Transports turn an `Error` into a reply in exactly one place each. Nothing here imports a
//! database or transport type: internal causes are carried as boxed errors with context.

use thiserror::Error;

/// A refusal the member can act on. Its `Display` is the sentence every door shares; refusals
/// the ledger raises name no chat command there (an API client or `creditbot export` has none
/// to run). Chat adds the command that helps (`assistant::text::refusal`), the store API its
/// own wording (`wire::feed_message`).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum UserError {
    #[error("\"{}\" isn't an amount I can read; write it like {}.", .0.text, example_amount(.0.scale))]
    AmountNotANumber(AmountInput),
    #[error("That amount is negative; amounts must be more than zero.")]
    AmountNegative,
    #[error("That amount is zero; amounts must be more than zero.")]
    AmountZero,
    /// `found` counts the decimals as written ("12.50" has 2).
    #[error("{}", too_many_decimals(*found, *scale))]
    AmountTooManyDecimals { found: u32, scale: u32 },
    #[error("That amount is over the {max} limit for a single grant.")]
    AmountTooLarge { max: String },
    #[error("\"{0}\" isn't a date I can read; write it like 2026-12-31, or a number of days.")]
    DateNotReadable(String),
    #[error("That date is in the past; pick a date after today.")]
    DateInPast,
    #[error("{field} can't be empty.")]
    EmptyField { field: Field },
    #[error("{field} can't start or end with a space.")]
    SurroundingSpace { field: Field },
    #[error("{field} can't contain control characters such as line breaks or tabs.")]
    ControlCharacters { field: Field },
    #[error(
        "{field} can't contain invisible characters such as zero-width spaces or direction marks."
    )]
    InvisibleCharacters { field: Field },
    #[error(
        "{field} has an accented letter written as two characters (letter + accent); retype it as one."
    )]
    DecomposedLetters { field: Field },
    #[error("{field} is too long ({length} characters; at most {max}).")]
    FieldTooLong {
        field: Field,
        length: usize,
        max: usize,
    },

    #[error("I couldn't find account {0}. Check the account id.")]
    UnknownAccount(String),
    #[error("Account {0} is closed, so it can't receive or spend credits.")]
    AccountClosed(String),
    #[error(
        "Your Discord account isn't linked to a shop account yet. Ask an admin for a link code, then run /link code:XXXX-XXXX."
    )]
    NotLinked,
    #[error("You're already linked to account {0}.")]
    AlreadyLinked(String),
    #[error("That member isn't linked to a shop account.")]
    MemberNotLinked,
    #[error("That member is already linked to account {0}.")]
    MemberAlreadyLinked(String),
    #[error(
        "Account {0} is already linked to another member; an account belongs to one member only."
    )]
    AccountAlreadyLinked(String),
    #[error("I don't know that link code. Check it, or ask an admin for a new one.")]
    LinkCodeUnknown,
    #[error("That link code has already been used. Ask an admin for a new one.")]
    LinkCodeUsed,
    #[error("That link code has expired. Ask an admin for a new one.")]
    LinkCodeExpired,
    #[error("A link code was already issued for this request; ask again for a new one.")]
    LinkCodeAlreadyIssued,

    // A grant's number is the lot's `LotId::get()`: this module sits below the ledger, so
    // it can't name `ledger::LotId`.
    #[error("I couldn't find grant #{0}.")]
    UnknownGrant(i64),
    #[error("Grant #{0} has nothing left to revoke.")]
    GrantNothingLeft(i64),

    #[error("Order {0} is already recorded with different details.")]
    OrderAlreadyRecorded(String),
    #[error("I couldn't find order {0}.")]
    UnknownOrder(String),
    #[error("An order needs at least one item.")]
    OrderWithoutItems,
    /// `line` is the item's place in the request (0 is the first).
    #[error("Item {item}: the quantity must be a whole number of at least 1.")]
    ItemQuantity { item: String, line: usize },
    #[error("Item {item}: the price can't be negative.")]
    ItemPriceNegative { item: String, line: usize },
    /// `line` is the second place the item appears in the request, the one at fault.
    #[error("Item {item} appears twice in the order; list each item once with its quantity.")]
    ItemDuplicated { item: String, line: usize },
    #[error("That order's total is too large to record.")]
    OrderTooLarge,
    #[error("Part of this order is paid by another method; say which one (for example Visa).")]
    PaymentMethodMissing,

    #[error("Order {order} has no item {item}.")]
    UnknownItem { order: String, item: String },
    #[error(
        "Item {item}: {bought} bought and {returned} already returned, so {asked} more can't be returned."
    )]
    ReturnTooMany {
        item: String,
        bought: i64,
        returned: i64,
        asked: i64,
    },
    #[error("Everything on order {0} has already been returned.")]
    NothingToReturn(String),
    #[error("Return {0} is already recorded with different details.")]
    ReturnAlreadyRecorded(String),

    #[error("This request was already carried out with different details; nothing was changed.")]
    IdempotencyConflict,

    /// `suggestion` is the known command nearest to what was typed ("/balanc" → balance).
    #[error("{}", unknown_command(path, suggestion.as_deref()))]
    UnknownCommand {
        path: String,
        suggestion: Option<String>,
    },
    /// Words after `option:value` that were not quoted: they belong to the value.
    #[error("Put a value with spaces in quotes: {option}:\"{value}\".")]
    ValueNeedsQuotes { option: String, value: String },
    /// A typed command in a channel others read: commands answer privately, which only
    /// Discord's command menu can do there.
    #[error(
        "I answer /{0} privately, which I can't do in reply to a message here: type / and pick {0} from Discord's command list, or send it to me in a DM."
    )]
    TypedCommandInChannel(String),
    /// "1" or "2" typed when no "Did you mean …?" is waiting for an answer.
    #[error("That choice has expired. Ask your question again and I'll offer the choices anew.")]
    ChoiceExpired,
    /// An admin typed "/admin" alone or an unknown subcommand; `subcommands` are the admin
    /// commands' paths, from the command table.
    #[error("{}", unknown_admin_command(path, subcommands))]
    UnknownAdminCommand {
        path: String,
        subcommands: Vec<&'static str>,
    },
    #[error("/{command} needs {option}:, for example {example}.")]
    MissingOption {
        command: String,
        option: &'static str,
        example: &'static str,
    },
    #[error("/{command} has no option {option}. /help shows its options.")]
    UnknownOption { command: String, option: String },
    /// A word that isn't `name:value`; `examples` are option examples from the command table
    /// (`days:60`), none when the command takes no options.
    #[error("{}", not_name_value(command, word, examples))]
    OptionNotNameValue {
        command: String,
        word: String,
        examples: Vec<&'static str>,
    },
    #[error("{option} must be a whole number from {min} to {max}, not \"{value}\".")]
    NumberOutOfRange {
        option: &'static str,
        value: String,
        min: i64,
        max: i64,
    },
    #[error(
        "\"{0}\" isn't a grant number; grants look like #57. /admin account lists a member's grants."
    )]
    GrantIdNotReadable(String),
    #[error("\"{0}\" isn't a kind of grant; use gift, promotion, goodwill, refund or admin.")]
    UnknownSource(String),
    #[error("I don't have a topic \"{0}\". /help lists the topics.")]
    UnknownTopic(String),
    #[error("\"{0}\" isn't a member I can read; mention them, like @alice.")]
    MemberNotReadable(String),
    #[error(
        "{0} isn't linked to a shop account. Link them with /admin link member:{0} account:ACC-…"
    )]
    MemberHasNoAccount(String),
    #[error(
        "Only creditbot admins can {action}. If you think you should be one, ask a server admin."
    )]
    NotAdmin { action: &'static str },
    #[error("That button has expired; ask your question again.")]
    UnknownChoice,
    #[error("Please ask a question, for example: do my credits expire?")]
    EmptyQuestion,
    #[error("That amount is too large.")]
    AmountTooLargeToStore,
    #[error("{}", comma_decimal(.0))]
    AmountCommaDecimal(AmountInput),
    #[error("A return can't be dated before its order.")]
    ReturnBeforeOrder,
    #[error(
        "That time is in the future; give the time it happened (at most {minutes} minutes ahead of now), or leave it out for now."
    )]
    TimeInFuture { minutes: i64 },
    #[error(
        "Grant #{grant} isn't one of {member}'s grants. /admin account member:{member} lists them."
    )]
    GrantOfAnotherMember { grant: i64, member: String },
    #[error(
        "quantity: needs item: to say which item to return, for example item:hobbit-ebook quantity:2. Nothing was returned; leave both out to return the whole order."
    )]
    QuantityWithoutItem,
    #[error("{}", no_such_page(*page, *pages, command))]
    NoSuchPage {
        page: u32,
        pages: u32,
        /// The command that shows the history, e.g. "/history".
        command: String,
    },
    #[error(
        "That time is more than {days} days ago; the ledger takes changes dated at most {days} days back."
    )]
    TimeTooFarBack { days: u32 },
    #[error("That time is before account {0} was opened.")]
    TimeBeforeAccount(String),
    #[error(
        "\"{0}\" can't be an account id: use 1 to 64 letters (A-Z), digits, '-', '_' or '.', like ACC-1042."
    )]
    AccountIdNotValid(String),
    /// Account ids are compared ignoring case: `typed` is `existing` spelled another way.
    #[error(
        "{typed} differs from the existing account {existing} only in capitals, and account ids ignore capitals; use {existing}."
    )]
    AccountLookAlike { typed: String, existing: String },
    #[error(
        "Account {0} is linked to a member, so no link code is made for it: whoever redeemed it after they unlink would see their history."
    )]
    CodeForLinkedAccount(String),
    #[error(
        "That link code is no longer valid: its account was linked since the code was made. Ask an admin for a new one."
    )]
    LinkCodeVoided,
    #[error(
        "/admin account needs either member: or account:, for example member:@alice or account:ACC-1042."
    )]
    MemberOrAccount,
    #[error("{option} must be true or false, not \"{value}\".")]
    NotTrueOrFalse { option: &'static str, value: String },
    /// `/admin link` to an account that doesn't exist, without `create:true`.
    #[error(
        "There's no account {account}, so {member} wasn't linked. Check the id; if it's a new shop account, run /admin link member:{member} account:{account} create:true"
    )]
    AccountToCreate { account: String, member: String },
    #[error(
        "Grant #{0} was revoked, so there's no credit left on it whose expiry could change. Nothing was changed."
    )]
    ExpiryOfRevokedGrant(i64),
    /// `regrant` is the command that gives the lost credit back as a new grant.
    #[error(
        "Grant #{grant} already expired on {expired_on}, and expired credit stays expired, so a new date would give nothing back; nothing was changed. To give the {lost} back, make a new grant: {regrant}"
    )]
    ExpiryOfExpiredGrant {
        grant: i64,
        expired_on: String,
        lost: String,
        regrant: String,
    },
    #[error(
        "Grant #{0} has nothing left on it (all spent), so a new expiry would give the member nothing; nothing was changed. To give them credit, make a new grant with /admin grant."
    )]
    ExpiryOfEmptyGrant(i64),
    /// `UnknownOrder` as an admin reads it: no "your orders".
    #[error(
        "I couldn't find order {0}. Check the number against the shop's records; orders reach creditbot through the shop's feed."
    )]
    UnknownOrderForAdmin(String),
    /// `items` are the order's items.
    #[error(
        "Order {order} has no item \"{item}\". Its items: {}. Give item: one of those ids or titles.",
        ItemName::list(items)
    )]
    UnknownItemForAdmin {
        order: String,
        item: String,
        items: Vec<ItemName>,
    },
    /// `items` are the order's items that `item` matches.
    #[error(
        "\"{item}\" matches more than one item of order {order}: {}. Give item: the item's id.",
        ItemName::list(items)
    )]
    ItemAmbiguous {
        order: String,
        item: String,
        items: Vec<ItemName>,
    },
    #[error(
        "That confirmation isn't one I can act on; nothing was changed. Run the command again."
    )]
    ConfirmationUnknown,
    #[error("That confirmation was already answered; nothing more was changed.")]
    ConfirmationAnswered,
    #[error(
        "That confirmation has expired (they last a minute), so nothing was changed. Run the command again if you still want it."
    )]
    ConfirmationExpired,
    #[error(
        "set:off and days: don't go together: /reminders off stops reminders, /reminders days:3 chooses when they come."
    )]
    RemindersOffWithDays,
    #[error("\"{0}\" isn't on or off; try /reminders off, /reminders on or /reminders days:3.")]
    RemindersSetUnknown(String),
}

/// Which input of a request a refusal is about. Each door names it its own way: chat and the
/// console in words (`Display`: "The order id"), the store API as the JSON path
/// (`wire::json_path`: `items[2].sku`), the importer by its line and that path. Items are
/// numbered by their place in the request, 0 first, so no door has to find them again by text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    AccountId,
    DisplayName,
    Member,
    OrderId,
    ReturnId,
    Reason,
    Note,
    PaymentMethod,
    /// The idempotency key of a change.
    RequestKey,
    /// An order's item: its SKU, title, quantity or unit price.
    ItemSku(usize),
    ItemTitle(usize),
    ItemQuantity(usize),
    ItemPrice(usize),
    /// A return's list of items, and one line of it (the item it names).
    ReturnItems,
    ReturnItem(usize),
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::AccountId => "The account id",
            Field::DisplayName => "The display name",
            Field::Member => "The member",
            Field::OrderId => "The order id",
            Field::ReturnId => "The return id",
            Field::Reason => "The reason",
            Field::Note => "The note",
            Field::PaymentMethod => "The payment method",
            Field::RequestKey => "The request key",
            Field::ItemSku(_) => "An item's SKU",
            Field::ItemTitle(_) => "An item's title",
            Field::ItemQuantity(_) => "An item's quantity",
            Field::ItemPrice(_) => "An item's price",
            Field::ReturnItems => "The list of items to return",
            Field::ReturnItem(_) => "The item",
        })
    }
}

impl UserError {
    /// The input this refusal is about, when the refusal itself knows it (a text check, an
    /// order's item by its place). Refusals about the state of the ledger (no such account, a
    /// return of more than was bought) don't: which field that is depends on the request.
    pub fn field(&self) -> Option<Field> {
        match self {
            UserError::EmptyField { field }
            | UserError::FieldTooLong { field, .. }
            | UserError::SurroundingSpace { field }
            | UserError::ControlCharacters { field }
            | UserError::InvisibleCharacters { field }
            | UserError::DecomposedLetters { field } => Some(*field),
            UserError::ItemQuantity { line, .. } => Some(Field::ItemQuantity(*line)),
            UserError::ItemPriceNegative { line, .. } => Some(Field::ItemPrice(*line)),
            UserError::ItemDuplicated { line, .. } => Some(Field::ItemSku(*line)),
            _ => None,
        }
    }
}

fn not_name_value(command: &str, word: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        format!("/{command} takes no options; just type /{command} (I couldn't read \"{word}\").")
    } else {
        format!(
            "/{command} takes options as name:value, like /{command} {} (I couldn't read \"{word}\").",
            examples.join(" ")
        )
    }
}

fn unknown_command(path: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(known) => format!("I don't know the command /{path}. Did you mean /{known}?"),
        None => format!("I don't know the command /{path}. /help lists what I can do."),
    }
}

fn unknown_admin_command(path: &str, subcommands: &[&str]) -> String {
    let subcommands = subcommands
        .iter()
        .map(|path| format!("/{path}"))
        .collect::<Vec<_>>()
        .join(", ");
    if path == "admin" {
        format!("/admin needs a subcommand: {subcommands}. /help shows their options.")
    } else {
        format!(
            "I don't know the command /{path}. Admin commands: {subcommands}. /help shows their options."
        )
    }
}

fn no_such_page(page: u32, pages: u32, command: &str) -> String {
    if pages == 1 {
        format!("There's only 1 page of history, so there's no page {page}. {command} shows it.")
    } else {
        format!(
            "There are only {pages} pages of history, so there's no page {page}. {command} page:{pages} shows the oldest."
        )
    }
}

/// An order's item as an admin picks it: its id, and its title when that says more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemName {
    pub sku: String,
    pub title: String,
}

impl ItemName {
    fn list(items: &[ItemName]) -> String {
        items
            .iter()
            .map(ItemName::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for ItemName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sku == self.title {
            f.write_str(&self.sku)
        } else {
            write!(f, "{} ({})", self.sku, self.title)
        }
    }
}

/// Text typed as an amount, with the number of decimals the currency uses, so the refusal
/// can show an example that the currency accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmountInput {
    pub text: String,
    pub scale: u32,
}

impl AmountInput {
    pub fn new(text: &str, scale: u32) -> Self {
        AmountInput {
            text: text.trim().to_string(),
            scale,
        }
    }
}

/// An amount written with `scale` decimals: "12" for 0, "12.5" for 1, "12.50" for 2, "12.500" for 3.
pub fn example_amount(scale: u32) -> String {
    if scale == 0 {
        return "12".into();
    }
    let decimals: String = "5"
        .chars()
        .chain(std::iter::repeat('0'))
        .take(scale as usize)
        .collect();
    format!("12.{decimals}")
}

fn too_many_decimals(found: u32, scale: u32) -> String {
    if scale == 0 {
        format!(
            "That amount has {}; credits use whole numbers only (for example {}).",
            crate::words::count(found, "decimal"),
            example_amount(0)
        )
    } else {
        format!(
            "That amount has {}; credits use {scale} (for example {}).",
            crate::words::count(found, "decimal"),
            example_amount(scale)
        )
    }
}

fn comma_decimal(input: &AmountInput) -> String {
    let text = &input.text;
    if input.scale == 0 {
        format!(
            "\"{text}\" has a comma where decimals would go, but credits use whole numbers only; write it like 12 (commas only group thousands, as in 1,000)."
        )
    } else {
        format!(
            "\"{text}\" has a comma where the decimals go; write it with a point, like {} (commas only group thousands, as in 1,000.{}).",
            example_amount(input.scale),
            "0".repeat(input.scale as usize)
        )
    }
}

/// Any failure of a ledger or assistant call.
#[derive(Debug, Error)]
pub enum Error {
    /// Shown to the member as is.
    #[error(transparent)]
    User(#[from] UserError),
    /// Logged with its context; the member gets an apology with a reference.
    #[error("internal error while {context}: {source}")]
    Internal {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub fn internal(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Internal {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The member-facing error, if this is one.
    pub fn as_user(&self) -> Option<&UserError> {
        match self {
            Error::User(user) => Some(user),
            Error::Internal { .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an apology shows and the log line of the failure carries, so an admin handed one can
/// find the other: `E-` and 8 hex digits, the same shape at every door (chat, the
/// console, the store API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference(String);

impl Reference {
    /// The reference of a request that has an id of its own (a Discord interaction): the same
    /// request always gets the same reference.
    pub fn of(request_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(request_id.as_bytes());
        Reference::from_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    /// A fresh reference, for a request with no id (an API call).
    pub fn random() -> Self {
        let mut bytes = [0u8; 4];
        // A reference only has to tell failures apart in a log; if the system has no
        // randomness to give, a fixed one is still a valid reference.
        let _ = getrandom::fill(&mut bytes);
        Reference::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; 4]) -> Self {
        Reference(format!("E-{}", hex::encode_upper(bytes)))
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_has_one_shape_and_the_same_request_gets_the_same_one() {
        let shape = |r: &Reference| {
            let text = r.to_string();
            text.len() == 10
                && text.starts_with("E-")
                && text[2..]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        };
        assert!(
            shape(&Reference::of("1234|99")),
            "{}",
            Reference::of("1234|99")
        );
        assert!(shape(&Reference::random()));
        assert_eq!(Reference::of("a"), Reference::of("a"));
        assert_ne!(Reference::of("a"), Reference::of("b"));
    }

    #[test]
    fn amount_examples_follow_the_currency_decimals() {
        assert_eq!(example_amount(0), "12");
        assert_eq!(example_amount(1), "12.5");
        assert_eq!(example_amount(2), "12.50");
        assert_eq!(example_amount(3), "12.500");
        assert_eq!(
            UserError::AmountTooManyDecimals { found: 3, scale: 2 }.to_string(),
            "That amount has 3 decimals; credits use 2 (for example 12.50)."
        );
        assert_eq!(
            UserError::AmountTooManyDecimals { found: 1, scale: 0 }.to_string(),
            "That amount has 1 decimal; credits use whole numbers only (for example 12)."
        );
        assert_eq!(
            UserError::AmountNotANumber(AmountInput::new(" ten ", 0)).to_string(),
            "\"ten\" isn't an amount I can read; write it like 12."
        );
        assert_eq!(
            UserError::AmountCommaDecimal(AmountInput::new("2,50", 2)).to_string(),
            "\"2,50\" has a comma where the decimals go; write it with a point, like 12.50 (commas only group thousands, as in 1,000.00)."
        );
    }

    #[test]
    fn a_page_past_the_end_names_the_last_one() {
        let error = |pages| UserError::NoSuchPage {
            page: 9,
            pages,
            command: "/history".into(),
        };
        assert_eq!(
            error(1).to_string(),
            "There's only 1 page of history, so there's no page 9. /history shows it."
        );
        assert_eq!(
            error(3).to_string(),
            "There are only 3 pages of history, so there's no page 9. /history page:3 shows the oldest."
        );
    }
}
