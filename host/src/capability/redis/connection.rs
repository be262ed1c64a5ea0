//! Connections to a real Redis server: one shared multiplexed connection per address that
//! reconnects after a failure, and SUBSCRIBE subscriptions that resubscribe after one.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, FromRedisValue};
use tokio::sync::mpsc;

use super::RedisError;

/// Time allowed to establish a connection: 5 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for the server to answer one command: 10 s.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages buffered per subscriber before the forwarding task waits for it.
pub const SUBSCRIBER_BUFFER: usize = 1024;
/// First wait before resubscribing after a lost subscription: 100 ms, doubling to 5 s.
const RESUBSCRIBE_FIRST: Duration = Duration::from_millis(100);
const RESUBSCRIBE_MAX: Duration = Duration::from_secs(5);

/// `address` with its password, if any, replaced by `***`: for messages and logs.
pub fn redact(address: &str) -> String {
    let Some((scheme, rest)) = address.split_once("://") else {
        return address.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or("", |(u, _)| u);
            let host = &rest[userinfo.len()..];
            format!("{scheme}://{user}:***{host}")
        }
        _ => address.to_string(),
    }
}

/// A shared connection to one Redis address; clones share it.
///
/// The first command connects; a command that fails because the connection broke drops
/// it, so that the next command reconnects. Failed commands are not retried, because
/// `INCR` and the like are not idempotent.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    address: String,
    client: redis::Client,
    current: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl Connection {
    /// A connection to `address` (`redis://[user:password@]host:port[/db]`); nothing is
    /// sent yet.
    pub fn new(address: &str) -> Result<Connection, RedisError> {
        let client = redis::Client::open(address)
            .map_err(|_| RedisError::InvalidAddress(redact(address)))?;
        let inner = Inner {
            address: redact(address),
            client,
            current: tokio::sync::Mutex::new(None),
        };
        Ok(Connection {
            inner: Arc::new(inner),
        })
    }

    /// The address this connection serves, without its password.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// Connects now unless already connected.
    pub async fn ensure_connected(&self) -> Result<(), RedisError> {
        self.multiplexed().await.map(|_| ())
    }

    /// Runs `cmd` and converts its reply to `T`.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RedisError> {
        let mut conn = self.multiplexed().await?;
        match cmd.query_async::<T>(&mut conn).await {
            Ok(value) => Ok(value),
            Err(e) => {
                if e.is_unrecoverable_error() || e.is_timeout() {
                    self.inner.current.lock().await.take();
                }
                Err(self.server_error(e))
            }
        }
    }

    /// Subscribes to `channel` on a dedicated connection; the subscription is live when
    /// this returns, and lasts until the receiver is dropped.
    pub async fn subscribe(&self, channel: &str) -> Result<mpsc::Receiver<Vec<u8>>, RedisError> {
        let subscription = self.open_subscription(channel).await?;
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        tokio::spawn(self.clone().forward(channel.to_string(), subscription, tx));
        Ok(rx)
    }

    async fn multiplexed(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut current = self.inner.current.lock().await;
        if let Some(conn) = current.as_ref() {
            return Ok(conn.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        let conn = self
            .inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.server_error(e))?;
        tracing::debug!(redis.address = %self.inner.address, "Connected to Redis");
        *current = Some(conn.clone());
        Ok(conn)
    }

    async fn open_subscription(
        &self,
        channel: &str,
    ) -> Result<(PubSubSink, PubSubStream), RedisError> {
        let connect = self.inner.client.get_async_pubsub();
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| RedisError::Timeout {
                address: self.inner.address.clone(),
            })?
            .map_err(|e| self.server_error(e))?;
        let (mut sink, stream) = pubsub.split();
        sink.subscribe(channel)
            .await
            .map_err(|e| self.server_error(e))?;
        Ok((sink, stream))
    }

    /// Moves messages from the subscription to `tx`, resubscribing when the connection is
    /// lost, until `tx` is closed. The sink half is held so that the subscription stays open.
    async fn forward(
        self,
        channel: String,
        mut subscription: (PubSubSink, PubSubStream),
        tx: mpsc::Sender<Vec<u8>>,
    ) {
        loop {
            tokio::select! {
                message = subscription.1.next() => match message {
                    Some(m) => {
                        if tx.send(m.get_payload_bytes().to_vec()).await.is_err() {
                            return;
                        }
                    }
                    None => match self.resubscribe(&channel, &tx).await {
                        Some(renewed) => subscription = renewed,
                        None => return,
                    },
                },
                _ = tx.closed() => return,
            }
        }
    }

    async fn resubscribe(
        &self,
        channel: &str,
        tx: &mpsc::Sender<Vec<u8>>,
    ) -> Option<(PubSubSink, PubSubStream)> {
        let mut wait = RESUBSCRIBE_FIRST;
        loop {
            tracing::warn!(
                redis.address = %self.inner.address,
                redis.channel = channel,
                retry_in_ms = wait.as_millis() as u64,
                "Redis subscription lost; resubscribing"
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tx.closed() => return None,
            }
            if let Ok(pair) = self.open_subscription(channel).await {
                tracing::info!(
                    redis.address = %self.inner.address,
                    redis.channel = channel,
                    "Redis subscription restored"
                );
                return Some(pair);
            }
            wait = (wait * 2).min(RESUBSCRIBE_MAX);
        }
    }

    fn server_error(&self, source: redis::RedisError) -> RedisError {
        RedisError::Server {
            address: self.inner.address.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("redis://:s3cret@db:6379/0"),
            "redis://:***@db:6379/0"
        );
        assert_eq!(
            redact("rediss://app:s3cret@db:6380"),
            "rediss://app:***@db:6380"
        );
        assert_eq!(redact("redis://app@db:6379"), "redis://app@db:6379");
        assert_eq!(redact("redis://db:6379"), "redis://db:6379");
        let conn = Connection::new("redis://:s3cret@db:6379").expect("a valid URL");
        assert_eq!(conn.address(), "redis://:***@db:6379");
    }
}
