//! A loaded application: every component compiled, linked and ready to instantiate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

use anyhow::{Context, bail};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::allowed_hosts::AllowedHosts;
use crate::capability::outbound_http::OutboundHttp;
use crate::capability::{self, Services};
use crate::engine::{self, HostEngine, PoolSizing};
use crate::linking;
use crate::manifest::{ComponentSpec, DependencyTarget, Manifest, MeshSettings};
use crate::mesh::Mesh;
use crate::runtime_config::RuntimeConfig;
use crate::state::{Grants, Identity, InstanceLimits, StoreState};
use crate::trigger::http::Dispatcher;

/// Options of `prompt-mesh up` that shape the loaded application.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub manifest: PathBuf,
    pub data_dir: PathBuf,
    /// Compiled-code cache; `<data_dir>/cache` when `None`.
    pub cache_dir: Option<PathBuf>,
    pub runtime_config: Option<PathBuf>,
    /// Components whose triggers run here; empty means all.
    pub components: Vec<String>,
}

/// One component, compiled and linked, from which instances are made per call.
pub struct ComponentRuntime {
    pub id: String,
    pub pre: InstancePre<StoreState>,
    pub settings: MeshSettings,
    /// What the manifest grants this component when it runs on its own.
    pub grants: Arc<Grants>,
    environment: Vec<(String, String)>,
    mounts: Vec<(PathBuf, String)>,
    instances: Arc<Semaphore>,
    services: Arc<Services>,
    network: Network,
}

/// A late-bound handle to the application's HTTP dispatcher, for service chaining from
/// inside components (`http://self`, `http://<id>.spin.internal`).
pub type Network = Arc<OnceLock<Weak<Dispatcher>>>;

/// A store ready for one call, with the permit that counts it against `max_instances`.
pub struct Prepared {
    pub store: Store<StoreState>,
    pub permit: OwnedSemaphorePermit,
}

impl ComponentRuntime {
    /// A new store for one call, running with `grants` (its own, or an importer's).
    pub async fn prepare(&self, grants: Arc<Grants>) -> anyhow::Result<Prepared> {
        let permit = self
            .instances
            .clone()
            .acquire_owned()
            .await
            .context("instance pool closed")?;
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdout()
            .inherit_stderr()
            .envs(&self.environment);
        for (host, guest) in &self.mounts {
            wasi.preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "mounting {} for component `{}`: {e}",
                        host.display(),
                        self.id
                    )
                })?;
        }
        let identity = Identity {
            component: self.id.clone(),
            grants: grants.clone(),
        };
        let outbound = OutboundHttp::new(self.id.clone(), grants, self.network.clone());
        let limits = InstanceLimits {
            memory_bytes: self.settings.memory_limit_bytes as usize,
            table_elements: 100_000,
        };
        let state = StoreState::new(
            identity,
            self.services.clone(),
            wasi.build(),
            limits,
            outbound,
        );
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limits);
        engine::set_deadline(&mut store, self.settings.timeout);
        Ok(Prepared { store, permit })
    }
}

/// The whole application, loaded.
pub struct App {
    pub manifest: Manifest,
    pub engine: HostEngine,
    pub services: Arc<Services>,
    pub mesh: Arc<Mesh>,
    pub components: BTreeMap<String, Arc<ComponentRuntime>>,
    /// Components whose triggers this host serves.
    pub serving: Vec<String>,
    pub network: Network,
}

