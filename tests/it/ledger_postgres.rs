//! What only the PostgreSQL store has to prove (the ledger's rules are proved on both stores
//! by `ledger`, `ledger_model` and `ledger_concurrency`): processes opening one database
//! together all come up and migrate it once; a database migrated by a newer creditbot is
//! refused untouched; the store comes back by itself after the database restarts, and says
//! where it can't reach without ever showing the password; a database keeps the currency
//! it was created with.

use crate::common::*;
use crate::pg::cluster_or_skip;
use crate::stores::Postgres;
use creditbot::db::StoreCurrency;
use creditbot::ledger::postgres::MIGRATIONS;
use creditbot::ledger::{Expiry, Ledger, LedgerSettings, PgOptions, PgStore};
use std::sync::{Arc, Barrier};
use std::thread;

/// The last part of a URL: its database.
fn database_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[test]
fn stores_opening_a_new_database_together_all_come_up_and_migrate_it_once() {
    let test = "stores_opening_a_new_database_together_all_come_up_and_migrate_it_once";
    let Some(pg) = Postgres::or_skip(test) else {
        return;
    };
    let url = Arc::new(pg.bare_database());
    let barrier = Arc::new(Barrier::new(6));
    let opened: Vec<_> = (0..6)
        .map(|_| {
            let (url, barrier) = (Arc::clone(&url), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                PgStore::open(&url, &PgOptions::default()).map(drop)
            })
        })
        .collect();
    for store in opened {
        store.join().unwrap().unwrap();
    }
    let versions = pg
        .cluster()
        .psql_in(
            database_of(&url),
            "SELECT string_agg(version::text, ',') FROM schema_migrations",
        )
        .unwrap();
    let expected: Vec<String> = (1..=MIGRATIONS.len()).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected.join(","));
}

#[test]
fn a_database_migrated_by_a_newer_creditbot_is_refused_untouched() {
    let Some(pg) =
        Postgres::or_skip("a_database_migrated_by_a_newer_creditbot_is_refused_untouched")
    else {
        return;
    };
    let url = pg.database();
    let database = database_of(&url);
    let newer = MIGRATIONS.len() + 1;
    let sql = format!("INSERT INTO schema_migrations (version, name) VALUES ({newer}, 'future')");
    pg.cluster().psql_in(database, &sql).unwrap();
    let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
    let before = pg.cluster().psql_in(database, tables).unwrap();
    let refused = PgStore::open(&url, &PgOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("newer than this creditbot knows"),
        "{refused}"
    );
    assert_eq!(pg.cluster().psql_in(database, tables).unwrap(), before);
    // Opening a database at this binary's version again migrates nothing.
    let current = pg.database();
    drop(PgStore::open(&current, &PgOptions::default()).unwrap());
    let count = "SELECT count(*) FROM schema_migrations";
    assert_eq!(
        pg.cluster().psql_in(database_of(&current), count).unwrap(),
        MIGRATIONS.len().to_string()
    );
}

/// A cluster of its own: stopping the shared one would fail every test running beside this.
#[test]
fn the_store_comes_back_after_the_database_restarts_and_never_shows_the_password() {
    let test = "the_store_comes_back_after_the_database_restarts_and_never_shows_the_password";
    let Some(cluster) = cluster_or_skip(test) else {
        return;
    };
    cluster.psql("CREATE DATABASE shop").unwrap();
    // The cluster trusts loopback, so the password is never checked: only whether it leaks.
    let url = cluster
        .url("shop")
        .replace("creditbot@", "creditbot:s3cret-pw@");
    let options = PgOptions {
        pool_size: 3,
        ..PgOptions::default()
    };
    let l = Ledger::open_postgres(&url, &options, LedgerSettings::default()).unwrap();
    open(&l, "A");
    l.grant(&admin("g1"), &grant_request("A", 10_00, Expiry::Never))
        .unwrap();

    // Down: every call says where it can't reach, and nothing shows the password.
    cluster.stop().unwrap();
    let down = l.balance(&AccountId::new("A"), now()).unwrap_err();
    let shown = format!("{down} {down:?}");
    let address = format!("127.0.0.1:{}", cluster.port());
    assert!(shown.contains(&address), "{shown}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    let unreachable = Ledger::open_postgres(&url, &options, LedgerSettings::default())
        .err()
        .unwrap();
    let shown = format!("{unreachable} {unreachable:?}");
    assert!(
        shown.contains(&format!("can't reach PostgreSQL at {address}")),
        "{shown}"
    );
    assert!(!shown.contains("s3cret-pw"), "{shown}");

    // Up again: the same store answers and writes, without being opened again.
    cluster.start_again().unwrap();
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(10_00)
    );
    l.grant(&admin("g2"), &grant_request("A", 5_00, Expiry::Never))
        .unwrap();
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(15_00)
    );

    // A restart while connections wait in the pool: they are found broken and replaced.
    cluster.stop().unwrap();
    cluster.start_again().unwrap();
    assert_eq!(
        l.balance(&AccountId::new("A"), now()).unwrap().available,
        usd(15_00)
    );
    l.ping().unwrap();
}

#[test]
fn a_postgres_database_keeps_the_currency_it_was_created_with_and_refuses_another() {
    let test = "a_postgres_database_keeps_the_currency_it_was_created_with_and_refuses_another";
    let Some(pg) = Postgres::or_skip(test) else {
        return;
    };
    let store = PgStore::open(&pg.database(), &PgOptions::default()).unwrap();
    let currency = |code: &str, decimals| StoreCurrency {
        code: code.into(),
        decimals,
    };
    store
        .keep_currency(&currency("USD", 2), "bot.toml")
        .unwrap();
    store
        .keep_currency(&currency("usd", 2), "bot.toml")
        .unwrap();
    let refused = store
        .keep_currency(&currency("JPY", 0), "bot.toml")
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with(
            "this database keeps USD with 2 decimals; bot.toml says JPY with 0 decimals."
        ),
        "{refused}"
    );
}
