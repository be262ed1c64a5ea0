//! The host side of `fermyon:spin/sqlite@2.0.0` and `spin:sqlite/sqlite@3.0.0`: the
//! connections a component opens to the databases it is granted.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ErrorCode};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable, ResourceTableError};

use super::{SqliteDatabases, connect};
use crate::state::{Grants, StoreState};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "sqlite",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/sqlite.connection": super::OpenDatabase,
            "spin:sqlite/sqlite.connection": super::OpenDatabase,
        },
    });
}

use bindings::fermyon::spin2_0_0::sqlite as v2;
use bindings::spin::sqlite::sqlite as v3;

/// A guest's open connection.
pub struct OpenDatabase {
    conn: Arc<Mutex<Connection>>,
}

impl OpenDatabase {
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Rows of one statement, before conversion to either WIT version.
struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

/// Why a guest's open or statement failed.
enum Failure {
    AccessDenied,
    NoSuchDatabase,
    Full,
    TooManyConnections,
    /// ATTACH or VACUUM INTO, which would reach files other than the granted database.
    OtherFiles,
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Failure::Full,
            _ => Failure::Sql(e),
        }
    }
}

/// What the SQLite host functions see of a store.
pub struct SqliteView<'a> {
    /// The component running in the store, for logs.
    pub component: &'a str,
    pub grants: &'a Grants,
    pub databases: &'a SqliteDatabases,
    pub table: &'a mut ResourceTable,
}

impl SqliteView<'_> {
    async fn open_database(
        &mut self,
        label: &str,
    ) -> wasmtime::Result<Result<OpenDatabase, Failure>> {
        if !self.grants.sqlite_databases.iter().any(|l| l == label) {
            tracing::info!(
                component = self.component,
                database = label,
                fix = %format!(
                    "add \"{label}\" to sqlite_databases of [component.{}] in the manifest",
                    self.grants.granted_by
                ),
                "SQLite database access denied"
            );
            return Ok(Err(Failure::AccessDenied));
        }
        let Some(path) = self.databases.path(label).map(Path::to_path_buf) else {
            return Ok(Err(Failure::NoSuchDatabase));
        };
        let conn = tokio::task::spawn_blocking(move || connect(&path)).await?;
        Ok(conn
            .map(|c| OpenDatabase {
                conn: Arc::new(Mutex::new(c)),
            })
            .map_err(Failure::from))
    }

    async fn run_statement(
        &mut self,
        db: &Resource<OpenDatabase>,
        statement: String,
        parameters: Vec<SqlValue>,
    ) -> wasmtime::Result<Result<Rows, Failure>> {
        let conn = self.table.get(db)?.conn.clone();
        if reaches_other_files(&statement) {
            return Ok(Err(Failure::OtherFiles));
        }
        let task = tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            run(&conn, &statement, parameters)
        });
        Ok(task.await?.map_err(Failure::from))
    }

    fn push_connection(
        &mut self,
        db: OpenDatabase,
    ) -> wasmtime::Result<Result<Resource<OpenDatabase>, Failure>> {
        match self.table.push(db) {
            Ok(db) => Ok(Ok(db)),
            Err(ResourceTableError::Full) => Ok(Err(Failure::TooManyConnections)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether `statement` is ATTACH or VACUUM INTO, which open or write files by name.
///
/// A prepared statement is a single statement, so its first word (after comments) says
/// what it is. An authorizer callback would say so without reading SQL, but needs
/// rusqlite's `hooks` feature; this check is the stopgap until that feature is enabled.
fn reaches_other_files(statement: &str) -> bool {
    let mut words = code(statement)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty());
    match words.next() {
        Some(w) if w.eq_ignore_ascii_case("ATTACH") => true,
        Some(w) if w.eq_ignore_ascii_case("VACUUM") => {
            words.any(|w| w.eq_ignore_ascii_case("INTO"))
        }
        _ => false,
    }
}

/// `sql` without its leading whitespace and comments.
fn code(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return sql;
        }
    }
}

