//! A fake Discord on 127.0.0.1 for running the real serenity client in tests and benches:
//! REST (axum) that hands out the gateway URL, records the bot's command registrations,
//! interaction callbacks, edits and channel messages, answering each as Discord does; and a
//! gateway (tokio-tungstenite) that sends Hello, answers Identify with READY and Resume with
//! RESUMED, acknowledges heartbeats, and pushes the events a test asks for. Each shard the bot
//! identifies as has its own session and connection; a test sends on one by its id (shard 0
//! unless it says otherwise, the only one a bot has when Discord recommends one shard).
//!
//! Payloads are shaped as Discord sends them today (see `payloads`), so serenity 0.12.5 must
//! read them as it would read Discord's. Nothing here leaves 127.0.0.1.

pub mod bot;
pub mod payloads;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub const APPLICATION_ID: &str = "1200000000000000000";
/// The bot's user id (Discord gives a bot the id of its application).
pub const BOT_ID: &str = APPLICATION_ID;
pub const GUILD_ID: &str = "1100000000000000000";
/// The MESSAGE_CONTENT intent bit.
pub const MESSAGE_CONTENT: u64 = 1 << 15;

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Refuse the privileged MESSAGE_CONTENT intent with close code 4014, as Discord does when
    /// it is not enabled for the application.
    pub refuse_message_content: bool,
    pub heartbeat_interval_ms: u64,
    /// Refuse every gateway connection (closed before the WebSocket handshake), as when
    /// Discord's gateway can't be reached: REST still answers, the bot keeps reconnecting.
    pub refuse_gateway: bool,
    /// The shard count `GET /gateway/bot` recommends (what serenity's autosharding runs).
    pub recommended_shards: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            refuse_message_content: false,
            heartbeat_interval_ms: 2_000,
            refuse_gateway: false,
            recommended_shards: 1,
        }
    }
}

/// One REST request the bot made.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    #[allow(dead_code)] // read by benches/discord.rs
    pub at: Instant,
}

/// What the gateway saw.
#[derive(Clone, Debug, Default)]
pub struct GatewayLog {
    pub connections: usize,
    /// Connections closed unanswered (`Options::refuse_gateway`).
    pub refused_connections: usize,
    pub identifies: Vec<Value>,
    pub resumes: usize,
    pub readies: usize,
    pub heartbeats: usize,
    /// Close codes the fake sent.
    pub refused: Vec<u16>,
}

enum ToConnection {
    Text(String),
    Close(u16),
    Drop,
}

/// One shard's session: what a Resume must name, and its live connection, if any.
struct Session {
    id: String,
    seq: u64,
    connection: Option<mpsc::UnboundedSender<ToConnection>>,
}

/// A scripted answer to the next message a channel is sent.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: u16,
    pub body: Value,
    /// Keep the message anyway, as when Discord created it but the answer was lost.
    pub delivered: bool,
}

#[derive(Default)]
struct Inner {
    /// DM channels opened, by recipient.
    dm_channels: Vec<(String, String)>,
    /// Messages Discord would show, by channel: (channel, nonce, body).
    delivered: Vec<(String, Option<String>, Value)>,
    /// Answers to the next channel messages, first first.
    script: std::collections::VecDeque<Scripted>,
    calls: Vec<Call>,
    gateway: GatewayLog,
    /// By shard id.
    sessions: std::collections::BTreeMap<u64, Session>,
}

impl Inner {
    /// The live connection of a shard, to send on.
    fn connection(&self, shard: u64) -> &mpsc::UnboundedSender<ToConnection> {
        self.sessions
            .get(&shard)
            .and_then(|s| s.connection.as_ref())
            .unwrap_or_else(|| panic!("no live gateway connection for shard {shard}"))
    }

    /// Takes a shard's connection away from the session (which a Resume may pick up again).
    fn take_connection(&mut self, shard: u64) -> Option<mpsc::UnboundedSender<ToConnection>> {
        self.sessions.get_mut(&shard)?.connection.take()
    }
}

