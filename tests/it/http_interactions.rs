//! `POST /interactions` end to end on 127.0.0.1, with requests signed in the test by an
//! Ed25519 key it makes: valid, forged, another body's signature, stale, missing headers,
//! oversized and malformed bodies; commands, autocomplete, buttons, and the deferred path
//! whose answer arrives as a follow-up on a fake Discord API.

use crate::common::*;
use axum::routing::patch;
use creditbot::assistant::{Admins, Assistant};
use creditbot::config::Config;
use creditbot::faq::Faq;
use creditbot::ledger::{Expiry, Ledger, LedgerSettings, MemberId};
use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ADMIN_ID: &str = "222";
const MEMBER_ID: &str = "111";

struct Endpoint {
    url: String,
    key: SigningKey,
    client: reqwest::Client,
    ledger: Arc<Ledger>,
    _dir: tempfile::TempDir,
}

async fn endpoint(defer_after: Duration, api_base: &str) -> Endpoint {
    endpoint_until(defer_after, api_base, std::future::pending())
        .await
        .0
}

/// An endpoint that stops when `shutdown` resolves; the handle finishes when it has stopped.
async fn endpoint_until(
    defer_after: Duration,
    api_base: &str,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (Endpoint, tokio::task::JoinHandle<()>) {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let mut config = Config::default();
    config.database.path = dir.path().join("i.db");
    config.http.public_key = hex::encode(key.verifying_key().to_bytes());
    config.discord.api_base = api_base.to_string();
    let ledger = Arc::new(
        Ledger::open(
            &config.database.path,
            &config.database,
            LedgerSettings::default(),
        )
        .unwrap(),
    );
    link(&ledger, "l1", MEMBER_ID, "ACC-1");
    ledger
        .grant(&admin("g1"), &grant_request("ACC-1", 37_50, Expiry::Never))
        .unwrap();
    ledger
        .record_order(
            "shop",
            now(),
            &order("7781", "ACC-1", vec![digital("hobbit", 9_99, 1)]),
        )
        .unwrap();
    let admins = Admins {
        user_ids: vec![ADMIN_ID.into()],
        role_ids: Vec::new(),
    };
    let assistant = Arc::new(Assistant::new(
        Arc::clone(&ledger),
        Arc::new(Faq::builtin().unwrap()),
        admins,
    ));
    let mut state = creditbot::http::state(&config, assistant).unwrap();
    state.defer_after = defer_after;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/interactions", listener.local_addr().unwrap());
    let served = tokio::spawn(async move {
        creditbot::http::serve_on(listener, Arc::new(state), shutdown)
            .await
            .unwrap();
    });
    let endpoint = Endpoint {
        url,
        key,
        client: reqwest::Client::new(),
        ledger,
        _dir: dir,
    };
    (endpoint, served)
}

/// An interaction as Discord sends it today, in a guild channel.
fn interaction(kind: u8, user: &str, data: Value) -> Value {
    json!({
        "id": "900001", "application_id": "555", "type": kind, "token": "interaction-token", "version": 1,
        "guild_id": "777", "channel_id": "888", "channel": {"id": "888", "type": 0, "guild_id": "777"},
        "member": {
            "user": {"id": user, "username": "someone", "global_name": "Someone", "discriminator": "0", "avatar": null, "public_flags": 0},
            "roles": [], "permissions": "2147483647", "flags": 0, "joined_at": "2025-01-01T00:00:00.000000+00:00",
            "deaf": false, "mute": false, "pending": false, "premium_since": null, "nick": null, "avatar": null
        },
        "data": data,
        "locale": "en-US", "guild_locale": "en-US", "app_permissions": "2248473465835073",
        "entitlements": [], "authorizing_integration_owners": {"0": "777"}, "context": 0,
        "attachment_size_limit": 8388608
    })
}

fn command(name: &str, options: Value) -> Value {
    json!({"id": "1", "name": name, "type": 1, "options": options})
}

impl Endpoint {
    fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex::encode(self.key.sign(&message).to_bytes())
    }

    async fn send_raw(
        &self,
        body: Vec<u8>,
        signature: Option<String>,
        timestamp: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Signature-Ed25519", signature);
        }
        if let Some(timestamp) = timestamp {
            request = request.header("X-Signature-Timestamp", timestamp);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, payload: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(payload).unwrap();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = self.sign(&timestamp, &body);
        self.send_raw(body, Some(signature), Some(timestamp)).await
    }
}

