//! Spin's SQLite (`fermyon:spin/sqlite@2.0.0`) behind [`Db`].

use spin_sdk::sqlite::{self, Connection};

use super::{Db, DbError, Rows, Value};

/// A connection to one of the databases the component is granted.
pub struct SpinDb {
    conn: Connection,
}

impl SpinDb {
    /// Opens the database labelled `default`.
    pub fn open_default() -> Result<SpinDb, DbError> {
        SpinDb::open("default")
    }

    /// Opens the database with this label.
    pub fn open(label: &str) -> Result<SpinDb, DbError> {
        let conn = Connection::open(label).map_err(|e| DbError::Failed(describe(&e)))?;
        Ok(SpinDb { conn })
    }
}

impl Db for SpinDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let params: Vec<sqlite::Value> = params.iter().map(to_spin).collect();
        let result = self
            .conn
            .execute(sql, &params)
            .map_err(|e| DbError::from_message(describe(&e)))?;
        let rows = result
            .rows
            .into_iter()
            .map(|row| row.values.into_iter().map(from_spin).collect())
            .collect();
        Ok(Rows {
            columns: result.columns,
            rows,
        })
    }
}

fn describe(error: &sqlite::Error) -> String {
    match error {
        sqlite::Error::Io(message) => message.clone(),
        other => format!("{other:?}"),
    }
}

fn to_spin(value: &Value) -> sqlite::Value {
    match value {
        Value::Null => sqlite::Value::Null,
        Value::Integer(i) => sqlite::Value::Integer(*i),
        Value::Real(r) => sqlite::Value::Real(*r),
        Value::Text(t) => sqlite::Value::Text(t.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
    }
}

fn from_spin(value: sqlite::Value) -> Value {
    match value {
        sqlite::Value::Null => Value::Null,
        sqlite::Value::Integer(i) => Value::Integer(i),
        sqlite::Value::Real(r) => Value::Real(r),
        sqlite::Value::Text(t) => Value::Text(t),
        sqlite::Value::Blob(b) => Value::Blob(b),
    }
}
