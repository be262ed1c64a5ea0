//! Loads a Spin manifest (version 2) into the typed application the host runs.
//!
//! Every refusal names the file, the key and the fix, so that a wrong manifest is corrected
//! at start rather than discovered by a failing request.

mod raw;
mod triggers;
pub mod units;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use raw::*;

/// A manifest that cannot be run, with where and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: `{key}`: {message}")]
pub struct ManifestError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

/// The application a manifest describes, checked and with paths resolved.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file.
    pub path: PathBuf,
    /// The folder relative paths are resolved against.
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    /// `[application.trigger.redis] address`, the default for Redis triggers.
    pub redis_address: Option<String>,
    pub variables: BTreeMap<String, AppVariable>,
    /// `[application.tool.prompt-mesh] bootstrap_secrets`: variables the host generates on
    /// first start when the environment gives no value.
    pub bootstrap_secrets: Vec<String>,
    pub http_triggers: Vec<HttpTrigger>,
    pub redis_triggers: Vec<RedisTrigger>,
    pub components: BTreeMap<String, ComponentSpec>,
}

/// An application variable (`[variables]`).
#[derive(Debug, Clone, PartialEq)]
pub struct AppVariable {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

/// Where an HTTP trigger listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/path` (exact) or `/path/...` (the path and everything below it).
    Path(String),
    /// `{ private = true }`: reachable only from inside the application.
    Private,
}

#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub id: String,
    pub route: Route,
    pub component: String,
}

#[derive(Debug, Clone)]
pub struct RedisTrigger {
    pub id: String,
    pub channel: String,
    /// Redis address, from the trigger or from `[application.trigger.redis]`.
    pub address: String,
    pub component: String,
}

/// One `[component.X]` table.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub id: String,
    /// The Wasm file, resolved against the manifest folder.
    pub source: PathBuf,
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub files: Vec<FileMount>,
    pub allowed_outbound_hosts: Vec<String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub build: Option<BuildSpec>,
    pub dependencies_inherit_configuration: bool,
    pub dependencies: Vec<Dependency>,
    pub mesh: MeshSettings,
}

/// One `files` entry, mounted read-only; its source is looked up when the application starts.
#[derive(Debug, Clone, PartialEq)]
pub enum FileMount {
    /// `{ source = "...", destination = "/..." }`: a host folder or file, resolved against the
    /// manifest folder, placed at `destination`.
    Placement {
        source: PathBuf,
        destination: String,
    },
    /// `"path"` or a glob such as `"static/**/*.css"`, relative to the manifest folder: each
    /// file it names is mounted at the same relative path under `/`, as Spin does.
    Pattern(String),
}

/// `[component.X.build]`.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    pub commands: Vec<String>,
    pub workdir: PathBuf,
    pub environment: BTreeMap<String, String>,
}

/// What serves an import of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    /// The dependency name as written: `pkg:name`, `pkg:name@1.0.0` or `pkg:name/iface@1.0.0`.
    pub name: String,
    pub target: DependencyTarget,
    /// The export of the target that serves the import, when its name differs.
    pub export: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DependencyTarget {
    /// Another component of this application.
    Component(String),
    /// A Wasm file on disk.
    Path(PathBuf),
}

/// `[component.X.tool.prompt-mesh]`: host settings that Spin ignores.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshSettings {
    /// Linear memory one instance may grow to, in bytes.
    pub memory_limit_bytes: u64,
    /// Wall-clock budget of one call into the component (HTTP request, message, linked call).
    pub timeout: Duration,
    /// Instances of this component alive at once; further calls wait.
    pub max_instances: u32,
    /// Largest HTTP request body accepted for this component, in bytes.
    pub max_request_body_bytes: u64,
    /// Redis messages this component's triggers handle at once; with 1, one after the other
    /// in the order they arrived, as Spin does.
    pub message_concurrency: u32,
    /// When set, the host hands the component's Redis handler a `tick` message at start and
    /// then at this interval whenever it has a free message slot, as a timer would: for work
    /// that must go on without new messages (leases that ended, retries that came due).
    pub wake_every: Option<Duration>,
}

