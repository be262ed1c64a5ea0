//! Key-value stores: Spin's `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue@0.2.0-draft2`
//! (store, atomics, batch), both served over the same backends.
//!
//! Every label names one store. `default` always exists and, like every `type = "spin"`
//! store without a `path`, lives in the embedded SQLite file `<data dir>/key_value.db`.
//! The runtime config may point a label at another SQLite file or at a Redis server; a
//! label that a component uses and nothing defines stops the host at start.

mod redis_backend;
mod spin;
mod sqlite_backend;
mod wasi;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::capability::redis::{Connection, RedisError};
use crate::manifest::Manifest;
use crate::runtime_config::{KeyValueStoreConfig, RuntimeConfig};
use crate::state::{Grants, StoreState};

use self::redis_backend::RedisStore;
use self::sqlite_backend::{SqliteFile, SqliteStore};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "key-value",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/key-value.store": super::OpenStore,
            "wasi:keyvalue/store.bucket": super::OpenStore,
            "wasi:keyvalue/atomics.cas": super::Cas,
        },
    });
}

/// The embedded default file, in the data directory.
pub const DEFAULT_FILE: &str = "key_value.db";

/// Why the key-value stores could not be opened at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "component `{component}` uses key-value store `{label}`, which {config} does not \
         define; add [key_value_store.{label}] with type = \"spin\" or \"redis\" to it"
    )]
    UndefinedStore {
        component: String,
        label: String,
        config: String,
    },
    #[error("cannot create the folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key-value store `{label}`: cannot open SQLite file {path}: {source}")]
    File {
        label: String,
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("key-value store `{label}`: cannot reach Redis: {source}")]
    Redis { label: String, source: KvError },
    #[error("key-value store `{label}`: opening its file failed: {message}")]
    Task { label: String, message: String },
}

/// Why a key-value operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error("the value under `{0}` is not a decimal integer")]
    NotAnInteger(String),
    #[error("adding {delta} to `{key}` overflows a signed 64-bit integer")]
    Overflow { key: String, delta: i64 },
    /// A blocking task panicked or was cancelled: a host bug, which traps the guest.
    #[error("key-value task failed: {0}")]
    Task(String),
}

/// The outcome of a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The value was written.
    Done,
    /// The key no longer held the expected value; this is what it holds now.
    Stale(Option<Vec<u8>>),
}

/// The backend of one store; clones share it.
#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Redis(RedisStore),
}

/// Every store of the application, by label.
pub struct KeyValueStores {
    stores: HashMap<String, Backend>,
}

impl KeyValueStores {
    /// Checks that every label the manifest uses is defined, then opens every store.
    pub async fn open(
        manifest: &Manifest,
        runtime_config: &RuntimeConfig,
        data_dir: &Path,
    ) -> anyhow::Result<KeyValueStores> {
        check_labels(manifest, runtime_config)?;
        let mut opener = Opener {
            data_dir,
            files: HashMap::new(),
        };
        let mut stores = HashMap::new();
        let default = KeyValueStoreConfig::Spin { path: None };
        if !runtime_config.key_value_stores.contains_key("default") {
            stores.insert(
                "default".to_string(),
                opener.backend("default", &default).await?,
            );
        }
        for (label, config) in &runtime_config.key_value_stores {
            stores.insert(label.clone(), opener.backend(label, config).await?);
        }
        Ok(KeyValueStores { stores })
    }

    /// The store named `label`, if any.
    pub fn get(&self, label: &str) -> Option<&Backend> {
        self.stores.get(label)
    }
}

fn check_labels(manifest: &Manifest, runtime_config: &RuntimeConfig) -> Result<(), OpenError> {
    for component in manifest.components.values() {
        for label in &component.key_value_stores {
            if label != "default" && !runtime_config.key_value_stores.contains_key(label) {
                return Err(OpenError::UndefinedStore {
                    component: component.id.clone(),
                    label: label.clone(),
                    config: runtime_config.describe(),
                });
            }
        }
    }
    Ok(())
}

