//! `cargo bench --bench http`: requests/s and latency of `POST /interactions` (/balance) and
//! `POST /api/v1/orders` at 50 concurrent connections on loopback, beside `GET /healthz` (the
//! server doing no work) as a baseline in the same run, and the server's resident memory.
//! Prints one JSON line per figure.
//!
//! The load generator is wrk (Debian's `wrk` package: `apt-get install wrk`), one thread,
//! 50 connections, 10 s per route, scripted in Lua; without wrk the bench falls back to a
//! reqwest generator in this process, which costs far more CPU (the `generator` field of each
//! line says which ran). On a 2-core machine the generator competes with the server for CPU,
//! so every figure is a floor.

mod common;

use chrono::Utc;
use creditbot::assistant::{Admins, Assistant};
use creditbot::config::{Config, Secret};
use creditbot::faq::Faq;
use creditbot::ledger::{AccountId, Ledger, MemberId};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 50;
const WRK_SECONDS: u32 = 10;
const REQUESTS: usize = 20_000;
const TOKEN: &str = "bench-token";

fn print(figure: &str, value: f64, unit: &str) {
    common::figure("http", figure, value, unit, 2);
}

/// Builds the request numbered `n` of a reqwest load.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// One route under load: how to run it with wrk (a Lua script) and with reqwest.
struct Route {
    name: &'static str,
    lua: String,
    url: String,
    make: MakeRequest,
    /// Milliseconds each connection waits between requests: 0 for as fast as it goes; 9 ms
    /// over 50 connections offers a little over 5,000 requests/s, the rate a latency target is about.
    pace_ms: u64,
}

/// The pause that offers a little over 5,000 requests/s over `CONNECTIONS` connections.
const PACE_FOR_5000_MS: u64 = 8;

/// Runs wrk against the route; `None` when wrk isn't installed.
fn load_wrk(route: &Route, scratch: &std::path::Path) -> Option<(f64, f64, f64)> {
    let script = scratch.join(format!("{}.lua", route.name));
    let pacing = if route.pace_ms > 0 {
        format!("\nfunction delay()\n  return {}\nend\n", route.pace_ms)
    } else {
        String::new()
    };
    std::fs::write(&script, format!("{}{pacing}", route.lua)).ok()?;
    let output = std::process::Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{WRK_SECONDS}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(&route.url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw errors on {}:\n{text}",
        route.name
    );
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())?;
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(str::trim))
            .and_then(parse_wrk_duration)
    };
    Some((rps, percentile("50%")?, percentile("99%")?))
}

