//! The application itself (the repo's `spin.toml` and its seven components) under a test
//! host, with a JSON client of its REST API.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::{Host, HostOptions, Reply, client};

/// The admin key every test application gets (`SPIN_VARIABLE_ADMIN_API_KEY`).
pub const ADMIN: &str = "pm_0123456789abcdef0123456789abcdef";
/// The webhook signing secret of every test application.
pub const WEBHOOK_SECRET: &str = "pm_fedcba9876543210fedcba9876543210";

/// The application's crates, as `cargo -p` names them.
const COMPONENTS: [&str; 7] = [
    "api-gateway",
    "template-service",
    "prompt-service",
    "queue-service",
    "generation-worker",
    "rating-service",
    "imagine-sandbox",
];

/// The folder holding the built components (`<crate_name>.wasm`), built once per test run.
pub fn components() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = match std::env::var_os("PROMPT_MESH_COMPONENT_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("components"),
        };
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .current_dir(workspace())
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .arg("--target-dir")
            .arg(&target);
        for component in COMPONENTS {
            cargo.args(["-p", component]);
        }
        for var in [
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_TARGET",
        ] {
            cargo.env_remove(var);
        }
        let status = cargo
            .status()
            .expect("running cargo to build the components");
        assert!(status.success(), "building the components failed: {status}");
        target.join("wasm32-wasip2/release")
    })
}

/// The repository root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf()
}

/// The repo's `spin.toml`, with sources pointing at the built components.
pub fn manifest() -> String {
    let text = std::fs::read_to_string(workspace().join("spin.toml")).expect("reading spin.toml");
    text.replace(
        "target/wasm32-wasip2/release/",
        &format!("{}/", components().display()),
    )
}

/// Settings of a test application, on top of fast sandbox defaults.
#[derive(Default)]
pub struct AppOptions {
    /// `(variable, value)` pairs, set as `SPIN_VARIABLE_<NAME>`.
    pub variables: Vec<(&'static str, String)>,
    /// `(text, replacement)` edits of the repo's `spin.toml`, each of which must apply.
    pub manifest_edits: Vec<(&'static str, &'static str)>,
}

/// A running application.
pub struct App {
    pub host: Host,
}

impl App {
    /// The application with a 150 ms sandbox provider and a 25 ms poll interval.
    pub fn start() -> App {
        App::start_with(AppOptions::default())
    }

    pub fn start_with(options: AppOptions) -> App {
        let mut variables: Vec<(&str, String)> = vec![
            ("admin_api_key", ADMIN.into()),
            ("webhook_secret", WEBHOOK_SECRET.into()),
            ("sandbox_latency_ms", "150".into()),
            ("sandbox_progress_steps", "3".into()),
            ("poll_interval_ms", "25".into()),
            ("sandbox_image_size", "64".into()),
        ];
        for (name, value) in options.variables {
            variables.retain(|(n, _)| *n != name);
            variables.push((name, value));
        }
        let envs = variables
            .into_iter()
            .map(|(n, v)| (format!("SPIN_VARIABLE_{}", n.to_ascii_uppercase()), v))
            .collect();
        let mut text = manifest();
        for (from, to) in options.manifest_edits {
            assert!(text.contains(from), "spin.toml has no `{from}` to replace");
            text = text.replace(from, to);
        }
        let host = Host::start_with(
            &text,
            HostOptions {
                envs,
                ..HostOptions::default()
            },
        );
        App { host }
    }

    /// Sends `method path` with `key` and an optional JSON body.
    pub fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = client().request(method, self.host.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.host.send(request)
    }

    pub fn get(&self, path: &str, key: &str) -> Reply {
        self.call("GET", path, Some(key), None)
    }

    pub fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.call("POST", path, Some(key), Some(body))
    }

    pub fn put(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.call("PUT", path, Some(key), Some(body))
    }

    pub fn delete(&self, path: &str, key: &str) -> Reply {
        self.call("DELETE", path, Some(key), None)
    }

    /// Creates an API key of `tier` and returns it.
    pub fn key(&self, name: &str, tier: &str) -> String {
        let reply = self.post(
            "/api/keys",
            ADMIN,
            &serde_json::json!({ "name": name, "tier": tier }),
        );
        assert_eq!(reply.status, 201, "creating a key: {}", reply.body);
        reply.json()["key"]
            .as_str()
            .expect("the new key is in the answer")
            .to_string()
    }

    /// Creates a template and returns its id.
    pub fn template(&self, name: &str, body: &str) -> String {
        let reply = self.post(
            "/api/templates",
            ADMIN,
            &serde_json::json!({ "name": name, "body": body }),
        );
        assert_eq!(reply.status, 201, "creating a template: {}", reply.body);
        reply.json()["template"]["id"]
            .as_str()
            .expect("the template id")
            .to_string()
    }

    /// Polls job `id` until it is final; panics after `limit`.
    pub fn wait_final(&self, id: &str, key: &str, limit: std::time::Duration) -> Value {
        super::eventually(limit, || {
            let job = self.get(&format!("/api/jobs/{id}"), key).json();
            matches!(
                job["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            )
            .then_some(job)
        })
        .unwrap_or_else(|| {
            let job = self.get(&format!("/api/jobs/{id}"), key).body;
            panic!("job {id} is not final after {limit:?}: {job}")
        })
    }
}

/// The `error` object of an error reply, checked to have a status.
pub fn error(reply: &Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    reply.json()["error"].clone()
}

/// The application against a [`FakeProvider`](super::provider::FakeProvider): 25 ms polls,
/// 3 s leases renewed every second, 100 ms retry and notification backoffs, a timer
/// wake-up every 200 ms, and no per-key request limits. `variables` and `edits` come on top.
pub fn with_provider(
    provider: &super::provider::FakeProvider,
    variables: Vec<(&'static str, String)>,
    edits: Vec<(&'static str, &'static str)>,
) -> App {
    let mut all: Vec<(&'static str, String)> = vec![
        ("provider_url", provider.base.clone()),
        ("poll_interval_ms", "25".into()),
        ("lease_seconds", "3".into()),
        ("retry_backoff_ms", "100".into()),
        ("notify_backoff_ms", "100".into()),
        ("free_requests_per_minute", "0".into()),
        ("premium_requests_per_minute", "0".into()),
    ];
    for (name, value) in variables {
        all.retain(|(n, _)| *n != name);
        all.push((name, value));
    }
    let mut manifest_edits = vec![("wake_every = \"1s\"", "wake_every = \"200ms\"")];
    manifest_edits.extend(edits);
    App::start_with(AppOptions {
        variables: all,
        manifest_edits,
    })
}