fn run(conn: &Connection, statement: &str, parameters: Vec<SqlValue>) -> rusqlite::Result<Rows> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let width = columns.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(parameters))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(
            (0..width)
                .map(|i| row.get::<_, SqlValue>(i))
                .collect::<Result<_, _>>()?,
        );
    }
    Ok(Rows { columns, rows: out })
}

/// Conversions between one WIT version's types and the shared ones.
macro_rules! wit_conversions {
    ($wit:ident) => {
        impl From<$wit::Value> for SqlValue {
            fn from(v: $wit::Value) -> SqlValue {
                match v {
                    $wit::Value::Integer(n) => SqlValue::Integer(n),
                    $wit::Value::Real(r) => SqlValue::Real(r),
                    $wit::Value::Text(t) => SqlValue::Text(t),
                    $wit::Value::Blob(b) => SqlValue::Blob(b),
                    $wit::Value::Null => SqlValue::Null,
                }
            }
        }

        impl From<SqlValue> for $wit::Value {
            fn from(v: SqlValue) -> $wit::Value {
                match v {
                    SqlValue::Integer(n) => $wit::Value::Integer(n),
                    SqlValue::Real(r) => $wit::Value::Real(r),
                    SqlValue::Text(t) => $wit::Value::Text(t),
                    SqlValue::Blob(b) => $wit::Value::Blob(b),
                    SqlValue::Null => $wit::Value::Null,
                }
            }
        }

        impl From<Rows> for $wit::QueryResult {
            fn from(r: Rows) -> $wit::QueryResult {
                let row = |values: Vec<SqlValue>| $wit::RowResult {
                    values: values.into_iter().map(Into::into).collect(),
                };
                $wit::QueryResult {
                    columns: r.columns,
                    rows: r.rows.into_iter().map(row).collect(),
                }
            }
        }

        impl From<Failure> for $wit::Error {
            fn from(f: Failure) -> $wit::Error {
                match f {
                    Failure::AccessDenied => $wit::Error::AccessDenied,
                    Failure::NoSuchDatabase => $wit::Error::NoSuchDatabase,
                    Failure::Full => $wit::Error::DatabaseFull,
                    Failure::OtherFiles => $wit::Error::Io(
                        "ATTACH and VACUUM INTO are not allowed: a component uses only the \
                         databases it is granted"
                            .into(),
                    ),
                    Failure::TooManyConnections => $wit::Error::Io(
                        "too many open connections; drop one before opening another".into(),
                    ),
                    Failure::Sql(e) => $wit::Error::Io(e.to_string()),
                }
            }
        }
    };
}

wit_conversions!(v2);
wit_conversions!(v3);

type Answer<T, E> = wasmtime::Result<Result<T, E>>;

fn params<V: Into<SqlValue>>(parameters: Vec<V>) -> Vec<SqlValue> {
    parameters.into_iter().map(Into::into).collect()
}

impl v2::Host for SqliteView<'_> {}

impl v2::HostConnection for SqliteView<'_> {
    async fn open(&mut self, database: String) -> Answer<Resource<OpenDatabase>, v2::Error> {
        let db = match self.open_database(&database).await? {
            Ok(db) => db,
            Err(f) => return Ok(Err(f.into())),
        };
        Ok(self.push_connection(db)?.map_err(Into::into))
    }

    async fn execute(
        &mut self,
        db: Resource<OpenDatabase>,
        statement: String,
        parameters: Vec<v2::Value>,
    ) -> Answer<v2::QueryResult, v2::Error> {
        let rows = self
            .run_statement(&db, statement, params(parameters))
            .await?;
        Ok(rows.map(Into::into).map_err(Into::into))
    }

    async fn drop(&mut self, db: Resource<OpenDatabase>) -> wasmtime::Result<()> {
        self.table.delete(db)?;
        Ok(())
    }
}

impl v3::Host for SqliteView<'_> {}

