//! `cargo bench --bench ledger`: the ledger's write throughput (against a raw rusqlite loop),
//! bulk import and balance latency, printed as one JSON line per figure.
//!
//! Every figure runs on its own fresh temporary database with the default `DatabaseConfig`
//! (WAL, synchronous NORMAL). Timing lives here only; tests never time anything.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{
    AccountId, Act, CreditChoice, Expiry, GrantRequest, ItemKind, Ledger, LedgerSettings, OrderId,
    OrderItemRequest, OrderRequest, Source,
};
use creditbot::money::Credits;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::json;

/// Single-operation writes timed per figure (ledger and raw each).
const SINGLE_OPS: usize = 20_000;
/// Operations whose WAL growth is measured to count pages per commit.
const WAL_PROBE_OPS: usize = 1_000;
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
    common::machine("ledger", json!({ "sqlite": rusqlite::version() }));
    // LEDGER_BENCH_ONLY=balance runs the balance figures alone (a quick before/after check).
    if std::env::var("LEDGER_BENCH_ONLY").as_deref() != Ok("balance") {
        bench_grants(now);
        bench_order_spends(now);
        bench_bulk_import(now);
    }
    bench_balance(now);
    if std::env::var_os("LEDGER_BENCH_EXPERIMENTS").is_some() {
        experiment_small_pages(now);
        experiment_ledger_shaped_raw(now);
        experiment_encoding(now);
        experiment_ceiling();
    }
}

fn figure(name: &str, value: f64, unit: &str) {
    common::figure("ledger", name, value, unit, 2);
}

fn per_second(ops: usize, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
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
            .open_account(
                &Act::new("bench", now, format!("open:{id}")),
                &AccountId::new(id.as_str()),
                &id,
            )
            .expect("open an account");
    }
}

