//! `cargo bench --bench ledger`: the ledger's write throughput (against a raw rusqlite loop),
//! bulk import and balance latency, printed as one JSON line per figure.
//!
//! Every figure runs on its own fresh temporary database with the default `DatabaseConfig`
//! (WAL, synchronous NORMAL). Timing lives here only; tests never time anything.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{
    Act, CreditChoice, Expiry, GrantRequest, ItemKind, Ledger, LedgerSettings, OrderItemRequest,
    OrderRequest, Source,
};
use creditbot::money::Credits;
use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::json;

/// Single-operation writes timed per figure (ledger and raw each).
const SINGLE_OPS: usize = 20_000;
/// Ledger and raw loop alternate in chunks of this many operations, so background load on a
/// shared machine hits both sides alike and the ratio stays meaningful.
const CHUNK: usize = 500;
/// Accounts the single-operation writes spread over.
const WRITE_ACCOUNTS: usize = 100;
const BULK_GRANTS: usize = 100_000;
const BALANCE_ACCOUNTS: usize = 100_000;
const LOTS_PER_ACCOUNT: usize = 10;
const BALANCE_WARMUP: usize = 2_000;
const BALANCE_SAMPLES: usize = 20_000;

fn main() {
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    print_machine();
    bench_grants(now);
    bench_order_spends(now);
    bench_bulk_import(now);
    bench_balance(now);
}

fn figure(name: &str, value: f64, unit: &str) {
    let rounded = (value * 100.0).round() / 100.0;
    println!(
        "{}",
        json!({"bench": "ledger", "figure": name, "value": rounded, "unit": unit})
    );
}

fn per_second(ops: usize, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
}

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown", |(_, model)| model.trim());
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "{}",
        json!({
            "bench": "ledger",
            "figure": "machine",
            "nproc": nproc,
            "cpu": cpu,
            "os": std::env::consts::OS,
            "sqlite": rusqlite::version(),
        })
    );
}

fn open_ledger(dir: &Path) -> Ledger {
    Ledger::open(
        &dir.join("ledger.db"),
        &DatabaseConfig::default(),
        LedgerSettings::default(),
    )
    .expect("open the ledger")
}

fn account_id(n: usize) -> String {
    format!("acct-{n:06}")
}

fn open_accounts(ledger: &Ledger, now: DateTime<Utc>, count: usize) {
    for n in 0..count {
        let id = account_id(n);
        ledger
            .open_account(&Act::new("bench", now, format!("open:{id}")), &id, &id)
            .expect("open an account");
    }
}

fn grant_request(account: usize, amount_minor: i64) -> GrantRequest {
    GrantRequest {
        account_id: account_id(account),
        amount: Credits::from_minor(amount_minor),
        source: Source::Gift,
        reason: "bench".into(),
        expiry: Expiry::Default,
    }
}

/// The baseline: one row per `BEGIN IMMEDIATE` transaction into a lots-like table with an
/// index, through a cached prepared statement, on the same pragmas as the ledger.
struct RawLoop {
    conn: Connection,
    next: i64,
}

impl RawLoop {
    fn open(dir: &Path) -> RawLoop {
        let conn = Connection::open(dir.join("raw.db")).expect("open the raw database");
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .expect("WAL");
        assert_eq!(mode, "wal");
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             CREATE TABLE lots (
                 id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, amount INTEGER NOT NULL,
                 remaining INTEGER NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL,
                 granted_by TEXT NOT NULL, granted_at INTEGER NOT NULL, expires_at INTEGER);
             CREATE INDEX lots_by_account ON lots(account_id, expires_at);",
        )
        .expect("create the raw table");
        RawLoop { conn, next: 0 }
    }

    fn insert(&mut self, count: usize) -> Duration {
        let start = Instant::now();
        for _ in 0..count {
            self.next += 1;
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            tx.prepare_cached(
                "INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at)
                 VALUES (?1, ?2, ?2, 'gift', 'bench', 'bench', ?3, ?4)",
            )
            .unwrap()
            .execute(params![
                account_id(self.next as usize % WRITE_ACCOUNTS),
                500,
                1_735_732_800i64 + self.next,
                1_767_268_800i64
            ])
            .unwrap();
            tx.commit().unwrap();
        }
        start.elapsed()
    }
}