impl v3::HostConnection for SqliteView<'_> {
    async fn open(&mut self, database: String) -> Answer<Resource<OpenDatabase>, v3::Error> {
        let db = match self.open_database(&database).await? {
            Ok(db) => db,
            Err(f) => return Ok(Err(f.into())),
        };
        Ok(self.push_connection(db)?.map_err(Into::into))
    }

    async fn execute(
        &mut self,
        db: Resource<OpenDatabase>,
        statement: String,
        parameters: Vec<v3::Value>,
    ) -> Answer<v3::QueryResult, v3::Error> {
        let rows = self
            .run_statement(&db, statement, params(parameters))
            .await?;
        Ok(rows.map(Into::into).map_err(Into::into))
    }

    async fn last_insert_rowid(&mut self, db: Resource<OpenDatabase>) -> wasmtime::Result<i64> {
        Ok(self.table.get(&db)?.lock().last_insert_rowid())
    }

    async fn changes(&mut self, db: Resource<OpenDatabase>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&db)?.lock().changes())
    }

    async fn drop(&mut self, db: Resource<OpenDatabase>) -> wasmtime::Result<()> {
        self.table.delete(db)?;
        Ok(())
    }
}

struct HasSqlite;

impl HasData for HasSqlite {
    type Data<'a> = SqliteView<'a>;
}

fn view(s: &mut StoreState) -> SqliteView<'_> {
    SqliteView {
        component: &s.identity.component,
        grants: &s.identity.grants,
        databases: &s.services.sqlite,
        table: &mut s.table,
    }
}

