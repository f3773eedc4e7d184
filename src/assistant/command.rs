//! Commands as typed values: the table of every command (name, options, help) that the
//! transports show and register, and the parser from a name and `name:value` options to a
//! `Command`. Text in, a typed command or a `UserError` out; no I/O, no ledger, no Discord.

use crate::error::UserError;
use crate::ledger::{LotId, Source};

/// What kind of value an option takes. Amounts and dates stay text here and are parsed
/// exactly by the assistant, which knows the currency and `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    Text,
    /// A member: a Discord mention or user id, or a console name.
    Member,
    /// Money as text, never a floating-point number.
    Amount,
    Integer {
        min: i64,
        max: i64,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptionKind,
    pub required: bool,
    pub description: &'static str,
    pub example: &'static str,
    /// Discord asks the bot for suggestions as the member types.
    pub autocomplete: bool,
    /// A fixed list of values to offer.
    pub choices: &'static [&'static str],
}

#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// Which command this row defines; handlers match on it, never on the path's text.
    pub name: Name,
    /// "balance", or "admin grant" for a subcommand.
    pub path: &'static str,
    pub description: &'static str,
    pub options: &'static [OptionSpec],
    /// For an admin command, what it does as a non-admin's refusal says it ("Only creditbot
    /// admins can grant credits."); `None` for a member's command.
    pub admin_action: Option<&'static str>,
}

impl CommandSpec {
    pub fn is_admin(&self) -> bool {
        self.admin_action.is_some()
    }
}

/// Every chat command, one variant per row of [`COMMANDS`] (which holds its path, options,
/// help and admin action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Name {
    Balance,
    Expiry,
    Order,
    History,
    Transfer,
    Faq,
    Ask,
    Link,
    Unlink,
    Help,
    Reminders,
    AdminGrant,
    AdminRevoke,
    AdminExpiry,
    AdminLink,
    AdminUnlink,
    AdminCode,
    AdminAccount,
    AdminHistory,
    AdminReturn,
    AdminUnanswered,
    AdminReminders,
}

impl Name {
    /// This command's row of [`COMMANDS`].
    pub fn spec(self) -> &'static CommandSpec {
        COMMANDS
            .iter()
            .find(|c| c.name == self)
            .expect("every command name has a row in COMMANDS")
    }

    /// Its path, e.g. "admin grant".
    pub fn path(self) -> &'static str {
        self.spec().path
    }
}

const fn opt(
    name: &'static str,
    kind: OptionKind,
    required: bool,
    description: &'static str,
    example: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        required,
        description,
        example,
        autocomplete: false,
        choices: &[],
    }
}

const fn with_autocomplete(mut spec: OptionSpec) -> OptionSpec {
    spec.autocomplete = true;
    spec
}

const PAGE: OptionSpec = opt(
    "page",
    OptionKind::Integer {
        min: 1,
        max: 10_000,
    },
    false,
    "Which page (1 is the newest)",
    "page:2",
);
const MEMBER: OptionSpec = opt(
    "member",
    OptionKind::Member,
    true,
    "The member",
    "member:@alice",
);
const GRANT: OptionSpec = with_autocomplete(opt(
    "grant",
    OptionKind::Text,
    true,
    "The grant's number, like #57",
    "grant:57",
));
/// The member a grant belongs to, on `/admin revoke` and `/admin expiry`: optional, checked
/// when given, and it narrows the grant suggestions to that member's.
const GRANT_MEMBER: OptionSpec = opt(
    "member",
    OptionKind::Member,
    false,
    "Whose grant it is (checked; suggests their grants)",
    "member:@alice",
);
/// A shop account id; see `AccountId::parse` for how ids are written.
const ACCOUNT: OptionSpec = opt(
    "account",
    OptionKind::Text,
    true,
    "The shop account id, like ACC-1042",
    "account:ACC-1042",
);
const REASON: OptionSpec = opt(
    "reason",
    OptionKind::Text,
    true,
    "Why: the member reads this in their history",
    "reason:\"duplicate\"",
);
/// An admin's note on a change: never shown to the member (the reason is).
const NOTE: OptionSpec = opt(
    "note",
    OptionKind::Text,
    false,
    "For admins only: never shown to the member",
    "note:\"dup of #14\"",
);

