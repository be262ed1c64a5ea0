//! Links a component's imports to other components' exports at run time.
//!
//! Each function of an imported interface becomes a host trampoline: it takes an instance
//! of the serving component from that component's pool, copies the arguments across, calls
//! the export and copies the results back. Every such call is an edge of the mesh.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use wasmtime::component::types::{ComponentFunc, ComponentInstance, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex, Linker, Val};
use wasmtime::{Engine, StoreContextMut};

use crate::app::ComponentRuntime;
use crate::deadline::Deadline;
use crate::manifest::{ComponentSpec, Dependency, DependencyTarget};
use crate::mesh::{Edge, EdgeKey, Mesh, Outcome};
use crate::state::{Grants, StoreState};

/// What linking needs from the application being loaded.
pub struct LinkContext<'a> {
    pub engine: &'a Engine,
    pub mesh: &'a Arc<Mesh>,
    /// Components already linked: every component this one may import.
    pub loaded: &'a BTreeMap<String, Arc<ComponentRuntime>>,
}

/// One imported function, bound to the export that serves it.
struct Binding {
    callee: Arc<ComponentRuntime>,
    func: ComponentExportIndex,
    edge: Arc<Edge>,
    mesh: Arc<Mesh>,
    /// The importer's `dependencies_inherit_configuration`.
    lends_grants: bool,
}

/// Adds a trampoline to `linker` for every function of every import of `component` that
/// `spec.dependencies` assigns to another component.
pub fn link_dependencies(
    linker: &mut Linker<StoreState>,
    ctx: &LinkContext<'_>,
    spec: &ComponentSpec,
    component: &Component,
    mut load_path: impl FnMut(&Path) -> anyhow::Result<Arc<ComponentRuntime>>,
) -> anyhow::Result<()> {
    let ty = component.component_type();
    let mut used = vec![false; spec.dependencies.len()];
    for (import, item) in ty.imports(ctx.engine) {
        let Some(index) = spec.dependencies.iter().position(|d| serves(d, import)) else {
            continue;
        };
        used[index] = true;
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            bail!(
                "component `{}`: import `{import}` is not an interface; only interfaces can be linked",
                spec.id
            );
        };
        let dep = &spec.dependencies[index];
        let callee = match &dep.target {
            DependencyTarget::Component(id) => ctx.loaded.get(id).cloned().with_context(|| {
                format!("component `{}`: dependency `{id}` is not loaded", spec.id)
            })?,
            DependencyTarget::Path(path) => load_path(path)?,
        };
        let export = dep.export.clone().unwrap_or_else(|| import.to_string());
        link_interface(linker, ctx, spec, import, &instance, &callee, &export)?;
    }
    for (dep, used) in spec.dependencies.iter().zip(used) {
        if !used {
            tracing::warn!(component = %spec.id, dependency = %dep.name, "Dependency matches no import of the component");
        }
    }
    Ok(())
}

/// Whether dependency `dep` (named `pkg:name[/iface][@ver]`) serves `import`.
fn serves(dep: &Dependency, import: &str) -> bool {
    let (dep_path, dep_version) = split_version(&dep.name);
    let (import_path, import_version) = split_version(import);
    let version_ok = dep_version.is_none() || dep_version == import_version;
    let path_ok = if dep_path.contains('/') {
        dep_path == import_path
    } else {
        import_path.split_once('/').map(|(package, _)| package) == Some(dep_path)
    };
    version_ok && path_ok
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (name, None),
    }
}

