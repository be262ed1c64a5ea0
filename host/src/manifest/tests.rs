use super::*;

const VALID: &str = r#"
spin_manifest_version = 2

[application]
name = "demo"
version = "0.1.0"

[application.trigger.redis]
address = "redis://localhost:6379"

[variables]
api_host = { default = "example.com" }
token = { required = true, secret = true }

[[trigger.http]]
route = "/api/..."
component = "gateway"

[[trigger.http]]
route = { private = true }
component = "hidden"

[[trigger.redis]]
channel = "jobs"
component = "worker"

[component.gateway]
source = "target/gateway.wasm"
allowed_outbound_hosts = ["https://{{ api_host }}", "http://hidden.spin.internal"]
key_value_stores = ["default"]
variables = { endpoint = "https://{{ api_host }}/v1" }
dependencies_inherit_configuration = true
[component.gateway.build]
command = "cargo build --release"
workdir = "gateway"
[component.gateway.dependencies]
"promptmesh:templates" = { component = "hidden" }
"promptmesh:jobs/queue@0.1.0" = { path = "deps/queue.wasm", export = "promptmesh:jobs/queue@0.1.0" }
[component.gateway.tool.prompt-mesh]
memory_limit = "64MiB"
timeout = "2s"
max_instances = 8
message_concurrency = 4

[component.hidden]
source = "hidden.wasm"

[component.worker]
source = "worker.wasm"
"#;

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(Path::new("app/spin.toml"), text)
}

fn error_of(text: &str) -> String {
    parse(text)
        .expect_err("manifest should be refused")
        .to_string()
}

#[test]
fn loads_a_complete_manifest() {
    let m = parse(VALID).expect("valid manifest");
    assert_eq!(m.name, "demo");
    assert_eq!(m.dir, PathBuf::from("app"));
    assert_eq!(m.http_triggers.len(), 2);
    assert_eq!(m.http_triggers[0].route, Route::Path("/api/...".into()));
    assert_eq!(m.http_triggers[1].route, Route::Private);
    assert_eq!(m.redis_triggers[0].address, "redis://localhost:6379");
    assert_eq!(m.redis_triggers[0].channel, "jobs");
    let gw = m.component("gateway").expect("gateway exists");
    assert_eq!(gw.source, PathBuf::from("app/target/gateway.wasm"));
    assert_eq!(gw.variables["endpoint"], "https://{{ api_host }}/v1");
    assert!(gw.dependencies_inherit_configuration);
    assert_eq!(
        gw.dependencies,
        vec![
            Dependency {
                name: "promptmesh:jobs/queue@0.1.0".into(),
                target: DependencyTarget::Path(PathBuf::from("app/deps/queue.wasm")),
                export: Some("promptmesh:jobs/queue@0.1.0".into()),
            },
            Dependency {
                name: "promptmesh:templates".into(),
                target: DependencyTarget::Component("hidden".into()),
                export: None,
            },
        ]
    );
    let build = gw.build.as_ref().expect("gateway has a build");
    assert_eq!(build.commands, vec!["cargo build --release".to_string()]);
    assert_eq!(build.workdir, PathBuf::from("app/gateway"));
    assert_eq!(
        gw.mesh,
        MeshSettings {
            memory_limit_bytes: 64 << 20,
            timeout: Duration::from_secs(2),
            max_instances: 8,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            message_concurrency: 4,
            wake_every: None,
        }
    );
    assert_eq!(
        m.component("hidden").expect("hidden exists").mesh,
        MeshSettings::default()
    );
    assert_eq!(
        m.variables["token"],
        AppVariable {
            default: None,
            required: true,
            secret: true
        }
    );
}

#[test]
fn unknown_component_key_is_named_with_its_line() {
    let text = VALID.replace(
        "source = \"hidden.wasm\"",
        "source = \"hidden.wasm\"\nallowed_hosts = []",
    );
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `line 47`: unknown field `allowed_hosts`, expected one of `source`, \
         `description`, `variables`, `environment`, `files`, `exclude_files`, \
         `allowed_outbound_hosts`, `allowed_http_hosts`, `key_value_stores`, `sqlite_databases`, \
         `ai_models`, `build`, `tool`, `dependencies_inherit_configuration`, `dependencies`; \
         remove it or fix its spelling"
    );
}

#[test]
fn trigger_naming_a_missing_component_is_refused() {
    let text = VALID.replace("component = \"worker\"", "component = \"wroker\"");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `trigger.redis[0].component`: no component `wroker`; add \
         `[component.wroker]` or use one of: gateway, hidden, worker"
    );
}

#[test]
fn wrong_manifest_version_is_refused() {
    let text = VALID.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `spin_manifest_version`: version 1 is not supported; write \
         `spin_manifest_version = 2`"
    );
}

