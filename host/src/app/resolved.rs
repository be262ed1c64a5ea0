//! What the manifest gives each component once checked against this machine and the
//! application variables, before any component is compiled: outbound hosts with their
//! `{{ variable }}` templates rendered, and file mounts found on disk.

use std::collections::BTreeMap;
use std::path::Path;

use crate::allowed_hosts::AllowedHosts;
use crate::capability::variables::Variables;
use crate::manifest::{ComponentSpec, Manifest, ManifestError, template_references};
use crate::mounts::{self, Mount};

/// One component's grants and mounts as they apply on this start.
pub struct Resolved {
    pub allowed_outbound_hosts: AllowedHosts,
    pub mounts: Vec<Mount>,
}

/// Resolves every component of `manifest`; copies for file mounts go under `data_dir`.
pub fn resolve_all(
    manifest: &Manifest,
    variables: &Variables,
    data_dir: &Path,
) -> anyhow::Result<BTreeMap<String, Resolved>> {
    let copies = data_dir.join(mounts::COPIES_FOLDER);
    let mut out = BTreeMap::new();
    for spec in manifest.components.values() {
        let resolved = Resolved {
            allowed_outbound_hosts: outbound_hosts(manifest, spec, variables)?,
            mounts: mounts::resolve(manifest, spec, &copies)?,
        };
        out.insert(spec.id.clone(), resolved);
    }
    Ok(out)
}

/// `allowed_outbound_hosts` rendered with the application variables, as Spin renders them.
fn outbound_hosts(
    manifest: &Manifest,
    spec: &ComponentSpec,
    variables: &Variables,
) -> Result<AllowedHosts, ManifestError> {
    let render = |entry: &str| variables.render(entry).map_err(|e| e.to_string());
    AllowedHosts::parse_rendered(&spec.allowed_outbound_hosts, render).map_err(|message| {
        let message = match secret_reference(manifest, spec) {
            // A secret's value stays out of the message, as it stays out of the logs.
            Some(secret) => format!(
                "an entry does not render to a valid host pattern; it is not shown because \
                 it uses the secret variable `{secret}`"
            ),
            None => message,
        };
        ManifestError {
            file: manifest.path.clone(),
            key: format!("component.{}.allowed_outbound_hosts", spec.id),
            message,
        }
    })
}

/// A secret application variable that one of `spec`'s outbound hosts refers to, if any.
fn secret_reference(manifest: &Manifest, spec: &ComponentSpec) -> Option<String> {
    spec.allowed_outbound_hosts
        .iter()
        .flat_map(|entry| template_references(entry))
        .find(|name| manifest.variables.get(name).is_some_and(|v| v.secret))
}
