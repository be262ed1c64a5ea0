//! SQLite databases: `fermyon:spin/sqlite@2.0.0` and `spin:sqlite/sqlite@3.0.0`, both
//! served over the same files.
//!
//! `default` is `<data dir>/sqlite_db.db`; the runtime config may place any label in
//! another file (`[sqlite_database.<label>] type = "spin" path = "..."`). Each guest
//! connection is its own SQLite connection, so that `last-insert-rowid` and `changes` are
//! the guest's own, and so that readers and a writer proceed together (files are switched
//! to WAL mode at start). Statements run on tokio's blocking threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ErrorCode};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable, ResourceTableError};

use crate::manifest::Manifest;
use crate::runtime_config::{RuntimeConfig, SqliteDatabaseConfig};
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

/// The default database's file, in the data directory.
pub const DEFAULT_FILE: &str = "sqlite_db.db";
/// How long a statement waits for another connection's write lock: 5 s.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the databases could not be opened at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "component `{component}` uses SQLite database `{label}`, which {config} does not \
         define; add [sqlite_database.{label}] with type = \"spin\" to it"
    )]
    UndefinedDatabase {
        component: String,
        label: String,
        config: String,
    },
    #[error("cannot create the folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SQLite database `{label}`: cannot open {path}: {source}")]
    File {
        label: String,
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// Every database of the application: label to file.
pub struct SqliteDatabases {
    files: HashMap<String, PathBuf>,
}

impl SqliteDatabases {
    /// Checks that every label the manifest uses is defined, then creates or opens every file.
    pub fn open(
        manifest: &Manifest,
        runtime_config: &RuntimeConfig,
        data_dir: &Path,
    ) -> anyhow::Result<SqliteDatabases> {
        check_labels(manifest, runtime_config)?;
        let mut files = HashMap::new();
        files.insert("default".to_string(), data_dir.join(DEFAULT_FILE));
        for (label, SqliteDatabaseConfig::Spin { path }) in &runtime_config.sqlite_databases {
            let file = match (path, label.as_str()) {
                (Some(path), _) => path.clone(),
                (None, "default") => data_dir.join(DEFAULT_FILE),
                (None, _) => data_dir.join(format!("sqlite_{label}.db")),
            };
            files.insert(label.clone(), file);
        }
        for (label, path) in &files {
            prepare_file(label, path)?;
        }
        Ok(SqliteDatabases { files })
    }

    /// The file of the database named `label`, if any.
    pub fn path(&self, label: &str) -> Option<&Path> {
        self.files.get(label).map(PathBuf::as_path)
    }
}

fn check_labels(manifest: &Manifest, runtime_config: &RuntimeConfig) -> Result<(), OpenError> {
    for component in manifest.components.values() {
        for label in &component.sqlite_databases {
            if label != "default" && !runtime_config.sqlite_databases.contains_key(label) {
                return Err(OpenError::UndefinedDatabase {
                    component: component.id.clone(),
                    label: label.clone(),
                    config: runtime_config.describe(),
                });
            }
        }
    }
    Ok(())
}

/// Creates the file and its folder, and switches it to WAL mode (a setting that persists).
fn prepare_file(label: &str, path: &Path) -> Result<(), OpenError> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| OpenError::Folder {
            path: folder.to_path_buf(),
            source,
        })?;
    }
    let file_error = |source| OpenError::File {
        label: label.into(),
        path: path.into(),
        source,
    };
    let conn = connect(path).map_err(file_error)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(file_error)?;
    tracing::debug!(database = label, path = %path.display(), "SQLite database ready");
    Ok(())
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

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
                component = %self.grants.granted_by,
                database = label,
                fix = %format!(
                    "add \"{label}\" to sqlite_databases of [component.{}]",
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

    fn manifest(databases: &str) -> Manifest {
        let text = format!(
            r#"
            spin_manifest_version = 2
            [application]
            name = "app"
            [[trigger.http]]
            route = "/..."
            component = "queue"
            [component.queue]
            source = "queue.wasm"
            sqlite_databases = [{databases}]
            "#
        );
        Manifest::parse(Path::new("/app/spin.toml"), &text).expect("the test manifest is valid")
    }

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

    #[test]
    fn a_label_nothing_defines_stops_the_start() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let rc = RuntimeConfig::parse(Path::new("/app/rc.toml"), "").expect("an empty config");

        let err = SqliteDatabases::open(&manifest("\"jobs\""), &rc, dir.path())
            .err()
            .expect("`jobs` is undefined");

        assert_eq!(
            err.to_string(),
            "component `queue` uses SQLite database `jobs`, which /app/rc.toml does not define; \
             add [sqlite_database.jobs] with type = \"spin\" to it"
        );
    }

    #[tokio::test]
    async fn values_round_trip_and_the_connection_reports_its_own_changes() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dbs = databases(&dir);
        let grants = grants(&["default"]);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
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

    #[tokio::test]
    async fn only_granted_and_defined_databases_open() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dbs = databases(&dir);
        let grants = grants(&["default", "ghost"]);
        let mut table = ResourceTable::new();
        let mut view = SqliteView {
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

    #[test]
    fn configured_labels_get_their_own_files() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let rc_path = dir.path().join("rc.toml");
        let text = "[sqlite_database.jobs]\ntype = \"spin\"\npath = \"db/jobs.db\"\n\
                    [sqlite_database.audit]\ntype = \"spin\"\n";
        let rc = RuntimeConfig::parse(&rc_path, text).expect("a valid config");

        let dbs = SqliteDatabases::open(
            &manifest("\"jobs\", \"audit\""),
            &rc,
            &dir.path().join("data"),
        )
        .expect("both databases are defined");

        assert_eq!(
            dbs.path("jobs"),
            Some(dir.path().join("db/jobs.db").as_path())
        );
        assert!(dir.path().join("db/jobs.db").exists());
        assert_eq!(
            dbs.path("audit"),
            Some(dir.path().join("data/sqlite_audit.db").as_path())
        );
    }
}
