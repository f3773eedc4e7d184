//! `cargo bench --bench backup`: how long `creditbot backup` (`db::backup`, a `VACUUM INTO`
//! snapshot) takes on a database of over 100 MB, idle and under about 10 ledger writes a
//! second, beside SQLite's online backup API stepped as creditbot used to step it (256 pages,
//! 5 ms apart), which starts over after every write from another connection.
//!
//! One JSON line per figure. The database is built once (real ledger grants, then member
//! questions up to the size) in a temporary folder; every backup goes to a new file there.

mod common;

use chrono::{Duration as Days, TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{AccountId, Act, Expiry, GrantRequest, Ledger, LedgerSettings, Source};
use creditbot::money::Credits;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The size the database is filled to.
const TARGET_BYTES: u64 = 110 * 1024 * 1024;
/// Ledger grants written first, so the copy holds the ledger's own tables and indexes.
const GRANTS: usize = 200_000;
/// The load: one grant every 100 ms, about 10 writes a second.
const WRITE_EVERY: Duration = Duration::from_millis(100);
/// How long the old way is given before it is called unfinished.
const OLD_WAY_CAP: Duration = Duration::from_secs(60);

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let source = dir.path().join("live.db");
    let built = Instant::now();
    let ledger = Arc::new(build(&source));
    let size = std::fs::metadata(&source).map_or(0, |m| m.len());
    common::machine(
        "backup",
        json!({ "sqlite": rusqlite::version(), "build_s": built.elapsed().as_secs_f64() }),
    );
    figure("database_size", size as f64 / 1e6, "MB", 1);

    let idle = backup_with(&source, &dir.path().join("idle.db"));
    figure("backup_idle", idle.as_secs_f64(), "s", 2);

    let (loaded, load) = under_load(&ledger, || {
        backup_with(&source, &dir.path().join("loaded.db"))
    });
    figure("backup_under_10_writes_per_s", loaded.as_secs_f64(), "s", 2);
    figure(
        "backup_under_load_over_idle",
        loaded.as_secs_f64() / idle.as_secs_f64(),
        "x",
        2,
    );
    figure("writes_during_backup", load.writes as f64, "writes", 0);
    figure(
        "slowest_write_during_backup",
        load.slowest.as_secs_f64() * 1e3,
        "ms",
        1,
    );

    let old_idle = old_way(&source, &dir.path().join("old-idle.db"));
    report_old("old_online_backup_idle", old_idle);
    let (old_loaded, _) = under_load(&ledger, || {
        old_way(&source, &dir.path().join("old-loaded.db"))
    });
    report_old("old_online_backup_under_10_writes_per_s", old_loaded);
}

fn figure(name: &str, value: f64, unit: &str, decimals: i32) {
    common::figure("backup", name, value, unit, decimals);
}

fn report_old(name: &str, took: Option<Duration>) {
    match took {
        Some(took) => figure(name, took.as_secs_f64(), "s", 2),
        None => println!(
            "{}",
            json!({ "bench": "backup", "figure": name, "value": null, "unit": "s",
                    "note": format!("not finished after {} s", OLD_WAY_CAP.as_secs()) })
        ),
    }
}

/// A ledger with `GRANTS` grants over 1,000 accounts, then unanswered questions (a table the
/// bot fills in ordinary use) until the file passes `TARGET_BYTES`.
fn build(path: &Path) -> Ledger {
    let ledger = Ledger::open(path, &DatabaseConfig::default(), LedgerSettings::default())
        .expect("open the ledger");
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    for n in 0..1_000 {
        let id = format!("ACC-{n:04}");
        ledger
            .open_account(
                &Act::new("bench", now, format!("open:{id}")),
                &AccountId::new(id.as_str()),
                "Bench",
            )
            .expect("open an account");
    }
    let grants: Vec<(String, GrantRequest)> = (0..GRANTS)
        .map(|n| {
            let request = GrantRequest {
                account_id: AccountId::new(format!("ACC-{:04}", n % 1_000)),
                amount: Credits::from_minor(100 + (n % 5_000) as i64),
                source: Source::Promotion,
                reason: format!("autumn promotion, week {}", n % 13),
                expiry: Expiry::At(now + Days::days(30 + (n % 300) as i64)),
            };
            (format!("bench:grant:{n}"), request)
        })
        .collect();
    for chunk in grants.chunks(10_000) {
        ledger
            .grant_batch("bench", now, chunk)
            .expect("grant a batch");
    }
    let conn = rusqlite::Connection::open(path).expect("open for filling");
    while std::fs::metadata(path).map_or(0, |m| m.len()) < TARGET_BYTES {
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO unanswered (member_id, question, asked_at)
             SELECT 'member-' || (i % 5000), 'how do I ' || hex(randomblob(100)), 1790000000 + i
             FROM n",
            [],
        )
        .expect("fill");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
    }
    ledger
}

/// `creditbot backup` as the binary runs it.
fn backup_with(source: &Path, target: &Path) -> Duration {
    let started = Instant::now();
    creditbot::db::backup(source, &DatabaseConfig::default(), target, drop).expect("backup");
    started.elapsed()
}

/// The online backup API stepped as creditbot's `Ledger::backup_to` did, stopped at the cap.
fn old_way(source: &Path, target: &Path) -> Option<Duration> {
    let started = Instant::now();
    let from = rusqlite::Connection::open(source).expect("open the source");
    let mut to = rusqlite::Connection::open(target).expect("open the target");
    let backup = rusqlite::backup::Backup::new(&from, &mut to).expect("start the backup");
    loop {
        match backup.step(256).expect("step") {
            rusqlite::backup::StepResult::Done => return Some(started.elapsed()),
            _ if started.elapsed() > OLD_WAY_CAP => return None,
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

struct Load {
    /// Writes committed while `work` ran.
    writes: usize,
    /// The slowest of all the load's writes.
    slowest: Duration,
}

/// Runs `work` while another thread grants through the ledger every `WRITE_EVERY`.
fn under_load<T>(ledger: &Arc<Ledger>, work: impl FnOnce() -> T) -> (T, Load) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (ledger, stop, done) = (Arc::clone(ledger), Arc::clone(&stop), Arc::clone(&done));
        std::thread::spawn(move || {
            let now = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
            let (mut writes, mut slowest) = (0, Duration::ZERO);
            while !stop.load(Ordering::SeqCst) {
                let key = format!("bench:load:{}:{writes}", std::process::id());
                let started = Instant::now();
                ledger
                    .grant(
                        &Act::new("bench", now, key),
                        &GrantRequest {
                            account_id: AccountId::new("ACC-0001"),
                            amount: Credits::from_minor(250),
                            source: Source::Goodwill,
                            reason: "load".into(),
                            expiry: Expiry::Never,
                        },
                    )
                    .expect("a grant under load");
                slowest = slowest.max(started.elapsed());
                writes += 1;
                done.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(WRITE_EVERY);
            }
            slowest
        })
    };
    // Let the load start before the work does.
    std::thread::sleep(WRITE_EVERY * 3);
    let before = done.load(Ordering::SeqCst);
    let out = work();
    let writes = done.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    let slowest = writer.join().expect("the writer");
    (out, Load { writes, slowest })
}
