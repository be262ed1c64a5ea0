//! Redis: outbound `fermyon:spin/redis` connections, and the publish/subscribe that the
//! Redis trigger listens on.
//!
//! The addresses named by the manifest's Redis triggers are served by the in-process
//! [`broker::Broker`] unless the runtime config's `[redis] address` names a real server, in
//! which case that server serves them. Any other address is a real Redis connection to that
//! address. Outbound connections go where the trigger's subscriptions go, so a component
//! that publishes to its trigger's address reaches the subscribed component either way.

pub mod broker;
pub mod connection;
mod host;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use redis::Value;
use tokio::sync::mpsc;

use crate::manifest::Manifest;
use crate::runtime_config::RuntimeConfig;

use self::broker::Broker;
pub use self::connection::{Connection, redact};
pub use self::host::{OpenConnection, RedisView, add_to_linker};

/// Bindings of `fermyon:spin/inbound-redis`, the export of a Redis-triggered component.
pub mod handler_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "redis-handler",
        exports: { default: async },
    });
}

/// Why a Redis operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("`{0}` is not a Redis address; write it as \"redis://host:port\"")]
    InvalidAddress(String),
    #[error("the value under the key has the wrong type for this command")]
    WrongType,
    #[error("the value is not an integer or is out of range")]
    NotAnInteger,
    #[error("wrong number of arguments for `{0}`")]
    Arity(String),
    #[error(
        "`{0}` is not served by the embedded Redis; set `[redis] address` in the runtime config"
    )]
    Unsupported(String),
    #[error("Redis at {address} did not connect within the time limit")]
    Timeout { address: String },
    #[error("Redis at {address}: {source}")]
    Server {
        address: String,
        source: redis::RedisError,
    },
}

/// One Redis command as it goes on the wire: an upper-case name and binary arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub args: Vec<Vec<u8>>,
}

