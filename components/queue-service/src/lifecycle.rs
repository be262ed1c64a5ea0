//! A job's life after it is leased: progress, storing, success, failure, cancellation and
//! an operator's requeue. Every change is one conditional `UPDATE ... RETURNING` in a
//! transaction that also records the change in the job's history and queues its
//! notification, so the state only moves as the state machine allows even when callers
//! race; a refused change is a `conflict` naming the job, its state and the change.
//!
//! The changes a worker makes are fenced by its lease: they apply only while the job is
//! leased to that worker, so a worker whose lease passed to another cannot overwrite what
//! the new holder does.

use promptmesh_guest::db::{self, Db, Value};

use crate::error::{Error, Result};
use crate::history::{self, Cause, Notify};
use crate::images;
use crate::jobs;
use crate::model::{Job, JobStatus};

/// What ends a lease, appended to the changes that make a job final.
const RELEASE: &str = "lease_owner = NULL, lease_expires_at = NULL";

/// A change a caller asks for, by job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// Records the provider's task id (empty keeps the recorded one) and progress.
    Progress {
        task_id: &'a str,
        progress: u8,
    },
    Storing {
        image_url: &'a str,
    },
    Succeed {
        image_id: &'a str,
    },
    Fail {
        reason: &'a str,
        message: &'a str,
    },
    Cancel,
    Requeue,
}

impl Change<'_> {
    /// The states the change applies to.
    fn allowed_from(&self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Change::Progress { .. } | Change::Storing { .. } => &[Running],
            Change::Succeed { .. } => &[Storing],
            Change::Fail { .. } | Change::Cancel => &[Queued, Running, Storing],
            Change::Requeue => &[Failed],
        }
    }

    /// What the change does, for messages ("cannot ...").
    fn action(&self) -> String {
        match self {
            Change::Progress { .. } => "record progress".into(),
            Change::Storing { .. } => "mark it storing".into(),
            Change::Succeed { image_id } => format!("mark it succeeded with image {image_id}"),
            Change::Fail { .. } => "mark it failed".into(),
            Change::Cancel => "cancel it".into(),
            Change::Requeue => "requeue it".into(),
        }
    }

    /// Why a state refuses it, for messages.
    fn rule(&self) -> &'static str {
        match self {
            Change::Progress { .. } => "only a running job reports progress",
            Change::Storing { .. } => "only a running job moves to storing",
            Change::Succeed { .. } => "only a storing job can succeed",
            Change::Fail { .. } | Change::Cancel => "a finished job never changes",
            Change::Requeue => "only a failed job can be requeued",
        }
    }

    /// The `SET` list and its parameters.
    fn assignments(&self, now: u64) -> (String, Vec<Value>) {
        match *self {
            Change::Progress { task_id, progress } => (
                "progress = MIN(100, MAX(progress, ?)), \
                 provider_task_id = COALESCE(NULLIF(?, ''), provider_task_id), updated_at = ?"
                    .into(),
                vec![progress.into(), task_id.into(), now.into()],
            ),
            Change::Storing { image_url } => (
                "status = 'storing', provider_image_url = ?, updated_at = ?".into(),
                vec![image_url.into(), now.into()],
            ),
            Change::Succeed { image_id } => (
                format!(
                    "status = 'succeeded', progress = 100, image_id = ?, finished_at = ?, \
                     updated_at = ?, {RELEASE}"
                ),
                vec![image_id.into(), now.into(), now.into()],
            ),
            Change::Fail { reason, message } => (
                format!(
                    "status = 'failed', failure_reason = ?, failure_message = ?, \
                     finished_at = ?, updated_at = ?, {RELEASE}"
                ),
                vec![reason.into(), message.into(), now.into(), now.into()],
            ),
            Change::Cancel => (
                format!("status = 'canceled', finished_at = ?, updated_at = ?, {RELEASE}"),
                vec![now.into(), now.into()],
            ),
            Change::Requeue => (
                "status = 'queued', attempts = 0, progress = 0, failure_reason = NULL, \
                 failure_message = NULL, finished_at = NULL, provider_task_id = NULL, \
                 provider_status = NULL, provider_image_url = NULL, \
                 provider_fail_reason = NULL, run_started_at = NULL, not_before = ?, \
                 queued_at = ?, updated_at = ?"
                    .into(),
                vec![now.into(), now.into(), now.into()],
            ),
        }
    }

    /// How the change shows in the history; `None` when it is no state change.
    fn recorded(&self) -> Option<Cause<'_>> {
        match self {
            Change::Progress { .. } => None,
            Change::Fail { reason, message } => Some(Cause::new(reason, message)),
            Change::Requeue => Some(Cause::new(
                "requeued",
                "an operator put the failed job back in the queue",
            )),
            _ => Some(Cause::default()),
        }
    }
}

