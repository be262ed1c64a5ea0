//! Key-value stores kept in Redis: keys are Redis keys as they are, without a prefix, the
//! way Spin's Redis store writes them.
//!
//! Counters use INCRBY, so they are decimal strings in both backends. Compare-and-swap runs
//! as one Lua script, which Redis executes atomically.

use super::{KvError, Swap};
use crate::capability::redis::{Command, Connection};

/// Keys asked for per SCAN round trip.
const SCAN_COUNT: usize = 1000;

/// Sets the key when it still holds the expected value: ARGV[1] is "1" when a value is
/// expected (ARGV[2]) and "0" when the key is expected to be absent; ARGV[3] is the value.
const SWAP_SCRIPT: &str = r#"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[1] == '1' then matches = (current == ARGV[2]) else matches = (current == false) end
if matches then
  redis.call('SET', KEYS[1], ARGV[3])
  return 1
end
return 0
"#;

/// A store served by a Redis server.
#[derive(Clone)]
pub struct RedisStore {
    conn: Connection,
}

impl RedisStore {
    /// A store on the server behind `conn`.
    pub fn new(conn: Connection) -> RedisStore {
        RedisStore { conn }
    }

    /// The server's address, for messages.
    pub fn address(&self) -> &str {
        self.conn.address()
    }