impl App {
    /// Loads the manifest and runtime config, opens the capabilities and links every
    /// component.
    pub async fn load(options: &LoadOptions) -> anyhow::Result<App> {
        let manifest = Manifest::load(&options.manifest)?;
        let runtime_config = match &options.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let serving = serving(&manifest, &options.components)?;
        std::fs::create_dir_all(&options.data_dir)
            .with_context(|| format!("creating the data folder {}", options.data_dir.display()))?;
        let cache_dir = options
            .cache_dir
            .clone()
            .unwrap_or_else(|| options.data_dir.join("cache"));
        let engine = HostEngine::new(&cache_dir, pool_sizing(&manifest))?;
        let services =
            Arc::new(Services::open(&manifest, &runtime_config, &options.data_dir).await?);
        let mesh = Arc::new(Mesh::default());
        let network: Network = Arc::new(OnceLock::new());
        let loader = Loader {
            engine: &engine.engine,
            services: &services,
            mesh: &mesh,
            network: &network,
        };
        let components = loader.load_all(&manifest)?;
        Ok(App {
            manifest,
            engine,
            services,
            mesh,
            components,
            serving,
            network,
        })
    }

    /// The runtime of component `id`.
    pub fn component(&self, id: &str) -> anyhow::Result<&Arc<ComponentRuntime>> {
        self.components
            .get(id)
            .with_context(|| format!("no component `{id}` is loaded"))
    }
}

fn serving(manifest: &Manifest, requested: &[String]) -> anyhow::Result<Vec<String>> {
    for id in requested {
        if manifest.component(id).is_none() {
            let known: Vec<&str> = manifest.components.keys().map(String::as_str).collect();
            bail!(
                "--component {id}: the manifest has no such component; known: {}",
                known.join(", ")
            );
        }
    }
    let triggered = manifest
        .http_triggers
        .iter()
        .map(|t| &t.component)
        .chain(manifest.redis_triggers.iter().map(|t| &t.component));
    let mut ids: Vec<String> = triggered
        .filter(|c| requested.is_empty() || requested.contains(c))
        .cloned()
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn pool_sizing(manifest: &Manifest) -> PoolSizing {
    let instances: u32 = manifest
        .components
        .values()
        .map(|c| c.mesh.max_instances)
        .sum();
    let max_memory_bytes = manifest
        .components
        .values()
        .map(|c| c.mesh.memory_limit_bytes)
        .max()
        .unwrap_or(1 << 20);
    PoolSizing {
        instances: instances.clamp(16, 1000),
        max_memory_bytes,
    }
}

struct Loader<'a> {
    engine: &'a Engine,
    services: &'a Arc<Services>,
    mesh: &'a Arc<Mesh>,
    network: &'a Network,
}

