//! Several `creditbot serve` processes on one store, through the real binary: 50 clients
//! spend from the same accounts through different replicas, retry the same Idempotency-Key
//! through different replicas, and one replica is SIGKILLed in the middle of the load. No
//! balance goes negative, no write counts twice, every acknowledged write is there, and the
//! replicas left keep serving.
//!
//! The same scenario runs on an SQLite file the three processes share and on one PostgreSQL
//! database (a fresh one of the tests' cluster; skipped without PostgreSQL, failed under
//! `CI=true`).

use crate::process::Creditbot;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TOKEN: &str = "replica-token-1234";
const REPLICAS: usize = 3;
const CLIENTS: usize = 50;
const ORDERS_PER_CLIENT: usize = 12;
const ACCOUNTS: usize = 5;
/// Granted to each account, in cents: less than the orders together would spend, so the
/// accounts run dry under load and the last orders pay by card.
const GRANTED_CENTS: i64 = 300_00;
/// Each order's one digital item, all payable with credits.
const PRICE_CENTS: i64 = 7_00;
/// The replica killed, once this many orders have been acknowledged.
const KILLED: usize = 2;
const KILL_AFTER_ACKS: usize = 150;

#[test]
fn three_serve_replicas_on_one_sqlite_file_lose_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!(
        "[database]\npath = \"{}\"\n",
        dir.path().join("shared.db").display()
    );
    three_replicas_on(dir.path(), &store);
}

#[cfg(feature = "postgres")]
#[test]
fn three_serve_replicas_on_one_postgresql_database_lose_no_acknowledged_write() {
    let test =
        "replicas::three_serve_replicas_on_one_postgresql_database_lose_no_acknowledged_write";
    let Some(postgres) = crate::stores::Postgres::or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("[database]\nurl = \"{}\"\n", postgres.database());
    three_replicas_on(dir.path(), &store);
}

/// The scenario, with `store` (a `[database]` section) shared by every replica.
fn three_replicas_on(dir: &Path, store: &str) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(load_through_replicas(dir, store));
}

/// One replica: its process and where it listens.
struct Replica {
    process: Creditbot,
    address: SocketAddr,
}

fn start_replicas(dir: &Path, store: &str) -> Vec<Replica> {
    (0..REPLICAS)
        .map(|n| {
            let address = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let config = dir.join(format!("replica-{n}.toml"));
            std::fs::write(
                &config,
                format!("{store}\n[http]\nlisten = \"{address}\"\napi_token = \"{TOKEN}\"\n"),
            )
            .unwrap();
            Replica {
                process: Creditbot::start(&config, "serve"),
                address,
            }
        })
        .collect()
}

/// What a client was finally told about one order.
#[derive(Clone, Debug)]
struct Outcome {
    account: String,
    /// The credits the order spent, in cents, as acknowledged.
    credits_cents: i64,
    /// The acknowledged body, compared with every replay of the same key.
    body: Value,
}

