//! Key-value stores kept in a SQLite file, one table row per (store, key).
//!
//! The table is Spin's own layout for its SQLite-backed store (`spin_key_value` with a
//! `(store, key)` primary key), so a file written by `spin up` can be read here. One
//! connection per file sits behind a mutex and is only used on tokio's blocking threads.
//! Read-modify-write operations run in `BEGIN IMMEDIATE` transactions, which also makes
//! them atomic against other processes using the same file. The file is in WAL mode with
//! `synchronous = FULL`: a write that returned is on disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{KvError, Swap};

/// How long a statement waits for another process's write lock: 5 s.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
)";

/// One SQLite file that holds any number of stores.
pub struct SqliteFile {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteFile {
    /// Opens (or creates) the file at `path` and its table.
    pub fn open(path: &Path) -> Result<SqliteFile, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteFile {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One store (a label) inside a [`SqliteFile`].
#[derive(Clone)]
pub struct SqliteStore {
    file: Arc<SqliteFile>,
    store: Arc<str>,
}

impl SqliteStore {
    /// The store named `store` in `file`.
    pub fn new(file: Arc<SqliteFile>, store: &str) -> SqliteStore {
        SqliteStore {
            file,
            store: store.into(),
        }
    }

    /// Runs `f` with the file's connection on a blocking thread.
    async fn with<T, F>(&self, f: F) -> Result<T, KvError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T, KvError> + Send + 'static,
    {
        let (file, store) = (self.file.clone(), self.store.clone());
        let task = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves the connection usable: any open
            // transaction was rolled back when it was dropped.
            let mut conn = file
                .conn
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn, &store)
        });
        task.await.map_err(|e| KvError::Task(e.to_string()))?
    }

    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        self.with(move |conn, store| Ok(select(conn, store, &key)?))
            .await
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        self.with(move |conn, store| Ok(upsert(conn, store, &key, &value)?))
            .await
    }

    pub async fn delete(&self, key: String) -> Result<(), KvError> {
        self.with(move |conn, store| Ok(remove(conn, store, &key)?))
            .await
    }

    pub async fn exists(&self, key: String) -> Result<bool, KvError> {
        self.with(move |conn, store| Ok(select(conn, store, &key)?.is_some()))
            .await
    }

    /// Every key of the store, in byte order.
    pub async fn keys(&self) -> Result<Vec<String>, KvError> {
        self.with(|conn, store| {
            let mut stmt = conn
                .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let keys = stmt.query_map([store], |row| row.get(0))?;
            Ok(keys.collect::<Result<Vec<String>, _>>()?)
        })
        .await
    }

    /// Adds `delta` to the decimal integer under `key` (absent counts as 0).
    pub async fn increment(&self, key: String, delta: i64) -> Result<i64, KvError> {
        self.with(move |conn, store| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = match select(&tx, store, &key)? {
                None => 0,
                Some(bytes) => super::parse_counter(&key, &bytes)?,
            };
            let next = current.checked_add(delta).ok_or(KvError::Overflow {
                key: key.clone(),
                delta,
            })?;
            upsert(&tx, store, &key, next.to_string().as_bytes())?;
            tx.commit()?;
            Ok(next)
        })
        .await
    }

    /// Writes `value` if `key` still holds `expected` (`None`: still absent).
    pub async fn swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<Swap, KvError> {
        self.with(move |conn, store| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = select(&tx, store, &key)?;
            if current != expected {
                return Ok(Swap::Stale(current));
            }
            upsert(&tx, store, &key, &value)?;
            tx.commit()?;
            Ok(Swap::Done)
        })
        .await
    }

    pub async fn get_many(
        &self,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, KvError> {
        self.with(move |conn, store| {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let value = select(conn, store, &key)?;
                out.push((key, value));
            }
            Ok(out)
        })
        .await
    }

    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        self.with(move |conn, store| {
            let tx = conn.transaction()?;
            for (key, value) in &pairs {
                upsert(&tx, store, key, value)?;
            }
            Ok(tx.commit()?)
        })
        .await
    }

    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), KvError> {
        self.with(move |conn, store| {
            let tx = conn.transaction()?;
            for key in &keys {
                remove(&tx, store, key)?;
            }
            Ok(tx.commit()?)
        })
        .await
    }
}

fn select(conn: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |row| row.get(0))
        .optional()
}

fn upsert(conn: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])?;
    Ok(())
}

