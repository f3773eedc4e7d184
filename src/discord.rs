//! The Discord gateway bot (serenity 0.12): registers the commands, answers interactions and
//! messages through the assistant, and shuts down cleanly. Only this module imports serenity;
//! Discord's wire shapes (commands, interaction payloads, response bodies) live in
//! `discord_api`, which the HTTP interactions endpoint shares.
//!
//! The assistant is synchronous (SQLite), so every call to it runs in `spawn_blocking`.
//! Interactions are answered within Discord's 3 s: when the answer is not ready after
//! [`DEFER_AFTER`], the bot defers (type 5) and edits the original response when it is.

use serde_json::Value;
use serenity::all::{
    ChannelId, Client, ClientBuilder, Context, Event, EventHandler, GatewayError, GatewayIntents,
    GuildId, HttpBuilder, Interaction, InteractionId, Message, RawEventHandler, Ready, UserId,
};
use serenity::async_trait;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::assistant::{Assistant, Input, Place, Request, Who};
use crate::config::{Config, Shards};
use crate::discord_api::{self, InteractionKind, ParsedInteraction};
use crate::offload::{self, Answer, DEFER_AFTER};
use crate::shutdown;

/// Discord's API when no proxy is configured.
pub const DISCORD_API: &str = "https://discord.com";
/// How long a stop waits for a connected shard to close its gateway connection.
const SHARD_CLOSE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("Discord refused the bot token (check [discord] token or DISCORD_TOKEN)")]
    Authentication,
    #[error("the Discord client failed: {0}")]
    Client(Box<serenity::Error>),
    #[error("can't listen for shutdown signals: {0}")]
    Signals(#[from] std::io::Error),
    #[error("{0}: {1}")]
    Config(&'static str, String),
}

impl From<serenity::Error> for DiscordError {
    fn from(error: serenity::Error) -> Self {
        DiscordError::Client(Box::new(error))
    }
}

/// Runs the bot until SIGINT or SIGTERM, then lets the interactions in hand finish.
pub async fn run(config: &Config, assistant: Arc<Assistant>) -> Result<(), DiscordError> {
    let discord = &config.discord;
    let base = discord.api_base.trim_end_matches('/').to_string();
    let mut intents = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT;
    tracing::info!(
        "asking for the privileged MESSAGE_CONTENT intent: the FAQ channels need it; DMs, mentions and slash commands work without it"
    );
    let state = Arc::new(Shared {
        assistant,
        guild_ids: discord.guild_ids.clone(),
        faq_channel_ids: discord.faq_channel_ids.clone(),
        bot_id: OnceLock::new(),
        registered: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
    });
    let shards = discord
        .shards()
        .map_err(|(key, message)| DiscordError::Config(key, message))?;
    let stop = shutdown::listen()?;
    loop {
        let mut http = HttpBuilder::new(discord.token.expose());
        if base != DISCORD_API {
            // serenity sends REST to the proxy only when its own rate limiter is off.
            tracing::info!(api_base = %base, "Discord API through a proxy");
            http = http.proxy(base.clone()).ratelimiter_disabled(true);
        }
        let mut client = ClientBuilder::new_with_http(http.build(), intents)
            .event_handler(Handler {
                shared: Arc::clone(&state),
            })
            .raw_event_handler(Handler {
                shared: Arc::clone(&state),
            })
            .await?;
        let manager = Arc::clone(&client.shard_manager);
        match shards {
            Some(shards) => tracing::info!(%shards, "connecting to the Discord gateway"),
            None => tracing::info!(
                "connecting to the Discord gateway (shards as Discord recommends, all in this process)"
            ),
        }
        // The stop doesn't wait for serenity to agree: while it is connecting, or waiting to
        // reconnect to a Discord it can't reach, it has no shard to shut down and would go on
        // retrying. A connected shard is asked to close (Discord sees a clean goodbye); then
        // the client is dropped whatever state it is in.
        let result = tokio::select! {
            result = start(&mut client, shards) => result,
            () = stop.requested() => {
                if tokio::time::timeout(SHARD_CLOSE, manager.shutdown_all()).await.is_err() {
                    tracing::warn!("the gateway connection didn't close in time; dropping it");
                }
                Ok(())
            }
        };
        drop(client);
        match result {
            Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents))
                if intents.contains(GatewayIntents::MESSAGE_CONTENT) && !stop.is_requested() =>
            {
                // The shard has stopped already; the next client asks for less.
                intents.remove(GatewayIntents::MESSAGE_CONTENT);
                tracing::warn!(
                    "Discord refused the MESSAGE_CONTENT intent (enable it under Bot → Privileged Gateway Intents): reconnecting without it; slash commands, DMs and mentions still work, messages in the FAQ channels are not answered"
                );
            }
            Err(serenity::Error::Gateway(GatewayError::InvalidAuthentication)) => {
                return Err(DiscordError::Authentication);
            }
            Err(error) => {
                state.drain().await;
                return Err(error.into());
            }
            Ok(()) => {
                tracing::info!("gateway closed; finishing the interactions in hand");
                state.drain().await;
                tracing::info!("stopped");
                return Ok(());
            }
        }
    }
}

