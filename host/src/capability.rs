//! Capabilities the host serves to components: the interfaces `spin-sdk` 5.2 imports.
//!
//! Each sibling module serves one capability and is shaped alike: a backend chosen from the
//! runtime config, and the host side of its WIT interfaces over [`StoreState`].

pub mod key_value;
pub mod outbound_http;
pub mod redis;
pub mod sqlite;
pub mod variables;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Linker;

use crate::manifest::Manifest;
use crate::runtime_config::RuntimeConfig;
use crate::state::StoreState;

/// The shared backends behind every capability, one set per running application.
pub struct Services {
    pub key_value: key_value::KeyValueStores,
    pub sqlite: sqlite::SqliteDatabases,
    pub variables: variables::Variables,
    pub redis: Arc<redis::RedisHub>,
}

impl Services {
    /// Opens every backend the manifest and runtime config name, under `data_dir`;
    /// `secrets` are the bootstrap secrets' values by variable name.
    pub async fn open(
        manifest: &Manifest,
        runtime_config: &RuntimeConfig,
        data_dir: &Path,
        secrets: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        Ok(Services {
            key_value: key_value::KeyValueStores::open(manifest, runtime_config, data_dir).await?,
            sqlite: sqlite::SqliteDatabases::open(manifest, runtime_config, data_dir)?,
            variables: variables::Variables::from_manifest(manifest, secrets)?,
            redis: Arc::new(redis::RedisHub::new(manifest, runtime_config)),
        })
    }
}

/// Adds every capability interface to `linker`.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> anyhow::Result<()> {
    key_value::add_to_linker(linker)?;
    sqlite::add_to_linker(linker)?;
    variables::add_to_linker(linker)?;
    redis::add_to_linker(linker)?;
    Ok(())
}