fn remove(conn: &Connection, store: &str, key: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .execute(params![store, key])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &tempfile::TempDir, label: &str) -> SqliteStore {
        let file =
            SqliteFile::open(&dir.path().join("kv.db")).expect("the temp folder is writable");
        SqliteStore::new(Arc::new(file), label)
    }

    #[tokio::test]
    async fn set_get_delete_exists_and_keys() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let s = store(&dir, "default");

        assert_eq!(s.get("a".into()).await.expect("get works"), None);
        s.set("b".into(), b"2".to_vec()).await.expect("set works");
        s.set("a".into(), b"1".to_vec()).await.expect("set works");
        s.set("a".into(), b"one".to_vec())
            .await
            .expect("overwrite works");

        assert_eq!(
            s.get("a".into()).await.expect("get works"),
            Some(b"one".to_vec())
        );
        assert!(s.exists("b".into()).await.expect("exists works"));
        assert_eq!(s.keys().await.expect("keys works"), ["a", "b"]);
        s.delete("a".into()).await.expect("delete works");
        s.delete("never-set".into())
            .await
            .expect("deleting an absent key is fine");
        assert!(!s.exists("a".into()).await.expect("exists works"));
        assert_eq!(s.keys().await.expect("keys works"), ["b"]);
    }

    #[tokio::test]
    async fn stores_in_one_file_do_not_see_each_other() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let file = Arc::new(SqliteFile::open(&dir.path().join("kv.db")).expect("writable"));
        let (a, b) = (
            SqliteStore::new(file.clone(), "a"),
            SqliteStore::new(file, "b"),
        );

        a.set("k".into(), b"from a".to_vec())
            .await
            .expect("set works");

        assert_eq!(b.get("k".into()).await.expect("get works"), None);
        assert_eq!(b.keys().await.expect("keys works"), Vec::<String>::new());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_increments_from_two_connections_sum_exactly() {
        let dir = tempfile::tempdir().expect("a temp folder");
        // Two files opened separately: two connections, as two host processes would have.
        let (one, two) = (store(&dir, "default"), store(&dir, "default"));
        let run = |s: SqliteStore| {
            tokio::spawn(async move {
                for _ in 0..200 {
                    s.increment("n".into(), 3).await.expect("increment works");
                }
            })
        };

        let (a, b) = (run(one.clone()), run(two));
        a.await.expect("task a finished");
        b.await.expect("task b finished");

        assert_eq!(
            one.increment("n".into(), 0).await.expect("increment works"),
            1200
        );
        assert_eq!(
            one.get("n".into()).await.expect("get works"),
            Some(b"1200".to_vec())
        );
    }

    #[tokio::test]
    async fn increment_refuses_non_integers_and_overflow() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let s = store(&dir, "default");
        s.set("text".into(), b"abc".to_vec())
            .await
            .expect("set works");
        s.set("max".into(), i64::MAX.to_string().into_bytes())
            .await
            .expect("set works");

        let text = s
            .increment("text".into(), 1)
            .await
            .expect_err("not a number");
        let max = s.increment("max".into(), 1).await.expect_err("overflows");

        assert_eq!(
            text.to_string(),
            "the value under `text` is not a decimal integer"
        );
        assert_eq!(
            max.to_string(),
            "adding 1 to `max` overflows a signed 64-bit integer"
        );
        assert_eq!(
            s.increment("new".into(), -4)
                .await
                .expect("absent counts as 0"),
            -4
        );
    }

    #[tokio::test]
    async fn swap_succeeds_once_and_fails_on_a_stale_value() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let s = store(&dir, "default");
        s.set("k".into(), b"v1".to_vec()).await.expect("set works");

        let first = s
            .swap("k".into(), Some(b"v1".to_vec()), b"v2".to_vec())
            .await;
        let stale = s
            .swap("k".into(), Some(b"v1".to_vec()), b"v3".to_vec())
            .await;
        let absent = s.swap("new".into(), None, b"x".to_vec()).await;

        assert_eq!(first.expect("swap works"), Swap::Done);
        assert_eq!(
            stale.expect("swap works"),
            Swap::Stale(Some(b"v2".to_vec()))
        );
        assert_eq!(absent.expect("swap works"), Swap::Done);
        assert_eq!(
            s.get("k".into()).await.expect("get works"),
            Some(b"v2".to_vec())
        );
    }

    #[tokio::test]
    async fn batches_read_write_and_delete_many_keys() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let s = store(&dir, "default");

        let pairs = vec![
            ("a".to_string(), b"1".to_vec()),
            ("b".to_string(), b"2".to_vec()),
        ];
        s.set_many(pairs).await.expect("set_many works");
        s.delete_many(vec!["a".into(), "zz".into()])
            .await
            .expect("delete_many works");
        let got = s
            .get_many(vec!["a".into(), "b".into()])
            .await
            .expect("get_many works");

        assert_eq!(
            got,
            [
                ("a".to_string(), None),
                ("b".to_string(), Some(b"2".to_vec()))
            ]
        );
    }

    #[tokio::test]
    async fn values_survive_reopening_the_file() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let s = store(&dir, "default");
        s.set("k".into(), b"kept".to_vec())
            .await
            .expect("set works");
        s.increment("n".into(), 5).await.expect("increment works");
        drop(s);

        let reopened = store(&dir, "default");

        assert_eq!(
            reopened.get("k".into()).await.expect("get works"),
            Some(b"kept".to_vec())
        );
        assert_eq!(
            reopened.get("n".into()).await.expect("get works"),
            Some(b"5".to_vec())
        );
    }
}
