//! Discord's wire shapes, without a Discord client: the slash commands to register (from
//! `assistant::COMMANDS`), an INTERACTION_CREATE payload read into the assistant's `Who`,
//! `Place` and `Input`, and the JSON bodies that answer it. JSON in, JSON out; no I/O.
//!
//! Both Discord transports use it: the gateway bot (`discord`, serenity) and the HTTP
//! interactions endpoint (`http`). It must not import serenity, axum or anything that talks
//! to a network, so it builds without the `discord` feature.

use serde_json::{Map, Value, json};

use crate::assistant::command::{Name, OptionKind};
use crate::assistant::reply::clip;
use crate::assistant::{COMMANDS, Choice, Input, Place, Reply, Who};

/// The permission admin commands ask Discord for by default (MANAGE_GUILD). Discord lets a
/// server change it, so the assistant still checks its own admin list on every call.
pub const ADMIN_PERMISSIONS: &str = "32";
/// The user context-menu command for admins: a member's credits.
pub const CREDITS_MENU: &str = "Credits";
/// The command path the context menu runs, with the target as its `member` option.
pub const CREDITS_MENU_COMMAND: Name = Name::AdminAccount;
/// Message flag: only the asker sees it.
pub const EPHEMERAL: u64 = 1 << 6;
/// Discord's limits on autocomplete answers.
pub const AUTOCOMPLETE_CHOICES: usize = 25;
pub const AUTOCOMPLETE_NAME: usize = 100;
/// The longest value of a suggestion Discord accepts.
pub const AUTOCOMPLETE_VALUE: usize = 100;
/// Buttons per action row.
pub const BUTTONS_PER_ROW: usize = 5;

/// Application command option types.
mod option_type {
    pub const SUB_COMMAND: u8 = 1;
    pub const SUB_COMMAND_GROUP: u8 = 2;
    pub const STRING: u8 = 3;
    pub const INTEGER: u8 = 4;
    pub const USER: u8 = 6;
}

/// Interaction types.
mod interaction_type {
    pub const PING: u64 = 1;
    pub const APPLICATION_COMMAND: u64 = 2;
    pub const MESSAGE_COMPONENT: u64 = 3;
    pub const AUTOCOMPLETE: u64 = 4;
}

/// Interaction callback types.
pub mod callback {
    pub const PONG: u8 = 1;
    pub const CHANNEL_MESSAGE: u8 = 4;
    pub const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
    pub const UPDATE_MESSAGE: u8 = 7;
    pub const AUTOCOMPLETE_RESULT: u8 = 8;
}

/// Interaction contexts: a server, a DM with the bot, another private channel.
const CONTEXT_GUILD: u64 = 0;
const CONTEXT_BOT_DM: u64 = 1;

/// The body of `PUT /applications/{id}/commands` (or the guild variant): every command of
/// `COMMANDS`, the `admin …` ones as subcommands of one `admin` command, and the "Credits"
/// user context menu.
pub fn application_commands() -> Value {
    let mut commands = Vec::new();
    let mut admin_subcommands = Vec::new();
    for spec in COMMANDS {
        let options: Vec<Value> = spec.options.iter().map(option_json).collect();
        match spec.path.split_once(' ') {
            None => commands.push(json!({
                "type": 1,
                "name": spec.path,
                "description": spec.description,
                "options": options,
                "contexts": if spec.is_admin() { vec![CONTEXT_GUILD] } else { vec![CONTEXT_GUILD, CONTEXT_BOT_DM] },
                "integration_types": [0],
            })),
            Some((group, name)) => {
                debug_assert_eq!(group, "admin", "only admin commands have subcommands");
                admin_subcommands.push(json!({
                    "type": option_type::SUB_COMMAND,
                    "name": name,
                    "description": spec.description,
                    "options": options,
                }));
            }
        }
    }
    if !admin_subcommands.is_empty() {
        commands.push(json!({
            "type": 1,
            "name": "admin",
            "description": "Admin commands: grant, revoke, link, accounts, returns",
            "options": admin_subcommands,
            "default_member_permissions": ADMIN_PERMISSIONS,
            "contexts": [CONTEXT_GUILD],
            "integration_types": [0],
        }));
    }
    commands.push(json!({
        "type": 2,
        "name": CREDITS_MENU,
        "default_member_permissions": ADMIN_PERMISSIONS,
        "contexts": [CONTEXT_GUILD],
        "integration_types": [0],
    }));
    Value::Array(commands)
}