async fn load_through_replicas(dir: &Path, store: &str) {
    let mut replicas = start_replicas(dir, store);
    tokio::task::block_in_place(|| {
        for replica in &replicas {
            replica.process.wait_log("serving HTTP");
        }
    });
    let front = Arc::new(Front {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        bases: replicas
            .iter()
            .map(|r| format!("http://{}", r.address))
            .collect(),
        unanswered: AtomicUsize::new(0),
    });

    // Accounts and their grants, each through a different replica; each grant is sent again
    // with its Idempotency-Key through the next replica, and replays.
    for n in 0..ACCOUNTS {
        let account = account(n);
        let (status, body) = front
            .post(n, "/api/v1/accounts", &json!({"id": account}), None)
            .await
            .expect("an account is opened");
        assert!(status < 300, "{status} {body}");
        let grant = json!({"account": account, "amount": cents_text(GRANTED_CENTS),
            "source": "promotion", "reason": "replicas"});
        let key = format!("grant-{n}");
        let first = front
            .post_until_answered(n, "/api/v1/grants", &grant, Some(&key))
            .await;
        let again = front
            .post_until_answered(n + 1, "/api/v1/grants", &grant, Some(&key))
            .await;
        assert_eq!(
            again, first,
            "{key}: a retry through another replica replays the first grant"
        );
    }

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (front, acknowledged) = (Arc::clone(&front), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                let mut outcomes = BTreeMap::new();
                for n in 0..ORDERS_PER_CLIENT {
                    let id = format!("order-{c}-{n}");
                    let account = account((c + n) % ACCOUNTS);
                    let body = json!({"id": id, "account": account, "method": "Visa",
                        "items": [{"sku": "ebook", "title": "An e-book", "kind": "digital",
                                   "unit_price": cents_text(PRICE_CENTS)}]});
                    let first = c + n;
                    let answer = front
                        .post_until_answered(first, "/api/v1/orders", &body, None)
                        .await;
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                    // Every third order is sent again (an order's id is its key) through another
                    // replica: a client that never saw its answer does exactly this.
                    if n % 3 == 0 {
                        let again = front
                            .post_until_answered(first + 1, "/api/v1/orders", &body, None)
                            .await;
                        assert_eq!(
                            again, answer,
                            "{id}: a retry through another replica replays the first answer"
                        );
                    }
                    outcomes.insert(
                        id,
                        Outcome {
                            account,
                            credits_cents: cents(&answer["order"]["credits_applied"]),
                            body: answer,
                        },
                    );
                }
                outcomes
            })
        })
        .collect();

    // SIGKILL one replica in the middle of the load: no goodbye, requests in hand cut off.
    tokio::task::block_in_place(|| {
        while acknowledged.load(Ordering::Relaxed) < KILL_AFTER_ACKS {
            std::thread::sleep(Duration::from_millis(5));
        }
        replicas[KILLED].process.signal("KILL");
    });
    let killed_at = acknowledged.load(Ordering::Relaxed);

    let mut outcomes = BTreeMap::new();
    for client in clients {
        outcomes.extend(client.await.expect("a client finished"));
    }
    assert_eq!(outcomes.len(), CLIENTS * ORDERS_PER_CLIENT);
    assert!(
        killed_at < outcomes.len(),
        "the replica was killed before the load ended ({killed_at} of {})",
        outcomes.len()
    );

    // The kill cut into the load: requests went unanswered and were sent elsewhere.
    let unanswered = front.unanswered.load(Ordering::Relaxed);
    assert!(unanswered > 0, "no request met the killed replica");

    // Read everything back through a replica left standing.
    let survivor = 0;
    for (id, outcome) in &outcomes {
        assert!(
            (0..=PRICE_CENTS).contains(&outcome.credits_cents),
            "{id}: {}",
            outcome.body
        );
        let (status, stored) = front.get(survivor, &format!("/api/v1/orders/{id}")).await;
        assert_eq!(
            status, 200,
            "{id} was acknowledged, so it is stored: {stored}"
        );
        assert_eq!(
            cents(&stored["order"]["credits_applied"]),
            outcome.credits_cents,
            "{id}"
        );
    }
    let mut spent_anywhere = 0;
    for n in 0..ACCOUNTS {
        let account = account(n);
        let spent: i64 = outcomes
            .values()
            .filter(|o| o.account == account)
            .map(|o| o.credits_cents)
            .sum();
        let (status, balance) = front
            .get(survivor, &format!("/api/v1/accounts/{account}/balance"))
            .await;
        assert_eq!(status, 200, "{balance}");
        let available = cents(&balance["available"]);
        assert!(available >= 0, "{account}: {balance}");
        // Each acknowledged order's credits left the account exactly once: none twice (a
        // retry, or two replicas spending the same lot), none lost.
        assert_eq!(
            available + spent,
            GRANTED_CENTS,
            "{account}: {available} left + {spent} spent"
        );
        spent_anywhere += spent;
    }
    // The accounts ran dry under load: the spending raced for the last credits.
    assert_eq!(spent_anywhere, GRANTED_CENTS * ACCOUNTS as i64);
    // The replica that wasn't killed besides the survivor still answers too.
    let (status, _) = front.get(1, "/healthz").await;
    assert_eq!(status, 200);
    for (n, replica) in replicas.iter_mut().enumerate() {
        if n != KILLED {
            let status = tokio::task::block_in_place(|| replica.process.stop("TERM"));
            assert!(status.success(), "replica {n}: {}", replica.process.logs());
        }
    }
}

fn account(n: usize) -> String {
    format!("ACC-{n}")
}

fn cents_text(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// An amount as the API writes it ("7.00", "7", "0.5"), in cents.
fn cents(amount: &Value) -> i64 {
    let text = amount
        .as_str()
        .unwrap_or_else(|| panic!("an amount: {amount}"));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<2}");
    whole.parse::<i64>().unwrap() * 100 + fraction[..2].parse::<i64>().unwrap()
}

/// The clients' side of a load balancer: the replicas' addresses, one HTTP client, and how
/// many requests went unanswered (sent to the killed replica) and were sent elsewhere.
struct Front {
    client: reqwest::Client,
    bases: Vec<String>,
    unanswered: AtomicUsize,
}

impl Front {
    /// Posts `body` (with `key` as its Idempotency-Key, if any) to replica `first`, and on a
    /// connection failure or a server error to the next one, until one answers.
    async fn post_until_answered(
        &self,
        first: usize,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Value {
        for attempt in 0..REPLICAS * 4 {
            let replica = first + attempt;
            match self.post(replica, path, body, key).await {
                Some((status, answer)) if status < 300 => return answer,
                Some((status, answer)) if status < 500 || replica % REPLICAS != KILLED => {
                    panic!("{path} {body} refused by replica {replica}: {status} {answer}")
                }
                None if replica % REPLICAS != KILLED => {
                    panic!("{path} {body}: replica {replica}, not the killed one, didn't answer")
                }
                // Only the killed replica may fail to answer, or answer 5xx as it goes down.
                _ => {
                    self.unanswered.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
            }
        }
        panic!("{path} {body}: no replica answered")
    }

    /// The status and JSON body from replica `replica` (modulo their number), or `None` when
    /// it didn't answer.
    async fn post(
        &self,
        replica: usize,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Option<(u16, Value)> {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base(replica)))
            .bearer_auth(TOKEN)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.ok()?))
    }

    async fn get(&self, replica: usize, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base(replica)))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} from replica {replica}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn base(&self, replica: usize) -> &str {
        &self.bases[replica % self.bases.len()]
    }
}