pub struct FakeDiscord {
    pub rest_url: String,
    #[allow(dead_code)] // read by benches/discord.rs
    pub ws_url: String,
    inner: Arc<Mutex<Inner>>,
    changed: watch::Receiver<u64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    notify: Arc<watch::Sender<u64>>,
    ws_url: String,
    options: Options,
}

impl Shared {
    fn bump(&self) {
        self.notify.send_modify(|n| *n += 1);
    }
}

impl FakeDiscord {
    pub async fn start(options: Options) -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rest_url = format!("http://{}", rest.local_addr().unwrap());
        let ws_url = format!("ws://{}", gateway.local_addr().unwrap());
        let (notify, changed) = watch::channel(0);
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner::default())),
            notify: Arc::new(notify),
            ws_url: ws_url.clone(),
            options,
        };
        let app = Router::new()
            .fallback(rest_handler)
            .with_state(shared.clone());
        let rest_task = tokio::spawn(async move {
            axum::serve(rest, app).await.unwrap();
        });
        let gateway_shared = shared.clone();
        let gateway_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = gateway.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, gateway_shared.clone()));
            }
        });
        FakeDiscord {
            rest_url,
            ws_url,
            inner: shared.inner,
            changed,
            tasks: vec![rest_task, gateway_task],
        }
    }

    /// Waits until `check` holds, up to `timeout`; panics naming `what` otherwise.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&FakeView) -> Option<T>,
    ) -> T {
        let mut changed = self.changed.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changed.borrow_and_update();
            if let Some(found) = check(&self.view()) {
                return found;
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    if let Some(found) = check(&self.view()) {
                        return found;
                    }
                    panic!(
                        "timed out after {timeout:?} waiting for {what}; calls: {:#?}; gateway: {:?}",
                        self.view()
                            .calls
                            .iter()
                            .map(|c| format!("{} {}", c.method, c.path))
                            .collect::<Vec<_>>(),
                        self.view().gateway
                    )
                }
            }
        }
    }

    /// Waits for the first callback of an interaction, scanning only new calls (cheap enough
    /// for benches: no snapshot of everything recorded).
    pub async fn wait_callback(&self, interaction_id: &str, timeout: Duration) -> Call {
        let prefix = format!("/api/v10/interactions/{interaction_id}/");
        let mut changed = self.changed.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = 0;
        loop {
            changed.borrow_and_update();
            {
                let inner = self.inner.lock().unwrap();
                if let Some(call) = inner.calls[seen..]
                    .iter()
                    .find(|c| c.method == "POST" && c.path.starts_with(&prefix))
                {
                    return call.clone();
                }
                seen = inner.calls.len();
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                panic!("timed out after {timeout:?} waiting for the callback of {interaction_id}");
            }
        }
    }

    /// A snapshot of what was recorded.
    pub fn view(&self) -> FakeView {
        let inner = self.inner.lock().unwrap();
        FakeView {
            calls: inner.calls.clone(),
            gateway: inner.gateway.clone(),
        }
    }

    /// Waits for the n-th READY (1 = the first connection).
    pub async fn wait_ready(&self, n: usize, timeout: Duration) {
        self.wait_until(&format!("READY #{n}"), timeout, |v| {
            (v.gateway.readies >= n).then_some(())
        })
        .await
    }

    /// Sends a dispatch event (op 0) on shard 0's live connection; returns when it is
    /// written to the socket's queue.
    pub fn dispatch(&self, event: &str, data: Value) {
        self.dispatch_on(0, event, data);
    }

    /// Sends a dispatch event (op 0) on one shard's live connection.
    pub fn dispatch_on(&self, shard: u64, event: &str, data: Value) {
        let mut inner = self.inner.lock().unwrap();
        let seq = match inner.sessions.get_mut(&shard) {
            Some(session) => {
                session.seq += 1;
                session.seq
            }
            None => panic!("no session on shard {shard} to send {event} on"),
        };
        let text = json!({ "op": 0, "s": seq, "t": event, "d": data }).to_string();
        inner
            .connection(shard)
            .send(ToConnection::Text(text))
            .expect("the connection task is alive");
    }

    /// Sends raw text on shard 0's live connection (for malformed payloads).
    pub fn send_raw(&self, text: String) {
        let inner = self.inner.lock().unwrap();
        inner
            .connection(0)
            .send(ToConnection::Text(text))
            .expect("the connection task is alive");
    }

    /// Closes shard 0's live connection with a close frame (e.g. 4000, "unknown error":
    /// resumable).
    pub fn close(&self, code: u16) {
        if let Some(connection) = self.inner.lock().unwrap().take_connection(0) {
            let _ = connection.send(ToConnection::Close(code));
        }
    }

    /// Drops shard 0's live connection without a close frame, as a network failure would.
    pub fn drop_connection(&self) {
        if let Some(connection) = self.inner.lock().unwrap().take_connection(0) {
            let _ = connection.send(ToConnection::Drop);
        }
    }

    /// Answers the next channel messages with these, in order (then as usual).
    pub fn script_messages(&self, answers: Vec<Scripted>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// The messages a user would see in their DMs with the bot (a retried message that
    /// Discord matched by its nonce counts once, as Discord shows it once).
    pub fn dms(&self, user_id: &str) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        let Some((_, channel)) = inner.dm_channels.iter().find(|(u, _)| u == user_id) else {
            return Vec::new();
        };
        inner
            .delivered
            .iter()
            .filter(|(c, _, _)| c == channel)
            .map(|(_, _, body)| body.clone())
            .collect()
    }
}