/// Every command the assistant understands. The Discord adapter registers these; /help and
/// the console list them. Keep descriptions under 100 characters (Discord's limit).
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: Name::Balance,
        path: "balance",
        description: "Your available credits and when they expire",
        options: &[],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Expiry,
        path: "expiry",
        description: "When your credits expire",
        options: &[opt(
            "days",
            OptionKind::Integer { min: 1, max: 3650 },
            false,
            "Show what expires within this many days (default 30)",
            "days:60",
        )],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Order,
        path: "order",
        description: "Whether credits paid for an order, and what a return gives back",
        options: &[with_autocomplete(opt(
            "id",
            OptionKind::Text,
            true,
            "The order number",
            "id:7781",
        ))],
        admin_action: None,
    },
    CommandSpec {
        name: Name::History,
        path: "history",
        description: "Everything that happened to your credits, newest first",
        options: &[PAGE],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Transfer,
        path: "transfer",
        description: "Move credits to someone else (they can't be moved; this explains why)",
        options: &[
            opt(
                "to",
                OptionKind::Member,
                true,
                "Who you wanted to give credits to",
                "to:@sam",
            ),
            opt("amount", OptionKind::Amount, true, "How much", "amount:10"),
        ],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Faq,
        path: "faq",
        description: "Answers about digital credits, by topic",
        options: &[with_autocomplete(opt(
            "topic",
            OptionKind::Text,
            true,
            "The topic",
            "topic:expiry",
        ))],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Ask,
        path: "ask",
        description: "Ask anything about your credits in your own words",
        options: &[opt(
            "question",
            OptionKind::Text,
            true,
            "Your question",
            "question:\"do my credits expire?\"",
        )],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Link,
        path: "link",
        description: "Link your Discord account to your shop account with a code from an admin",
        options: &[opt(
            "code",
            OptionKind::Text,
            true,
            "The link code, like K7QM-3XHD",
            "code:K7QM-3XHD",
        )],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Unlink,
        path: "unlink",
        description: "Unlink your Discord account from your shop account",
        options: &[],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Help,
        path: "help",
        description: "What creditbot can do",
        options: &[],
        admin_action: None,
    },
    CommandSpec {
        name: Name::Reminders,
        path: "reminders",
        description: "Your expiry reminders: see them, turn them on or off, or choose when",
        options: &[
            OptionSpec {
                choices: &["on", "off"],
                ..opt(
                    "set",
                    OptionKind::Text,
                    false,
                    "Turn reminders on or off",
                    "set:off",
                )
            },
            opt(
                "days",
                OptionKind::Integer { min: 1, max: 60 },
                false,
                "Remind me this many days before credit expires",
                "days:3",
            ),
        ],
        admin_action: None,
    },
    CommandSpec {
        name: Name::AdminGrant,
        path: "admin grant",
        description: "Grant credits to a member",
        options: &[
            MEMBER,
            opt(
                "amount",
                OptionKind::Amount,
                true,
                "How much, like 12.50",
                "amount:12.50",
            ),
            opt(
                "expires",
                OptionKind::Text,
                false,
                "Days until it expires, a date (2027-06-30) or never",
                "expires:90",
            ),
            OptionSpec {
                choices: &["gift", "promotion", "goodwill", "refund", "admin"],
                ..opt(
                    "source",
                    OptionKind::Text,
                    false,
                    "Where the credit comes from (default goodwill)",
                    "source:promotion",
                )
            },
            opt(
                "reason",
                OptionKind::Text,
                false,
                "Why: the member reads this in their history (default: the source)",
                "reason:\"late delivery\"",
            ),
            NOTE,
        ],
        admin_action: Some("grant credits"),
    },
    CommandSpec {
        name: Name::AdminRevoke,
        path: "admin revoke",
        description: "Revoke what is left of a grant",
        options: &[GRANT, REASON, GRANT_MEMBER, NOTE],
        admin_action: Some("revoke credits"),
    },
    CommandSpec {
        name: Name::AdminExpiry,
        path: "admin expiry",
        description: "Change when a grant expires",
        options: &[
            GRANT,
            opt(
                "date",
                OptionKind::Text,
                true,
                "The new date (2027-06-30), days from now, or never",
                "date:2027-06-30",
            ),
            REASON,
            GRANT_MEMBER,
            NOTE,
        ],
        admin_action: Some("change when credits expire"),
    },
    CommandSpec {
        name: Name::AdminLink,
        path: "admin link",
        description: "Link a member to a shop account",
        options: &[
            MEMBER,
            ACCOUNT,
            OptionSpec {
                choices: &["true", "false"],
                ..opt(
                    "create",
                    OptionKind::Text,
                    false,
                    "true to create the account if it doesn't exist yet (default false)",
                    "create:true",
                )
            },
        ],
        admin_action: Some("link members to accounts"),
    },
    CommandSpec {
        name: Name::AdminUnlink,
        path: "admin unlink",
        description: "Unlink a member from their shop account",
        options: &[MEMBER],
        admin_action: Some("unlink members"),
    },
    CommandSpec {
        name: Name::AdminCode,
        path: "admin code",
        description: "Make a single-use link code for a shop account that no member holds",
        options: &[ACCOUNT],
        admin_action: Some("make link codes"),
    },
    CommandSpec {
        name: Name::AdminAccount,
        path: "admin account",
        description: "The credits and grants of a member, or of a shop account",
        options: &[
            opt(
                "member",
                OptionKind::Member,
                false,
                "The member (or give account:)",
                "member:@alice",
            ),
            opt(
                "account",
                OptionKind::Text,
                false,
                "The shop account id (or give member:)",
                "account:ACC-1042",
            ),
        ],
        admin_action: Some("see another member's credits"),
    },
    CommandSpec {
        name: Name::AdminHistory,
        path: "admin history",
        description: "A member's credit history",
        options: &[MEMBER, PAGE],
        admin_action: Some("see another member's history"),
    },
    CommandSpec {
        name: Name::AdminReturn,
        path: "admin return",
        description: "Record a return of an order, or of some of its items",
        options: &[
            opt(
                "order",
                OptionKind::Text,
                true,
                "The order number",
                "order:7781",
            ),
            opt(
                "return-id",
                OptionKind::Text,
                true,
                "The return's own id (a retry with it counts once)",
                "return-id:R-1",
            ),
            with_autocomplete(opt(
                "item",
                OptionKind::Text,
                false,
                "Only this item: its id or its title (/order shows both); default the whole order",
                "item:hobbit-ebook",
            )),
            opt(
                "quantity",
                OptionKind::Integer { min: 1, max: 1000 },
                false,
                "How many of the item (default 1)",
                "quantity:1",
            ),
        ],
        admin_action: Some("record returns"),
    },
    CommandSpec {
        name: Name::AdminUnanswered,
        path: "admin unanswered",
        description: "Questions the FAQ could not answer, most asked first",
        options: &[],
        admin_action: Some("see unanswered questions"),
    },
    CommandSpec {
        name: Name::AdminReminders,
        path: "admin reminders",
        description: "Expiry reminders: the last run (sent, skipped, failed) and the next",
        options: &[],
        admin_action: Some("see reminder runs"),
    },
];

