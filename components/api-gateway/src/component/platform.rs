//! The host's capabilities as the gateway uses them: variables into [`Config`], the SQLite
//! database, rate-limit counters in the key-value store, Redis wake-ups, randomness and
//! the readiness checks.

use promptmesh_guest::db::{Db, SpinDb};
use promptmesh_guest::time::now_ms;
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

use super::bindings::promptmesh::jobs::queue;
use super::convert;
use crate::config::Config;
use crate::error::ApiError;
use crate::health;
use crate::keys;
use crate::model::Principal;
use crate::ratelimit::{self, Decision, Window};
use crate::response::ApiResponse;

/// The key-value store holding the rate-limit counters.
const RATE_LIMIT_STORE: &str = "default";

/// The settings, from Spin variables.
pub fn config() -> Result<Config, ApiError> {
    Config::load(&|name| match spin_sdk::variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(spin_sdk::variables::Error::Undefined(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    })
}

/// The `default` SQLite database.
pub fn db() -> Result<Box<dyn Db>, ApiError> {
    SpinDb::open_default()
        .map(|db| Box::new(db) as Box<dyn Db>)
        .map_err(|e| ApiError::internal(format!("opening database `default` failed: {e}")))
}

/// Counts this request against the key's limit of the current minute and removes the
/// counter of the window before the previous one when a window starts.
pub fn count(principal: &Principal, config: &Config) -> Result<Decision, ApiError> {
    let limit = config.limit(principal.tier);
    if limit == 0 {
        return Ok(Decision::Unlimited);
    }
    let window = Window::at(now_ms());
    let failed = |e: store::Error| {
        ApiError::unavailable(format!(
            "counting requests in store `{RATE_LIMIT_STORE}` failed: {e:?}"
        ))
    };
    let bucket = store::open(RATE_LIMIT_STORE).map_err(failed)?;
    let key = ratelimit::counter_key(&principal.key_id, window.minute);
    let count = atomics::increment(&bucket, &key, 1).map_err(failed)?;
    if count == 1
        && let Some(stale) = ratelimit::stale_key(&principal.key_id, window.minute)
        && let Err(e) = bucket.delete(&stale)
    {
        eprintln!("Removing a stale rate-limit counter failed key={stale} error={e:?}");
    }
    Ok(Decision::of(limit, count, window))
}

/// Publishes `job_id` on the jobs channel to wake a worker. A failure is logged: the job is
/// stored, and a worker finds it on its next lease.
pub fn wake_worker(config: &Config, job_id: &str) {
    let published = spin_sdk::redis::Connection::open(&config.redis_address)
        .and_then(|conn| conn.publish(&config.jobs_channel, job_id.as_bytes()));
    if let Err(e) = published {
        eprintln!(
            "Publishing a job wake-up failed job.id={job_id} address={} channel={} error={e:?}",
            config.redis_address, config.jobs_channel
        );
    }
}

/// `KEY_BYTES` random bytes for a new key.
pub fn random_key_bytes() -> Result<[u8; keys::KEY_BYTES], ApiError> {
    let mut bytes = [0u8; keys::KEY_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(format!("no random bytes for a key: {e}")))?;
    Ok(bytes)
}

/// `GET /readyz`: the database opens and has the gateway's tables, the queue answers.
pub fn readiness() -> ApiResponse {
    let database = db()
        .and_then(|db| {
            keys::migrate(db.as_ref())
                .map_err(|e| ApiError::internal(format!("database `default` failed: {e}")))
        })
        .map_err(|e| e.message);
    let queue = queue::counts()
        .map(|_| ())
        .map_err(|e| format!("queue service failed: {:?}", convert::jobs_error(e)));
    health::readiness(&[("database", database), ("queue", queue)])
}
