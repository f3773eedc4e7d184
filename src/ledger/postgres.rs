//! The ledger's PostgreSQL store, for deployments where several creditbot processes share one
//! database: connections (`pool`), the schema and its migrator (`schema`), transactions and
//! their retries (here), and every SQL statement of the ledger, one concern per submodule, as
//! in `ledger::sqlite`, whose queries these mirror statement for statement. It implements
//! `ledger::store`'s traits; the `postgres` crate's types stay inside this module, and its
//! errors leave it as `crate::error::Error`.
//!
//! # Why no double spend, across any number of processes
//!
//! Every write transaction (`Store::write`) first takes one transaction-level advisory lock
//! that every writer of every process takes (`pg_advisory_xact_lock(WRITERS_LOCK)`), and runs
//! at `READ COMMITTED`. So writers run one at a time across all processes, as SQLite's
//! `BEGIN IMMEDIATE` makes them do in one file, and each statement after the lock reads a
//! fresh snapshot that holds every write committed before the lock was granted: a spend reads
//! the account's live lots, decides what to take and writes the new `remaining` of each with
//! nothing else writing meanwhile. The lock is released by the commit or the rollback, also
//! when a process dies (its connection closes). Under that sits the schema's own check,
//! `remaining >= 0`, so even a bug above could not overdraw a lot.
//!
//! Why not `SERIALIZABLE` alone, with retries: it was the first design. Under three replicas
//! writing at once PostgreSQL's predicate locks on the ledger's small, hot tables abort most
//! writers as "read/write dependencies among transactions" even when they touch different
//! accounts, and ten tries weren't enough (`cargo bench --bench scale` answered 500s). One
//! writer at a time costs parallel writes — which one PostgreSQL primary would serialise on
//! the same rows anyway — and never aborts a writer. A write that still meets 40001, 40P01 or
//! 23505 (none should, under the lock) is rolled back and tried again, up to
//! [`MAX_ATTEMPTS`] times, before it is reported.
//!
//! # Why a replay from any process returns the first result
//!
//! A keyed change first looks its idempotency key up in `operations` and, when it is new,
//! writes its result there in the same transaction (`ledger::ops::keyed`). Two processes
//! carrying out one key at once both find no row; both insert one; the primary key lets only
//! one commit. The other fails with 40001 (it read the absence its competitor's insert broke)
//! or with a unique violation, 23505, on the key. Both count as a lost race here and are
//! retried like any serialization failure. An insert of a key another transaction inserted
//! waits for that one to end, so a retry either meets the same race again (and is retried
//! again) or runs on a snapshot taken after the winner committed: it finds the key, and
//! replays the winner's stored result (or refuses a different request under that key). A
//! unique violation that is not a race would recur on every try and is reported after the
//! last one.
//!
//! A transaction that met any database error is never committed or reported as a success,
//! whatever the ledger's code made of the error: PostgreSQL has aborted it already.
//!
//! # Reads, connections, time
//!
//! Reads (`Store::read`) run in a `REPEATABLE READ READ ONLY` transaction: one consistent
//! snapshot, which PostgreSQL never aborts for serialization. Connections come from a small
//! pool (`pool`); a connection found broken is dropped and a new one opened, so the store
//! recovers when the database comes back without a restart. A transaction whose connection
//! broke part way is not retried: had it broken during `COMMIT`, it may have committed.
//!
//! Times are written as whole seconds, the precision the SQLite store keeps, so both stores
//! compare and order them alike (`whole_seconds`). Ids come from identity columns: unlike
//! SQLite's row ids, a number taken by a transaction that rolled back (a retry, a refusal) is
//! not given again, so ids can have gaps; nothing reads meaning into their being dense.

mod accounts;
// Only tests and benches call these: a release build leaves them out.
#[cfg(any(test, feature = "test-support"))]
mod audit;
mod confirmations;
mod copy;
mod journal;
mod lots;
mod operations;
mod orders;
mod pool;
mod reminders;
mod returns;
mod schema;
mod settings;
mod unanswered;

pub use schema::MIGRATIONS;

use super::store::Store;
use super::whole_seconds;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use pool::{Conn, Pool};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{IsolationLevel, Row, Statement, Transaction};
use std::collections::HashMap;
use std::time::Duration;

/// How many times a write transaction is tried before a lost race is reported as an error.
pub const MAX_ATTEMPTS: u32 = 10;

/// The advisory lock every write transaction of every process takes first (an arbitrary
/// number, the same in every creditbot: "CREDITBT" in ASCII).
const WRITERS_LOCK: i64 = 0x4352_4544_4954_4254;

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::internal("using PostgreSQL", e)
    }
}

