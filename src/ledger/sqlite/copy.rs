//! `store::copy::Tables` for SQLite: every row of the ledger's tables as store-neutral values
//! (times are integer seconds already; flags 0/1), and the insert of a whole ledger into an
//! empty file in one `BEGIN IMMEDIATE` transaction.

use super::SqliteStore;
use crate::error::Result;
use crate::ledger::store::Store;
use crate::ledger::store::copy::{Kind, Row, STORE_SETTINGS, TABLES, Tables, Value, not_empty};
use rusqlite::types::{ToSqlOutput, ValueRef};

impl Tables for SqliteStore {
    fn read_tables(&self) -> Result<Vec<Vec<Row>>> {
        self.read(|tx| {
            let tx = &tx.0;
            let mut tables = Vec::with_capacity(TABLES.len());
            for table in TABLES {
                let names: Vec<_> = table.columns.iter().map(|c| c.name).collect();
                let sql = format!("SELECT {} FROM {}", names.join(", "), table.name);
                let mut stmt = tx.prepare(&sql)?;
                let rows = stmt.query_map([], |r| {
                    table
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| Ok(value(c.kind, r.get_ref(i)?)))
                        .collect::<rusqlite::Result<Row>>()
                })?;
                tables.push(rows.collect::<rusqlite::Result<Vec<Row>>>()?);
            }
            Ok(tables)
        })
    }

    fn insert_into_empty(&self, rows: &[Vec<Row>]) -> Result<()> {
        self.write(|tx| {
            let tx = &tx.0;
            for table in TABLES.iter().filter(|t| t.name != STORE_SETTINGS) {
                let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
                if tx.query_row(&sql, [], |r| r.get::<_, bool>(0))? {
                    return Err(not_empty(table.name));
                }
            }
            for (table, rows) in TABLES.iter().zip(rows) {
                let names: Vec<_> = table.columns.iter().map(|c| c.name).collect();
                let marks: Vec<_> = (1..=names.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    names.join(", "),
                    marks.join(", ")
                );
                let mut stmt = tx.prepare(&sql)?;
                for row in rows {
                    stmt.execute(rusqlite::params_from_iter(row.iter().map(sql_value)))?;
                }
            }
            Ok(())
        })
    }
}

fn value(kind: Kind, raw: ValueRef<'_>) -> Value {
    match (kind, raw) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Int, ValueRef::Integer(n)) => Value::Int(n),
        (Kind::Time, ValueRef::Integer(n)) => Value::Time(n),
        (Kind::Bool, ValueRef::Integer(n)) => Value::Bool(n != 0),
        (_, ValueRef::Text(text)) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        // Nothing in the schema stores anything else; keep it visible rather than drop it, so
        // the checksums of the two sides differ and the copy says so.
        (_, other) => Value::Text(format!("{other:?}")),
    }
}

fn sql_value(value: &Value) -> ToSqlOutput<'_> {
    match value {
        Value::Null => ToSqlOutput::from(rusqlite::types::Null),
        Value::Int(n) | Value::Time(n) => ToSqlOutput::from(*n),
        Value::Bool(b) => ToSqlOutput::from(i64::from(*b)),
        Value::Text(text) => ToSqlOutput::from(text.as_str()),
    }
}