fn option_json(option: &crate::assistant::command::OptionSpec) -> Value {
    let mut out = Map::new();
    let kind = match option.kind {
        // Amounts are text: a NUMBER option would pass through a float.
        OptionKind::Text | OptionKind::Amount => option_type::STRING,
        OptionKind::Integer { .. } => option_type::INTEGER,
        OptionKind::Member => option_type::USER,
    };
    out.insert("type".into(), json!(kind));
    out.insert("name".into(), json!(option.name));
    out.insert("description".into(), json!(option.description));
    out.insert("required".into(), json!(option.required));
    if let OptionKind::Integer { min, max } = option.kind {
        out.insert("min_value".into(), json!(min));
        out.insert("max_value".into(), json!(max));
    }
    if option.autocomplete {
        out.insert("autocomplete".into(), json!(true));
    } else if !option.choices.is_empty() {
        let choices: Vec<Value> = option
            .choices
            .iter()
            .map(|c| json!({ "name": c, "value": c }))
            .collect();
        out.insert("choices".into(), Value::Array(choices));
    }
    Value::Object(out)
}

/// An interaction, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedInteraction {
    pub id: String,
    /// Answers the interaction; a secret for 15 minutes: never log it.
    pub token: String,
    pub application_id: String,
    pub kind: InteractionKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InteractionKind {
    /// Discord checking an HTTP endpoint: answer `{"type":1}`.
    Ping,
    /// A slash command, the context menu, or a button press (`Input::Choice`).
    Request {
        who: Who,
        place: Place,
        input: Input,
    },
    /// The member is typing an option: answer at once with suggestions.
    Autocomplete {
        who: Who,
        place: Place,
        focus: Focus,
    },
}

/// The option being typed during autocomplete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Focus {
    /// "order", or "admin revoke".
    pub path: String,
    pub option: String,
    pub typed: String,
    /// The other options filled in so far.
    pub others: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the payload is not a JSON object")]
    NotAnObject,
    #[error("`{0}` is missing or not of the expected type")]
    Missing(&'static str),
    #[error("interaction type {0} is not one creditbot answers")]
    UnsupportedType(u64),
    #[error("application command type {0} is not one creditbot registers")]
    UnsupportedCommandType(u64),
    #[error("component type {0} is not one creditbot sends")]
    UnsupportedComponent(u64),
    #[error("the autocomplete payload has no focused option")]
    NoFocus,
}

/// Reads the `d` of an INTERACTION_CREATE event (or the body Discord POSTs to an
/// interactions endpoint).
pub fn parse_interaction(raw: &Value) -> Result<ParsedInteraction, ParseError> {
    let object = raw.as_object().ok_or(ParseError::NotAnObject)?;
    let id = snowflake(object.get("id")).ok_or(ParseError::Missing("id"))?;
    let application_id =
        snowflake(object.get("application_id")).ok_or(ParseError::Missing("application_id"))?;
    let token = object
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or(ParseError::Missing("token"))?
        .to_string();
    let kind = object
        .get("type")
        .and_then(Value::as_u64)
        .ok_or(ParseError::Missing("type"))?;
    let kind = match kind {
        interaction_type::PING => InteractionKind::Ping,
        interaction_type::APPLICATION_COMMAND => {
            let data = data(object)?;
            let input = match data.get("type").and_then(Value::as_u64).unwrap_or(1) {
                1 => {
                    let Invoked { path, options, .. } = command_path(data)?;
                    Input::Command { path, options }
                }
                2 => {
                    let target =
                        snowflake(data.get("target_id")).ok_or(ParseError::Missing("target_id"))?;
                    Input::Command {
                        path: CREDITS_MENU_COMMAND.path().into(),
                        options: vec![("member".into(), target)],
                    }
                }
                other => return Err(ParseError::UnsupportedCommandType(other)),
            };
            InteractionKind::Request {
                who: who(object)?,
                place: place(object),
                input,
            }
        }
        interaction_type::MESSAGE_COMPONENT => {
            let data = data(object)?;
            let component = data
                .get("component_type")
                .and_then(Value::as_u64)
                .unwrap_or(2);
            if component != 2 {
                return Err(ParseError::UnsupportedComponent(component));
            }
            let custom_id = data
                .get("custom_id")
                .and_then(Value::as_str)
                .ok_or(ParseError::Missing("data.custom_id"))?;
            InteractionKind::Request {
                who: who(object)?,
                place: place(object),
                input: Input::Choice(custom_id.to_string()),
            }
        }
        interaction_type::AUTOCOMPLETE => {
            let data = data(object)?;
            let Invoked {
                path,
                options: others,
                focused,
            } = command_path(data)?;
            let (option, typed) = focused.ok_or(ParseError::NoFocus)?;
            InteractionKind::Autocomplete {
                who: who(object)?,
                place: place(object),
                focus: Focus {
                    path,
                    option,
                    typed,
                    others,
                },
            }
        }
        other => return Err(ParseError::UnsupportedType(other)),
    };
    Ok(ParsedInteraction {
        id,
        token,
        application_id,
        kind,
    })
}