/// A command with its arguments checked and typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Balance,
    Expiry {
        days: u32,
    },
    Order {
        id: String,
    },
    History {
        page: u32,
    },
    Transfer {
        to: String,
        amount: String,
    },
    Faq {
        topic: String,
    },
    Ask {
        question: String,
    },
    Link {
        code: String,
    },
    Unlink,
    Help,
    /// `/reminders`, `/reminders on|off`, `/reminders days:N`.
    Reminders {
        change: Option<crate::ledger::ReminderChange>,
    },
    Admin(AdminCommand),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    Grant {
        member: String,
        amount: String,
        expires: Option<String>,
        source: Source,
        reason: Option<String>,
        note: Option<String>,
    },
    Revoke {
        grant: LotId,
        reason: String,
        /// When given, the grant must be this member's.
        member: Option<String>,
        note: Option<String>,
    },
    Expiry {
        grant: LotId,
        date: String,
        reason: String,
        /// When given, the grant must be this member's.
        member: Option<String>,
        note: Option<String>,
    },
    Link {
        member: String,
        account: String,
        /// Create the account when it doesn't exist; without it, a missing account is refused.
        create: bool,
    },
    Unlink {
        member: String,
    },
    Code {
        account: String,
    },
    Account {
        of: AccountOf,
    },
    History {
        member: String,
        page: u32,
    },
    Return {
        order: String,
        return_id: String,
        item: Option<String>,
        quantity: i64,
    },
    Unanswered,
    Reminders,
}

