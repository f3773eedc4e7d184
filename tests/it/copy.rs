//! `creditbot copy --from URL --to URL` through the real binary: a round trip SQLite →
//! PostgreSQL → SQLite (and SQLite → SQLite, run without PostgreSQL) keeps every row, id,
//! balance and history; a second run changes nothing; a destination holding another ledger,
//! a bad URL and a missing source are refused with nothing changed or created; a URL's
//! password never shows. Also: the copy's table list covers the schema, column for column.

use creditbot::config::DatabaseConfig;
use creditbot::ledger::store::copy::TABLES;
use creditbot::ledger::{Ledger, LedgerSettings};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const NOW: &str = "2026-03-01";
/// A password the tests' cluster ignores (it trusts loopback), to prove it is never shown.
const PASSWORD: &str = "pw-never-shown-7Qx";

fn creditbot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_creditbot"))
        .args(args)
        .current_dir(dir)
        .env_remove("DISCORD_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("CREDITBOT_DATABASE_URL")
        .env_remove("CREDITBOT_DATABASE_PATH")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = creditbot(dir, args);
    assert!(output.status.success(), "{args:?}: {}", said(&output));
    said(&output)
}

/// A ledger with every kind of row the demo and an expiry sweep make: accounts, a link,
/// grants, orders with items and allocations, a return, expiry entries.
fn seed(dir: &Path, db: &str) {
    ok(dir, &["--db", db, "demo", "--now", NOW]);
    ok(dir, &["--db", db, "sweep", "--now", "2027-06-01"]);
}

fn export(dir: &Path, db: &str) -> String {
    ok(
        dir,
        &["--db", db, "export", "ACC-1042", "--now", "2026-09-01"],
    )
}

fn sqlite(path: &Path) -> Ledger {
    Ledger::open(path, &DatabaseConfig::default(), LedgerSettings::default()).unwrap()
}

/// a.db → `middle` → b.db: the two files hold the same rows, and every side exports the
/// same account, balance and history.
fn round_trip(dir: &Path, middle: &str) {
    seed(dir, "a.db");
    let copied = ok(dir, &["copy", "--from", "a.db", "--to", middle]);
    assert!(copied.contains("both sides agree"), "{copied}");
    assert!(copied.contains("1 accounts, "), "{copied}");
    let back = ok(dir, &["copy", "--from", middle, "--to", "sqlite:b.db"]);
    assert!(back.contains("both sides agree"), "{back}");
    // Totals and counts are printed alike both ways.
    let figures = |s: &str| s[s.find("Copied").unwrap()..s.find(" from ").unwrap()].to_string();
    assert_eq!(figures(&copied), figures(&back));

    let (a, b) = (sqlite(&dir.join("a.db")), sqlite(&dir.join("b.db")));
    assert_eq!(a.content_checksum().unwrap(), b.content_checksum().unwrap());
    assert_eq!(a.journal_totals().unwrap(), b.journal_totals().unwrap());
    assert_eq!(a.lot_journal_sums().unwrap(), b.lot_journal_sums().unwrap());
    let original = export(dir, "a.db");
    assert_eq!(original, export(dir, middle));
    assert_eq!(original, export(dir, "b.db"));

    // The copied store goes on as the original would: new ids follow the copied ones.
    for db in ["a.db", middle] {
        ok(dir, &["--db", db, "sweep", "--now", "2028-01-01"]);
    }
    assert_eq!(export(dir, "a.db"), export(dir, middle));
}

#[test]
fn a_round_trip_between_two_sqlite_files_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(dir.path(), "sqlite:m.db");
}

#[cfg(feature = "postgres")]
#[test]
fn a_round_trip_sqlite_postgresql_sqlite_keeps_every_row() {
    let Some(postgres) = crate::stores::Postgres::or_skip(
        "copy::a_round_trip_sqlite_postgresql_sqlite_keeps_every_row",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    round_trip(dir.path(), &postgres.database());
}

/// The same copy again says so and changes nothing; a copy into another ledger is refused
/// and changes nothing either. `to` is a fresh database; `password` the one its URL carries.
fn again_and_refused(dir: &Path, to: &str, password: Option<&str>) {
    seed(dir, "a.db");
    let first = ok(dir, &["copy", "--from", "a.db", "--to", to]);
    let before = export(dir, to);
    let again = ok(dir, &["copy", "--from", "a.db", "--to", to]);
    assert!(again.contains("already holds this ledger"), "{again}");
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(before, export(dir, to));

    // Another shop's ledger (the demo seeded at another time) is not copied over it.
    ok(dir, &["--db", "other.db", "demo", "--now", "2026-01-15"]);
    let refused = creditbot(dir, &["copy", "--from", "other.db", "--to", to]);
    assert!(!refused.status.success());
    let words = said(&refused);
    assert!(
        words.contains("already holds a different ledger; copy into an empty database"),
        "{words}"
    );
    assert_eq!(before, export(dir, to));

    if let Some(password) = password {
        for output in [&first, &again, &words] {
            assert!(!output.contains(password), "{output}");
            assert!(output.contains(":***@"), "{output}");
        }
    }
}

#[test]
fn copying_again_changes_nothing_and_another_ledger_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    again_and_refused(dir.path(), "sqlite:to.db", None);
}