fn create_folder(path: &Path) -> Result<(), OpenError> {
    std::fs::create_dir_all(path).map_err(|source| OpenError::Folder {
        path: path.to_path_buf(),
        source,
    })
}

/// Opens backends, sharing one connection per SQLite file.
struct Opener<'a> {
    data_dir: &'a Path,
    files: HashMap<PathBuf, Arc<SqliteFile>>,
}

impl Opener<'_> {
    async fn backend(
        &mut self,
        label: &str,
        config: &KeyValueStoreConfig,
    ) -> Result<Backend, OpenError> {
        match config {
            KeyValueStoreConfig::Spin { path } => {
                let path = path
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join(DEFAULT_FILE));
                let file = self.file(label, path).await?;
                let path = file.path().display();
                tracing::debug!(store = label, %path, "Key-value store opened");
                Ok(Backend::Sqlite(SqliteStore::new(file, label)))
            }
            KeyValueStoreConfig::Redis { url } => {
                let redis_error = |source: KvError| OpenError::Redis {
                    label: label.into(),
                    source,
                };
                let conn = Connection::new(url).map_err(|e| redis_error(e.into()))?;
                let store = RedisStore::new(conn);
                store.check().await.map_err(redis_error)?;
                tracing::debug!(
                    store = label,
                    redis.address = store.address(),
                    "Key-value store opened"
                );
                Ok(Backend::Redis(store))
            }
        }
    }

    async fn file(&mut self, label: &str, path: PathBuf) -> Result<Arc<SqliteFile>, OpenError> {
        if let Some(file) = self.files.get(&path) {
            return Ok(file.clone());
        }
        create_folder(path.parent().unwrap_or(Path::new(".")))?;
        let opening = path.clone();
        let opened = tokio::task::spawn_blocking(move || SqliteFile::open(&opening))
            .await
            .map_err(|e| OpenError::Task {
                label: label.into(),
                message: e.to_string(),
            })?;
        let file = Arc::new(opened.map_err(|source| OpenError::File {
            label: label.into(),
            path: path.clone(),
            source,
        })?);
        self.files.insert(path, file.clone());
        Ok(file)
    }
}

impl Backend {
    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Backend::Sqlite(s) => s.get(key).await,
            Backend::Redis(r) => r.get(key).await,
        }
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        match self {
            Backend::Sqlite(s) => s.set(key, value).await,
            Backend::Redis(r) => r.set(key, value).await,
        }
    }

    pub async fn delete(&self, key: String) -> Result<(), KvError> {
        match self {
            Backend::Sqlite(s) => s.delete(key).await,
            Backend::Redis(r) => r.delete(key).await,
        }
    }

    pub async fn exists(&self, key: String) -> Result<bool, KvError> {
        match self {
            Backend::Sqlite(s) => s.exists(key).await,
            Backend::Redis(r) => r.exists(key).await,
        }
    }

    /// Every key of the store, sorted.
    pub async fn keys(&self) -> Result<Vec<String>, KvError> {
        match self {
            Backend::Sqlite(s) => s.keys().await,
            Backend::Redis(r) => r.keys().await,
        }
    }

    /// Atomically adds `delta` to the decimal integer under `key`; absent counts as 0.
    pub async fn increment(&self, key: String, delta: i64) -> Result<i64, KvError> {
        match self {
            Backend::Sqlite(s) => s.increment(key, delta).await,
            Backend::Redis(r) => r.increment(key, delta).await,
        }
    }

    /// Atomically writes `value` if `key` still holds `expected` (`None`: still absent).
    pub async fn swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<Swap, KvError> {
        match self {
            Backend::Sqlite(s) => s.swap(key, expected, value).await,
            Backend::Redis(r) => r.swap(key, expected, value).await,
        }
    }

    pub async fn get_many(
        &self,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, KvError> {
        match self {
            Backend::Sqlite(s) => s.get_many(keys).await,
            Backend::Redis(r) => r.get_many(keys).await,
        }
    }

    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        match self {
            Backend::Sqlite(s) => s.set_many(pairs).await,
            Backend::Redis(r) => r.set_many(pairs).await,
        }
    }

    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), KvError> {
        match self {
            Backend::Sqlite(s) => s.delete_many(keys).await,
            Backend::Redis(r) => r.delete_many(keys).await,
        }
    }
}

