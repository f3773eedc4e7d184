//! `cargo bench --bench scale`: orders/s and latency of `POST /api/v1/orders` through real
//! `creditbot serve` processes (the built binary) — 1 replica on SQLite, 1 and 3 replicas on
//! one PostgreSQL database — in one run, beside `GET /healthz` through one replica (the server
//! doing no work) as the baseline; plus bytes per account on each store and the server
//! processes' resident memory. Prints one JSON line per figure.
//!
//! Each configuration gets its own store: accounts are opened and granted credits through the
//! API, then 50 concurrent clients (tokio tasks + reqwest in this process) send a fixed number
//! of orders, spread round-robin over the replicas. Every answer must be 2xx and every order
//! must have spent its credits, and at the end the balances read back must equal what was
//! granted minus what the orders spent: a figure is only worth something if the ledger is right.
//!
//! PostgreSQL is a throwaway cluster (`tests/it/pg.rs`: initdb into a temporary folder, a free
//! loopback port, `postgres` user when root, `fsync=off`, stopped at the end). Without
//! PostgreSQL binaries a JSON line says the PostgreSQL figures were skipped and why.
//!
//! On a 2-core machine the generator, the replicas and PostgreSQL share the CPU: the figures
//! are floors, and more replicas can't add throughput there.

mod common;

#[path = "../tests/it/pg.rs"]
#[allow(dead_code)]
mod pg;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BENCH: &str = "scale";
const TOKEN: &str = "scale-bench-token";
const CLIENTS: usize = 50;
const ACCOUNTS: usize = 1_000;
/// Orders per configuration (each a new order id, so each a write transaction).
const ORDERS: usize = 6_000;
/// `GET /healthz` requests of the baseline.
const HEALTHZ: usize = 6_000;
/// Granted to each account, in cents: more than its orders spend, so every order is paid
/// entirely with credits.
const GRANTED_CENTS: i64 = 20_00;
/// Each order's one digital item.
const PRICE_CENTS: i64 = 1_00;
/// The connection pool of each replica on PostgreSQL (`[database] pool_size`, the default).
const POOL_SIZE: usize = 8;
const WAIT: Duration = Duration::from_secs(60);

fn print(figure: &str, value: f64, unit: &str) {
    common::figure(BENCH, figure, value, unit, 2);
}

/// A `creditbot serve` process whose stderr (the logs) is collected.
struct Server {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    address: SocketAddr,
}

