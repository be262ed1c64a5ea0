//! Leases: a worker takes a job for a while and renews the lease as it works; a lease that
//! ends (the worker crashed, the host was killed) makes the job available again, so every
//! accepted job keeps moving towards a final state. Also the queue's own timeouts.
//!
//! Each lease counts an attempt. A job leased again after its lease ended resumes where it
//! stands: a running job with a provider task is followed by that task, a storing job
//! downloads its image again; only a job without a provider task is submitted anew. A job
//! whose attempts are used up fails with `attempts_exhausted` and stays for inspection
//! (the dead letters, `GET /api/jobs?status=failed&reason=attempts_exhausted`) until an
//! operator requeues it.

use promptmesh_guest::db::{self, Db};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::history::{self, Cause, Notify};
use crate::jobs;
use crate::lifecycle::{self, lost_lease};
use crate::model::{Job, JobStatus};

/// The failure reason of a job whose attempts are used up.
pub const ATTEMPTS_EXHAUSTED: &str = "attempts_exhausted";
/// The failure reason of a job that waited in the queue too long.
pub const QUEUE_TIMEOUT: &str = "queue_timeout";
/// The history's reason for a run picked up after its lease ended.
pub const LEASE_EXPIRED: &str = "lease_expired";
/// The history's reason for a run picked up after a retry's backoff.
pub const RETRY: &str = "retry";
/// The longest lease a worker may ask for, in milliseconds (an hour).
pub const MAX_LEASE_MS: u32 = 3_600_000;

/// Takes the first available job for `worker` until `now + lease_ms`: a queued job past its
/// backoff, or a running or storing job whose lease ended, by priority. Queue timeouts are
/// applied first; a job with no attempts left fails instead of being leased.
pub fn lease(
    db: &dyn Db,
    config: &Config,
    worker: &str,
    lease_ms: u32,
    now: u64,
) -> Result<Option<Job>> {
    check_worker(worker)?;
    let lease_ms = check_lease(lease_ms)?;
    sweep(db, config, now)?;
    loop {
        let taken = db::transaction(db, || {
            let Some(job) = first_available(db, now)? else {
                return Ok(Taken::Nothing);
            };
            if job.attempts >= config.max_attempts {
                exhaust(db, &job, config, now)?;
                return Ok(Taken::Exhausted);
            }
            take(db, &job, worker, lease_ms, now).map(|job| Taken::Job(Box::new(job)))
        })?;
        match taken {
            Taken::Nothing => return Ok(None),
            Taken::Job(job) => return Ok(Some(*job)),
            Taken::Exhausted => continue,
        }
    }
}

/// What one leasing transaction did.
enum Taken {
    Nothing,
    /// Failed a job out of attempts; look again.
    Exhausted,
    Job(Box<Job>),
}

fn first_available(db: &dyn Db, now: u64) -> Result<Option<Job>> {
    let rows = db.execute(
        "SELECT * FROM job_jobs \
         WHERE (status = 'queued' AND not_before <= ?) \
            OR (status IN ('running', 'storing') AND COALESCE(lease_expires_at, 0) <= ?) \
         ORDER BY priority, id LIMIT 1",
        &[now.into(), now.into()],
    )?;
    rows.first().map(crate::rows::job).transpose()
}