fn data(object: &Map<String, Value>) -> Result<&Map<String, Value>, ParseError> {
    object
        .get("data")
        .and_then(Value::as_object)
        .ok_or(ParseError::Missing("data"))
}

/// A snowflake id: Discord sends them as strings of digits.
fn snowflake(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// A command as invoked: its path ("admin grant"), its options as text, and the focused
/// option (name, typed text) during autocomplete.
struct Invoked {
    path: String,
    options: Vec<(String, String)>,
    focused: Option<(String, String)>,
}

fn command_path(data: &Map<String, Value>) -> Result<Invoked, ParseError> {
    let mut path = data
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or(ParseError::Missing("data.name"))?
        .to_string();
    let mut options = data.get("options").and_then(Value::as_array);
    // Subcommand groups and subcommands nest: each adds a word to the path.
    loop {
        let nested = options.and_then(|list| {
            list.iter().find(|o| {
                matches!(
                    o.get("type").and_then(Value::as_u64),
                    Some(t) if t == u64::from(option_type::SUB_COMMAND)
                        || t == u64::from(option_type::SUB_COMMAND_GROUP)
                )
            })
        });
        let Some(nested) = nested else { break };
        let name = nested
            .get("name")
            .and_then(Value::as_str)
            .ok_or(ParseError::Missing("data.options.name"))?;
        path.push(' ');
        path.push_str(name);
        options = nested.get("options").and_then(Value::as_array);
    }
    let mut named = Vec::new();
    let mut focused = None;
    for option in options.into_iter().flatten() {
        let name = option
            .get("name")
            .and_then(Value::as_str)
            .ok_or(ParseError::Missing("data.options.name"))?
            .to_string();
        let value = match option.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        };
        if option.get("focused").and_then(Value::as_bool) == Some(true) {
            focused = Some((name, value));
        } else {
            named.push((name, value));
        }
    }
    Ok(Invoked {
        path,
        options: named,
        focused,
    })
}

/// The asker: `member.user` in a server, `user` elsewhere; roles from `member.roles`.
fn who(object: &Map<String, Value>) -> Result<Who, ParseError> {
    let member = object.get("member").and_then(Value::as_object);
    let user = member
        .and_then(|m| m.get("user"))
        .or_else(|| object.get("user"))
        .and_then(Value::as_object)
        .ok_or(ParseError::Missing("member.user or user"))?;
    let user_id = snowflake(user.get("id")).ok_or(ParseError::Missing("user.id"))?;
    let text = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let display_name = text(member.and_then(|m| m.get("nick")))
        .or_else(|| text(user.get("global_name")))
        .or_else(|| text(user.get("username")))
        .unwrap_or_else(|| user_id.clone());
    let role_ids = member
        .and_then(|m| m.get("roles"))
        .and_then(Value::as_array)
        .map(|roles| roles.iter().filter_map(|r| snowflake(Some(r))).collect())
        .unwrap_or_default();
    Ok(Who {
        user_id,
        display_name,
        role_ids,
    })
}

