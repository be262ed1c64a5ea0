//! A job's life after submission: leasing, progress, storing, success, failure and
//! cancellation. Every change is one conditional `UPDATE ... RETURNING`, so the state only
//! moves forward even when callers race; a refused change is a `conflict` naming the job,
//! its state and the change.

use promptmesh_guest::db::{Db, Value};

use crate::error::{Error, Result};
use crate::images;
use crate::jobs;
use crate::model::{Job, JobStatus};

/// A change a caller asks for, by job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// Records the provider's task id (empty keeps the recorded one) and progress.
    Progress {
        task_id: &'a str,
        progress: u8,
    },
    Storing,
    Succeed {
        image_id: &'a str,
    },
    Fail {
        reason: &'a str,
        message: &'a str,
    },
    Cancel,
}

impl Change<'_> {
    /// The states the change applies to.
    fn allowed_from(&self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Change::Progress { .. } | Change::Storing => &[Running],
            Change::Succeed { .. } => &[Storing],
            Change::Fail { .. } | Change::Cancel => &[Queued, Running, Storing],
        }
    }

    /// What the change does, for messages ("cannot ...").
    fn action(&self) -> String {
        match self {
            Change::Progress { .. } => "record progress".into(),
            Change::Storing => "mark it storing".into(),
            Change::Succeed { image_id } => format!("mark it succeeded with image {image_id}"),
            Change::Fail { .. } => "mark it failed".into(),
            Change::Cancel => "cancel it".into(),
        }
    }

    /// Why a state refuses it, for messages.
    fn rule(&self) -> &'static str {
        match self {
            Change::Progress { .. } => "only a running job reports progress",
            Change::Storing => "only a running job moves to storing",
            Change::Succeed { .. } => "only a storing job can succeed",
            Change::Fail { .. } | Change::Cancel => "a finished job never changes",
        }
    }

    /// The `SET` list and its parameters.
    fn assignments(&self, now: u64) -> (&'static str, Vec<Value>) {
        match *self {
            Change::Progress { task_id, progress } => (
                "progress = MIN(100, MAX(progress, ?)), \
                 provider_task_id = COALESCE(NULLIF(?, ''), provider_task_id), updated_at = ?",
                vec![progress.into(), task_id.into(), now.into()],
            ),
            Change::Storing => ("status = 'storing', updated_at = ?", vec![now.into()]),
            Change::Succeed { image_id } => (
                "status = 'succeeded', progress = 100, image_id = ?, finished_at = ?, \
                 updated_at = ?",
                vec![image_id.into(), now.into(), now.into()],
            ),
            Change::Fail { reason, message } => (
                "status = 'failed', failure_reason = ?, failure_message = ?, finished_at = ?, \
                 updated_at = ?",
                vec![reason.into(), message.into(), now.into(), now.into()],
            ),
            Change::Cancel => (
                "status = 'canceled', finished_at = ?, updated_at = ?",
                vec![now.into(), now.into()],
            ),
        }
    }
}

/// Takes the queued job with the smallest (priority, id) and marks it running for `worker`,
/// or `None` when nothing is queued. One statement, so two leases never take the same job.
pub fn lease(db: &dyn Db, worker: &str, now: u64) -> Result<Option<Job>> {
    if worker.trim().is_empty() {
        return Err(Error::invalid(
            "worker",
            "required",
            "worker is empty; pass a name that identifies the leasing worker",
        ));
    }
    let rows = db.execute(
        "UPDATE job_jobs SET status = 'running', attempts = attempts + 1, \
         started_at = COALESCE(started_at, ?), lease_owner = ?, updated_at = ? \
         WHERE id = (SELECT id FROM job_jobs WHERE status = 'queued' \
                     ORDER BY priority, id LIMIT 1) \
           AND status = 'queued' \
         RETURNING *",
        &[now.into(), worker.into(), now.into()],
    )?;
    rows.first().map(crate::rows::job).transpose()
}

/// Records progress of a running job: it never goes down and stops at 100.
pub fn progress(db: &dyn Db, id: &str, task_id: &str, progress: u8, now: u64) -> Result<Job> {
    apply(db, id, Change::Progress { task_id, progress }, now)
}

/// The provider finished; the job's image is being stored.
pub fn storing(db: &dyn Db, id: &str, now: u64) -> Result<Job> {
    apply(db, id, Change::Storing, now)
}

/// The image `image_id`, which must be this job's, is stored; the job is done.
pub fn succeed(db: &dyn Db, id: &str, image_id: &str, now: u64) -> Result<Job> {
    let change = Change::Succeed { image_id };
    let job = jobs::get(db, id)?;
    if !change.allowed_from().contains(&job.status) {
        return Err(conflict(&job, change));
    }
    images::ensure_of_job(db, image_id, id)?;
    apply(db, id, change, now)
}

/// The job failed for `reason` (e.g. `provider_error`, `timeout`).
pub fn fail(db: &dyn Db, id: &str, reason: &str, message: &str, now: u64) -> Result<Job> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "reason",
            "required",
            "reason is empty; pass a snake_case cause such as provider_error or timeout",
        ));
    }
    apply(db, id, Change::Fail { reason, message }, now)
}

/// Cancels a job that has not finished.
pub fn cancel(db: &dyn Db, id: &str, now: u64) -> Result<Job> {
    apply(db, id, Change::Cancel, now)
}

/// Applies `change` when the job is in a state that allows it, else explains why not.
fn apply(db: &dyn Db, id: &str, change: Change<'_>, now: u64) -> Result<Job> {
    let (set, mut params) = change.assignments(now);
    let states = change.allowed_from();
    let placeholders = vec!["?"; states.len()].join(", ");
    let sql = format!(
        "UPDATE job_jobs SET {set} WHERE id = ? AND status IN ({placeholders}) RETURNING *"
    );
    params.push(id.into());
    params.extend(states.iter().map(|s| Value::from(s.as_str())));

    let rows = db.execute(&sql, &params)?;
    if !rows.is_empty() {
        return jobs::one(&rows, id);
    }
    // Nothing changed: the job is missing or its state refuses the change.
    match jobs::find(db, id)? {
        Some(job) => Err(conflict(&job, change)),
        None => Err(jobs::not_found(id)),
    }
}

fn conflict(job: &Job, change: Change<'_>) -> Error {
    Error::Conflict(format!(
        "job {} is {}; cannot {}: {}",
        job.id,
        job.status,
        change.action(),
        change.rule()
    ))
}

#[cfg(test)]
mod tests;
