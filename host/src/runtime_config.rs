//! The runtime config file: which backend serves each key-value store, SQLite database and
//! Redis address, in the style of Spin's `runtime-config.toml`.
//!
//! ```toml
//! [key_value_store.cache]
//! type = "redis"
//! url = "redis://127.0.0.1:6379"
//!
//! [key_value_store.archive]
//! type = "spin"              # a SQLite file
//! path = "data/archive.db"   # relative to this file's folder
//!
//! [sqlite_database.default]
//! type = "spin"
//! path = "data/app.db"
//!
//! [redis]                    # prompt-mesh's own table: serves the Redis triggers' addresses
//! address = "redis://127.0.0.1:6379"
//! ```
//!
//! Without a file, every store and database is an embedded SQLite file under the data
//! directory, and the Redis triggers are served by an in-process broker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A runtime config that cannot be used, with where and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: `{key}`: {message}")]
pub struct RuntimeConfigError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

/// The backends the runtime config chooses; empty tables mean the embedded defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The file this was read from; `None` when there is no file.
    pub path: Option<PathBuf>,
    /// `[key_value_store.<label>]`, by label.
    pub key_value_stores: BTreeMap<String, KeyValueStoreConfig>,
    /// `[sqlite_database.<label>]`, by label.
    pub sqlite_databases: BTreeMap<String, SqliteDatabaseConfig>,
    /// `[redis]`: the server behind the Redis triggers' addresses.
    pub redis: Option<RedisConfig>,
}

/// The backend of one key-value store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValueStoreConfig {
    /// `type = "spin"`: a SQLite file; `None` is the embedded default file.
    Spin { path: Option<PathBuf> },
    /// `type = "redis"`: a Redis server.
    Redis { url: String },
}

/// The backend of one SQLite database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteDatabaseConfig {
    /// `type = "spin"`: a SQLite file; `None` is a file named after the label in the data
    /// directory.
    Spin { path: Option<PathBuf> },
}

/// `[redis]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port` of the server that serves the Redis triggers' addresses.
    pub address: String,
}

const KEY_VALUE_TYPES: &str = "\"spin\" and \"redis\"";
const SQLITE_TYPES: &str = "\"spin\"";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    address: String,
}

impl RuntimeConfig {
    /// Reads and checks the runtime config at `path`.
    pub fn load(path: &Path) -> Result<RuntimeConfig, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuntimeConfigError {
            file: path.to_path_buf(),
            key: "(file)".into(),
            message: format!("cannot read the runtime config: {e}; check --runtime-config"),
        })?;
        Self::parse(path, &text)
    }

    /// Checks runtime config `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<RuntimeConfig, RuntimeConfigError> {
        let reader = Reader {
            file: path.to_path_buf(),
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| reader.toml_error(text, &e))?;
        let mut config = RuntimeConfig {
            path: Some(path.to_path_buf()),
            ..Default::default()
        };
        for (key, value) in table {
            match key.as_str() {
                "key_value_store" => config.key_value_stores = reader.key_value_stores(value)?,
                "sqlite_database" => config.sqlite_databases = reader.sqlite_databases(value)?,
                "redis" => config.redis = Some(reader.redis(value)?),
                _ => return Err(reader.unknown_table(&key)),
            }
        }
        Ok(config)
    }

    /// The folder relative paths are resolved against: the file's folder, or `.`.
    pub fn dir(&self) -> PathBuf {
        match self.path.as_deref().and_then(Path::parent) {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Where this config came from, for messages.
    pub fn describe(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "the runtime config (none given; pass --runtime-config)".into(),
        }
    }
}

struct Reader {
    file: PathBuf,
}