/// wrk prints durations as 812.00us, 1.23ms or 1.01s; in milliseconds.
fn parse_wrk_duration(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(v) = text.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Lua for wrk: a fixed request.
fn lua_fixed(method: &str, headers: &[(&str, &str)], body: &str) -> String {
    let headers: String = headers
        .iter()
        .map(|(k, v)| format!("wrk.headers[\"{k}\"] = \"{v}\"\n"))
        .collect();
    format!("wrk.method = \"{method}\"\n{headers}wrk.body = [==[{body}]==]\n")
}

fn rss_mb() -> f64 {
    common::rss_kb(None).map_or(0.0, |kb| kb as f64 / 1024.0)
}

/// Sends `REQUESTS` requests over `CONNECTIONS` concurrent clients; returns (req/s, p50 ms, p99 ms).
async fn load(make: MakeRequest, pace_ms: u64) -> (f64, f64, f64) {
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..CONNECTIONS {
        let make = Arc::clone(&make);
        workers.spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::with_capacity(REQUESTS / CONNECTIONS);
            for n in 0..REQUESTS / CONNECTIONS {
                if pace_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(pace_ms)).await;
                }
                let sent = Instant::now();
                let response = make(&client, worker * REQUESTS + n)
                    .send()
                    .await
                    .expect("request");
                assert!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                response.bytes().await.expect("body");
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut all: Vec<Duration> = Vec::with_capacity(REQUESTS);
    while let Some(done) = workers.join_next().await {
        all.extend(done.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = all.len() as f64;
    let (p50, p99, _) = common::p50_p99_max_ms(all);
    (count / elapsed, p50, p99)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let mut config = Config::default();
    config.database.path = dir.path().join("bench.db");
    config.http.api_token = Secret::new(TOKEN);
    config.http.public_key = hex::encode(key.verifying_key().to_bytes());
    let ledger = Arc::new(
        Ledger::open(
            &config.database.path,
            &config.database,
            config
                .ledger_settings(std::path::Path::new("bench"))
                .unwrap(),
        )
        .unwrap(),
    );
    creditbot::demo::seed(&ledger, Utc::now()).unwrap();
    let assistant = Arc::new(Assistant::new(
        Arc::clone(&ledger),
        Arc::new(Faq::builtin().unwrap()),
        Admins::default(),
    ));
    let state = Arc::new(creditbot::http::state(&config, assistant).unwrap());

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    server.spawn(async move {
        // The server `creditbot serve` runs, timeouts and all.
        creditbot::http::serve_on(listener, state, std::future::pending())
            .await
            .unwrap()
    });
    let rss_start = rss_mb();

    common::machine(
        "http",
        json!({ "connections": CONNECTIONS, "requests": REQUESTS }),
    );

    // The demo member is "alice"; Discord ids are numbers, so link a numeric id to the demo account.
    let act = |key: &str| creditbot::ledger::Act::new("bench", Utc::now(), key);
    ledger
        .unlink_member(&act("bench-unlink"), &MemberId::new("alice"), "bench")
        .unwrap();
    ledger
        .link_member(
            &act("bench-link"),
            &MemberId::new("424242"),
            &AccountId::new(creditbot::demo::DEMO_ACCOUNT),
        )
        .unwrap();

    // /balance by interaction, signed once (one interaction id: a read needs no new key).
    let body = json!({
        "id": "900001", "application_id": "555", "type": 2, "token": "t", "version": 1,
        "channel_id": "1", "context": 1,
        "user": {"id": "424242", "username": "alice"},
        "data": {"id": "1", "name": "balance", "type": 1},
        "entitlements": [], "locale": "en-US", "attachment_size_limit": 8388608
    })
    .to_string();
    let timestamp = Utc::now().timestamp().to_string();
    let signature = hex::encode(key.sign(format!("{timestamp}{body}").as_bytes()).to_bytes());
    let order_body = |n: usize| {
        json!({
            "id": format!("B-{n}"), "account": creditbot::demo::DEMO_ACCOUNT, "method": "Visa",
            "items": [{"sku": "ebook", "kind": "digital", "unit_price": "0.01"}]
        })
    };
    let bearer = format!("Bearer {TOKEN}");
    let interactions = |name: &'static str, pace_ms: u64| Route {
        name,
        lua: lua_fixed(
            "POST",
            &[
                ("Content-Type", "application/json"),
                ("X-Signature-Ed25519", &signature),
                ("X-Signature-Timestamp", &timestamp),
            ],
            &body,
        ),
        url: format!("{base}/interactions"),
        pace_ms,
        make: {
            let (url, body, signature, timestamp) = (
                format!("{base}/interactions"),
                body.clone(),
                signature.clone(),
                timestamp.clone(),
            );
            Arc::new(move |c: &reqwest::Client, _| {
                c.post(&url)
                    .header("content-type", "application/json")
                    .header("X-Signature-Ed25519", &signature)
                    .header("X-Signature-Timestamp", &timestamp)
                    .body(body.clone())
            })
        },
    };
    let routes = vec![
        Route {
            name: "baseline_healthz",
            lua: lua_fixed("GET", &[], ""),
            url: format!("{base}/healthz"),
            pace_ms: 0,
            make: {
                let url = format!("{base}/healthz");
                Arc::new(move |c: &reqwest::Client, _| c.get(&url))
            },
        },
        interactions("interactions_balance", 0),
        interactions("interactions_balance_paced_5000", PACE_FOR_5000_MS),
        Route {
            name: "orders",
            // Each request a new order id, so each is a write transaction.
            lua: format!(
                "counter = 0\nrequest = function()\n  counter = counter + 1\n  local body = string.format('{{\"id\":\"W-%d\",\"account\":\"{account}\",\"method\":\"Visa\",\"items\":[{{\"sku\":\"ebook\",\"kind\":\"digital\",\"unit_price\":\"0.01\"}}]}}', counter)\n  return wrk.format(\"POST\", nil, {{[\"Content-Type\"] = \"application/json\", [\"Authorization\"] = \"{bearer}\"}}, body)\nend\n",
                account = creditbot::demo::DEMO_ACCOUNT
            ),
            url: format!("{base}/api/v1/orders"),
            pace_ms: 0,
            make: {
                let url = format!("{base}/api/v1/orders");
                Arc::new(move |c: &reqwest::Client, n| {
                    c.post(&url).bearer_auth(TOKEN).json(&order_body(n))
                })
            },
        },
    ];

    let scratch = tempfile::tempdir().unwrap();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for route in &routes {
        let (generator, (rps, p50, p99)) = match load_wrk(route, scratch.path()) {
            Some(figures) => ("wrk", figures),
            None => (
                "reqwest",
                client_runtime.block_on(load(Arc::clone(&route.make), route.pace_ms)),
            ),
        };
        println!(
            "{}",
            json!({"bench": "http", "figure": format!("{}_rps", route.name), "value": rps.round(), "unit": "req/s", "generator": generator, "connections": CONNECTIONS})
        );
        print(&format!("{}_p50_ms", route.name), p50, "ms");
        print(&format!("{}_p99_ms", route.name), p99, "ms");
    }
    print("rss_start_mb", rss_start, "MB");
    print(
        "rss_end_mb",
        rss_mb(),
        "MB (this process: server, plus the generator when it is reqwest)",
    );
}
