//! The HTTP server end to end on 127.0.0.1: every store route with good input, bad input
//! (each field), replays and conflicting replays; health, metrics and the OpenAPI document;
//! and a bounded load test of 50 concurrent clients retrying the same keys.

use crate::common::*;
use creditbot::assistant::{Admins, Assistant};
use creditbot::config::{Config, Secret};
use creditbot::faq::Faq;
use creditbot::ledger::{AccountId, Ledger, LedgerSettings, MemberId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) const TOKEN: &str = "test-token-1234";

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) ledger: Arc<Ledger>,
    _dir: tempfile::TempDir,
    _task: tokio::task::JoinHandle<()>,
}

async fn server_with(api_token: &str) -> Server {
    server_timed(api_token, creditbot::http::Timeouts::default()).await
}

async fn server_timed(api_token: &str, timeouts: creditbot::http::Timeouts) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.path = dir.path().join("http.db");
    config.http.api_token = Secret::new(api_token);
    let ledger = Arc::new(
        Ledger::open(
            &config.database.path,
            &config.database,
            LedgerSettings::default(),
        )
        .unwrap(),
    );
    let assistant = Arc::new(Assistant::new(
        Arc::clone(&ledger),
        Arc::new(Faq::builtin().unwrap()),
        Admins::default(),
    ));
    let mut state = creditbot::http::state(&config, assistant).unwrap();
    state.timeouts = timeouts;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        creditbot::http::serve_on(listener, Arc::new(state), std::future::pending())
            .await
            .unwrap();
    });
    Server {
        base,
        client: reqwest::Client::new(),
        ledger,
        _dir: dir,
        _task: task,
    }
}

pub(crate) async fn server() -> Server {
    server_with(TOKEN).await
}

impl Server {
    pub(crate) async fn post(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> (StatusCode, Value, bool) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        (
            status,
            response.json().await.unwrap_or(Value::Null),
            replayed,
        )
    }

    /// The Prometheus text of `/metrics` (no token needed).
    async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts a request that must be refused: checks status and field, and that nothing changed.
    async fn refused(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
        status: StatusCode,
        field: &str,
    ) -> String {
        let before = self.ledger.content_checksum().unwrap();
        let (got, answer, _) = self.post(path, body, key).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{path} {body}: {answer}");
        assert_eq!(
            self.ledger.content_checksum().unwrap(),
            before,
            "{path} {body} changed the database"
        );
        answer["error"]["message"].as_str().unwrap().to_string()
    }

    pub(crate) async fn account(&self, id: &str) {
        let (status, _, _) = self
            .post("/api/v1/accounts", &json!({"id": id, "name": id}), None)
            .await;
        assert!(status.is_success());
    }
}

fn grant(account: &str, amount: &str) -> Value {
    json!({"account": account, "amount": amount, "source": "promotion", "reason": "test", "expires": "90"})
}

fn order_body(id: &str, account: &str) -> Value {
    json!({"id": id, "account": account, "method": "Visa", "items": [
        {"sku": "book", "title": "A book", "kind": "digital", "unit_price": "4.00", "quantity": 2},
        {"sku": "lamp", "title": "A lamp", "kind": "physical", "unit_price": "20.00"}
    ]})
}

