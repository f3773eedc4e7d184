//! SQL for the store's own settings: the currency its amounts are kept in (as SQLite's
//! `db::keep_currency` keeps it in `store_settings`).

use super::PgStore;
use crate::db::{CurrencyError, StoreCurrency, same_currency};
use crate::ledger::store::Store;

impl PgStore {
    /// Checks that the database keeps its amounts in `wanted`, recording `wanted` first if it
    /// keeps none yet (a new database); refuses another currency, naming both, and writes
    /// nothing then. `config` names where `wanted` came from ("bot.toml").
    pub fn keep_currency(&self, wanted: &StoreCurrency, config: &str) -> Result<(), CurrencyError> {
        let kept = self
            .write(|tx| {
                // One statement: processes opening a new database at once record one currency.
                tx.exec(
                    "INSERT INTO store_settings (id, currency, decimals) VALUES (1, $1, $2)
                     ON CONFLICT (id) DO NOTHING",
                    &[&wanted.code, &i64::from(wanted.decimals)],
                )?;
                tx.one(
                    "SELECT currency, decimals FROM store_settings WHERE id = 1",
                    &[],
                    |r| {
                        Ok(StoreCurrency {
                            code: r.try_get(0)?,
                            decimals: r.try_get::<_, i64>(1)? as u32,
                        })
                    },
                )
            })
            .map_err(CurrencyError::Store)?;
        same_currency(kept, wanted, config)
    }
}