    /// Connects now, so that a wrong URL fails at start rather than on first use.
    pub async fn check(&self) -> Result<(), KvError> {
        Ok(self.conn.ensure_connected().await?)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: Command) -> Result<T, KvError> {
        Ok(self.conn.query(&cmd.to_cmd()).await?)
    }

    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        self.query(Command::new("GET").arg(key)).await
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        self.query::<()>(Command::new("SET").arg(key).arg(value))
            .await
    }

    pub async fn delete(&self, key: String) -> Result<(), KvError> {
        self.query::<()>(Command::new("DEL").arg(key)).await
    }

    pub async fn exists(&self, key: String) -> Result<bool, KvError> {
        Ok(self.query::<i64>(Command::new("EXISTS").arg(key)).await? > 0)
    }

    /// Every key on the server, in byte order.
    pub async fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let scan = Command::new("SCAN").arg(cursor.to_string()).arg("COUNT");
            let (next, page): (u64, Vec<Vec<u8>>) =
                self.query(scan.arg(SCAN_COUNT.to_string())).await?;
            keys.extend(
                page.into_iter()
                    .map(|k| String::from_utf8_lossy(&k).into_owned()),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    pub async fn increment(&self, key: String, delta: i64) -> Result<i64, KvError> {
        let cmd = Command::new("INCRBY")
            .arg(key.clone())
            .arg(delta.to_string());
        self.query(cmd).await.map_err(|e| match e {
            KvError::Redis(e) if e.to_string().contains("not an integer") => {
                KvError::NotAnInteger(key)
            }
            KvError::Redis(e) if e.to_string().contains("overflow") => {
                KvError::Overflow { key, delta }
            }
            other => other,
        })
    }

    pub async fn swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<Swap, KvError> {
        let (flag, expected_bytes) = match &expected {
            Some(v) => ("1", v.clone()),
            None => ("0", Vec::new()),
        };
        let script = Command::new("EVAL")
            .arg(SWAP_SCRIPT)
            .arg("1")
            .arg(key.clone());
        let swapped: i64 = self
            .query(script.arg(flag).arg(expected_bytes).arg(value))
            .await?;
        if swapped == 1 {
            return Ok(Swap::Done);
        }
        Ok(Swap::Stale(self.get(key).await?))
    }

    pub async fn get_many(
        &self,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let cmd = keys
            .iter()
            .cloned()
            .fold(Command::new("MGET"), Command::arg);
        let values: Vec<Option<Vec<u8>>> = self.query(cmd).await?;
        Ok(keys.into_iter().zip(values).collect())
    }

    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let cmd = pairs
            .into_iter()
            .fold(Command::new("MSET"), |c, (k, v)| c.arg(k).arg(v));
        self.query::<()>(cmd).await
    }

    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.query::<()>(keys.into_iter().fold(Command::new("DEL"), Command::arg))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store on the server named by `PROMPT_MESH_TEST_REDIS`, and a key prefix unique to
    /// this test run; `None` (the test then skips) when the variable is unset.
    fn test_store(test: &str) -> Option<(RedisStore, String)> {
        let Ok(url) = std::env::var("PROMPT_MESH_TEST_REDIS") else {
            println!("skipped: PROMPT_MESH_TEST_REDIS is unset");
            return None;
        };
        let conn = Connection::new(&url).expect("PROMPT_MESH_TEST_REDIS is a Redis URL");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos();
        let prefix = format!("prompt-mesh-test:{test}:{}:{nanos}:", std::process::id());
        Some((RedisStore::new(conn), prefix))
    }

    #[tokio::test]
    async fn set_get_delete_exists_and_keys() {
        let Some((s, p)) = test_store("kv-basic") else {
            return;
        };
        let (a, b) = (format!("{p}a"), format!("{p}b"));

        s.check().await.expect("the test Redis is up");
        assert_eq!(s.get(a.clone()).await.expect("get works"), None);
        s.set(a.clone(), b"1".to_vec()).await.expect("set works");
        s.set(b.clone(), b"2".to_vec()).await.expect("set works");

        assert_eq!(
            s.get(a.clone()).await.expect("get works"),
            Some(b"1".to_vec())
        );
        assert!(s.exists(b.clone()).await.expect("exists works"));
        let keys = s.keys().await.expect("keys works");
        let ours: Vec<&String> = keys.iter().filter(|k| k.starts_with(&p)).collect();
        assert_eq!(ours, [&a, &b]);
        s.delete_many(vec![a.clone(), b.clone()])
            .await
            .expect("delete_many works");
        assert!(!s.exists(a).await.expect("exists works"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_increments_sum_exactly() {
        let Some((s, p)) = test_store("kv-incr") else {
            return;
        };
        let key = format!("{p}n");
        let run = |s: RedisStore, key: String| {
            tokio::spawn(async move {
                for _ in 0..200 {
                    s.increment(key.clone(), 3)
                        .await
                        .expect("the test Redis is up");
                }
            })
        };

        let (a, b) = (run(s.clone(), key.clone()), run(s.clone(), key.clone()));
        a.await.expect("task a finished");
        b.await.expect("task b finished");

        assert_eq!(
            s.get(key.clone()).await.expect("get works"),
            Some(b"1200".to_vec())
        );
        s.set(key.clone(), b"abc".to_vec())
            .await
            .expect("set works");
        let err = s.increment(key.clone(), 1).await.expect_err("not a number");
        assert_eq!(
            err.to_string(),
            format!("the value under `{key}` is not a decimal integer")
        );
        s.delete(key).await.expect("delete works");
    }

    #[tokio::test]
    async fn swap_succeeds_once_and_fails_on_a_stale_value() {
        let Some((s, p)) = test_store("kv-cas") else {
            return;
        };
        let (key, new) = (format!("{p}k"), format!("{p}new"));
        s.set(key.clone(), b"v1".to_vec())
            .await
            .expect("the test Redis is up");

        let first = s
            .swap(key.clone(), Some(b"v1".to_vec()), b"v2".to_vec())
            .await;
        let stale = s
            .swap(key.clone(), Some(b"v1".to_vec()), b"v3".to_vec())
            .await;
        let absent = s.swap(new.clone(), None, b"x".to_vec()).await;
        let absent_again = s.swap(new.clone(), None, b"y".to_vec()).await;

        assert_eq!(first.expect("swap works"), Swap::Done);
        assert_eq!(
            stale.expect("swap works"),
            Swap::Stale(Some(b"v2".to_vec()))
        );
        assert_eq!(absent.expect("swap works"), Swap::Done);
        assert_eq!(
            absent_again.expect("swap works"),
            Swap::Stale(Some(b"x".to_vec()))
        );
        let got = s
            .get_many(vec![key.clone(), new.clone()])
            .await
            .expect("get_many works");
        assert_eq!(
            got,
            [
                (key.clone(), Some(b"v2".to_vec())),
                (new.clone(), Some(b"x".to_vec()))
            ]
        );
        s.delete_many(vec![key, new])
            .await
            .expect("delete_many works");
    }

    #[tokio::test]
    async fn batches_read_write_and_delete_many_keys() {
        let Some((s, p)) = test_store("kv-batch") else {
            return;
        };
        let (a, b) = (format!("{p}a"), format!("{p}b"));

        s.set_many(vec![(a.clone(), b"1".to_vec()), (b.clone(), b"2".to_vec())])
            .await
            .expect("the test Redis is up");
        s.delete_many(vec![a.clone()])
            .await
            .expect("delete_many works");
        let got = s
            .get_many(vec![a.clone(), b.clone()])
            .await
            .expect("get_many works");

        assert_eq!(got, [(a, None), (b.clone(), Some(b"2".to_vec()))]);
        assert_eq!(s.get_many(vec![]).await.expect("empty batch"), []);
        s.delete(b).await.expect("delete works");
    }
}