/// Leases `job` (just read in this transaction) and records how the attempt starts.
fn take(db: &dyn Db, job: &Job, worker: &str, lease_ms: u64, now: u64) -> Result<Job> {
    let expires = now + lease_ms;
    let fresh = job.status == JobStatus::Queued;
    // A run without a provider task starts over; the run timeout counts from its start.
    let restart = job.status == JobStatus::Running && job.provider_task_id.is_none();
    let rows = db.execute(
        "UPDATE job_jobs SET status = CASE status WHEN 'queued' THEN 'running' ELSE status END, \
         attempts = attempts + 1, started_at = COALESCE(started_at, ?), lease_owner = ?, \
         lease_expires_at = ?, updated_at = ?, \
         run_started_at = CASE WHEN ? THEN ? ELSE run_started_at END \
         WHERE id = ? RETURNING *",
        &[
            now.into(),
            worker.into(),
            expires.into(),
            now.into(),
            (fresh || restart).into(),
            now.into(),
            job.id.as_str().into(),
        ],
    )?;
    let leased = jobs::one(&rows, &job.id)?;
    match &job.lease_owner {
        _ if fresh => history::record(db, &leased, Cause::default(), Notify::Yes, now)?,
        Some(owner) => {
            let message = format!(
                "the lease of {owner} ended; attempt {} resumes the job as it stood",
                leased.attempts
            );
            let cause = Cause::new(LEASE_EXPIRED, &message);
            history::record(db, &leased, cause, Notify::No, now)?
        }
        None => {
            let message = format!(
                "attempt {} resumes the job after its backoff",
                leased.attempts
            );
            history::record(db, &leased, Cause::new(RETRY, &message), Notify::No, now)?
        }
    };
    Ok(leased)
}

fn exhaust(db: &dyn Db, job: &Job, config: &Config, now: u64) -> Result<Job> {
    let last = last_cause(db, &job.id)?
        .map(|(reason, message)| format!("; the last one: {reason}: {message}"))
        .unwrap_or_default();
    let message = format!(
        "gave up after {} attempts (max_attempts is {}){last}",
        job.attempts, config.max_attempts
    );
    lifecycle::fail_unfenced(db, &job.id, ATTEMPTS_EXHAUSTED, &message, now)
}

/// The reason and message of the job's latest recorded retry or resumption.
fn last_cause(db: &dyn Db, id: &str) -> Result<Option<(String, String)>> {
    let rows = db.execute(
        "SELECT reason, message FROM job_transitions WHERE job_id = ? AND reason IS NOT NULL \
         ORDER BY seq DESC LIMIT 1",
        &[id.into()],
    )?;
    match rows.first() {
        Some(row) => Ok(Some((
            row.get("reason")?,
            row.get::<Option<String>>("message")?.unwrap_or_default(),
        ))),
        None => Ok(None),
    }
}

/// Extends `worker`'s lease on job `id` to `now + lease_ms`.
pub fn renew(db: &dyn Db, id: &str, worker: &str, lease_ms: u32, now: u64) -> Result<Job> {
    check_worker(worker)?;
    let expires = now + check_lease(lease_ms)?;
    let rows = db.execute(
        "UPDATE job_jobs SET lease_expires_at = ?, updated_at = ? \
         WHERE id = ? AND lease_owner = ? AND status IN ('running', 'storing') RETURNING *",
        &[expires.into(), now.into(), id.into(), worker.into()],
    )?;
    if !rows.is_empty() {
        return jobs::one(&rows, id);
    }
    let job = jobs::get(db, id)?;
    if job.status.is_final() {
        return Err(Error::Conflict(format!(
            "job {id} is {}; its lease ended with it",
            job.status
        )));
    }
    Err(lost_lease(&job, worker))
}

/// Ends `worker`'s attempt on job `id` for a `reason` worth another try after `delay_ms`.
/// A running job without a provider task goes back to the queue; one with a task, or one
/// storing its image, keeps its state and is released until then. With no attempts left,
/// the job fails with `attempts_exhausted`.
pub fn retry(db: &dyn Db, config: &Config, attempt: Retry<'_>, now: u64) -> Result<Job> {
    lifecycle::required_reason(attempt.reason)?;
    db::transaction(db, || {
        let job = jobs::get(db, attempt.id)?;
        if !matches!(job.status, JobStatus::Running | JobStatus::Storing) {
            return Err(Error::Conflict(format!(
                "job {} is {}; only a running or storing job is retried",
                job.id, job.status
            )));
        }
        if job.lease_owner.as_deref() != Some(attempt.worker) {
            return Err(lost_lease(&job, attempt.worker));
        }
        let cause = Cause::new(attempt.reason, attempt.message);
        if job.attempts >= config.max_attempts {
            let message = format!(
                "gave up after {} attempts (max_attempts is {}); the last one: {}: {}",
                job.attempts, config.max_attempts, attempt.reason, attempt.message
            );
            return lifecycle::fail_unfenced(db, &job.id, ATTEMPTS_EXHAUSTED, &message, now);
        }
        let at = now + u64::from(attempt.delay_ms);
        if job.status == JobStatus::Running && job.provider_task_id.is_none() {
            let requeued = requeue_for_retry(db, &job.id, at, now)?;
            history::record(db, &requeued, cause, Notify::Yes, now)?;
            return Ok(requeued);
        }
        let released = release(db, &job.id, at, now)?;
        history::record(db, &released, cause, Notify::No, now)?;
        Ok(released)
    })
}