/// Records progress of a running job leased to `worker`: progress never goes down and
/// stops at 100, and an attempt records one provider task only.
pub fn progress(
    db: &dyn Db,
    id: &str,
    worker: &str,
    task_id: &str,
    progress: u8,
    now: u64,
) -> Result<Job> {
    db::transaction(db, || {
        let current = jobs::get(db, id)?;
        match current.provider_task_id.as_deref() {
            Some(recorded) if !task_id.is_empty() && recorded != task_id => {
                Err(Error::Conflict(format!(
                    "job {id} already runs as provider task {recorded}; attempt {} cannot \
                     record a second task {task_id}",
                    current.attempts
                )))
            }
            _ => apply(
                db,
                id,
                Change::Progress { task_id, progress },
                Some(worker),
                now,
            ),
        }
    })
}

/// The provider finished; the image at `image_url` is being stored.
pub fn storing(db: &dyn Db, id: &str, worker: &str, image_url: &str, now: u64) -> Result<Job> {
    if image_url.trim().is_empty() {
        return Err(Error::invalid(
            "image_url",
            "required",
            "image_url is empty; pass the URL the provider serves the image at",
        ));
    }
    let change = Change::Storing { image_url };
    db::transaction(db, || apply(db, id, change, Some(worker), now))
}

/// The image `image_id`, which must be this job's, is stored; the job is done.
pub fn succeed(db: &dyn Db, id: &str, worker: &str, image_id: &str, now: u64) -> Result<Job> {
    let change = Change::Succeed { image_id };
    db::transaction(db, || {
        let job = jobs::get(db, id)?;
        if !change.allowed_from().contains(&job.status) {
            return Err(conflict(&job, change));
        }
        images::ensure_of_job(db, image_id, id)?;
        apply(db, id, change, Some(worker), now)
    })
}

/// The job failed for good, for `reason` (e.g. `provider_failed`, `run_timeout`).
pub fn fail(
    db: &dyn Db,
    id: &str,
    worker: &str,
    reason: &str,
    message: &str,
    now: u64,
) -> Result<Job> {
    required_reason(reason)?;
    let change = Change::Fail { reason, message };
    db::transaction(db, || apply(db, id, change, Some(worker), now))
}

/// Fails job `id` whoever holds it: the queue's own decisions (timeouts, attempts used up).
/// Run it in a transaction.
pub fn fail_unfenced(db: &dyn Db, id: &str, reason: &str, message: &str, now: u64) -> Result<Job> {
    apply(db, id, Change::Fail { reason, message }, None, now)
}

/// Cancels a job that has not finished, whoever holds it.
pub fn cancel(db: &dyn Db, id: &str, now: u64) -> Result<Job> {
    db::transaction(db, || apply(db, id, Change::Cancel, None, now))
}

/// Puts a failed job back in the queue with its attempts reset.
pub fn requeue(db: &dyn Db, id: &str, now: u64) -> Result<Job> {
    db::transaction(db, || apply(db, id, Change::Requeue, None, now))
}

/// A failure's reason must be given.
pub fn required_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "reason",
            "required",
            "reason is empty; pass a snake_case cause such as provider_error or run_timeout",
        ));
    }
    Ok(())
}

/// Applies `change` when the job is in a state that allows it (and, with a `worker`, is
/// leased to it), records it, else explains why not. Run it in a transaction.
fn apply(db: &dyn Db, id: &str, change: Change<'_>, worker: Option<&str>, now: u64) -> Result<Job> {
    let (set, mut params) = change.assignments(now);
    let states = change.allowed_from();
    let placeholders = vec!["?"; states.len()].join(", ");
    let fence = if worker.is_some() {
        " AND lease_owner = ?"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE job_jobs SET {set} WHERE id = ? AND status IN ({placeholders}){fence} \
         RETURNING *"
    );
    params.push(id.into());
    params.extend(states.iter().map(|s| Value::from(s.as_str())));
    params.extend(worker.map(Value::from));

    let rows = db.execute(&sql, &params)?;
    if !rows.is_empty() {
        let job = jobs::one(&rows, id)?;
        if let Some(cause) = change.recorded() {
            history::record(db, &job, cause, Notify::Yes, now)?;
        }
        return Ok(job);
    }
    // Nothing changed: the job is missing, its state refuses the change, or another worker
    // holds it.
    let job = jobs::find(db, id)?.ok_or_else(|| jobs::not_found(id))?;
    if !states.contains(&job.status) {
        return Err(conflict(&job, change));
    }
    Err(lost_lease(&job, worker.unwrap_or_default()))
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

/// The conflict of a worker whose lease on `job` passed to another (or was released).
pub fn lost_lease(job: &Job, worker: &str) -> Error {
    let holder = match &job.lease_owner {
        Some(owner) => format!("is leased to {owner}"),
        None => "is not leased".to_string(),
    };
    Error::Conflict(format!(
        "job {} {holder}, not to {worker}: the lease ended and the job moved on; stop \
         working on it",
        job.id
    ))
}

#[cfg(test)]
mod tests;