/// A server channel or a group DM is read by others; a DM with the bot is private.
fn place(object: &Map<String, Value>) -> Place {
    if object.get("guild_id").is_some_and(|g| !g.is_null()) {
        return Place::Channel;
    }
    match object.get("context").and_then(Value::as_u64) {
        Some(CONTEXT_BOT_DM) | None => Place::DirectMessage,
        Some(_) => Place::Channel,
    }
}

/// A message body from a reply: content, the card as an embed, choices as buttons,
/// ephemeral when private, and never a ping.
pub fn message_payload(reply: &Reply) -> Value {
    let mut out = message_body(reply);
    if reply.private {
        out.insert("flags".into(), json!(EPHEMERAL));
    }
    Value::Object(out)
}

/// The body of `PATCH /webhooks/{app}/{token}/messages/@original` after a deferral: the
/// same message, without flags (the deferral already decided whether it is ephemeral).
pub fn edit_payload(reply: &Reply) -> Value {
    Value::Object(message_body(reply))
}

/// The body of `POST /channels/{id}/messages`: the reply, in answer to `reply_to` when given.
/// Channel messages can't be ephemeral: callers only send replies fit for the channel.
pub fn channel_message_payload(reply: &Reply, reply_to: Option<&str>) -> Value {
    let mut out = message_body(reply);
    if let Some(message_id) = reply_to {
        out.insert(
            "message_reference".into(),
            json!({ "message_id": message_id, "fail_if_not_exists": false }),
        );
    }
    Value::Object(out)
}

fn message_body(reply: &Reply) -> Map<String, Value> {
    let mut out = Map::new();
    let content = if reply.text.is_empty() && reply.card.is_none() {
        // Discord refuses an empty message.
        "Done.".to_string()
    } else {
        reply.text.clone()
    };
    out.insert("content".into(), json!(content));
    let embeds: Vec<Value> = reply.card.iter().map(embed).collect();
    out.insert("embeds".into(), Value::Array(embeds));
    out.insert("components".into(), Value::Array(buttons(&reply.choices)));
    out.insert("allowed_mentions".into(), json!({ "parse": [] }));
    out
}

fn embed(card: &crate::assistant::Card) -> Value {
    let mut out = Map::new();
    if !card.title.is_empty() {
        out.insert("title".into(), json!(card.title));
    }
    if !card.description.is_empty() {
        out.insert("description".into(), json!(card.description));
    }
    if !card.fields.is_empty() {
        let fields: Vec<Value> = card
            .fields
            .iter()
            .map(|f| {
                // Discord refuses empty field names and values.
                let name = if f.name.is_empty() {
                    "\u{200b}"
                } else {
                    &f.name
                };
                let value = if f.value.is_empty() {
                    "\u{200b}"
                } else {
                    &f.value
                };
                json!({ "name": name, "value": value, "inline": f.inline })
            })
            .collect();
        out.insert("fields".into(), Value::Array(fields));
    }
    if !card.footer.is_empty() {
        out.insert("footer".into(), json!({ "text": card.footer }));
    }
    out.insert("color".into(), json!(card.colour));
    Value::Object(out)
}

fn buttons(choices: &[Choice]) -> Vec<Value> {
    choices
        .chunks(BUTTONS_PER_ROW)
        .map(|row| {
            let row: Vec<Value> = row
                .iter()
                .map(|c| json!({ "type": 2, "style": 2, "label": c.label, "custom_id": c.id }))
                .collect();
            json!({ "type": 1, "components": row })
        })
        .collect()
}

/// Answers an interaction with a message (callback type 4).
pub fn interaction_response(reply: &Reply) -> Value {
    json!({ "type": callback::CHANNEL_MESSAGE, "data": message_payload(reply) })
}

/// Answers a button press by replacing the message that holds the button (type 7). For a
/// message others can see, prefer `interaction_response` with a private reply.
pub fn update_message_response(reply: &Reply) -> Value {
    json!({ "type": callback::UPDATE_MESSAGE, "data": edit_payload(reply) })
}

/// "Thinking…" (type 5): the answer follows by editing the original response.
pub fn deferred_response(private: bool) -> Value {
    if private {
        json!({ "type": callback::DEFERRED_CHANNEL_MESSAGE, "data": { "flags": EPHEMERAL } })
    } else {
        json!({ "type": callback::DEFERRED_CHANNEL_MESSAGE })
    }
}