/// Whose account an admin asks about: a member's, or a shop account by its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountOf {
    Member(String),
    Account(String),
}

impl Command {
    pub fn is_admin(&self) -> bool {
        matches!(self, Command::Admin(_))
    }
}

impl AdminCommand {
    /// Its row in the command table.
    pub fn name(&self) -> Name {
        match self {
            AdminCommand::Grant { .. } => Name::AdminGrant,
            AdminCommand::Revoke { .. } => Name::AdminRevoke,
            AdminCommand::Expiry { .. } => Name::AdminExpiry,
            AdminCommand::Link { .. } => Name::AdminLink,
            AdminCommand::Unlink { .. } => Name::AdminUnlink,
            AdminCommand::Code { .. } => Name::AdminCode,
            AdminCommand::Account { .. } => Name::AdminAccount,
            AdminCommand::History { .. } => Name::AdminHistory,
            AdminCommand::Return { .. } => Name::AdminReturn,
            AdminCommand::Unanswered => Name::AdminUnanswered,
            AdminCommand::Reminders => Name::AdminReminders,
        }
    }

    /// Its path in the command table, e.g. "admin grant".
    pub fn path(&self) -> &'static str {
        self.name().path()
    }
}

/// The spec of a command path ("admin grant"), if there is one.
pub fn spec(path: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.path == path)
}

/// A command path as the table writes it: "/Admin  Grant" → "admin grant".
pub fn normalize_path(path: &str) -> String {
    path.trim()
        .trim_start_matches('/')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// True for "admin" and every "admin …" path, known or not: only admins may hear more.
pub fn is_admin_path(path: &str) -> bool {
    path == "admin" || path.starts_with("admin ")
}

/// What an admin command does, for the refusal a non-admin reads ("Only creditbot admins
/// can grant credits."); a generic phrase for "/admin" alone or an unknown subcommand.
pub fn admin_action(path: &str) -> &'static str {
    spec(path)
        .and_then(|spec| spec.admin_action)
        .unwrap_or("use admin commands")
}

/// The options of an example of a whole command: its required options' examples, or its
/// first option's (`days:60` for /expiry); none for a command without options.
pub fn usage_examples(spec: &CommandSpec) -> Vec<&'static str> {
    let required: Vec<&'static str> = spec
        .options
        .iter()
        .filter(|o| o.required)
        .map(|o| o.example)
        .collect();
    if required.is_empty() {
        spec.options
            .first()
            .map(|o| o.example)
            .into_iter()
            .collect()
    } else {
        required
    }
}