#[cfg(feature = "postgres")]
#[test]
fn copying_again_changes_nothing_and_another_ledger_is_refused_on_postgresql() {
    let test = "copy::copying_again_changes_nothing_and_another_ledger_is_refused_on_postgresql";
    let Some(postgres) = crate::stores::Postgres::or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = with_password(&postgres.database());
    again_and_refused(dir.path(), &url, Some(PASSWORD));
}

/// `url` with [`PASSWORD`] after its user name.
#[cfg(feature = "postgres")]
fn with_password(url: &str) -> String {
    url.replacen('@', &format!(":{PASSWORD}@"), 1)
}

#[test]
fn a_missing_source_or_a_bad_url_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cases: [(&[&str], &str); 4] = [
        (
            &["copy", "--from", "missing.db", "--to", "new.db"],
            "no database at missing.db",
        ),
        (
            &["copy", "--from", "ftp://host/x", "--to", "new.db"],
            "--from: unknown database URL scheme \"ftp\"",
        ),
        (
            &["copy", "--from", "missing.db", "--to", "sqlite:"],
            "--to: no file after \"sqlite:\"",
        ),
        (
            &["copy", "--from", "sqlite:new.db", "--to", "new.db"],
            "--from and --to are both new.db",
        ),
    ];
    for (args, expected) in cases {
        let output = creditbot(dir, args);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            said(&output).contains(expected),
            "{args:?}: {}",
            said(&output)
        );
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "{args:?}");
    }
}

#[test]
fn a_password_in_an_unreachable_url_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), "a.db");
    // Nothing listens on port 1.
    let url = format!("postgres://shop:{PASSWORD}@127.0.0.1:1/ledger");
    for args in [
        ["copy", "--from", "a.db", "--to", url.as_str()],
        ["copy", "--from", url.as_str(), "--to", "b.db"],
    ] {
        let output = creditbot(dir.path(), &args);
        assert!(!output.status.success());
        let words = said(&output);
        assert!(!words.contains(PASSWORD), "{words}");
        assert!(words.contains("127.0.0.1:1"), "{words}");
    }
    assert!(!dir.path().join("b.db").exists());
}

/// The copy's table list names every table and column of the SQLite schema, and nothing
/// else: a migration that adds one must add it there too, or copies would drop it.
#[test]
fn the_copy_covers_every_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    drop(sqlite(&path));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    let mut listed: Vec<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
    listed.sort();
    assert_eq!(tables, listed);
    for table in TABLES {
        let mut columns: Vec<String> = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.name
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut ours: Vec<String> = table.columns.iter().map(|c| c.name.to_string()).collect();
        columns.sort();
        ours.sort();
        assert_eq!(columns, ours, "{}", table.name);
    }
}

/// The same on PostgreSQL, whose schema is written apart from SQLite's: every table but the
/// migrator's own, every column.
#[cfg(feature = "postgres")]
#[test]
fn the_copy_covers_every_postgresql_table_and_column() {
    let test = "copy::the_copy_covers_every_postgresql_table_and_column";
    let Some(postgres) = crate::stores::Postgres::or_skip(test) else {
        return;
    };
    let url = postgres.database();
    let database = url.rsplit('/').next().unwrap();
    let columns = postgres
        .cluster()
        .psql_in(
            database,
            "SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'
             ORDER BY 1",
        )
        .unwrap();
    // Sorted here: psql's ORDER BY follows the database's collation.
    let mut theirs: Vec<&str> = columns.lines().filter(|l| !l.is_empty()).collect();
    theirs.sort();
    let mut ours: Vec<String> = TABLES
        .iter()
        .flat_map(|t| t.columns.iter().map(|c| format!("{}.{}", t.name, c.name)))
        .collect();
    ours.sort();
    assert_eq!(theirs, ours);
}
