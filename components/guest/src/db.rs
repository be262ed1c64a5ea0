//! SQL storage behind one small trait: Spin's SQLite inside a component, `rusqlite` in
//! native tests. Statements are SQLite's dialect in both.

use std::fmt;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

#[cfg(not(target_arch = "wasm32"))]
pub use native::NativeDb;
#[cfg(target_arch = "wasm32")]
pub use spin::SpinDb;

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Why a statement failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DbError {
    /// A UNIQUE, CHECK or foreign-key constraint refused the change.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// The database could not be opened or the statement could not run.
    #[error("database error: {0}")]
    Failed(String),
    /// A row has no column of that name (a bug in the query).
    #[error("no column `{0}` in the result")]
    NoColumn(String),
    /// A column holds a value of another type than the code expects.
    #[error("column `{column}` holds {found}, expected {expected}")]
    Type {
        column: String,
        expected: &'static str,
        found: String,
    },
}

impl DbError {
    /// Classifies a driver's error message: constraint failures are the caller's to handle.
    pub fn from_message(message: String) -> DbError {
        if message.contains("constraint failed") {
            DbError::Constraint(message)
        } else {
            DbError::Failed(message)
        }
    }
}

/// A database connection.
pub trait Db {
    /// Runs one statement with `?` parameters and returns its rows (none for most writes;
    /// use `RETURNING` to read what a write changed).
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError>;
}

/// Runs `body` inside `BEGIN IMMEDIATE` ... `COMMIT`, rolling back when it fails, so that
/// concurrent writers queue on the write lock instead of interleaving.
pub fn transaction<T, E>(db: &dyn Db, body: impl FnOnce() -> Result<T, E>) -> Result<T, E>
where
    E: From<DbError>,
{
    db.execute("BEGIN IMMEDIATE", &[])?;
    match body() {
        Ok(value) => {
            db.execute("COMMIT", &[])?;
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback.
            let _ = db.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}

/// Applies `steps` that `service` has not applied yet, recording each in `pm_schema`.
/// Step `n` of the list is schema version `n + 1`; never edit a step once released, append.
pub fn migrate(db: &dyn Db, service: &str, steps: &[&str]) -> Result<(), DbError> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS pm_schema (service TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        &[],
    )?;
    let current: i64 = db
        .execute(
            "SELECT version FROM pm_schema WHERE service = ?",
            &[service.into()],
        )?
        .first()
        .map(|row| row.get("version"))
        .transpose()?
        .unwrap_or(0);
    if current >= steps.len() as i64 {
        return Ok(());
    }
    transaction(db, || {
        // Another instance may have migrated while this one waited for the lock.
        let current: i64 = db
            .execute(
                "SELECT version FROM pm_schema WHERE service = ?",
                &[service.into()],
            )?
            .first()
            .map(|row| row.get("version"))
            .transpose()?
            .unwrap_or(0);
        for step in &steps[current as usize..] {
            db.execute(step, &[])?;
        }
        db.execute(
            "INSERT INTO pm_schema (service, version) VALUES (?, ?) \
             ON CONFLICT (service) DO UPDATE SET version = excluded.version",
            &[service.into(), (steps.len() as i64).into()],
        )?;
        Ok(())
    })
}

/// The result of a statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One row, read by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl Row<'_> {
    /// The value of `column`, converted to `T`.
    pub fn get<T: FromValue>(&self, column: &str) -> Result<T, DbError> {
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| DbError::NoColumn(column.to_string()))?;
        T::from_value(&self.values[index]).map_err(|expected| DbError::Type {
            column: column.to_string(),
            expected,
            found: self.values[index].kind().to_string(),
        })
    }
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r}"),
            Value::Text(t) => write!(f, "{t:?}"),
            Value::Blob(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

/// A Rust type a column converts to; the error is the expected type's name.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, &'static str>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Integer(i) => Ok(*i),
            _ => Err("an integer"),
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Integer(i) if *i >= 0 => Ok(*i as u64),
            _ => Err("a non-negative integer"),
        }
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Integer(i) => u32::try_from(*i).map_err(|_| "an integer in u32 range"),
            _ => Err("an integer in u32 range"),
        }
    }
}