/// Runs the configured shards, or serenity's automatic sharding (the count `/gateway/bot`
/// recommends, every shard in this process) when none are configured.
async fn start(client: &mut Client, shards: Option<Shards>) -> serenity::Result<()> {
    match shards {
        // serenity 0.12's `start_shard_range` runs `range.start` up to *and including*
        // `range.end` (it hands `end` to `start_connection` as the last shard), so the last id
        // goes in as the end; tests/it/discord.rs checks which shards identify.
        Some(shards) => {
            client
                .start_shard_range(shards.first()..shards.last(), shards.count())
                .await
        }
        None => client.start_autosharded().await,
    }
}

/// What the event handlers share.
struct Shared {
    assistant: Arc<Assistant>,
    guild_ids: Vec<u64>,
    faq_channel_ids: Vec<u64>,
    bot_id: OnceLock<UserId>,
    registered: AtomicBool,
    in_flight: AtomicUsize,
}

impl Shared {
    fn track(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }

    /// Waits (bounded) until no event is being handled.
    async fn drain(&self) {
        let deadline = tokio::time::Instant::now() + shutdown::DRAIN;
        loop {
            let left = self.in_flight.load(Ordering::SeqCst);
            if left == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(left, "stopping with events still being handled");
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Counts an event being handled until dropped.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Handler {
    shared: Arc<Shared>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.shared.bot_id.set(ready.user.id);
        tracing::info!(
            bot = %ready.user.id,
            application = %ready.application.id,
            guilds = ready.guilds.len(),
            "connected to Discord"
        );
        // READY comes again after every re-identify; the commands are registered once.
        if self.shared.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        let _busy = self.shared.track();
        let commands = discord_api::application_commands();
        if self.shared.guild_ids.is_empty() {
            match ctx.http.create_global_commands(&commands).await {
                Ok(done) => tracing::info!(
                    commands = done.len(),
                    "registered global commands (Discord may take up to an hour to show changes)"
                ),
                Err(error) => {
                    self.shared.registered.store(false, Ordering::SeqCst);
                    tracing::error!(%error, "could not register the global commands");
                }
            }
        } else {
            for guild in &self.shared.guild_ids {
                match ctx
                    .http
                    .create_guild_commands(GuildId::new(*guild), &commands)
                    .await
                {
                    Ok(done) => tracing::info!(guild, commands = done.len(), "registered commands"),
                    Err(error) => {
                        self.shared.registered.store(false, Ordering::SeqCst);
                        tracing::error!(guild, %error, "could not register the commands");
                    }
                }
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let _busy = self.shared.track();
        let raw = match serde_json::to_value(&interaction) {
            Ok(mut raw) => {
                // serenity keeps the interaction's type in the enum, not in the serialized
                // struct: put it back so the payload reads as Discord sent it.
                raw["type"] = u8::from(interaction.kind()).into();
                raw
            }
            Err(error) => {
                tracing::warn!(id = %interaction.id(), %error, "could not read an interaction");
                return;
            }
        };
        let parsed = match discord_api::parse_interaction(&raw) {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(
                    id = %interaction.id(),
                    kind = ?interaction.kind(),
                    %error,
                    "ignored an interaction creditbot can't read"
                );
                return;
            }
        };
        self.shared.interact(&ctx, parsed).await;
    }

    async fn message(&self, ctx: Context, message: Message) {
        let _busy = self.shared.track();
        self.shared.on_message(&ctx, message).await;
    }
}

/// serenity turns an event its model can't read into `Event::Unknown` and drops it (with a
/// debug line). An interaction is still answered from its raw JSON when `discord_api` can
/// read it — Discord adds fields faster than models follow — and logged when not.
#[async_trait]
impl RawEventHandler for Handler {
    async fn raw_event(&self, ctx: Context, event: Event) {
        let Event::Unknown(unknown) = event else {
            return;
        };
        let id = unknown
            .value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        match unknown.kind.as_str() {
            "INTERACTION_CREATE" => {
                let _busy = self.shared.track();
                match discord_api::parse_interaction(&unknown.value) {
                    Ok(parsed) => {
                        tracing::warn!(%id, "serenity could not read an interaction; answering it from its raw payload");
                        self.shared.interact(&ctx, parsed).await;
                    }
                    Err(error) => {
                        tracing::warn!(%id, %error, "ignored an INTERACTION_CREATE payload that can't be read");
                    }
                }
            }
            "MESSAGE_CREATE" => {
                tracing::warn!(%id, "ignored a MESSAGE_CREATE payload that can't be read");
            }
            other => tracing::debug!(event = other, "an event creditbot doesn't use"),
        }
    }
}

impl Shared {
    async fn interact(self: &Arc<Self>, ctx: &Context, parsed: ParsedInteraction) {
        let ParsedInteraction {
            id, token, kind, ..
        } = parsed;
        let Ok(interaction_id) = id.parse::<u64>().map(InteractionId::new) else {
            return;
        };
        let now = chrono::Utc::now();
        match kind {
            InteractionKind::Ping => {}
            InteractionKind::Autocomplete { who, focus, .. } => {
                // Answered at once, never deferred: Discord drops late suggestions.
                let body = offload::suggestions(Arc::clone(&self.assistant), who, now, focus).await;
                if let Err(error) = ctx
                    .http
                    .create_interaction_response(interaction_id, &token, &body, vec![])
                    .await
                {
                    tracing::warn!(%id, %error, "could not send suggestions");
                }
            }
            InteractionKind::Request { who, place, input } => {
                let request = Request {
                    id: id.clone(),
                    who,
                    place,
                    now,
                    input,
                };
                let assistant = Arc::clone(&self.assistant);
                let reply = match offload::answer_within(assistant, request, DEFER_AFTER).await {
                    Answer::Ready(reply) => reply,
                    Answer::Late(task) => {
                        // Commands answer privately, so the "thinking…" is private too.
                        let deferral = discord_api::deferred_response(true);
                        if let Err(error) = ctx
                            .http
                            .create_interaction_response(interaction_id, &token, &deferral, vec![])
                            .await
                        {
                            tracing::warn!(%id, %error, "could not defer an interaction");
                        }
                        let reply = task.finish().await;
                        let body = discord_api::edit_payload(&reply);
                        if let Err(error) = ctx
                            .http
                            .edit_original_interaction_response(&token, &body, vec![])
                            .await
                        {
                            tracing::warn!(%id, %error, "could not send a deferred answer");
                        }
                        return;
                    }
                };
                let body = discord_api::interaction_response(&reply);
                if let Err(error) = ctx
                    .http
                    .create_interaction_response(interaction_id, &token, &body, vec![])
                    .await
                {
                    tracing::warn!(%id, %error, "could not answer an interaction");
                }
            }
        }
    }

    /// DMs, mentions of the bot, and messages in the FAQ channels, answered in place.
    async fn on_message(self: &Arc<Self>, ctx: &Context, message: Message) {
        if message.author.bot {
            return;
        }
        let me = self.bot_id.get().copied();
        if Some(message.author.id) == me {
            return;
        }
        let direct = message.guild_id.is_none();
        let mentioned = me.is_some_and(|me| message.mentions.iter().any(|u| u.id == me));
        let faq_channel = self.faq_channel_ids.contains(&message.channel_id.get());
        if !(direct || mentioned || faq_channel) {
            return;
        }
        let question = match me {
            Some(me) => strip_mention(&message.content, me.get()),
            None => message.content.trim().to_string(),
        };
        if question.is_empty() {
            // Without MESSAGE_CONTENT, other people's messages arrive empty.
            tracing::debug!(message = %message.id, "a message without text");
            return;
        }
        let display_name = message
            .member
            .as_ref()
            .and_then(|m| m.nick.clone())
            .or_else(|| message.author.global_name.clone())
            .unwrap_or_else(|| message.author.name.clone());
        let role_ids = message
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get().to_string()).collect())
            .unwrap_or_default();
        let request = Request {
            id: message.id.get().to_string(),
            who: Who {
                user_id: message.author.id.get().to_string(),
                display_name,
                role_ids,
            },
            place: if direct {
                Place::DirectMessage
            } else {
                Place::Channel
            },
            now: chrono::Utc::now(),
            input: Input::Text(question),
        };
        let reply = offload::answer(Arc::clone(&self.assistant), request).await;
        let reply_to = message.id.get().to_string();
        let body = discord_api::channel_message_payload(&reply, Some(&reply_to));
        if let Err(error) = ctx
            .http
            .send_message(ChannelId::new(message.channel_id.get()), vec![], &body)
            .await
        {
            tracing::warn!(message = %message.id, %error, "could not answer a message");
        }
    }
}

/// The question without the bot's mention (`<@id>` or `<@!id>`).
fn strip_mention(content: &str, bot_id: u64) -> String {
    content
        .replace(&format!("<@{bot_id}>"), " ")
        .replace(&format!("<@!{bot_id}>"), " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Private messages through serenity, for the reminders of the gateway bot: open the DM
/// channel, send. Through `[discord] api_base` like the rest of the bot.
pub struct SerenityDms {
    http: Arc<serenity::http::Http>,
}

impl SerenityDms {
    pub fn new(api_base: &str, token: &str) -> Self {
        let base = api_base.trim_end_matches('/');
        let mut http = HttpBuilder::new(token);
        if base != DISCORD_API {
            http = http.proxy(base).ratelimiter_disabled(true);
        }
        SerenityDms {
            http: Arc::new(http.build()),
        }
    }
}

/// What a serenity error means for a retry.
fn dm_error(error: serenity::Error) -> crate::reminders::SendError {
    use crate::reminders::SendError;
    use serenity::http::HttpError;
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let body = serde_json::json!({
                "code": response.error.code,
                "message": response.error.message,
            });
            crate::dm::classify(response.status_code.as_u16(), &body, None)
        }
        serenity::Error::Http(HttpError::Request(error)) => {
            SendError::Transient(format!("no answer from Discord ({error})"))
        }
        other => SendError::Permanent(other.to_string()),
    }
}

impl crate::reminders::Deliver for SerenityDms {
    fn send<'a>(
        &'a self,
        member_id: &'a str,
        text: &'a str,
        nonce: &'a str,
    ) -> crate::reminders::BoxFuture<'a, Result<(), crate::reminders::SendError>> {
        use serenity::all::{CreateAllowedMentions, CreateMessage, Nonce};
        Box::pin(async move {
            let user = member_id
                .parse::<u64>()
                .ok()
                .filter(|id| *id != 0)
                .map(UserId::new)
                .ok_or_else(|| {
                    crate::reminders::SendError::Permanent(format!(
                        "{member_id} isn't a Discord user id"
                    ))
                })?;
            let channel = user
                .create_dm_channel(&*self.http)
                .await
                .map_err(dm_error)?;
            channel
                .id
                .send_message(
                    &*self.http,
                    CreateMessage::new()
                        .content(text)
                        .nonce(Nonce::String(nonce.to_string()))
                        .enforce_nonce(true)
                        .allowed_mentions(CreateAllowedMentions::new()),
                )
                .await
                .map_err(dm_error)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped_from_the_question() {
        let table = [
            ("<@42> do my credits expire?", "do my credits expire?"),
            ("hey <@!42>   balance?", "hey balance?"),
            ("<@43> not me", "<@43> not me"),
            ("<@42>", ""),
        ];
        for (content, expected) in table {
            assert_eq!(strip_mention(content, 42), expected, "{content}");
        }
    }
}