impl GatewayLog {
    /// The `[id, count]` each Identify named, in the order they came (`[0, 1]` for one
    /// without a `shard`, as Discord reads it).
    pub fn identified_shards(&self) -> Vec<[u64; 2]> {
        self.identifies.iter().map(shard_of_identify).collect()
    }
}

fn shard_of_identify(identify: &Value) -> [u64; 2] {
    match identify["shard"].as_array().map(Vec::as_slice) {
        Some([id, count]) => [id.as_u64().unwrap(), count.as_u64().unwrap()],
        _ => [0, 1],
    }
}

/// The shard Discord sends a guild's events on: (guild_id >> 22) % shard_count.
pub fn shard_of_guild(guild_id: &str, shard_count: u64) -> u64 {
    (guild_id.parse::<u64>().expect("a snowflake") >> 22) % shard_count
}

/// What the fake recorded, at one moment.
pub struct FakeView {
    pub calls: Vec<Call>,
    pub gateway: GatewayLog,
}

impl FakeView {
    /// The callbacks (`POST /interactions/{id}/{token}/callback`) for an interaction.
    pub fn callbacks(&self, interaction_id: &str) -> Vec<&Call> {
        let prefix = format!("/api/v10/interactions/{interaction_id}/");
        self.calls
            .iter()
            .filter(|c| c.method == "POST" && c.path.starts_with(&prefix))
            .collect()
    }

    /// Edits of the original response of the interaction with this token.
    pub fn edits(&self, token: &str) -> Vec<&Call> {
        let path = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}/messages/@original");
        self.calls
            .iter()
            .filter(|c| c.method == "PATCH" && c.path == path)
            .collect()
    }

    /// Messages posted in a channel.
    pub fn channel_messages(&self, channel_id: &str) -> Vec<&Call> {
        let path = format!("/api/v10/channels/{channel_id}/messages");
        self.calls
            .iter()
            .filter(|c| c.method == "POST" && c.path == path)
            .collect()
    }

    /// Command registrations (bulk overwrites).
    pub fn registrations(&self) -> Vec<&Call> {
        self.calls
            .iter()
            .filter(|c| c.method == "PUT" && c.path.ends_with("/commands"))
            .collect()
    }
}

