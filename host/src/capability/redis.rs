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

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use redis::{FromRedisValue, Value};
use tokio::sync::mpsc;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable, ResourceTableError};

use crate::manifest::Manifest;
use crate::runtime_config::RuntimeConfig;
use crate::state::{Grants, StoreState};

use self::broker::Broker;
pub use self::connection::Connection;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "redis",
        imports: { default: async | trappable },
        with: { "fermyon:spin/redis.connection": super::OpenConnection },
    });
}

/// Bindings of `fermyon:spin/inbound-redis`, the export of a Redis-triggered component.
pub mod handler_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "redis-handler",
        exports: { default: async },
    });
}

use bindings::fermyon::spin2_0_0::redis as wit;

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
            let served_by = server.as_deref().unwrap_or("the embedded broker");
            tracing::info!(addresses = ?trigger_addresses, served_by, "Redis trigger addresses routed");
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
            redis.address = address,
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

/// A guest's open `fermyon:spin/redis` connection.
pub struct OpenConnection {
    target: Target,
}

/// What the Redis host functions see of a store.
pub struct RedisView<'a> {
    pub grants: &'a Grants,
    pub hub: &'a RedisHub,
    pub table: &'a mut ResourceTable,
}

struct HasRedis;

impl HasData for HasRedis {
    type Data<'a> = RedisView<'a>;
}

/// Adds `fermyon:spin/redis@2.0.0` to `linker`.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> anyhow::Result<()> {
    wit::add_to_linker::<StoreState, HasRedis>(linker, |s| RedisView {
        grants: &s.identity.grants,
        hub: &s.services.redis,
        table: &mut s.table,
    })?;
    Ok(())
}

type WitResult<T> = wasmtime::Result<Result<T, wit::Error>>;

impl RedisView<'_> {
    fn permitted(&self, address: &str) -> bool {
        if self.grants.allowed_outbound_hosts.allows_url(address) {
            return true;
        }
        let entry = crate::allowed_hosts::Destination::from_url(address)
            .map(|d| format!("{}://{}:{}", d.scheme, d.host, d.port))
            .unwrap_or_else(|| "redis://host:port".into());
        tracing::warn!(
            redis.address = address,
            component = %self.grants.granted_by,
            fix = %format!(
                "add \"{entry}\" to allowed_outbound_hosts of [component.{}]",
                self.grants.granted_by
            ),
            "Redis address not allowed"
        );
        false
    }

    async fn connect(&mut self, address: &str) -> Result<Target, wit::Error> {
        if !self.permitted(address) {
            return Err(wit::Error::InvalidAddress);
        }
        let target = self.hub.target(address).map_err(wit_error)?;
        if let Target::Server(conn) = &target {
            conn.ensure_connected().await.map_err(wit_error)?;
        }
        Ok(target)
    }

    async fn run<T: FromRedisValue>(
        &mut self,
        conn: &Resource<OpenConnection>,
        cmd: Command,
    ) -> WitResult<T> {
        let target = self.table.get(conn)?.target.clone();
        Ok(target.run(&cmd).await.and_then(convert).map_err(wit_error))
    }
}

