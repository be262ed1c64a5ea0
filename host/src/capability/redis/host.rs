//! The host side of `fermyon:spin/redis@2.0.0`: connections a component opens to the
//! addresses its `allowed_outbound_hosts` admit.

use redis::{FromRedisValue, Value};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable, ResourceTableError};

use super::{Command, RedisError, RedisHub, Target};
use crate::state::{Grants, StoreState};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "redis",
        imports: { default: async | trappable },
        with: { "fermyon:spin/redis.connection": super::OpenConnection },
    });
}

use bindings::fermyon::spin2_0_0::redis as wit;

/// A guest's open `fermyon:spin/redis` connection.
pub struct OpenConnection {
    target: Target,
}

/// What the Redis host functions see of a store.
pub struct RedisView<'a> {
    /// The component running in the store, for logs.
    pub component: &'a str,
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
        component: &s.identity.component,
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
            redis.address = %super::redact(address),
            component = self.component,
            fix = %format!(
                "add \"{entry}\" to allowed_outbound_hosts of [component.{}] in the manifest",
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
    use wit::HostConnection;

    use super::*;
    use crate::allowed_hosts::AllowedHosts;
    use crate::capability::redis::testing::*;
    use crate::runtime_config::RuntimeConfig;

    fn grants(allowed: &[&str]) -> Grants {
        Grants {
            granted_by: "worker".into(),
            allowed_outbound_hosts: AllowedHosts::parse(allowed).expect("valid test hosts"),
            ..Grants::default()
        }
    }

    #[tokio::test]
    async fn open_refuses_addresses_outside_allowed_outbound_hosts() {
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        let grants = grants(&["redis://otherhost:6379"]);
        let mut table = ResourceTable::new();
        let mut view = RedisView {
            component: "worker",
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
            component: "worker",
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
    async fn real_redis_answers_the_host_interface() {
        let Some(server) = test_server() else { return };
        let hub = RedisHub::new(&manifest(), &RuntimeConfig::default());
        let grants = grants(&["redis://127.0.0.1:*", "redis://localhost:*"]);
        let mut table = ResourceTable::new();
        let mut view = RedisView {
            component: "worker",
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
