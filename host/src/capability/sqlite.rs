//! SQLite databases: `fermyon:spin/sqlite@2.0.0` and `spin:sqlite/sqlite@3.0.0`, both
//! served over the same files.
//!
//! `default` is `<data dir>/sqlite_db.db`; the runtime config may place any label in
//! another file (`[sqlite_database.<label>] type = "spin" path = "..."`). Each guest
//! connection is its own SQLite connection, so that `last-insert-rowid` and `changes` are
//! the guest's own, and so that readers and a writer proceed together (files are switched
//! to WAL mode at start). Statements run on tokio's blocking threads.

mod host;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::manifest::Manifest;
use crate::runtime_config::{RuntimeConfig, SqliteDatabaseConfig};

pub use self::host::{OpenDatabase, SqliteView, add_to_linker};

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

/// Set-up shared by the tests of this module and its submodules.
#[cfg(test)]
mod testing {
    use std::path::Path;

    use super::*;

    pub fn manifest(databases: &str) -> Manifest {
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
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

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
