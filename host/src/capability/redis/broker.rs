//! The embedded Redis: an in-process publish/subscribe broker for the Redis triggers, plus
//! an in-memory map for the few data commands a component may send to the same address.
//!
//! Data commands served: GET, SET (without options), INCR, INCRBY, DEL, EXISTS, SADD,
//! SMEMBERS, SREM and PUBLISH. The map lives as long as the host process: it is not
//! persisted, which is what a Redis without persistence would do too. Anything that must
//! survive a restart belongs in a key-value store or a SQLite database.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use redis::Value;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::connection::SUBSCRIBER_BUFFER;
use super::{Command, RedisError};

/// The in-process broker and data map behind every embedded Redis address.
#[derive(Default)]
pub struct Broker {
    channels: Mutex<HashMap<String, Vec<mpsc::Sender<Vec<u8>>>>>,
    data: Mutex<HashMap<Vec<u8>, Entry>>,
}

enum Entry {
    String(Vec<u8>),
    Set(BTreeSet<Vec<u8>>),
}

impl Broker {
    /// A subscription to `channel`, live as soon as this returns.
    pub fn subscribe(&self, channel: &str) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        let mut channels = self.channels.lock().expect("broker lock is never poisoned");
        channels.entry(channel.to_string()).or_default().push(tx);
        rx
    }

    /// Delivers `payload` to every live subscriber of `channel`; returns how many got it.
    ///
    /// Like Redis, publishing never waits: a subscriber whose buffer of
    /// [`SUBSCRIBER_BUFFER`] messages is full misses the message.
    pub fn publish(&self, channel: &str, payload: &[u8]) -> usize {
        let mut channels = self.channels.lock().expect("broker lock is never poisoned");
        let Some(subscribers) = channels.get_mut(channel) else {
            return 0;
        };
        subscribers.retain(|tx| !tx.is_closed());
        let mut delivered = 0;
        for tx in subscribers.iter() {
            match tx.try_send(payload.to_vec()) {
                Ok(()) => delivered += 1,
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(
                        redis.channel = channel,
                        "Embedded Redis subscriber is full; message dropped"
                    );
                }
                Err(TrySendError::Closed(_)) => {}
            }
        }
        delivered
    }

    /// Runs one data command against the in-memory map.
    pub fn run(&self, cmd: &Command) -> Result<Value, RedisError> {
        match cmd.name.as_str() {
            "PUBLISH" => self.publish_command(cmd),
            "GET" | "SET" | "INCR" | "INCRBY" | "DEL" | "EXISTS" => self.string_command(cmd),
            "SADD" | "SMEMBERS" | "SREM" => self.set_command(cmd),
            _ => Err(RedisError::Unsupported(cmd.name.clone())),
        }
    }

    fn publish_command(&self, cmd: &Command) -> Result<Value, RedisError> {
        let [channel, payload] = arity::<2>(cmd)?;
        let channel = String::from_utf8_lossy(channel);
        Ok(Value::Int(self.publish(&channel, payload) as i64))
    }

    fn string_command(&self, cmd: &Command) -> Result<Value, RedisError> {
        let mut data = self.data.lock().expect("broker lock is never poisoned");
        match cmd.name.as_str() {
            "GET" => {
                let [key] = arity::<1>(cmd)?;
                match data.get(key) {
                    None => Ok(Value::Nil),
                    Some(Entry::String(v)) => Ok(Value::BulkString(v.clone())),
                    Some(Entry::Set(_)) => Err(RedisError::WrongType),
                }
            }
            "SET" => {
                let [key, value] = arity::<2>(cmd)?;
                data.insert(key.clone(), Entry::String(value.clone()));
                Ok(Value::Okay)
            }
            "INCR" => {
                let [key] = arity::<1>(cmd)?;
                increment(&mut data, key, 1)
            }
            "INCRBY" => {
                let [key, delta] = arity::<2>(cmd)?;
                increment(&mut data, key, parse_integer(delta)?)
            }
            "DEL" => Ok(count(cmd, |key| data.remove(key).is_some())),
            _ => Ok(count(cmd, |key| data.contains_key(key))),
        }
    }

    fn set_command(&self, cmd: &Command) -> Result<Value, RedisError> {
        let Some((key, members)) = cmd.args.split_first() else {
            return Err(RedisError::Arity(cmd.name.clone()));
        };
        let mut data = self.data.lock().expect("broker lock is never poisoned");
        match (cmd.name.as_str(), members.is_empty()) {
            ("SMEMBERS", true) => smembers(data.get(key)),
            ("SADD", false) => {
                let entry = data
                    .entry(key.clone())
                    .or_insert_with(|| Entry::Set(BTreeSet::new()));
                let Entry::Set(set) = entry else {
                    return Err(RedisError::WrongType);
                };
                Ok(Value::Int(
                    members.iter().filter(|m| set.insert(m.to_vec())).count() as i64,
                ))
            }
            ("SREM", false) => {
                let set = match data.get_mut(key) {
                    None => return Ok(Value::Int(0)),
                    Some(Entry::String(_)) => return Err(RedisError::WrongType),
                    Some(Entry::Set(set)) => set,
                };
                let removed = members.iter().filter(|m| set.remove(*m)).count();
                if set.is_empty() {
                    data.remove(key);
                }
                Ok(Value::Int(removed as i64))
            }
            _ => Err(RedisError::Arity(cmd.name.clone())),
        }
    }
}

fn arity<const N: usize>(cmd: &Command) -> Result<&[Vec<u8>; N], RedisError> {
    cmd.args
        .as_slice()
        .try_into()
        .map_err(|_| RedisError::Arity(cmd.name.clone()))
}