async fn rest_handler(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body_json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| json!({ "unparsed": body.len() }))
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v10", "gateway"]) => json_response(json!({ "url": shared.ws_url })),
        ("GET", ["api", "v10", "gateway", "bot"]) => json_response(json!({
            "url": shared.ws_url,
            "shards": shared.options.recommended_shards,
            "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 }
        })),
        ("PUT", ["api", "v10", "applications", app, "commands"]) => {
            json_response(registered(&body_json, app, None))
        }
        (
            "PUT",
            [
                "api",
                "v10",
                "applications",
                app,
                "guilds",
                guild,
                "commands",
            ],
        ) => json_response(registered(&body_json, app, Some(guild))),
        ("POST", ["api", "v10", "interactions", _id, _token, "callback"]) => {
            StatusCode::NO_CONTENT.into_response()
        }
        (
            "PATCH",
            [
                "api",
                "v10",
                "webhooks",
                _app,
                _token,
                "messages",
                "@original",
            ],
        ) => json_response(payloads::sent_message("1100000000000000005", &body_json)),
        ("POST", ["api", "v10", "users", "@me", "channels"]) => {
            let recipient = body_json["recipient_id"].as_str().unwrap_or("").to_string();
            let mut inner = shared.inner.lock().unwrap();
            let channel = match inner.dm_channels.iter().find(|(u, _)| *u == recipient) {
                Some((_, channel)) => channel.clone(),
                None => {
                    let channel = format!("13000000000000000{:02}", inner.dm_channels.len());
                    inner.dm_channels.push((recipient.clone(), channel.clone()));
                    channel
                }
            };
            json_response(payloads::dm_channel(&channel, &recipient))
        }
        ("POST", ["api", "v10", "channels", channel, "messages"]) => {
            let mut inner = shared.inner.lock().unwrap();
            let nonce = body_json["nonce"].as_str().map(str::to_string);
            let enforced = body_json["enforce_nonce"].as_bool() == Some(true);
            // Discord's enforce_nonce: the same nonce again answers the message it created.
            let seen = enforced
                && nonce.is_some()
                && inner
                    .delivered
                    .iter()
                    .any(|(c, n, _)| c == channel && *n == nonce);
            match inner.script.pop_front() {
                Some(scripted) => {
                    if scripted.delivered && !seen {
                        inner
                            .delivered
                            .push((channel.to_string(), nonce, body_json.clone()));
                    }
                    (
                        StatusCode::from_u16(scripted.status).unwrap(),
                        [("content-type", "application/json")],
                        scripted.body.to_string(),
                    )
                        .into_response()
                }
                None => {
                    if !seen {
                        inner
                            .delivered
                            .push((channel.to_string(), nonce, body_json.clone()));
                    }
                    json_response(payloads::sent_message(channel, &body_json))
                }
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            json!({ "message": "404: Not Found", "code": 0 }).to_string(),
        )
            .into_response(),
    };
    shared.inner.lock().unwrap().calls.push(Call {
        method: method.to_string(),
        path,
        body: body_json,
        at: Instant::now(),
    });
    shared.bump();
    response
}

