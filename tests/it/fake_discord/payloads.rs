//! Gateway and REST payloads shaped as Discord sends them today (API v10): READY,
//! INTERACTION_CREATE of each kind (with `entitlements`, `attachment_size_limit`, `locale`,
//! `app_permissions`, `authorizing_integration_owners`, `context`, `member.permissions`,
//! `member.flags`, …), MESSAGE_CREATE, and the message objects REST returns.

use serde_json::{Value, json};

use super::{APPLICATION_ID, BOT_ID, GUILD_ID};

pub const GENERAL_CHANNEL: &str = "1100000000000000005";
pub const FAQ_CHANNEL: &str = "1100000000000000006";
pub const DM_CHANNEL: &str = "1100000000000000009";
const TIMESTAMP: &str = "2026-11-26T12:00:00.000000+00:00";

/// Someone on the server.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: &'static str,
    pub username: &'static str,
    pub global_name: Option<&'static str>,
    pub roles: Vec<&'static str>,
    /// The member's permissions in the channel, as Discord computes them (a decimal string).
    pub permissions: &'static str,
    pub bot: bool,
}

/// Where an interaction happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Where {
    /// A server text channel.
    Guild,
    /// A DM with the bot.
    Dm,
}

pub fn user(person: &Person) -> Value {
    json!({
        "id": person.id,
        "username": person.username,
        "global_name": person.global_name,
        "discriminator": "0",
        "avatar": null,
        "avatar_decoration_data": null,
        "bot": person.bot,
        "public_flags": 0,
        "primary_guild": null,
        "collectibles": null,
        "clan": null
    })
}

fn member(person: &Person) -> Value {
    json!({
        "user": user(person),
        "roles": person.roles,
        "premium_since": null,
        "permissions": person.permissions,
        "pending": false,
        "nick": null,
        "mute": false,
        "joined_at": "2024-03-01T10:00:00.000000+00:00",
        "flags": 0,
        "deaf": false,
        "communication_disabled_until": null,
        "banner": null,
        "avatar": null,
        "unusual_dm_activity_until": null
    })
}

pub fn bot_user() -> Value {
    json!({
        "id": BOT_ID,
        "username": "creditbot",
        "global_name": null,
        "discriminator": "0",
        "avatar": null,
        "bot": true,
        "verified": true,
        "mfa_enabled": false,
        "flags": 0,
        "email": null
    })
}

pub fn ready(session_id: &str, ws_url: &str) -> Value {
    json!({
        "v": 10,
        "user_settings": {},
        "user": bot_user(),
        "session_type": "normal",
        "session_id": session_id,
        "resume_gateway_url": ws_url,
        "relationships": [],
        "private_channels": [],
        "presences": [],
        "guilds": [{ "unavailable": true, "id": GUILD_ID }],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["rotterdam", "madrid"],
        "game_relationships": [],
        "auth": {},
        "application": { "id": APPLICATION_ID, "flags": 8953856 },
        "_trace": ["[\"gateway-prd-fake\",{\"micros\":1}]"]
    })
}

/// The same payload sent from another guild: every `GUILD_ID` in it replaced by `guild`.
pub fn in_guild(payload: Value, guild: &str) -> Value {
    serde_json::from_str(&payload.to_string().replace(GUILD_ID, guild)).expect("still JSON")
}

/// The envelope every interaction shares: ids, token, who, where.
fn interaction(
    id: &str,
    token: &str,
    kind: u8,
    person: &Person,
    place: Where,
    data: Value,
) -> Value {
    let mut out = json!({
        "id": id,
        "application_id": APPLICATION_ID,
        "type": kind,
        "token": token,
        "version": 1,
        "locale": "en-GB",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10485760,
        "app_permissions": "2251799813685247",
        "data": data
    });
    let object = out.as_object_mut().unwrap();
    match place {
        Where::Guild => {
            object.insert("guild_id".into(), json!(GUILD_ID));
            object.insert("guild_locale".into(), json!("en-US"));
            object.insert(
                "guild".into(),
                json!({ "id": GUILD_ID, "locale": "en-US", "features": [] }),
            );
            object.insert("channel_id".into(), json!(GENERAL_CHANNEL));
            object.insert(
                "channel".into(),
                json!({
                    "id": GENERAL_CHANNEL, "type": 0, "name": "general", "guild_id": GUILD_ID,
                    "position": 0, "parent_id": null, "topic": null, "nsfw": false,
                    "last_message_id": null, "rate_limit_per_user": 0, "flags": 0,
                    "permissions": person.permissions
                }),
            );
            object.insert("member".into(), member(person));
            object.insert(
                "authorizing_integration_owners".into(),
                json!({ "0": GUILD_ID }),
            );
            object.insert("context".into(), json!(0));
        }
        Where::Dm => {
            object.insert("channel_id".into(), json!(DM_CHANNEL));
            object.insert(
                "channel".into(),
                json!({ "id": DM_CHANNEL, "type": 1, "last_message_id": null, "flags": 0,
                    "recipients": [user(person)] }),
            );
            object.insert("user".into(), user(person));
            object.insert(
                "authorizing_integration_owners".into(),
                json!({ "0": GUILD_ID }),
            );
            object.insert("context".into(), json!(1));
        }
    }
    out
}

/// A slash command; `options` is Discord's `data.options` (nested for subcommands).
pub fn command(
    id: &str,
    token: &str,
    person: &Person,
    place: Where,
    name: &str,
    options: Value,
) -> Value {
    let mut data = json!({ "id": "1400000000000000001", "name": name, "type": 1 });
    if !options.as_array().is_some_and(|o| o.is_empty()) {
        data["options"] = options;
    }
    if place == Where::Guild {
        data["guild_id"] = json!(GUILD_ID);
    }
    interaction(id, token, 2, person, place, data)
}