/// Adds `fermyon:spin/sqlite@2.0.0` and `spin:sqlite/sqlite@3.0.0` to `linker`.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> anyhow::Result<()> {
    v2::add_to_linker::<StoreState, HasSqlite>(linker, view)?;
    v3::add_to_linker::<StoreState, HasSqlite>(linker, view)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use v3::HostConnection as _;

    use super::*;
    use crate::capability::sqlite::DEFAULT_FILE;
    use crate::capability::sqlite::testing::manifest;
    use crate::runtime_config::RuntimeConfig;

    fn grants(labels: &[&str]) -> Grants {
        Grants {
            granted_by: "queue".into(),
            sqlite_databases: labels.iter().map(|l| l.to_string()).collect(),
            ..Grants::default()
        }
    }

    fn databases(dir: &tempfile::TempDir) -> SqliteDatabases {
        SqliteDatabases::open(
            &manifest("\"default\""),
            &RuntimeConfig::default(),
            dir.path(),
        )
        .expect("the default database opens")
    }

    /// A second handle to the same table entry, since host calls take the handle by value.
    fn again(db: &Resource<OpenDatabase>) -> Resource<OpenDatabase> {
        Resource::new_borrow(db.rep())
    }

    async fn exec(
        view: &mut SqliteView<'_>,
        db: &Resource<OpenDatabase>,
        sql: &str,
        params: Vec<v3::Value>,
    ) -> Result<v3::QueryResult, v3::Error> {
        view.execute(again(db), sql.into(), params)
            .await
            .expect("no trap")
    }

    #[tokio::test]
    async fn values_round_trip_and_the_connection_reports_its_own_changes() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dbs = databases(&dir);
        let grants = grants(&["default"]);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
            component: "queue",
            grants: &grants,
            databases: &dbs,
            table: &mut table,
        };
        let db = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");

        exec(
            &mut view,
            &db,
            "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)",
            vec![],
        )
        .await
        .expect("create works");
        let row = vec![
            v3::Value::Integer(-7),
            v3::Value::Real(1.5),
            v3::Value::Text("é".into()),
            v3::Value::Blob(vec![0, 255]),
            v3::Value::Null,
        ];
        exec(
            &mut view,
            &db,
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            row.clone(),
        )
        .await
        .expect("insert");
        assert_eq!(
            view.last_insert_rowid(again(&db)).await.expect("no trap"),
            1
        );
        exec(&mut view, &db, "INSERT INTO t (i) VALUES (2), (3)", vec![])
            .await
            .expect("insert");
        assert_eq!(view.changes(again(&db)).await.expect("no trap"), 2);
        let result = exec(
            &mut view,
            &db,
            "SELECT * FROM t WHERE i < ?",
            vec![v3::Value::Integer(0)],
        )
        .await
        .expect("select works");

        assert_eq!(result.columns, ["i", "r", "s", "b", "n"]);
        assert_eq!(result.rows.len(), 1);
        assert_eq!(format!("{:?}", result.rows[0].values), format!("{row:?}"));
        view.drop(db).await.expect("the connection is in the table");
    }

    #[tokio::test]
    async fn sql_errors_reach_the_guest_as_io_errors() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dbs = databases(&dir);
        let grants = grants(&["default"]);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
            component: "queue",
            grants: &grants,
            databases: &dbs,
            table: &mut table,
        };
        let db = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");

        let err = exec(&mut view, &db, "SELECT * FROM missing", vec![])
            .await
            .expect_err("no table");

        assert!(
            matches!(&err, v3::Error::Io(m) if m.contains("no such table: missing")),
            "{err:?}"
        );
    }

    #[test]
    fn statements_that_reach_other_files_are_recognised() {
        assert!(reaches_other_files("ATTACH DATABASE '/etc/x.db' AS x"));
        assert!(reaches_other_files(
            "  -- note\n /* c */ attach 'a.db' as a"
        ));
        assert!(reaches_other_files("VACUUM main INTO '/tmp/copy.db'"));
        assert!(!reaches_other_files("VACUUM"));
        assert!(!reaches_other_files("SELECT 'ATTACH' AS word"));
        assert!(!reaches_other_files("INSERT INTO attach_log VALUES (1)"));
    }

    #[tokio::test]
    async fn attach_is_refused() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dbs = databases(&dir);
        let grants = grants(&["default"]);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
            component: "queue",
            grants: &grants,
            databases: &dbs,
            table: &mut table,
        };
        let db = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");
        let outside = dir.path().join("outside.db");

        let sql = format!("ATTACH DATABASE '{}' AS x", outside.display());
        let err = exec(&mut view, &db, &sql, vec![])
            .await
            .expect_err("refused");

        assert!(matches!(&err, v3::Error::Io(m) if m.starts_with("ATTACH and VACUUM INTO")));
        assert!(!outside.exists());
    }

    #[tokio::test]
    async fn only_granted_and_defined_databases_open() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dbs = databases(&dir);
        let grants = grants(&["default", "ghost"]);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
            component: "queue",
            grants: &grants,
            databases: &dbs,
            table: &mut table,
        };

        let denied = v2::HostConnection::open(&mut view, "secret".into())
            .await
            .expect("no trap");
        let unknown = v2::HostConnection::open(&mut view, "ghost".into())
            .await
            .expect("no trap");

        assert!(matches!(denied, Err(v2::Error::AccessDenied)));
        assert!(matches!(unknown, Err(v2::Error::NoSuchDatabase)));
    }

    #[tokio::test]
    async fn rows_survive_reopening_the_databases() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let grants = grants(&["default"]);
        {
            let dbs = databases(&dir);
            let mut table = ResourceTable::new();
            let mut view = SqliteView {
                component: "queue",
                grants: &grants,
                databases: &dbs,
                table: &mut table,
            };
            let db = view
                .open("default".into())
                .await
                .expect("no trap")
                .expect("granted");
            exec(&mut view, &db, "CREATE TABLE kept (v TEXT)", vec![])
                .await
                .expect("create");
            exec(&mut view, &db, "INSERT INTO kept VALUES ('yes')", vec![])
                .await
                .expect("insert");
        }

        let dbs = databases(&dir);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
            component: "queue",
            grants: &grants,
            databases: &dbs,
            table: &mut table,
        };
        let db = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");
        let result = exec(&mut view, &db, "SELECT v FROM kept", vec![])
            .await
            .expect("select");

        assert!(matches!(result.rows[0].values.as_slice(), [v3::Value::Text(v)] if v == "yes"));
        assert_eq!(
            dbs.path("default"),
            Some(dir.path().join(DEFAULT_FILE).as_path())
        );
    }
}