impl Server {
    /// Starts `creditbot serve` on a free loopback port over `store` (a `[database]` section).
    fn start(dir: &Path, name: &str, store: &str) -> Server {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!("{store}\n[http]\nlisten = \"{address}\"\napi_token = \"{TOKEN}\"\n"),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_creditbot"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_clear()
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the creditbot binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            logs,
            address,
        }
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits for "serving HTTP" on stderr.
    fn wait_serving(&mut self) {
        let deadline = Instant::now() + WAIT;
        while !self
            .logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("serving HTTP"))
        {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("creditbot serve exited ({status}); logs:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "creditbot serve not serving after {WAIT:?}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn rss_mb(&self) -> f64 {
        common::rss_kb(Some(self.child.id())).map_or(0.0, |kb| kb as f64 / 1024.0)
    }

    /// SIGTERM, then waits for the exit (a clean stop closes the store).
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + WAIT;
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "logs of creditbot serve on {}:\n{}",
                self.address,
                self.logs()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The clients' side of a round-robin load balancer over the replicas.
struct Front {
    client: reqwest::Client,
    bases: Vec<String>,
}

impl Front {
    fn new(servers: &[Server]) -> Front {
        Front {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            bases: servers
                .iter()
                .map(|s| format!("http://{}", s.address))
                .collect(),
        }
    }

    fn url(&self, n: usize, path: &str) -> String {
        format!("{}{path}", self.bases[n % self.bases.len()])
    }

    /// Posts to replica `n` (modulo their number); panics unless the answer is 2xx.
    async fn post(&self, n: usize, path: &str, body: &Value, key: Option<&str>) -> Value {
        let mut request = self
            .client
            .post(self.url(n, path))
            .bearer_auth(TOKEN)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        answer(request, path).await
    }

    async fn get(&self, n: usize, path: &str) -> Value {
        answer(self.client.get(self.url(n, path)).bearer_auth(TOKEN), path).await
    }
}

async fn answer(request: reqwest::RequestBuilder, path: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn account(n: usize) -> String {
    format!("member-{n}")
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

/// Runs `total` jobs over `CLIENTS` concurrent tasks; job `n` is `job(n)`. Returns each job's
/// latency and the elapsed wall time.
async fn drive<F, Fut>(total: usize, job: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (job, next) = (Arc::clone(&job), Arc::clone(&next));
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(total / CLIENTS + 1);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return latencies;
                }
                let sent = Instant::now();
                job(n).await;
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("a client finished"));
    }
    (all, started.elapsed())
}

/// What one configuration measured.
struct Measured {
    orders_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mb: Vec<f64>,
}

/// Opens and funds the accounts, sends the orders, checks the money; the servers keep running.
async fn measure(front: Arc<Front>) -> Measured {
    // Accounts and grants, through the replicas in turn.
    let setup = Arc::clone(&front);
    drive(ACCOUNTS, move |n| {
        let front = Arc::clone(&setup);
        async move {
            let account = account(n);
            front
                .post(n, "/api/v1/accounts", &json!({"id": account}), None)
                .await;
            let grant = json!({"account": account, "amount": cents_text(GRANTED_CENTS),
                "source": "promotion", "reason": "scale bench"});
            front
                .post(n + 1, "/api/v1/grants", &grant, Some(&format!("grant-{n}")))
                .await;
        }
    })
    .await;

    // The load: order n to replica n, on an account spread over all of them.
    let spent = Arc::new(Mutex::new(vec![0i64; ACCOUNTS]));
    let (load, record) = (Arc::clone(&front), Arc::clone(&spent));
    let (latencies, elapsed) = drive(ORDERS, move |n| {
        let (front, record) = (Arc::clone(&load), Arc::clone(&record));
        async move {
            let account_n = (n * 7_919) % ACCOUNTS;
            let body = json!({"id": format!("order-{n}"), "account": account(account_n),
                "method": "Visa", "items": [{"sku": "ebook", "title": "An e-book",
                "kind": "digital", "unit_price": cents_text(PRICE_CENTS)}]});
            let answer = front.post(n, "/api/v1/orders", &body, None).await;
            let credits = cents(&answer["order"]["credits_applied"]);
            assert_eq!(
                credits, PRICE_CENTS,
                "order-{n} paid with credits: {answer}"
            );
            record.lock().unwrap()[account_n] += credits;
        }
    })
    .await;

    // Read every balance back: spent + remaining = granted, account by account.
    let spent = spent.lock().unwrap().clone();
    let mut total_spent = 0;
    for (n, spent) in spent.iter().enumerate() {
        let balance = front
            .get(n, &format!("/api/v1/accounts/{}/balance", account(n)))
            .await;
        let available = cents(&balance["available"]);
        assert_eq!(
            available + spent,
            GRANTED_CENTS,
            "{}: {available} left + {spent} spent",
            account(n)
        );
        total_spent += spent;
    }
    assert_eq!(total_spent, ORDERS as i64 * PRICE_CENTS);

    let count = latencies.len() as f64;
    let (p50_ms, p99_ms, _) = common::p50_p99_max_ms(latencies);
    Measured {
        orders_per_s: count / elapsed.as_secs_f64(),
        p50_ms,
        p99_ms,
        rss_mb: Vec::new(),
    }
}

/// Starts `replicas` servers over `store`, waits until they serve, and measures.
fn run_config(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    name: &str,
    store: &str,
    replicas: usize,
    healthz_baseline: bool,
) -> (Measured, Vec<Server>) {
    let mut servers: Vec<Server> = (0..replicas)
        .map(|n| Server::start(dir, &format!("{name}-{n}"), store))
        .collect();
    for server in &mut servers {
        server.wait_serving();
    }
    let front = Arc::new(Front::new(&servers));
    if healthz_baseline {
        let health = Arc::clone(&front);
        let (latencies, elapsed) = runtime.block_on(drive(HEALTHZ, move |n| {
            let front = Arc::clone(&health);
            async move {
                let response = front
                    .client
                    .get(front.url(n, "/healthz"))
                    .send()
                    .await
                    .expect("healthz");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.expect("a body");
            }
        }));
        let count = latencies.len() as f64;
        let (p50, p99, _) = common::p50_p99_max_ms(latencies);
        print(
            "baseline_healthz_per_s",
            count / elapsed.as_secs_f64(),
            "req/s (one replica, SQLite)",
        );
        print("baseline_healthz_p50_ms", p50, "ms");
        print("baseline_healthz_p99_ms", p99, "ms");
    }
    let mut measured = runtime.block_on(measure(front));
    measured.rss_mb = servers.iter().map(Server::rss_mb).collect();
    (measured, servers)
}

fn report(config: &str, measured: &Measured, bytes_per_account: f64) {
    println!(
        "{}",
        json!({"bench": BENCH, "figure": format!("{config}_orders_per_s"),
            "value": measured.orders_per_s.round(), "unit": "orders/s",
            "clients": CLIENTS, "orders": ORDERS, "accounts": ACCOUNTS})
    );
    print(&format!("{config}_orders_p50_ms"), measured.p50_ms, "ms");
    print(&format!("{config}_orders_p99_ms"), measured.p99_ms, "ms");
    print(
        &format!("{config}_bytes_per_account"),
        bytes_per_account,
        "bytes (store size ÷ accounts; each account 1 grant + ~6 orders)",
    );
    let max = measured.rss_mb.iter().copied().fold(0.0, f64::max);
    print(
        &format!("{config}_rss_mb_per_replica"),
        max,
        "MB (largest replica's VmRSS after the load)",
    );
}

/// The SQLite file's size including its WAL, after a checkpoint, in bytes.
fn sqlite_bytes(db: &Path) -> u64 {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(connection);
    let size = |path: PathBuf| std::fs::metadata(path).map_or(0, |m| m.len());
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db.to_path_buf()) + size(PathBuf::from(wal))
}

fn main() {
    common::machine(
        BENCH,
        json!({ "clients": CLIENTS, "orders": ORDERS, "accounts": ACCOUNTS,
            "pool_size": POOL_SIZE, "generator": "reqwest (this process, 2 worker threads)" }),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // SQLite: one process, its own file.
    let db = dir.path().join("scale.db");
    let store = format!("[database]\npath = \"{}\"\n", db.display());
    let (measured, servers) = run_config(&runtime, dir.path(), "sqlite", &store, 1, true);
    for server in servers {
        server.stop();
    }
    report(
        "sqlite_1_replica",
        &measured,
        sqlite_bytes(&db) as f64 / ACCOUNTS as f64,
    );

    // PostgreSQL: one throwaway cluster, a fresh database per configuration.
    let cluster = match pg::PgCluster::start() {
        Ok(cluster) => cluster,
        Err(why) => {
            println!(
                "{}",
                json!({"bench": BENCH, "figure": "postgres_skipped", "why": why})
            );
            return;
        }
    };
    let version = cluster.psql("SHOW server_version").unwrap_or_default();
    let max_connections = cluster.psql("SHOW max_connections").unwrap_or_default();
    println!(
        "{}",
        json!({"bench": BENCH, "figure": "postgres", "server_version": version,
            "max_connections": max_connections, "settings": "fsync=off, synchronous_commit=off (tests/it/pg.rs)"})
    );
    for replicas in [1, 3] {
        let database = format!("scale_{replicas}");
        cluster
            .psql(&format!("CREATE DATABASE {database}"))
            .unwrap();
        let store = format!(
            "[database]\nurl = \"{}\"\npool_size = {POOL_SIZE}\n",
            cluster.url(&database)
        );
        let name = format!("postgres_{replicas}");
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_config(&runtime, dir.path(), &name, &store, replicas, false)
        }));
        let suffix = if replicas == 1 { "replica" } else { "replicas" };
        let config = format!("postgres_{replicas}_{suffix}");
        let (measured, servers) = match run {
            Ok(done) => done,
            Err(panic) => {
                // A refused request or a wrong balance: no figure, but a line saying why, with
                // PostgreSQL's own errors (the replicas' logs only say "db error").
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let log = cluster.data_dir().parent().unwrap().join("server.log");
                let log = std::fs::read_to_string(log).unwrap_or_default();
                let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
                println!(
                    "{}",
                    json!({"bench": BENCH, "figure": format!("{config}_failed"), "why": why,
                        "postgres_errors": errors.len(),
                        "first_postgres_error": errors.first().copied().unwrap_or("")})
                );
                continue;
            }
        };
        for server in servers {
            server.stop();
        }
        let bytes: f64 = cluster
            .psql(&format!("SELECT pg_database_size('{database}')"))
            .unwrap()
            .parse()
            .unwrap();
        report(&config, &measured, bytes / ACCOUNTS as f64);
    }
    let empty: f64 = cluster
        .psql("SELECT pg_database_size('postgres')")
        .unwrap()
        .parse()
        .unwrap();
    print(
        "postgres_empty_database_bytes",
        empty,
        "bytes (an empty database's pg_database_size, included in bytes_per_account above)",
    );
}