impl Reader {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> RuntimeConfigError {
        RuntimeConfigError {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn toml_error(&self, text: &str, e: &toml::de::Error) -> RuntimeConfigError {
        let key = match e.span() {
            Some(span) => format!(
                "line {}",
                text[..span.start.min(text.len())].lines().count().max(1)
            ),
            None => "(document)".into(),
        };
        self.err(key, e.message().trim_end_matches('.'))
    }

    fn unknown_table(&self, key: &str) -> RuntimeConfigError {
        self.err(
            key,
            "unknown table; prompt-mesh reads [key_value_store.<label>], \
             [sqlite_database.<label>] and [redis]: remove it or fix its spelling",
        )
    }

    fn labels(&self, key: &str, value: toml::Value) -> Result<toml::Table, RuntimeConfigError> {
        match value {
            toml::Value::Table(t) => Ok(t),
            _ => Err(self.err(
                key,
                format!("must be tables, one per label: [{key}.<label>]"),
            )),
        }
    }

    fn raw_store(&self, key: &str, value: toml::Value) -> Result<RawStore, RuntimeConfigError> {
        if !value.is_table() {
            return Err(self.err(key, format!("must be a table: [{key}]")));
        }
        value.try_into().map_err(|e: toml::de::Error| {
            let message = e.message().trim_end_matches('.');
            match message.strip_prefix("unknown field ") {
                Some(rest) => self.err(key, format!("unknown field {rest}; remove it")),
                None => self.err(key, message),
            }
        })
    }

    fn key_value_stores(
        &self,
        value: toml::Value,
    ) -> Result<BTreeMap<String, KeyValueStoreConfig>, RuntimeConfigError> {
        let mut out = BTreeMap::new();
        for (label, table) in self.labels("key_value_store", value)? {
            let key = format!("key_value_store.{label}");
            let store = self.key_value_store(&key, self.raw_store(&key, table)?)?;
            out.insert(label, store);
        }
        Ok(out)
    }

    fn key_value_store(
        &self,
        key: &str,
        raw: RawStore,
    ) -> Result<KeyValueStoreConfig, RuntimeConfigError> {
        match raw.kind.as_str() {
            "spin" => {
                self.forbid(key, "url", raw.url.is_some(), "spin")?;
                Ok(KeyValueStoreConfig::Spin {
                    path: raw.path.map(|p| self.resolve(&p)),
                })
            }
            "redis" => {
                self.forbid(key, "path", raw.path.is_some(), "redis")?;
                let url = raw.url.ok_or_else(|| {
                    self.err(
                        format!("{key}.url"),
                        "type \"redis\" needs `url`, e.g. url = \"redis://127.0.0.1:6379\"",
                    )
                })?;
                self.check_redis_url(&format!("{key}.url"), &url)?;
                Ok(KeyValueStoreConfig::Redis { url })
            }
            other => Err(self.unknown_type(key, other, KEY_VALUE_TYPES)),
        }
    }

    fn sqlite_databases(
        &self,
        value: toml::Value,
    ) -> Result<BTreeMap<String, SqliteDatabaseConfig>, RuntimeConfigError> {
        let mut out = BTreeMap::new();
        for (label, table) in self.labels("sqlite_database", value)? {
            let key = format!("sqlite_database.{label}");
            let raw = self.raw_store(&key, table)?;
            if raw.kind != "spin" {
                return Err(self.unknown_type(&key, &raw.kind, SQLITE_TYPES));
            }
            self.forbid(&key, "url", raw.url.is_some(), "spin")?;
            let path = raw.path.map(|p| self.resolve(&p));
            out.insert(label, SqliteDatabaseConfig::Spin { path });
        }
        Ok(out)
    }

    fn redis(&self, value: toml::Value) -> Result<RedisConfig, RuntimeConfigError> {
        if !value.is_table() {
            return Err(self.err(
                "redis",
                "must be a table: [redis] address = \"redis://...\"",
            ));
        }
        let raw: RawRedis = value
            .try_into()
            .map_err(|e: toml::de::Error| self.err("redis", e.message().trim_end_matches('.')))?;
        self.check_redis_url("redis.address", &raw.address)?;
        Ok(RedisConfig {
            address: raw.address,
        })
    }

    fn forbid(
        &self,
        key: &str,
        field: &str,
        present: bool,
        kind: &str,
    ) -> Result<(), RuntimeConfigError> {
        if !present {
            return Ok(());
        }
        Err(self.err(
            format!("{key}.{field}"),
            format!("type \"{kind}\" does not take `{field}`; remove it"),
        ))
    }

    fn unknown_type(&self, key: &str, kind: &str, supported: &str) -> RuntimeConfigError {
        self.err(
            format!("{key}.type"),
            format!("unknown type \"{kind}\"; prompt-mesh supports {supported}"),
        )
    }

    fn check_redis_url(&self, key: &str, url: &str) -> Result<(), RuntimeConfigError> {
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            return Ok(());
        }
        Err(self.err(
            key,
            format!("`{url}` is not a Redis URL; write it as \"redis://host:port\""),
        ))
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let dir = match self.file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig, RuntimeConfigError> {
        RuntimeConfig::parse(Path::new("/app/runtime-config.toml"), text)
    }

    fn message(text: &str) -> String {
        parse(text).expect_err("the config is invalid").to_string()
    }

    #[test]
    fn reads_every_table() {
        let config = parse(
            r#"
            [key_value_store.cache]
            type = "redis"
            url = "redis://127.0.0.1:6379"

            [key_value_store.archive]
            type = "spin"
            path = "data/archive.db"

            [key_value_store.default]
            type = "spin"

            [sqlite_database.default]
            type = "spin"
            path = "/var/lib/app.db"

            [redis]
            address = "redis://10.0.0.1:6379"
            "#,
        )
        .expect("the config is valid");
        let kv = &config.key_value_stores;
        assert_eq!(
            kv["cache"],
            KeyValueStoreConfig::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );
        assert_eq!(
            kv["archive"],
            KeyValueStoreConfig::Spin {
                path: Some(PathBuf::from("/app/data/archive.db"))
            }
        );
        assert_eq!(kv["default"], KeyValueStoreConfig::Spin { path: None });
        assert_eq!(
            config.sqlite_databases["default"],
            SqliteDatabaseConfig::Spin {
                path: Some(PathBuf::from("/var/lib/app.db"))
            }
        );
        assert_eq!(
            config.redis,
            Some(RedisConfig {
                address: "redis://10.0.0.1:6379".into()
            })
        );
        assert_eq!(config.dir(), PathBuf::from("/app"));
    }

    #[test]
    fn default_config_is_empty_and_relative_to_the_working_folder() {
        let config = RuntimeConfig::default();
        assert!(config.key_value_stores.is_empty());
        assert!(config.sqlite_databases.is_empty());
        assert_eq!(config.redis, None);
        assert_eq!(config.dir(), PathBuf::from("."));
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let config = RuntimeConfig::parse(
            Path::new("deploy/rc.toml"),
            "[sqlite_database.jobs]\ntype = \"spin\"\npath = \"jobs.db\"\n",
        )
        .expect("the config is valid");
        assert_eq!(
            config.sqlite_databases["jobs"],
            SqliteDatabaseConfig::Spin {
                path: Some(PathBuf::from("deploy/jobs.db"))
            }
        );
    }

    #[test]
    fn unknown_types_list_the_supported_ones() {
        assert_eq!(
            message("[key_value_store.x]\ntype = \"azure_cosmos\"\n"),
            "/app/runtime-config.toml: `key_value_store.x.type`: unknown type \"azure_cosmos\"; \
             prompt-mesh supports \"spin\" and \"redis\""
        );
        assert_eq!(
            message("[sqlite_database.x]\ntype = \"libsql\"\n"),
            "/app/runtime-config.toml: `sqlite_database.x.type`: unknown type \"libsql\"; \
             prompt-mesh supports \"spin\""
        );
    }

    #[test]
    fn unknown_keys_and_tables_are_refused() {
        assert_eq!(
            message("[key_value_store.x]\ntype = \"spin\"\nfile = \"a.db\"\n"),
            "/app/runtime-config.toml: `key_value_store.x`: unknown field `file`, \
             expected one of `type`, `path`, `url`; remove it"
        );
        assert_eq!(
            message("[llm_compute]\ntype = \"spin\"\n"),
            "/app/runtime-config.toml: `llm_compute`: unknown table; prompt-mesh reads \
             [key_value_store.<label>], [sqlite_database.<label>] and [redis]: \
             remove it or fix its spelling"
        );
        assert_eq!(
            message("[redis]\naddress = \"redis://h:1\"\nchannel = \"x\"\n"),
            "/app/runtime-config.toml: `redis`: unknown field `channel`, expected `address`"
        );
    }

    #[test]
    fn backends_reject_settings_of_other_types() {
        assert_eq!(
            message("[key_value_store.x]\ntype = \"redis\"\n"),
            "/app/runtime-config.toml: `key_value_store.x.url`: type \"redis\" needs `url`, \
             e.g. url = \"redis://127.0.0.1:6379\""
        );
        assert_eq!(
            message("[key_value_store.x]\ntype = \"redis\"\nurl = \"redis://h\"\npath = \"a\"\n"),
            "/app/runtime-config.toml: `key_value_store.x.path`: type \"redis\" does not take \
             `path`; remove it"
        );
        assert_eq!(
            message("[key_value_store.x]\ntype = \"spin\"\nurl = \"redis://h\"\n"),
            "/app/runtime-config.toml: `key_value_store.x.url`: type \"spin\" does not take \
             `url`; remove it"
        );
        assert_eq!(
            message("[redis]\naddress = \"http://h:1\"\n"),
            "/app/runtime-config.toml: `redis.address`: `http://h:1` is not a Redis URL; \
             write it as \"redis://host:port\""
        );
    }

    #[test]
    fn malformed_toml_names_the_line() {
        assert_eq!(
            message("[redis]\naddress = \n"),
            "/app/runtime-config.toml: `line 2`: string values must be quoted, expected literal string"
        );
        assert_eq!(
            message("key_value_store = 3\n"),
            "/app/runtime-config.toml: `key_value_store`: must be tables, one per label: \
             [key_value_store.<label>]"
        );
    }

    #[test]
    fn a_missing_file_says_which_flag_names_it() {
        let err = RuntimeConfig::load(Path::new("/nonexistent/rc.toml")).expect_err("no file");
        assert_eq!(err.key, "(file)");
        assert!(
            err.message.starts_with("cannot read the runtime config: "),
            "{}",
            err.message
        );
    }
}
