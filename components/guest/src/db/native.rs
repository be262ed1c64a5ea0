//! `rusqlite` behind [`Db`], for native unit tests of component logic.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};

use super::{Db, DbError, Rows, Value};

/// A native SQLite connection.
pub struct NativeDb {
    conn: Mutex<rusqlite::Connection>,
}

impl NativeDb {
    /// A private in-memory database.
    pub fn memory() -> NativeDb {
        let conn = rusqlite::Connection::open_in_memory().expect("opening an in-memory database");
        NativeDb {
            conn: Mutex::new(conn),
        }
    }

    /// A database file shared with other connections, as the host opens it (WAL, waiting
    /// up to five seconds for the write lock).
    pub fn file(path: &Path) -> Result<NativeDb, DbError> {
        let failed = |e: rusqlite::Error| DbError::Failed(e.to_string());
        let conn = rusqlite::Connection::open(path).map_err(failed)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(failed)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(failed)?;
        Ok(NativeDb {
            conn: Mutex::new(conn),
        })
    }
}

impl Db for NativeDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let error = |e: rusqlite::Error| DbError::from_message(e.to_string());
        let mut statement = conn.prepare(sql).map_err(error)?;
        let columns: Vec<String> = statement
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let params: Vec<SqlValue> = params.iter().map(to_sql).collect();
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(error)? {
            let values = (0..columns.len())
                .map(|i| row.get_ref(i).map(from_sql))
                .collect::<Result<Vec<_>, _>>()
                .map_err(error)?;
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }
}

fn to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Real(r) => SqlValue::Real(*r),
        Value::Text(t) => SqlValue::Text(t.clone()),
        Value::Blob(b) => SqlValue::Blob(b.clone()),
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}