/// Counters are decimal text, as Redis keeps them.
fn parse_counter(key: &str, bytes: &[u8]) -> Result<i64, KvError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| KvError::NotAnInteger(key.to_string()))
}

/// A store a guest has opened (a Spin `store` or a `wasi:keyvalue` bucket).
pub struct OpenStore {
    backend: Backend,
}

/// A pending `wasi:keyvalue` compare-and-swap: the key and the value seen when it began.
pub struct Cas {
    backend: Backend,
    key: String,
    current: Option<Vec<u8>>,
}

/// What the key-value host functions see of a store.
pub struct KeyValueView<'a> {
    /// The component running in the store, for logs.
    pub component: &'a str,
    pub grants: &'a Grants,
    pub stores: &'a KeyValueStores,
    pub table: &'a mut ResourceTable,
}

/// Why a guest may not open a store.
enum Refusal {
    AccessDenied,
    NoSuchStore,
}

impl KeyValueView<'_> {
    /// The backend behind an open store or bucket.
    fn backend(&self, store: &Resource<OpenStore>) -> wasmtime::Result<Backend> {
        Ok(self.table.get(store)?.backend.clone())
    }

    fn open_store(&self, label: &str) -> Result<OpenStore, Refusal> {
        if !self.grants.key_value_stores.iter().any(|l| l == label) {
            tracing::info!(
                component = self.component,
                store = label,
                fix = %format!(
                    "add \"{label}\" to key_value_stores of [component.{}] in the manifest",
                    self.grants.granted_by
                ),
                "Key-value store access denied"
            );
            return Err(Refusal::AccessDenied);
        }
        let backend = self.stores.get(label).ok_or(Refusal::NoSuchStore)?;
        Ok(OpenStore {
            backend: backend.clone(),
        })
    }
}

/// The message a guest sees for `e`, or a trap when `e` is a host failure.
fn guest_message(e: KvError) -> wasmtime::Result<String> {
    match e {
        KvError::Task(message) => Err(wasmtime::format_err!("key-value task failed: {message}")),
        other => Ok(other.to_string()),
    }
}

struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueView<'a>;
}

fn view(s: &mut StoreState) -> KeyValueView<'_> {
    KeyValueView {
        component: &s.identity.component,
        grants: &s.identity.grants,
        stores: &s.services.key_value,
        table: &mut s.table,
    }
}

/// Adds `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue@0.2.0-draft2` to `linker`.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> anyhow::Result<()> {
    use bindings::fermyon::spin2_0_0::key_value;
    use bindings::wasi::keyvalue::{atomics, batch, store};
    key_value::add_to_linker::<StoreState, HasKeyValue>(linker, view)?;
    store::add_to_linker::<StoreState, HasKeyValue>(linker, view)?;
    atomics::add_to_linker::<StoreState, HasKeyValue>(linker, view)?;
    batch::add_to_linker::<StoreState, HasKeyValue>(linker, view)?;
    Ok(())
}

/// Set-up shared by the tests of this module and its submodules.
#[cfg(test)]
mod testing {
    use super::*;

    /// A manifest whose one component, `gateway`, lists `stores` (TOML strings).
    pub fn manifest(stores: &str) -> Manifest {
        let text = format!(
            r#"
            spin_manifest_version = 2
            [application]
            name = "app"
            [[trigger.http]]
            route = "/..."
            component = "gateway"
            [component.gateway]
            source = "gateway.wasm"
            key_value_stores = [{stores}]
            "#
        );
        Manifest::parse(Path::new("/app/spin.toml"), &text).expect("the test manifest is valid")
    }

    /// The embedded `default` store under `dir`.
    pub async fn default_stores(dir: &tempfile::TempDir) -> KeyValueStores {
        KeyValueStores::open(
            &manifest("\"default\""),
            &RuntimeConfig::default(),
            dir.path(),
        )
        .await
        .expect("default always exists")
    }

