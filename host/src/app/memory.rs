//! `memory_limit` against the memory a component's modules declare they start with: a
//! limit below it would fail every instantiation, so it is refused when the component loads.

use std::path::Path;

use wasmtime::component::Component;
use wasmtime::{Config, Engine};

use crate::manifest::units::format_bytes;
use crate::manifest::{ComponentSpec, Manifest, ManifestError};

/// Bytes in one Wasm page, the unit of memory sizes in a module.
const WASM_PAGE_BYTES: u64 = 64 << 10;

/// The largest memory any core module of `component` starts with, in bytes.
pub fn initial_memory_bytes(component: &Component) -> Option<u64> {
    let pages = component.resources_required()?.max_initial_memory_size?;
    Some(pages * WASM_PAGE_BYTES)
}

/// Measures the component at `path` with a plain engine, for when the pooling allocator has
/// refused to compile it because its memory is larger than the pool's slots.
pub fn measure_initial_memory(path: &Path) -> Option<u64> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).ok()?;
    let component = Component::from_file(&engine, path).ok()?;
    initial_memory_bytes(&component)
}

/// Refuses `spec`'s `memory_limit` when it is below `initial` bytes.
pub fn check_limit(
    manifest: &Manifest,
    spec: &ComponentSpec,
    initial: u64,
) -> Result<(), ManifestError> {
    let limit = spec.mesh.memory_limit_bytes;
    if initial <= limit {
        return Ok(());
    }
    let enough = initial.div_ceil(1 << 20) << 20;
    Err(ManifestError {
        file: manifest.path.clone(),
        key: format!("component.{}.tool.prompt-mesh.memory_limit", spec.id),
        message: format!(
            "`{}` is less than the {} ({} Wasm pages of 64KiB) that the memory of component \
             `{}` starts with; set it to at least `{}`",
            format_bytes(limit),
            format_bytes(initial),
            initial / WASM_PAGE_BYTES,
            spec.id,
            format_bytes(enough)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
        spin_manifest_version = 2
        [application]
        name = "small"
        [component.tiny]
        source = "tiny.wasm"
        [component.tiny.tool.prompt-mesh]
        memory_limit = "1MiB"
    "#;

    fn component_with_memory(pages: u32) -> Component {
        let wat = format!(
            "(component (core module $m (memory {pages})) (core instance (instantiate $m)))"
        );
        let engine =
            Engine::new(Config::new().wasm_component_model(true)).expect("a default engine");
        Component::new(&engine, wat).expect("the test component compiles")
    }

    #[test]
    fn a_limit_below_the_initial_memory_names_the_key_and_the_minimum() {
        let manifest = Manifest::parse(Path::new("app/spin.toml"), MANIFEST).expect("valid");
        let spec = &manifest.components["tiny"];
        let initial = initial_memory_bytes(&component_with_memory(17)).expect("one memory");

        assert_eq!(initial, 1_114_112);
        assert_eq!(
            check_limit(&manifest, spec, initial)
                .expect_err("17 pages do not fit in 1MiB")
                .to_string(),
            "app/spin.toml: `component.tiny.tool.prompt-mesh.memory_limit`: `1MiB` is less than \
             the 1088KiB (17 Wasm pages of 64KiB) that the memory of component `tiny` starts \
             with; set it to at least `2MiB`"
        );
        let fits = initial_memory_bytes(&component_with_memory(16)).expect("one memory");
        assert!(
            check_limit(&manifest, spec, fits).is_ok(),
            "16 pages fit in 1MiB"
        );
    }
}
