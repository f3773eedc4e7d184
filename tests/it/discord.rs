//! The real bot (the built `creditbot` binary, serenity 0.12.5 inside) against a fake Discord
//! on 127.0.0.1: command registration, every member command, admin checks, autocomplete,
//! buttons, DMs and mentions, reconnects, malformed payloads, deferral, the refused privileged
//! intent, a clean shutdown on SIGTERM, and which gateway shards a process runs. Every wait is
//! bounded; the bot is killed on drop.
//!
//! Why the binary and not `creditbot::discord::run` in-process: it covers what a deployment
//! runs — bot.toml parsing, `main`'s runtime, signal handling and the logs on stderr (which
//! the tests read to check a malformed payload is reported and the token never is).

use crate::fake_discord::bot::{self, ACCOUNT, Bot, Seeded};
use crate::fake_discord::payloads::{
    self, DM_CHANNEL, FAQ_CHANNEL, GENERAL_CHANNEL, Person, Where, option, subcommand,
};
use crate::fake_discord::{BOT_ID, FakeDiscord, GUILD_ID, Options, shard_of_guild};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);
const STRING: u8 = 3;
const INTEGER: u8 = 4;
const USER: u8 = 6;

struct Harness {
    fake: FakeDiscord,
    seeded: Seeded,
    bot: Bot,
    next_id: AtomicU64,
}

impl Harness {
    async fn start() -> Harness {
        Harness::start_with(Options::default()).await
    }

    async fn start_with(options: Options) -> Harness {
        let fake = FakeDiscord::start(options).await;
        let seeded = bot::seed(&fake);
        let bot = Bot::start(&seeded, true);
        fake.wait_ready(1, WAIT).await;
        // Serving starts once the commands are registered.
        fake.wait_until("command registration", WAIT, |v| {
            (!v.registrations().is_empty()).then_some(())
        })
        .await;
        Harness {
            fake,
            seeded,
            bot,
            next_id: AtomicU64::new(1),
        }
    }

    /// A fresh snowflake for an interaction or a message.
    fn id(&self) -> String {
        format!(
            "13{:017}",
            self.next_id.fetch_add(1, Ordering::SeqCst) + 1_000
        )
    }

    /// Sends an INTERACTION_CREATE and returns the callback body the bot POSTed.
    async fn interact(&self, payload: Value) -> Value {
        let id = payload["id"].as_str().unwrap().to_string();
        self.fake.dispatch("INTERACTION_CREATE", payload);
        self.fake.wait_callback(&id, WAIT).await.body
    }

    async fn command(&self, person: &Person, place: Where, name: &str, options: Value) -> Value {
        let id = self.id();
        let token = format!("token-{id}");
        self.interact(payloads::command(&id, &token, person, place, name, options))
            .await
    }

    /// `/admin <sub> …` with resolved users.
    async fn admin(
        &self,
        person: &Person,
        sub: &str,
        options: Vec<Value>,
        target: &Person,
    ) -> Value {
        let id = self.id();
        let token = format!("token-{id}");
        let payload = payloads::with_resolved_user(
            payloads::command(
                &id,
                &token,
                person,
                Where::Guild,
                "admin",
                subcommand(sub, options),
            ),
            target,
        );
        self.interact(payload).await
    }

    /// Sends a MESSAGE_CREATE and waits for the bot's message in `channel`.
    async fn message(
        &self,
        person: &Person,
        channel: &str,
        content: &str,
        mentions: &[Value],
    ) -> Value {
        let before = self.fake.view().channel_messages(channel).len();
        let id = self.id();
        let guild = channel != DM_CHANNEL;
        self.fake.dispatch(
            "MESSAGE_CREATE",
            payloads::message_create(&id, person, channel, guild, content, mentions),
        );
        self.fake
            .wait_until(&format!("an answer in {channel}"), WAIT, |v| {
                v.channel_messages(channel)
                    .get(before)
                    .map(|c| c.body.clone())
            })
            .await
    }