impl FromValue for u8 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Integer(i) => u8::try_from(*i).map_err(|_| "an integer in u8 range"),
            _ => Err("an integer in u8 range"),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Integer(i) => Ok(*i != 0),
            _ => Err("a boolean (integer)"),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Real(r) => Ok(*r),
            Value::Integer(i) => Ok(*i as f64),
            _ => Err("a number"),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Text(t) => Ok(t.clone()),
            _ => Err("text"),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err("a blob"),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

impl From<u64> for Value {
    /// Values past `i64::MAX` do not occur in this project (times, counts, sizes).
    fn from(v: u64) -> Self {
        Value::Integer(v.min(i64::MAX as u64) as i64)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Integer(v.into())
    }
}

impl From<u8> for Value {
    fn from(v: u8) -> Self {
        Value::Integer(v.into())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(v.into())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn rows_read_by_column_name_with_types_checked() {
        let db = NativeDb::memory();
        db.execute(
            "CREATE TABLE t (id TEXT, n INTEGER, r REAL, b BLOB, o TEXT)",
            &[],
        )
        .expect("create");
        db.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            &[
                "a".into(),
                7u32.into(),
                0.5.into(),
                vec![1u8, 2].into(),
                Value::Null,
            ],
        )
        .expect("insert");
        let rows = db.execute("SELECT * FROM t", &[]).expect("select");
        let row = rows.first().expect("one row");
        assert_eq!(row.get::<String>("id"), Ok("a".to_string()));
        assert_eq!(row.get::<u32>("n"), Ok(7));
        assert_eq!(row.get::<f64>("r"), Ok(0.5));
        assert_eq!(row.get::<Vec<u8>>("b"), Ok(vec![1, 2]));
        assert_eq!(row.get::<Option<String>>("o"), Ok(None));
        assert_eq!(
            row.get::<String>("n"),
            Err(DbError::Type {
                column: "n".into(),
                expected: "text",
                found: "an integer".into()
            })
        );
        assert_eq!(row.get::<String>("x"), Err(DbError::NoColumn("x".into())));
    }

    #[test]
    fn unique_violations_are_constraint_errors() {
        let db = NativeDb::memory();
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY)", &[])
            .expect("create");
        db.execute("INSERT INTO t VALUES ('a')", &[])
            .expect("first");
        let err = db
            .execute("INSERT INTO t VALUES ('a')", &[])
            .expect_err("duplicate key");
        assert!(
            matches!(err, DbError::Constraint(ref m) if m.contains("UNIQUE")),
            "{err}"
        );
    }

    #[test]
    fn failed_transaction_rolls_back() {
        let db = NativeDb::memory();
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY)", &[])
            .expect("create");
        let result: Result<(), DbError> = transaction(&db, || {
            db.execute("INSERT INTO t VALUES ('a')", &[])?;
            db.execute("INSERT INTO t VALUES ('a')", &[])?;
            Ok(())
        });
        assert!(matches!(result, Err(DbError::Constraint(_))));
        let rows = db.execute("SELECT id FROM t", &[]).expect("select");
        assert_eq!(rows.len(), 0);
    }

    #[test]
    fn migrations_apply_once_and_append() {
        let db = NativeDb::memory();
        let v1 = ["CREATE TABLE a (x INTEGER)"];
        migrate(&db, "svc", &v1).expect("first run");
        migrate(&db, "svc", &v1).expect("second run changes nothing");
        let v2 = [
            "CREATE TABLE a (x INTEGER)",
            "ALTER TABLE a ADD COLUMN y TEXT",
        ];
        migrate(&db, "svc", &v2).expect("appended step");
        db.execute("INSERT INTO a (x, y) VALUES (1, 'z')", &[])
            .expect("new column exists");
        let version: i64 = db
            .execute("SELECT version FROM pm_schema WHERE service = 'svc'", &[])
            .expect("select")
            .first()
            .expect("row")
            .get("version")
            .expect("integer");
        assert_eq!(version, 2);
    }
}