/// An option of a slash command.
pub fn option(name: &str, kind: u8, value: Value) -> Value {
    json!({ "name": name, "type": kind, "value": value })
}

/// A subcommand (`/admin grant …`).
pub fn subcommand(name: &str, options: Vec<Value>) -> Value {
    json!([{ "name": name, "type": 1, "options": options }])
}

/// A USER option, with the `resolved` data Discord adds.
pub fn with_resolved_user(mut interaction: Value, target: &Person) -> Value {
    interaction["data"]["resolved"] = json!({
        "users": { target.id: user(target) },
        "members": { target.id: {
            "roles": target.roles, "premium_since": null, "permissions": target.permissions,
            "pending": false, "nick": null, "joined_at": "2024-03-01T10:00:00.000000+00:00",
            "flags": 0, "communication_disabled_until": null, "avatar": null, "banner": null
        } }
    });
    interaction
}

/// Autocomplete: the same data as a command, one option with `focused: true`.
pub fn autocomplete(id: &str, token: &str, person: &Person, name: &str, options: Value) -> Value {
    let data = json!({ "id": "1400000000000000001", "name": name, "type": 1,
        "options": options, "guild_id": GUILD_ID });
    interaction(id, token, 4, person, Where::Guild, data)
}

/// The user context-menu command "Credits" on `target`.
pub fn user_command(id: &str, token: &str, person: &Person, target: &Person) -> Value {
    let data = json!({
        "id": "1400000000000000020",
        "name": "Credits",
        "type": 2,
        "target_id": target.id,
        "guild_id": GUILD_ID,
        "resolved": {
            "users": { target.id: user(target) },
            "members": { target.id: {
                "roles": target.roles, "premium_since": null, "permissions": target.permissions,
                "pending": false, "nick": null, "joined_at": "2024-03-01T10:00:00.000000+00:00",
                "flags": 0, "communication_disabled_until": null, "avatar": null, "banner": null
            } }
        }
    });
    interaction(id, token, 2, person, Where::Guild, data)
}

/// A button press on a message the bot sent.
pub fn button(id: &str, token: &str, person: &Person, custom_id: &str) -> Value {
    let data = json!({ "custom_id": custom_id, "component_type": 2 });
    let mut out = interaction(id, token, 3, person, Where::Guild, data);
    out["message"] = json!({
        "id": "1500000000000000001",
        "channel_id": GENERAL_CHANNEL,
        "author": bot_user(),
        "content": "I'm not sure which you mean:",
        "timestamp": TIMESTAMP,
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "application_id": APPLICATION_ID,
        "components": [{ "type": 1, "id": 1, "components": [
            { "type": 2, "id": 2, "style": 2, "label": "Do credits expire?", "custom_id": custom_id },
            { "type": 2, "id": 3, "style": 2, "label": "Returns?", "custom_id": "faq:refund" }
        ] }]
    });
    out
}

/// A modal submit: a kind of interaction serenity reads but creditbot never asks for.
pub fn modal_submit(id: &str, token: &str, person: &Person) -> Value {
    let data = json!({ "custom_id": "never-sent", "components": [] });
    interaction(id, token, 5, person, Where::Guild, data)
}

/// MESSAGE_CREATE in a server channel (`guild`) or a DM.
pub fn message_create(
    id: &str,
    person: &Person,
    channel_id: &str,
    guild: bool,
    content: &str,
    mentions: &[Value],
) -> Value {
    let mut out = json!({
        "type": 0,
        "tts": false,
        "timestamp": TIMESTAMP,
        "pinned": false,
        "nonce": id,
        "mentions": mentions,
        "mention_roles": [],
        "mention_everyone": false,
        "id": id,
        "flags": 0,
        "embeds": [],
        "edited_timestamp": null,
        "content": content,
        "components": [],
        "channel_type": if guild { 0 } else { 1 },
        "channel_id": channel_id,
        "author": user(person),
        "attachments": []
    });
    if guild {
        out["guild_id"] = json!(GUILD_ID);
        out["member"] = json!({
            "roles": person.roles, "premium_since": null, "pending": false, "nick": null,
            "mute": false, "joined_at": "2024-03-01T10:00:00.000000+00:00", "flags": 0,
            "deaf": false, "communication_disabled_until": null, "banner": null, "avatar": null
        });
    }
    out
}

/// The message object REST returns for a message the bot sent.
pub fn sent_message(channel_id: &str, body: &Value) -> Value {
    json!({
        "type": 0,
        "tts": false,
        "timestamp": TIMESTAMP,
        "pinned": false,
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": false,
        "id": "1500000000000000099",
        "flags": body.get("flags").cloned().unwrap_or(json!(0)),
        "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
        "edited_timestamp": null,
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "components": [],
        "channel_id": channel_id,
        "author": bot_user(),
        "attachments": []
    })
}

/// A DM channel with `recipient`, as `POST /users/@me/channels` answers.
pub fn dm_channel(channel_id: &str, recipient: &str) -> Value {
    json!({
        "id": channel_id,
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [{
            "id": recipient,
            "username": "member",
            "global_name": null,
            "discriminator": "0",
            "avatar": null,
            "avatar_decoration_data": null,
            "public_flags": 0,
            "primary_guild": null,
            "collectibles": null,
            "clan": null
        }]
    })
}