fn grant_request(account: usize, amount_minor: i64) -> GrantRequest {
    GrantRequest {
        account_id: AccountId::new(account_id(account)),
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
    path: PathBuf,
    next: i64,
}

impl RawLoop {
    fn open(dir: &Path, page_size: Option<u32>) -> RawLoop {
        let path = dir.join("raw.db");
        let conn = Connection::open(&path).expect("open the raw database");
        if let Some(size) = page_size {
            conn.execute_batch(&format!("PRAGMA page_size = {size};"))
                .unwrap();
        }
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
        RawLoop {
            conn,
            path,
            next: 0,
        }
    }

    fn insert_one(&mut self) {
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
}

/// Runs `a` and `b` alternately in chunks of `CHUNK` for `ops` operations each, so that
/// background load on a shared machine hits both alike; returns their rates (ops/s).
fn race(ops: usize, mut a: impl FnMut(usize), mut b: impl FnMut(usize)) -> (f64, f64) {
    let (mut a_time, mut b_time) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < ops {
        let chunk = CHUNK.min(ops - done);
        let start = Instant::now();
        (done..done + chunk).for_each(&mut a);
        a_time += start.elapsed();
        let start = Instant::now();
        (done..done + chunk).for_each(&mut b);
        b_time += start.elapsed();
        done += chunk;
    }
    (per_second(ops, a_time), per_second(ops, b_time))
}

/// Races `ledger_op` against the raw loop; prints the ledger's rate, the raw rate, their
/// ratio, and how many WAL pages one operation of each writes (which explains the ratio).
fn race_against_raw(name: &str, dir: &Path, ledger_db: &Path, mut ledger_op: impl FnMut(usize)) {
    let mut raw = RawLoop::open(dir, None);
    let (ledger_rate, raw_rate) = race(SINGLE_OPS, &mut ledger_op, |_| raw.insert_one());
    figure(&format!("{name}_per_s"), ledger_rate, "ops/s");
    figure(
        &format!("raw_inserts_beside_{name}_per_s"),
        raw_rate,
        "ops/s",
    );
    figure(&format!("{name}_vs_raw"), ledger_rate / raw_rate, "ratio");
    let pages = wal_pages_per_op(ledger_db, |n| ledger_op(SINGLE_OPS + n));
    figure(&format!("wal_pages_per_{name}"), pages, "pages/op");
    let raw_path = raw.path.clone();
    let raw_pages = wal_pages_per_op(&raw_path, |_| raw.insert_one());
    figure(
        &format!("wal_pages_per_raw_insert_beside_{name}"),
        raw_pages,
        "pages/op",
    );
}

/// WAL frames (pages) one commit of `op` appends, averaged over `WAL_PROBE_OPS` calls.
///
/// The WAL is checkpointed and truncated first; a reader then holds the empty snapshot, so
/// no checkpoint can reset the WAL meanwhile and its growth counts every page written.
fn wal_pages_per_op(db: &Path, mut op: impl FnMut(usize)) -> f64 {
    let reader = Connection::open(db).unwrap();
    let page_size: u64 = reader
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    reader
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    reader.execute_batch("BEGIN").unwrap();
    reader
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    (0..WAL_PROBE_OPS).for_each(&mut op);
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let bytes = std::fs::metadata(wal).map_or(0, |m| m.len());
    reader.execute_batch("COMMIT").unwrap();
    // A WAL file is a 32-byte header, then frames of a 24-byte header and one page.
    let frames = bytes.saturating_sub(32) / (page_size + 24);
    frames as f64 / WAL_PROBE_OPS as f64
}

/// `Ledger::grant`, one transaction and one idempotency key per grant.
fn bench_grants(now: DateTime<Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    race_against_raw(
        "grants",
        dir.path(),
        ledger.path().expect("an SQLite ledger"),
        |n| {
            let act = Act::new("bench", now, format!("grant:{n}"));
            ledger
                .grant(&act, &grant_request(n % WRITE_ACCOUNTS, 500))
                .expect("grant");
        },
    );
}

fn one_item_order(n: usize) -> OrderRequest {
    OrderRequest {
        external_id: OrderId::new(format!("order-{n}")),
        account_id: AccountId::new(account_id(n % WRITE_ACCOUNTS)),
        items: vec![OrderItemRequest {
            sku: "ebook-1".into(),
            title: "An e-book".into(),
            kind: ItemKind::Digital,
            unit_price: Credits::from_minor(100),
            quantity: 1,
        }],
        credits: CreditChoice::All,
        other_method: None,
    }
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
    race_against_raw(
        "order_spends",
        dir.path(),
        ledger.path().expect("an SQLite ledger"),
        |n| {
            let receipt = ledger
                .record_order("bench", now, &one_item_order(n))
                .expect("order");
            assert_eq!(receipt.credits_applied, Credits::from_minor(100));
        },
    );
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

/// `Ledger::balance` on 100,000 accounts × 10 lots, at random accounts, beside the same two
/// queries through rusqlite directly (`RawBalance`) in alternating chunks: reads hit the OS
/// page cache and the disk, so a figure alone moves with the machine's state; the ratio to a
/// baseline measured at the same moment doesn't.
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
    let raw = RawBalance::open(&dir.path().join("ledger.db"));

    let expected = Credits::from_minor(
        (0..LOTS_PER_ACCOUNT as i64)
            .map(seeded_lot_amount)
            .sum::<i64>(),
    );
    // Each side reads its own random accounts, so neither warms the cache for the other.
    let mut ledger_rng = XorShift(0x5eed_ba1a_9ce5);
    let mut raw_rng = XorShift(0x5eed_ba1a_9ce6);
    let ledger_call = |rng: &mut XorShift| {
        let account = account_id(rng.below(BALANCE_ACCOUNTS));
        let start = Instant::now();
        let balance = ledger
            .balance(&AccountId::new(account.as_str()), now)
            .expect("balance");
        let took = start.elapsed();
        // Checked outside the timed part: the figure is only worth something if it is right.
        assert_eq!(balance.available, expected);
        assert_eq!(balance.lots.len(), LOTS_PER_ACCOUNT);
        took
    };
    let raw_call = |rng: &mut XorShift| {
        let account = account_id(rng.below(BALANCE_ACCOUNTS));
        let start = Instant::now();
        let (available, lots) = raw.balance(&account, now);
        let took = start.elapsed();
        assert_eq!(Credits::from_minor(available), expected);
        assert_eq!(lots, LOTS_PER_ACCOUNT);
        took
    };
    for _ in 0..BALANCE_WARMUP {
        ledger_call(&mut ledger_rng);
        raw_call(&mut raw_rng);
    }
    let mut ledger_samples = Vec::with_capacity(BALANCE_SAMPLES);
    let mut raw_samples = Vec::with_capacity(BALANCE_SAMPLES);
    for chunk in 0..BALANCE_SAMPLES / CHUNK {
        // Alternate which side goes first, so a drift in the machine's state favours neither.
        for side in [chunk % 2, 1 - chunk % 2] {
            for _ in 0..CHUNK {
                if side == 0 {
                    ledger_samples.push(ledger_call(&mut ledger_rng));
                } else {
                    raw_samples.push(raw_call(&mut raw_rng));
                }
            }
        }
    }
    ledger_samples.sort();
    raw_samples.sort();
    let micros = |samples: &[Duration], q: f64| common::quantile(samples, q).as_secs_f64() * 1e6;
    figure("balance_p50_us", micros(&ledger_samples, 0.50), "µs");
    figure("balance_p99_us", micros(&ledger_samples, 0.99), "µs");
    figure("balance_max_us", micros(&ledger_samples, 1.0), "µs");
    figure("balance_raw_p50_us", micros(&raw_samples, 0.50), "µs");
    figure("balance_raw_p99_us", micros(&raw_samples, 0.99), "µs");
    figure(
        "balance_p50_vs_raw",
        micros(&ledger_samples, 0.50) / micros(&raw_samples, 0.50),
        "× (ledger ÷ raw at p50)",
    );
    figure(
        "balance_p99_vs_raw",
        micros(&ledger_samples, 0.99) / micros(&raw_samples, 0.99),
        "× (ledger ÷ raw at p99)",
    );
}

/// A balance read by hand: the ledger's two queries (the account, then its live lots with
/// every column decoded into owned values) on a connection of its own, summed. A reference
/// measured at the same moment, not a floor: it decodes into tuples of owned strings where the
/// ledger borrows some, and in practice the ledger comes out about 0.8× of it.
struct RawBalance {
    conn: Connection,
}

impl RawBalance {
    fn open(db: &Path) -> Self {
        let conn = Connection::open(db).expect("open for raw balance reads");
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        RawBalance { conn }
    }

    /// The available credit and the number of live lots of `account` at `now`.
    fn balance(&self, account: &str, now: DateTime<Utc>) -> (i64, usize) {
        let tx = self.conn.unchecked_transaction().unwrap();
        let found: Option<(String, String, i64, bool)> = tx
            .prepare_cached(
                "SELECT id, display_name, created_at, closed FROM accounts WHERE id = ?1",
            )
            .unwrap()
            .query_row([account], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .unwrap();
        assert!(found.is_some(), "{account} exists");
        type LotRow = (
            i64,
            String,
            i64,
            i64,
            String,
            String,
            String,
            i64,
            Option<i64>,
            Option<String>,
            bool,
        );
        let mut stmt = tx
            .prepare_cached(
                "SELECT l.id, l.account_id, l.amount, l.remaining, l.source, l.reason, l.granted_by,
                 l.granted_at, l.expires_at,
                 (SELECT o.external_id FROM orders o WHERE o.id = l.refund_of_order), l.revoked
                 FROM lots l WHERE l.account_id = ?1 AND l.remaining > 0
                 AND (l.expires_at IS NULL OR l.expires_at > ?2) AND l.granted_at <= ?2",
            )
            .unwrap();
        let lots: Vec<LotRow> = stmt
            .query_map(params![account, now.timestamp()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        drop(stmt);
        tx.commit().unwrap();
        (lots.iter().map(|lot| lot.3).sum(), lots.len())
    }
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

// ----- experiments (LEDGER_BENCH_EXPERIMENTS=1): where the time of a ledger write goes -------

/// The ledger and the raw loop on 1 KiB pages instead of 4 KiB: a commit appends whole pages
/// to the WAL, so smaller pages shrink what every commit writes.
fn experiment_small_pages(now: DateTime<Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    // The page size of a new file is fixed by its first write; set it before the migrator runs.
    Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;")
        .unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    let mut raw = RawLoop::open(dir.path(), Some(1024));
    let (ledger_rate, raw_rate) = race(
        SINGLE_OPS / 2,
        |n| {
            let act = Act::new("bench", now, format!("grant:{n}"));
            ledger
                .grant(&act, &grant_request(n % WRITE_ACCOUNTS, 500))
                .expect("grant");
        },
        |_| raw.insert_one(),
    );
    figure("exp_page1k_grants_per_s", ledger_rate, "ops/s");
    figure("exp_page1k_raw_inserts_per_s", raw_rate, "ops/s");
    figure("exp_page1k_grants_vs_raw", ledger_rate / raw_rate, "ratio");
}

/// The SQL of one `grant`, run straight through rusqlite on the real schema: what the ledger
/// would cost with no Rust layer at all. Once with every statement cached, once with the two
/// `operations` statements prepared on each call, as `keyed` does today.
struct ShapedGrant {
    conn: Connection,
    cache_operations: bool,
    result: String,
}

impl ShapedGrant {
    /// `slim`: the same rows on a schema with one b-tree fewer per grant (see `SLIM_SCHEMA`).
    fn open(dir: &Path, now: DateTime<Utc>, cache_operations: bool, slim: bool) -> ShapedGrant {
        let ledger = open_ledger(dir);
        if slim {
            Connection::open(dir.join("ledger.db"))
                .unwrap()
                .execute_batch(SLIM_SCHEMA)
                .unwrap();
        }
        open_accounts(&ledger, now, WRITE_ACCOUNTS);
        let result = serde_json::to_string(
            &ledger
                .grant(&Act::new("bench", now, "sample"), &grant_request(0, 500))
                .unwrap(),
        )
        .unwrap();
        drop(ledger);
        let conn = Connection::open(dir.join("ledger.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .unwrap();
        ShapedGrant {
            conn,
            cache_operations,
            result,
        }
    }

    fn grant(&mut self, n: usize, at: i64) {
        let key = format!("grant:{n}");
        let account = account_id(n % WRITE_ACCOUNTS);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let lookup = "SELECT fingerprint, result FROM operations WHERE idem_key = ?1";
        let found: Option<String> = if self.cache_operations {
            tx.prepare_cached(lookup)
                .unwrap()
                .query_row([&key], |r| r.get(0))
                .optional()
        } else {
            tx.query_row(lookup, [&key], |r| r.get(0)).optional()
        }
        .unwrap();
        assert!(found.is_none());
        tx.prepare_cached(
            "SELECT id, display_name, created_at, closed FROM accounts WHERE id = ?1",
        )
        .unwrap()
        .query_row([&account], |r| r.get::<_, i64>(3))
        .unwrap();
        tx.prepare_cached(
            "INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at, refund_of_order)
             VALUES (?1, ?2, ?2, 'gift', 'bench', 'bench', ?3, ?4, NULL)",
        )
        .unwrap()
        .execute(params![account, 500, at, at + 365 * 86_400])
        .unwrap();
        let lot_id = tx.last_insert_rowid();
        tx.prepare_cached(
            "SELECT l.id, l.account_id, l.amount, l.remaining, l.source, l.reason, l.granted_by, l.granted_at, l.expires_at,
                    (SELECT o.external_id FROM orders o WHERE o.id = l.refund_of_order)
             FROM lots l WHERE l.id = ?1",
        )
        .unwrap()
        .query_row([lot_id], |r| r.get::<_, i64>(0))
        .unwrap();
        tx.prepare_cached(
            "INSERT INTO journal (entry_key, op_key, kind, account_id, member_id, lot_id, order_id, allocation_id, amount, detail, actor, reason, at)
             VALUES (?1 || '#0', ?1, 'grant', ?2, NULL, ?3, NULL, NULL, 500, '2026-01-01T12:00:00Z', 'bench', 'bench', ?4)",
        )
        .unwrap()
        .execute(params![key, account, lot_id, at])
        .unwrap();
        let insert = "INSERT INTO operations (idem_key, kind, fingerprint, result, actor, at)
                      VALUES (?1, 'grant', ?2, ?3, 'bench', ?4)";
        let fingerprint = "0".repeat(64);
        let values = params![key, fingerprint, self.result, at];
        if self.cache_operations {
            tx.prepare_cached(insert).unwrap().execute(values)
        } else {
            tx.execute(insert, values)
        }
        .unwrap();
        tx.commit().unwrap();
    }
}

/// A possible schema change, measured by the experiments: `journal.entry_key` without its
/// UNIQUE index (the operation's key in `operations` is unique already). The other indexes
/// are as in migrations/sqlite/0001_init.sql.
const SLIM_SCHEMA: &str = "
    CREATE TABLE journal_slim AS SELECT * FROM journal;
    DROP TABLE journal;
    ALTER TABLE journal_slim RENAME TO journal;
    CREATE INDEX journal_by_account ON journal(account_id, at, id);
    CREATE INDEX journal_by_allocation ON journal(allocation_id) WHERE allocation_id IS NOT NULL;
";

fn experiment_ledger_shaped_raw(now: DateTime<Utc>) {
    let at = now.timestamp();
    let ledger_dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(ledger_dir.path());
    open_accounts(&ledger, now, WRITE_ACCOUNTS);
    let cached_dir = tempfile::tempdir().unwrap();
    let mut cached = ShapedGrant::open(cached_dir.path(), now, true, false);
    let (ledger_rate, cached_rate) = race(
        SINGLE_OPS / 2,
        |n| {
            let act = Act::new("bench", now, format!("grant:{n}"));
            ledger
                .grant(&act, &grant_request(n % WRITE_ACCOUNTS, 500))
                .expect("grant");
        },
        |n| cached.grant(n, at),
    );
    figure("exp_grants_per_s", ledger_rate, "ops/s");
    figure("exp_grant_sql_raw_cached_per_s", cached_rate, "ops/s");
    figure(
        "exp_grants_vs_grant_sql_raw",
        ledger_rate / cached_rate,
        "ratio",
    );

    let uncached_dir = tempfile::tempdir().unwrap();
    let mut uncached = ShapedGrant::open(uncached_dir.path(), now, false, false);
    let offset = SINGLE_OPS;
    let (uncached_rate, cached_rate) = race(
        SINGLE_OPS / 2,
        |n| uncached.grant(n, at),
        |n| cached.grant(offset + n, at),
    );
    figure(
        "exp_grant_sql_raw_operations_uncached_per_s",
        uncached_rate,
        "ops/s",
    );
    figure("exp_grant_sql_raw_cached_again_per_s", cached_rate, "ops/s");

    let slim_dir = tempfile::tempdir().unwrap();
    let mut slim = ShapedGrant::open(slim_dir.path(), now, true, true);
    let offset = 2 * SINGLE_OPS;
    let (slim_rate, cached_rate) = race(
        SINGLE_OPS / 2,
        |n| slim.grant(n, at),
        |n| cached.grant(offset + n, at),
    );
    figure("exp_grant_sql_raw_slim_schema_per_s", slim_rate, "ops/s");
    figure("exp_grant_sql_raw_cached_third_per_s", cached_rate, "ops/s");
    let slim_db = slim_dir.path().join("ledger.db");
    let pages = wal_pages_per_op(&slim_db, |n| slim.grant(3 * SINGLE_OPS + n, at));
    figure("exp_wal_pages_per_grant_slim_schema", pages, "pages/op");
}

/// What `keyed` spends on JSON and SHA-256 per grant: the request's fingerprint and the
/// stored result.
fn experiment_encoding(now: DateTime<Utc>) {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_ledger(dir.path());
    open_accounts(&ledger, now, 1);
    let request = grant_request(0, 500);
    let lot = ledger
        .grant(&Act::new("bench", now, "sample"), &request)
        .unwrap();
    let rounds = 100_000;
    let start = Instant::now();
    let mut sink = 0usize;
    for _ in 0..rounds {
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"grant");
        hasher.update(serde_json::to_vec(std::hint::black_box(&request)).unwrap());
        sink += hex::encode(hasher.finalize()).len();
        sink += serde_json::to_string(std::hint::black_box(&lot))
            .unwrap()
            .len();
    }
    assert!(sink > 0);
    figure(
        "exp_fingerprint_and_result_json_us",
        start.elapsed().as_secs_f64() * 1e6 / rounds as f64,
        "µs/op",
    );
}

// ----- the ceiling: the fewest pages a write can touch and still be the ledger's write ------

/// The smallest schema found that keeps what issue 2 requires of every write: a lot row, one
/// journal row per change with a UNIQUE idempotency key (carrying the request's fingerprint
/// and first result, so no separate `operations` table), history by account, and the order
/// kept in the journal itself (its items as JSON in the order's entry, one spend entry per
/// allocation) instead of `orders`/`order_items`/`allocations` tables. Lots are clustered by
/// account (no separate index); a lot's id is its grant entry's id, so a lookup by id goes
/// through the journal's primary key. Four B-trees per grant and per spend; the raw loop has two.
const CEILING_SCHEMA: &str = "
    PRAGMA foreign_keys = ON;
    CREATE TABLE accounts (id TEXT PRIMARY KEY, display_name TEXT NOT NULL,
        created_at INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE lots (account_id TEXT NOT NULL REFERENCES accounts(id), id INTEGER NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
        source TEXT NOT NULL, reason TEXT NOT NULL, granted_by TEXT NOT NULL,
        granted_at INTEGER NOT NULL, expires_at INTEGER, revoked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, id)) WITHOUT ROWID;
    CREATE TABLE journal (id INTEGER PRIMARY KEY, entry_key TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id), kind TEXT NOT NULL, lot_id INTEGER,
        order_entry INTEGER, amount INTEGER NOT NULL DEFAULT 0, detail TEXT,
        actor TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
        fingerprint TEXT, result TEXT);
    CREATE INDEX journal_by_account ON journal(account_id, id);
";

/// The ceiling schema's grant and spend, as plain cached SQL (no Rust layer to speak of).
struct CeilingLedger {
    conn: Connection,
}

impl CeilingLedger {
    const AT: i64 = 1_735_732_800;

    fn open(dir: &Path) -> CeilingLedger {
        let conn = Connection::open(dir.join("ceiling.db")).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA synchronous = NORMAL;").unwrap();
        conn.execute_batch(CEILING_SCHEMA).unwrap();
        for n in 0..WRITE_ACCOUNTS {
            let id = account_id(n);
            conn.execute(
                "INSERT INTO accounts (id, display_name, created_at) VALUES (?1, ?1, ?2)",
                params![id, Self::AT],
            )
            .unwrap();
            // One large never-expiring lot per account pays every spend (ids far above the
            // journal's, which the grants' lots use).
            conn.execute(
                "INSERT INTO lots (account_id, id, amount, remaining, source, reason, granted_by, granted_at)
                 VALUES (?1, ?2, 100000000, 100000000, 'gift', 'seed', 'seed', ?3)",
                params![id, 1_000_000_000 + n as i64, Self::AT],
            )
            .unwrap();
        }
        CeilingLedger { conn }
    }

    /// Looks the request's key up (it must be new) and checks the account, as every keyed
    /// write does.
    fn begin(&mut self, key: &str, account: &str) -> rusqlite::Transaction<'_> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let earlier: Option<String> = tx
            .prepare_cached("SELECT fingerprint FROM journal WHERE entry_key = ?1")
            .unwrap()
            .query_row([format!("{key}#0")], |r| r.get(0))
            .optional()
            .unwrap();
        assert!(earlier.is_none());
        let closed: i64 = tx
            .prepare_cached("SELECT closed FROM accounts WHERE id = ?1")
            .unwrap()
            .query_row([account], |r| r.get(0))
            .unwrap();
        assert_eq!(closed, 0);
        tx
    }

    fn grant(&mut self, n: usize) {
        let account = account_id(n % WRITE_ACCOUNTS);
        let key = format!("grant:{n}");
        let tx = self.begin(&key, &account);
        let result = json!({"account_id": account, "amount": "5.00", "remaining": "5.00",
            "source": "gift", "reason": "bench", "granted_by": "bench",
            "granted_at": "2025-01-01T12:00:00Z", "expires_at": "2026-01-01T12:00:00Z",
            "refund_of_order": null, "revoked": false})
        .to_string();
        tx.prepare_cached(
            "INSERT INTO journal (entry_key, account_id, kind, amount, detail, actor, reason, at, fingerprint, result)
             VALUES (?1 || '#0', ?2, 'grant', 500, '2026-01-01T12:00:00Z', 'bench', 'bench', ?3, ?4, ?5)",
        )
        .unwrap()
        .execute(params![key, account, Self::AT, "0".repeat(64), result])
        .unwrap();
        let lot_id = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO lots (account_id, id, amount, remaining, source, reason, granted_by, granted_at, expires_at)
             VALUES (?1, ?2, 500, 500, 'gift', 'bench', 'bench', ?3, ?4)",
        )
        .unwrap()
        .execute(params![account, lot_id, Self::AT, Self::AT + 365 * 86_400])
        .unwrap();
        tx.commit().unwrap();
    }

    fn spend(&mut self, n: usize) {
        let account = account_id(n % WRITE_ACCOUNTS);
        let key = format!("order:order-{n}");
        let tx = self.begin(&key, &account);
        let lot_id: i64 = tx
            .prepare_cached(
                "SELECT id FROM lots WHERE account_id = ?1 AND remaining > 0 AND revoked = 0
                   AND (expires_at IS NULL OR expires_at > ?2)
                 ORDER BY expires_at IS NULL, expires_at, granted_at, id",
            )
            .unwrap()
            .query_row(params![account, Self::AT], |r| r.get(0))
            .unwrap();
        tx.prepare_cached(
            "UPDATE lots SET remaining = remaining - 100 WHERE account_id = ?1 AND id = ?2",
        )
        .unwrap()
        .execute(params![account, lot_id])
        .unwrap();
        let order = json!({"external_id": format!("order-{n}"), "credit_choice": "all",
            "other_method": null, "credits_applied": 100, "other_amount": 0,
            "items": [{"sku": "ebook-1", "title": "An e-book", "kind": "digital",
                       "unit_price": 100, "quantity": 1, "credits": 100}]})
        .to_string();
        let receipt = json!({"external_id": format!("order-{n}"), "account_id": account,
            "total": "1.00", "credits_applied": "1.00", "other_amount": "0.00",
            "other_method": null,
            "allocations": [{"line": 0, "sku": "ebook-1", "lot_id": lot_id, "amount": "1.00"}]})
        .to_string();
        let mut entry = tx
            .prepare_cached(
                "INSERT INTO journal (entry_key, account_id, kind, lot_id, order_entry, amount, detail, actor, reason, at, fingerprint, result)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'bench', 'order', ?8, ?9, ?10)",
            )
            .unwrap();
        entry
            .execute(params![
                format!("{key}#0"),
                account,
                "order",
                None::<i64>,
                None::<i64>,
                0,
                order,
                Self::AT,
                "0".repeat(64),
                receipt
            ])
            .unwrap();
        let order_entry = tx.last_insert_rowid();
        entry
            .execute(params![
                format!("{key}#1"),
                account,
                "spend",
                lot_id,
                order_entry,
                -100,
                r#"{"line":0}"#,
                Self::AT,
                None::<String>,
                None::<String>
            ])
            .unwrap();
        drop(entry);
        tx.commit().unwrap();
    }
}

/// One kind of write the ceiling ledger races against the raw loop.
type CeilingWrite = fn(&mut CeilingLedger, usize);

/// A fresh ceiling ledger and raw loop side by side in one temporary folder, both with
/// `pragmas` applied.
fn ceiling_beside_raw(pragmas: &str) -> (tempfile::TempDir, CeilingLedger, RawLoop) {
    let dir = tempfile::tempdir().unwrap();
    let ceiling = CeilingLedger::open(dir.path());
    let raw = RawLoop::open(dir.path(), None);
    for conn in [&ceiling.conn, &raw.conn] {
        conn.execute_batch(pragmas).unwrap();
    }
    (dir, ceiling, raw)
}

/// How close any design keeping the issue's required rows can come to the raw loop: the
/// ceiling schema's grants and spends raced against it (each on fresh files, since the lots
/// the grants leave would lengthen every spend's lot read), with pages per commit.
///
/// Then again with both sides checkpointing every 10,000 pages instead of every 1,000: a
/// checkpoint copies each page once however often it was rewritten, so a longer interval
/// favours page-heavy writes; the question is whether that closes the gap.
fn experiment_ceiling() {
    for (prefix, pragmas) in [
        ("exp_ceiling", ""),
        (
            "exp_ceiling_checkpoint_10k",
            "PRAGMA wal_autocheckpoint = 10000;",
        ),
    ] {
        let writes: [(&str, &str, CeilingWrite); 2] = [
            ("grants", "grant", CeilingLedger::grant),
            ("spends", "spend", CeilingLedger::spend),
        ];
        for (plural, singular, write) in writes {
            let (dir, mut ceiling, mut raw) = ceiling_beside_raw(pragmas);
            let (rate, raw_rate) =
                race(SINGLE_OPS, |n| write(&mut ceiling, n), |_| raw.insert_one());
            figure(&format!("{prefix}_{plural}_per_s"), rate, "ops/s");
            figure(
                &format!("{prefix}_raw_beside_{plural}_per_s"),
                raw_rate,
                "ops/s",
            );
            figure(
                &format!("{prefix}_{plural}_vs_raw"),
                rate / raw_rate,
                "ratio",
            );
            if pragmas.is_empty() {
                let db = dir.path().join("ceiling.db");
                let pages = wal_pages_per_op(&db, |n| write(&mut ceiling, SINGLE_OPS + n));
                figure(
                    &format!("exp_wal_pages_per_ceiling_{singular}"),
                    pages,
                    "pages/op",
                );
            }
        }
    }
}