fn json_response(value: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// The commands as Discord answers a bulk overwrite: each with an id and a version.
fn registered(body: &Value, application: &str, guild: Option<&str>) -> Value {
    let commands = body.as_array().cloned().unwrap_or_default();
    Value::Array(
        commands
            .into_iter()
            .enumerate()
            .map(|(n, mut command)| {
                let object = command.as_object_mut().unwrap();
                object.insert("id".into(), json!(format!("14000000000000000{n:02}")));
                object.insert("application_id".into(), json!(application));
                object.insert("version".into(), json!("1400000000000000099"));
                object.entry("type").or_insert(json!(1));
                object.entry("description").or_insert(json!(""));
                if let Some(guild) = guild {
                    object.insert("guild_id".into(), json!(guild));
                }
                command
            })
            .collect(),
    )
}

async fn connection(stream: tokio::net::TcpStream, shared: Shared) {
    if shared.options.refuse_gateway {
        shared.inner.lock().unwrap().gateway.refused_connections += 1;
        shared.bump();
        return;
    }
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (to_me, mut from_test) = mpsc::unbounded_channel();
    shared.inner.lock().unwrap().gateway.connections += 1;
    shared.bump();
    let hello = json!({ "op": 10, "s": null, "t": null,
        "d": { "heartbeat_interval": shared.options.heartbeat_interval_ms } });
    if ws.send(WsMessage::Text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(message)) = incoming else { return };
                let text = match message {
                    WsMessage::Text(text) => text,
                    WsMessage::Close(_) => return,
                    _ => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                for reply in on_gateway_payload(&shared, &payload, &to_me) {
                    match reply {
                        Reply::Text(text) => {
                            if ws.send(WsMessage::Text(text)).await.is_err() {
                                return;
                            }
                        }
                        Reply::Close(code, reason) => {
                            let _ = ws.send(WsMessage::Close(Some(CloseFrame {
                                code: CloseCode::from(code),
                                reason: reason.into(),
                            }))).await;
                            let _ = ws.flush().await;
                            return;
                        }
                    }
                }
                shared.bump();
            }
            command = from_test.recv() => {
                match command {
                    Some(ToConnection::Text(text)) => {
                        if ws.send(WsMessage::Text(text)).await.is_err() {
                            return;
                        }
                    }
                    Some(ToConnection::Close(code)) => {
                        let _ = ws.send(WsMessage::Close(Some(CloseFrame {
                            code: CloseCode::from(code),
                            reason: "closed by the fake".into(),
                        }))).await;
                        let _ = ws.flush().await;
                        return;
                    }
                    Some(ToConnection::Drop) | None => return,
                }
            }
        }
    }
}

enum Reply {
    Text(String),
    Close(u16, &'static str),
}

fn on_gateway_payload(
    shared: &Shared,
    payload: &Value,
    me: &mpsc::UnboundedSender<ToConnection>,
) -> Vec<Reply> {
    let mut inner = shared.inner.lock().unwrap();
    match payload["op"].as_u64() {
        // Heartbeat → ack.
        Some(1) => {
            inner.gateway.heartbeats += 1;
            vec![Reply::Text(json!({ "op": 11 }).to_string())]
        }
        // Identify → READY (or 4014 for a refused privileged intent).
        Some(2) => {
            let intents = payload["d"]["intents"].as_u64().unwrap_or(0);
            let [shard, count] = shard_of_identify(&payload["d"]);
            inner.gateway.identifies.push(payload["d"].clone());
            if shared.options.refuse_message_content && intents & MESSAGE_CONTENT != 0 {
                inner.gateway.refused.push(4014);
                return vec![Reply::Close(4014, "Disallowed intent(s).")];
            }
            inner.gateway.readies += 1;
            let session_id = format!("session-{}", inner.gateway.readies);
            inner.sessions.insert(
                shard,
                Session {
                    id: session_id.clone(),
                    seq: 1,
                    connection: Some(me.clone()),
                },
            );
            let mut ready = payloads::ready(&session_id, &shared.ws_url);
            // As Discord does: the shard named back, and only the guilds that live on it.
            ready["shard"] = json!([shard, count]);
            if shard_of_guild(GUILD_ID, count) != shard {
                ready["guilds"] = json!([]);
            }
            vec![Reply::Text(
                json!({ "op": 0, "s": 1, "t": "READY", "d": ready }).to_string(),
            )]
        }
        // Resume → RESUMED when the session is known, else "invalid session, not resumable".
        Some(6) => {
            let asked = payload["d"]["session_id"].as_str().unwrap_or("");
            let Some(shard) = inner
                .sessions
                .iter()
                .find_map(|(shard, s)| (s.id == asked).then_some(*shard))
            else {
                return vec![Reply::Text(json!({ "op": 9, "d": false }).to_string())];
            };
            inner.gateway.resumes += 1;
            let session = inner.sessions.get_mut(&shard).unwrap();
            session.connection = Some(me.clone());
            session.seq += 1;
            vec![Reply::Text(
                json!({ "op": 0, "s": session.seq, "t": "RESUMED", "d": { "_trace": ["fake"] } })
                    .to_string(),
            )]
        }
        _ => Vec::new(),
    }
}