impl Loader<'_> {
    /// Compiles and links components so that each is linked after the ones it imports.
    fn load_all(
        &self,
        manifest: &Manifest,
    ) -> anyhow::Result<BTreeMap<String, Arc<ComponentRuntime>>> {
        let base = self.base_linker()?;
        let mut loaded = BTreeMap::new();
        for id in link_order(manifest)? {
            let spec = &manifest.components[&id];
            let runtime = self.load_one(spec, &base, &loaded)?;
            loaded.insert(id, Arc::new(runtime));
        }
        Ok(loaded)
    }

    fn base_linker(&self) -> anyhow::Result<Linker<StoreState>> {
        let mut linker = Linker::new(self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        capability::add_to_linker(&mut linker)?;
        Ok(linker)
    }

    fn load_one(
        &self,
        spec: &ComponentSpec,
        base: &Linker<StoreState>,
        loaded: &BTreeMap<String, Arc<ComponentRuntime>>,
    ) -> anyhow::Result<ComponentRuntime> {
        let component = compile(self.engine, &spec.id, &spec.source)?;
        let mut linker = base.clone();
        let ctx = linking::LinkContext {
            engine: self.engine,
            mesh: self.mesh,
            loaded,
        };
        linking::link_dependencies(&mut linker, &ctx, spec, &component, |path| {
            self.anonymous_dependency(&spec.id, path, base)
        })?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| unserved_import(spec, e.into()))?;
        self.runtime(spec, pre)
    }

    /// A dependency given as `{ path = "..." }`: a component with no manifest entry of its
    /// own, which always runs with its importer's grants or none.
    fn anonymous_dependency(
        &self,
        importer: &str,
        path: &Path,
        base: &Linker<StoreState>,
    ) -> anyhow::Result<Arc<ComponentRuntime>> {
        let id = format!(
            "{importer}/{}",
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("dependency")
        );
        let component = compile(self.engine, &id, path)?;
        let pre = base
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "linking dependency {} of component `{importer}`",
                    path.display()
                )
            })?;
        Ok(Arc::new(ComponentRuntime {
            id: id.clone(),
            pre,
            settings: MeshSettings::default(),
            grants: Arc::new(Grants::none(&id)),
            environment: Vec::new(),
            mounts: Vec::new(),
            instances: Arc::new(Semaphore::new(
                MeshSettings::default().max_instances as usize,
            )),
            services: self.services.clone(),
            network: self.network.clone(),
        }))
    }

    fn runtime(
        &self,
        spec: &ComponentSpec,
        pre: InstancePre<StoreState>,
    ) -> anyhow::Result<ComponentRuntime> {
        let allowed_outbound_hosts = AllowedHosts::parse(&spec.allowed_outbound_hosts)
            .map_err(|e| anyhow::anyhow!("component `{}`: allowed_outbound_hosts: {e}", spec.id))?;
        let grants = Grants {
            granted_by: spec.id.clone(),
            allowed_outbound_hosts,
            key_value_stores: spec.key_value_stores.clone(),
            sqlite_databases: spec.sqlite_databases.clone(),
            variables: spec.variables.clone(),
        };
        let mounts = spec
            .files
            .iter()
            .map(|m| (m.source.clone(), m.destination.clone()))
            .collect();
        Ok(ComponentRuntime {
            id: spec.id.clone(),
            pre,
            settings: spec.mesh.clone(),
            grants: Arc::new(grants),
            environment: spec.environment.clone().into_iter().collect(),
            mounts,
            instances: Arc::new(Semaphore::new(spec.mesh.max_instances as usize)),
            services: self.services.clone(),
            network: self.network.clone(),
        })
    }
}

/// Compiles a component, or reuses the cached machine code for the same bytes.
fn compile(engine: &Engine, id: &str, path: &Path) -> anyhow::Result<Component> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "component `{id}`: cannot read {}; build it first (`prompt-mesh build`)",
            path.display()
        )
    })?;
    Component::new(engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling component `{id}` from {}", path.display()))
}

fn unserved_import(spec: &ComponentSpec, error: anyhow::Error) -> anyhow::Error {
    let id = &spec.id;
    anyhow::anyhow!(
        "component `{id}` cannot start: {error:#}. If another component serves that import, add \
         `\"<package:name/interface@version>\" = {{ component = \"<id>\" }}` under \
         [component.{id}.dependencies] in the manifest"
    )
}

/// Component ids ordered so that every component comes after the components it imports.
fn link_order(manifest: &Manifest) -> anyhow::Result<Vec<String>> {
    let mut order = Vec::new();
    let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false: visiting, true: done
    fn visit<'a>(
        m: &'a Manifest,
        id: &'a str,
        state: &mut BTreeMap<&'a str, bool>,
        order: &mut Vec<String>,
        path: &mut Vec<&'a str>,
    ) -> anyhow::Result<()> {
        match state.get(id) {
            Some(true) => return Ok(()),
            Some(false) => {
                path.push(id);
                bail!(
                    "components import each other in a cycle: {}; break the cycle",
                    path.join(" -> ")
                );
            }
            None => {}
        }
        state.insert(id, false);
        path.push(id);
        for dep in &m.components[id].dependencies {
            if let DependencyTarget::Component(target) = &dep.target {
                visit(m, target, state, order, path)?;
            }
        }
        path.pop();
        state.insert(id, true);
        order.push(id.to_string());
        Ok(())
    }
    for id in manifest.components.keys() {
        visit(manifest, id, &mut state, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}