#[tokio::test]
async fn health_metrics_and_auth() {
    let s = server().await;
    let health = s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let anonymous = s
        .client
        .get(format!("{}/api/v1/accounts/X/balance", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = s
        .client
        .get(format!("{}/api/v1/accounts/X/balance", s.base))
        .bearer_auth("test-token-1235")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.get("/api/v1/accounts/X/balance").await.0,
        StatusCode::NOT_FOUND
    );
    let metrics = s.metrics().await;
    assert!(metrics.contains("creditbot_http_requests_total{route=\"/api/v1/accounts/{id}/balance\",method=\"GET\",status=\"401\"} 2"), "{metrics}");
    assert!(
        metrics.contains("creditbot_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("creditbot_faq_unanswered_questions 0"),
        "{metrics}"
    );
    // The process's reminder counters, counted by the reminder runs `serve` starts.
    creditbot::reminders::Counters::process().failed.inc();
    let metrics = s.metrics().await;
    for counter in ["sent", "skipped"] {
        assert!(
            metrics.contains(&format!("creditbot_reminders_{counter}_total 0")),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains("creditbot_reminders_failed_total 1"),
        "{metrics}"
    );
    let missing = s.get("/api/v1/nothing-here").await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);

    // A configured token with a stray newline or spaces still matches.
    let padded = server_with(&format!(" {TOKEN}\n")).await;
    assert_eq!(
        padded.get("/api/v1/accounts/X/balance").await.0,
        StatusCode::NOT_FOUND
    );

    let off = server_with("").await;
    assert_eq!(
        off.get("/api/v1/accounts/X/balance").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn invented_methods_share_one_metrics_label() {
    let s = server().await;
    for n in 0..20 {
        let method = reqwest::Method::from_bytes(format!("FOO{n}").as_bytes()).unwrap();
        for path in ["/nowhere", "/api/v1/accounts"] {
            s.client
                .request(method.clone(), format!("{}{path}", s.base))
                .send()
                .await
                .unwrap();
        }
    }
    let metrics = s.metrics().await;
    assert!(!metrics.contains("FOO"), "{metrics}");
    let series = metrics
        .lines()
        .filter(|line| {
            line.starts_with("creditbot_http_requests_total{") && line.contains("method=\"other\"")
        })
        .count();
    assert_eq!(series, 2, "one series per route and status: {metrics}");
}

/// Every refusal is JSON: a wrong method, a path that isn't UTF-8, a missing token.
#[tokio::test]
async fn every_refusal_is_json() {
    let s = server().await;
    let json_refusal = |response: reqwest::Response| async move {
        let kind = response.headers()[reqwest::header::CONTENT_TYPE].clone();
        assert_eq!(kind, "application/json");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{body}");
        body
    };
    let wrong_method = s
        .client
        .delete(format!("{}/api/v1/grants", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.headers()[reqwest::header::ALLOW], "POST");
    let body = json_refusal(wrong_method).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("DELETE"),
        "{body}"
    );
    let not_utf8 = s
        .client
        .get(format!("{}/api/v1/accounts/%FF%FE/balance", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(not_utf8.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_refusal(not_utf8).await["error"]["field"], "id");
    let anonymous = s
        .client
        .get(format!("{}/api/v1/accounts/X/balance", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()[reqwest::header::WWW_AUTHENTICATE],
        "Bearer"
    );
    json_refusal(anonymous).await;
}

/// The scheme of the Authorization header is case-insensitive.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = server().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = s
            .client
            .get(format!("{}/api/v1/accounts/X/balance", s.base))
            .header("Authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{scheme}");
    }
    let basic = s
        .client
        .get(format!("{}/api/v1/accounts/X/balance", s.base))
        .header("Authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn accounts_link_codes_balance_and_history() {
    let s = server().await;
    let (status, body, _) = s
        .post(
            "/api/v1/accounts",
            &json!({"id": "ACC-1", "name": "One"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["account"]["id"].as_str()),
        (StatusCode::CREATED, Some("ACC-1"))
    );
    let (again, _, _) = s
        .post("/api/v1/accounts", &json!({"id": "ACC-1"}), None)
        .await;
    assert_eq!(again, StatusCode::OK);
    // A look-alike id is refused, not made a second account.
    let before = s.ledger.content_checksum().unwrap();
    for (id, message) in [
        (" ACC-1 ", "The account id can't start or end with a space."),
        (
            "ACC\n1",
            "The account id can't contain control characters such as line breaks or tabs.",
        ),
    ] {
        let (status, body, _) = s.post("/api/v1/accounts", &json!({"id": id}), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "id", "{body}");
        assert_eq!(body["error"]["message"], message, "{body}");
    }
    assert_eq!(s.ledger.content_checksum().unwrap(), before);
    let (again, body, _) = s
        .post(
            "/api/v1/accounts",
            &json!({"id": "ACC-1", "name": " One "}),
            None,
        )
        .await;
    assert_eq!(
        (again, &body["account"]["display_name"]),
        (StatusCode::OK, &json!("One"))
    );
    let renamed = s
        .refused(
            "/api/v1/accounts",
            &json!({"id": "ACC-1", "name": "Other"}),
            None,
            StatusCode::CONFLICT,
            "name",
        )
        .await;
    assert!(renamed.contains("\"One\""), "{renamed}");
    assert_eq!(
        s.get("/api/v1/accounts/ACC-1").await.1["account"]["display_name"],
        "One"
    );
    // An account an admin linked before the shop fed it in is named after its id; the shop
    // posting it with its name isn't a conflict.
    s.ledger
        .link_member(
            &creditbot::ledger::Act::new("admin:1", chrono::Utc::now(), "link:ACC-9"),
            &MemberId::new("member-9"),
            &AccountId::new("ACC-9"),
        )
        .unwrap();
    let (status, body, _) = s
        .post(
            "/api/v1/accounts",
            &json!({"id": "ACC-9", "name": "Nine"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        s.get("/api/v1/accounts/NOPE").await.0,
        StatusCode::NOT_FOUND
    );

    let (status, code, _) = s
        .post("/api/v1/accounts/ACC-1/link-codes", &json!({}), None)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(code["code"].as_str().unwrap().len(), 9);
    let (status, _, _) = s
        .post("/api/v1/accounts/NOPE/link-codes", &json!({}), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    s.post("/api/v1/grants", &grant("ACC-1", "12.50"), Some("g-1"))
        .await;
    let (status, balance) = s.get("/api/v1/accounts/ACC-1/balance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(balance["available"], "12.50");
    assert_eq!(balance["currency"], "USD");
    assert_eq!(balance["lots"][0]["source"], "promotion");
    let (status, history) = s
        .get("/api/v1/accounts/ACC-1/history?page=1&per_page=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["entries"][0]["kind"], "grant");
    assert_eq!(history["pages"], 3); // opened, link code issued, granted
}

#[tokio::test]
async fn grants_replay_and_refuse_conflicts_and_bad_fields() {
    let s = server().await;
    s.account("ACC-1").await;
    let (status, first, replayed) = s
        .post("/api/v1/grants", &grant("ACC-1", "12.50"), Some("g-1"))
        .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false));
    assert_eq!(first["grant"]["amount"], "12.50");
    let checksum = s.ledger.content_checksum().unwrap();
    let (status, again, replayed) = s
        .post("/api/v1/grants", &grant("ACC-1", "12.50"), Some("g-1"))
        .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first, "a replay answers the first result");
    assert_eq!(s.ledger.content_checksum().unwrap(), checksum);

    s.refused(
        "/api/v1/grants",
        &grant("ACC-1", "99.00"),
        Some("g-1"),
        StatusCode::CONFLICT,
        "request",
    )
    .await;
    s.refused(
        "/api/v1/grants",
        &grant("ACC-1", "1.00"),
        None,
        StatusCode::BAD_REQUEST,
        "Idempotency-Key",
    )
    .await;
    let decimals = s
        .refused(
            "/api/v1/grants",
            &grant("ACC-1", "12.505"),
            Some("b1"),
            StatusCode::BAD_REQUEST,
            "amount",
        )
        .await;
    assert_eq!(
        decimals,
        "That amount has 3 decimals; credits use 2 (for example 12.50)."
    );
    s.refused(
        "/api/v1/grants",
        &grant("ACC-1", "-3"),
        Some("b2"),
        StatusCode::BAD_REQUEST,
        "amount",
    )
    .await;
    s.refused(
        "/api/v1/grants",
        &grant("ACC-1", "0"),
        Some("b3"),
        StatusCode::BAD_REQUEST,
        "amount",
    )
    .await;
    s.refused(
        "/api/v1/grants",
        &grant("ACC-1", "5000"),
        Some("b4"),
        StatusCode::BAD_REQUEST,
        "amount",
    )
    .await;
    let float = json!({"account": "ACC-1", "amount": 12.5});
    let hint = s
        .refused(
            "/api/v1/grants",
            &float,
            Some("b5"),
            StatusCode::BAD_REQUEST,
            "amount",
        )
        .await;
    assert!(hint.contains("amounts are strings"), "{hint}");
    let mut bad_source = grant("ACC-1", "1");
    bad_source["source"] = json!("lottery");
    s.refused(
        "/api/v1/grants",
        &bad_source,
        Some("b6"),
        StatusCode::BAD_REQUEST,
        "source",
    )
    .await;
    let mut past = grant("ACC-1", "1");
    past["expires"] = json!("2020-01-01");
    s.refused(
        "/api/v1/grants",
        &past,
        Some("b7"),
        StatusCode::BAD_REQUEST,
        "expires",
    )
    .await;
    let mut unreadable = grant("ACC-1", "1");
    unreadable["expires"] = json!("soon");
    s.refused(
        "/api/v1/grants",
        &unreadable,
        Some("b8"),
        StatusCode::BAD_REQUEST,
        "expires",
    )
    .await;
    s.refused(
        "/api/v1/grants",
        &grant("NOPE", "1"),
        Some("b9"),
        StatusCode::NOT_FOUND,
        "account",
    )
    .await;
    s.refused(
        "/api/v1/grants",
        &json!({"account": "ACC-1"}),
        Some("b10"),
        StatusCode::BAD_REQUEST,
        "amount",
    )
    .await;
    let mut extra = grant("ACC-1", "1");
    extra["colour"] = json!("red");
    s.refused(
        "/api/v1/grants",
        &extra,
        Some("b11"),
        StatusCode::BAD_REQUEST,
        "colour",
    )
    .await;

    let malformed = s
        .client
        .post(format!("{}/api/v1/grants", s.base))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "b12")
        .header("content-type", "application/json")
        .body("{\"account\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let huge = s
        .client
        .post(format!("{}/api/v1/grants", s.base))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "b13")
        .header("content-type", "application/json")
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let refusal: Value = huge.json().await.unwrap();
    assert_eq!(refusal["error"]["field"], "body", "{refusal}");
    assert_eq!(s.ledger.content_checksum().unwrap(), checksum);
}

#[tokio::test]
async fn idempotency_keys_are_ascii_bounded_and_not_contradicted() {
    let s = server().await;
    s.account("ACC-1").await;
    let before = s.ledger.content_checksum().unwrap();
    let send = |key: reqwest::header::HeaderValue, body: Value| {
        s.client
            .post(format!("{}/api/v1/grants", s.base))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let non_ascii = reqwest::header::HeaderValue::from_bytes("clé-1".as_bytes()).unwrap();
    let answer = send(non_ascii, grant("ACC-1", "1.00")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["field"], "Idempotency-Key", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("printable ASCII"), "{message}");
    assert!(!message.contains("required"), "{message}");

    let long = "k".repeat(201);
    let message = s
        .refused(
            "/api/v1/grants",
            &grant("ACC-1", "1.00"),
            Some(&long),
            StatusCode::BAD_REQUEST,
            "Idempotency-Key",
        )
        .await;
    assert!(message.contains("too long"), "{message}");
    let mut long_in_body = grant("ACC-1", "1.00");
    long_in_body["key"] = json!(long);
    s.refused(
        "/api/v1/grants",
        &long_in_body,
        None,
        StatusCode::BAD_REQUEST,
        "key",
    )
    .await;
    let mut keyed = grant("ACC-1", "1.00");
    keyed["key"] = json!("k-body");
    let message = s
        .refused(
            "/api/v1/grants",
            &keyed,
            Some("k-header"),
            StatusCode::BAD_REQUEST,
            "key",
        )
        .await;
    assert!(message.contains("differ"), "{message}");
    assert_eq!(s.ledger.content_checksum().unwrap(), before);

    // The same key in both places, and a key of 200 characters, are fine.
    let (status, answer, _) = s.post("/api/v1/grants", &keyed, Some("k-body")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer, _) = s
        .post(
            "/api/v1/grants",
            &grant("ACC-1", "1.00"),
            Some(&"k".repeat(200)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn orders_and_returns_are_idempotent_by_their_ids() {
    let s = server().await;
    s.account("ACC-1").await;
    s.post("/api/v1/grants", &grant("ACC-1", "5.00"), Some("g-1"))
        .await;
    let (status, first, _) = s
        .post("/api/v1/orders", &order_body("O-1", "ACC-1"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["order"]["credits_applied"], "5.00");
    assert_eq!(first["order"]["other_amount"], "23.00");
    let (status, again, replayed) = s
        .post("/api/v1/orders", &order_body("O-1", "ACC-1"), None)
        .await;
    assert_eq!(
        (status, replayed, &again),
        (StatusCode::CREATED, true, &first)
    );
    let mut changed = order_body("O-1", "ACC-1");
    changed["items"][0]["quantity"] = json!(3);
    s.refused(
        "/api/v1/orders",
        &changed,
        None,
        StatusCode::CONFLICT,
        "request",
    )
    .await;
    let (status, breakdown) = s.get("/api/v1/orders/O-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        breakdown["order"]["items"][0]["return_would_restore"],
        "5.00"
    );

    let mut no_items = order_body("O-2", "ACC-1");
    no_items["items"] = json!([]);
    s.refused(
        "/api/v1/orders",
        &no_items,
        None,
        StatusCode::BAD_REQUEST,
        "items",
    )
    .await;
    let mut zero = order_body("O-2", "ACC-1");
    zero["items"][1]["quantity"] = json!(0);
    s.refused(
        "/api/v1/orders",
        &zero,
        None,
        StatusCode::BAD_REQUEST,
        "items[1].quantity",
    )
    .await;
    let mut negative = order_body("O-2", "ACC-1");
    negative["items"][1]["unit_price"] = json!("-1.00");
    s.refused(
        "/api/v1/orders",
        &negative,
        None,
        StatusCode::BAD_REQUEST,
        "items[1].unit_price",
    )
    .await;
    let mut kind = order_body("O-2", "ACC-1");
    kind["items"][0]["kind"] = json!("vinyl");
    s.refused(
        "/api/v1/orders",
        &kind,
        None,
        StatusCode::BAD_REQUEST,
        "items[0].kind",
    )
    .await;
    let mut no_method = order_body("O-2", "ACC-1");
    no_method.as_object_mut().unwrap().remove("method");
    s.refused(
        "/api/v1/orders",
        &no_method,
        None,
        StatusCode::BAD_REQUEST,
        "method",
    )
    .await;
    s.refused(
        "/api/v1/orders",
        &order_body("O-2", "NOPE"),
        None,
        StatusCode::NOT_FOUND,
        "account",
    )
    .await;
    let (status, body) = s.get("/api/v1/orders/O-404").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The shop's backend is told in its own terms, not pointed at a chat command.
    assert_eq!(
        body["error"]["message"], "There is no order O-404.",
        "{body}"
    );
    let (_, body) = s.get("/api/v1/accounts/NOPE/balance").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Create it first (POST /api/v1/accounts"),
        "{message}"
    );
    assert!(!message.contains("/admin"), "{message}");

    let partial = json!({"id": "R-1", "order": "O-1", "items": [{"sku": "book", "quantity": 1}]});
    let (status, back, _) = s.post("/api/v1/returns", &partial, None).await;
    assert_eq!(status, StatusCode::CREATED, "{back}");
    assert_eq!(back["return"]["credits_restored"], "2.50");
    assert_eq!(back["return"]["other_refunded"], "1.50");
    let (_, again, replayed) = s.post("/api/v1/returns", &partial, None).await;
    assert!(replayed);
    assert_eq!(again, back);
    let other = json!({"id": "R-1", "order": "O-1"});
    s.refused(
        "/api/v1/returns",
        &other,
        None,
        StatusCode::CONFLICT,
        "request",
    )
    .await;
    let too_many = json!({"id": "R-2", "order": "O-1", "items": [{"sku": "book", "quantity": 2}]});
    s.refused(
        "/api/v1/returns",
        &too_many,
        None,
        StatusCode::BAD_REQUEST,
        "items[0].quantity",
    )
    .await;
    let unknown = json!({"id": "R-3", "order": "O-404"});
    s.refused(
        "/api/v1/returns",
        &unknown,
        None,
        StatusCode::NOT_FOUND,
        "order",
    )
    .await;
    assert_eq!(
        s.get("/api/v1/accounts/ACC-1/balance").await.1["available"],
        "2.50"
    );
}

#[tokio::test]
async fn a_client_grant_key_never_takes_a_key_the_bot_uses() {
    let s = server().await;
    s.account("ACC-1").await;
    // Keyed like the bot's own keys for order 9001 and return R-1: a grant is all they are.
    for (key, in_body) in [("order:9001", false), ("return:R-1", true)] {
        let (status, answer, replayed) = if in_body {
            let mut body = grant("ACC-1", "5.00");
            body["key"] = json!(key);
            s.post("/api/v1/grants", &body, None).await
        } else {
            s.post("/api/v1/grants", &grant("ACC-1", "5.00"), Some(key))
                .await
        };
        assert_eq!((status, replayed), (StatusCode::CREATED, false), "{answer}");
    }
    let (status, order, replayed) = s
        .post("/api/v1/orders", &order_body("9001", "ACC-1"), None)
        .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{order}");
    assert_eq!(order["order"]["credits_applied"], "8.00");
    let (status, back, replayed) = s
        .post(
            "/api/v1/returns",
            &json!({"id": "R-1", "order": "9001"}),
            None,
        )
        .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{back}");
    assert_eq!(back["return"]["credits_restored"], "8.00");
    // The same client key by header or in the body is the same grant.
    let (_, _, replayed) = s
        .post(
            "/api/v1/grants",
            &grant("ACC-1", "5.00"),
            Some("return:R-1"),
        )
        .await;
    assert!(replayed);
    // A shop that fed a grant by file and then sends it to the API grants it once.
    let line = r#"{"type":"grant","key":"shop-77","account":"ACC-1","amount":"5.00","source":"promotion","reason":"test","expires":"90"}"#;
    let summary = creditbot::import::import(
        &s.ledger,
        line.as_bytes(),
        "import",
        chrono::Utc::now(),
        |_| {},
    );
    assert_eq!(summary.imported, 1, "{summary}");
    let (status, _, replayed) = s
        .post("/api/v1/grants", &grant("ACC-1", "5.00"), Some("shop-77"))
        .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
}

#[tokio::test]
async fn a_time_in_the_future_is_refused_naming_at() {
    let s = server().await;
    s.account("ACC-1").await;
    let later = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
    let mut future_grant = grant("ACC-1", "5.00");
    future_grant["at"] = json!(later);
    let message = s
        .refused(
            "/api/v1/grants",
            &future_grant,
            Some("f1"),
            StatusCode::BAD_REQUEST,
            "at",
        )
        .await;
    assert!(
        message.starts_with("That time is in the future;"),
        "{message}"
    );
    let mut future_order = order_body("O-F", "ACC-1");
    future_order["at"] = json!(later);
    s.refused(
        "/api/v1/orders",
        &future_order,
        None,
        StatusCode::BAD_REQUEST,
        "at",
    )
    .await;
    // A minute ahead is clock drift, not a mistake.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let mut drifted = grant("ACC-1", "5.00");
    drifted["at"] = json!(soon);
    let (status, answer, _) = s.post("/api/v1/grants", &drifted, Some("f2")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer, _) = s
        .post("/api/v1/orders", &order_body("O-F2", "ACC-1"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mut future_return = json!({"id": "R-F", "order": "O-F2"});
    future_return["at"] = json!(later);
    s.refused(
        "/api/v1/returns",
        &future_return,
        None,
        StatusCode::BAD_REQUEST,
        "at",
    )
    .await;
}

#[tokio::test]
async fn refusals_name_the_exact_field() {
    let s = server().await;
    s.account("ACC-1").await;
    for (query, field) in [
        ("page=-1", "page"),
        ("page=x", "page"),
        ("per_page=-5", "per_page"),
        ("page=1&per_page=abc", "per_page"),
        ("page=0", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=2&per_page=100000", "per_page"),
        ("page=99999999999", "page"),
    ] {
        let response = s
            .client
            .get(format!("{}/api/v1/accounts/ACC-1/history?{query}", s.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let kind = response.headers()[reqwest::header::CONTENT_TYPE].clone();
        assert_eq!(kind, "application/json", "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        let range = if field == "page" {
            "from 1 up"
        } else {
            "from 1 to 100"
        };
        assert!(message.contains(range), "{query}: {message}");
    }
    // A value of the wrong type is refused naming its field, with the amount hint only on
    // amounts.
    let order_with = |edit: &dyn Fn(&mut Value)| {
        let mut body = order_body("O-1", "ACC-1");
        edit(&mut body);
        body
    };
    let wrong_types = [
        ("/api/v1/accounts", json!({"id": 5}), "id"),
        (
            "/api/v1/grants",
            json!({"account": 1, "amount": "1.00"}),
            "account",
        ),
        (
            "/api/v1/returns",
            json!({"id": "R-1", "order": "O-1", "reason": null}),
            "reason",
        ),
        (
            "/api/v1/orders",
            order_with(&|b| b["items"][1]["quantity"] = json!(1.5)),
            "items[1].quantity",
        ),
        (
            "/api/v1/orders",
            order_with(&|b| b["items"][1]["quantity"] = json!(99999999999999999999.0)),
            "items[1].quantity",
        ),
        (
            "/api/v1/orders",
            order_with(&|b| b["items"][1]["kind"] = json!("ebook")),
            "items[1].kind",
        ),
        (
            "/api/v1/orders",
            order_with(&|b| b["at"] = json!("garbage")),
            "at",
        ),
    ];
    for (n, (path, body, field)) in wrong_types.into_iter().enumerate() {
        let key = format!("w{n}");
        let message = s
            .refused(path, &body, Some(&key), StatusCode::BAD_REQUEST, field)
            .await;
        assert!(
            message.starts_with(&format!("{field} must be ")),
            "{message}"
        );
        assert!(!message.contains("amounts are strings"), "{message}");
        assert!(!message.contains("line 1 column"), "{message}");
    }

    let (status, page) = s
        .get("/api/v1/accounts/ACC-1/history?page=1&per_page=100")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");

    let mut huge = order_body("O-1", "ACC-1");
    huge["items"][0]["unit_price"] = json!("99999999999999999999");
    let message = s
        .refused(
            "/api/v1/orders",
            &huge,
            None,
            StatusCode::BAD_REQUEST,
            "items[0].unit_price",
        )
        .await;
    assert!(!message.contains("single grant"), "{message}");
    let mut cents = order_body("O-1", "ACC-1");
    cents["items"][1]["unit_price"] = json!("1.234");
    s.refused(
        "/api/v1/orders",
        &cents,
        None,
        StatusCode::BAD_REQUEST,
        "items[1].unit_price",
    )
    .await;
    for credits in ["lots", "-2", "1.001", "99999999999999999999"] {
        let mut body = order_body("O-1", "ACC-1");
        body["credits"] = json!(credits);
        let message = s
            .refused(
                "/api/v1/orders",
                &body,
                None,
                StatusCode::BAD_REQUEST,
                "credits",
            )
            .await;
        assert!(!message.contains("single grant"), "{message}");
    }
}

/// A refusal the ledger makes names the field of the request it is about.
#[tokio::test]
async fn ledger_refusals_name_the_requests_own_field() {
    let s = server().await;
    s.account("ACC-1").await;
    s.post("/api/v1/orders", &order_body("O-1", "ACC-1"), None)
        .await;
    let long = "x".repeat(500);
    let book = |quantity: i64| json!({"sku": "book", "quantity": quantity});
    let cases = [
        ("/api/v1/accounts", json!({"id": ""}), "id"),
        (
            "/api/v1/accounts",
            json!({"id": "ACC-2", "name": long}),
            "name",
        ),
        (
            "/api/v1/returns",
            json!({"id": "R-2", "order": ""}),
            "order",
        ),
        ("/api/v1/returns", json!({"id": "", "order": "O-1"}), "id"),
        (
            "/api/v1/returns",
            json!({"id": "R-2", "order": "O-1", "items": [book(1), {"sku": "lamp", "quantity": 0}]}),
            "items[1].quantity",
        ),
        (
            "/api/v1/returns",
            json!({"id": "R-2", "order": "O-1", "items": [{"sku": "sofa", "quantity": 1}]}),
            "items[0].sku",
        ),
        (
            "/api/v1/returns",
            json!({"id": "R-2", "order": "O-1", "items": [{"sku": "lamp", "quantity": 1}, book(3)]}),
            "items[1].quantity",
        ),
        ("/api/v1/orders", order_body("", "ACC-1"), "id"),
        ("/api/v1/orders", order_body("O-2", ""), "account"),
    ];
    for (path, body, field) in cases {
        s.refused(path, &body, None, StatusCode::BAD_REQUEST, field)
            .await;
    }
    let mut twice = order_body("O-2", "ACC-1");
    twice["items"][1]["sku"] = json!("book");
    s.refused(
        "/api/v1/orders",
        &twice,
        None,
        StatusCode::BAD_REQUEST,
        "items[1].sku",
    )
    .await;
    let mut long_title = order_body("O-2", "ACC-1");
    long_title["items"][1]["title"] = json!(long);
    s.refused(
        "/api/v1/orders",
        &long_title,
        None,
        StatusCode::BAD_REQUEST,
        "items[1].title",
    )
    .await;
    // A route keyed by its path names the path's id.
    for path in ["/api/v1/orders/O-404", "/api/v1/accounts/NOPE/balance"] {
        let (status, body) = s.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["field"], "id", "{path}: {body}");
    }
}

#[tokio::test]
async fn every_route_the_openapi_document_lists_exists() {
    let s = server().await;
    s.account("ACC-1").await;
    s.post("/api/v1/orders", &json!({"id": "O-1", "account": "ACC-1", "method": "Visa", "items": [{"sku": "x", "kind": "digital", "unit_price": "1.00"}]}), None).await;
    let document: Value = s
        .client
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.0.3");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 12);
    for (path, methods) in paths {
        let concrete = path.replace(
            "{id}",
            if path.starts_with("/api/v1/orders") {
                "O-1"
            } else {
                "ACC-1"
            },
        );
        for method in methods.as_object().unwrap().keys() {
            let url = format!("{}{concrete}", s.base);
            let request = match method.as_str() {
                "get" => s.client.get(url),
                "post" => s.client.post(url).json(&json!({})),
                other => panic!("unexpected method {other}"),
            };
            let status = request.bearer_auth(TOKEN).send().await.unwrap().status();
            // Any answer but "no such route" or "wrong method" shows the route is served.
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {status}"
            );
            assert!(
                methods[method]["responses"].is_object(),
                "{method} {path} documents its responses"
            );
        }
    }
}

/// 50 clients post orders and returns at once, each request sent twice (a retry with the
/// same key): no error, no lost and no doubled write, and the ledger's invariants hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_clients_retrying_the_same_keys_lose_and_double_nothing() {
    const CLIENTS: usize = 50;
    const ORDERS_EACH: usize = 4;
    let s = Arc::new(server().await);
    for n in 0..5 {
        s.account(&format!("ACC-{n}")).await;
        s.post(
            "/api/v1/grants",
            &grant(&format!("ACC-{n}"), "100.00"),
            Some(&format!("g-{n}")),
        )
        .await;
    }
    let started = std::time::Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let s = Arc::clone(&s);
        clients.spawn(async move {
            for n in 0..ORDERS_EACH {
                let id = format!("C{client}-O{n}");
                let account = format!("ACC-{}", client % 5);
                for _attempt in 0..2 {
                    let (status, body, _) = s.post("/api/v1/orders", &order_body(&id, &account), None).await;
                    assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
                }
                let ret = json!({"id": format!("R-{id}"), "order": id, "items": [{"sku": "book", "quantity": 1}]});
                for _attempt in 0..2 {
                    let (status, body, _) = s.post("/api/v1/returns", &ret, None).await;
                    assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
                }
            }
        });
    }
    let deadline = std::time::Duration::from_secs(120);
    tokio::time::timeout(deadline, async {
        while let Some(result) = clients.join_next().await {
            result.unwrap();
        }
    })
    .await
    .expect("the load test finishes in time");
    eprintln!(
        "load test: {} requests in {:?}",
        CLIENTS * ORDERS_EACH * 4,
        started.elapsed()
    );

    let ledger = &s.ledger;
    let mut orders = 0;
    for n in 0..5 {
        let account = format!("ACC-{n}");
        let summaries = ledger.orders_of(&AccountId::new(account.as_str())).unwrap();
        orders += summaries.len();
        assert!(
            ledger
                .balance(&AccountId::new(account.as_str()), now())
                .unwrap()
                .available
                >= usd(0)
        );
        for summary in summaries {
            let breakdown = ledger.order_breakdown(&summary.external_id, now()).unwrap();
            assert_eq!(
                breakdown.items[0].returned_quantity, 1,
                "each return counted once"
            );
        }
    }
    assert_eq!(
        orders,
        CLIENTS * ORDERS_EACH,
        "each order recorded exactly once"
    );
    for (lot, remaining, journal_sum) in ledger.lot_journal_sums().unwrap() {
        assert_eq!(remaining, journal_sum, "lot {lot}");
    }
    assert_eq!(ledger.entries_touching_two_accounts().unwrap(), 0);
    let totals = ledger.journal_totals().unwrap();
    let sum: i64 = totals.iter().map(|(_, c)| c.minor()).sum();
    let remaining: i64 = ledger
        .lot_journal_sums()
        .unwrap()
        .iter()
        .map(|(_, r, _)| r.minor())
        .sum();
    assert_eq!(sum, remaining, "money is conserved");
}

/// Short read deadlines, so a test of a stalled client doesn't wait long.
fn short_timeouts() -> creditbot::http::Timeouts {
    creditbot::http::Timeouts {
        read: std::time::Duration::from_millis(300),
        ..creditbot::http::Timeouts::default()
    }
}

/// Reads what the server sends until it closes the connection. The bound only keeps a
/// broken server from hanging the test run.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut got),
    )
    .await
    .expect("the server closes a stalled connection");
    // A reset is a close too.
    if let Err(error) = read {
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_client_that_stalls_in_its_headers_loses_the_connection() {
    use tokio::io::AsyncWriteExt;
    let s = server_timed(TOKEN, short_timeouts()).await;
    let address = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .await
        .unwrap();
    // Closed with at most a 408, and nothing written.
    let before = s.ledger.content_checksum().unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert_eq!(s.ledger.content_checksum().unwrap(), before);
    // The server still serves everyone else.
    assert_eq!(
        s.get("/api/v1/accounts/NOPE").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_loses_the_connection() {
    let s = server_timed(TOKEN, short_timeouts()).await;
    let address = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn a_client_that_stalls_in_its_body_is_answered_408_and_nothing_is_written() {
    use tokio::io::AsyncWriteExt;
    let s = server_timed(TOKEN, short_timeouts()).await;
    let before = s.ledger.content_checksum().unwrap();
    let address = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\": \"AC"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a late body gets 408: {answer}"
    );
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["field"], "body", "{body}");
    assert_eq!(s.ledger.content_checksum().unwrap(), before);
}

/// `creditbot serve` on a free port, answering /healthz.
async fn spawn_binary(dir: &std::path::Path) -> (std::process::Child, u16) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    std::fs::write(
        dir.join("bot.toml"),
        format!("[database]\npath = \"serve.db\"\n[http]\nlisten = \"127.0.0.1:{port}\"\napi_token = \"{TOKEN}\"\n"),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_creditbot"))
        .arg("serve")
        .current_dir(dir)
        .env_remove("DISCORD_TOKEN")
        .env_remove("CREDITBOT_API_TOKEN")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..400 {
        if client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return (child, port);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("the server never answered /healthz");
}

/// Sends SIGTERM and waits for the process to end (the bound only keeps a server that never
/// stops from hanging the test run); returns its stderr.
async fn terminate(mut child: std::process::Child) -> String {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let mut stopped = None;
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().unwrap() {
            stopped = Some(status);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = stopped.unwrap_or_else(|| {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!("the server didn't stop on SIGTERM")
    });
    assert!(status.success(), "a graceful stop exits 0: {status}");
    std::io::read_to_string(child.stderr.take().unwrap()).unwrap()
}

/// `creditbot serve` as a process: it answers health checks and stops cleanly on SIGTERM.
#[tokio::test]
async fn the_binary_serves_and_shuts_down_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = spawn_binary(dir.path()).await;
    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/accounts"))
        .bearer_auth(TOKEN)
        .json(&json!({"id": "ACC-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let log = terminate(child).await;
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains(TOKEN), "the token never reaches the log");
}

/// A client stalled halfway through its headers doesn't keep the server from stopping.
#[tokio::test]
async fn the_binary_stops_on_sigterm_with_a_stalled_client_connected() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = spawn_binary(dir.path()).await;
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stalled
        .write_all(b"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .unwrap();
    let log = terminate(child).await;
    assert!(log.contains("shutting down"), "{log}");
    drop(stalled);
}

/// Sends `body` as given (bytes, headers and all) and checks the refusal changed nothing.
async fn raw_refused(
    s: &Server,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    status: StatusCode,
    field: &str,
) -> String {
    let before = s.ledger.content_checksum().unwrap();
    let mut request = s
        .client
        .post(format!("{}{path}", s.base))
        .bearer_auth(TOKEN)
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let got = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{path} {headers:?} {body}: {answer}");
    assert_eq!(
        answer["error"]["field"], field,
        "{path} {headers:?} {body}: {answer}"
    );
    assert_eq!(
        s.ledger.content_checksum().unwrap(),
        before,
        "{body} changed the database"
    );
    answer["error"]["message"].as_str().unwrap().to_string()
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn every_door_reads_one_grammar_duplicate_keys_odd_amounts_and_headers_are_refused() {
    let s = server().await;
    s.account("ACC-1").await;
    // A duplicate key was read as "last one wins": a $900 grant from "1" then "900".
    let message = raw_refused(
        &s,
        "/api/v1/grants",
        &[JSON, ("Idempotency-Key", "k4")],
        r#"{"account":"ACC-1","amount":"1","amount":"900"}"#,
        StatusCode::BAD_REQUEST,
        "amount",
    )
    .await;
    assert!(message.contains("appears twice"), "{message}");
    raw_refused(
        &s,
        "/api/v1/orders",
        &[JSON],
        r#"{"id":"O-1","account":"ACC-1","method":"Visa","items":[{"sku":"a","sku":"b","kind":"digital","unit_price":"1"}]}"#,
        StatusCode::BAD_REQUEST,
        "items[0].sku",
    )
    .await;
    // Amounts follow the documented pattern exactly.
    for odd in [
        "1_000", "1,000", "1._5", "1__0", "+.5", " 12", "12\n", "12.",
    ] {
        let mut body = grant("ACC-1", odd);
        body["key"] = json!("odd");
        s.refused(
            "/api/v1/grants",
            &body,
            None,
            StatusCode::BAD_REQUEST,
            "amount",
        )
        .await;
    }
    let mut order = order_body("O-2", "ACC-1");
    order["items"][0]["unit_price"] = json!("1_0.0_0");
    s.refused(
        "/api/v1/orders",
        &order,
        None,
        StatusCode::BAD_REQUEST,
        "items[0].unit_price",
    )
    .await;
    let mut order = order_body("O-2", "ACC-1");
    order["credits"] = json!("+.5_0");
    s.refused(
        "/api/v1/orders",
        &order,
        None,
        StatusCode::BAD_REQUEST,
        "credits",
    )
    .await;
    // A body that isn't declared JSON, or is encoded, is not read.
    let body = grant("ACC-1", "5").to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut headers = vec![("Idempotency-Key", "ct")];
        headers.extend(content_type.map(|t| ("content-type", t)));
        raw_refused(
            &s,
            "/api/v1/grants",
            &headers,
            &body,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        )
        .await;
    }
    raw_refused(
        &s,
        "/api/v1/grants",
        &[
            JSON,
            ("Idempotency-Key", "gz"),
            ("content-encoding", "gzip"),
        ],
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content-Encoding",
    )
    .await;
    // Two keys are refused, not one of them picked; the body's key follows the header's rules.
    raw_refused(
        &s,
        "/api/v1/grants",
        &[JSON, ("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
        &body,
        StatusCode::BAD_REQUEST,
        "Idempotency-Key",
    )
    .await;
    let mut hidden = grant("ACC-1", "5");
    hidden["key"] = json!("k\u{200B}4");
    s.refused(
        "/api/v1/grants",
        &hidden,
        None,
        StatusCode::BAD_REQUEST,
        "key",
    )
    .await;
    // `at` is RFC 3339 with a `T`, and not before the backdating window.
    let mut ancient = grant("ACC-1", "5");
    ancient["at"] = json!("0000-01-01T00:00:00Z");
    let message = s
        .refused(
            "/api/v1/grants",
            &ancient,
            Some("old"),
            StatusCode::BAD_REQUEST,
            "at",
        )
        .await;
    assert!(message.contains("30 days"), "{message}");
    let mut spaced = grant("ACC-1", "5");
    spaced["at"] = json!("2026-11-26 12:00:00Z");
    s.refused(
        "/api/v1/grants",
        &spaced,
        Some("sp"),
        StatusCode::BAD_REQUEST,
        "at",
    )
    .await;
    // And a JSON body with the header set right is still taken.
    let (status, _, _) = s
        .post("/api/v1/grants", &grant("ACC-1", "5"), Some("fine"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
