//! The command line: a broken manifest is refused with the key and the fix, `build` runs the
//! manifest's build commands, and a second start reuses the compile cache.

mod support;

use std::process::Command;

use support::Host;

#[test]
fn broken_manifest_is_refused_naming_the_key() {
    let manifest = "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"web.wasm\"\nallowed_outbound_host = [\"https://example.com\"]\n";
    let output = support::run_up_expecting_failure(manifest);
    assert!(
        output.contains("spin.toml: `line 11`: unknown field `allowed_outbound_host`"),
        "{output}"
    );
    assert!(output.contains("remove it or fix its spelling"), "{output}");
}

#[test]
fn build_runs_each_components_commands_in_its_workdir() {
    let dir = tempfile::tempdir().expect("test folder");
    std::fs::create_dir(dir.path().join("web")).expect("workdir");
    let manifest = r#"
spin_manifest_version = 2
[application]
name = "built"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web/out.wasm"
[component.web.build]
command = ["echo one > marker", "echo two >> marker"]
workdir = "web"
[component.lib]
source = "lib.wasm"
"#;
    std::fs::write(dir.path().join("spin.toml"), manifest).expect("manifest");
    let output = Command::new(env!("CARGO_BIN_EXE_prompt-mesh"))
        .args(["build", "--manifest"])
        .arg(dir.path().join("spin.toml"))
        .output()
        .expect("running prompt-mesh build");
    assert!(output.status.success(), "{output:?}");
    let marker = std::fs::read_to_string(dir.path().join("web/marker")).expect("marker written");
    assert_eq!(marker, "one\ntwo\n");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Component `lib` has no build command; skipping"),
        "{stdout}"
    );
}

#[test]
fn failing_build_names_the_component_and_command() {
    let dir = tempfile::tempdir().expect("test folder");
    let manifest = "spin_manifest_version = 2\n[application]\nname = \"b\"\n[component.web]\nsource = \"w.wasm\"\n[component.web.build]\ncommand = \"exit 3\"\n";
    std::fs::write(dir.path().join("spin.toml"), manifest).expect("manifest");
    let output = Command::new(env!("CARGO_BIN_EXE_prompt-mesh"))
        .args(["build", "--manifest"])
        .arg(dir.path().join("spin.toml"))
        .output()
        .expect("running prompt-mesh build");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("build of component `web` failed (exit status: 3): `exit 3`"),
        "{stderr}"
    );
}

#[test]
fn start_reports_routes_and_a_second_start_reuses_the_compile_cache() {
    let manifest = "spin_manifest_version = 2\n[application]\nname = \"c\"\n[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"{fixtures}/fixture_http.wasm\"\n";
    let cache = tempfile::tempdir().expect("cache folder");
    let options = || support::HostOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let mut host = Host::start_with(manifest, options());
    let loaded = |host: &Host| {
        let line = &host.startup[0];
        assert!(line.starts_with("Loaded components web in "), "{line}");
        line.split_once(" ms (")
            .expect("a time in ms")
            .1
            .to_string()
    };
    assert_eq!(
        loaded(&host),
        format!(
            "pooling allocator, 100 instance slots; modules: 0 from the compile cache, 1 compiled)"
        )
    );
    assert_eq!(host.startup[1], format!("Serving {}", host.base));
    assert_eq!(
        host.startup[2..],
        [
            "Available Routes:".to_string(),
            format!("  web: {}/hello/...", host.base),
        ]
    );
    assert_eq!(host.get("/hello/echo").status, 200);
    let cached = count_files(cache.path());
    assert!(cached >= 1, "the compile cache is empty");

    host.restart();
    assert_eq!(host.get("/hello/echo").status, 200);
    assert_eq!(
        loaded(&host),
        "pooling allocator, 100 instance slots; modules: 1 from the compile cache, 0 compiled)"
    );
    assert_eq!(
        count_files(cache.path()),
        cached,
        "the second start compiled again"
    );
    let health = host.get("/.well-known/prompt-mesh/health");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
}

#[test]
fn the_default_relative_folders_work_from_the_working_directory() {
    let manifest = "spin_manifest_version = 2\n[application]\nname = \"d\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"{fixtures}/fixture_http.wasm\"\nkey_value_stores = [\"default\"]\n";
    let mut host = Host::start_with(
        manifest,
        support::HostOptions {
            relative_defaults: true,
            ..Default::default()
        },
    );
    assert_eq!(host.post("/kv/set/colour", "teal").body, "ok");
    host.restart();
    let kept = host.get("/kv/get/colour");
    assert_eq!((kept.status, kept.body.as_str()), (200, "teal"));
    let data = host.dir.path().join(".prompt-mesh");
    assert!(
        data.join("key_value.db").is_file(),
        "no store in {}",
        data.display()
    );
    assert!(
        count_files(&data.join("cache")) >= 1,
        "no compile cache in {}",
        data.display()
    );
}

/// The compiled modules under `dir`: wasmtime's cache also keeps usage `.stats` files, which
/// its worker thread writes in the background after a start, and lock files.
fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("readable folder")
        .map(|e| e.expect("folder entry"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                count_files(&e.path())
            } else if name.ends_with(".stats") || name.starts_with('.') {
                0
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn short_address_space_falls_back_from_pooling_and_still_serves() {
    let manifest = "spin_manifest_version = 2\n[application]\nname = \"v\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"{fixtures}/fixture_http.wasm\"\n[component.web.tool.prompt-mesh]\nmemory_limit = \"64MiB\"\n";
    // 3 GiB of address space: less than the pool or one default 4 GiB memory reservation
    // needs, enough for instances that reserve only their memory limit.
    let options = support::HostOptions {
        shell_prefix: Some("ulimit -v 3145728".into()),
        ..Default::default()
    };
    let host = Host::start_with(manifest, options);
    assert!(
        host.startup[0].contains(" ms (on-demand allocator (pooling unavailable); modules: "),
        "{:?}",
        host.startup
    );
    assert_eq!(host.get("/noop").status, 200);
    assert_eq!(
        host.get("/grow").status,
        500,
        "the memory limit still holds"
    );
    assert!(
        host.log()
            .contains("Pooling allocator unavailable; allocating on demand")
    );
}