impl Command {
    /// A command without arguments yet.
    pub fn new(name: &str) -> Command {
        Command {
            name: name.to_ascii_uppercase(),
            args: Vec::new(),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<Vec<u8>>) -> Command {
        self.args.push(arg.into());
        self
    }

    /// The command as the `redis` crate sends it.
    pub fn to_cmd(&self) -> redis::Cmd {
        let mut cmd = redis::cmd(&self.name);
        for arg in &self.args {
            cmd.arg(arg.as_slice());
        }
        cmd
    }
}

/// Where the commands for one address go.
#[derive(Clone)]
pub enum Target {
    /// The in-process broker and its in-memory map.
    Embedded(Arc<Broker>),
    /// A real Redis server.
    Server(Connection),
}

impl Target {
    /// Runs `cmd` and returns the raw reply.
    pub async fn run(&self, cmd: &Command) -> Result<Value, RedisError> {
        match self {
            Target::Embedded(broker) => broker.run(cmd),
            Target::Server(conn) => conn.query::<Value>(&cmd.to_cmd()).await,
        }
    }
}

/// Every Redis address the application uses, embedded or real.
pub struct RedisHub {
    broker: Arc<Broker>,
    /// The Redis triggers' addresses, as written in the manifest.
    trigger_addresses: BTreeSet<String>,
    /// `[redis] address`: the real server behind the trigger addresses.
    server: Option<String>,
    connections: Mutex<HashMap<String, Connection>>,
}

impl RedisHub {
    /// Routes the manifest's trigger addresses to the embedded broker or to the runtime
    /// config's `[redis]` server.
    pub fn new(manifest: &Manifest, runtime_config: &RuntimeConfig) -> RedisHub {
        let trigger_addresses: BTreeSet<String> = manifest
            .redis_triggers
            .iter()
            .map(|t| normalize(&t.address).to_string())
            .collect();
        let server = runtime_config.redis.as_ref().map(|r| r.address.clone());
        if !trigger_addresses.is_empty() {
            let served_by = server
                .as_deref()
                .map_or("the embedded broker".into(), redact);
            let addresses: Vec<String> = trigger_addresses.iter().map(|a| redact(a)).collect();
            tracing::info!(?addresses, served_by, "Redis trigger addresses routed");
        }
        RedisHub {
            broker: Arc::new(Broker::default()),
            trigger_addresses,
            server,
            connections: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `address` is served by the in-process broker.
    pub fn is_embedded(&self, address: &str) -> bool {
        self.server.is_none() && self.trigger_addresses.contains(normalize(address))
    }

    /// Where commands for `address` go.
    pub fn target(&self, address: &str) -> Result<Target, RedisError> {
        if self.is_embedded(address) {
            return Ok(Target::Embedded(self.broker.clone()));
        }
        let actual = match &self.server {
            Some(server) if self.trigger_addresses.contains(normalize(address)) => server,
            _ => address,
        };
        self.connection(actual).map(Target::Server)
    }

    /// A subscription to `channel` at `address`, live when this returns; it ends when the
    /// receiver is dropped.
    pub async fn subscribe(
        &self,
        address: &str,
        channel: &str,
    ) -> anyhow::Result<mpsc::Receiver<Vec<u8>>> {
        let rx = match self.target(address)? {
            Target::Embedded(broker) => broker.subscribe(channel),
            Target::Server(conn) => conn.subscribe(channel).await?,
        };
        tracing::debug!(
            redis.address = %redact(address),
            redis.channel = channel,
            "Subscribed"
        );
        Ok(rx)
    }

    /// Publishes `payload` on `channel` at `address`.
    pub async fn publish(
        &self,
        address: &str,
        channel: &str,
        payload: Vec<u8>,
    ) -> Result<(), RedisError> {
        let cmd = Command::new("PUBLISH").arg(channel).arg(payload);
        self.target(address)?.run(&cmd).await.map(|_| ())
    }

    fn connection(&self, address: &str) -> Result<Connection, RedisError> {
        let mut connections = self
            .connections
            .lock()
            .expect("connection map is never poisoned");
        if let Some(conn) = connections.get(address) {
            return Ok(conn.clone());
        }
        let conn = Connection::new(address)?;
        connections.insert(address.to_string(), conn.clone());
        Ok(conn)
    }
}

/// Trigger addresses compare without a trailing slash.
fn normalize(address: &str) -> &str {
    address.trim_end_matches('/')
}

/// Set-up shared by the tests of this module and its submodules.
#[cfg(test)]
mod testing {
    use std::path::Path;

    use super::*;

    pub const EMBEDDED: &str = "redis://localhost:6379";

    pub fn manifest() -> Manifest {
        let text = format!(
            r#"
            spin_manifest_version = 2
            [application]
            name = "app"
            [[trigger.redis]]
            address = "{EMBEDDED}"
            channel = "jobs"
            component = "worker"
            [component.worker]
            source = "worker.wasm"
            "#
        );
        Manifest::parse(Path::new("/app/spin.toml"), &text).expect("the test manifest is valid")
    }

    /// The Redis server named by `PROMPT_MESH_TEST_REDIS`, or `None` (the test then skips).
    pub fn test_server() -> Option<String> {
        let url = std::env::var("PROMPT_MESH_TEST_REDIS").ok();
        if url.is_none() {
            println!("skipped: PROMPT_MESH_TEST_REDIS is unset");
        }
        url
    }

    pub fn unique(prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos();
        format!("prompt-mesh-test:{prefix}:{}:{nanos}", std::process::id())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::runtime_config::RedisConfig;

    #[test]
    fn trigger_addresses_are_embedded_unless_a_server_is_configured() {
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        assert!(hub.is_embedded(EMBEDDED));
        assert!(hub.is_embedded("redis://localhost:6379/"));
        assert!(matches!(hub.target(EMBEDDED), Ok(Target::Embedded(_))));
        let Ok(Target::Server(other)) = hub.target("redis://other:6379") else {
            panic!("other addresses are real servers");
        };
        assert_eq!(other.address(), "redis://other:6379");

        let config = RuntimeConfig {
            redis: Some(RedisConfig {
                address: "redis://10.0.0.9:6379".into(),
            }),
            ..RuntimeConfig::default()
        };
        let hub = RedisHub::new(&manifest(), &config);
        assert!(!hub.is_embedded(EMBEDDED));
        let Ok(Target::Server(server)) = hub.target(EMBEDDED) else {
            panic!("the configured server serves trigger addresses");
        };
        assert_eq!(server.address(), "redis://10.0.0.9:6379");
        assert!(matches!(
            hub.target("http://x"),
            Err(RedisError::InvalidAddress(_))
        ));
    }

    #[tokio::test]
    async fn hub_delivers_a_publish_to_the_embedded_subscriber() {
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        let mut rx = hub
            .subscribe(EMBEDDED, "jobs")
            .await
            .expect("embedded subscribe works");

        hub.publish(EMBEDDED, "jobs", b"job-1".to_vec())
            .await
            .expect("embedded publish works");

        assert_eq!(rx.recv().await.expect("the message arrives"), b"job-1");
        assert!(rx.try_recv().is_err(), "exactly one message");
    }

    #[tokio::test]
    async fn real_redis_serves_trigger_addresses_when_configured() {
        let Some(server) = test_server() else { return };
        let config = RuntimeConfig {
            redis: Some(RedisConfig { address: server }),
            ..RuntimeConfig::default()
        };
        let hub = RedisHub::new(&manifest(), &config);
        let channel = unique("channel");
        let mut rx = hub
            .subscribe(EMBEDDED, &channel)
            .await
            .expect("the test Redis is up");

        hub.publish(EMBEDDED, &channel, b"\x00job\xff".to_vec())
            .await
            .expect("publish works");

        let got = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            got.expect("delivered within 5 s")
                .expect("subscription open"),
            b"\x00job\xff"
        );
    }
}