#[test]
fn bad_outbound_host_is_refused() {
    let text = VALID.replace(
        "\"http://hidden.spin.internal\"",
        "\"hidden.spin.internal\"",
    );
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `component.gateway.allowed_outbound_hosts`: `hidden.spin.internal` has \
         no scheme; write it as \"scheme://host[:port]\", e.g. \"https://api.example.com\""
    );
}

#[test]
fn undeclared_variable_reference_is_refused() {
    let text = VALID.replace("/v1\" }", "/{{ version }}\" }");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `component.gateway.variables.endpoint`: refers to `{{ version }}`, which \
         is not declared; add `[variables] version = { default = \"...\" }`"
    );
}

#[test]
fn mesh_settings_need_units() {
    let text = VALID.replace("timeout = \"2s\"", "timeout = \"2\"");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `component.gateway.tool.prompt-mesh.timeout`: `2` has no unit: write \
         `2s` or `2ms`"
    );
}

#[test]
fn duplicate_routes_are_refused() {
    let text = VALID.replace("route = { private = true }", "route = \"/api/...\"");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `trigger.http[1].route`: route \"/api/...\" is already served by \
         trigger.http[0]; change one"
    );
}

#[test]
fn registry_dependencies_are_refused_with_the_alternatives() {
    let text = VALID.replace("{ component = \"hidden\" }", "\"^0.1\"");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `component.gateway.dependencies.\"promptmesh:templates\"`: registry \
         dependencies cannot be fetched here; use { component = \"<id>\" } or { path = \
         \"<file>.wasm\" }"
    );
}

#[test]
fn unsupported_trigger_type_is_refused() {
    let text = format!("{VALID}\n[[trigger.cron]]\ncomponent = \"worker\"\n");
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `trigger.cron`: prompt-mesh serves `http` and `redis` triggers only; \
         remove this trigger"
    );
}

#[test]
fn template_references_are_found() {
    assert_eq!(
        template_references("a {{ x }} b {{y}}"),
        vec!["x".to_string(), "y".to_string()]
    );
    assert_eq!(template_references("plain"), Vec::<String>::new());
}

#[test]
fn bootstrap_secrets_must_be_declared_secret_variables() {
    let with = |names: &str| {
        VALID.replace(
            "[application.trigger.redis]",
            &format!(
                "[application.tool.prompt-mesh]\nbootstrap_secrets = [{names}]\n\n\
                 [application.trigger.redis]"
            ),
        )
    };
    let manifest = Manifest::parse(Path::new("app/spin.toml"), &with("\"token\""))
        .expect("a declared secret can be bootstrapped");
    assert_eq!(manifest.bootstrap_secrets, vec!["token".to_string()]);
    assert_eq!(
        error_of(&with("\"api_host\"")),
        "app/spin.toml: `application.tool.prompt-mesh.bootstrap_secrets`: `api_host` is not a \
         secret; add `secret = true` to its declaration"
    );
    assert_eq!(
        error_of(&with("\"admin_key\"")),
        "app/spin.toml: `application.tool.prompt-mesh.bootstrap_secrets`: `admin_key` is not \
         declared; add `[variables] admin_key = { default = \"\", secret = true }`"
    );
    let unknown = VALID.replace(
        "[application.trigger.redis]",
        "[application.tool.prompt-mesh]\nsecrets = []\n\n[application.trigger.redis]",
    );
    assert_eq!(
        error_of(&unknown),
        "app/spin.toml: `application.tool.prompt-mesh`: unknown field `secrets`, expected \
         `bootstrap_secrets`"
    );
}

#[test]
fn wake_every_is_read_for_a_redis_triggered_component() {
    let text = VALID.replace(
        "[component.worker]\nsource = \"worker.wasm\"",
        "[component.worker]\nsource = \"worker.wasm\"\n[component.worker.tool.prompt-mesh]\nwake_every = \"500ms\"",
    );
    let m = parse(&text).expect("valid");
    assert_eq!(
        m.component("worker").expect("worker").mesh.wake_every,
        Some(Duration::from_millis(500))
    );
}

#[test]
fn wake_every_without_a_redis_trigger_is_refused() {
    let text = VALID.replace(
        "[component.hidden]\nsource = \"hidden.wasm\"",
        "[component.hidden]\nsource = \"hidden.wasm\"\n[component.hidden.tool.prompt-mesh]\nwake_every = \"1s\"",
    );
    assert_eq!(
        error_of(&text),
        "app/spin.toml: `component.hidden.tool.prompt-mesh.wake_every`: wakes a Redis handler, \
         and this component has no [[trigger.redis]]; add one, or remove wake_every"
    );
}