fn link_interface(
    linker: &mut Linker<StoreState>,
    ctx: &LinkContext<'_>,
    spec: &ComponentSpec,
    import: &str,
    instance: &ComponentInstance,
    callee: &Arc<ComponentRuntime>,
    export: &str,
) -> anyhow::Result<()> {
    let callee_component = callee.pre.component();
    let (export_name, export_index) = find_export(callee_component, export).with_context(|| {
        format!(
            "component `{}` imports `{import}`, but component `{}` exports no `{export}`; \
             point the dependency at a component that exports it",
            spec.id, callee.id
        )
    })?;
    let callee_type = callee_component.component_type();
    let exported = match callee_type
        .get_export(ctx.engine, &export_name)
        .map(|e| e.ty)
    {
        Some(ComponentItem::ComponentInstance(exported)) => exported,
        _ => bail!(
            "component `{}`: export `{export_name}` is not an interface",
            callee.id
        ),
    };
    let edge = ctx.mesh.edge(EdgeKey {
        caller: spec.id.clone(),
        callee: callee.id.clone(),
        interface: import.to_string(),
    });
    let mut interface = linker.instance(import)?;
    for (name, item) in instance.exports(ctx.engine) {
        let ComponentItem::ComponentFunc(wanted) = item.ty else {
            continue; // types and resources need no trampoline
        };
        let offered = match exported.get_export(ctx.engine, name).map(|e| e.ty) {
            Some(ComponentItem::ComponentFunc(offered)) => Some(offered),
            _ => None,
        };
        if let Some(offered) = &offered {
            if !same_signature(&wanted, offered) {
                bail!(
                    "component `{}` imports `{import}#{name}` with a signature that `{}` does not \
                     export; rebuild both against the same WIT",
                    spec.id,
                    callee.id
                );
            }
        }
        let func = callee_component.get_export_index(Some(&export_index), name).with_context(|| {
            format!(
                "component `{}` imports `{import}#{name}`, but `{}` does not export that function",
                spec.id, callee.id
            )
        })?;
        let binding = Arc::new(Binding {
            callee: callee.clone(),
            func,
            edge: edge.clone(),
            mesh: ctx.mesh.clone(),
            lends_grants: spec.dependencies_inherit_configuration,
        });
        interface.func_new_async(name, move |store, _ty, params, results| {
            let binding = binding.clone();
            Box::new(async move { binding.call(store, params, results).await })
        })?;
    }
    Ok(())
}

/// The export of `component` named `export`, or one that differs from it only in its
/// version, with the name it has there.
fn find_export(component: &Component, export: &str) -> Option<(String, ComponentExportIndex)> {
    if let Some(index) = component.get_export_index(None, export) {
        return Some((export.to_string(), index));
    }
    let (path, _) = split_version(export);
    let engine = component.engine();
    let ty = component.component_type();
    let name = ty
        .exports(engine)
        .map(|(n, _)| n)
        .find(|n| split_version(n).0 == path)?;
    let index = component.get_export_index(None, name)?;
    Some((name.to_string(), index))
}

/// Whether two function types take and return the same types (parameter names may differ).
fn same_signature(a: &ComponentFunc, b: &ComponentFunc) -> bool {
    a.params().map(|(_, t)| t).eq(b.params().map(|(_, t)| t)) && a.results().eq(b.results())
}

impl Binding {
    async fn call(
        &self,
        caller: StoreContextMut<'_, StoreState>,
        params: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        // A dependency runs with what its importer lends it, as under Spin.
        let identity = &caller.data().identity;
        let grants = if self.lends_grants {
            identity.grants.clone()
        } else {
            Arc::new(Grants::none(&identity.component))
        };
        // The callee has its own timeout, and no more than what its caller has left.
        let deadline = Deadline::within(self.callee.settings.timeout, Some(caller.data().deadline));
        self.mesh
            .call(&self.edge, || async {
                let call = async {
                    let mut prepared = self.callee.prepare(grants, deadline).await?;
                    let store = &mut prepared.store;
                    let instance = self.callee.pre.instantiate_async(&mut *store).await?;
                    let func = instance
                        .get_func(&mut *store, self.func)
                        .context("linked export is not a function")?;
                    func.call_async(&mut *store, params, results).await?;
                    anyhow::Ok(outcome(results))
                };
                deadline.run(&self.callee.id, call).await?
            })
            .await
            .map(|_| ())
            .map_err(wasmtime::Error::from_anyhow)
    }
}

fn outcome(results: &[Val]) -> Outcome {
    match results.first() {
        Some(Val::Result(Err(_))) => Outcome::ErrResult,
        _ => Outcome::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str) -> Dependency {
        Dependency {
            name: name.into(),
            target: DependencyTarget::Component("x".into()),
            export: None,
        }
    }

    #[test]
    fn dependency_names_match_packages_interfaces_and_versions() {
        let import = "promptmesh:templates/store@0.1.0";
        assert!(serves(&dep("promptmesh:templates"), import));
        assert!(serves(&dep("promptmesh:templates@0.1.0"), import));
        assert!(serves(&dep("promptmesh:templates/store"), import));
        assert!(serves(&dep("promptmesh:templates/store@0.1.0"), import));
        assert!(!serves(&dep("promptmesh:templates/other"), import));
        assert!(!serves(&dep("promptmesh:templates@0.2.0"), import));
        assert!(!serves(&dep("promptmesh:temp"), import));
        assert!(!serves(&dep("promptmesh:jobs"), import));
    }
}