/// Answers a PING (HTTP endpoint only).
pub fn pong() -> Value {
    json!({ "type": callback::PONG })
}

/// Autocomplete suggestions (type 8): (name shown, value), at most 25, names cut to 100
/// characters. A value is what Discord sends back when the member picks the suggestion, so
/// it is never cut (a cut id names nothing): a value over 100 characters is left out.
pub fn autocomplete_response(choices: &[(String, String)]) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .filter(|(name, value)| {
            !name.is_empty() && !value.is_empty() && value.chars().count() <= AUTOCOMPLETE_VALUE
        })
        .take(AUTOCOMPLETE_CHOICES)
        .map(|(name, value)| {
            json!({
                "name": clip(name, AUTOCOMPLETE_NAME),
                "value": value,
            })
        })
        .collect();
    json!({ "type": callback::AUTOCOMPLETE_RESULT, "data": { "choices": choices } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistant::{COLOUR_INFO, Card, Field};

    fn guild_interaction(kind: u64, data: Value) -> Value {
        json!({
            "id": "1300000000000000001",
            "application_id": "1200000000000000000",
            "type": kind,
            "token": "tok-en",
            "version": 1,
            "guild_id": "1100000000000000000",
            "channel_id": "1100000000000000005",
            "channel": { "id": "1100000000000000005", "type": 0, "name": "general" },
            "locale": "en-GB",
            "guild_locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "attachment_size_limit": 10485760,
            "authorizing_integration_owners": { "0": "1100000000000000000" },
            "context": 0,
            "member": {
                "user": {
                    "id": "1000000000000000042",
                    "username": "alice",
                    "global_name": "Alice",
                    "discriminator": "0",
                    "avatar": null
                },
                "nick": null,
                "roles": ["1100000000000000077"],
                "permissions": "32",
                "flags": 0,
                "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "deaf": false,
                "mute": false,
                "pending": false
            },
            "data": data
        })
    }

    fn dm_interaction(kind: u64, data: Value) -> Value {
        json!({
            "id": "1300000000000000002",
            "application_id": "1200000000000000000",
            "type": kind,
            "token": "tok-en",
            "version": 1,
            "channel_id": "1100000000000000009",
            "locale": "en-GB",
            "entitlements": [],
            "attachment_size_limit": 10485760,
            "context": 1,
            "user": { "id": "1000000000000000042", "username": "alice", "global_name": null },
            "data": data
        })
    }

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn command(path: &str, options: &[(&str, &str)]) -> Input {
        Input::Command {
            path: path.into(),
            options: opts(options),
        }
    }

    fn input_of(parsed: &ParsedInteraction) -> &Input {
        match &parsed.kind {
            InteractionKind::Request { input, .. } => input,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn reads_commands_buttons_and_context_menus() {
        let table: Vec<(&str, Value, Input)> = vec![
            (
                "no options",
                guild_interaction(2, json!({ "id": "9", "name": "balance", "type": 1 })),
                command("balance", &[]),
            ),
            (
                "integer option",
                guild_interaction(
                    2,
                    json!({ "id": "9", "name": "expiry", "type": 1,
                        "options": [{ "name": "days", "type": 4, "value": 60 }] }),
                ),
                command("expiry", &[("days", "60")]),
            ),
            (
                "user option, resolved",
                guild_interaction(
                    2,
                    json!({ "id": "9", "name": "transfer", "type": 1,
                        "options": [
                            { "name": "to", "type": 6, "value": "1000000000000000043" },
                            { "name": "amount", "type": 3, "value": "10" }
                        ],
                        "resolved": { "users": { "1000000000000000043": { "id": "1000000000000000043", "username": "sam" } } } }),
                ),
                command(
                    "transfer",
                    &[("to", "1000000000000000043"), ("amount", "10")],
                ),
            ),
            (
                "admin subcommand",
                guild_interaction(
                    2,
                    json!({ "id": "9", "name": "admin", "type": 1,
                        "options": [{ "name": "grant", "type": 1, "options": [
                            { "name": "member", "type": 6, "value": "1000000000000000043" },
                            { "name": "amount", "type": 3, "value": "12.50" }
                        ] }] }),
                ),
                command(
                    "admin grant",
                    &[("member", "1000000000000000043"), ("amount", "12.50")],
                ),
            ),
            (
                "subcommand without options",
                guild_interaction(
                    2,
                    json!({ "id": "9", "name": "admin", "type": 1,
                        "options": [{ "name": "unanswered", "type": 1 }] }),
                ),
                command("admin unanswered", &[]),
            ),
            (
                "user context menu",
                guild_interaction(
                    2,
                    json!({ "id": "9", "name": "Credits", "type": 2,
                        "target_id": "1000000000000000043" }),
                ),
                command("admin account", &[("member", "1000000000000000043")]),
            ),
            (
                "button",
                guild_interaction(3, json!({ "custom_id": "faq:expiry", "component_type": 2 })),
                Input::Choice("faq:expiry".into()),
            ),
            (
                "command in a DM",
                dm_interaction(2, json!({ "id": "9", "name": "help", "type": 1 })),
                command("help", &[]),
            ),
        ];
        for (case, raw, expected) in table {
            let parsed = parse_interaction(&raw).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(input_of(&parsed), &expected, "{case}");
            assert_eq!(parsed.token, "tok-en", "{case}");
            assert_eq!(parsed.application_id, "1200000000000000000", "{case}");
        }
    }

    #[test]
    fn reads_who_asks_and_where() {
        let guild = parse_interaction(&guild_interaction(
            2,
            json!({ "id": "9", "name": "balance", "type": 1 }),
        ))
        .unwrap();
        assert_eq!(guild.id, "1300000000000000001");
        let InteractionKind::Request { who, place, .. } = guild.kind else {
            panic!("a request")
        };
        assert_eq!(
            who,
            Who {
                user_id: "1000000000000000042".into(),
                display_name: "Alice".into(),
                role_ids: vec!["1100000000000000077".into()],
            }
        );
        assert_eq!(place, Place::Channel);

        let dm = parse_interaction(&dm_interaction(
            2,
            json!({ "id": "9", "name": "balance", "type": 1 }),
        ))
        .unwrap();
        let InteractionKind::Request { who, place, .. } = dm.kind else {
            panic!("a request")
        };
        assert_eq!(who.display_name, "alice", "username when no global name");
        assert!(who.role_ids.is_empty());
        assert_eq!(place, Place::DirectMessage);

        // A group DM (context 2) is read by others.
        let mut group = dm_interaction(2, json!({ "id": "9", "name": "balance", "type": 1 }));
        group["context"] = json!(2);
        let InteractionKind::Request { place, .. } = parse_interaction(&group).unwrap().kind else {
            panic!("a request")
        };
        assert_eq!(place, Place::Channel);
    }

    #[test]
    fn reads_the_focused_option_of_autocomplete() {
        let table: Vec<(Value, Focus)> = vec![
            (
                guild_interaction(
                    4,
                    json!({ "id": "9", "name": "order", "type": 1,
                        "options": [{ "name": "id", "type": 3, "value": "77", "focused": true }] }),
                ),
                Focus {
                    path: "order".into(),
                    option: "id".into(),
                    typed: "77".into(),
                    others: vec![],
                },
            ),
            (
                guild_interaction(
                    4,
                    json!({ "id": "9", "name": "admin", "type": 1,
                        "options": [{ "name": "revoke", "type": 1, "options": [
                            { "name": "member", "type": 6, "value": "1000000000000000043" },
                            { "name": "grant", "type": 3, "value": "", "focused": true }
                        ] }] }),
                ),
                Focus {
                    path: "admin revoke".into(),
                    option: "grant".into(),
                    typed: "".into(),
                    others: opts(&[("member", "1000000000000000043")]),
                },
            ),
        ];
        for (raw, expected) in table {
            match parse_interaction(&raw).unwrap().kind {
                InteractionKind::Autocomplete { focus, .. } => assert_eq!(focus, expected),
                other => panic!("not autocomplete: {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let mut no_token = guild_interaction(2, json!({ "name": "balance" }));
        no_token.as_object_mut().unwrap().remove("token");
        let mut no_user = guild_interaction(2, json!({ "name": "balance" }));
        no_user.as_object_mut().unwrap().remove("member");
        let mut bad_id = guild_interaction(2, json!({ "name": "balance" }));
        bad_id["id"] = json!("12ab");
        let table: Vec<(&str, Value, ParseError)> = vec![
            ("garbage", json!("garbage"), ParseError::NotAnObject),
            ("empty object", json!({}), ParseError::Missing("id")),
            ("no token", no_token, ParseError::Missing("token")),
            ("bad id", bad_id, ParseError::Missing("id")),
            (
                "no user",
                no_user,
                ParseError::Missing("member.user or user"),
            ),
            (
                "no data",
                guild_interaction(2, Value::Null),
                ParseError::Missing("data"),
            ),
            (
                "no name",
                guild_interaction(2, json!({ "type": 1 })),
                ParseError::Missing("data.name"),
            ),
            (
                "modal submit",
                guild_interaction(5, json!({ "custom_id": "x" })),
                ParseError::UnsupportedType(5),
            ),
            (
                "message context menu",
                guild_interaction(2, json!({ "name": "x", "type": 3, "target_id": "1" })),
                ParseError::UnsupportedCommandType(3),
            ),
            (
                "select menu",
                guild_interaction(3, json!({ "custom_id": "x", "component_type": 3 })),
                ParseError::UnsupportedComponent(3),
            ),
            (
                "autocomplete without focus",
                guild_interaction(4, json!({ "name": "order", "options": [] })),
                ParseError::NoFocus,
            ),
        ];
        for (case, raw, expected) in table {
            assert_eq!(parse_interaction(&raw), Err(expected), "{case}");
        }
        let ping =
            json!({ "id": "1", "application_id": "2", "type": 1, "token": "t", "version": 1 });
        assert_eq!(
            parse_interaction(&ping).unwrap().kind,
            InteractionKind::Ping
        );
    }

    #[test]
    fn registers_every_command_with_typed_options() {
        let commands = application_commands();
        let commands = commands.as_array().unwrap();
        let find = |name: &str| {
            commands
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("{name} registered"))
        };
        for spec in COMMANDS {
            let (command, options) = match spec.path.split_once(' ') {
                None => (find(spec.path), &find(spec.path)["options"]),
                Some((group, name)) => {
                    let group = find(group);
                    let sub = group["options"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|o| o["name"] == name)
                        .unwrap_or_else(|| panic!("{} registered", spec.path));
                    assert_eq!(sub["type"], 1);
                    assert_eq!(sub["description"], spec.description);
                    (group, &sub["options"])
                }
            };
            assert_eq!(
                command.get("default_member_permissions").is_some(),
                spec.is_admin(),
                "{}",
                spec.path
            );
            let options = options.as_array().unwrap();
            assert_eq!(options.len(), spec.options.len(), "{}", spec.path);
            for (option, spec_option) in options.iter().zip(spec.options) {
                assert_eq!(option["name"], spec_option.name);
                assert_eq!(option["required"], spec_option.required);
                let expected_type = match spec_option.kind {
                    OptionKind::Text | OptionKind::Amount => 3,
                    OptionKind::Integer { min, max } => {
                        assert_eq!(option["min_value"], min);
                        assert_eq!(option["max_value"], max);
                        4
                    }
                    OptionKind::Member => 6,
                };
                assert_eq!(option["type"], expected_type, "{}", spec_option.name);
                assert_eq!(
                    option.get("autocomplete").is_some(),
                    spec_option.autocomplete
                );
                assert!(
                    option.get("autocomplete").is_none() || option.get("choices").is_none(),
                    "Discord refuses both"
                );
            }
        }
        let admin = find("admin");
        assert_eq!(admin["default_member_permissions"], "32");
        assert_eq!(admin["contexts"], json!([0]));
        assert!(admin["description"].as_str().unwrap().chars().count() <= 100);
        let menu = find(CREDITS_MENU);
        assert_eq!(menu["type"], 2);
        assert_eq!(menu["default_member_permissions"], "32");
        assert!(menu.get("description").is_none());
        let source = &find("admin")["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "grant")
            .unwrap()["options"][3];
        assert_eq!(source["name"], "source");
        assert_eq!(
            source["choices"][0],
            json!({ "name": "gift", "value": "gift" })
        );
        // Top-level names are unique.
        let mut names: Vec<&str> = commands
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), commands.len());
    }

    fn sample_reply(private: bool, choices: usize) -> Reply {
        Reply {
            text: "hello".into(),
            card: Some(Card {
                title: "Your credits".into(),
                description: "Available  $37.50".into(),
                fields: vec![Field {
                    name: "".into(),
                    value: "x".into(),
                    inline: true,
                }],
                footer: "/help".into(),
                colour: COLOUR_INFO,
            }),
            private,
            choices: (0..choices)
                .map(|n| Choice {
                    id: format!("faq:{n}"),
                    label: format!("Topic {n}?"),
                })
                .collect(),
        }
    }

    #[test]
    fn builds_messages_that_never_ping() {
        let payload = message_payload(&sample_reply(true, 2));
        assert_eq!(payload["flags"], 64);
        assert_eq!(payload["content"], "hello");
        assert_eq!(payload["allowed_mentions"], json!({ "parse": [] }));
        let embed = &payload["embeds"][0];
        assert_eq!(embed["title"], "Your credits");
        assert_eq!(embed["description"], "Available  $37.50");
        assert_eq!(embed["footer"]["text"], "/help");
        assert_eq!(embed["color"], COLOUR_INFO);
        assert_eq!(embed["fields"][0]["name"], "\u{200b}");
        let row = &payload["components"][0];
        assert_eq!(row["type"], 1);
        assert_eq!(
            row["components"][1],
            json!({ "type": 2, "style": 2, "label": "Topic 1?", "custom_id": "faq:1" })
        );

        let public = message_payload(&Reply::text("hi"));
        assert!(public.get("flags").is_none());
        assert_eq!(public["embeds"], json!([]));
        assert_eq!(public["components"], json!([]));

        // More than five buttons take a second row (the core keeps to five; the wire can do more).
        let mut many = sample_reply(false, 0);
        many.choices = (0..7)
            .map(|n| Choice {
                id: n.to_string(),
                label: n.to_string(),
            })
            .collect();
        let rows = message_payload(&many)["components"].clone();
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(rows[1]["components"].as_array().unwrap().len(), 2);

        assert_eq!(message_payload(&Reply::default())["content"], "Done.");
    }

    #[test]
    fn builds_each_kind_of_response() {
        let reply = sample_reply(true, 0);
        let response = interaction_response(&reply);
        assert_eq!(response["type"], 4);
        assert_eq!(response["data"]["flags"], 64);
        let update = update_message_response(&reply);
        assert_eq!(update["type"], 7);
        assert!(update["data"].get("flags").is_none());
        assert!(edit_payload(&reply).get("flags").is_none());
        assert_eq!(
            deferred_response(true),
            json!({ "type": 5, "data": { "flags": 64 } })
        );
        assert_eq!(deferred_response(false), json!({ "type": 5 }));
        assert_eq!(pong(), json!({ "type": 1 }));
        let channel = channel_message_payload(&reply, Some("55"));
        assert_eq!(channel["message_reference"]["message_id"], "55");
        assert!(channel.get("flags").is_none());
        assert!(
            channel_message_payload(&reply, None)
                .get("message_reference")
                .is_none()
        );
    }

    #[test]
    fn autocomplete_keeps_to_discord_limits() {
        let many: Vec<(String, String)> = (0..40)
            .map(|n| (format!("{n} {}", "x".repeat(150)), n.to_string()))
            .collect();
        let response = autocomplete_response(&many);
        assert_eq!(response["type"], 8);
        let choices = response["data"]["choices"].as_array().unwrap();
        assert_eq!(choices.len(), 25);
        assert!(
            choices
                .iter()
                .all(|c| c["name"].as_str().unwrap().chars().count() <= 100)
        );
        assert_eq!(choices[3]["value"], "3");
        let long_id = "9".repeat(101);
        let mixed = vec![
            ("too long".to_string(), long_id),
            ("just fits".to_string(), "8".repeat(100)),
            (
                format!("{} a long name", "n".repeat(120)),
                "7781".to_string(),
            ),
        ];
        let choices = autocomplete_response(&mixed)["data"]["choices"].clone();
        let values: Vec<&str> = choices
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, vec!["8".repeat(100).as_str(), "7781"]);
        assert!(choices[1]["name"].as_str().unwrap().ends_with('…'));
        let empty = autocomplete_response(&[]);
        assert_eq!(empty, json!({ "type": 8, "data": { "choices": [] } }));
    }
}