/// Parses a command from its path and `name:value` options. An option with an empty name
/// is a word a transport could not pair with a name (the console's `/expiry 60`): it is
/// refused with an example of this command.
pub fn parse(path: &str, options: &[(String, String)]) -> Result<Command, UserError> {
    let path = normalize_path(path);
    let spec = spec(&path).ok_or_else(|| UserError::UnknownCommand {
        suggestion: nearest_command(&path).map(str::to_string),
        path: path.clone(),
    })?;
    if let Some(position) = options.iter().position(|(name, _)| name.is_empty()) {
        // `reason:late delivery` typed without quotes: the stray words belong to the
        // value before them, and quotes are the fix.
        if let Some((option, value)) = position.checked_sub(1).map(|i| &options[i])
            && !option.is_empty()
        {
            let stray: Vec<&str> = options[position..]
                .iter()
                .take_while(|(name, _)| name.is_empty())
                .map(|(_, word)| word.as_str())
                .collect();
            return Err(UserError::ValueNeedsQuotes {
                option: option.clone(),
                value: format!("{value} {}", stray.join(" ")),
            });
        }
        let word = &options[position].1;
        return Err(UserError::OptionNotNameValue {
            command: spec.path.to_string(),
            word: word.clone(),
            examples: usage_examples(spec),
        });
    }
    let args = Args { spec, options };
    args.check_names()?;
    Ok(match spec.name {
        Name::Balance => Command::Balance,
        Name::Expiry => Command::Expiry {
            days: args.integer("days")?.unwrap_or(30) as u32,
        },
        Name::Order => Command::Order {
            id: order_id(&args.required("id")?),
        },
        Name::History => Command::History {
            page: args.integer("page")?.unwrap_or(1) as u32,
        },
        Name::Transfer => Command::Transfer {
            to: args.member("to")?,
            amount: args.required("amount")?,
        },
        Name::Faq => Command::Faq {
            topic: args.required("topic")?,
        },
        Name::Ask => Command::Ask {
            question: args.required("question")?,
        },
        Name::Link => Command::Link {
            code: args.required("code")?,
        },
        Name::Unlink => Command::Unlink,
        Name::Help => Command::Help,
        Name::AdminGrant => Command::Admin(AdminCommand::Grant {
            member: args.member("member")?,
            amount: args.required("amount")?,
            expires: args.optional("expires"),
            source: match args.optional("source") {
                Some(text) => Source::parse(&text).ok_or(UserError::UnknownSource(text))?,
                None => Source::Goodwill,
            },
            reason: args.optional("reason"),
            note: args.optional("note"),
        }),
        Name::AdminRevoke => Command::Admin(AdminCommand::Revoke {
            grant: args.grant()?,
            reason: args.required("reason")?,
            member: args.optional_member("member")?,
            note: args.optional("note"),
        }),
        Name::AdminExpiry => Command::Admin(AdminCommand::Expiry {
            grant: args.grant()?,
            date: args.required("date")?,
            reason: args.required("reason")?,
            member: args.optional_member("member")?,
            note: args.optional("note"),
        }),
        Name::AdminLink => Command::Admin(AdminCommand::Link {
            member: args.member("member")?,
            account: args.required("account")?,
            create: args.yes_no("create")?.unwrap_or(false),
        }),
        Name::AdminUnlink => Command::Admin(AdminCommand::Unlink {
            member: args.member("member")?,
        }),
        Name::AdminCode => Command::Admin(AdminCommand::Code {
            account: args.required("account")?,
        }),
        Name::AdminAccount => Command::Admin(AdminCommand::Account {
            of: match (args.optional_member("member")?, args.optional("account")) {
                (Some(member), None) => AccountOf::Member(member),
                (None, Some(account)) => AccountOf::Account(account),
                _ => return Err(UserError::MemberOrAccount),
            },
        }),
        Name::AdminHistory => Command::Admin(AdminCommand::History {
            member: args.member("member")?,
            page: args.integer("page")?.unwrap_or(1) as u32,
        }),
        Name::AdminReturn => {
            let order = order_id(&args.required("order")?);
            let return_id = args.required("return-id")?;
            let item = args.optional("item");
            let quantity = args.integer("quantity")?;
            // Without item: the whole order is returned, so a quantity alone would be
            // silently ignored: refuse it rather than return more than was meant.
            if item.is_none() && quantity.is_some() {
                return Err(UserError::QuantityWithoutItem);
            }
            Command::Admin(AdminCommand::Return {
                order,
                return_id,
                item,
                quantity: quantity.unwrap_or(1),
            })
        }
        Name::AdminUnanswered => Command::Admin(AdminCommand::Unanswered),
        Name::AdminReminders => Command::Admin(AdminCommand::Reminders),
        Name::Reminders => {
            use crate::ledger::ReminderChange;
            let set = args.optional("set");
            let days = args.integer("days")?;
            Command::Reminders {
                change: match (set.as_deref().map(str::to_ascii_lowercase).as_deref(), days) {
                    (None, None) => None,
                    (None | Some("on"), Some(days)) => Some(ReminderChange::Days(days as u32)),
                    (Some("on"), None) => Some(ReminderChange::On),
                    (Some("off"), None) => Some(ReminderChange::Off),
                    (Some("off"), Some(_)) => return Err(UserError::RemindersOffWithDays),
                    (Some(other), _) => {
                        return Err(UserError::RemindersSetUnknown(other.to_string()));
                    }
                },
            }
        }
    })
}