/// Runs `ledger_op` and the raw loop alternately in chunks; prints the ledger's rate, the
/// raw rate and their ratio.
fn race_against_raw(name: &str, dir: &Path, mut ledger_op: impl FnMut(usize)) {
    let mut raw = RawLoop::open(dir);
    let (mut ledger_time, mut raw_time) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < SINGLE_OPS {
        let chunk = CHUNK.min(SINGLE_OPS - done);
        let start = Instant::now();
        for n in done..done + chunk {
            ledger_op(n);
        }
        ledger_time += start.elapsed();
        raw_time += raw.insert(chunk);
        done += chunk;
    }
    let ledger_rate = per_second(SINGLE_OPS, ledger_time);
    let raw_rate = per_second(SINGLE_OPS, raw_time);
    figure(&format!("{name}_per_s"), ledger_rate, "ops/s");
    figure(
        &format!("raw_inserts_beside_{name}_per_s"),
        raw_rate,
        "ops/s",
    );
    figure(&format!("{name}_vs_raw"), ledger_rate / raw_rate, "ratio");
}

/// `Ledger::grant`, one transaction and one idempotency key per grant.
fn bench_grants(now: DateTime<Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    race_against_raw("grants", dir.path(), |n| {
        let act = Act::new("bench", now, format!("grant:{n}"));
        ledger
            .grant(&act, &grant_request(n % WRITE_ACCOUNTS, 500))
            .expect("grant");
    });
}

/// `Ledger::record_order` of one digital item paid fully with credits: one spend per order.
fn bench_order_spends(now: DateTime<Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    // One full lot per account covers every order it gets (each spends 1.00 of 1,000.00).
    let max_grant = ledger.currency().max_grant();
    for account in 0..WRITE_ACCOUNTS {
        let act = Act::new("bench", now, format!("seed:{account}"));
        ledger
            .grant(&act, &grant_request(account, max_grant.minor()))
            .expect("seed grant");
    }
    race_against_raw("order_spends", dir.path(), |n| {
        let order = OrderRequest {
            external_id: format!("order-{n}"),
            account_id: account_id(n % WRITE_ACCOUNTS),
            items: vec![OrderItemRequest {
                sku: "ebook-1".into(),
                title: "An e-book".into(),
                kind: ItemKind::Digital,
                unit_price: Credits::from_minor(100),
                quantity: 1,
            }],
            credits: CreditChoice::All,
            other_method: None,
        };
        let receipt = ledger.record_order("bench", now, &order).expect("order");
        assert_eq!(receipt.credits_applied, Credits::from_minor(100));
    });
}