    /// Grants of `gateway` to `labels`.
    pub fn grants(labels: &[&str]) -> Grants {
        Grants {
            granted_by: "gateway".into(),
            key_value_stores: labels.iter().map(|l| l.to_string()).collect(),
            ..Grants::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn config(text: &str) -> RuntimeConfig {
        RuntimeConfig::parse(Path::new("/app/rc.toml"), text).expect("the test config is valid")
    }

    #[tokio::test]
    async fn a_label_nothing_defines_stops_the_start() {
        let dir = tempfile::tempdir().expect("a temp folder");

        let err =
            KeyValueStores::open(&manifest("\"default\", \"cache\""), &config(""), dir.path())
                .await
                .err()
                .expect("`cache` is undefined");

        assert_eq!(
            err.to_string(),
            "component `gateway` uses key-value store `cache`, which /app/rc.toml does not \
             define; add [key_value_store.cache] with type = \"spin\" or \"redis\" to it"
        );
    }

    #[tokio::test]
    async fn default_is_the_embedded_file_and_labels_can_share_it() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let rc = config("[key_value_store.cache]\ntype = \"spin\"\n");

        let stores = KeyValueStores::open(&manifest("\"default\", \"cache\""), &rc, dir.path())
            .await
            .expect("both stores are defined");
        let (default, cache) = (stores.get("default"), stores.get("cache"));
        let (Some(Backend::Sqlite(default)), Some(Backend::Sqlite(cache))) = (default, cache)
        else {
            panic!("both stores are embedded SQLite stores");
        };
        default
            .set("k".into(), b"d".to_vec())
            .await
            .expect("set works");

        assert!(dir.path().join(DEFAULT_FILE).exists());
        assert_eq!(cache.get("k".into()).await.expect("get works"), None);
        assert!(stores.get("other").is_none());
    }

    #[tokio::test]
    async fn only_granted_labels_open() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let stores = default_stores(&dir).await;
        let grants = grants(&["default", "ghost"]);
        let mut table = ResourceTable::new();
        let view = KeyValueView {
            component: "gateway",
            grants: &grants,
            stores: &stores,
            table: &mut table,
        };

        assert!(view.open_store("default").is_ok());
        assert!(matches!(
            view.open_store("ghost"),
            Err(Refusal::NoSuchStore)
        ));
        assert!(matches!(
            view.open_store("secret"),
            Err(Refusal::AccessDenied)
        ));
    }

    #[tokio::test]
    async fn a_label_can_live_in_redis() {
        let Ok(url) = std::env::var("PROMPT_MESH_TEST_REDIS") else {
            println!("skipped: PROMPT_MESH_TEST_REDIS is unset");
            return;
        };
        let dir = tempfile::tempdir().expect("a temp folder");
        let rc = config(&format!(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"{url}\"\n"
        ));
        let key = format!("prompt-mesh-test:kv-label:{}", std::process::id());

        let stores = KeyValueStores::open(&manifest("\"cache\""), &rc, dir.path())
            .await
            .expect("the test Redis is up");
        let Some(cache @ Backend::Redis(_)) = stores.get("cache") else {
            panic!("`cache` is a Redis store");
        };
        cache
            .set(key.clone(), b"v".to_vec())
            .await
            .expect("set works");

        assert_eq!(
            cache.get(key.clone()).await.expect("get works"),
            Some(b"v".to_vec())
        );
        assert!(matches!(stores.get("default"), Some(Backend::Sqlite(_))));
        cache.delete(key).await.expect("delete works");
    }

    #[tokio::test]
    async fn an_unreachable_redis_stops_the_start() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let rc =
            config("[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n");

        let err = KeyValueStores::open(&manifest("\"cache\""), &rc, dir.path())
            .await
            .err()
            .expect("nothing listens on port 1");

        assert!(
            err.to_string().starts_with(
                "key-value store `cache`: cannot reach Redis: Redis at redis://127.0.0.1:1: "
            ),
            "{err}"
        );
    }
}