/// An order number as members write it: `7781` or `#7781`.
pub fn order_id(text: &str) -> String {
    text.trim().trim_start_matches('#').trim().to_string()
}

/// The known command nearest to a mistyped one: within two edits ("balanc", "blance"),
/// or the one command it begins ("hist"). Admin commands are suggested only for "admin …"
/// paths, so a member's typo never advertises them.
pub fn nearest_command(typed: &str) -> Option<&'static str> {
    let admin = is_admin_path(typed);
    let candidates = COMMANDS
        .iter()
        .filter(|c| c.is_admin() == admin)
        .map(|c| c.path);
    let by_distance = candidates
        .clone()
        .map(|path| (strsim::osa_distance(typed, path), path))
        .filter(|&(distance, path)| distance <= 2 && distance < path.len() / 2 + 1)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, path)| path);
    by_distance.or_else(|| {
        let mut begun = candidates.filter(|path| typed.len() >= 3 && path.starts_with(typed));
        match (begun.next(), begun.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    })
}

/// A line typed as on Discord (the console, or a message that starts with `/`): a command
/// path, then `name:value` options (quote values with spaces); `None` for a blank line
/// and for a line that isn't a command (a question: the caller handles it as text).
///
/// A command's main option may be typed bare: the rest of the line fills its only
/// required option (`/order #7781`, `/ask do credits expire?`), or, for a command whose
/// options are all optional, one bare word fills its only option (`/expiry 30`,
/// `/history 2`). Other bare words stay nameless, for `parse` to refuse with a fix.
pub fn parse_typed(line: &str) -> Option<(String, Vec<(String, String)>)> {
    let command = line.trim().strip_prefix('/')?;
    let tokens = split_words(command);
    // The path is "admin grant" when those two words name a command, else the first word.
    let two = tokens
        .iter()
        .take(2)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    // "/admin foo" names an admin subcommand, known or not, so the refusal can say which.
    let unknown_admin =
        tokens.len() >= 2 && tokens[0].eq_ignore_ascii_case("admin") && !tokens[1].contains(':');
    let path_len = if tokens.len() >= 2 && (spec(&two).is_some() || unknown_admin) {
        2
    } else {
        1
    };
    let path = tokens
        .iter()
        .take(path_len)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let rest = &tokens[path_len.min(tokens.len())..];
    let mut options = Vec::new();
    if let (Some(first), Some(spec)) = (rest.first(), spec(&normalize_path(&path)))
        && !first.contains(':')
    {
        let required: Vec<_> = spec.options.iter().filter(|o| o.required).collect();
        if required.len() == 1 {
            options.push((required[0].name.to_string(), rest.join(" ")));
            return Some((path, options));
        }
        if required.is_empty() && spec.options.len() == 1 && rest.len() == 1 {
            options.push((spec.options[0].name.to_string(), first.clone()));
            return Some((path, options));
        }
        // One bare word that is one of an option's choices fills it (`/reminders off`).
        if let (true, Some(option)) = (
            rest.len() == 1,
            spec.options
                .iter()
                .find(|o| o.choices.iter().any(|c| c.eq_ignore_ascii_case(first))),
        ) {
            options.push((option.name.to_string(), first.clone()));
            return Some((path, options));
        }
    }
    for token in rest {
        match token.split_once(':') {
            Some((name, value)) => options.push((name.trim().to_lowercase(), value.to_string())),
            None => options.push((String::new(), token.clone())),
        }
    }
    Some((path, options))
}

/// Splits on spaces outside double quotes; quotes are removed, `\"` is a literal quote and
/// `\\` a literal backslash.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // `\"` is a quote and `\\` a backslash, so any value can be written back quoted.
            '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                word.extend(chars.next());
            }
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => word.push(c),
        }
    }
    if started || !word.is_empty() {
        words.push(word);
    }
    words
}

/// A member as the ledger knows them: `<@123>` and `<@!123>` (Discord mentions) become
/// `123`; `@alice` becomes `alice`.
pub fn member_id(text: &str) -> Result<String, UserError> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix("<@")
        .and_then(|rest| rest.strip_suffix('>'))
        .map(|id| id.trim_start_matches('!'))
        .unwrap_or_else(|| trimmed.trim_start_matches('@'));
    if inner.is_empty()
        || inner
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
    {
        return Err(UserError::MemberNotReadable(text.trim().to_string()));
    }
    Ok(inner.to_string())
}