/// One attempt that failed in a way worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry<'a> {
    pub id: &'a str,
    pub worker: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
    /// Milliseconds before the job may be leased again.
    pub delay_ms: u32,
}

fn requeue_for_retry(db: &dyn Db, id: &str, at: u64, now: u64) -> Result<Job> {
    let rows = db.execute(
        "UPDATE job_jobs SET status = 'queued', progress = 0, lease_owner = NULL, \
         lease_expires_at = NULL, run_started_at = NULL, not_before = ?, queued_at = ?, \
         updated_at = ? WHERE id = ? RETURNING *",
        &[at.into(), at.into(), now.into(), id.into()],
    )?;
    jobs::one(&rows, id)
}

fn release(db: &dyn Db, id: &str, at: u64, now: u64) -> Result<Job> {
    let rows = db.execute(
        "UPDATE job_jobs SET lease_owner = NULL, lease_expires_at = ?, updated_at = ? \
         WHERE id = ? RETURNING *",
        &[at.into(), now.into(), id.into()],
    )?;
    jobs::one(&rows, id)
}

/// Fails the queued jobs that waited past the queue-wait timeout, and the running or storing
/// ones whose lease ended with no attempts left; returns how many failed.
pub fn sweep(db: &dyn Db, config: &Config, now: u64) -> Result<u32> {
    db::transaction(db, || {
        let waited = db.execute(
            "SELECT * FROM job_jobs WHERE status = 'queued' AND queued_at + ? <= ? \
             ORDER BY priority, id",
            &[config.queue_timeout_ms().into(), now.into()],
        )?;
        let stranded = db.execute(
            "SELECT * FROM job_jobs WHERE status IN ('running', 'storing') \
             AND COALESCE(lease_expires_at, 0) <= ? AND attempts >= ? ORDER BY priority, id",
            &[now.into(), config.max_attempts.into()],
        )?;
        let mut failed = 0;
        for row in waited.iter() {
            let job = crate::rows::job(row)?;
            let message = format!(
                "waited {} s in the queue, past queue_timeout_seconds ({} s)",
                (now - job.queued_at) / 1000,
                config.queue_timeout_seconds
            );
            lifecycle::fail_unfenced(db, &job.id, QUEUE_TIMEOUT, &message, now)?;
            failed += 1;
        }
        for row in stranded.iter() {
            exhaust(db, &crate::rows::job(row)?, config, now)?;
            failed += 1;
        }
        Ok(failed)
    })
}

fn check_worker(worker: &str) -> Result<()> {
    if worker.trim().is_empty() {
        return Err(Error::invalid(
            "worker",
            "required",
            "worker is empty; pass a name that identifies the leasing worker",
        ));
    }
    Ok(())
}

fn check_lease(lease_ms: u32) -> Result<u64> {
    if (1..=MAX_LEASE_MS).contains(&lease_ms) {
        Ok(u64::from(lease_ms))
    } else {
        Err(Error::invalid(
            "lease_ms",
            "lease_out_of_range",
            format!("lease_ms {lease_ms} is out of range; pass 1 to {MAX_LEASE_MS} milliseconds"),
        ))
    }
}

#[cfg(test)]
mod tests;
