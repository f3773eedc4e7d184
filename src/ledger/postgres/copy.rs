//! `store::copy::Tables` for PostgreSQL: every row of the ledger's tables as store-neutral
//! values (timestamptz as whole seconds, booleans), and the insert of a whole ledger into an
//! empty database in one write transaction, after which each identity continues past the
//! largest copied id (explicit ids don't move a sequence). The journal's append-only trigger
//! refuses UPDATE and DELETE only, so the inserts pass it.

use super::PgStore;
use crate::error::Result;
use crate::ledger::store::Store;
use crate::ledger::store::copy::{Kind, Row, STORE_SETTINGS, TABLES, Tables, Value, not_empty};
use chrono::{DateTime, TimeZone, Utc};
use postgres::types::ToSql;

impl Tables for PgStore {
    fn read_tables(&self) -> Result<Vec<Vec<Row>>> {
        self.read(|tx| {
            let mut tables = Vec::with_capacity(TABLES.len());
            for table in TABLES {
                let names: Vec<_> = table.columns.iter().map(|c| c.name).collect();
                let sql = format!("SELECT {} FROM {}", names.join(", "), table.name);
                tables.push(tx.all(&sql, &[], |r| {
                    table
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| value(c.kind, r, i))
                        .collect()
                })?);
            }
            Ok(tables)
        })
    }

    fn insert_into_empty(&self, rows: &[Vec<Row>]) -> Result<()> {
        self.write(|tx| {
            for table in TABLES.iter().filter(|t| t.name != STORE_SETTINGS) {
                let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
                if tx.one(&sql, &[], |r| r.try_get::<_, bool>(0))? {
                    return Err(not_empty(table.name));
                }
            }
            for (table, rows) in TABLES.iter().zip(rows) {
                let names: Vec<_> = table.columns.iter().map(|c| c.name).collect();
                let marks: Vec<_> = (1..=names.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    names.join(", "),
                    marks.join(", ")
                );
                for row in rows {
                    let params: Vec<Box<dyn ToSql + Sync>> = table
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| param(c.kind, v))
                        .collect();
                    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
                    tx.exec(&sql, &refs)?;
                }
                if table.generated_id && !rows.is_empty() {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), (SELECT max(id) FROM {0}))",
                        table.name
                    );
                    tx.one(&sql, &[], |r| r.try_get::<_, i64>(0))?;
                }
            }
            Ok(())
        })
    }
}

fn value(kind: Kind, row: &postgres::Row, i: usize) -> Result<Value, postgres::Error> {
    Ok(match kind {
        Kind::Int => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Kind::Text => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        Kind::Time => row
            .try_get::<_, Option<DateTime<Utc>>>(i)?
            .map(|at| Value::Time(at.timestamp())),
        Kind::Bool => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
    }
    .unwrap_or(Value::Null))
}

/// `value` bound as its column's type, NULL typed too (PostgreSQL checks a parameter's type
/// against the column's even when it is NULL).
fn param(kind: Kind, value: &Value) -> Box<dyn ToSql + Sync> {
    let int = |v: &Value| match v {
        Value::Int(n) | Value::Time(n) => Some(*n),
        _ => None,
    };
    match kind {
        Kind::Int => Box::new(int(value)),
        Kind::Time => Box::new(int(value).and_then(|s| Utc.timestamp_opt(s, 0).single())),
        Kind::Bool => Box::new(match value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }),
        Kind::Text => Box::new(match value {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        }),
    }
}