fn count(cmd: &Command, mut f: impl FnMut(&[u8]) -> bool) -> Value {
    Value::Int(cmd.args.iter().filter(|key| f(key)).count() as i64)
}

fn smembers(entry: Option<&Entry>) -> Result<Value, RedisError> {
    match entry {
        None => Ok(Value::Array(Vec::new())),
        Some(Entry::Set(set)) => Ok(Value::Array(
            set.iter().cloned().map(Value::BulkString).collect(),
        )),
        Some(Entry::String(_)) => Err(RedisError::WrongType),
    }
}

fn parse_integer(bytes: &[u8]) -> Result<i64, RedisError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RedisError::NotAnInteger)
}

fn increment(
    data: &mut HashMap<Vec<u8>, Entry>,
    key: &[u8],
    delta: i64,
) -> Result<Value, RedisError> {
    let current = match data.get(key) {
        None => 0,
        Some(Entry::String(v)) => parse_integer(v)?,
        Some(Entry::Set(_)) => return Err(RedisError::WrongType),
    };
    let next = current.checked_add(delta).ok_or(RedisError::NotAnInteger)?;
    data.insert(key.to_vec(), Entry::String(next.to_string().into_bytes()));
    Ok(Value::Int(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(broker: &Broker, name: &str, args: &[&str]) -> Result<Value, RedisError> {
        let cmd = args
            .iter()
            .fold(Command::new(name), |c, a| c.arg(a.as_bytes()));
        broker.run(&cmd)
    }

    #[tokio::test]
    async fn subscribe_then_publish_delivers_exactly_the_payload() {
        let broker = Broker::default();
        let mut rx = broker.subscribe("jobs");
        let mut other = broker.subscribe("other");

        assert_eq!(broker.publish("jobs", b"\x00wake\xff"), 1);

        assert_eq!(
            rx.recv().await.expect("one message was published"),
            b"\x00wake\xff"
        );
        assert!(rx.try_recv().is_err(), "exactly one message");
        assert!(other.try_recv().is_err(), "other channels get nothing");
    }

    #[tokio::test]
    async fn every_subscriber_gets_each_message_and_dropped_ones_are_forgotten() {
        let broker = Broker::default();
        let mut a = broker.subscribe("c");
        let b = broker.subscribe("c");
        drop(b);

        assert_eq!(
            run(&broker, "PUBLISH", &["c", "m"]).expect("publish works"),
            Value::Int(1)
        );

        assert_eq!(a.recv().await.expect("a subscribed"), b"m");
        assert_eq!(broker.publish("nobody", b"x"), 0);
    }

    #[test]
    fn a_full_subscriber_misses_messages_without_blocking_the_publisher() {
        let broker = Broker::default();
        let _rx = broker.subscribe("c");
        for _ in 0..SUBSCRIBER_BUFFER {
            assert_eq!(broker.publish("c", b"m"), 1);
        }
        assert_eq!(broker.publish("c", b"m"), 0);
    }

    #[test]
    fn strings_and_counters_behave_like_redis() {
        let b = Broker::default();
        assert_eq!(run(&b, "GET", &["k"]).expect("get works"), Value::Nil);
        assert_eq!(run(&b, "SET", &["k", "v"]).expect("set works"), Value::Okay);
        assert_eq!(
            run(&b, "GET", &["k"]).expect("get works"),
            Value::BulkString(b"v".to_vec())
        );
        assert_eq!(run(&b, "INCR", &["n"]).expect("incr works"), Value::Int(1));
        assert_eq!(
            run(&b, "INCRBY", &["n", "41"]).expect("incrby works"),
            Value::Int(42)
        );
        assert!(matches!(
            run(&b, "INCR", &["k"]),
            Err(RedisError::NotAnInteger)
        ));
        assert_eq!(
            run(&b, "EXISTS", &["k", "n", "x"]).expect("exists works"),
            Value::Int(2)
        );
        assert_eq!(
            run(&b, "DEL", &["k", "x"]).expect("del works"),
            Value::Int(1)
        );
        assert!(matches!(run(&b, "GET", &[]), Err(RedisError::Arity(_))));
        assert!(matches!(
            run(&b, "FLUSHALL", &[]),
            Err(RedisError::Unsupported(_))
        ));
    }

    #[test]
    fn sets_behave_like_redis() {
        let b = Broker::default();
        assert_eq!(
            run(&b, "SADD", &["s", "a", "b", "a"]).expect("sadd works"),
            Value::Int(2)
        );
        assert_eq!(
            run(&b, "SADD", &["s", "b", "c"]).expect("sadd works"),
            Value::Int(1)
        );
        let members = [b"a", b"b", b"c"]
            .map(|m| Value::BulkString(m.to_vec()))
            .to_vec();
        assert_eq!(
            run(&b, "SMEMBERS", &["s"]).expect("smembers works"),
            Value::Array(members)
        );
        assert_eq!(
            run(&b, "SREM", &["s", "a", "z"]).expect("srem works"),
            Value::Int(1)
        );
        assert!(matches!(run(&b, "GET", &["s"]), Err(RedisError::WrongType)));
        run(&b, "SET", &["k", "v"]).expect("set works");
        assert!(matches!(
            run(&b, "SADD", &["k", "a"]),
            Err(RedisError::WrongType)
        ));
        assert_eq!(
            run(&b, "SMEMBERS", &["none"]).expect("smembers works"),
            Value::Array(vec![])
        );
    }
}