/// Linear memory per instance unless the component says otherwise: 128 MiB.
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 128 << 20;
/// Time per call unless the component says otherwise: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent instances per component unless it says otherwise.
pub const DEFAULT_MAX_INSTANCES: u32 = 100;
/// Request body size unless the component says otherwise: 10 MiB.
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: u64 = 10 << 20;
/// Redis messages handled at once unless the component says otherwise: one, in order.
pub const DEFAULT_MESSAGE_CONCURRENCY: u32 = 1;

impl Default for MeshSettings {
    fn default() -> Self {
        MeshSettings {
            memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
            timeout: DEFAULT_TIMEOUT,
            max_instances: DEFAULT_MAX_INSTANCES,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            message_concurrency: DEFAULT_MESSAGE_CONCURRENCY,
            wake_every: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppSettings {
    #[serde(default)]
    bootstrap_secrets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeshSettings {
    memory_limit: Option<String>,
    timeout: Option<String>,
    max_instances: Option<u32>,
    max_request_body: Option<String>,
    message_concurrency: Option<u32>,
    wake_every: Option<String>,
}

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            file: path.to_path_buf(),
            key: "(file)".into(),
            message: format!("cannot read the manifest: {e}; pass its path with --manifest"),
        })?;
        Self::parse(path, &text)
    }

    /// Checks manifest `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let loader = Loader {
            file: path.to_path_buf(),
            text,
        };
        let document: toml::Table = toml::from_str(text).map_err(|e| loader.toml_error(&e))?;
        loader.check_version(&document)?;
        let raw: RawManifest = toml::from_str(text).map_err(|e| loader.toml_error(&e))?;
        loader.manifest(raw)
    }

    /// The component with this id, if any.
    pub fn component(&self, id: &str) -> Option<&ComponentSpec> {
        self.components.get(id)
    }

    /// Refuses `--component` ids that name no component, before anything is built or run.
    pub fn check_requested(&self, requested: &[String]) -> Result<(), UnknownComponent> {
        match requested
            .iter()
            .find(|id| !self.components.contains_key(*id))
        {
            None => Ok(()),
            Some(id) => Err(UnknownComponent {
                id: id.clone(),
                known: self.components.keys().cloned().collect(),
            }),
        }
    }
}

/// A `--component` id that names no component of the manifest.
#[derive(Debug, thiserror::Error)]
#[error("--component {id}: the manifest has no such component; known: {}", known.join(", "))]
pub struct UnknownComponent {
    pub id: String,
    pub known: Vec<String>,
}

struct Loader<'t> {
    file: PathBuf,
    text: &'t str,
}