    /// Presses the button labelled `label` of an interaction response, as `person`.
    async fn press(&self, person: &Person, response: &Value, label: &str) -> Value {
        let custom_id = response["data"]["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().unwrap().clone())
            .find(|button| button["type"] == 2 && button["label"] == label)
            .unwrap_or_else(|| panic!("no button {label}: {response}"))["custom_id"]
            .as_str()
            .unwrap()
            .to_string();
        let id = self.id();
        self.interact(payloads::button(
            &id,
            &format!("t-{id}"),
            person,
            &custom_id,
        ))
        .await
    }

    /// ALICE's /balance card description, to compare before and after.
    async fn alice_balance(&self) -> String {
        let body = self
            .command(&bot::alice(), Where::Guild, "balance", json!([]))
            .await;
        body["data"]["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The text a member reads in a response: content and the embed's parts.
fn text_of(data: &Value) -> String {
    let mut out = data["content"].as_str().unwrap_or("").to_string();
    for embed in data["embeds"].as_array().into_iter().flatten() {
        for key in ["title", "description"] {
            if let Some(text) = embed[key].as_str() {
                out.push('\n');
                out.push_str(text);
            }
        }
        for field in embed["fields"].as_array().into_iter().flatten() {
            out.push('\n');
            out.push_str(field["name"].as_str().unwrap_or(""));
            out.push(' ');
            out.push_str(field["value"].as_str().unwrap_or(""));
        }
        if let Some(footer) = embed["footer"]["text"].as_str() {
            out.push('\n');
            out.push_str(footer);
        }
    }
    out
}

/// A type-4 private answer: its text.
fn private_answer(body: &Value) -> String {
    assert_eq!(body["type"], 4, "a message response: {body}");
    assert_eq!(body["data"]["flags"], 64, "ephemeral: {body}");
    assert_eq!(body["data"]["allowed_mentions"], json!({ "parse": [] }));
    text_of(&body["data"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_every_command_in_the_configured_guild() {
    let h = Harness::start().await;
    let view = h.fake.view();
    let registrations = view.registrations();
    assert_eq!(registrations.len(), 1, "registered once");
    let call = registrations[0];
    assert_eq!(
        call.path,
        format!("/api/v10/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    );
    assert_eq!(call.body, creditbot::discord_api::application_commands());
    let names: Vec<&str> = call
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for spec in creditbot::assistant::COMMANDS {
        let top = spec.path.split(' ').next().unwrap();
        assert!(names.contains(&top), "{} registered", spec.path);
    }
    let admin = call
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "admin")
        .unwrap();
    assert_eq!(admin["default_member_permissions"], "32");
    assert!(names.contains(&"Credits"));
    // The gateway asked for the intents the bot needs.
    let identify = &view.gateway.identifies[0];
    let intents = identify["intents"].as_u64().unwrap();
    assert_eq!(intents & 1, 1, "GUILDS");
    assert_ne!(intents & (1 << 9), 0, "GUILD_MESSAGES");
    assert_ne!(intents & (1 << 12), 0, "DIRECT_MESSAGES");
    assert_ne!(
        intents & crate::fake_discord::MESSAGE_CONTENT,
        0,
        "MESSAGE_CONTENT"
    );
    h.bot
        .wait_log(&["MESSAGE_CONTENT", "DMs, mentions"], WAIT)
        .await;
    h.bot.assert_token_never_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_command_answers_privately() {
    let h = Harness::start().await;
    let alice = bot::alice();
    let balance = &h.seeded.balance;

    let table: Vec<(&str, Value, Vec<String>)> = vec![
        (
            "balance",
            json!([]),
            vec![
                format!("account {ACCOUNT}"),
                format!("Available  {balance}"),
            ],
        ),
        (
            "expiry",
            json!([option("days", INTEGER, json!(365))]),
            vec!["Your next expiry".into(), "<t:".into()],
        ),
        (
            "order",
            json!([option("id", STRING, json!("7781"))]),
            vec!["Order 7781".into(), "The Hobbit".into()],
        ),
        (
            "history",
            json!([option("page", INTEGER, json!(1))]),
            vec!["Your credit history".into()],
        ),
        (
            "transfer",
            json!([
                option("to", USER, json!(bot::newbie().id)),
                option("amount", STRING, json!("10"))
            ]),
            vec!["can't be moved".into(), ACCOUNT.into()],
        ),
        (
            "faq",
            json!([option("topic", STRING, json!("expiry"))]),
            vec!["expire".into()],
        ),
        (
            "ask",
            json!([option(
                "question",
                STRING,
                json!("can I pay for a lamp with credits?")
            )]),
            vec!["digital".into()],
        ),
        ("help", json!([]), vec!["/balance".into(), "/faq".into()]),
    ];
    for (name, options, expected) in table {
        let body = h.command(&alice, Where::Guild, name, options).await;
        let text = private_answer(&body);
        for needle in expected {
            assert!(text.contains(&needle), "/{name}: {needle:?} in {text}");
        }
    }
    // The same commands work in a DM with the bot.
    let body = h.command(&alice, Where::Dm, "balance", json!([])).await;
    assert!(private_answer(&body).contains(balance.as_str()));

    // /link with the code an admin gave, then /unlink.
    let newbie = bot::newbie();
    let body = h
        .command(
            &newbie,
            Where::Guild,
            "link",
            json!([option("code", STRING, json!(h.seeded.link_code))]),
        )
        .await;
    let text = private_answer(&body);
    assert!(
        text.contains("Linked!") && text.contains(bot::NEW_ACCOUNT),
        "{text}"
    );
    // /unlink asks first, with buttons; pressing "Unlink" unlinks.
    let body = h.command(&newbie, Where::Guild, "unlink", json!([])).await;
    let text = private_answer(&body);
    assert!(text.starts_with("Unlink your Discord account"), "{text}");
    let body = h.press(&newbie, &body, "Unlink").await;
    let text = private_answer(&body);
    assert!(text.contains("Unlinked from account"), "{text}");
    // An unlinked member is told how to link.
    let body = h.command(&newbie, Where::Guild, "balance", json!([])).await;
    assert!(private_answer(&body).contains("/link"));
    // No response was ever deferred.
    assert!(
        h.fake.view().calls.iter().all(|c| c.body["type"] != 5),
        "nothing deferred"
    );
    h.bot.assert_token_never_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_follow_the_config_not_discord_permissions() {
    let h = Harness::start().await;
    let alice = bot::alice();
    let before = h.alice_balance().await;

    // A moderator with MANAGE_GUILD, not an admin in bot.toml: refused, nothing changes.
    let grant = |amount: &str| {
        vec![
            option("member", USER, json!(alice.id)),
            option("amount", STRING, json!(amount)),
        ]
    };
    let body = h
        .admin(&bot::moderator(), "grant", grant("5.00"), &alice)
        .await;
    let text = private_answer(&body);
    assert!(text.contains("Only creditbot admins"), "{text}");
    assert_eq!(h.alice_balance().await, before, "nothing granted");
    let menu = h.id();
    let body = h
        .interact(payloads::user_command(
            &menu,
            &format!("t-{menu}"),
            &bot::moderator(),
            &alice,
        ))
        .await;
    assert!(private_answer(&body).contains("Only creditbot admins"));

    // The admin of bot.toml (by user id) grants.
    let body = h.admin(&bot::admin(), "grant", grant("5.00"), &alice).await;
    let text = private_answer(&body);
    assert!(text.contains("Granted $5.00"), "{text}");
    assert!(text.contains(&format!("<@{}>", alice.id)), "{text}");
    assert_ne!(h.alice_balance().await, before);
    // An admin by role too.
    let body = h
        .admin(&bot::role_admin(), "grant", grant("1.00"), &alice)
        .await;
    assert!(private_answer(&body).contains("Granted $1.00"));
    // The same grant again asks first; pressing "Grant again" twice grants once.
    let after = h.alice_balance().await;
    let body = h.admin(&bot::admin(), "grant", grant("1.00"), &alice).await;
    let text = private_answer(&body);
    assert!(text.contains("was already granted $1.00"), "{text}");
    assert_eq!(h.alice_balance().await, after, "asking grants nothing");
    let yes = h.press(&bot::admin(), &body, "Grant again").await;
    assert!(private_answer(&yes).contains("Granted $1.00"), "{yes}");
    let twice = h.press(&bot::admin(), &body, "Grant again").await;
    assert!(
        private_answer(&twice).contains("already answered"),
        "{twice}"
    );
    let once = h.alice_balance().await;
    assert_ne!(once, after);
    let body = h.admin(&bot::admin(), "grant", grant("1.00"), &alice).await;
    let no = h.press(&bot::admin(), &body, "Cancel").await;
    assert!(private_answer(&no).starts_with("Cancelled"), "{no}");
    assert_eq!(h.alice_balance().await, once, "cancelled: nothing granted");

    // The "Credits" context menu shows that member's credits to an admin, privately.
    let menu = h.id();
    let body = h
        .interact(payloads::user_command(
            &menu,
            &format!("t-{menu}"),
            &bot::admin(),
            &alice,
        ))
        .await;
    let text = private_answer(&body);
    assert!(
        text.contains(&format!("Credits of <@{}>", alice.id)),
        "{text}"
    );
    assert!(text.contains(ACCOUNT), "{text}");

    // A subcommand without options.
    let body = h.admin(&bot::admin(), "unanswered", vec![], &alice).await;
    assert_eq!(body["type"], 4);
    h.bot.assert_token_never_logged();
}

/// Fails unless every option in `options` (a subcommand and its options, as an interaction
/// carries them) is one the bot registers for `command`: Discord sends no others.
fn assert_registered(command: &str, options: &Value) {
    let commands = creditbot::discord_api::application_commands();
    let registered = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == command)
        .unwrap_or_else(|| panic!("/{command} isn't registered"));
    for sub in options.as_array().unwrap() {
        let spec = registered["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == sub["name"])
            .unwrap_or_else(|| panic!("/{command} {} isn't registered", sub["name"]));
        for option in sub["options"].as_array().unwrap() {
            let known = spec["options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == option["name"])
                .unwrap_or_else(|| {
                    panic!(
                        "/{command} {} has no option {}",
                        sub["name"], option["name"]
                    )
                });
            assert_eq!(known["type"], option["type"], "{}", option["name"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_is_answered_at_once_with_suggestions() {
    let h = Harness::start().await;
    let alice = bot::alice();

    let id = h.id();
    let body = h
        .interact(payloads::autocomplete(
            &id,
            &format!("t-{id}"),
            &alice,
            "order",
            json!([{ "name": "id", "type": STRING, "value": "77", "focused": true }]),
        ))
        .await;
    assert_eq!(body["type"], 8, "{body}");
    let choices = body["data"]["choices"].as_array().unwrap();
    let values: Vec<&str> = choices
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"7781") && values.contains(&"7702"),
        "{body}"
    );
    assert!(choices[0]["name"].as_str().unwrap().contains(" · $"));

    let id = h.id();
    let body = h
        .interact(payloads::autocomplete(
            &id,
            &format!("t-{id}"),
            &alice,
            "faq",
            json!([{ "name": "topic", "type": STRING, "value": "expi", "focused": true }]),
        ))
        .await;
    assert_eq!(body["type"], 8);
    assert!(
        body["data"]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "expiry"),
        "{body}"
    );

    // /admin revoke grant: that member's live grants, for an admin…
    let revoke = json!([{ "name": "revoke", "type": 1, "options": [
        { "name": "grant", "type": STRING, "value": "", "focused": true },
        { "name": "member", "type": USER, "value": alice.id }
    ] }]);
    assert_registered("admin", &revoke);
    let id = h.id();
    let body = h
        .interact(payloads::autocomplete(
            &id,
            &format!("t-{id}"),
            &bot::admin(),
            "admin",
            revoke.clone(),
        ))
        .await;
    let choices = body["data"]["choices"].as_array().unwrap();
    assert!(!choices.is_empty(), "{body}");
    assert!(
        choices[0]["name"].as_str().unwrap().starts_with('#'),
        "{body}"
    );
    // …any account's by number when no member is given (as Discord sends it first)…
    let expiry = json!([{ "name": "expiry", "type": 1, "options": [
        { "name": "grant", "type": STRING, "value": "", "focused": true }
    ] }]);
    assert_registered("admin", &expiry);
    let id = h.id();
    let body = h
        .interact(payloads::autocomplete(
            &id,
            &format!("t-{id}"),
            &bot::admin(),
            "admin",
            expiry.clone(),
        ))
        .await;
    let choices = body["data"]["choices"].as_array().unwrap();
    assert!(!choices.is_empty(), "{body}");
    assert!(
        choices[0]["name"].as_str().unwrap().contains(" · ACC-"),
        "{body}"
    );
    // /admin return item: the items of the order named, by title, for an admin.
    let item = json!([{ "name": "return", "type": 1, "options": [
        { "name": "order", "type": STRING, "value": "7781" },
        { "name": "item", "type": STRING, "value": "hob", "focused": true }
    ] }]);
    assert_registered("admin", &item);
    let commands = creditbot::discord_api::application_commands();
    let admin = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "admin")
        .unwrap();
    let returns = admin["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "return")
        .unwrap();
    assert!(
        returns["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "item" && o["autocomplete"] == true),
        "{returns}"
    );
    let id = h.id();
    let body = h
        .interact(payloads::autocomplete(
            &id,
            &format!("t-{id}"),
            &bot::admin(),
            "admin",
            item.clone(),
        ))
        .await;
    let choices = body["data"]["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{body}");
    assert_eq!(choices[0]["value"], "hobbit-ebook", "{body}");
    assert!(
        choices[0]["name"].as_str().unwrap().contains("The Hobbit"),
        "{body}"
    );
    // …and nothing for anyone else.
    for options in [revoke, expiry, item] {
        let id = h.id();
        let body = h
            .interact(payloads::autocomplete(
                &id,
                &format!("t-{id}"),
                &bot::moderator(),
                "admin",
                options,
            ))
            .await;
        assert_eq!(body, json!({ "type": 8, "data": { "choices": [] } }));
    }

    let view = h.fake.view();
    assert!(
        view.calls.iter().all(|c| c.body["type"] != 5),
        "autocomplete is never deferred"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_answers_whoever_pressed_it() {
    let h = Harness::start().await;
    // A public mention the bot is unsure about ("credits??" could ask how much, or what
    // credits are) offers two buttons, named by the topics' titles…
    let body = h
        .message(
            &bot::newbie(),
            GENERAL_CHANNEL,
            &format!("<@{BOT_ID}> credits??"),
            &[payloads::bot_user()],
        )
        .await;
    let buttons: Vec<(String, String)> = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap().clone())
        .map(|b| {
            (
                b["custom_id"].as_str().unwrap().to_string(),
                b["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        buttons
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["faq:balance", "faq:about"],
        "{body}"
    );
    assert_eq!(buttons[1].1, "What are digital credits?");
    assert!(
        body["content"].as_str().unwrap().contains("not sure"),
        "{body}"
    );
    let custom_id = buttons[1].0.clone();
    // …and alice, pressing one, gets that answer privately, with her own figures.
    let id = h.id();
    let body = h
        .interact(payloads::button(
            &id,
            &format!("t-{id}"),
            &bot::alice(),
            &custom_id,
        ))
        .await;
    let text = private_answer(&body);
    assert!(
        text.starts_with("Digital credits are"),
        "the about answer: {text}"
    );
    let id = h.id();
    let body = h
        .interact(payloads::button(
            &id,
            &format!("t-{id}"),
            &bot::alice(),
            "faq:balance",
        ))
        .await;
    let text = private_answer(&body);
    assert!(
        text.contains(h.seeded.balance.as_str()),
        "her figures: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_dms_get_figures_public_mentions_never() {
    let h = Harness::start().await;
    let alice = bot::alice();
    let balance = h.seeded.balance.clone();

    // A DM: the answer carries her figures.
    let body = h
        .message(&alice, DM_CHANNEL, "how much credit do I have?", &[])
        .await;
    let text = text_of(&body);
    assert!(text.contains(&balance), "{text}");
    assert!(body.get("flags").is_none());
    assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));

    // The same question as a public mention: general, no account, no amount; a reply.
    let body = h
        .message(
            &alice,
            GENERAL_CHANNEL,
            &format!("<@{BOT_ID}> how much credit do I have?"),
            &[payloads::bot_user()],
        )
        .await;
    let text = text_of(&body);
    assert!(!text.contains(&balance), "no balance in public: {text}");
    assert!(!text.contains(ACCOUNT), "no account in public: {text}");
    assert!(text.contains("/balance"), "{text}");
    assert!(body["message_reference"]["message_id"].is_string());

    // A FAQ channel answers without a mention, also without figures.
    let body = h
        .message(&alice, FAQ_CHANNEL, "do my credits expire?", &[])
        .await;
    let text = text_of(&body);
    assert!(
        !text.contains(&balance) && !text.contains(ACCOUNT),
        "{text}"
    );

    // Bots, and messages elsewhere that don't mention the bot, are ignored.
    let quiet_before = h.fake.view().channel_messages(GENERAL_CHANNEL).len();
    h.fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(
            &h.id(),
            &bot::other_bot(),
            DM_CHANNEL,
            false,
            "balance?",
            &[],
        ),
    );
    h.fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(&h.id(), &alice, GENERAL_CHANNEL, true, "lunch anyone?", &[]),
    );
    // A later DM is answered, and it is the only new answer.
    let dms_before = h.fake.view().channel_messages(DM_CHANNEL).len();
    h.message(&alice, DM_CHANNEL, "when do my credits expire?", &[])
        .await;
    let view = h.fake.view();
    assert_eq!(view.channel_messages(DM_CHANNEL).len(), dms_before + 1);
    assert_eq!(view.channel_messages(GENERAL_CHANNEL).len(), quiet_before);
    h.bot.assert_token_never_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_reconnects_after_the_gateway_closes_or_drops() {
    let h = Harness::start_with(Options {
        heartbeat_interval_ms: 1_000,
        ..Options::default()
    })
    .await;
    let alice = bot::alice();

    // A close frame (4000: unknown error, resumable): the bot resumes the session.
    h.fake.close(4000);
    h.fake
        .wait_until("a resume", WAIT, |v| (v.gateway.resumes >= 1).then_some(()))
        .await;
    let body = h.command(&alice, Where::Guild, "balance", json!([])).await;
    assert!(private_answer(&body).contains(h.seeded.balance.as_str()));

    // The connection dropped without a close frame: noticed at the next heartbeat.
    h.fake.drop_connection();
    h.fake
        .wait_until("a reconnect", WAIT, |v| {
            (v.gateway.resumes + v.gateway.readies >= 3).then_some(())
        })
        .await;
    let body = h.command(&alice, Where::Guild, "help", json!([])).await;
    assert_eq!(body["type"], 4);
    assert_eq!(h.fake.view().registrations().len(), 1, "registered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_are_logged_and_the_bot_keeps_serving() {
    let h = Harness::start().await;
    let alice = bot::alice();

    // Garbage where an interaction should be: neither serenity nor creditbot can read it.
    h.fake.dispatch("INTERACTION_CREATE", json!("garbage"));
    h.bot
        .wait_log(&["can't be read", "not a JSON object"], WAIT)
        .await;
    h.fake.dispatch(
        "INTERACTION_CREATE",
        json!({ "id": "1300000000000000777", "type": 2, "token": 7 }),
    );
    h.bot
        .wait_log(&["can't be read", "1300000000000000777"], WAIT)
        .await;
    // Not JSON at all (serenity logs it).
    h.fake.send_raw("{ this is not json".into());
    // A kind of interaction serenity reads but creditbot never asked for.
    let modal = h.id();
    h.fake.dispatch(
        "INTERACTION_CREATE",
        payloads::modal_submit(&modal, &format!("t-{modal}"), &alice),
    );
    let line = h
        .bot
        .wait_log(&["ignored an interaction", &modal], WAIT)
        .await;
    assert!(line.contains("WARN"), "{line}");
    assert!(
        !line.contains(&format!("t-{modal}")),
        "no interaction token: {line}"
    );

    // Still serving.
    let body = h.command(&alice, Where::Guild, "balance", json!([])).await;
    assert!(private_answer(&body).contains(h.seeded.balance.as_str()));
    assert!(h.fake.view().callbacks(&modal).is_empty());
    h.bot.assert_token_never_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_serenity_cannot_read_is_answered_from_its_raw_payload() {
    let h = Harness::start().await;
    // Fields serenity 0.12.5 requires, missing (as if Discord changed them): serenity's model
    // drops the event, creditbot's own reader still answers it.
    let id = h.id();
    let mut payload = payloads::command(
        &id,
        &format!("token-{id}"),
        &bot::alice(),
        Where::Guild,
        "balance",
        json!([]),
    );
    for field in ["entitlements", "attachment_size_limit", "locale"] {
        payload.as_object_mut().unwrap().remove(field);
    }
    let body = h.interact(payload).await;
    assert!(private_answer(&body).contains(h.seeded.balance.as_str()));
    h.bot
        .wait_log(&["serenity could not read an interaction", &id], WAIT)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_is_deferred_then_the_original_response_edited() {
    let h = Harness::start().await;
    let alice = bot::alice();
    // Another writer holds SQLite's write lock for 3 s: a grant waits for it (busy timeout 5 s).
    let db = h.seeded.db.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let id = h.id();
    let token = format!("token-{id}");
    let payload = payloads::with_resolved_user(
        payloads::command(
            &id,
            &token,
            &bot::admin(),
            Where::Guild,
            "admin",
            subcommand(
                "grant",
                vec![
                    option("member", USER, json!(alice.id)),
                    option("amount", STRING, json!("2.50")),
                ],
            ),
        ),
        &alice,
    );
    let deferral = h.interact(payload).await;
    assert_eq!(deferral, json!({ "type": 5, "data": { "flags": 64 } }));
    let edit = h
        .fake
        .wait_until("the edit of the original response", WAIT, |v| {
            v.edits(&token).first().map(|c| c.body.clone())
        })
        .await;
    assert!(
        edit["content"].as_str().unwrap().contains("Granted $2.50"),
        "{edit}"
    );
    assert!(edit.get("flags").is_none());
    holder.join().unwrap();
    assert_eq!(h.fake.view().callbacks(&id).len(), 1, "one callback only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_message_content_it_reconnects_and_dms_and_mentions_still_work() {
    let h = Harness::start_with(Options {
        refuse_message_content: true,
        ..Options::default()
    })
    .await;
    let view = h.fake.view();
    assert_eq!(view.gateway.refused, vec![4014]);
    let last = view.gateway.identifies.last().unwrap();
    assert_eq!(
        last["intents"].as_u64().unwrap() & crate::fake_discord::MESSAGE_CONTENT,
        0,
        "asked again without MESSAGE_CONTENT"
    );
    h.bot
        .wait_log(&["refused the MESSAGE_CONTENT intent"], WAIT)
        .await;
    let alice = bot::alice();
    let body = h.command(&alice, Where::Guild, "balance", json!([])).await;
    assert_eq!(body["type"], 4);
    let body = h
        .message(&alice, DM_CHANNEL, "how much credit do I have?", &[])
        .await;
    assert!(text_of(&body).contains(h.seeded.balance.as_str()));
    let body = h
        .message(
            &alice,
            GENERAL_CHANNEL,
            &format!("<@{BOT_ID}> do credits expire?"),
            &[payloads::bot_user()],
        )
        .await;
    assert!(!text_of(&body).is_empty());
    h.bot.assert_token_never_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_interaction_in_hand_then_exits() {
    let mut h = Harness::start().await;
    let alice = bot::alice();
    // An interaction held up by a locked database (as above)…
    let db = h.seeded.db.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(2_500));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let id = h.id();
    let token = format!("token-{id}");
    h.fake.dispatch(
        "INTERACTION_CREATE",
        payloads::with_resolved_user(
            payloads::command(
                &id,
                &token,
                &bot::admin(),
                Where::Guild,
                "admin",
                subcommand(
                    "grant",
                    vec![
                        option("member", USER, json!(alice.id)),
                        option("amount", STRING, json!("3.00")),
                    ],
                ),
            ),
            &alice,
        ),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …then SIGTERM: the bot stops the gateway, finishes the grant, and exits 0.
    let status = h.bot.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    holder.join().unwrap();
    let view = h.fake.view();
    let answered = view
        .callbacks(&id)
        .iter()
        .map(|c| c.body.to_string())
        .chain(view.edits(&token).iter().map(|c| c.body.to_string()))
        .any(|b| b.contains("Granted $3.00"));
    assert!(
        answered,
        "the grant in hand was answered: {:?}",
        view.calls.len()
    );
    let logs = h.bot.logs().join("\n");
    assert!(
        logs.contains("shutting down") && logs.contains("stopped"),
        "{logs}"
    );
    // The database was closed cleanly: it opens and the grant is there exactly once.
    let ledger = creditbot::ledger::Ledger::open(
        &h.seeded.db,
        &creditbot::config::DatabaseConfig::default(),
        creditbot::ledger::LedgerSettings::default(),
    )
    .unwrap();
    ledger.integrity_check().unwrap();
    h.bot.assert_token_never_logged();
}

/// serenity starts a process's shards one at a time, this long apart.
const BETWEEN_SHARD_BOOTS: Duration = Duration::from_secs(5);

/// A guild Discord sends on `shard` of `count`: the nearest id below `GUILD_ID` that lands there.
fn guild_on_shard(shard: u64, count: u64) -> String {
    let base: u64 = GUILD_ID.parse().unwrap();
    (0..count)
        .map(|step| (base - (step << 22)).to_string())
        .find(|guild| shard_of_guild(guild, count) == shard)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_runs_only_its_configured_shard_range_and_answers_on_each() {
    // Discord recommends another count: the configured range wins.
    let fake = FakeDiscord::start(Options {
        recommended_shards: 8,
        ..Options::default()
    })
    .await;
    let seeded = bot::seed_with(&fake, "shard_ids = \"1-2\"\nshard_count = 4");
    let bot = Bot::start(&seeded, true);
    fake.wait_ready(2, WAIT + BETWEEN_SHARD_BOOTS).await;
    let both_ready = tokio::time::Instant::now();
    bot.wait_log(
        &["connecting to the Discord gateway", "shards 1-2 of 4"],
        WAIT,
    )
    .await;
    // A member's command from a guild on each shard, sent on that shard, is answered alike.
    for shard in [1, 2] {
        let id = format!("130000000000000420{shard}");
        let token = format!("token-{id}");
        let command = payloads::command(
            &id,
            &token,
            &bot::alice(),
            Where::Guild,
            "balance",
            json!([]),
        );
        fake.dispatch_on(
            shard,
            "INTERACTION_CREATE",
            payloads::in_guild(command, &guild_on_shard(shard, 4)),
        );
        let body = fake.wait_callback(&id, WAIT).await.body;
        assert!(
            private_answer(&body).contains(seeded.balance.as_str()),
            "shard {shard}: {body}"
        );
    }
    // Long enough for serenity to have booted a third shard, had it been told to.
    tokio::time::sleep_until(both_ready + BETWEEN_SHARD_BOOTS + Duration::from_secs(1)).await;
    let view = fake.view();
    let mut shards = view.gateway.identified_shards();
    shards.sort();
    assert_eq!(
        shards,
        vec![[1, 4], [2, 4]],
        "shards 0 and 3 belong to another process"
    );
    assert_eq!(
        view.registrations().len(),
        1,
        "commands registered once, not per shard"
    );
    assert!(
        !view.calls.iter().any(|c| c.path == "/api/v10/gateway/bot"),
        "a configured range asks Discord for no shard count"
    );
    bot.assert_token_never_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_shard_keys_it_runs_every_shard_discord_recommends() {
    let fake = FakeDiscord::start(Options {
        recommended_shards: 2,
        ..Options::default()
    })
    .await;
    let seeded = bot::seed(&fake);
    let _bot = Bot::start(&seeded, true);
    fake.wait_ready(2, WAIT + BETWEEN_SHARD_BOOTS).await;
    let mut shards = fake.view().gateway.identified_shards();
    shards.sort();
    assert_eq!(shards, vec![[0, 2], [1, 2]]);
}
