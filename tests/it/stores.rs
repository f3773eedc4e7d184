//! The ledger's stores for tests: one test body, generic over the store, runs on SQLite and on
//! PostgreSQL. A body takes a [`Stores`] (it makes fresh ledgers of one store) and
//! `over_both_stores!(body, …)` turns each into two tests, `body::sqlite` and
//! `body::postgres`. PostgreSQL's ledgers are fresh databases of one cluster shared by the
//! whole run (`pg::shared_cluster_or_skip`), each a copy of a migrated template; without
//! PostgreSQL the `postgres` half says it was skipped, and fails under `CI=true`.

use crate::common::TestLedger;
use creditbot::ledger::store::{Audit, Store};
use creditbot::ledger::{AnyStore, LedgerSettings};

/// Makes fresh, empty ledgers over one kind of store.
pub trait Stores {
    type S: Store + Audit + 'static;
    fn ledger_with(&self, settings: LedgerSettings) -> TestLedger<Self::S>;

    fn ledger(&self) -> TestLedger<Self::S> {
        self.ledger_with(LedgerSettings::default())
    }

    /// How many cases a property test of `full` cases runs on this store.
    fn cases(&self, full: u32) -> u32 {
        full
    }
}

/// Ledgers on fresh SQLite files.
pub struct Sqlite;

impl Stores for Sqlite {
    type S = AnyStore;
    fn ledger_with(&self, settings: LedgerSettings) -> TestLedger {
        crate::common::ledger_with(settings)
    }
}

#[cfg(feature = "postgres")]
pub use self::postgres::Postgres;

#[cfg(feature = "postgres")]
mod postgres {
    use super::Stores;
    use crate::common::TestLedger;
    use crate::pg::{PgCluster, shared_cluster_or_skip};
    use creditbot::ledger::{AnyStore, Ledger, LedgerSettings, PgOptions, PgStore};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, OnceLock};

    /// The migrated database every test database is copied from.
    const TEMPLATE: &str = "ledger_template";

    /// Ledgers on fresh databases of the shared cluster.
    pub struct Postgres {
        cluster: &'static PgCluster,
        /// A connection to the `postgres` database that creates the others.
        admin: &'static Mutex<postgres::Client>,
    }

    impl Postgres {
        /// The shared cluster for `test`, or `None` after saying why the test is skipped.
        pub fn or_skip(test: &str) -> Option<Postgres> {
            let cluster = shared_cluster_or_skip(test)?;
            static ADMIN: OnceLock<Mutex<postgres::Client>> = OnceLock::new();
            let admin = ADMIN.get_or_init(|| {
                let mut admin =
                    postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls)
                        .expect("connecting to the tests' cluster");
                admin
                    .batch_execute(&format!("CREATE DATABASE {TEMPLATE}"))
                    .expect("creating the template database");
                // Migrated once here; the store's connections close with it, as a template
                // can only be copied while nobody is connected to it.
                drop(PgStore::open(&cluster.url(TEMPLATE), &PgOptions::default()).unwrap());
                Mutex::new(admin)
            });
            Some(Postgres { cluster, admin })
        }

        /// The URL of a new, migrated, empty database.
        pub fn database(&self) -> String {
            self.create(&format!("TEMPLATE {TEMPLATE}"))
        }

        /// The URL of a new database without even the ledger's tables.
        pub fn bare_database(&self) -> String {
            self.create("")
        }

        fn create(&self, options: &str) -> String {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let name = format!("ledger_{}", NEXT.fetch_add(1, Ordering::Relaxed));
            self.admin
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .batch_execute(&format!("CREATE DATABASE {name} {options}"))
                .expect("creating a test database");
            self.cluster.url(&name)
        }

        pub fn cluster(&self) -> &PgCluster {
            self.cluster
        }
    }

    impl Stores for Postgres {
        type S = AnyStore;

        /// All of them under `CI=true`; a tenth on a developer's `cargo test`, where each case
        /// (a database and a few hundred transactions over loopback) costs more than on SQLite.
        fn cases(&self, full: u32) -> u32 {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                full
            } else {
                (full / 10).max(1)
            }
        }

        fn ledger_with(&self, settings: LedgerSettings) -> TestLedger {
            let ledger =
                Ledger::open_postgres(&self.database(), &PgOptions::default(), settings).unwrap();
            TestLedger {
                ledger,
                dir: tempfile::tempdir().unwrap(),
            }
        }
    }
}

/// `over_both_stores!(body, …)`: for each generic test body `fn body(stores: &impl Stores)`,
/// a module `body` with the tests `sqlite` and `postgres`.
macro_rules! over_both_stores {
    ($($body:ident),+ $(,)?) => {
        $(
            mod $body {
                #[test]
                fn sqlite() {
                    super::$body(&crate::stores::Sqlite);
                }

                #[cfg(feature = "postgres")]
                #[test]
                fn postgres() {
                    let test = concat!(module_path!(), "::postgres");
                    if let Some(stores) = crate::stores::Postgres::or_skip(test) {
                        super::$body(&stores);
                    }
                }
            }
        )+
    };
}
pub(crate) use over_both_stores;
