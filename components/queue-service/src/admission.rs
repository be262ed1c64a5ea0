//! Admission control: the queue holds at most `queue_capacity` jobs that are not final, and
//! a refused submitter learns when to retry from how fast jobs have been finishing.

use promptmesh_guest::db::{Db, Value};

use crate::config::Config;
use crate::error::{Error, Result};

/// The window over which the drain rate is measured, in milliseconds.
pub const DRAIN_WINDOW_MS: i64 = 60_000;
/// Retry-after when no job finished within the window, in seconds.
pub const IDLE_RETRY_AFTER_SECONDS: u32 = 30;
/// Bounds of the retry-after, in seconds.
pub const MIN_RETRY_AFTER_SECONDS: u64 = 1;
pub const MAX_RETRY_AFTER_SECONDS: u64 = 300;

/// Refuses with `queue-full` when the jobs not yet final fill the capacity. Run it in the
/// same transaction as the insert it guards.
pub fn admit(db: &dyn Db, config: &Config, now: u64) -> Result<()> {
    let active = count(
        db,
        "SELECT COUNT(*) AS n FROM job_jobs WHERE status IN ('queued', 'running', 'storing')",
        &[],
    )?;
    let capacity = u64::from(config.queue_capacity);
    if active < capacity {
        return Ok(());
    }

    let since = i64::try_from(now).unwrap_or(i64::MAX) - DRAIN_WINDOW_MS;
    let finished = count(
        db,
        "SELECT COUNT(*) AS n FROM job_jobs WHERE finished_at > ?",
        &[since.into()],
    )?;
    Err(Error::QueueFull(retry_after_seconds(
        active - capacity + 1,
        finished,
    )))
}

/// How long until `excess` jobs (those that must finish before one more fits) have drained,
/// when `finished` jobs reached a final state in the last minute: `ceil(excess / rate)`
/// seconds clamped to 1..=300, or 30 s when nothing finished.
pub fn retry_after_seconds(excess: u64, finished: u64) -> u32 {
    if finished == 0 {
        return IDLE_RETRY_AFTER_SECONDS;
    }
    // excess / (finished / 60 s) = excess * 60 / finished, rounded up.
    let window_seconds = (DRAIN_WINDOW_MS / 1000) as u64;
    let seconds = excess.saturating_mul(window_seconds).div_ceil(finished);
    seconds.clamp(MIN_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS) as u32
}

fn count(db: &dyn Db, sql: &str, params: &[Value]) -> Result<u64> {
    let rows = db.execute(sql, params)?;
    match rows.first() {
        Some(row) => Ok(row.get("n")?),
        None => Err(Error::Internal(format!("`{sql}` returned no row"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_follows_the_drain_rate() {
        // 1 job over, 60 finished in a minute: one per second.
        assert_eq!(retry_after_seconds(1, 60), 1);
        // 1 over, 7 finished: 60 / 7 = 8.57 -> 9 s.
        assert_eq!(retry_after_seconds(1, 7), 9);
        // 5 over, 2 finished: 5 * 30 s = 150 s.
        assert_eq!(retry_after_seconds(5, 2), 150);
    }

    #[test]
    fn retry_after_is_clamped_and_defaults_when_idle() {
        assert_eq!(retry_after_seconds(1, 1000), 1);
        assert_eq!(retry_after_seconds(100, 1), 300);
        assert_eq!(retry_after_seconds(1, 0), 30);
    }
}