fn text_of(response: &Value) -> String {
    let data = &response["data"];
    let mut out = data["content"].as_str().unwrap_or("").to_string();
    for embed in data["embeds"].as_array().into_iter().flatten() {
        out.push_str(embed["title"].as_str().unwrap_or(""));
        out.push_str(embed["description"].as_str().unwrap_or(""));
    }
    out
}

#[tokio::test]
async fn a_ping_is_answered_with_a_pong() {
    let e = endpoint(creditbot::http::DEFER_AFTER, "http://127.0.0.1:9").await;
    let ping = json!({"id": "1", "application_id": "555", "type": 1, "token": "t", "version": 1});
    assert_eq!(e.send(&ping).await, (StatusCode::OK, json!({"type": 1})));
}

#[tokio::test]
async fn unsigned_forged_stale_and_malformed_requests_are_refused() {
    let e = endpoint(creditbot::http::DEFER_AFTER, "http://127.0.0.1:9").await;
    let body =
        serde_json::to_vec(&interaction(2, MEMBER_ID, command("balance", json!([])))).unwrap();
    let now = chrono::Utc::now().timestamp().to_string();
    let forged = hex::encode([0x42u8; 64]);
    assert_eq!(
        e.send_raw(body.clone(), Some(forged), Some(now.clone()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let other_body = e.sign(&now, b"{\"type\":1}");
    assert_eq!(
        e.send_raw(body.clone(), Some(other_body), Some(now.clone()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let stale_time = (chrono::Utc::now().timestamp() - 600).to_string();
    let stale = e.sign(&stale_time, &body);
    assert_eq!(
        e.send_raw(body.clone(), Some(stale), Some(stale_time))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.send_raw(body.clone(), None, Some(now.clone())).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.send_raw(body.clone(), Some(e.sign(&now, &body)), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.send_raw(body.clone(), Some("zz".into()), Some(now.clone()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    let huge = vec![b' '; 100 * 1024];
    let signed_huge = e.sign(&now, &huge);
    assert_eq!(
        e.send_raw(huge, Some(signed_huge), Some(now.clone()))
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let broken = b"{\"type\": 2, ".to_vec();
    let signed_broken = e.sign(&now, &broken);
    assert_eq!(
        e.send_raw(broken, Some(signed_broken), Some(now.clone()))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (status, answer) = e.send(&json!({"type": 2})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // The endpoint still serves after all that.
    assert_eq!(
        e.send(&interaction(2, MEMBER_ID, command("balance", json!([]))))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn commands_are_answered_by_the_assistant_privately() {
    let e = endpoint(creditbot::http::DEFER_AFTER, "http://127.0.0.1:9").await;
    let (status, balance) = e
        .send(&interaction(2, MEMBER_ID, command("balance", json!([]))))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(balance["type"], 4);
    assert_eq!(
        balance["data"]["flags"], 64,
        "personal figures are ephemeral"
    );
    assert!(text_of(&balance).contains("$27.51"), "{balance}");
    assert_eq!(balance["data"]["allowed_mentions"], json!({"parse": []}));

    let order = interaction(
        2,
        MEMBER_ID,
        command("order", json!([{"name": "id", "type": 3, "value": "7781"}])),
    );
    assert!(text_of(&e.send(&order).await.1).contains("paid with credits: $9.99"));
}

#[tokio::test]
async fn admin_commands_need_the_config_not_discords_permission() {
    let e = endpoint(creditbot::http::DEFER_AFTER, "http://127.0.0.1:9").await;
    let grant = |user: &str| {
        interaction(
            2,
            user,
            json!({"id": "2", "name": "admin", "type": 1, "options": [
                {"name": "grant", "type": 1, "options": [
                    {"name": "member", "type": 6, "value": MEMBER_ID},
                    {"name": "amount", "type": 3, "value": "12.50"}
                ]}
            ]}),
        )
    };
    let before = e.ledger.content_checksum().unwrap();
    // The member has every permission on the server (MANAGE_GUILD included) but isn't an admin by config.
    let refused = e.send(&grant(MEMBER_ID)).await.1;
    assert!(
        text_of(&refused).starts_with("Only creditbot admins can grant credits."),
        "{refused}"
    );
    assert_eq!(e.ledger.content_checksum().unwrap(), before);
    let granted = e.send(&grant(ADMIN_ID)).await.1;
    assert!(text_of(&granted).starts_with("Granted $12.50"), "{granted}");
    // Discord retries carry the same interaction id: it grants once.
    e.send(&grant(ADMIN_ID)).await;
    // Counted by lots, not by a balance: the grant is dated by the wall clock, and a balance
    // counts only lots granted by the moment asked about.
    let granted: Vec<_> = e
        .ledger
        .lots(&AccountId::new("ACC-1"))
        .unwrap()
        .into_iter()
        .filter(|lot| lot.amount == usd(12_50))
        .collect();
    assert_eq!(granted.len(), 1, "{granted:?}");
}

#[tokio::test]
async fn autocomplete_and_buttons_are_answered_at_once() {
    let e = endpoint(creditbot::http::DEFER_AFTER, "http://127.0.0.1:9").await;
    let typing = interaction(
        4,
        MEMBER_ID,
        json!({"id": "1", "name": "order", "type": 1, "options": [
            {"name": "id", "type": 3, "value": "77", "focused": true}
        ]}),
    );
    let (status, suggestions) = e.send(&typing).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(suggestions["type"], 8);
    assert_eq!(
        suggestions["data"]["choices"][0]["value"], "7781",
        "{suggestions}"
    );

    let press = interaction(
        3,
        MEMBER_ID,
        json!({"custom_id": "faq:expiry", "component_type": 2}),
    );
    let (status, answer) = e.send(&press).await;
    assert_eq!((status, answer["type"].as_u64()), (StatusCode::OK, Some(4)));
    assert!(text_of(&answer).contains("expire"), "{answer}");
}

/// `interaction` with its own id, as every interaction Discord sends has.
fn interaction_numbered(n: u64, kind: u8, user: &str, data: Value) -> Value {
    let mut out = interaction(kind, user, data);
    out["id"] = json!(format!("{}", 910_000 + n));
    out
}

/// The press of the button labelled `label` in `response`, as `user`.
fn press(n: u64, user: &str, response: &Value, label: &str) -> Value {
    let custom_id = response["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().unwrap().clone())
        .find(|button| button["type"] == 2 && button["label"] == label)
        .unwrap_or_else(|| panic!("no button {label}: {response}"))["custom_id"]
        .clone();
    interaction_numbered(
        n,
        3,
        user,
        json!({"custom_id": custom_id, "component_type": 2}),
    )
}

#[tokio::test]
async fn confirmation_buttons_act_once_and_a_second_press_changes_nothing() {
    let e = endpoint(creditbot::http::DEFER_AFTER, "http://127.0.0.1:9").await;
    let linked = || {
        e.ledger
            .account_for_member(&MemberId::new(MEMBER_ID))
            .unwrap()
            .is_some()
    };
    // /unlink asks first, privately, with two buttons; asking changes nothing.
    let (status, asked) = e
        .send(&interaction_numbered(
            1,
            2,
            MEMBER_ID,
            command("unlink", json!([])),
        ))
        .await;
    assert_eq!((status, asked["type"].as_u64()), (StatusCode::OK, Some(4)));
    assert_eq!(asked["data"]["flags"], 64, "{asked}");
    assert!(
        text_of(&asked).starts_with("Unlink your Discord account from shop account ACC-1?"),
        "{asked}"
    );
    assert!(linked());
    // "Keep linked" cancels; "Unlink" on the same question then changes nothing, and says so.
    let (_, kept) = e.send(&press(2, MEMBER_ID, &asked, "Keep linked")).await;
    assert!(text_of(&kept).starts_with("Cancelled"), "{kept}");
    let (_, late) = e.send(&press(3, MEMBER_ID, &asked, "Unlink")).await;
    assert!(text_of(&late).contains("already answered"), "{late}");
    assert!(linked());
    // Only the member who asked can answer.
    let (_, asked) = e
        .send(&interaction_numbered(
            4,
            2,
            MEMBER_ID,
            command("unlink", json!([])),
        ))
        .await;
    let (_, other) = e.send(&press(5, ADMIN_ID, &asked, "Unlink")).await;
    assert!(
        text_of(&other).starts_with("That confirmation isn't one I can act on"),
        "{other}"
    );
    assert!(linked());
    let (_, unlinked) = e.send(&press(6, MEMBER_ID, &asked, "Unlink")).await;
    assert!(
        text_of(&unlinked).contains("Unlinked from account ACC-1"),
        "{unlinked}"
    );
    assert!(!linked());

    // A grant repeating the last one asks; "Grant again" pressed twice grants once.
    link(&e.ledger, "l2", MEMBER_ID, "ACC-1");
    let grant = |n| {
        interaction_numbered(
            n,
            2,
            ADMIN_ID,
            json!({"id": "2", "name": "admin", "type": 1, "options": [
                {"name": "grant", "type": 1, "options": [
                    {"name": "member", "type": 6, "value": MEMBER_ID},
                    {"name": "amount", "type": 3, "value": "7.25"},
                    {"name": "reason", "type": 3, "value": "dup"}
                ]}
            ]}),
        )
    };
    let granted = |e: &Endpoint| {
        e.ledger
            .lots(&AccountId::new("ACC-1"))
            .unwrap()
            .into_iter()
            .filter(|lot| lot.amount == usd(7_25))
            .count()
    };
    let (_, first) = e.send(&grant(7)).await;
    assert!(text_of(&first).starts_with("Granted $7.25"), "{first}");
    let (_, asked) = e.send(&grant(8)).await;
    assert!(
        text_of(&asked).contains("was already granted $7.25 (dup)"),
        "{asked}"
    );
    assert_eq!(granted(&e), 1, "asking grants nothing");
    let (_, yes) = e.send(&press(9, ADMIN_ID, &asked, "Grant again")).await;
    assert!(text_of(&yes).starts_with("Granted $7.25"), "{yes}");
    let (_, again) = e.send(&press(10, ADMIN_ID, &asked, "Grant again")).await;
    assert!(text_of(&again).contains("already answered"), "{again}");
    let (_, no) = e.send(&press(11, ADMIN_ID, &asked, "Cancel")).await;
    assert!(text_of(&no).contains("already answered"), "{no}");
    assert_eq!(granted(&e), 2, "confirmed twice: granted once more");
}

#[tokio::test]
async fn a_slow_answer_is_deferred_then_sent_as_a_follow_up() {
    let edits: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let recorded = Arc::clone(&edits);
    let fake_discord = axum::Router::new().route(
        "/api/v10/webhooks/{app}/{token}/messages/@original",
        patch(
            move |axum::extract::Path((app, token)): axum::extract::Path<(String, String)>,
                  axum::Json(body): axum::Json<Value>| {
                let recorded = Arc::clone(&recorded);
                async move {
                    recorded
                        .lock()
                        .unwrap()
                        .push((format!("{app}/{token}"), body));
                    axum::Json(json!({"id": "1"}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, fake_discord).await.unwrap() });

    let e = endpoint(Duration::ZERO, &api_base).await;
    let (status, deferred) = e
        .send(&interaction(2, MEMBER_ID, command("balance", json!([]))))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deferred, json!({"type": 5, "data": {"flags": 64}}));
    for _ in 0..100 {
        if !edits.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let edits = edits.lock().unwrap();
    assert_eq!(edits.len(), 1, "one follow-up");
    assert_eq!(edits[0].0, "555/interaction-token");
    assert!(
        edits[0].1["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("$27.51")
    );
}

#[tokio::test]
async fn a_shutdown_waits_for_a_deferred_answer_to_be_delivered() {
    // Discord takes its time to accept the follow-up.
    let delivered: Arc<Mutex<Vec<Value>>> = Arc::default();
    let recorded = Arc::clone(&delivered);
    let fake_discord = axum::Router::new().route(
        "/api/v10/webhooks/{app}/{token}/messages/@original",
        patch(move |axum::Json(body): axum::Json<Value>| {
            let recorded = Arc::clone(&recorded);
            async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                recorded.lock().unwrap().push(body);
                axum::Json(json!({"id": "1"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, fake_discord).await.unwrap() });

    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let (e, served) = endpoint_until(Duration::ZERO, &api_base, async {
        let _ = stopping.await;
    })
    .await;
    let (status, deferred) = e
        .send(&interaction(2, MEMBER_ID, command("balance", json!([]))))
        .await;
    assert_eq!(
        (status, deferred["type"].as_u64()),
        (StatusCode::OK, Some(5))
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), served)
        .await
        .expect("the server stops within its grace")
        .unwrap();
    assert_eq!(
        delivered.lock().unwrap().len(),
        1,
        "the follow-up was delivered before the server stopped"
    );
}

/// HTTP-only deployments register the same commands as the gateway bot, over REST.
#[tokio::test]
async fn serve_mode_registers_the_commands_over_rest() {
    use axum::extract::Path;
    use axum::http::HeaderMap;
    use axum::routing::{get, put};
    type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;
    let seen: Seen = Arc::default();
    let (on_me, on_put) = (Arc::clone(&seen), Arc::clone(&seen));
    let fake_discord = axum::Router::new()
        .route(
            "/api/v10/applications/@me",
            get(move |headers: HeaderMap| {
                let seen = Arc::clone(&on_me);
                async move {
                    let auth = headers["authorization"].to_str().unwrap().to_string();
                    seen.lock().unwrap().push(("me".into(), auth, Value::Null));
                    axum::Json(json!({"id": "555", "name": "creditbot"}))
                }
            }),
        )
        .route(
            "/api/v10/applications/{app}/guilds/{guild}/commands",
            put(
                move |Path((app, guild)): Path<(String, String)>,
                      headers: HeaderMap,
                      axum::Json(body): axum::Json<Value>| {
                    let seen = Arc::clone(&on_put);
                    async move {
                        let auth = headers["authorization"].to_str().unwrap().to_string();
                        seen.lock()
                            .unwrap()
                            .push((format!("{app}/{guild}"), auth, body));
                        axum::Json(json!([]))
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, fake_discord).await.unwrap() });

    let places = creditbot::http::register_commands(
        &reqwest::Client::new(),
        &api_base,
        "bot-token",
        &[777, 778],
    )
    .await
    .unwrap();
    assert_eq!(places, 2);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|(_, auth, _)| auth == "Bot bot-token"));
    assert_eq!(seen[1].0, "555/777");
    assert_eq!(seen[2].0, "555/778");
    assert_eq!(seen[1].2, creditbot::discord_api::application_commands());
    let names: Vec<&str> = seen[1]
        .2
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in ["balance", "order", "admin", "Credits"] {
        assert!(names.contains(&name), "{name} registered: {names:?}");
    }

    let refused = creditbot::http::register_commands(
        &reqwest::Client::new(),
        "http://127.0.0.1:9",
        "bot-token",
        &[],
    )
    .await;
    let message = refused.unwrap_err().to_string();
    assert!(!message.contains("bot-token"), "{message}");
}