/// 100,000 grants: through `grant` (one transaction each, the only path before
/// `grant_batch`) and through `grant_batch` (one transaction for all).
fn bench_bulk_import(now: DateTime<Utc>) {
    let requests: Vec<(String, GrantRequest)> = (0..BULK_GRANTS)
        .map(|n| {
            (
                format!("import:{n}"),
                grant_request(n % WRITE_ACCOUNTS, 250),
            )
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    let start = Instant::now();
    for (key, request) in &requests {
        ledger
            .grant(&Act::new("import", now, key.as_str()), request)
            .expect("grant");
    }
    figure(
        "bulk_100k_grants_one_tx_each_per_s",
        per_second(BULK_GRANTS, start.elapsed()),
        "grants/s",
    );
    drop(ledger);
    drop(dir);

    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    let start = Instant::now();
    let lots = ledger
        .grant_batch("import", now, &requests)
        .expect("grant_batch");
    figure(
        "bulk_100k_grants_one_tx_per_s",
        per_second(BULK_GRANTS, start.elapsed()),
        "grants/s",
    );
    // Untimed: the batch is idempotent per key, and `grant` replays a batch item's key.
    assert_eq!(lots.len(), BULK_GRANTS);
    let replayed = ledger
        .grant_batch("import", now, &requests[..1_000])
        .expect("replay part of the batch");
    assert_eq!(replayed, lots[..1_000]);
    let (key, request) = &requests[BULK_GRANTS - 1];
    let one = ledger
        .grant(&Act::new("import", now, key.as_str()), request)
        .expect("replay one item through grant");
    assert_eq!(one.id, lots[BULK_GRANTS - 1].id);
}

/// `Ledger::balance` on 100,000 accounts × 10 lots, at random accounts.
fn bench_balance(now: DateTime<Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    let start = Instant::now();
    populate_for_balance(&dir.path().join("ledger.db"), now);
    figure(
        "balance_db_populate_s",
        start.elapsed().as_secs_f64(),
        "s (setup, raw SQL)",
    );

    let mut rng = XorShift(0x5eed_ba1a_9ce5);
    let expected = Credits::from_minor(
        (0..LOTS_PER_ACCOUNT as i64)
            .map(seeded_lot_amount)
            .sum::<i64>(),
    );
    let call = |rng: &mut XorShift| {
        let account = account_id(rng.below(BALANCE_ACCOUNTS));
        let start = Instant::now();
        let balance = ledger.balance(&account, now).expect("balance");
        let took = start.elapsed();
        // Checked outside the timed part: the figure is only worth something if it is right.
        assert_eq!(balance.available, expected);
        assert_eq!(balance.lots.len(), LOTS_PER_ACCOUNT);
        took
    };
    for _ in 0..BALANCE_WARMUP {
        call(&mut rng);
    }
    let mut samples: Vec<Duration> = (0..BALANCE_SAMPLES).map(|_| call(&mut rng)).collect();
    samples.sort();
    let micros = |q: f64| {
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index].as_secs_f64() * 1e6
    };
    figure("balance_p50_us", micros(0.50), "µs");
    figure("balance_p99_us", micros(0.99), "µs");
    figure("balance_max_us", micros(1.0), "µs");
}

/// The amount of an account's `n`th seeded lot, in minor units.
fn seeded_lot_amount(n: i64) -> i64 {
    1_000 + 100 * n
}

/// Writes 100,000 accounts with 10 lots each, as `open_account` and `grant` would have, in
/// one transaction through a second connection: accounts, lots, and per lot its journal
/// 'grant' entry and operation row, so that every lot's remaining equals its journal sum.
fn populate_for_balance(db: &Path, now: DateTime<Utc>) {
    let mut conn = Connection::open(db).expect("open for seeding");
    conn.execute_batch("PRAGMA cache_size = -262144;")
        .expect("cache");
    let at = now.timestamp();
    let tx = conn.transaction().unwrap();
    {
        let mut account = tx
            .prepare("INSERT INTO accounts (id, display_name, created_at) VALUES (?1, ?1, ?2)")
            .unwrap();
        let mut lot = tx
            .prepare(
                "INSERT INTO lots (id, account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at)
                 VALUES (?1, ?2, ?3, ?3, 'gift', 'seed', 'seed', ?4, ?5)",
            )
            .unwrap();
        let mut entry = tx
            .prepare(
                "INSERT INTO journal (entry_key, op_key, kind, account_id, lot_id, amount, detail, actor, reason, at)
                 VALUES (?1 || '#0', ?1, ?2, ?3, ?4, ?5, NULL, 'seed', 'seed', ?6)",
            )
            .unwrap();
        let mut operation = tx
            .prepare(
                "INSERT INTO operations (idem_key, kind, fingerprint, result, actor, at)
                 VALUES (?1, ?2, 'seed', '{}', 'seed', ?3)",
            )
            .unwrap();
        let mut lot_id = 0i64;
        for n in 0..BALANCE_ACCOUNTS {
            let id = account_id(n);
            account.execute(params![id, at]).unwrap();
            let key = format!("seed-open:{id}");
            entry
                .execute(params![key, "open", id, None::<i64>, 0, at])
                .unwrap();
            operation.execute(params![key, "open_account", at]).unwrap();
            for k in 0..LOTS_PER_ACCOUNT as i64 {
                lot_id += 1;
                let amount = seeded_lot_amount(k);
                // Staggered expiries (one lot never expires) so the spending-order sort works.
                let expires_at = (k > 0).then_some(at + 86_400 * (30 + 7 * k));
                lot.execute(params![lot_id, id, amount, at - 3_600, expires_at])
                    .unwrap();
                let key = format!("seed-grant:{lot_id}");
                entry
                    .execute(params![key, "grant", id, lot_id, amount, at - 3_600])
                    .unwrap();
                operation.execute(params![key, "grant", at]).unwrap();
            }
        }
    }
    tx.commit().unwrap();
    // A running bot checkpoints as it goes; start the reads from a checkpointed file likewise.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

/// A small deterministic PRNG (xorshift64*), so runs pick the same accounts.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
