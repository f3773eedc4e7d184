//! `cargo bench --bench reminders`: planning a reminder run over 100,000 linked members with
//! 10 grants each (1,000,000 grants, about 19,000 of them due at 7 days), beside a plain SQL
//! scan of the same rows in the same run: the grants expiring within the window, joined to
//! their member, read into Rust values. Planning must stay within 2× the scan.
//!
//! One JSON line per figure. The database is filled with plain SQL in a temporary folder
//! (migrated by the ledger first), so the build takes seconds, not the ledger's journal.

mod common;

use chrono::{TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{Ledger, LedgerSettings};
use creditbot::reminders::{Settings, plan_run};
use serde_json::json;
use std::time::{Duration, Instant};

const MEMBERS: i64 = 100_000;
const GRANTS_PER_MEMBER: i64 = 10;
const ROUNDS: usize = 5;

fn figure(name: &str, value: f64, unit: &str, decimals: i32) {
    common::figure("reminders", name, value, unit, decimals);
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("reminders.db");
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let built = Instant::now();
    let ledger = Ledger::open(&path, &DatabaseConfig::default(), LedgerSettings::default())
        .expect("open the ledger");
    fill(&path, now.timestamp());
    common::machine(
        "reminders",
        json!({ "sqlite": rusqlite::version(), "build_s": built.elapsed().as_secs_f64(),
                "members": MEMBERS, "grants": MEMBERS * GRANTS_PER_MEMBER }),
    );
    let settings = Settings::default();
    let window = *settings.days_before.first().unwrap();

    // Warm the page cache once for both.
    let plan = plan_run(&ledger, &settings, now).expect("plan");
    let due: usize = plan.messages.iter().map(|m| m.grants.len()).sum();
    figure("due_grants", due as f64, "grants", 0);
    figure("messages", plan.messages.len() as f64, "messages", 0);
    drop(plan);
    // The scan gets its own connection, open throughout, as the ledger keeps its own.
    let conn = rusqlite::Connection::open(&path).expect("open for the scan");
    let scanned = scan(&conn, now.timestamp(), window);

    let mut plan_times = Vec::new();
    let mut scan_times = Vec::new();
    let mut rss_growth = 0u64;
    for _ in 0..ROUNDS {
        let before = common::rss_kb(None).unwrap_or(0);
        let started = Instant::now();
        let plan = plan_run(&ledger, &settings, now).expect("plan");
        plan_times.push(started.elapsed());
        rss_growth = rss_growth.max(common::rss_kb(None).unwrap_or(0).saturating_sub(before));
        drop(plan);
        let started = Instant::now();
        let rows = scan(&conn, now.timestamp(), window);
        scan_times.push(started.elapsed());
        assert_eq!(rows, scanned);
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (plan, scan) = (median(plan_times), median(scan_times));
    figure("rows_in_window", scanned as f64, "rows", 0);
    figure("plan_run_median", plan.as_secs_f64() * 1e3, "ms", 1);
    figure("plain_sql_scan_median", scan.as_secs_f64() * 1e3, "ms", 1);
    figure(
        "plan_over_scan",
        plan.as_secs_f64() / scan.as_secs_f64(),
        "x",
        2,
    );
    figure("plan_rss_growth", rss_growth as f64 / 1024.0, "MB", 1);
    figure(
        "rss_after",
        common::rss_kb(None).unwrap_or(0) as f64 / 1024.0,
        "MB",
        1,
    );
}

/// 100,000 accounts, each linked to a member, with 10 grants expiring over the next year.
fn fill(path: &std::path::Path, now: i64) {
    let conn = rusqlite::Connection::open(path).expect("open for filling");
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN;")
        .expect("begin");
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
         INSERT INTO accounts (id, display_name, created_at) SELECT 'ACC-' || i, 'Member ' || i, ?2 FROM n",
        rusqlite::params![MEMBERS, now - 86_400 * 200],
    )
    .expect("accounts");
    conn.execute(
        "INSERT INTO links (member_id, account_id, linked_at, linked_by)
         SELECT CAST(1000000000000000000 + substr(id, 5) AS TEXT), id, created_at, 'bench' FROM accounts",
        [],
    )
    .expect("links");
    // Grant i of the bench expires (i * 7919 mod 365) days and some hours from now.
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
         INSERT INTO lots (account_id, amount, remaining, source, reason, granted_by, granted_at, expires_at)
         SELECT 'ACC-' || (i % ?2), 1000 + i % 5000, 500 + i % 500, 'promotion',
                'autumn promotion, week ' || (i % 13), 'bench', ?3,
                ?4 + ((i * 7919) % 365) * 86400 + (i % 24) * 3600 + 1
         FROM n",
        rusqlite::params![MEMBERS * GRANTS_PER_MEMBER, MEMBERS, now - 86_400 * 100, now],
    )
    .expect("lots");
    conn.execute_batch("COMMIT; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("commit");
}

/// The plain scan: the grants with credit expiring within `window` days, with their member,
/// read into Rust values. Returns how many rows it read.
fn scan(conn: &rusqlite::Connection, now: i64, window: u32) -> usize {
    let mut stmt = conn
        .prepare_cached(
            "SELECT l.id, l.account_id, k.member_id, l.remaining, l.source, l.reason, l.expires_at
             FROM lots l JOIN links k ON k.account_id = l.account_id
             WHERE l.remaining > 0 AND l.expires_at IS NOT NULL
               AND l.expires_at > ?1 AND l.expires_at <= ?2",
        )
        .expect("prepare the scan");
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, i64, String, String, i64)> = stmt
        .query_map(
            rusqlite::params![now, now + i64::from(window) * 86_400],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .expect("scan")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.len()
}