fn convert<T: FromRedisValue>(value: Value) -> Result<T, RedisError> {
    redis::from_owned_redis_value(value).map_err(|_| RedisError::WrongType)
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn wit_error(e: RedisError) -> wit::Error {
    match e {
        RedisError::InvalidAddress(_) => wit::Error::InvalidAddress,
        RedisError::WrongType | RedisError::NotAnInteger => wit::Error::TypeError,
        RedisError::Server { source, .. } if is_type_error(&source) => wit::Error::TypeError,
        other => wit::Error::Other(other.to_string()),
    }
}

fn is_type_error(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::TypeError
        || e.code() == Some("WRONGTYPE")
        || e.detail().is_some_and(|d| d.contains("not an integer"))
}

impl wit::Host for RedisView<'_> {}

impl wit::HostConnection for RedisView<'_> {
    async fn open(&mut self, address: String) -> WitResult<Resource<OpenConnection>> {
        let target = match self.connect(&address).await {
            Ok(target) => target,
            Err(e) => return Ok(Err(e)),
        };
        match self.table.push(OpenConnection { target }) {
            Ok(conn) => Ok(Ok(conn)),
            Err(ResourceTableError::Full) => Ok(Err(wit::Error::TooManyConnections)),
            Err(e) => Err(e.into()),
        }
    }

    async fn publish(
        &mut self,
        conn: Resource<OpenConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> WitResult<()> {
        let cmd = Command::new("PUBLISH").arg(channel).arg(payload);
        self.run::<Value>(&conn, cmd).await.map(|r| r.map(|_| ()))
    }

    async fn get(
        &mut self,
        conn: Resource<OpenConnection>,
        key: String,
    ) -> WitResult<Option<Vec<u8>>> {
        self.run(&conn, Command::new("GET").arg(key)).await
    }

    async fn set(
        &mut self,
        conn: Resource<OpenConnection>,
        key: String,
        value: Vec<u8>,
    ) -> WitResult<()> {
        let cmd = Command::new("SET").arg(key).arg(value);
        self.run::<Value>(&conn, cmd).await.map(|r| r.map(|_| ()))
    }

    async fn incr(&mut self, conn: Resource<OpenConnection>, key: String) -> WitResult<i64> {
        self.run(&conn, Command::new("INCR").arg(key)).await
    }

    async fn del(&mut self, conn: Resource<OpenConnection>, keys: Vec<String>) -> WitResult<u32> {
        let cmd = keys.into_iter().fold(Command::new("DEL"), Command::arg);
        self.run::<i64>(&conn, cmd).await.map(|r| r.map(count))
    }

    async fn sadd(
        &mut self,
        conn: Resource<OpenConnection>,
        key: String,
        values: Vec<String>,
    ) -> WitResult<u32> {
        let cmd = values
            .into_iter()
            .fold(Command::new("SADD").arg(key), Command::arg);
        self.run::<i64>(&conn, cmd).await.map(|r| r.map(count))
    }

    async fn smembers(
        &mut self,
        conn: Resource<OpenConnection>,
        key: String,
    ) -> WitResult<Vec<String>> {
        self.run(&conn, Command::new("SMEMBERS").arg(key)).await
    }

    async fn srem(
        &mut self,
        conn: Resource<OpenConnection>,
        key: String,
        values: Vec<String>,
    ) -> WitResult<u32> {
        let cmd = values
            .into_iter()
            .fold(Command::new("SREM").arg(key), Command::arg);
        self.run::<i64>(&conn, cmd).await.map(|r| r.map(count))
    }

    async fn execute(
        &mut self,
        conn: Resource<OpenConnection>,
        command: String,
        arguments: Vec<wit::RedisParameter>,
    ) -> WitResult<Vec<wit::RedisResult>> {
        let cmd = arguments
            .into_iter()
            .map(parameter_bytes)
            .fold(Command::new(&command), Command::arg);
        let reply = self.run::<Value>(&conn, cmd).await?;
        Ok(reply.and_then(|v| results(v).map_err(wit_error)))
    }

    async fn drop(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

fn parameter_bytes(p: wit::RedisParameter) -> Vec<u8> {
    match p {
        wit::RedisParameter::Int64(n) => n.to_string().into_bytes(),
        wit::RedisParameter::Binary(b) => b,
    }
}

/// A reply as a flat list: arrays, sets and maps are flattened in order.
fn results(value: Value) -> Result<Vec<wit::RedisResult>, RedisError> {
    let mut out = Vec::new();
    flatten(value, &mut out)?;
    Ok(out)
}

fn flatten(value: Value, out: &mut Vec<wit::RedisResult>) -> Result<(), RedisError> {
    use wit::RedisResult as R;
    match value {
        Value::Nil => out.push(R::Nil),
        Value::Int(n) => out.push(R::Int64(n)),
        Value::Boolean(b) => out.push(R::Int64(i64::from(b))),
        Value::BulkString(b) => out.push(R::Binary(b)),
        Value::SimpleString(s) => out.push(R::Status(s)),
        Value::Okay => out.push(R::Status("OK".into())),
        Value::Double(d) => out.push(R::Binary(d.to_string().into_bytes())),
        Value::BigNumber(n) => out.push(R::Binary(n.to_string().into_bytes())),
        Value::VerbatimString { text, .. } => out.push(R::Binary(text.into_bytes())),
        Value::Array(items) | Value::Set(items) => {
            items.into_iter().try_for_each(|v| flatten(v, out))?;
        }
        Value::Map(pairs) => {
            for (k, v) in pairs {
                flatten(k, out)?;
                flatten(v, out)?;
            }
        }
        Value::Attribute { data, .. } => flatten(*data, out)?,
        Value::Push { .. } | Value::ServerError(_) => return Err(RedisError::WrongType),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wit::HostConnection;

    use super::*;
    use crate::allowed_hosts::AllowedHosts;
    use crate::runtime_config::RedisConfig;

    const EMBEDDED: &str = "redis://localhost:6379";

    fn manifest() -> Manifest {
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

    fn grants(allowed: &[&str]) -> Grants {
        Grants {
            granted_by: "worker".into(),
            allowed_outbound_hosts: AllowedHosts::parse(allowed).expect("valid test hosts"),
            ..Grants::default()
        }
    }

    /// The Redis server named by `PROMPT_MESH_TEST_REDIS`, or `None` (the test then skips).
    fn test_server() -> Option<String> {
        let url = std::env::var("PROMPT_MESH_TEST_REDIS").ok();
        if url.is_none() {
            println!("skipped: PROMPT_MESH_TEST_REDIS is unset");
        }
        url
    }

    fn unique(prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos();
        format!("prompt-mesh-test:{prefix}:{}:{nanos}", std::process::id())
    }

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
    async fn open_refuses_addresses_outside_allowed_outbound_hosts() {
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        let grants = grants(&["redis://otherhost:6379"]);
        let mut table = ResourceTable::new();
        let mut view = RedisView {
            grants: &grants,
            hub: &hub,
            table: &mut table,
        };

        let opened = view.open(EMBEDDED.into()).await.expect("no trap");

        assert!(matches!(opened, Err(wit::Error::InvalidAddress)));
    }

    #[tokio::test]
    async fn a_component_reaches_the_embedded_redis_through_the_host_interface() {
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        let grants = grants(&["redis://localhost:6379"]);
        let mut table = ResourceTable::new();
        let mut view = RedisView {
            grants: &grants,
            hub: &hub,
            table: &mut table,
        };
        let mut rx = hub
            .subscribe(EMBEDDED, "jobs")
            .await
            .expect("embedded subscribe works");
        let conn = view
            .open(EMBEDDED.into())
            .await
            .expect("no trap")
            .expect("allowed");
        let rep = |c: &Resource<OpenConnection>| Resource::<OpenConnection>::new_borrow(c.rep());

        view.publish(rep(&conn), "jobs".into(), b"wake".to_vec())
            .await
            .expect("no trap")
            .expect("published");
        assert_eq!(rx.recv().await.expect("the message arrives"), b"wake");

        view.set(rep(&conn), "k".into(), b"v".to_vec())
            .await
            .expect("no trap")
            .expect("set");
        let got = view
            .get(rep(&conn), "k".into())
            .await
            .expect("no trap")
            .expect("get");
        assert_eq!(got, Some(b"v".to_vec()));
        assert_eq!(
            view.incr(rep(&conn), "n".into())
                .await
                .expect("no trap")
                .expect("incr"),
            1
        );
        let incr_text = view.incr(rep(&conn), "k".into()).await.expect("no trap");
        assert!(matches!(incr_text, Err(wit::Error::TypeError)));
        let args = vec![
            wit::RedisParameter::Binary(b"n".to_vec()),
            wit::RedisParameter::Int64(9),
        ];
        let reply = view
            .execute(rep(&conn), "incrby".into(), args)
            .await
            .expect("no trap");
        assert!(matches!(
            reply.as_deref(),
            Ok([wit::RedisResult::Int64(10)])
        ));
        let unsupported = view
            .execute(rep(&conn), "flushall".into(), vec![])
            .await
            .expect("no trap");
        assert!(matches!(unsupported, Err(wit::Error::Other(m)) if m.contains("[redis] address")));
        view.drop(conn)
            .await
            .expect("the connection is in the table");
    }

    #[test]
    fn replies_flatten_in_order() {
        let reply = Value::Array(vec![
            Value::Okay,
            Value::Nil,
            Value::Array(vec![Value::Int(7), Value::BulkString(b"x".to_vec())]),
        ]);
        let flat = results(reply).expect("a flat reply");
        assert!(matches!(
            flat.as_slice(),
            [
                wit::RedisResult::Status(ok),
                wit::RedisResult::Nil,
                wit::RedisResult::Int64(7),
                wit::RedisResult::Binary(x),
            ] if ok == "OK" && x == b"x"
        ));
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

    #[tokio::test]
    async fn real_redis_answers_the_host_interface() {
        let Some(server) = test_server() else { return };
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        let grants = grants(&["redis://127.0.0.1:*", "redis://localhost:*"]);
        let mut table = ResourceTable::new();
        let mut view = RedisView {
            grants: &grants,
            hub: &hub,
            table: &mut table,
        };
        let conn = view
            .open(server)
            .await
            .expect("no trap")
            .expect("the test Redis is up");
        let rep = |c: &Resource<OpenConnection>| Resource::<OpenConnection>::new_borrow(c.rep());
        let (key, counter, set) = (unique("k"), unique("n"), unique("s"));

        view.set(rep(&conn), key.clone(), b"v".to_vec())
            .await
            .expect("no trap")
            .expect("set");
        let got = view
            .get(rep(&conn), key.clone())
            .await
            .expect("no trap")
            .expect("get");
        assert_eq!(got, Some(b"v".to_vec()));
        assert_eq!(
            view.incr(rep(&conn), counter.clone())
                .await
                .expect("no trap")
                .expect("incr"),
            1
        );
        let wrong = view.incr(rep(&conn), key.clone()).await.expect("no trap");
        assert!(matches!(wrong, Err(wit::Error::TypeError)), "{wrong:?}");
        let members = vec!["a".to_string(), "b".to_string(), "a".to_string()];
        assert_eq!(
            view.sadd(rep(&conn), set.clone(), members)
                .await
                .expect("no trap")
                .expect("sadd"),
            2
        );
        let mut got = view
            .smembers(rep(&conn), set.clone())
            .await
            .expect("no trap")
            .expect("smembers");
        got.sort();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(
            view.srem(rep(&conn), set.clone(), vec!["a".into()])
                .await
                .expect("no trap")
                .expect("srem"),
            1
        );
        let reply = view
            .execute(
                rep(&conn),
                "GET".into(),
                vec![wit::RedisParameter::Binary(counter.clone().into_bytes())],
            )
            .await
            .expect("no trap");
        assert!(matches!(reply.as_deref(), Ok([wit::RedisResult::Binary(one)]) if one == b"1"));
        let deleted = view
            .del(rep(&conn), vec![key, counter, set])
            .await
            .expect("no trap")
            .expect("del");
        assert_eq!(deleted, 3);
    }
}
