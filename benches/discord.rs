//! The gateway bot against the fake Discord of the tests, on 127.0.0.1: time from
//! INTERACTION_CREATE sent to the callback received, over 1,000 `/balance` interactions
//! (p50, p99), and the bot process's resident memory after start and after 10,000
//! interactions. Baselines in the same run: `Assistant::handle` alone in-process (the floor
//! of the work), and a trivial websocket client that answers each interaction with a
//! hand-written HTTP POST (the floor of the transport). One JSON line per figure.
//!
//! `cargo bench --bench discord` (targets: p99 ≤ 10 ms, memory ≤ 50 MB).

mod common;

// The bench uses part of the tests' fake Discord.
#[allow(dead_code)]
#[path = "../tests/it/fake_discord/mod.rs"]
mod fake_discord;

use chrono::Utc;
use creditbot::assistant::{Admins, Assistant, Input, Place, Request, Who};
use creditbot::config::DatabaseConfig;
use creditbot::faq::Faq;
use creditbot::ledger::{Ledger, LedgerSettings};
use fake_discord::bot::{self, Bot};
use fake_discord::payloads::{self, Where};
use fake_discord::{FakeDiscord, Options};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const MEASURED: usize = 1_000;
const TOTAL: usize = 10_000;
const WAIT: Duration = Duration::from_secs(20);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    common::machine("discord", serde_json::json!({}));
    runtime.block_on(async {
        baseline_handle().await;
        baseline_transport().await;
        bench_bot().await;
    });
}

fn figure(name: &str, value: f64, unit: &str) {
    common::figure("discord", name, value, unit, 3);
}

fn report(prefix: &str, samples: Vec<Duration>) {
    let (p50, p99, max) = common::p50_p99_max_ms(samples);
    figure(&format!("{prefix}_p50"), p50, "ms");
    figure(&format!("{prefix}_p99"), p99, "ms");
    figure(&format!("{prefix}_max"), max, "ms");
}

/// The floor of the work: `/balance` through `Assistant::handle`, in-process.
async fn baseline_handle() {
    let fake = FakeDiscord::start(Options::default()).await;
    let seeded = bot::seed(&fake);
    let ledger = Ledger::open(
        &seeded.db,
        &DatabaseConfig::default(),
        LedgerSettings::default(),
    )
    .unwrap();
    let assistant = Assistant::new(
        Arc::new(ledger),
        Arc::new(Faq::builtin().unwrap()),
        Admins::default(),
    );
    let alice = bot::alice();
    let mut samples = Vec::with_capacity(MEASURED);
    for n in 0..MEASURED {
        let request = Request {
            id: format!("bench-{n}"),
            who: Who {
                user_id: alice.id.into(),
                display_name: "Alice".into(),
                role_ids: vec![],
            },
            place: Place::Channel,
            now: Utc::now(),
            input: Input::Command {
                path: "balance".into(),
                options: vec![],
            },
        };
        let start = Instant::now();
        let reply = assistant.handle(&request);
        samples.push(start.elapsed());
        assert!(reply.card.is_some());
    }
    report("baseline_assistant_handle_balance", samples);
}

/// The floor of the transport: the fake's gateway → a trivial websocket client that reads
/// the id and token and POSTs a fixed callback over one keep-alive HTTP/1.1 connection.
async fn baseline_transport() {
    let fake = FakeDiscord::start(Options::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?v=10", fake.ws_url))
        .await
        .unwrap();
    let _hello = ws.next().await;
    ws.send(WsMessage::Text(
        json!({ "op": 2, "d": { "token": "x", "intents": 0, "properties": {} } }).to_string(),
    ))
    .await
    .unwrap();
    let _ready = ws.next().await;
    let rest = fake.rest_url.trim_start_matches("http://").to_string();
    let client = tokio::spawn(async move {
        let mut http = tokio::net::TcpStream::connect(&rest).await.unwrap();
        http.set_nodelay(true).unwrap();
        let mut buffer = vec![0u8; 4096];
        while let Some(Ok(message)) = ws.next().await {
            let WsMessage::Text(text) = message else {
                continue;
            };
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["t"] != "INTERACTION_CREATE" {
                continue;
            }
            let d = &event["d"];
            let body = json!({ "type": 4, "data": { "content": "ok", "flags": 64 } }).to_string();
            let request = format!(
                "POST /api/v10/interactions/{}/{}/callback HTTP/1.1\r\nHost: {rest}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                d["id"].as_str().unwrap(),
                d["token"].as_str().unwrap(),
                body.len()
            );
            http.write_all(request.as_bytes()).await.unwrap();
            // 204 No Content: the head is all there is.
            let mut read = 0;
            loop {
                read += http.read(&mut buffer[read..]).await.unwrap();
                if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    });
    fake.wait_ready(1, WAIT).await;
    let alice = bot::alice();
    let mut samples = Vec::with_capacity(MEASURED);
    for n in 0..MEASURED {
        let id = format!("13{:017}", n + 1);
        let payload = payloads::command(
            &id,
            &format!("t{n}"),
            &alice,
            Where::Guild,
            "balance",
            json!([]),
        );
        let sent = Instant::now();
        fake.dispatch("INTERACTION_CREATE", payload);
        let at = fake.wait_callback(&id, WAIT).await.at;
        samples.push(at - sent);
    }
    report("baseline_fake_transport_roundtrip", samples);
    client.abort();
}

/// The bot itself.
async fn bench_bot() {
    let fake = FakeDiscord::start(Options::default()).await;
    let seeded = bot::seed(&fake);
    let mut bot = Bot::start(&seeded, false);
    fake.wait_ready(1, WAIT).await;
    fake.wait_until("registration", WAIT, |v| {
        (!v.registrations().is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    figure(
        "bot_rss_after_start",
        bot.rss_kb().unwrap_or(0) as f64 / 1024.0,
        "MB",
    );
    let alice = bot::alice();
    let mut samples = Vec::with_capacity(MEASURED);
    let started = Instant::now();
    for n in 0..TOTAL {
        let id = format!("13{:017}", n + 1);
        let payload = payloads::command(
            &id,
            &format!("t{n}"),
            &alice,
            Where::Guild,
            "balance",
            json!([]),
        );
        let sent = Instant::now();
        fake.dispatch("INTERACTION_CREATE", payload);
        let call = fake.wait_callback(&id, WAIT).await;
        let (at, kind) = (call.at, call.body["type"].clone());
        assert_eq!(kind, 4, "answered, not deferred");
        if n < MEASURED {
            samples.push(at - sent);
        }
        if n + 1 == MEASURED {
            report(
                "bot_balance_interaction_to_callback",
                std::mem::take(&mut samples),
            );
        }
    }
    let elapsed = started.elapsed();
    figure(
        "bot_sequential_interactions_per_s",
        TOTAL as f64 / elapsed.as_secs_f64(),
        "1/s",
    );
    figure(
        "bot_rss_after_10000_interactions",
        bot.rss_kb().unwrap_or(0) as f64 / 1024.0,
        "MB",
    );
    let status = bot.terminate(WAIT).await;
    assert!(status.success());
}