impl Loader<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> ManifestError {
        ManifestError {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ManifestError {
        let key = match e.span() {
            Some(span) => format!("line {}", self.line_of(span.start)),
            None => "(document)".into(),
        };
        let message = e.message().trim_end_matches('.').to_string();
        let message = match message.strip_prefix("unknown field ") {
            Some(rest) => format!("unknown field {rest}; remove it or fix its spelling"),
            None => message,
        };
        self.err(key, message)
    }

    fn line_of(&self, offset: usize) -> usize {
        let before = &self.text.as_bytes()[..offset.min(self.text.len())];
        before.iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn dir(&self) -> PathBuf {
        match self.file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Refuses any manifest but version 2 before its fields are checked, so that a version 1
    /// manifest is told how to migrate rather than which of its fields are unknown.
    fn check_version(&self, document: &toml::Table) -> Result<(), ManifestError> {
        let (key, version) = match (
            document.get("spin_manifest_version"),
            document.get("spin_version"),
        ) {
            (Some(v), _) => ("spin_manifest_version", v),
            (None, Some(v)) => ("spin_version", v),
            (None, None) => {
                return Err(self.err(
                    "spin_manifest_version",
                    "missing; start the manifest with `spin_manifest_version = 2`",
                ));
            }
        };
        if version.as_integer() == Some(2) {
            return Ok(());
        }
        let message = match version.as_str() {
            Some("1") => "manifest version 1 is not supported; prompt-mesh reads version 2 only: \
                          run `spin doctor` to upgrade the file, or rewrite it with \
                          `spin_manifest_version = 2`, `name` and `version` under \
                          `[application]`, each component as `[component.<id>]` and each \
                          trigger as `[[trigger.<type>]]`"
                .to_string(),
            _ => format!("version {version} is not supported; write `spin_manifest_version = 2`"),
        };
        Err(self.err(key, message))
    }

    fn manifest(&self, raw: RawManifest) -> Result<Manifest, ManifestError> {
        let redis_address = self.app_trigger_settings(&raw.application)?;
        let variables = self.variables(&raw.variables)?;
        let bootstrap_secrets = self.bootstrap_secrets(&raw.application, &variables)?;
        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            let spec = self.component(&id, c, &variables)?;
            components.insert(id, spec);
        }
        let mut http_triggers = Vec::new();
        let mut redis_triggers = Vec::new();
        for (kind, tables) in raw.trigger {
            for (i, table) in tables.into_iter().enumerate() {
                match kind.as_str() {
                    "http" => http_triggers.push(self.http_trigger(i, table)?),
                    "redis" => redis_triggers.push(self.redis_trigger(i, table, &redis_address)?),
                    other => {
                        return Err(self.err(
                            format!("trigger.{other}"),
                            "prompt-mesh serves `http` and `redis` triggers only; remove this trigger",
                        ));
                    }
                }
            }
        }
        let manifest = Manifest {
            path: self.file.clone(),
            dir: self.dir(),
            name: raw.application.name,
            version: raw.application.version,
            redis_address,
            variables,
            bootstrap_secrets,
            http_triggers,
            redis_triggers,
            components,
        };
        self.check_references(&manifest)?;
        Ok(manifest)
    }

    fn bootstrap_secrets(
        &self,
        app: &RawApplication,
        variables: &BTreeMap<String, AppVariable>,
    ) -> Result<Vec<String>, ManifestError> {
        let Some(table) = app.tool.get("prompt-mesh") else {
            return Ok(Vec::new());
        };
        let at = "application.tool.prompt-mesh";
        let raw: RawAppSettings = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| self.err(at, e.message().to_string()))?;
        for name in &raw.bootstrap_secrets {
            let key = format!("{at}.bootstrap_secrets");
            match variables.get(name) {
                None => {
                    return Err(self.err(
                        key,
                        format!(
                            "`{name}` is not declared; add `[variables] {name} = \
                             {{ default = \"\", secret = true }}`"
                        ),
                    ));
                }
                Some(var) if !var.secret => {
                    return Err(self.err(
                        key,
                        format!("`{name}` is not a secret; add `secret = true` to its declaration"),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(raw.bootstrap_secrets)
    }

    fn variables(
        &self,
        raw: &BTreeMap<String, RawVariable>,
    ) -> Result<BTreeMap<String, AppVariable>, ManifestError> {
        let mut out = BTreeMap::new();
        for (name, v) in raw {
            check_snake_name(name).map_err(|m| self.err(format!("variables.{name}"), m))?;
            if v.required && v.default.is_some() {
                return Err(self.err(
                    format!("variables.{name}"),
                    "a variable cannot be both `required` and have a `default`; keep one",
                ));
            }
            if !v.required && v.default.is_none() {
                return Err(self.err(
                    format!("variables.{name}"),
                    "give the variable a `default` or mark it `required = true`",
                ));
            }
            let var = AppVariable {
                default: v.default.clone(),
                required: v.required,
                secret: v.secret,
            };
            out.insert(name.clone(), var);
        }
        Ok(out)
    }

    fn component(
        &self,
        id: &str,
        c: RawComponent,
        variables: &BTreeMap<String, AppVariable>,
    ) -> Result<ComponentSpec, ManifestError> {
        let key = |k: &str| format!("component.{id}.{k}");
        check_kebab_id(id).map_err(|m| self.err(format!("component.{id}"), m))?;
        let source = match c.source {
            RawSource::Path(p) => self.dir().join(p),
            RawSource::Url { .. } | RawSource::Registry { .. } => {
                return Err(self.err(
                    key("source"),
                    "prompt-mesh loads components from local files only; build the component \
                     and point `source` at the .wasm file",
                ));
            }
        };
        if !c.allowed_http_hosts.is_empty() {
            return Err(self.err(
                key("allowed_http_hosts"),
                "deprecated; move these hosts to `allowed_outbound_hosts` as \"https://host\"",
            ));
        }
        if !c.ai_models.is_empty() {
            return Err(self.err(
                key("ai_models"),
                "prompt-mesh serves no AI models; remove it",
            ));
        }
        for (name, template) in &c.variables {
            check_snake_name(name).map_err(|m| self.err(key(&format!("variables.{name}")), m))?;
            for reference in template_references(template) {
                if !variables.contains_key(&reference) {
                    return Err(self.err(
                        key(&format!("variables.{name}")),
                        format!(
                            "refers to `{{{{ {reference} }}}}`, which is not declared; \
                             add `[variables] {reference} = {{ default = \"...\" }}`"
                        ),
                    ));
                }
            }
        }
        for host in &c.allowed_outbound_hosts {
            self.check_outbound_host(id, host, variables)?;
        }
        for label in &c.key_value_stores {
            check_label(label).map_err(|m| self.err(key("key_value_stores"), m))?;
        }
        for label in &c.sqlite_databases {
            check_label(label).map_err(|m| self.err(key("sqlite_databases"), m))?;
        }
        let files = c
            .files
            .into_iter()
            .enumerate()
            .map(|(i, f)| self.file_mount(id, i, f))
            .collect::<Result<Vec<_>, _>>()?;
        if !c.exclude_files.is_empty() {
            return Err(self.err(
                key("exclude_files"),
                "not supported by prompt-mesh; narrow `files` instead, e.g. with a glob such as \
                 \"static/*.html\"",
            ));
        }
        let mut dependencies = Vec::new();
        for (name, dep) in c.dependencies {
            dependencies.push(self.dependency(id, name, dep)?);
        }
        let mut mesh = MeshSettings::default();
        for (tool, table) in c.tool {
            if tool == "prompt-mesh" {
                mesh = self.mesh_settings(id, table)?;
            }
        }
        let build = c.build.map(|b| BuildSpec {
            commands: match b.command {
                RawCommand::One(c) => vec![c],
                RawCommand::Many(c) => c,
            },
            workdir: b
                .workdir
                .map(|w| self.dir().join(w))
                .unwrap_or_else(|| self.dir()),
            environment: b.environment,
        });
        Ok(ComponentSpec {
            id: id.to_string(),
            source,
            variables: c.variables,
            environment: c.environment,
            files,
            allowed_outbound_hosts: c.allowed_outbound_hosts,
            key_value_stores: c.key_value_stores,
            sqlite_databases: c.sqlite_databases,
            build,
            dependencies_inherit_configuration: c.dependencies_inherit_configuration,
            dependencies,
            mesh,
        })
    }

    /// Checks an `allowed_outbound_hosts` entry. One with `{{ variable }}` templates is
    /// checked for undeclared variables here, and as a host pattern once rendered at start.
    fn check_outbound_host(
        &self,
        id: &str,
        host: &str,
        variables: &BTreeMap<String, AppVariable>,
    ) -> Result<(), ManifestError> {
        let key = format!("component.{id}.allowed_outbound_hosts");
        let references = template_references(host);
        if references.is_empty() {
            return crate::allowed_hosts::AllowedHost::parse(host)
                .map(|_| ())
                .map_err(|m| self.err(key, m));
        }
        match references.into_iter().find(|r| !variables.contains_key(r)) {
            None => Ok(()),
            Some(r) => Err(self.err(
                key,
                format!(
                    "`{host}` refers to `{{{{ {r} }}}}`, which is not declared; add \
                     `[variables] {r} = {{ default = \"...\" }}`"
                ),
            )),
        }
    }

    /// Checks the form of `files[i]`; whether its source exists is checked at start.
    fn file_mount(&self, id: &str, i: usize, f: RawFileMount) -> Result<FileMount, ManifestError> {
        let key = format!("component.{id}.files[{i}]");
        match f {
            RawFileMount::Placement {
                source,
                destination,
            } => {
                if !destination.starts_with('/') {
                    return Err(self.err(
                        key,
                        format!(
                            "destination `{destination}` must be absolute, e.g. \"/{destination}\""
                        ),
                    ));
                }
                if destination.split('/').any(|segment| segment == "..") {
                    return Err(self.err(
                        key,
                        format!("destination `{destination}` must not contain `..`"),
                    ));
                }
                Ok(FileMount::Placement {
                    source: self.dir().join(source),
                    destination,
                })
            }
            RawFileMount::Pattern(p) => {
                check_file_pattern(&p).map_err(|m| self.err(key, m))?;
                Ok(FileMount::Pattern(p))
            }
        }
    }

    fn dependency(
        &self,
        id: &str,
        name: String,
        dep: RawDependency,
    ) -> Result<Dependency, ManifestError> {
        let key = format!("component.{id}.dependencies.\"{name}\"");
        if !name.contains(':') {
            return Err(self.err(
                key,
                "name the imported package, e.g. \"promptmesh:templates\"",
            ));
        }
        let RawDependency::Table(mut table) = dep else {
            return Err(self.err(
                key,
                "registry dependencies cannot be fetched here; use { component = \"<id>\" } \
                 or { path = \"<file>.wasm\" }",
            ));
        };
        let export = match table.remove("export") {
            None => None,
            Some(toml::Value::String(e)) => Some(e),
            Some(_) => return Err(self.err(format!("{key}.export"), "must be a string")),
        };
        if export.is_some() && !name.contains('/') {
            return Err(self.err(
                format!("{key}.export"),
                "an export can satisfy one interface only; name the interface in the key",
            ));
        }
        let target = match (table.remove("component"), table.remove("path")) {
            (Some(toml::Value::String(c)), None) => DependencyTarget::Component(c),
            (None, Some(toml::Value::String(p))) => DependencyTarget::Path(self.dir().join(p)),
            _ => {
                return Err(self.err(
                    key,
                    "write exactly one of { component = \"<id>\" } or { path = \"<file>.wasm\" }",
                ));
            }
        };
        if let Some(extra) = table.keys().next() {
            return Err(self.err(format!("{key}.{extra}"), "unknown setting; remove it"));
        }
        Ok(Dependency {
            name,
            target,
            export,
        })
    }

    fn mesh_settings(&self, id: &str, table: toml::Table) -> Result<MeshSettings, ManifestError> {
        let key = |k: &str| format!("component.{id}.tool.prompt-mesh.{k}");
        let raw: RawMeshSettings =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    self.err(
                        format!("component.{id}.tool.prompt-mesh"),
                        e.message().to_string(),
                    )
                })?;
        let mut mesh = MeshSettings::default();
        if let Some(m) = raw.memory_limit {
            mesh.memory_limit_bytes =
                units::parse_nonzero_bytes(&m).map_err(|e| self.err(key("memory_limit"), e))?;
        }
        if let Some(t) = raw.timeout {
            mesh.timeout =
                units::parse_nonzero_duration(&t).map_err(|e| self.err(key("timeout"), e))?;
        }
        if let Some(n) = raw.max_instances {
            if n == 0 {
                return Err(self.err(key("max_instances"), "must be at least 1"));
            }
            mesh.max_instances = n;
        }
        if let Some(b) = raw.max_request_body {
            mesh.max_request_body_bytes =
                units::parse_nonzero_bytes(&b).map_err(|e| self.err(key("max_request_body"), e))?;
        }
        if let Some(n) = raw.message_concurrency {
            if n == 0 {
                return Err(self.err(
                    key("message_concurrency"),
                    "must be at least 1 (1 handles messages one at a time, in order)",
                ));
            }
            mesh.message_concurrency = n;
        }
        if let Some(every) = raw.wake_every {
            let every = units::parse_nonzero_duration(&every)
                .map_err(|e| self.err(key("wake_every"), e))?;
            mesh.wake_every = Some(every);
        }
        Ok(mesh)
    }

    fn check_references(&self, m: &Manifest) -> Result<(), ManifestError> {
        let known = |c: &str| m.components.contains_key(c);
        for (i, t) in m.http_triggers.iter().enumerate() {
            if !known(&t.component) {
                return Err(self.unknown_component(
                    &format!("trigger.http[{i}].component"),
                    &t.component,
                    m,
                ));
            }
        }
        for (i, t) in m.redis_triggers.iter().enumerate() {
            if !known(&t.component) {
                return Err(self.unknown_component(
                    &format!("trigger.redis[{i}].component"),
                    &t.component,
                    m,
                ));
            }
        }
        self.check_duplicate_routes(&m.http_triggers)?;
        for c in m.components.values() {
            let redis_triggered = m.redis_triggers.iter().any(|t| t.component == c.id);
            if c.mesh.wake_every.is_some() && !redis_triggered {
                return Err(self.err(
                    format!("component.{}.tool.prompt-mesh.wake_every", c.id),
                    "wakes a Redis handler, and this component has no [[trigger.redis]]; add \
                     one, or remove wake_every",
                ));
            }
            for d in &c.dependencies {
                if let DependencyTarget::Component(target) = &d.target {
                    let key = format!("component.{}.dependencies.\"{}\"", c.id, d.name);
                    if !known(target) {
                        return Err(self.unknown_component(&key, target, m));
                    }
                    if target == &c.id {
                        return Err(self.err(key, "a component cannot serve its own imports"));
                    }
                }
            }
        }
        Ok(())
    }

    fn unknown_component(&self, key: &str, id: &str, m: &Manifest) -> ManifestError {
        let ids: Vec<&str> = m.components.keys().map(String::as_str).collect();
        self.err(
            key,
            format!(
                "no component `{id}`; add `[component.{id}]` or use one of: {}",
                ids.join(", ")
            ),
        )
    }
}

/// `{{ name }}` references in a variable template.
pub fn template_references(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// A `files` string must name files inside the manifest folder, as Spin requires.
fn check_file_pattern(pattern: &str) -> Result<(), String> {
    let escapes = Path::new(pattern).is_absolute()
        || Path::new(pattern)
            .components()
            .any(|c| c == std::path::Component::ParentDir);
    if escapes {
        return Err(format!(
            "`{pattern}` is outside the manifest's folder; mount other folders with \
             {{ source = \"...\", destination = \"/...\" }}"
        ));
    }
    if pattern.is_empty() || pattern == "." || pattern.ends_with("/.") {
        return Err(format!(
            "`{pattern}` names no file; use a glob such as \"static/**/*\" or \
             {{ source = \"static\", destination = \"/static\" }}"
        ));
    }
    Ok(())
}

fn check_kebab_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && id.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "component id `{id}` must be kebab-case, e.g. `my-component`"
        ))
    }
}

fn check_snake_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("variable name `{name}` must be lower_snake_case"))
    }
}

fn check_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("label `{label}` must be kebab-case or snake_case"))
    }
}

#[cfg(test)]
mod tests;