/// How a [`PgStore`] connects.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// At most this many connections are open at once; callers beyond it wait for one.
    pub pool_size: usize,
    /// How long opening a connection, or waiting for a free one, may take.
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The ledger over one PostgreSQL database.
pub struct PgStore {
    pool: Pool,
}

/// One open PostgreSQL transaction of a [`PgStore`].
pub struct PgTx<'c> {
    tx: Transaction<'c>,
    /// The connection's prepared statements, by their SQL: one round trip per query instead
    /// of two (prepare, then run).
    statements: &'c mut HashMap<String, Statement>,
    /// The first database error of this transaction, if any: it aborted the transaction.
    failure: Option<Failure>,
}

/// What went wrong in a transaction, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// Lost a race with a concurrent transaction (40001, 40P01, 23505): worth another try.
    LostRace,
    Other,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:pass@host:port/db`) and migrates
    /// it, or says why it can't: unreachable ("can't reach PostgreSQL at host:port: …"), or
    /// migrated by a newer creditbot. No error carries the password.
    pub fn open(url: &str, options: &PgOptions) -> Result<Self> {
        let pool = Pool::new(url, options)?;
        schema::migrate(&mut pool.get()?.client)?;
        Ok(PgStore { pool })
    }

    /// `host:port` of the database, for messages (never the whole URL: it may hold a password).
    pub fn address(&self) -> &str {
        self.pool.address()
    }

    /// Runs one transaction of `f` at `isolation` on a pooled connection: committed when `f`
    /// and every statement in it succeeded, rolled back otherwise. On failure, also says
    /// whether the transaction lost a race.
    ///
    /// A pooled connection can have broken while it waited (the database restarted): its
    /// `BEGIN` fails and the connection is closed. Nothing ran then, so another connection is
    /// taken (a new one opened in the end) and the caller never sees the broken ones.
    fn run<T>(
        &self,
        isolation: IsolationLevel,
        read_only: bool,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<T>,
    ) -> Result<T, (Error, Option<Failure>)> {
        let mut broken = 0;
        loop {
            let mut conn = self.pool.get().map_err(|e| (e, None))?;
            let Conn { client, statements } = &mut *conn;
            let begun = client
                .build_transaction()
                .isolation_level(isolation)
                .read_only(read_only)
                .start();
            let tx = match begun {
                Ok(tx) => tx,
                // `BEGIN` fails only when the connection does (closed, reset, or the server's
                // goodbye read as its answer): try the next one, a bounded number of times.
                Err(_) if broken <= self.pool.size() => {
                    broken += 1;
                    continue;
                }
                Err(e) => return Err((e.into(), None)),
            };
            let mut tx = PgTx {
                tx,
                statements,
                failure: None,
            };
            // A writer waits for its turn before its first read (see the module's doc).
            let out = if read_only {
                f(&mut tx)
            } else {
                tx.exec("SELECT pg_advisory_xact_lock($1)", &[&WRITERS_LOCK])
                    .and_then(|_| f(&mut tx))
            };
            return finish(tx, out);
        }
    }
}

/// Commits `tx` when `out` and every statement of it succeeded; else rolls it back (by
/// dropping it) and answers the error, with whether the transaction lost a race.
fn finish<T>(tx: PgTx<'_>, out: Result<T>) -> Result<T, (Error, Option<Failure>)> {
    let PgTx { tx, failure, .. } = tx;
    match (out, failure) {
        (Ok(out), None) => tx.commit().map(|()| out).map_err(|e| {
            let failure = failure_of(&e);
            (e.into(), Some(failure))
        }),
        // The transaction is aborted already; dropping it rolls it back.
        (Ok(_), Some(failure)) => Err((
            Error::internal(
                "using PostgreSQL",
                "a statement failed inside a transaction that went on",
            ),
            Some(failure),
        )),
        (Err(e), failure) => Err((e, failure)),
    }
}

/// Whether a PostgreSQL error is a lost race with a concurrent transaction.
fn failure_of(e: &postgres::Error) -> Failure {
    match e.code() {
        Some(code)
            if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::UNIQUE_VIOLATION =>
        {
            Failure::LostRace
        }
        _ => Failure::Other,
    }
}

/// A pause before try `attempt + 1`: random, so racers don't collide again in step, and
/// growing, from up to 2 ms after the first loss to up to 100 ms.
fn backoff(attempt: u32) -> Duration {
    let ceiling_us = (1_000u64 << attempt.min(7)).min(100_000);
    let random = getrandom::u64().unwrap_or(u64::from(std::process::id()));
    Duration::from_micros(random % ceiling_us + 100)
}

impl Store for PgStore {
    type Tx<'t> = PgTx<'t>;

    /// Runs `f` in one `READ COMMITTED` transaction holding the writers' lock, again from the
    /// start (in a new one) when it lost a race, up to [`MAX_ATTEMPTS`] tries (see the
    /// module's doc).
    fn write<T>(&self, mut f: impl FnMut(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        let mut attempt = 1;
        loop {
            let tried = self.run(IsolationLevel::ReadCommitted, false, &mut f);
            match tried {
                Ok(out) => return Ok(out),
                Err((_, Some(Failure::LostRace))) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, "PostgreSQL transaction lost a race; trying again");
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Runs `f` in one `REPEATABLE READ READ ONLY` snapshot.
    fn read<T>(&self, f: impl FnOnce(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.run(IsolationLevel::RepeatableRead, true, f)
            .map_err(|(e, _)| e)
    }

    fn ping(&self) -> Result<()> {
        self.pool.get()?.client.simple_query("SELECT 1")?;
        Ok(())
    }
}

/// The parameters of one statement.
type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PgTx<'_> {
    /// Notes the first database error of the transaction (it decides whether `write` tries
    /// again) and turns it into the crate's error.
    fn noted<T>(&mut self, result: Result<T, postgres::Error>) -> Result<T> {
        result.map_err(|e| {
            self.failure.get_or_insert(failure_of(&e));
            e.into()
        })
    }

    /// The prepared statement for `sql`, prepared on this connection the first time.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = self.tx.prepare(sql);
        let statement = self.noted(prepared)?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// Every row `sql` answers, each read by `read`.
    fn all<T>(
        &mut self,
        sql: &str,
        params: &Params,
        read: impl Fn(&Row) -> Result<T, postgres::Error>,
    ) -> Result<Vec<T>> {
        let statement = self.statement(sql)?;
        let rows = self.tx.query(&statement, params);
        Ok(self
            .noted(rows)?
            .iter()
            .map(read)
            .collect::<Result<_, _>>()?)
    }

    /// The row `sql` answers, if any, read by `read`.
    fn opt<T>(
        &mut self,
        sql: &str,
        params: &Params,
        read: impl FnOnce(&Row) -> Result<T, postgres::Error>,
    ) -> Result<Option<T>> {
        let statement = self.statement(sql)?;
        let row = self.tx.query_opt(&statement, params);
        Ok(self.noted(row)?.as_ref().map(read).transpose()?)
    }

    /// The one row `sql` always answers (an aggregate, a `RETURNING`), read by `read`.
    fn one<T>(
        &mut self,
        sql: &str,
        params: &Params,
        read: impl FnOnce(&Row) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let statement = self.statement(sql)?;
        let row = self.tx.query_one(&statement, params);
        Ok(read(&self.noted(row)?)?)
    }

    /// Runs `sql`; answers how many rows it changed.
    fn exec(&mut self, sql: &str, params: &Params) -> Result<u64> {
        let statement = self.statement(sql)?;
        let changed = self.tx.execute(&statement, params);
        self.noted(changed)
    }
}

/// A time as stored: whole seconds, as in the SQLite store.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    whole_seconds(at)
}

// Typed ids go into and come out of SQL as the values they wrap (a `LotId` as its `bigint`,
// an `AccountId` as its text), as in `ledger::sqlite`; implemented here so that the
// `postgres` crate stays inside `ledger::postgres`.
mod id_sql {
    use crate::ledger::{AccountId, LotId, MemberId, OrderId, ReturnId};
    use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error as StdError;

    type BoxError = Box<dyn StdError + Sync + Send>;

    impl ToSql for LotId {
        fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
            self.get().to_sql(ty, out)
        }

        fn accepts(ty: &Type) -> bool {
            <i64 as ToSql>::accepts(ty)
        }

        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for LotId {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            i64::from_sql(ty, raw).map(LotId::new)
        }

        fn accepts(ty: &Type) -> bool {
            <i64 as FromSql>::accepts(ty)
        }
    }

    macro_rules! text_id_sql {
        ($($id:ident),*) => {$(
            impl ToSql for $id {
                fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
                    self.as_str().to_sql(ty, out)
                }

                fn accepts(ty: &Type) -> bool {
                    <&str as ToSql>::accepts(ty)
                }

                to_sql_checked!();
            }

            impl<'a> FromSql<'a> for $id {
                fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
                    String::from_sql(ty, raw).map($id::new)
                }

                fn accepts(ty: &Type) -> bool {
                    <String as FromSql>::accepts(ty)
                }
            }
        )*};
    }

    text_id_sql!(AccountId, MemberId, OrderId, ReturnId);
}