/// A grant number as admins write it: `57` or `#57`.
pub fn grant_id(text: &str) -> Result<LotId, UserError> {
    text.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(LotId::new)
        .ok_or_else(|| UserError::GrantIdNotReadable(text.trim().to_string()))
}

struct Args<'a> {
    spec: &'static CommandSpec,
    options: &'a [(String, String)],
}

impl Args<'_> {
    fn check_names(&self) -> Result<(), UserError> {
        for (name, _) in self.options {
            if !self.spec.options.iter().any(|o| o.name == name.as_str()) {
                return Err(UserError::UnknownOption {
                    command: self.spec.path.to_string(),
                    option: name.clone(),
                });
            }
        }
        Ok(())
    }

    fn option_spec(&self, name: &str) -> &'static OptionSpec {
        self.spec
            .options
            .iter()
            .find(|o| o.name == name)
            .expect("option named in the spec")
    }

    fn optional(&self, name: &str) -> Option<String> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<String, UserError> {
        self.optional(name).ok_or_else(|| {
            let spec = self.option_spec(name);
            UserError::MissingOption {
                command: self.spec.path.to_string(),
                option: spec.name,
                example: spec.example,
            }
        })
    }

    fn member(&self, name: &str) -> Result<String, UserError> {
        member_id(&self.required(name)?)
    }

    fn optional_member(&self, name: &str) -> Result<Option<String>, UserError> {
        self.optional(name).map(|text| member_id(&text)).transpose()
    }

    /// An option whose choices are true and false (`yes`/`no` typed in the console too).
    fn yes_no(&self, name: &str) -> Result<Option<bool>, UserError> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" => Ok(Some(true)),
                "false" | "no" => Ok(Some(false)),
                _ => Err(UserError::NotTrueOrFalse {
                    option: self.option_spec(name).name,
                    value: text,
                }),
            },
        }
    }

    fn grant(&self) -> Result<LotId, UserError> {
        grant_id(&self.required("grant")?)
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, UserError> {
        let spec = self.option_spec(name);
        let OptionKind::Integer { min, max } = spec.kind else {
            unreachable!("{name} is not an integer option")
        };
        match self.optional(name) {
            None => Ok(None),
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(UserError::NumberOutOfRange {
                    option: spec.name,
                    value: text,
                    min,
                    max,
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Options = Vec<(String, String)>;

    fn options(pairs: &[(&str, &str)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_each_kind_of_command() {
        let table: Vec<(&str, Options, Command)> = vec![
            ("balance", options(&[]), Command::Balance),
            ("/expiry", options(&[]), Command::Expiry { days: 30 }),
            (
                "expiry",
                options(&[("days", "60")]),
                Command::Expiry { days: 60 },
            ),
            (
                "order",
                options(&[("id", " 7781 ")]),
                Command::Order { id: "7781".into() },
            ),
            (
                "transfer",
                options(&[("to", "<@!42>"), ("amount", "10")]),
                Command::Transfer {
                    to: "42".into(),
                    amount: "10".into(),
                },
            ),
            (
                "admin  grant",
                options(&[
                    ("member", "@alice"),
                    ("amount", "12.50"),
                    ("expires", "90"),
                    ("reason", "goodwill"),
                ]),
                Command::Admin(AdminCommand::Grant {
                    member: "alice".into(),
                    amount: "12.50".into(),
                    expires: Some("90".into()),
                    source: Source::Goodwill,
                    reason: Some("goodwill".into()),
                    note: None,
                }),
            ),
            (
                "admin revoke",
                options(&[("grant", "#57"), ("reason", "oops")]),
                Command::Admin(AdminCommand::Revoke {
                    grant: LotId::new(57),
                    reason: "oops".into(),
                    member: None,
                    note: None,
                }),
            ),
            (
                "admin expiry",
                options(&[
                    ("grant", "57"),
                    ("date", "never"),
                    ("reason", "kind"),
                    ("member", "<@42>"),
                ]),
                Command::Admin(AdminCommand::Expiry {
                    grant: LotId::new(57),
                    date: "never".into(),
                    reason: "kind".into(),
                    member: Some("42".into()),
                    note: None,
                }),
            ),
            (
                "admin return",
                options(&[("order", "7781"), ("return-id", "R1")]),
                Command::Admin(AdminCommand::Return {
                    order: "7781".into(),
                    return_id: "R1".into(),
                    item: None,
                    quantity: 1,
                }),
            ),
        ];
        for (path, opts, expected) in table {
            assert_eq!(parse(path, &opts), Ok(expected), "{path}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_naming_the_problem() {
        let cases: Vec<(&str, Options, UserError)> = vec![
            (
                "balanse",
                options(&[]),
                UserError::UnknownCommand {
                    path: "balanse".into(),
                    suggestion: Some("balance".into()),
                },
            ),
            (
                "order",
                options(&[]),
                UserError::MissingOption {
                    command: "order".into(),
                    option: "id",
                    example: "id:7781",
                },
            ),
            (
                "balance",
                options(&[("days", "3")]),
                UserError::UnknownOption {
                    command: "balance".into(),
                    option: "days".into(),
                },
            ),
            (
                "expiry",
                options(&[("days", "0")]),
                UserError::NumberOutOfRange {
                    option: "days",
                    value: "0".into(),
                    min: 1,
                    max: 3650,
                },
            ),
            (
                "expiry",
                options(&[("days", "ten")]),
                UserError::NumberOutOfRange {
                    option: "days",
                    value: "ten".into(),
                    min: 1,
                    max: 3650,
                },
            ),
            (
                "admin revoke",
                options(&[("grant", "abc"), ("reason", "x")]),
                UserError::GrantIdNotReadable("abc".into()),
            ),
            (
                "admin grant",
                options(&[("member", "a"), ("amount", "1"), ("source", "lottery")]),
                UserError::UnknownSource("lottery".into()),
            ),
            (
                "transfer",
                options(&[("to", "<@>"), ("amount", "1")]),
                UserError::MemberNotReadable("<@>".into()),
            ),
            (
                "admin return",
                options(&[("order", "7781"), ("return-id", "R-q"), ("quantity", "2")]),
                UserError::QuantityWithoutItem,
            ),
            (
                "expiry",
                options(&[("", "60")]),
                UserError::OptionNotNameValue {
                    command: "expiry".into(),
                    word: "60".into(),
                    examples: vec!["days:60"],
                },
            ),
            (
                "balance",
                options(&[("", "extra")]),
                UserError::OptionNotNameValue {
                    command: "balance".into(),
                    word: "extra".into(),
                    examples: vec![],
                },
            ),
        ];
        for (path, opts, expected) in cases {
            assert_eq!(parse(path, &opts), Err(expected), "{path}");
        }
    }

    #[test]
    fn every_admin_command_has_its_own_refusal_and_a_usage_example() {
        for command in COMMANDS {
            assert_eq!(
                is_admin_path(command.path),
                command.is_admin(),
                "{}",
                command.path
            );
            if command.is_admin() {
                assert_ne!(
                    admin_action(command.path),
                    "use admin commands",
                    "{}",
                    command.path
                );
            }
            assert_eq!(
                usage_examples(command).is_empty(),
                command.options.is_empty(),
                "{}",
                command.path
            );
        }
        assert_eq!(
            usage_examples(spec("admin grant").unwrap()),
            ["member:@alice", "amount:12.50"]
        );
    }

    #[test]
    fn every_command_fits_discord_rules() {
        for command in COMMANDS {
            assert!(
                command.description.chars().count() <= 100,
                "{}",
                command.path
            );
            assert!(command.options.len() <= 25);
            let mut seen_optional = false;
            for option in command.options {
                assert!(
                    option.description.chars().count() <= 100,
                    "{} {}",
                    command.path,
                    option.name
                );
                assert!(
                    option.name.len() <= 32
                        && option
                            .name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '-')
                );
                assert!(
                    !(option.required && seen_optional),
                    "{}: required options come first",
                    command.path
                );
                seen_optional |= !option.required;
            }
        }
    }
}
